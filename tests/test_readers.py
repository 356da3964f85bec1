"""Every reader can open what we publish: real older DuckDB clients, each in a process of its own,
read every table's row count and every column comment of a freshly published file; the duckdb CLI
runs the README's examples through `make sql`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parent.parent
VERSIONS = [
    line.strip()
    for line in (REPO / "tests" / "duckdb_reader_versions.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
READERS = Path(sys.prefix) / "duckdb-readers"  # filled by `make test` (the Makefile's reader targets)

# What a reader sees: every table's rows and every column's comment (SQL every 1.x release runs).
TABLES = "select table_name from duckdb_tables() where not internal order by table_name"
COMMENTS = (
    "select table_name, column_name, comment from duckdb_columns() where not internal order by table_name, column_index"
)

# Run with -S (no site-packages): the only duckdb this interpreter can import is the old client's.
READ_EVERYTHING = f"""
import json, sys
sys.path.insert(0, sys.argv[1])
import duckdb
with duckdb.connect(sys.argv[2], read_only=True) as conn:
    tables = [r[0] for r in conn.execute({TABLES!r}).fetchall()]
    print(json.dumps({{
        "version": duckdb.__version__,
        "rows": {{t: conn.execute(f'select count(*) from "{{t}}"').fetchone()[0] for t in tables}},
        "comments": [list(r) for r in conn.execute({COMMENTS!r}).fetchall()],
    }}))
"""


def what_a_reader_sees(conn) -> dict:
    tables = [r[0] for r in conn.execute(TABLES).fetchall()]
    return {
        "rows": {t: conn.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables},
        "comments": [list(r) for r in conn.execute(COMMENTS).fetchall()],
    }


@pytest.fixture(scope="module")
def published(demo_run):
    code, settings, _ = demo_run
    assert code == 0
    with duckdb.connect(str(settings.published_db), read_only=True) as conn:
        expected = what_a_reader_sees(conn)
    return settings, expected


@pytest.mark.parametrize("version", VERSIONS)
def test_an_older_duckdb_reads_every_table_and_comment(published, version):
    settings, expected = published
    client = READERS / version
    assert (client / "duckdb").is_dir(), f"DuckDB {version} is not installed in {client}: run `make test`"
    done = subprocess.run(
        [sys.executable, "-S", "-c", READ_EVERYTHING, str(client), str(settings.published_db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["version"] == version
    assert seen["rows"] == expected["rows"]
    assert set(seen["rows"]) >= {
        "mart_monthly_note",
        "mart_miner_monthly",
        "mart_chain_monthly",
        "mart_valuation_history",
        "publication_log",
    }
    assert seen["comments"] == expected["comments"]
    assert all(comment for _, _, comment in seen["comments"]), "a published column without its definition"


def readme_sql_examples() -> list[str]:
    """The `make sql ...` lines of the README's shell blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    return [
        line.split("  #")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith("make sql Q=")
    ]


def test_the_readme_shows_make_sql():
    assert len(readme_sql_examples()) >= 3


@pytest.mark.parametrize("command", readme_sql_examples())
def test_the_readme_cli_examples_run(published, command):
    """Each README example, as typed, through the Makefile and the pinned duckdb CLI."""
    settings, expected = published
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WAREHOUSE_DIR": str(settings.warehouse_dir)},
    )
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stdout + done.stderr and done.stdout.strip()


def test_make_sql_answers_a_query_typed_at_its_prompt(published):
    settings, expected = published
    done = subprocess.run(
        ["make", "--no-print-directory", "sql"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        input="select count(*) as months from mart_monthly_note;\n",
        env={**os.environ, "WAREHOUSE_DIR": str(settings.warehouse_dir)},
    )
    assert done.returncode == 0, done.stderr
    assert str(expected["rows"]["mart_monthly_note"]) in done.stdout


def test_make_sql_is_read_only(published):
    settings, _ = published
    done = subprocess.run(
        ["make", "--no-print-directory", "sql", "Q=create table t as select 1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WAREHOUSE_DIR": str(settings.warehouse_dir)},
    )
    assert done.returncode != 0 and "read-only" in done.stdout + done.stderr


def test_the_readme_sqlalchemy_url_opens_the_file_read_only(published):
    """What a BI tool on SQLAlchemy (Superset, pandas) does with the README's URL."""

    settings, expected = published
    (template,) = re.findall(
        r"`(duckdb:////absolute/path/warehouse/published\.duckdb\?[^`]*)`", (REPO / "README.md").read_text()
    )
    url = template.replace("/absolute/path/warehouse", str(settings.warehouse_dir))
    done = subprocess.run([sys.executable, "-c", SQLALCHEMY_READER, url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows, refused = done.stdout.split("\n")[:2]
    assert int(rows) == expected["rows"]["mart_monthly_note"]
    assert "read-only" in refused.lower() or "cannot execute" in refused.lower()


# In a process of its own: duckdb-engine keeps one DuckDB instance per file for the process.
SQLALCHEMY_READER = """
import sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
with engine.connect() as conn:
    print(conn.execute(sa.text("select count(*) from mart_monthly_note")).scalar())
    try:
        conn.execute(sa.text("create table t as select 1"))
        print("written")
    except Exception as error:
        print(str(error).splitlines()[0])
"""
