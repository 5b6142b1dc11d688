"""Fixtures of the template tests (helpers: template_model.py)."""

from __future__ import annotations

from typing import Any

import pytest

from template_model import TEMPLATE, translate


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return TEMPLATE


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    return translate(TEMPLATE)
