"""moto's server with every request handled one at a time.

moto applies a DynamoDB transaction by snapshotting the table, writing item by
item, and restoring the snapshot if a condition fails. Under concurrent requests
that restore can erase another request's committed write, something DynamoDB
never does. Serialising requests gives each one the atomicity DynamoDB gives it,
while clients stay free to race. Usage: moto_server.py HOST PORT
"""

import copy
import sys
import threading

from moto.dynamodb.models.table import StreamShard
from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def _copy_stream_shard(self, memo):
    """A transaction deep-copies its tables to roll back; a table's stream
    records never change once written, so the copy shares them (the list is
    new, so a rollback still drops the records of the failed transaction).
    Deep-copying every record made each transaction cost as much as the whole
    stream so far."""
    clone = copy.copy(self)
    memo[id(self)] = clone
    clone.table = copy.deepcopy(self.table, memo)
    clone.items = list(self.items)
    return clone


StreamShard.__deepcopy__ = _copy_stream_shard


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
