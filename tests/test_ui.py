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
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-m",
            "orchestration.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_DIR": str(session_warehouse)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
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
        f"{webserver}/graphql",
        data=json.dumps({"query": ASSETS_QUERY}).encode(),
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


@pytest.mark.enable_socket
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_make_ui_prints_the_url_once_the_server_answers_and_stops_on_sigterm(tmp_path, session_warehouse):
    """What `make ui` runs: the URL is printed only when /server_info answers, and a SIGTERM to the
    wrapper (a script started it in the background, where SIGINT is ignored) stops dagster dev too."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli.ui", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_DIR": str(session_warehouse)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as `&` in a script leaves it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        printed = ""
        while time.monotonic() < deadline and f"Dagster UI: {url}" not in printed:
            line = wrapper.stdout.readline()
            if not line:
                break
            printed += line
        assert f"Dagster UI: {url}" in printed, printed
        with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:  # it answers already
            assert response.status == 200
        wrapper.send_signal(signal.SIGTERM)
        wrapper.wait(timeout=60)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{url}/server_info", timeout=2)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait(timeout=30)
