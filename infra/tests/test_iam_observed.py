"""Every function's generated policy covers what the IAM-enforced run saw it call.

tests/tests/it/iam.rs runs each function's code paths under the policy
iam_policies.py generates from the template, behind a proxy that works out
what AWS authorizes for each request (each item of a transaction as its own
action, iam:PassRole for a schedule's role, ...), and writes every
(action, resource, context) it saw to target/iam-observed.json (under
scripts/test.sh: $WADESK_IAM_OBSERVED, this run's own file). This check
evaluates each of them on the policy the current template gives the function,
for the same stack names: a call the template no longer allows fails here,
naming the function, the action and the resource.

The evaluation is the proxy's (tests/src/iam_policy.rs): Action/NotAction and
Resource/NotResource with `*` and `?` (actions without case), explicit Deny
wins; string and ARN condition operators on the keys the request carried; a
condition it cannot evaluate never lets an Allow apply and always lets a Deny
apply. Skipped when the file is absent (the template checks run alone, before
any IAM-enforced run).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from iam_policies import Stack, function_policies
from template_model import ROOT, TEMPLATE

# scripts/test.sh names its run's own record; alone, the last run's is checked.
OBSERVED = Path(os.environ.get("WADESK_IAM_OBSERVED", ROOT / "target" / "iam-observed.json"))


def _load() -> dict[str, Any] | None:
    if not OBSERVED.exists():
        return None
    return json.loads(OBSERVED.read_text())


needs_a_run = pytest.mark.skipif(
    not OBSERVED.exists(),
    reason=f"{OBSERVED} is absent: no IAM-enforced run yet (scripts/test.sh runs this check after the Rust tests)",
)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _glob(pattern: str, value: str, case_sensitive: bool) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.S) is not None


def _matches(statement: dict[str, Any], positive: str, negative: str, value: str, case_sensitive: bool) -> bool:
    if positive in statement:
        return any(_glob(p, value, case_sensitive) for p in _listed(statement[positive]))
    if negative in statement:
        return not any(_glob(p, value, case_sensitive) for p in _listed(statement[negative]))
    return False


def _conditions(statement: dict[str, Any], context: dict[str, str]) -> bool | None:
    """True/False when evaluated, None when it cannot be."""
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            actual = lowered.get(key.lower())
            if actual is None:
                return None
            wanted = _listed(expected)
            if operator in ("StringEquals", "ArnEquals"):
                met = actual in wanted
            elif operator == "StringEqualsIgnoreCase" or operator == "Bool":
                met = actual.lower() in [w.lower() for w in wanted]
            elif operator in ("StringNotEquals", "ArnNotEquals"):
                met = actual not in wanted
            elif operator in ("StringLike", "ArnLike"):
                met = any(_glob(w, actual, True) for w in wanted)
            elif operator in ("StringNotLike", "ArnNotLike"):
                met = not any(_glob(w, actual, True) for w in wanted)
            else:
                return None
            if not met:
                return False
    return True


def decide(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> str:
    """'allowed', or why not."""
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    allowed = False
    for st in statements:
        if not _matches(st, "Action", "NotAction", action, False):
            continue
        if not _matches(st, "Resource", "NotResource", resource, True):
            continue
        met = _conditions(st, context)
        deny = st.get("Effect") == "Deny"
        if met is None:
            if deny:
                return f"explicitly denied by {st.get('Sid', st)} (condition not evaluable)"
            continue
        if not met:
            continue
        if deny:
            return f"explicitly denied by {st.get('Sid', st)}"
        allowed = True
    return "allowed" if allowed else "no statement allows it"


def test_the_evaluator_agrees_with_iam_on_the_basics() -> None:
    table = "arn:aws:dynamodb:us-east-1:1:table/t"
    policy = {"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*Item", "Resource": [table, f"{table}/index/*"]},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}},
        {"Sid": "NoDelete", "Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
    ]}
    assert decide(policy, "DYNAMODB:PutItem", table, {}) == "allowed"
    assert decide(policy, "dynamodb:PutItem", f"{table}2", {}) != "allowed"
    assert decide(policy, "dynamodb:DeleteItem", table, {}).startswith("explicitly denied")
    assert decide(policy, "iam:PassRole", "arn:aws:iam::1:role/r", {}) != "allowed"
    assert decide(policy, "iam:PassRole", "arn:aws:iam::1:role/r", {"iam:PassedToService": "scheduler.amazonaws.com"}) == "allowed"


@needs_a_run
def test_every_function_policy_covers_what_the_iam_enforced_run_saw(translated: dict[str, Any]) -> None:
    observed = _load()
    assert observed is not None
    by_stack: dict[str, dict[str, dict[str, Any]]] = {}
    missing = []
    for function_id, calls in observed["functions"].items():
        for call in calls:
            stack_name = call["stack"]
            if stack_name not in by_stack:
                stack = Stack(TEMPLATE, observed["region"], observed["account"], stack_name)
                by_stack[stack_name] = function_policies(stack, translated)
            policies = by_stack[stack_name]
            if function_id not in policies:
                missing.append(f"{function_id}: no longer a function of the template")
                continue
            verdict = decide(policies[function_id], call["action"], call["resource"], call.get("context", {}))
            if verdict != "allowed":
                missing.append(f"{function_id}: {call['action']} on {call['resource']}: {verdict}")
    assert not missing, "the template's policies do not cover what the functions were seen to call:\n" + "\n".join(sorted(set(missing)))
    assert observed["functions"], "the IAM-enforced run recorded no function"
