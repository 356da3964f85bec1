"""The hand-written baseline, run in its own process: `python -m bench.baseline BUILD_DB WORK_DB OUT_JSON`.

Copies the scale's build file to WORK_DB, drops every schema dbt built there (only `raw` and the
seed schema `seeds` stay: the baseline has to start from the raw tables), then runs
`bench/baseline.sql` REPEATS times (env BENCH_BASELINE_REPEATS, default 3), each on a fresh
connection and ending with a CHECKPOINT (its five marts are on disk, as dbt's are). Writes the
duration of each repetition as JSON. The fastest one is "the limit".
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

SQL = Path(__file__).with_name("baseline.sql")
KEEP = ("raw", "seeds", "main")


def prepare(build_db: Path, work_db: Path) -> list[str]:
    """Copy the build file and drop the dbt schemas; returns the schemas dropped."""
    shutil.copyfile(build_db, work_db)
    with duckdb.connect(str(work_db)) as conn:
        schemas = [
            row[0]
            for row in conn.execute(
                "select schema_name from duckdb_schemas() where database_name = current_database() "
                "and not internal and schema_name not in ?",
                [list(KEEP)],
            ).fetchall()
        ]
        for schema in schemas:
            conn.execute(f'drop schema "{schema}" cascade')
        conn.execute("checkpoint")
    return schemas


def run_once(work_db: Path, sql: str) -> float:
    with duckdb.connect(str(work_db)) as conn:
        started = time.perf_counter()
        conn.execute(sql)
        conn.execute("checkpoint")
        return time.perf_counter() - started


def main(argv: list[str]) -> int:
    build_db, work_db, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    repeats = int(os.environ.get("BENCH_BASELINE_REPEATS", "3"))
    dropped = prepare(build_db, work_db)
    sql = SQL.read_text()
    seconds = [run_once(work_db, sql) for _ in range(repeats)]
    out.write_text(json.dumps({"seconds": seconds, "best": min(seconds), "dropped_schemas": dropped}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
