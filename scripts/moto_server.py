"""moto's server with every request handled one at a time.

moto applies a DynamoDB transaction by snapshotting the table, writing item by
item, and restoring the snapshot if a condition fails. Under concurrent requests
that restore can erase another request's committed write, something DynamoDB
never does. Serialising requests gives each one the atomicity DynamoDB gives it,
while clients stay free to race. Usage: moto_server.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    backend = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # Drain the response inside the lock: moto builds it eagerly anyway.
            return list(backend(environ, start_response))

    run_simple(
        host,
        port,
        serialised,
        threaded=True,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
