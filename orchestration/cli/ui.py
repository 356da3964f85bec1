"""`make ui`: start the Dagster UI (`dagster dev`) and say where to open it once it answers.

`dagster dev` takes 7-9 s to serve and prints its own start-up lines among many others, so a new
user cannot tell when, or where, the UI is ready. This starts it, polls its /server_info until it
answers, then prints `Dagster UI: http://127.0.0.1:<port>`.

`dagster dev` runs in a process group of its own, with SIGINT at its default even when this
wrapper was started in the background of a script (which ignores SIGINT, and dagster dev maps
SIGTERM to SIGINT): Ctrl-C, SIGTERM or SIGHUP sent to the wrapper are forwarded to that group, and
the wrapper exits with dagster dev's status.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from orchestration.core.paths import REPO_ROOT
from orchestration.core.settings import (
    Settings,
    SettingsError,
    load_settings,
    prepare_environment,
    prepare_instance_home,
)

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def server_environment(settings: Settings) -> dict[str, str]:
    """The environment `dagster dev` starts in: the warehouse's own instance, as `make run` uses it
    (its DAGSTER_HOME made ready), so the UI shows its runs and checks; with DAGSTER_PG_URL, the
    dagster.yaml there keeps them in PostgreSQL and names the variable, passed on with its driver
    (settings.py). The webserver, the daemon and the code server `dagster dev` starts all read it."""
    home = prepare_instance_home(settings.dagster_home or settings.paths.dagster_home, settings.dagster_pg_url)
    env = {**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_DIR": str(settings.warehouse_dir)}
    if settings.dagster_pg_url:
        env["DAGSTER_PG_URL"] = settings.dagster_pg_url
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli.ui", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--wait", type=float, default=180, help="seconds to wait for the UI to answer")
    args = parser.parse_args(argv)
    prepare_environment()
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Cannot start the UI: {error}", file=sys.stderr)
        return 2
    dagster = Path(sys.executable).parent / "dagster"
    server = subprocess.Popen(
        [str(dagster), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)],
        cwd=REPO_ROOT,
        env=server_environment(settings),
        start_new_session=True,
        preexec_fn=_default_sigint,
    )

    def forward(signum, _frame) -> None:
        try:
            os.killpg(server.pid, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    url = f"http://{args.host}:{args.port}"
    deadline = time.monotonic() + args.wait
    while server.poll() is None and time.monotonic() < deadline:
        if _answers(f"{url}/server_info"):
            print(f"\nDagster UI: {url}  (Ctrl-C stops it)\n", flush=True)
            break
        time.sleep(0.5)
    else:
        if server.poll() is None:
            print(
                f"\nThe Dagster UI did not answer at {url} within {args.wait:.0f} s; still waiting for it "
                "(Ctrl-C stops it)\n",
                file=sys.stderr,
                flush=True,
            )
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
