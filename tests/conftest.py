"""Test session set-up: a private warehouse folder, telemetry off, no network (see pyproject)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything imports orchestration.definitions: every test run gets its own warehouse.
_SESSION_WAREHOUSE = Path(tempfile.mkdtemp(prefix="warehouse-test-"))
os.environ["WAREHOUSE_DIR"] = str(_SESSION_WAREHOUSE)
os.environ["WAREHOUSE_SOURCE"] = "demo"
os.environ.pop("DAGSTER_HOME", None)

from orchestration.settings import prepare_environment  # noqa: E402

prepare_environment()

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def session_warehouse() -> Path:
    return _SESSION_WAREHOUSE
