"""The Dagster webserver loads the same Definitions and serves the asset graph over GraphQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ASSETS_QUERY = (
    "{ assetNodes { assetKey { path } groupName description"
    " assetChecksOrError { ... on AssetChecks { checks { name blocking canExecuteIndividually } } } } }"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def webserver(tmp_path, session_warehouse):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "orchestration.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_DIR": str(session_warehouse)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/server_info", 90)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # its own session: the whole group, reliably
        server.wait(timeout=30)


@pytest.mark.enable_socket
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_graphql_lists_the_pipeline_assets_with_groups_and_descriptions(webserver):
    request = urllib.request.Request(
        f"{webserver}/graphql", data=json.dumps({"query": ASSETS_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        nodes = json.load(response)["data"]["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert by_key["raw/btc_daily"]["groupName"] == "raw"
    assert by_key["staging/stg_btc_daily"]["groupName"] == "staging"
    assert by_key["marts/mart_monthly_note"]["groupName"] == "marts"
    assert by_key["published_warehouse"]["groupName"] == "publish"
    assert all(n["description"] for n in nodes), [k for k, n in by_key.items() if not n["description"]]
    # Each Great Expectations suite is a blocking check on its own asset, and the UI can execute it
    # alone although the suites of a layer run together in one gate step.
    checks = {
        f"{key}:{check['name']}": check
        for key, node in by_key.items()
        for check in (node.get("assetChecksOrError") or {}).get("checks", [])
        if check["name"].startswith("gx_")
    }
    assert {"raw/btc_daily:gx_raw.btc_daily", "marts/mart_monthly_note:gx_mart_monthly_note"} <= set(checks)
    assert len(checks) == len(list((REPO / "expectations").glob("*.json")))
    assert all(c["blocking"] and c["canExecuteIndividually"] == "CAN_EXECUTE" for c in checks.values()), checks
