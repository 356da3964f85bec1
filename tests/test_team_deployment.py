"""Issue 22, the team deployment on a real PostgreSQL server (tests/postgres_server.py): the run
history, the gate's check evaluations and the one-instance-per-warehouse rule in PostgreSQL
(DAGSTER_PG_URL), one writer at a time across processes, the UI reading the same storage. The
URLs carry a password (the test server trusts its socket and ignores it), which nothing may show."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.core.lake import ALIAS, Lake, connect_lake
from orchestration.core.paths import REPO_ROOT
from orchestration.core.run_lock import EXIT_BUSY
from orchestration.core.settings import (
    WAREHOUSE_POOL,
    WRITTEN_HERE,
    SettingsError,
    instance_config,
    load_settings,
    masked_url,
    prepare_instance_home,
)

SECRET = "s3cret-Pa55"


def database(postgres, name: str) -> str:
    """A new database's DAGSTER_PG_URL, as a user writes it (postgresql://, with a password)."""
    postgres.create_database(name)
    return postgres.url(name).replace("postgres@", f"postgres:{SECRET}@")


def instance_on(home: Path, url: str, monkeypatch) -> dg.DagsterInstance:
    """What any process with DAGSTER_HOME=home and DAGSTER_PG_URL=url loads (`dagster dev`, the daemon)."""
    driver_url = load_settings({"DAGSTER_PG_URL": url}).dagster_pg_url
    monkeypatch.setenv("DAGSTER_PG_URL", driver_url)
    return dg.DagsterInstance.from_config(str(prepare_instance_home(home, driver_url)))


def environment(warehouse: Path, home: Path, url: str, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "WAREHOUSE_DIR": str(warehouse),
        "WAREHOUSE_SOURCE": "demo",
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": url,
        **more,
    }


# --- the setting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (f"mysql://me:{SECRET}@db.example/dagster", "mysql://me:***@db.example/dagster"),
        (f"postgres://me:{SECRET}@db.example/dagster", "postgres://me:***@db.example/dagster"),
        (f"postgresql://me:{SECRET}@db.example/", "postgresql://me:***@db.example/"),
        (f"me:{SECRET}@db.example/dagster", "me:***@db.example/dagster"),
        (f"dbname=dagster password={SECRET}", "dbname=dagster password=***"),
    ],
)
def test_a_dagster_pg_url_that_is_not_postgresql_is_named_with_its_password_masked(value, shown):
    with pytest.raises(SettingsError) as raised:
        load_settings({"DAGSTER_PG_URL": value})
    assert str(raised.value) == (
        f"DAGSTER_PG_URL={shown!r} is not a PostgreSQL URL with a database: "
        "postgresql://user:password@host:5432/database"
    )


def test_the_url_is_read_with_its_driver_and_never_printed(tmp_path, monkeypatch, capsys):
    settings = load_settings({"DAGSTER_PG_URL": f"postgresql://me:{SECRET}@db.example:5432/dagster"})
    assert settings.dagster_pg_url == f"postgresql+psycopg2://me:{SECRET}@db.example:5432/dagster"
    assert SECRET not in repr(settings)
    assert masked_url(settings.dagster_pg_url) == "postgresql+psycopg2://me:***@db.example:5432/dagster"
    assert load_settings({}).dagster_pg_url is None
    with pytest.raises(SettingsError, match="WAREHOUSE_WRITER_WAIT='soon' is not a number of seconds"):
        load_settings({"WAREHOUSE_WRITER_WAIT": "soon"})
    # `make run` stops before anything starts, in one line without the password
    from orchestration.cli import run

    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_PG_URL", f"mysql://me:{SECRET}@db.example/dagster")
    assert run.main() == 2
    err = capsys.readouterr().err
    assert err.startswith("Cannot run: DAGSTER_PG_URL='mysql://me:***@") and err.count("\n") == 1
    assert SECRET not in err


def test_a_database_that_does_not_answer_is_one_line_without_the_password(tmp_path, capsys, monkeypatch):
    from orchestration.cli import run
    from orchestration.core.settings import Settings

    for name in ("DAGSTER_PG_URL", "DAGSTER_HOME"):  # set by open_instance: undone after the test
        monkeypatch.setenv(name, "")

    url = f"postgresql+psycopg2://postgres:{SECRET}@/nowhere?host={tmp_path}"  # no server on this socket
    settings = Settings(warehouse_dir=tmp_path / "warehouse", source="demo", dagster_pg_url=url)
    assert run.main(settings=settings) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(
        f"Cannot run: the Dagster history in PostgreSQL (DAGSTER_PG_URL=postgresql+psycopg2://postgres:***@/nowhere"
        f"?host={tmp_path}) cannot be opened: connection to server on socket "
    ), captured.err
    assert SECRET not in captured.err and not (tmp_path / "warehouse" / "build.duckdb").exists()


def test_the_instance_home_follows_the_setting_and_leaves_a_teams_own_file(tmp_path):
    home = tmp_path / "home"
    url = f"postgresql+psycopg2://me:{SECRET}@db.example/dagster"
    (home).mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # as written before this change
    text = (prepare_instance_home(home, url) / "dagster.yaml").read_text()
    assert text == instance_config(url) and SECRET not in text  # the variable is named, not copied
    import yaml

    config = yaml.safe_load(text)
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"] == {"pools": {"granularity": "run", "default_limit": 1}}
    assert config["telemetry"] == {"enabled": False}
    assert yaml.safe_load((prepare_instance_home(home) / "dagster.yaml").read_text()) == {
        "telemetry": {"enabled": False}
    }  # unset again: SQLite files in the folder, as before
    (home / "dagster.yaml").write_text("storage:\n  sqlite:\n    base_dir: /srv/dagster\n")
    assert (prepare_instance_home(home, url) / "dagster.yaml").read_text().startswith("storage:\n  sqlite")


# --- the owner rule in the shared database ---------------------------------------------------------------


def test_a_second_warehouse_on_the_same_database_is_refused_whatever_its_dagster_home(postgres, tmp_path, monkeypatch):
    """Two DAGSTER_HOMEs (two machines, the UI and a laptop) share one database: the rule is in the
    database, so a home that has never seen the first warehouse refuses a second one the same way."""
    from orchestration.cli import run
    from orchestration.core.instance import INSTANCE_OWNER, OWNER_TABLE
    from orchestration.core.settings import Settings
    from orchestration.definitions import build_resources
    from orchestration.raw.assets import RAW_ASSETS

    url = database(postgres, "owners")
    universe = next(a for a in RAW_ASSETS if dg.AssetKey(["raw", "miner_universe"]) in a.keys)
    first, second = tmp_path / "first", tmp_path / "second"

    def load(warehouse, instance):
        resources = build_resources(Settings(warehouse_dir=warehouse, source="demo"))
        return dg.materialize([universe], resources=resources, instance=instance, raise_on_error=False)

    laptop = instance_on(tmp_path / "laptop_home", url, monkeypatch)
    server = instance_on(tmp_path / "server_home", url, monkeypatch)
    assert load(first, laptop).success
    refused = load(second, server)
    assert load(first, server).success  # the same warehouse from another home: the team's case
    failure = "\n".join(run.failure_lines(refused))
    masked = masked_url(load_settings({"DAGSTER_PG_URL": url}).dagster_pg_url)
    assert (
        f"could not start: the PostgreSQL database {masked} (DAGSTER_PG_URL) holds the run history of the "
        f"warehouse {first}, not of {second}" in failure
    ), failure
    assert f"UPDATE {OWNER_TABLE} SET warehouse_dir = '{second}'" in failure
    assert SECRET not in failure and not (second / "build.duckdb").exists()
    assert not (tmp_path / "laptop_home" / INSTANCE_OWNER).exists()  # not a file in one home
    assert not (tmp_path / "server_home" / INSTANCE_OWNER).exists()
    assert [r.status for r in laptop.get_runs()] == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
                                                     dg.DagsterRunStatus.SUCCESS]  # fmt: skip


# --- what Dagster itself enforces for in-process runs ---------------------------------------------------

TWO_STEPS = """
import json, sys, time
import dagster as dg
STEPS = []

@dg.op(pool="warehouse")
def first_step(context) -> int:
    start = time.time()
    time.sleep(1.0)
    STEPS.append((context.run_id, "first", start, time.time()))
    return 1

@dg.op(pool="warehouse")
def second_step(context, _value: int) -> None:
    start = time.time()
    time.sleep(1.0)
    STEPS.append((context.run_id, "second", start, time.time()))

@dg.job(executor_def=dg.in_process_executor)
def two_steps():
    second_step(first_step())

instance = dg.DagsterInstance.from_config(sys.argv[1])
time.sleep(max(float(sys.argv[2]) - time.time(), 0))
assert two_steps.execute_in_process(instance=instance).success
print(json.dumps(STEPS))
"""


@pytest.mark.parametrize("granularity", ["op", "run"])
def test_dagster_alone_does_not_keep_two_in_process_runs_apart(granularity, postgres, tmp_path, monkeypatch):
    """Why core/writer.py holds a slot for the whole run. Two `execute_in_process` runs (two
    processes) of a job whose two steps are in one pool limited to 1, started together: with
    `granularity: op` each step claims the slot, so the steps of the two runs take turns (the
    second run writes between the first run's steps); with `granularity: run` the executor claims
    nothing and the runs overlap."""
    url = database(postgres, f"granularity_{granularity}")
    home = tmp_path / "home"
    home.mkdir()
    own = instance_config(url).replace(WRITTEN_HERE, "")  # a file of its own: prepare_instance_home keeps it
    (home / "dagster.yaml").write_text(own.replace("granularity: run", f"granularity: {granularity}"))
    # the pool's limit row first: two first claims at one moment race to create it (a unique violation)
    assert instance_on(home, url, monkeypatch).event_log_storage.initialize_concurrency_limit_to_default("warehouse")
    start_at = time.time() + 6
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TWO_STEPS, str(home), str(start_at)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in "ab"
    ]
    outputs = [process.communicate(timeout=180)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    steps = sorted((step for out in outputs for step in json.loads(out.strip().splitlines()[-1])), key=lambda s: s[2])
    assert len(steps) == 4, steps
    overlapping = any(a[3] > b[2] + 0.05 for a, b in zip(steps, steps[1:]))
    runs_in_turn = [run_id for run_id, *_ in steps]
    if granularity == "op":
        assert not overlapping, steps  # one step at a time ...
        # ... but the runs take turns: one run's steps do not run back to back
        assert not (runs_in_turn[0] == runs_in_turn[1] and runs_in_turn[2] == runs_in_turn[3]), steps
    else:
        assert overlapping, steps


# --- one writer at a time: the slot ---------------------------------------------------------------------

HOLD_THE_SLOT = """
import json, sys, time
import dagster as dg
from orchestration.core.writer import hold_writer_slot
instance = dg.DagsterInstance.from_config(sys.argv[1])
run_id, start_at, hold = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
time.sleep(max(start_at - time.time(), 0))
with hold_writer_slot(instance, "`make run`", run_id, wait=60, say=lambda line: print(line, flush=True)):
    got = time.time()
    print("held", flush=True)
    time.sleep(hold)
    print(json.dumps([run_id, got, time.time()]), flush=True)
"""


def holder_process(home: Path, run_id: str, start_at: float, hold: float, url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_SLOT, str(home), run_id, str(start_at), str(hold)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "DAGSTER_PG_URL": url},
        stdout=subprocess.PIPE,
        text=True,
    )


def test_claims_started_together_on_three_processes_hold_the_slot_one_after_another(postgres, tmp_path, monkeypatch):
    url = database(postgres, "slots")
    instance_on(tmp_path / "home", url, monkeypatch)  # writes the home's dagster.yaml
    driver_url = os.environ["DAGSTER_PG_URL"]
    start_at = time.time() + 6  # the three import Dagster first, then claim at the same moment
    processes = [holder_process(tmp_path / "home", f"run-{n}", start_at, 1.5, driver_url) for n in range(3)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    held = sorted(json.loads(out.strip().splitlines()[-1]) for out in outputs)
    spans = sorted((got, released) for _, got, released in held)
    assert all(released <= next_got for (_, released), (next_got, _) in zip(spans, spans[1:])), spans
    waiting = [line for out in outputs for line in out.splitlines() if line.startswith("Waiting for the warehouse")]
    assert len(waiting) >= 2 and all(re.search(r"run run-\d\) holds it; waiting up to 60 s", w) for w in waiting)


def test_a_make_run_that_finds_the_warehouse_held_says_which_run_holds_it(postgres, tmp_path, monkeypatch):
    """WAREHOUSE_WRITER_WAIT=0: refused at once with the holder's run id and since when; a holder
    killed without releasing does not block the next run."""
    url = database(postgres, "busy")
    instance = instance_on(tmp_path / "home", url, monkeypatch)
    holder = holder_process(tmp_path / "home", "5c1f0a2e-0022", 0, 120, os.environ["DAGSTER_PG_URL"])
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run(
            [sys.executable, "-m", "orchestration.cli.run"],
            cwd=REPO_ROOT,
            env=environment(tmp_path / "warehouse", tmp_path / "home", url, WAREHOUSE_WRITER_WAIT="0"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == EXIT_BUSY and done.stdout == "", done.stderr
        assert re.fullmatch(
            rf"Cannot run: another run holds the warehouse: `make run` \(pid {holder.pid}, started "
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, \d+ s ago, run 5c1f0a2e-0022\); wait for it to finish \(the "
            r"Dagster UI's Runs page shows it\), then run again\n",
            done.stderr,
        ), done.stderr
        assert not (tmp_path / "warehouse" / "build.duckdb").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    from orchestration.core.writer import hold_writer_slot, holders

    said: list[str] = []
    with hold_writer_slot(instance, "`make run`", "next", wait=5, say=said.append):
        assert [run_id for run_id, *_ in holders(instance)] == ["next"]
    assert said == [
        f"Freed the warehouse's slot held by `make run` (pid {holder.pid}, started " + said[0].split("started ", 1)[1]
    ] and said[0].endswith("run 5c1f0a2e-0022): it has ended")
    assert holders(instance) == []


# --- the pipeline: two `make run`s started together on one PostgreSQL history ---------------------------


@pytest.fixture(scope="module")
def team_runs(postgres, tmp_path_factory):
    """Two `make run`s (demo source) started at the same moment on one warehouse, each from its own
    DAGSTER_HOME (two machines), sharing the history in PostgreSQL: about twice a run's time, since
    the second waits for the first. (exit codes, outputs, the warehouse, the URL, seconds)."""
    root = tmp_path_factory.mktemp("team")
    url = database(postgres, "team")
    warehouse = root / "warehouse"
    # the whole team configuration: the publications go to a lake on the same server too
    postgres.create_database("team_lake")
    (root / "lake_data").mkdir()
    lake = {"WAREHOUSE_LAKE": "postgres:" + postgres.libpq("team_lake"), "WAREHOUSE_LAKE_DATA": str(root / "lake_data")}
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli.run"],
            cwd=REPO_ROOT,
            env=environment(warehouse, root / f"home_{name}", url, **lake),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    seconds = time.monotonic() - started
    return [p.returncode for p in processes], outputs, warehouse, url, root, seconds


def test_two_make_runs_started_together_both_publish_one_after_the_other(team_runs, postgres, monkeypatch, tmp_path):
    codes, outputs, warehouse, url, root, seconds = team_runs
    assert codes == [0, 0], [err[-2000:] for _, err in outputs]
    waited = [err for _, err in outputs if "Waiting for the warehouse: `make run` (pid " in err]
    assert len(waited) == 1, [err[-2000:] for _, err in outputs]
    assert SECRET not in "".join(out + err for out, err in outputs)
    # What a third process (another machine's UI) reads from the same database
    instance = instance_on(tmp_path / "reader_home", url, monkeypatch)
    records = sorted(instance.get_run_records(), key=lambda r: r.start_time)
    assert [r.dagster_run.job_name for r in records] == ["build_and_publish", "publish_note"] * 2
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    for before, after in zip(records, records[1:]):
        assert before.end_time <= after.start_time, (before.dagster_run.run_id, after.dagster_run.run_id)
    first_build, second_build = records[0].dagster_run.run_id, records[2].dagster_run.run_id
    # what the run queue counts: a build (in-process, too) uses the warehouse pool, a note run does not
    assert [bool(r.dagster_run.run_op_concurrency) for r in records] == [True, False] * 2
    assert records[0].dagster_run.run_op_concurrency.all_pools == {WAREHOUSE_POOL}
    assert f"run {first_build})" in waited[0]  # the waiting run named the one it waited for
    # the gate's evidence is in PostgreSQL: every blocking check cleared by the second run
    from orchestration.quality.gate import publication_checks, review_gate

    review = review_gate(instance, publication_checks(), second_build)
    assert review.problems == [] and review.evaluated_in_run == review.checks > 40
    records_by_check = instance.get_latest_asset_check_evaluation_record(next(iter(publication_checks())))
    assert records_by_check.run_id == second_build
    published = instance.get_latest_materialization_event(dg.AssetKey("published_warehouse"))
    assert published.run_id == second_build
    assert published.asset_materialization.metadata["path"].value == str(warehouse / "published.duckdb")
    for home in ("home_a", "home_b"):
        assert SECRET not in (root / home / "dagster.yaml").read_text()
        assert not list((root / home).glob("*.db")) and not (root / home / "history").exists()  # no SQLite
    # ... and both publications reached the lake, one snapshot each, in the order they were published
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as conn:
        in_file = conn.execute("select publication_id from publication_log order by published_at").fetchall()
    lake = Lake(f"postgres:{postgres.libpq('team_lake')}", str(root / "lake_data"))
    with connect_lake(lake, read_only=True) as conn:
        in_lake = conn.execute(
            f"select publication_id, lake_snapshot_id from {ALIAS}.publication_log order by 2"
        ).fetchall()
        months = conn.execute(f"select count(*) from {ALIAS}.mart_monthly_note").fetchone()[0]
    assert [(publication,) for publication, _ in in_lake] == in_file and len(in_file) == 2
    assert in_lake[0][1] < in_lake[1][1] and months == 78
    print(f"\ntwo make runs with DAGSTER_PG_URL and the lake, serialised: {seconds:.0f} s")


@pytest.mark.enable_socket
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_ui_shows_the_runs_kept_in_postgresql(team_runs, tmp_path):
    """What `make ui` starts: the webserver in the environment ui.server_environment prepares (a
    DAGSTER_HOME of its own), answering GraphQL with the runs the two `make run`s recorded."""
    from orchestration.cli import ui
    from orchestration.core.settings import Settings
    from tests.test_ui import free_port, wait_for

    _, _, warehouse, url, _, _ = team_runs
    settings = Settings(
        warehouse_dir=warehouse,
        source="demo",
        dagster_home=tmp_path / "ui_home",
        dagster_pg_url=load_settings({"DAGSTER_PG_URL": url}).dagster_pg_url,
    )
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "orchestration.definitions"]
        + ["-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=ui.server_environment(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/server_info", 120)
        import urllib.request

        query = "{ runsOrError { ... on Runs { results { runId jobName status } } } }"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            runs = json.load(response)["data"]["runsOrError"]["results"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert sorted(r["jobName"] for r in runs) == ["build_and_publish"] * 2 + ["publish_note"] * 2
    assert {r["status"] for r in runs} == {"SUCCESS"}
    assert SECRET not in (tmp_path / "ui_home" / "dagster.yaml").read_text()
