"""Makes IAM users with inline policies on moto's IAM-enforcing server.

For the tests that run each function under its own policy
(tests/src/iam.rs): reads {"user name": policy document, ...} on stdin,
creates each user with that policy and an access key, signing as the server's
admin, and prints {"user name": ["access key id", "secret"], ...}.

    WADESK_IAM_MOTO_ADMIN_KEY=KEY:SECRET python scripts/moto_iam_users.py ENDPOINT < users.json
"""

import json
import os
import sys

import boto3


def main() -> int:
    endpoint = sys.argv[1]
    key, _, secret = os.environ["WADESK_IAM_MOTO_ADMIN_KEY"].partition(":")
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )
    keys = {}
    for user, policy in json.load(sys.stdin).items():
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="function", PolicyDocument=json.dumps(policy))
        access = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = [access["AccessKeyId"], access["SecretAccessKey"]]
    json.dump(keys, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
