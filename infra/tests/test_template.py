"""What infra/template.yaml must keep true for production (issue 11).

Each rule is checked per function, queue or route, so that a new function or
queue is checked the day it is added, and the counts in the test command's
summary grow with the stack.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from template_model import (
    ROOT,
    TEMPLATE,
    TEMPLATE_FILE,
    allowed,
    as_list,
    effective,
    environment,
    functions,
    getatt,
    resources_of_type,
    rust_constant,
    statements,
    strings_in,
)

RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]
FUNCTIONS = functions()

# Event sources that invoke a function asynchronously (Lambda's own retries,
# then the on-failure destination) and those that poll a stream.
ASYNC_EVENT_TYPES = {
    "EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2", "SNS", "S3",
    "IoTRule", "CloudWatchLogs", "Cognito", "SES",
}
STREAM_EVENT_TYPES = {"DynamoDB", "Kinesis", "MSK", "SelfManagedKafka", "DocumentDB"}


def events(function_id: str) -> dict[str, dict[str, Any]]:
    return RESOURCES[function_id]["Properties"].get("Events", {})


def function_name(function_id: str) -> Any:
    return RESOURCES[function_id]["Properties"]["FunctionName"]


def invoked_by_scheduler() -> set[str]:
    """Functions a role that Scheduler assumes may invoke (by their FunctionName)."""
    targets: set[str] = set()
    for role in resources_of_type(TEMPLATE, "AWS::IAM::Role").values():
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        if not any(
            "scheduler.amazonaws.com" in as_list(st.get("Principal", {}).get("Service", []))
            for st in trust
        ):
            continue
        for policy in role["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                if "lambda:InvokeFunction" in as_list(st["Action"]):
                    targets.update(strings_in(st["Resource"]))
    found = set()
    for fid in FUNCTIONS:
        name = function_name(fid)
        assert set(name) == {"Fn::Sub"}, f"{fid}: FunctionName should be a !Sub of the stack name"
        arn = f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name['Fn::Sub']}"
        if arn in targets:
            found.add(fid)
    return found


SCHEDULER_TARGETS = invoked_by_scheduler()
ASYNC_FUNCTIONS = sorted(
    fid
    for fid in FUNCTIONS
    if fid in SCHEDULER_TARGETS or any(e["Type"] in ASYNC_EVENT_TYPES for e in events(fid).values())
)
STREAM_EVENTS = sorted(
    (fid, name) for fid in FUNCTIONS for name, e in events(fid).items() if e["Type"] in STREAM_EVENT_TYPES
)
RULE_EVENTS = sorted(
    (fid, name) for fid in FUNCTIONS for name, e in events(fid).items() if e["Type"] == "EventBridgeRule"
)
HTTP_FUNCTIONS = sorted(
    fid for fid in FUNCTIONS if any(e["Type"] in {"HttpApi", "Api"} for e in events(fid).values())
)
SCHEDULE_CREATORS = sorted(fid for fid in FUNCTIONS if allowed(fid, "scheduler:CreateSchedule"))
# Queues a function polls (Lambda's SQS event source): work queues, where a
# message is normal and an old one or a dead letter is not.
WORK_QUEUES = sorted(
    getatt(e["Properties"]["Queue"])[0]
    for fid in FUNCTIONS
    for e in events(fid).values()
    if e["Type"] == "SQS"
)
QUEUES = sorted(q for q in resources_of_type(TEMPLATE, "AWS::SQS::Queue") if q not in WORK_QUEUES)
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
TOPICS = resources_of_type(TEMPLATE, "AWS::SNS::Topic")


def sqs_queue_of(value: Any) -> str:
    """The queue a `!GetAtt Queue.Arn` points at (fails for anything else)."""
    target = getatt(value)
    assert target is not None and target[1] == "Arn", f"expected !GetAtt <queue>.Arn, got {value!r}"
    assert RESOURCES[target[0]]["Type"] == "AWS::SQS::Queue", f"{target[0]} is not an SQS queue"
    return target[0]


def alarm_actions_notify_topic(alarm: dict[str, Any]) -> bool:
    actions = alarm["Properties"].get("AlarmActions", [])
    return any(isinstance(a, dict) and a.get("Ref") in TOPICS for a in actions)


# ---------------------------------------------------------------- the rules found what they should


def test_the_stack_has_the_expected_kinds_of_functions() -> None:
    """The classification the parametrized tests rely on sees the known functions."""
    assert {"OptOutFunction", "TimersFunction"} <= set(ASYNC_FUNCTIONS)
    assert {"ErasureQueue", "AnalyticsQueue"} <= set(WORK_QUEUES)
    assert SCHEDULER_TARGETS == {"TimersFunction"}
    assert ("EventRelayFunction", "OutboxItems") in STREAM_EVENTS
    assert {"WebhookFunction", "AgentApiFunction", "ReopenFunction", "AnalyticsApiFunction"} == set(HTTP_FUNCTIONS)
    assert {"WebhookFunction", "AgentApiFunction", "OptOutFunction", "TimersFunction"} <= set(SCHEDULE_CREATORS)
    assert len(QUEUES) >= 5


# ---------------------------------------------------------------- arm64


def test_arm64_is_fixed_in_globals() -> None:
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert not [p for p in PARAMETERS if "architecture" in p.lower()], "no Architecture parameter to disagree with"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_runs_on_arm64(function_id: str, translated: dict[str, Any]) -> None:
    assert effective(function_id, "Architectures") == ["arm64"]
    assert translated["Resources"][function_id]["Properties"]["Architectures"] == ["arm64"]


# ---------------------------------------------------------------- no asynchronous failure lost


@pytest.mark.parametrize("function_id", ASYNC_FUNCTIONS)
def test_async_function_has_an_on_failure_destination(function_id: str, translated: dict[str, Any]) -> None:
    config = RESOURCES[function_id]["Properties"].get("EventInvokeConfig")
    assert config, f"{function_id} is invoked asynchronously: it needs EventInvokeConfig"
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    queue = sqs_queue_of(on_failure["Destination"])
    # Chosen, not defaulted: Lambda's default is 2 retries over 6 hours.
    assert config["MaximumRetryAttempts"] in (0, 1, 2)
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 21600

    # What CloudFormation gets: the invoke config on the version Lambda runs
    # for these sources, and the role allowed to send to the queue.
    deployed = [
        r["Properties"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig" and r["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert len(deployed) == 1, deployed
    assert deployed[0]["Qualifier"] == "$LATEST"
    assert getatt(deployed[0]["DestinationConfig"]["OnFailure"]["Destination"]) == (queue, "Arn")
    role = translated["Resources"][f"{function_id}Role"]["Properties"]
    sends = [
        st
        for policy in role.get("Policies", [])
        for st in policy["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in as_list(st["Action"])
    ]
    assert any(getatt(st["Resource"]) == (queue, "Arn") for st in sends), f"{function_id} may not send to {queue}"


@pytest.mark.parametrize("function_id,event", RULE_EVENTS)
def test_bus_rule_parks_what_it_cannot_deliver(function_id: str, event: str) -> None:
    props = events(function_id)[event]["Properties"]
    assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    queue = sqs_queue_of(props["DeadLetterConfig"]["Arn"])
    policies = [
        p for p in resources_of_type(TEMPLATE, "AWS::SQS::QueuePolicy").values() if {"Ref": queue} in p["Properties"]["Queues"]
    ]
    assert any(
        st["Effect"] == "Allow"
        and st.get("Principal", {}).get("Service") == "events.amazonaws.com"
        and "sqs:SendMessage" in as_list(st["Action"])
        and "aws:SourceArn" in st.get("Condition", {}).get("ArnLike", {})
        for p in policies
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ), f"{queue}: EventBridge (this bus's rules only) must be allowed to send"


@pytest.mark.parametrize("function_id,event", STREAM_EVENTS)
def test_stream_mapping_has_an_on_failure_destination(function_id: str, event: str) -> None:
    props = events(function_id)[event]["Properties"]
    assert props["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    sqs_queue_of(props["DestinationConfig"]["OnFailure"]["Destination"])
    assert 0 <= props["MaximumRetryAttempts"] <= 100, "a poison record must not block the shard for long"
    assert 60 <= props["MaximumRecordAgeInSeconds"] <= 86400
    assert props["BisectBatchOnFunctionError"] is True
    assert "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])


@pytest.mark.parametrize("function_id", SCHEDULE_CREATORS)
def test_schedule_creator_gets_the_schedule_dead_letter_queue(function_id: str) -> None:
    env = environment(function_id)
    queue = sqs_queue_of(env.get("WADESK_SCHEDULE_DLQ_ARN"))
    role_att = getatt(env["WADESK_SCHEDULER_ROLE_ARN"])
    assert role_att is not None and role_att[1] == "Arn"
    role = RESOURCES[role_att[0]]
    assert any(
        st["Effect"] == "Allow" and "iam:PassRole" in as_list(st["Action"]) and getatt(st["Resource"]) == role_att
        for st in statements(function_id)
    ), f"{function_id} creates schedules: it must pass {role_att[0]} to Scheduler"
    # Scheduler delivers dead letters with the schedule's execution role.
    role_sends = [
        st
        for policy in role["Properties"]["Policies"]
        for st in policy["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in as_list(st["Action"])
    ]
    assert any(getatt(st["Resource"]) == (queue, "Arn") for st in role_sends), f"{role_att[0]} must send to {queue}"


def test_scheduler_may_only_send_its_dead_letters_over_tls() -> None:
    queue = sqs_queue_of(environment("TimersFunction")["WADESK_SCHEDULE_DLQ_ARN"])
    (policy,) = [
        p for p in resources_of_type(TEMPLATE, "AWS::SQS::QueuePolicy").values() if {"Ref": queue} in p["Properties"]["Queues"]
    ]
    sts = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(st["Effect"] == "Allow" and getatt(st["Principal"]["AWS"]) == ("SchedulerRole", "Arn") for st in sts)
    assert any(st["Effect"] == "Deny" and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for st in sts)


@pytest.mark.parametrize("queue", QUEUES)
def test_queue_is_encrypted_keeps_14_days_and_alarms(queue: str) -> None:
    props = RESOURCES[queue]["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    depth_alarms = [
        a
        for a in ALARMS.values()
        if a["Properties"]["Namespace"] == "AWS/SQS"
        and a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}} in a["Properties"]["Dimensions"]
    ]
    assert len(depth_alarms) == 1, f"{queue}: one depth alarm expected, found {len(depth_alarms)}"
    alarm = depth_alarms[0]["Properties"]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm_actions_notify_topic(depth_alarms[0])


@pytest.mark.parametrize("queue", WORK_QUEUES)
def test_work_queue_keeps_its_dead_letters_and_alarms_on_age(queue: str) -> None:
    props = RESOURCES[queue]["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
    redrive = props["RedrivePolicy"]
    assert sqs_queue_of(redrive["deadLetterTargetArn"]) in QUEUES, "its dead letters are alarmed like any queue's"
    assert 1 <= redrive["maxReceiveCount"] <= 10
    pollers = [
        (fid, e["Properties"])
        for fid in FUNCTIONS
        for e in events(fid).values()
        if e["Type"] == "SQS" and getatt(e["Properties"]["Queue"]) == (queue, "Arn")
    ]
    for fid, mapping in pollers:
        assert props["VisibilityTimeout"] >= 6 * effective(fid, "Timeout"), f"{fid}: a step outlives its visibility"
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert any(
        a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}} in a["Properties"]["Dimensions"]
        and alarm_actions_notify_topic(a)
        for a in ALARMS.values()
    ), f"{queue}: an age alarm expected"


def test_the_analytics_queue_takes_the_counted_events_in_batches() -> None:
    rule = RESOURCES["AnalyticsRule"]["Properties"]
    (target,) = rule["Targets"]
    assert getatt(target["Arn"]) == ("AnalyticsQueue", "Arn")
    (mapping,) = [e["Properties"] for e in events("AnalyticsConsumerFunction").values()]
    assert getatt(mapping["Queue"]) == ("AnalyticsQueue", "Arn")
    # Batches gather (a batch of more than 10 messages needs a window), so
    # one write carries many events; a 1,000-message batch is about 1 MB of
    # Lambda's 6 MB payload and takes tens of transactions, well within the
    # function's time-out.
    assert mapping["MaximumBatchingWindowInSeconds"] > 0
    assert 10 < mapping["BatchSize"] <= 1000
    props = RESOURCES["AnalyticsQueue"]["Properties"]
    assert props["VisibilityTimeout"] >= 6 * effective("AnalyticsConsumerFunction", "Timeout") + mapping["MaximumBatchingWindowInSeconds"]


def test_the_erasure_queue_takes_the_steps_and_retention_changes() -> None:
    rule = RESOURCES["ErasureRule"]["Properties"]
    assert set(rule["EventPattern"]["detail-type"]) == {
        "CustomerErasureRequested", "RetentionContinues", "ConversationExpiryChanged",
    }
    (target,) = rule["Targets"]
    assert getatt(target["Arn"]) == ("ErasureQueue", "Arn")
    assert sqs_queue_of(target["DeadLetterConfig"]["Arn"]) == "EventDeliveryDeadLetterQueue"
    assert "ErasureQueue" in WORK_QUEUES
    # Only the functions that run erasure steps delete in batches or delete schedules.
    assert sorted(fid for fid in FUNCTIONS if allowed(fid, "dynamodb:BatchWriteItem")) == ["AgentApiFunction", "ErasureFunction"]
    assert sorted(fid for fid in FUNCTIONS if allowed(fid, "scheduler:DeleteSchedule")) == ["AgentApiFunction", "ErasureFunction"]
    assert sorted(fid for fid in FUNCTIONS if allowed(fid, "s3:DeleteObject")) == ["AgentApiFunction", "ErasureFunction"]


# The webhook answers a signed body it can never use 200 (WhatsApp would retry
# a refusal for days) and keeps it in its poison queue: sized for the records
# the Rust adapter writes.
POISON_MESSAGE_BYTES = rust_constant(r"pub const MAX_MESSAGE_BYTES: usize = ([\d_]+);", "shared/aws")


def test_webhook_keeps_poison_in_its_own_queue() -> None:
    takers = [fid for fid in FUNCTIONS if "WADESK_POISON_QUEUE_URL" in environment(fid)]
    assert takers == ["WebhookFunction"], f"only the webhook keeps poison, found {takers}"
    ref = environment("WebhookFunction")["WADESK_POISON_QUEUE_URL"]
    assert isinstance(ref, dict) and set(ref) == {"Ref"}, f"expected !Ref <queue>, got {ref!r}"
    queue = ref["Ref"]
    assert RESOURCES[queue]["Type"] == "AWS::SQS::Queue"
    assert RESOURCES[queue]["Properties"].get("MaximumMessageSize", 262144) >= POISON_MESSAGE_BYTES
    sends = [
        st
        for st in statements("WebhookFunction")
        if st["Effect"] == "Allow" and any(a.startswith("sqs:") for a in as_list(st["Action"]))
    ]
    assert sends, "the webhook must be allowed to send to its poison queue"
    for st in sends:
        assert as_list(st["Action"]) == ["sqs:SendMessage"], st
        assert getatt(st["Resource"]) == (queue, "Arn"), f"sqs:SendMessage on {queue} only, got {st['Resource']!r}"


# ---------------------------------------------------------------- secrets at run time

SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE|API_KEY|CREDENTIAL", re.IGNORECASE)


def ssm_parameter_arn(parameter: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{parameter}}}"}


def secret_parameters(function_id: str) -> dict[str, str]:
    """Environment variable → template parameter, for the secrets the function reads."""
    return {
        name: value["Ref"]
        for name, value in environment(function_id).items()
        if name.endswith("_PARAM") and isinstance(value, dict) and "Ref" in value
    }


def test_no_dynamic_reference_anywhere_in_the_template() -> None:
    text = TEMPLATE_FILE.read_text(encoding="utf-8")
    assert "{{resolve:" not in text, "secrets are read at run time, never resolved into the template"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_environment_holds_no_secret(function_id: str) -> None:
    for name, value in environment(function_id).items():
        for text in strings_in(value):
            assert "{{resolve:" not in text, f"{function_id}: {name} resolves a secret into the environment"
        if name.startswith("PARAMETERS_SECRETS_EXTENSION_"):
            continue  # the extension's own settings (cache, port), not secrets
        if SECRET_NAME.search(name):
            assert name.endswith(("_PARAM", "_ARN")), f"{function_id}: {name} looks like a secret value"
            assert isinstance(value, dict) and set(value) == {"Ref"}, f"{function_id}: {name} must name a parameter"
            parameter = PARAMETERS[value["Ref"]]
            assert value["Ref"].endswith(("ParameterName", "SecretArn")), value["Ref"]
            assert parameter["Default"].startswith("/"), "an SSM parameter name, not a value"
            assert parameter.get("AllowedPattern", "").startswith("^(/"), "only a parameter path is accepted"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_reads_exactly_its_own_secrets(function_id: str) -> None:
    wanted = sorted(json.dumps(ssm_parameter_arn(p)) for p in secret_parameters(function_id).values())
    for action in ("ssm:GetParameter", "ssm:GetParameters"):
        granted = sorted(json.dumps(r) for r in allowed(function_id, action))
        assert granted == (wanted if wanted else []), f"{function_id}: {action} on {granted}, wants {wanted}"
    decrypts = [st for st in statements(function_id) if "kms:Decrypt" in as_list(st["Action"])]
    if not wanted:
        assert not decrypts and not allowed(function_id, "secretsmanager:GetSecretValue")
        return
    (decrypt,) = decrypts
    condition = decrypt["Condition"]["StringEquals"]
    assert condition["kms:ViaService"] == {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
    contexts = sorted(json.dumps(c) for c in as_list(condition["kms:EncryptionContext:PARAMETER_ARN"]))
    assert contexts == wanted, "decrypt only these parameters"
    assert not [st for st in statements(function_id) if any(a in ("ssm:*", "kms:*", "*") for a in as_list(st["Action"]))]


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_secret_readers_have_the_extension_and_no_one_else(function_id: str) -> None:
    """The functions read SecureStrings through the Parameters and Secrets
    extension (no SSM SDK in the binaries): the layer where secrets are read,
    nowhere else, with the extension's cache off (wadesk caches the token)."""
    layers = RESOURCES[function_id]["Properties"].get("Layers", [])
    env = environment(function_id)
    if secret_parameters(function_id):
        assert layers == [{"Ref": "ParametersSecretsExtensionLayerArn"}], f"{function_id}: {layers!r}"
        assert env.get("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED") == "false", function_id
    else:
        assert not layers, f"{function_id} reads no secret and needs no extension"
    arn = PARAMETERS["ParametersSecretsExtensionLayerArn"]
    assert re.fullmatch(arn["AllowedPattern"], arn["Default"]), "the default must pass its own pattern"
    assert "Arm64" in arn["Default"], "the functions are arm64"


def test_only_the_webhook_reads_the_app_secret_and_verify_token() -> None:
    readers = {
        fid: set(secret_parameters(fid)) for fid in FUNCTIONS if secret_parameters(fid)
    }
    assert readers["WebhookFunction"] == {
        "WHATSAPP_APP_SECRET_PARAM",
        "WHATSAPP_VERIFY_TOKEN_PARAM",
        "WHATSAPP_GRAPH_API_TOKEN_PARAM",
    }
    for fid, names in readers.items():
        if fid != "WebhookFunction":
            assert names == {"WHATSAPP_GRAPH_API_TOKEN_PARAM"}, fid
    # Functions that never send to WhatsApp hold no token.
    for fid in ("TimersFunction", "EventRelayFunction", "AnalyticsConsumerFunction", "AnalyticsApiFunction"):
        assert fid not in readers


# ---------------------------------------------------------------- time-outs

# The Graph client bounds a whole send (connect, TLS, request, answer) and
# tries once; a retry is a new invocation. A reopen or push holds the
# customer's send lease while it sends, and the webhook waits out a lease
# before acknowledging a #STOP.
SEND_TIMEOUT = rust_constant(r"pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs\((\d+)\);", "shared/graph")
SEND_LEASE = rust_constant(r"pub const SEND_LEASE_SECONDS: i64 = (\d+);", "shared")
SEND_ATTEMPTS = 1
# Room after the send for the writes that record its outcome (DynamoDB, a few
# round trips with the SDK's retries).
MARGIN = 10


def test_the_graph_client_tries_a_send_once() -> None:
    client = (ROOT / "shared/graph/src/client.rs").read_text(encoding="utf-8")
    assert not re.search(r"for\s+\w*attempt|\bloop\s*\{|retry_policy|max_attempts", client), (
        "the Graph client retries in-process now: SEND_ATTEMPTS and the time-outs below must follow"
    )


def test_the_send_lease_outlasts_a_send() -> None:
    assert SEND_LEASE >= SEND_TIMEOUT * SEND_ATTEMPTS


def required_timeout(function_id: str) -> int:
    env = environment(function_id)
    sends = "WHATSAPP_GRAPH_API_TOKEN_PARAM" in env
    receives = "WHATSAPP_APP_SECRET_PARAM" in env  # the webhook: #STOP waits for the lease, then may reply
    if receives:
        return SEND_LEASE + SEND_TIMEOUT * SEND_ATTEMPTS + MARGIN
    if sends:
        return max(SEND_LEASE, SEND_TIMEOUT * SEND_ATTEMPTS) + MARGIN
    return 1


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_timeout_never_cuts_a_send_off(function_id: str) -> None:
    timeout = effective(function_id, "Timeout")
    assert isinstance(timeout, int) and 1 <= timeout <= 900
    assert timeout >= required_timeout(function_id), (
        f"{function_id}: Timeout {timeout} s < {required_timeout(function_id)} s "
        f"(send {SEND_TIMEOUT} s x {SEND_ATTEMPTS}, lease {SEND_LEASE} s, margin {MARGIN} s)"
    )


# An event another tally claimed is taken over only once that claim is older
# than the consumer's whole run: until then its tally may still commit.
CLAIM_HELD = rust_constant(r"pub const CLAIM_HELD_SECONDS: i64 = (\d+);", "shared/domain")


def test_an_analytics_claim_is_held_past_the_consumers_run() -> None:
    timeout = effective("AnalyticsConsumerFunction", "Timeout")
    assert CLAIM_HELD > timeout, f"CLAIM_HELD_SECONDS {CLAIM_HELD} s <= the consumer's Timeout {timeout} s"


# ---------------------------------------------------------------- alarms


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_has_error_and_throttle_alarms(function_id: str) -> None:
    for metric in ("Errors", "Throttles"):
        found = [
            a
            for a in ALARMS.values()
            if a["Properties"]["Namespace"] == "AWS/Lambda"
            and a["Properties"]["MetricName"] == metric
            and {"Name": "FunctionName", "Value": function_name(function_id)} in a["Properties"]["Dimensions"]
        ]
        assert len(found) == 1, f"{function_id}: one {metric} alarm expected, found {len(found)}"
        assert found[0]["Properties"]["Threshold"] == 0
        assert alarm_actions_notify_topic(found[0])


@pytest.mark.parametrize("function_id,event", STREAM_EVENTS)
def test_stream_consumer_has_an_iterator_age_alarm(function_id: str, event: str) -> None:
    assert any(
        a["Properties"]["MetricName"] == "IteratorAge"
        and {"Name": "FunctionName", "Value": function_name(function_id)} in a["Properties"]["Dimensions"]
        and alarm_actions_notify_topic(a)
        for a in ALARMS.values()
    )


def metric_filter(metric: str) -> dict[str, Any]:
    (found,) = [
        f["Properties"]
        for f in resources_of_type(TEMPLATE, "AWS::Logs::MetricFilter").values()
        if f["Properties"]["MetricTransformations"][0]["MetricName"] == metric
    ]
    return found


def alarm_on(metric: str) -> dict[str, Any]:
    (found,) = [a for a in ALARMS.values() if a["Properties"]["MetricName"] == metric]
    assert alarm_actions_notify_topic(found)
    return found["Properties"]


def test_api_5xx_and_webhook_401_surge_alarm_from_the_access_log() -> None:
    five = metric_filter("HttpApi5xx")
    assert five["LogGroupName"] == {"Ref": "HttpApiAccessLogGroup"}
    assert '$.status = "5*"' in five["FilterPattern"]
    assert alarm_on("HttpApi5xx")["Threshold"] == 0
    unauthorized = metric_filter("WebhookUnauthorized")
    assert '$.routeKey = "POST /webhook"' in unauthorized["FilterPattern"]
    assert '$.status = "401"' in unauthorized["FilterPattern"]
    assert alarm_on("WebhookUnauthorized")["Threshold"] == {"Ref": "WebhookUnauthorizedThreshold"}
    # The access log writes the fields the filters read.
    log_format = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert '"routeKey":"$context.routeKey"' in log_format and '"status":"$context.status"' in log_format


def test_alarm_topic_mails_the_given_address() -> None:
    (subscription,) = resources_of_type(TEMPLATE, "AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert TEMPLATE["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert all(alarm_actions_notify_topic(a) for a in ALARMS.values())


# ---------------------------------------------------------------- canary deployments


@pytest.mark.parametrize("function_id", HTTP_FUNCTIONS)
def test_http_function_deploys_as_a_canary_behind_its_alias(function_id: str, translated: dict[str, Any]) -> None:
    props = RESOURCES[function_id]["Properties"]
    assert props["AutoPublishAlias"] == "live"
    preference = props["DeploymentPreference"]
    assert preference["Type"] == "Canary10Percent5Minutes"
    rollback_on = {a["Ref"] for a in preference["Alarms"]}
    own = {
        lid
        for lid, a in ALARMS.items()
        if a["Properties"]["Namespace"] == "AWS/Lambda"
        and {"Name": "FunctionName", "Value": function_name(function_id)} in a["Properties"]["Dimensions"]
        and a["Properties"]["MetricName"] in ("Errors", "Throttles")
    }
    assert len(own) == 2 and own <= rollback_on
    assert any(ALARMS[a]["Properties"]["MetricName"] == "HttpApi5xx" for a in rollback_on)

    # The API invokes the alias (so the canary's weights apply), never $LATEST.
    alias = f"{function_id}Aliaslive"
    resources = translated["Resources"]
    assert resources[alias]["Type"] == "AWS::Lambda::Alias"
    body = resources["HttpApi"]["Properties"]["Body"]
    uris = [
        op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for ops in body["paths"].values()
        for method, op in ops.items()
        if isinstance(op, dict) and "x-amazon-apigateway-integration" in op
    ]
    mine = [u for u in uris if f"${{{function_id}" in u]
    assert mine and all(f"${{{alias}}}" in u for u in mine), mine
    permissions = [
        r["Properties"]["FunctionName"]
        for lid, r in resources.items()
        if r["Type"] == "AWS::Lambda::Permission" and lid.startswith(function_id)
    ]
    assert permissions and all(p == {"Ref": alias} for p in permissions)


# ---------------------------------------------------------------- HTTP API, table, sign-in, Graph API


def test_http_api_throttles_with_a_tighter_webhook_limit_and_logs_access() -> None:
    props = RESOURCES["HttpApi"]["Properties"]
    default = props["DefaultRouteSettings"]
    webhook = props["RouteSettings"]["POST /webhook"]

    def value(v: Any) -> float:
        return float(PARAMETERS[v["Ref"]]["Default"]) if isinstance(v, dict) else float(v)

    assert value(webhook["ThrottlingRateLimit"]) < value(default["ThrottlingRateLimit"])
    assert value(webhook["ThrottlingBurstLimit"]) < value(default["ThrottlingBurstLimit"])
    assert value(props["RouteSettings"]["GET /webhook"]["ThrottlingRateLimit"]) <= 1
    destination = getatt(props["AccessLogSettings"]["DestinationArn"])
    assert destination is not None
    group = RESOURCES[destination[0]]
    assert group["Type"] == "AWS::Logs::LogGroup" and "Condition" not in group
    assert group["Properties"]["RetentionInDays"] > 0


def test_table_is_protected() -> None:
    table = RESOURCES["Table"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_a_first_deploy_without_an_issuer_gets_a_cognito_sign_in() -> None:
    assert PARAMETERS["JwtIssuer"]["Default"] == "" and PARAMETERS["JwtAudience"]["Default"] == ""
    assert TEMPLATE["Conditions"]["CreateUserPool"] == {"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}
    for lid in ("AgentUserPool", "AgentUserPoolClient", "AgentUserPoolDomain"):
        assert RESOURCES[lid]["Condition"] == "CreateUserPool"
    client = RESOURCES["AgentUserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False, "a browser console is a public client"
    assert client["AllowedOAuthFlows"] == ["code"], "authorization code (with PKCE), no implicit flow"
    assert RESOURCES["AgentUserPool"]["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    jwt = RESOURCES["HttpApi"]["Properties"]["Auth"]["Authorizers"]["AgentJwt"]["JwtConfiguration"]
    assert jwt["issuer"]["Fn::If"][0] == "CreateUserPool"
    assert jwt["audience"][0]["Fn::If"] == ["CreateUserPool", {"Ref": "AgentUserPoolClient"}, {"Ref": "JwtAudience"}]
    rule = TEMPLATE["Rules"]["AudienceWithIssuer"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtAudience"}, ""]}]}


@pytest.mark.parametrize(
    "function_id, queue",
    [
        ("OptOutFunction", "OptOutFailureQueue"),
        ("TimersFunction", "TimersFailureQueue"),
        ("AnalyticsConsumerFunction", "AnalyticsConsumerFailureQueue"),
        ("LiveFunction", "LiveFailureQueue"),
    ],
)
def test_an_unparseable_event_is_parked_in_the_functions_own_failure_queue(function_id: str, queue: str) -> None:
    props = RESOURCES[function_id]["Properties"]
    assert props["Environment"]["Variables"]["WADESK_FAILURE_QUEUE_URL"] == {"Ref": queue}
    polled = [getatt(e["Properties"]["Queue"])[0] for e in events(function_id).values() if e["Type"] == "SQS"]
    if polled:
        # A queue's consumer: its dead letters go to the same queue.
        for work_queue in polled:
            redrive = RESOURCES[work_queue]["Properties"]["RedrivePolicy"]
            assert sqs_queue_of(redrive["deadLetterTargetArn"]) == queue, "the same queue as the work queue's dead letters"
        return
    destination = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": [queue, "Arn"]}, "the same queue as Lambda's own on-failure records"


def test_the_console_bucket_is_private_encrypted_and_read_only_by_its_distribution() -> None:
    bucket = RESOURCES["ConsoleBucket"]["Properties"]
    block = bucket["PublicAccessBlockConfiguration"]
    assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    statements = RESOURCES["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [st for st in statements if st["Effect"] == "Allow"]
    assert len(allows) == 1, "only CloudFront reads the bucket"
    assert allows[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allows[0]["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in allows[0]["Condition"]["StringEquals"], "only this distribution"
    origin = RESOURCES["ConsoleDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert "OriginAccessControlId" in origin
    config = RESOURCES["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    # The run-time settings are never cached: a new API URL shows at the next load.
    uncached = {b["PathPattern"] for b in config["CacheBehaviors"]}
    assert "console/config.json" in uncached


def test_graph_api_version_is_a_current_parameter() -> None:
    default = PARAMETERS["GraphApiVersion"]["Default"]
    major = int(re.fullmatch(r"v(\d+)\.\d", default).group(1))
    assert major >= 22, "v21.0 and older are retired by January 2027"
    assert re.fullmatch(PARAMETERS["GraphApiVersion"]["AllowedPattern"], default)
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["WHATSAPP_GRAPH_API_BASE_URL"] == {
        "Fn::Sub": "https://graph.facebook.com/${GraphApiVersion}"
    }
    assert "graph.facebook.com/v" not in TEMPLATE_FILE.read_text(encoding="utf-8"), "the version comes from the parameter"


# ---------------------------------------------------------------- the deployed form


def test_translated_template_lints_clean(translated: dict[str, Any], tmp_path: Path) -> None:
    """After the SAM transform: no circular dependency, no invalid property (cfn-lint)."""
    out = tmp_path / "translated.json"
    out.write_text(json.dumps(translated), encoding="utf-8")
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(lint), str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_media_bucket_cors_posts_from_the_console_and_reads_by_presigned_link() -> None:
    """Uploads only from the console's origin; reads (after the API's redirect,
    where browsers send `Origin: null`) from any origin, GET only: the presigned
    link is the credential."""
    rules = RESOURCES["MediaBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    by_method = {tuple(rule["AllowedMethods"]): rule for rule in rules}
    assert set(by_method) == {("POST",), ("GET",)}, by_method
    post = by_method[("POST",)]
    assert post["AllowedOrigins"] == [{"Fn::Sub": "https://${ConsoleDistribution.DomainName}"}]
    get = by_method[("GET",)]
    assert get["AllowedOrigins"] == ["*"]
    assert "AllowedHeaders" not in get, "a plain GET needs no request headers"
