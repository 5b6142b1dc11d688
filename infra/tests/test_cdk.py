"""`cdk synth` of infra/cdk: the same stack as infra/template.yaml, code as assets.

The first fixture runs the CDK CLI as a user would (`cdk synth`), with
placeholder code and dummy account and region: no Rust build, no AWS account,
no lookups. The others run the app directly (faster) to check how it takes
cargo-lambda's builds.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from template_model import ACCOUNT, REGION, ROOT, TEMPLATE, functions

CDK_DIR = ROOT / "infra" / "cdk"
STACK = "wadesk-dev"
ASSET_BUCKET = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
BUILD_HINT = "cargo lambda build --release --arm64 --output-format zip"


def cdk_env(**extra: str) -> dict[str, str]:
    """An environment with no AWS identity: synth must not need one."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "CDK_")) and k not in ("WADESK_CDK_PLACEHOLDER_ASSETS",)
    }
    env.update(
        CDK_DEFAULT_ACCOUNT=ACCOUNT,
        CDK_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    env.update(extra)
    return env


def tool(name: str) -> str:
    path = CDK_DIR / "node_modules" / ".bin" / name
    assert path.exists(), f"{path} is missing: run `npm ci` in infra/cdk (scripts/template_checks.sh does)"
    return str(path)


@pytest.fixture(scope="session")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cdk synth` through the CLI and cdk.json (which compiles the app first)."""
    out = tmp_path_factory.mktemp("cdk.out")
    result = subprocess.run(
        [tool("cdk"), "synth", "--quiet", "--no-notices", "--output", str(out)],
        cwd=CDK_DIR,
        env=cdk_env(WADESK_CDK_PLACEHOLDER_ASSETS="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr, result.stdout + result.stderr
    return out


def app_synth(out: Path, context: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    """The compiled app run directly, as the CLI runs it (after `cli_synth` compiled it)."""
    return subprocess.run(
        ["node", str(CDK_DIR / "dist" / "bin" / "wadesk.js")],
        cwd=CDK_DIR,
        env=cdk_env(CDK_OUTDIR=str(out), CDK_CONTEXT_JSON=json.dumps(context), **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def synthesized(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    template = json.loads((out / f"{STACK}.template.json").read_text(encoding="utf-8"))
    assets = json.loads((out / f"{STACK}.assets.json").read_text(encoding="utf-8"))
    return template, assets


def normalized(value: Any) -> Any:
    """`{"Fn::GetAtt": "A.B"}` (what a resource included as-is keeps) as `["A", "B"]`."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"} and isinstance(value["Fn::GetAtt"], str):
            lid, _, attr = value["Fn::GetAtt"].partition(".")
            return {"Fn::GetAtt": [lid, attr]}
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def code_uri_key(resource: dict[str, Any]) -> str:
    code = resource["Properties"]["CodeUri"]
    assert code["Bucket"] == ASSET_BUCKET, code
    assert re.fullmatch(r"[0-9a-f]{64}\.zip", code["Key"]), code
    return code["Key"]


def test_cdk_synth_is_the_template_itself(cli_synth: Path) -> None:
    """No second copy of the resources: everything equals template.yaml but the code location."""
    synth, _ = synthesized(cli_synth)
    ours = normalized(synth)
    theirs = normalized(copy.deepcopy(TEMPLATE))
    assert ours["Transform"] == theirs["Transform"] == "AWS::Serverless-2016-10-31"
    for section in ("Globals", "Mappings", "Conditions", "Outputs"):
        assert ours[section] == theirs[section], section
    # CDK adds its bootstrap version check and, for a placeholder synth, the
    # rule that keeps it from being deployed.
    assert set(ours["Parameters"]) - set(theirs["Parameters"]) == {"BootstrapVersion"}
    for name, parameter in theirs["Parameters"].items():
        assert ours["Parameters"][name] == parameter, name
    assert set(ours["Rules"]) - set(theirs["Rules"]) == {"CheckBootstrapVersion", "PlaceholderCodeIsNotDeployable"}
    assert ours["Resources"].keys() == theirs["Resources"].keys()
    for lid, resource in theirs["Resources"].items():
        mine = copy.deepcopy(ours["Resources"][lid])
        if resource["Type"] == "AWS::Serverless::Function":
            code_uri_key(mine)
            mine["Properties"]["CodeUri"] = resource["Properties"]["CodeUri"]
        assert mine == resource, lid


def test_cdk_placeholder_synth_cannot_be_deployed(cli_synth: Path) -> None:
    synth, _ = synthesized(cli_synth)
    (assertion,) = synth["Rules"]["PlaceholderCodeIsNotDeployable"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "LogLevel"}, "placeholder"]}
    assert "placeholder" not in synth["Parameters"]["LogLevel"]["AllowedValues"]


def test_cdk_deploys_each_functions_own_cargo_lambda_build(cli_synth: Path, tmp_path: Path) -> None:
    binaries = {
        lid: r["Metadata"]["BuildProperties"]["Binary"] for lid, r in functions(TEMPLATE).items()
    }
    builds = tmp_path / "lambda"
    for binary in binaries.values():
        (builds / binary).mkdir(parents=True)
        (builds / binary / "bootstrap.zip").write_bytes(f"zip of {binary}".encode())
    out = tmp_path / "out"
    result = app_synth(out, {"lambdaDir": str(builds)})
    assert result.returncode == 0, result.stderr
    synth, assets = synthesized(out)
    assert "PlaceholderCodeIsNotDeployable" not in synth.get("Rules", {})
    keys = {lid: code_uri_key(synth["Resources"][lid]) for lid in binaries}
    assert len(set(keys.values())) == len(keys), "one asset per function"
    for lid, key in keys.items():
        asset = assets["files"][key.removesuffix(".zip")]
        assert asset["source"]["packaging"] == "file", "the zip cargo-lambda built, uploaded as it is"
        staged = out / asset["source"]["path"]
        assert staged.read_bytes() == f"zip of {binaries[lid]}".encode()
        (destination,) = asset["destinations"].values()
        assert destination["bucketName"] == ASSET_BUCKET and destination["objectKey"] == key


def test_cdk_synth_without_builds_says_how_to_build(cli_synth: Path, tmp_path: Path) -> None:
    result = app_synth(tmp_path / "out", {"lambdaDir": str(tmp_path / "nothing")})
    assert result.returncode != 0
    assert BUILD_HINT in result.stderr
    assert "webhook/bootstrap.zip" in result.stderr, "names what is missing"


def test_cdk_stage_names_the_stack(cli_synth: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = app_synth(out, {"stage": "prod"}, WADESK_CDK_PLACEHOLDER_ASSETS="1")
    assert result.returncode == 0, result.stderr
    synth = json.loads((out / "wadesk-prod.template.json").read_text(encoding="utf-8"))
    assert synth["Parameters"]["Stage"]["Default"] == "prod"
