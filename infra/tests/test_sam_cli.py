"""`sam validate --lint`: the SAM CLI's own reading of the template (offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from template_model import REGION, ROOT, TEMPLATE_FILE


def test_sam_validate_lint() -> None:
    sam = Path(sys.executable).with_name("sam")
    assert sam.exists(), f"{sam} is missing: aws-sam-cli belongs in scripts/requirements-test.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        SAM_CLI_TELEMETRY="0",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = subprocess.run(
        [str(sam), "validate", "--lint", "--template-file", str(TEMPLATE_FILE), "--region", REGION],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in output, output
