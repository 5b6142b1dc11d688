"""Each function's IAM policy as CloudFormation creates it from infra/template.yaml.

For tests that run a function's code under exactly the permissions it gets in
AWS (moto's server with IAM enforcement): the template goes through the SAM
transform (samtranslator, as `sam deploy` and CloudFormation do), so the
statements SAM adds (an on-failure destination's sqs:SendMessage, the stream
read policy, the basic execution role) are there too; then every intrinsic
function is resolved with the physical names the test created.

    .venv/bin/python infra/tests/iam_policies.py \\
        --region us-east-1 --account 123456789012 --stack wadesk-test \\
        --name Table=wadesk-test-table --name EventBus=wadesk-test-bus \\
        --name ScheduleGroup=wadesk-test --name SchedulerRole=wadesk-test-scheduler \\
        [--parameter Stage=test] [--function ReopenFunction]

prints {"ReopenFunction": {"Version": "2012-10-17", "Statement": [...]}, ...}:
one policy document per AWS::Serverless::Function (or the one asked for).
A resource without --name is called "<stack>-<LogicalId>" (a bucket in
lower case, as CloudFormation names one, without its random suffix). `--without
ReopenFunction:dynamodb:DeleteItem` removes an action from a function's
policy, to show that a test fails without it.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from template_model import TEMPLATE, translate  # noqa: E402

# The AWS managed policies SAM attaches, as AWS documents them.
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "AWSLambdaDynamoDBExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
    "AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


class Unresolvable(ValueError):
    pass


@dataclass
class Stack:
    """What the intrinsic functions resolve against."""

    template: dict[str, Any]
    region: str
    account: str
    stack: str
    names: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    partition: str = "aws"

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        unknown = set(self.parameters) - set(declared)
        if unknown:
            raise Unresolvable(f"no such parameter: {sorted(unknown)}")
        values = {name: p.get("Default") for name, p in declared.items()}
        values.update(self.parameters)
        self.parameters = values

    # ------------------------------------------------------------ names

    def name(self, logical_id: str) -> str:
        if logical_id not in self.template["Resources"]:
            raise Unresolvable(f"no resource {logical_id}")
        if logical_id in self.names:
            return self.names[logical_id]
        name = f"{self.stack}-{logical_id}"
        # S3 bucket names are lower case: CloudFormation makes a bucket's
        # "<stack>-<logicalid>-<random>"; the tests create "<stack>-<logicalid>".
        if self.template["Resources"][logical_id].get("Type") == "AWS::S3::Bucket":
            name = name.lower()
        return name

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def ref(self, target: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if target in pseudo:
            return pseudo[target]
        if target in self.parameters:
            value = self.parameters[target]
            if value is None:
                raise Unresolvable(f"parameter {target} has no default: pass --parameter {target}=...")
            return value
        kind = self.template["Resources"].get(target, {}).get("Type")
        name = self.name(target)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
        if kind == "AWS::SNS::Topic":
            return self.arn("sns", name)
        return name

    def getatt(self, target: str, attribute: str) -> str:
        key = f"{target}.{attribute}"
        if key in self.attributes:
            return self.attributes[key]
        kind = self.template["Resources"].get(target, {}).get("Type")
        name = self.name(target)
        arns = {
            ("AWS::DynamoDB::Table", "Arn"): lambda: self.arn("dynamodb", f"table/{name}"),
            ("AWS::Events::EventBus", "Arn"): lambda: self.arn("events", f"event-bus/{name}"),
            ("AWS::Events::EventBus", "Name"): lambda: name,
            ("AWS::SQS::Queue", "Arn"): lambda: self.arn("sqs", name),
            ("AWS::SQS::Queue", "QueueName"): lambda: name,
            ("AWS::IAM::Role", "Arn"): lambda: self.arn("iam", f"role/{name}", region=False),
            ("AWS::Scheduler::ScheduleGroup", "Arn"): lambda: self.arn("scheduler", f"schedule-group/{name}"),
            ("AWS::Lambda::Function", "Arn"): lambda: self.arn("lambda", f"function:{name}"),
            ("AWS::Logs::LogGroup", "Arn"): lambda: self.arn("logs", f"log-group:{name}:*"),
            ("AWS::SNS::Topic", "TopicArn"): lambda: self.arn("sns", name),
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:{self.partition}:s3:::{name}",
        }
        make = arns.get((kind, attribute))
        if make is None:
            raise Unresolvable(f"{key} ({kind}): pass --attribute {key}=...")
        return make()

    # ------------------------------------------------------------ conditions and intrinsics

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in variables:
                return str(self.resolve(variables[expr]))
            if "." in expr and not expr.startswith("AWS::"):
                target, attribute = expr.split(".", 1)
                return self.getatt(target, attribute)
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value if not _is_novalue(v)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                target, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.getatt(target, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self.sub(text, variables)
            if key == "Fn::If":
                chosen = arg[1] if self.condition(arg[0]) else arg[2]
                return self.resolve(chosen)
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key.startswith("Fn::"):
                raise Unresolvable(f"{key} is not supported here")
        return {k: self.resolve(v) for k, v in value.items() if not _is_novalue(v)}


def _is_novalue(value: Any) -> bool:
    return value == {"Ref": "AWS::NoValue"}


def function_policies(stack: Stack, translated: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Function logical ID → the policy document of its execution role, resolved."""
    translated = translated if translated is not None else translate(stack.template)
    out: dict[str, dict[str, Any]] = {}
    for function_id, resource in stack.template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        function = translated["Resources"][function_id]["Properties"]
        role_id = function["Role"]["Fn::GetAtt"][0]
        role = translated["Resources"][role_id]["Properties"]
        statements: list[dict[str, Any]] = []
        for arn in role.get("ManagedPolicyArns", []):
            name = str(arn).rsplit("/", 1)[-1]
            if name not in MANAGED_POLICIES:
                raise Unresolvable(f"{function_id}: managed policy {arn} is not known here")
            statements.extend(copy.deepcopy(MANAGED_POLICIES[name]))
        for policy in role.get("Policies", []):
            statements.extend(copy.deepcopy(policy["PolicyDocument"]["Statement"]))
        out[function_id] = {"Version": "2012-10-17", "Statement": stack.resolve(statements)}
    return out


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy with one action taken out of every statement (dropping emptied ones)."""
    reduced = copy.deepcopy(policy)
    kept = []
    for st in reduced["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        actions = [a for a in actions if a != action]
        if actions:
            st["Action"] = actions
            kept.append(st)
    reduced["Statement"] = kept
    return reduced


def pairs(values: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} wants KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--stack", required=True, help="stack name (AWS::StackName; FunctionName etc.)")
    parser.add_argument("--name", action="append", default=[], metavar="LOGICAL_ID=NAME")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--attribute", action="append", default=[], metavar="LOGICAL_ID.ATTR=VALUE")
    parser.add_argument("--function", action="append", default=[], metavar="LOGICAL_ID")
    parser.add_argument("--without", action="append", default=[], metavar="LOGICAL_ID:ACTION")
    args = parser.parse_args(argv)
    stack = Stack(
        template=TEMPLATE,
        region=args.region,
        account=args.account,
        stack=args.stack,
        names=pairs(args.name, "--name"),
        parameters=pairs(args.parameter, "--parameter"),
        attributes=pairs(args.attribute, "--attribute"),
    )
    try:
        policies = function_policies(stack)
    except Unresolvable as error:
        print(f"iam_policies: {error}", file=sys.stderr)
        return 2
    for item in args.without:
        function_id, sep, action = item.partition(":")
        if not sep or function_id not in policies:
            raise SystemExit(f"--without wants FUNCTION:ACTION with a known function, got {item!r}")
        policies[function_id] = without(policies[function_id], action)
    if args.function:
        missing = set(args.function) - set(policies)
        if missing:
            raise SystemExit(f"no such function: {sorted(missing)}")
        policies = {f: policies[f] for f in args.function}
    json.dump(policies, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
