"""Test session set-up: a private warehouse folder, telemetry off, no network (see pyproject)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from orchestration.core.settings import prepare_environment

# Before anything imports orchestration.definitions (whose `defs` reads the settings): every test
# run gets its own warehouse.
_SESSION_WAREHOUSE = Path(tempfile.mkdtemp(prefix="warehouse-test-"))
os.environ["WAREHOUSE_DIR"] = str(_SESSION_WAREHOUSE)
os.environ["WAREHOUSE_SOURCE"] = "demo"
os.environ.pop("DAGSTER_HOME", None)
# Telemetry off and this venv's dbt first on PATH for the whole session: tests also start dbt
# themselves, without going through build_definitions() or `make run`'s main().
prepare_environment()


@pytest.fixture(scope="session")
def session_warehouse() -> Path:
    return _SESSION_WAREHOUSE


_DEMO_RUN_OUTPUT: dict[str, str] = {}


@pytest.fixture(scope="session")
def demo_run(session_warehouse):
    """One full `make run` equivalent on the demo for the whole session (about 30 s):
    (exit code, settings, the Dagster instance that recorded it). Tests only read what it built.
    What it printed is kept for `demo_run_output`."""
    import contextlib
    import io

    import dagster as dg

    from orchestration.cli import run
    from orchestration.core.settings import Settings

    settings = Settings(warehouse_dir=session_warehouse, source="demo")
    instance = dg.DagsterInstance.ephemeral()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run.main(instance=instance, settings=settings)
    _DEMO_RUN_OUTPUT.update(out=out.getvalue(), err=err.getvalue())
    return code, settings, instance


@pytest.fixture(scope="session")
def demo_run_output(demo_run) -> dict[str, str]:
    """What the session's full run printed: {'out': stdout, 'err': stderr}."""
    return _DEMO_RUN_OUTPUT


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL 16 server for the whole session (tests/postgres_server.py): about 1 s to
    start. Each test creates the databases it needs (`postgres.create_database(name)`)."""
    from tests.postgres_server import start

    return start()
