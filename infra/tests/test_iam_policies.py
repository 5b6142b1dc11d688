"""iam_policies.py: the policies tests under IAM enforcement would run with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iam_policies import Stack, function_policies, without
from template_model import TEMPLATE, functions, strings_in

REGION, ACCOUNT, STACK = "us-east-1", "123456789012", "wadesk-test"
NAMES = {"Table": "tbl", "EventBus": "bus", "ScheduleGroup": "grp", "SchedulerRole": "sched-role"}


def stack(**parameters: str) -> Stack:
    return Stack(TEMPLATE, REGION, ACCOUNT, STACK, names=dict(NAMES), parameters=dict(parameters))


@pytest.fixture(scope="module")
def policies(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return function_policies(stack(), translated)


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    for st in policy["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if st["Effect"] == "Allow" and action in actions and resource in resources:
            return True
    return False


def unresolved(value: Any) -> list[Any]:
    if isinstance(value, dict):
        if any(k == "Ref" or k.startswith("Fn::") for k in value):
            return [value]
        return [u for v in value.values() for u in unresolved(v)]
    if isinstance(value, list):
        return [u for v in value for u in unresolved(v)]
    return []


TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tbl"


def test_every_function_gets_a_fully_resolved_policy(policies: dict[str, dict[str, Any]]) -> None:
    assert set(policies) == set(functions())
    for function_id, policy in policies.items():
        assert not unresolved(policy), function_id
        assert not [s for s in strings_in(policy) if "${" in s], function_id
        assert allows(policy, "logs:PutLogEvents", "*")


def test_reopen_may_delete_the_previous_owners_item(policies: dict[str, dict[str, Any]]) -> None:
    assert allows(policies["ReopenFunction"], "dynamodb:DeleteItem", TABLE_ARN)
    assert not allows(without(policies["ReopenFunction"], "dynamodb:DeleteItem"), "dynamodb:DeleteItem", TABLE_ARN)


@pytest.mark.parametrize(
    "function_id,queue",
    [
        ("OptOutFunction", "OptOutFailureQueue"),
        ("TimersFunction", "TimersFailureQueue"),
        ("AnalyticsConsumerFunction", "AnalyticsConsumerFailureQueue"),
        ("EventRelayFunction", "EventRelayFailureQueue"),
    ],
)
def test_sam_added_statements_are_there(policies: dict[str, dict[str, Any]], function_id: str, queue: str) -> None:
    assert allows(policies[function_id], "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-{queue}")


def test_stream_reader_and_scheduler_resources_resolve(policies: dict[str, dict[str, Any]]) -> None:
    assert allows(policies["EventRelayFunction"], "dynamodb:GetRecords", "*")
    assert allows(policies["WebhookFunction"], "scheduler:CreateSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/grp/*")
    assert allows(policies["WebhookFunction"], "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/sched-role")
    for name in ("app-secret", "verify-token", "graph-api-token"):
        assert allows(policies["WebhookFunction"], "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/wadesk/whatsapp/{name}")


def test_conditions_follow_the_parameters(translated: dict[str, Any]) -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000"
    with_key = function_policies(stack(SecretsKmsKeyArn=key), translated)
    assert allows(with_key["AgentApiFunction"], "kms:Decrypt", key)


def test_command_line(tmp_path: Path) -> None:
    script = Path(__file__).with_name("iam_policies.py")
    result = subprocess.run(
        [
            sys.executable, str(script), "--region", REGION, "--account", ACCOUNT, "--stack", STACK,
            "--name", "Table=tbl", "--function", "ReopenFunction", "--without", "ReopenFunction:dynamodb:DeleteItem",
        ],
        capture_output=True, text=True, check=False, env={"AWS_DEFAULT_REGION": REGION, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "nothing but the JSON"
    out = json.loads(result.stdout)
    assert list(out) == ["ReopenFunction"]
    assert not allows(out["ReopenFunction"], "dynamodb:DeleteItem", TABLE_ARN)
    assert allows(out["ReopenFunction"], "dynamodb:PutItem", TABLE_ARN)


def test_a_bucket_is_named_in_lower_case_as_cloudformation_names_it(policies: dict[str, dict[str, Any]]) -> None:
    # CloudFormation names a bucket "<stack>-<logicalid>-<random>" in lower
    # case; the IAM-enforced tests create "<stack>-<logicalid>".
    bucket = f"arn:aws:s3:::{STACK}-mediabucket"
    assert allows(policies["MediaFetcherFunction"], "s3:PutObject", f"{bucket}/inbound/*")
    assert allows(policies["ErasureFunction"], "s3:DeleteObject", f"{bucket}/uploads/*")
    # A missing key is 404 (not 403) only to a reader that may list the bucket.
    assert allows(policies["AgentApiFunction"], "s3:ListBucket", bucket)
    assert [f for f, p in policies.items() if any("s3:ListBucket" in str(st["Action"]) for st in p["Statement"])] == [
        "AgentApiFunction"
    ]
