"""The team's lake: each passing publication is also one DuckLake snapshot that any machine reads
with nothing but duckdb and two extension files, and earlier publications stay readable by snapshot.

One full pipeline run (module-scoped, ~30 s) publishes to a DuckLake catalog on a real PostgreSQL
server (tests/postgres_server.py) with its data in a temporary folder; the other publications here
are the publish step alone (a few seconds) or publish() itself on a tiny build file.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.cli import note as note_cli
from orchestration.cli import run
from orchestration.core.duckdb_extensions import extension_path
from orchestration.core.lake import Lake, LakeError, connect_lake, find_publication
from orchestration.core.settings import Settings, load_settings
from orchestration.publish.lake import commit_publication
from orchestration.publish.publication import STORAGE_VERSION
from tests.test_publishing import make_build, publish_as

NOTE_MONTH = "2025-06"


def publish_alone(settings: Settings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """Only the publish step, as the UI runs it (the gate reviews what `instance` recorded)."""
    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("build_and_publish")
    return job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("published_warehouse")], raise_on_error=False
    )


def lake_snapshots(lake: Lake) -> list[tuple[int, str | None]]:
    with connect_lake(lake, read_only=True) as conn:
        return conn.execute("select snapshot_id, commit_message from lake.snapshots() order by snapshot_id").fetchall()


def current_publication_id(settings: Settings) -> str:
    with duckdb.connect(str(settings.published_db), read_only=True) as conn:
        return conn.execute("select publication_id from publication_log order by published_at desc limit 1").fetchone()[
            0
        ]


@dataclass
class LakeRun:
    code: int
    out: str
    seconds: float
    settings: Settings
    lake: Lake
    instance: dg.DagsterInstance
    env: dict[str, str]
    first_publication: str
    first_note: dict[str, str]  # suffix -> the note `make run` rendered from the first publication


@pytest.fixture(scope="module")
def lake_run(postgres, tmp_path_factory):
    """`make run` on the demo with the lake on the real PostgreSQL server, configured as a user
    would (the environment, through load_settings)."""
    postgres.create_database("lake_pipeline")
    root = tmp_path_factory.mktemp("lake")
    (root / "lake_data").mkdir()
    env = {
        "WAREHOUSE_DIR": str(root / "warehouse"),
        "WAREHOUSE_SOURCE": "demo",
        "WAREHOUSE_LAKE": "postgres:" + postgres.libpq("lake_pipeline"),
        "WAREHOUSE_LAKE_DATA": str(root / "lake_data"),
    }
    settings = load_settings(env)
    instance = dg.DagsterInstance.ephemeral()
    out = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = run.main(instance=instance, settings=settings)
    seconds = time.monotonic() - started
    notes = settings.paths.notes
    first_note = {suffix: (notes / f"{NOTE_MONTH}{suffix}").read_text() for suffix in (".md", ".html")}
    return LakeRun(
        code,
        out.getvalue(),
        seconds,
        settings,
        Lake(settings.lake, settings.lake_data),
        instance,
        env,
        current_publication_id(settings),
        first_note,
    )


def test_the_run_commits_its_publication_as_one_snapshot_and_says_which(lake_run):
    assert lake_run.code == 0, lake_run.out
    print(f"full run with the lake: {lake_run.seconds:.1f} s")
    snapshots = lake_run.lake.describe()
    lines = [line for line in lake_run.out.splitlines() if line.startswith("Lake: ")]
    with connect_lake(lake_run.lake, read_only=True) as conn:
        (snapshot,) = conn.execute(
            "select lake_snapshot_id from lake.publication_log where publication_id = ?", [lake_run.first_publication]
        ).fetchone()
        changes, message = conn.execute(
            "select changes, commit_message from lake.snapshots() where snapshot_id = ?", [snapshot]
        ).fetchone()
    assert lines == [
        f"Lake: publication {lake_run.first_publication} is snapshot {snapshot} of {snapshots} "
        "(readers elsewhere: docs/lake.md)"
    ]
    assert message == f"publication {lake_run.first_publication}"
    # every mart and the log in that one snapshot
    assert set(changes["tables_created"]) >= {
        "main.mart_monthly_note",
        "main.mart_miner_monthly",
        "main.mart_chain_monthly",
        "main.mart_valuation_history",
        "main.mart_miner_operations_monthly",
        "main.publication_log",
    }
    assert list(Path(lake_run.lake.data_path).rglob("*.parquet")), "the marts' data is not in the data folder"


# What a reader on another machine runs: only duckdb and the two extension files (python -I: not
# even this repository is importable). Every table's columns, types and rows, as JSON.
DUMP = r"""
def dump(conn, database):
    out = {}
    tables = conn.execute(
        "select table_name from duckdb_tables() where database_name = ? order by table_name", [database]
    ).fetchall()
    for (table,) in tables:
        columns = conn.execute(
            "select column_name, data_type, comment from duckdb_columns() where database_name = ? "
            "and table_name = ? order by column_index",
            [database, table],
        ).fetchall()
        rows = conn.execute(f'select * from {database}.main."{table}"').fetchall()
        out[table] = {"columns": [list(c) for c in columns], "rows": json.loads(json.dumps(rows, default=str))}
    return out
"""
READ_LAKE = (
    "import json, sys\nimport duckdb\n"
    + DUMP
    + r"""
catalog, *extensions = sys.argv[1:]
conn = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
for path in extensions:
    conn.execute(f"load '{path}'")
conn.execute(f"attach 'ducklake:{catalog}' as lake (read_only)")
print(json.dumps({"tables": dump(conn, "lake"), "ours": [m for m in sys.modules if m.startswith("orchestration")]}))
"""
)


def dump(conn, database) -> dict:
    scope: dict = {"json": json}
    exec(DUMP, scope)
    return scope["dump"](conn, database)


def test_a_reader_in_another_process_sees_the_published_marts_cell_for_cell(lake_run):
    assert lake_run.code == 0
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            READ_LAKE,
            lake_run.lake.catalog,
            str(extension_path("ducklake")),
            str(extension_path("postgres_scanner")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=lake_run.settings.warehouse_dir,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["ours"] == []
    with duckdb.connect(str(lake_run.settings.published_db), read_only=True) as conn:
        expected = dump(conn, "published")
    lake_tables = seen["tables"]
    assert set(lake_tables) == set(expected)
    log = lake_tables.pop("publication_log")
    for table, content in expected.items():
        if table != "publication_log":
            assert lake_tables[table] == content, table
            assert len(content["rows"]) > 0
    # the log: the file's columns and rows, plus the snapshot each publication became
    assert log["columns"][:-1] == expected["publication_log"]["columns"]
    assert log["columns"][-1][:2] == ["lake_snapshot_id", "BIGINT"]
    assert [row[:-1] for row in log["rows"]] == expected["publication_log"]["rows"]
    assert all(row[-1] is not None for row in log["rows"])


def test_a_publication_whose_gate_fails_leaves_the_lake_as_it_was(lake_run):
    """Nothing cleared the build in a fresh instance: the publish step refuses, the lake's latest
    snapshot stays what it was (and the published file too)."""
    assert lake_run.code == 0
    before, file_before = lake_snapshots(lake_run.lake), current_publication_id(lake_run.settings)
    with dg.DagsterInstance.ephemeral() as fresh:
        result = publish_alone(lake_run.settings, fresh)
    assert not result.success
    assert "not published: " in result.get_step_failure_events()[0].event_specific_data.error.message
    assert lake_snapshots(lake_run.lake) == before
    assert current_publication_id(lake_run.settings) == file_before


@pytest.fixture(scope="module")
def second_publication(lake_run):
    """A later publication with different numbers: the build's June market cap doubled (as a
    corrected source would), published by the publish step alone (its checks passed in the run)."""
    assert lake_run.code == 0
    with duckdb.connect(str(lake_run.settings.build_db)) as conn:
        conn.execute(
            "update marts.mart_monthly_note set combined_market_cap_usd = 2 * combined_market_cap_usd "
            f"where month = date '{NOTE_MONTH}-01'"
        )
    result = publish_alone(lake_run.settings, lake_run.instance)
    assert result.success
    return current_publication_id(lake_run.settings)


def write_note(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in ("WAREHOUSE_LAKE", "WAREHOUSE_LAKE_DATA"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = note_cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_an_earlier_publications_note_is_reproduced_from_its_snapshot(lake_run, second_publication):
    notes = lake_run.settings.paths.notes
    assert second_publication != lake_run.first_publication
    # the current note has the new numbers ...
    code, _, err = write_note(lake_run.env, "--month", NOTE_MONTH)
    assert code == 0, err
    assert (notes / f"{NOTE_MONTH}.md").read_text() != lake_run.first_note[".md"]
    # ... the note as of the first publication is the one `make run` wrote then, byte for byte
    code, out, err = write_note(lake_run.env, "--month", NOTE_MONTH, "--as-of", lake_run.first_publication)
    assert code == 0, err
    stem = notes / f"{NOTE_MONTH}.as-of-{lake_run.first_publication}"
    assert out.splitlines() == [
        f"as of publication {lake_run.first_publication}: snapshot "
        f"{find_publication(lake_run.lake, lake_run.first_publication).snapshot} of {lake_run.lake.describe()}",
        f"{stem}.html",
        f"{stem}.md",
    ]
    for suffix, text in lake_run.first_note.items():
        assert Path(f"{stem}{suffix}").read_text() == text, suffix
    # a time: what the lake's readers had then; the second publication's file was written before its
    # lake commit, so at that moment the lake still held the first
    with duckdb.connect(str(lake_run.settings.published_db), read_only=True) as conn:
        (published_at,) = conn.execute(
            "select published_at from publication_log where publication_id = ?", [second_publication]
        ).fetchone()
    assert find_publication(lake_run.lake, f"{published_at:%Y-%m-%dT%H:%M:%S.%f}").publication_id == (
        lake_run.first_publication
    )
    assert find_publication(lake_run.lake, "2999-01-01").publication_id == second_publication


def test_as_of_names_what_is_wrong(lake_run):
    assert lake_run.code == 0
    code, _, err = write_note(lake_run.env, "--as-of", "20000101T000000000000Z")
    assert code == 1
    assert err.startswith("note: AS_OF=20000101T000000000000Z: no publication has this id; publications in the lake: ")
    code, _, err = write_note(lake_run.env, "--as-of", "2001-01-01")
    assert code == 1 and "no publication had reached the lake by 2001-01-01 00:00:00 UTC (the first, " in err
    code, _, err = write_note(lake_run.env, "--as-of", "last month")
    assert code == 1 and "is neither a publication id" in err
    no_lake = {"WAREHOUSE_DIR": lake_run.env["WAREHOUSE_DIR"]}
    code, _, err = write_note(no_lake, "--as-of", lake_run.first_publication)
    assert code == 1
    assert err == (
        f"note: AS_OF={lake_run.first_publication} needs the team's lake, and none is configured "
        "(WAREHOUSE_LAKE and WAREHOUSE_LAKE_DATA are not set): the published file holds only the current "
        "publication (see docs/lake.md)\n"
    )


def test_a_failed_lake_commit_fails_the_step_loudly_and_a_rerun_publishes_to_both(lake_run, tmp_path):
    """On a copy of the warehouse whose lake catalog is not a DuckLake: the file publication goes
    through, the step fails saying the lake is behind; once the lake is fixed, the rerun publishes
    again (a new id) to the file and the lake, whose log keeps the missed one without a snapshot."""
    assert lake_run.code == 0
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    for path in (lake_run.settings.build_db, lake_run.settings.published_db):
        shutil.copyfile(path, warehouse / path.name)
    broken = tmp_path / "broken.ducklake"
    broken.write_text("not a DuckLake catalog")
    (tmp_path / "data").mkdir()
    env = {
        "WAREHOUSE_DIR": str(warehouse),
        "WAREHOUSE_LAKE": str(broken),
        "WAREHOUSE_LAKE_DATA": str(tmp_path / "data"),
    }
    settings = load_settings(env)
    failed = publish_alone(settings, lake_run.instance)
    assert not failed.success
    lines = run.failure_lines(failed)
    missed = current_publication_id(settings)
    assert len(lines) == 1 and lines[0].startswith(
        f"step published_warehouse failed: LAKE NOT UPDATED: publication {missed} is current in "
        f"{settings.published_db} and the exports, but the commit to the lake ducklake:{broken} failed: "
    )
    assert lines[0].endswith("readers of the lake still have the previous publication. A rerun publishes again, "
                             "to the file and the lake")  # fmt: skip
    assert (warehouse / "exports" / "publication_log.parquet").exists()
    assert run.failed_headline(lines, True) == (
        "RUN FAILED - the lake was not updated; published.duckdb and the exports hold the new publication."
    )
    refused = ["step published_warehouse failed: not published: 84 of 84 blocking checks have not passed"]
    assert run.failed_headline(refused, True) == "RUN FAILED - nothing was published; the published file is unchanged."

    env["WAREHOUSE_LAKE"] = str(tmp_path / "fixed.ducklake")
    settings = load_settings(env)
    assert publish_alone(settings, lake_run.instance).success
    rerun = current_publication_id(settings)
    lake = Lake(settings.lake, settings.lake_data)
    with connect_lake(lake, read_only=True) as conn:
        log = conn.execute(
            "select publication_id, lake_snapshot_id from lake.publication_log where publication_id in (?, ?) "
            "order by published_at",
            [missed, rerun],
        ).fetchall()
    assert log == [(missed, None), (rerun, 1)]
    with pytest.raises(LakeError, match=f"AS_OF={missed}: this publication never reached the lake"):
        find_publication(lake, missed)


def test_a_local_ducklake_file_keeps_every_publication_by_snapshot(tmp_path):
    """The cheap lake: a .ducklake file, publish() on a tiny build, two publications, time travel."""
    (tmp_path / "data").mkdir()
    lake = Lake(str(tmp_path / "lake.ducklake"), str(tmp_path / "data"))
    published = tmp_path / "published.duckdb"
    ids = []
    for number, (months, price) in enumerate([(3, 100.0), (5, 200.0)], start=1):
        publication = publish_as(
            make_build(tmp_path / f"build{number}.duckdb", months, price), published, f"run-{number}"
        )
        commit = commit_publication(
            lake,
            tmp_path / "publications" / publication.publication_id / "published.duckdb",
            publication.publication_id,
        )
        assert (commit.previous_snapshot, commit.snapshot) == (number - 1, number)
        ids.append(publication.publication_id)
    with connect_lake(lake, read_only=True) as conn:
        assert conn.execute("select count(*), max(btc_price_avg_usd) from lake.mart_monthly_note").fetchone() == (
            5,
            200.0,
        )
        old = conn.execute("select count(*), max(btc_price_avg_usd) from lake.mart_monthly_note at (version => 1)")
        assert old.fetchone() == (3, 100.0)
        assert conn.execute("select publication_id, lake_snapshot_id from lake.publication_log").fetchall() == [
            (ids[0], 1),
            (ids[1], 2),
        ]
        assert conn.execute(
            "select comment from duckdb_columns() where database_name = 'lake' and column_name = 'btc_price_avg_usd'"
        ).fetchone() == ("Mean daily price, USD.",)
    with connect_lake(lake, read_only=True, snapshot=1) as conn:
        assert conn.execute("select run_id, lake_snapshot_id from lake.publication_log").fetchall() == [("run-1", 1)]
    assert [find_publication(lake, i).snapshot for i in ids] == [1, 2]
    with duckdb.connect(str(published), read_only=True) as conn:  # the file keeps its own columns
        assert "lake_snapshot_id" not in [c[0] for c in conn.execute("describe publication_log").fetchall()]
        assert conn.execute("select storage_version from publication_log").fetchall() == [(STORAGE_VERSION,)] * 2


def test_a_mart_no_longer_published_leaves_the_lake_too(tmp_path):
    """A mart the previous publication had and this one has not is dropped; a table of the team's
    own in the lake is not the publication's to drop."""
    (tmp_path / "data").mkdir()
    lake = Lake(str(tmp_path / "lake.ducklake"), str(tmp_path / "data"))
    build = make_build(tmp_path / "build.duckdb", 3, 1.0)
    with duckdb.connect(str(build)) as conn:
        conn.execute("create table marts.mart_extra as select 1 as month")
    first = publish_as(build, tmp_path / "published.duckdb", "run-1")
    commit_publication(
        lake, tmp_path / "publications" / first.publication_id / "published.duckdb", first.publication_id
    )
    with connect_lake(lake, read_only=False) as conn:  # a table of the team's own, not a publication's
        conn.execute("create table lake.main.team_notes as select 'keep me' as text")
    second = publish_as(make_build(tmp_path / "b2.duckdb", 3, 1.0), tmp_path / "published.duckdb", "run-2")
    commit = commit_publication(
        lake, tmp_path / "publications" / second.publication_id / "published.duckdb", second.publication_id
    )
    assert commit.tables == ("mart_monthly_note", "publication_log")
    with connect_lake(lake, read_only=True) as conn:
        tables = conn.execute("select table_name from duckdb_tables() where database_name = 'lake' order by 1")
        assert [r[0] for r in tables.fetchall()] == ["mart_monthly_note", "publication_log", "team_notes"]


def test_messages_name_the_lake_without_its_password():
    lake = Lake("postgres:dbname=lake host=db password=secret", "/mnt/lake")
    assert lake.describe() == "ducklake:postgres:dbname=lake host=db password=***"
    assert lake.extensions == ("ducklake", "postgres_scanner")
    assert Lake("/mnt/lake/team.ducklake", "/mnt/lake/data").extensions == ("ducklake",)


DOC = Path(__file__).resolve().parent.parent / "docs" / "lake.md"
DOC_CATALOG = "postgres:dbname=lake host=db.internal user=reader"


def doc_block(heading: str, language: str) -> str:
    """The first ```language block after `heading` in docs/lake.md."""
    text = DOC.read_text()
    return re.search(rf"```{language}\n(.*?)```", text[text.index(heading) :], flags=re.S)[1]


def test_the_docs_cli_lines_read_the_lake(lake_run):
    """The reader's SQL of docs/lake.md, through the pinned duckdb CLI, as a reader types it."""
    assert lake_run.code == 0
    sql = doc_block("### The DuckDB CLI", "sql")
    assert DOC_CATALOG in sql
    site_packages = extension_path("ducklake").parents[3]
    sql = sql.replace("<site-packages>", str(site_packages)).replace(DOC_CATALOG, lake_run.lake.catalog)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "duckdb"), "-csv", "-c", sql], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "month,combined_market_cap_usd,leader_ticker" in done.stdout
    assert f"{lake_run.first_publication}," in done.stdout


def test_the_docs_python_reader_runs_as_written(lake_run):
    assert lake_run.code == 0
    code = doc_block("### Python", "python")
    assert f'CATALOG = "{DOC_CATALOG}"' in code
    code = code.replace(DOC_CATALOG, lake_run.lake.catalog)
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("combined_market_cap_usd") == 2  # the current publication and snapshot 1


def test_the_docs_sqlalchemy_hook_attaches_the_lake(lake_run):
    assert lake_run.code == 0
    setup = (
        f"CATALOG = {lake_run.lake.catalog!r}\n"
        f"EXTENSION_FILES = {[str(extension_path(name)) for name in lake_run.lake.extensions]!r}\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", setup + doc_block("### BI tools", "python")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(lake_run.settings.published_db), read_only=True) as conn:
        assert done.stdout.strip() == str(conn.execute("select count(*) from mart_monthly_note").fetchone()[0])


def test_a_missing_extension_wheel_is_a_lake_error_naming_the_wheel(tmp_path, monkeypatch):
    """The publish step turns a LakeError into LAKE NOT UPDATED: a missing wheel must be one too."""
    from orchestration.core import duckdb_extensions

    (tmp_path / "data").mkdir()
    publication = publish_as(make_build(tmp_path / "build.duckdb", 3, 1.0), tmp_path / "published.duckdb", "run-1")
    monkeypatch.setitem(duckdb_extensions.WHEELS, "ducklake", "duckdb-extension-not-installed")
    lake = Lake(str(tmp_path / "lake.ducklake"), str(tmp_path / "data"))
    with pytest.raises(LakeError) as failed:
        commit_publication(
            lake,
            tmp_path / "publications" / publication.publication_id / "published.duckdb",
            publication.publication_id,
        )
    assert str(failed.value) == (
        f"the commit to the lake ducklake:{tmp_path}/lake.ducklake failed: the DuckDB extension ducklake needs the "
        f"wheel duckdb-extension-not-installed=={duckdb.__version__}, which is not installed (it is in "
        "requirements.txt: reinstall the venv)"
    )
    assert not (tmp_path / "lake.ducklake").exists()
