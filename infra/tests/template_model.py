"""Readings of infra/template.yaml shared by the template tests.

`template` is the file as written (SAM resources, Globals); `translated` is
what CloudFormation deploys after the SAM transform (samtranslator, the
library `sam` and CloudFormation's transform use), with each local CodeUri
replaced by an S3 location as `sam package` does.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
# WADESK_TEMPLATE_FILE points the tests at another copy (to see them fail on a broken one).
TEMPLATE_FILE = Path(os.environ.get("WADESK_TEMPLATE_FILE", ROOT / "infra" / "template.yaml"))
REGION = "eu-west-1"
ACCOUNT = "123456789012"


def load_template(path: Path = TEMPLATE_FILE) -> dict[str, Any]:
    """The template as plain JSON-like data (short-form tags expanded)."""
    decoded, problems = decode(str(path))
    assert not problems, f"{path} does not parse: {problems}"
    return json.loads(json.dumps(decoded))


TEMPLATE = load_template()


def resources_of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == type_}


def functions(template: dict[str, Any] = TEMPLATE) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::Serverless::Function")


def global_function(template: dict[str, Any] = TEMPLATE) -> dict[str, Any]:
    return template.get("Globals", {}).get("Function", {})


def effective(function_id: str, key: str, template: dict[str, Any] = TEMPLATE) -> Any:
    """A function property as SAM applies it: the function's own, else Globals."""
    props = template["Resources"][function_id]["Properties"]
    return props[key] if key in props else global_function(template).get(key)


def environment(function_id: str, template: dict[str, Any] = TEMPLATE) -> dict[str, Any]:
    """Globals' variables merged with the function's (SAM merges maps)."""
    merged = dict(global_function(template).get("Environment", {}).get("Variables", {}))
    own = template["Resources"][function_id]["Properties"].get("Environment", {})
    merged.update(own.get("Variables", {}))
    return merged


def statements(function_id: str, template: dict[str, Any] = TEMPLATE) -> list[dict[str, Any]]:
    """The inline policy statements of a function (no SAM policy templates are used)."""
    out = []
    for policy in template["Resources"][function_id]["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and "Statement" in policy, (
            f"{function_id}: only inline policy documents are expected, got {policy!r}"
        )
        out.extend(policy["Statement"])
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(function_id: str, action: str, template: dict[str, Any] = TEMPLATE) -> list[Any]:
    """Resources on which the function's statements allow `action`."""
    found = []
    for st in statements(function_id, template):
        if st.get("Effect") == "Allow" and action in as_list(st["Action"]):
            found.extend(as_list(st["Resource"]))
    return found


def getatt(value: Any) -> tuple[str, str] | None:
    """(logical id, attribute) of a Fn::GetAtt in either form."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        if isinstance(target, str):
            lid, _, attr = target.partition(".")
            return lid, attr
        return target[0], target[1]
    return None


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a value, intrinsic functions included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def rust_constant(pattern: str, under: str) -> int:
    """An integer constant from the Rust sources, so the template follows them."""
    regex = re.compile(pattern)
    hits = []
    for path in sorted((ROOT / under).rglob("*.rs")):
        for match in regex.finditer(path.read_text(encoding="utf-8")):
            hits.append((path, int(match.group(1))))
    assert len(hits) == 1, f"expected exactly one match of {pattern!r} under {under}/, found {hits}"
    return hits[0][1]


def translate(template: dict[str, Any]) -> dict[str, Any]:
    """The SAM transform, offline: samtranslator with a local CodeUri made an S3 one."""
    import logging

    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    # samtranslator logs its feature toggles at INFO/WARNING on every run.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)

    sam_template = copy.deepcopy(template)
    for resource in sam_template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            code = resource["Properties"].get("CodeUri")
            if not isinstance(code, dict):
                resource["Properties"]["CodeUri"] = "s3://wadesk-artifacts/code.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    translator = Translator(managed_policy_map=None, sam_parser=Parser())
    return translator.translate(
        sam_template=sam_template,
        parameter_values={},
        get_managed_policy_map=lambda: {},
    )
