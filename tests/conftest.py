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


@pytest.fixture(scope="session")
def demo_run(session_warehouse):
    """One full `make run` equivalent on the demo for the whole session (about 30 s):
    (exit code, settings, the Dagster instance that recorded it). Tests only read what it built."""
    import dagster as dg

    from orchestration import run
    from orchestration.settings import Settings

    settings = Settings(warehouse_dir=session_warehouse, source="demo")
    instance = dg.DagsterInstance.ephemeral()
    return run.main(instance=instance, settings=settings), settings, instance
