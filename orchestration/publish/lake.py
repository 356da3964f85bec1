"""Commit a publication to the team's lake (core/lake.py) as one DuckLake snapshot.

Called after the publication's DuckDB file and exports are current (publication.py), from that
file, so the lake holds cell for cell what `published.duckdb` holds: every mart and
`publication_log` are replaced (and a mart the previous publication had and this one has not is
dropped; other tables in the lake are left alone) in one transaction, which DuckLake commits as one snapshot, so a
reader of the lake sees the whole previous publication or the whole new one, never a mix. Earlier
snapshots stay readable (`AT (VERSION => n)`), which is how an earlier note is reproduced.

The lake's `publication_log` is the file's, plus `lake_snapshot_id`: the snapshot each publication
became (carried from the lake's previous log; null for a publication whose lake commit failed).
The snapshot id is written inside the transaction that creates it, so it is the one after the
snapshot the transaction started from; the commit is checked to have become exactly that one (another
writer committing to the same lake at the same moment would shift it: then this commit is reported
as failed, and publishing again fixes it). The snapshot's commit message names the publication.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.core.lake import ALIAS, LOG_TABLE, SNAPSHOT_COLUMN, Lake, LakeError, connect_lake, first_line
from orchestration.publish.exports import sql_text

AUTHOR = "miner-warehouse publish"
# How a failed lake commit starts its message: the run summary tells it from a publication refused.
LAKE_NOT_UPDATED = "LAKE NOT UPDATED"
SNAPSHOT_DEFINITION = (
    "The DuckLake snapshot this publication became in the team's lake (read it with AT (VERSION => n)); "
    "null for a publication whose lake commit failed."
)


@dataclass(frozen=True)
class LakeCommit:
    snapshot: int
    previous_snapshot: int
    tables: tuple[str, ...]


def _tables(conn: duckdb.DuckDBPyConnection, database: str) -> dict[str, str | None]:
    return dict(
        conn.execute(
            "select table_name, comment from duckdb_tables() where database_name = ? and schema_name = 'main'",
            [database],
        ).fetchall()
    )


def _copy_comments(conn: duckdb.DuckDBPyConnection, table: str, comment: str | None) -> None:
    if comment:
        conn.execute(f'comment on table {ALIAS}.main."{table}" is {sql_text(comment)}')
    for column, col_comment in conn.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'pub' and table_name = ? "
        "and comment is not null and comment <> ''",
        [table],
    ).fetchall():
        conn.execute(f'comment on column {ALIAS}.main."{table}"."{column}" is {sql_text(col_comment)}')


def commit_publication(lake: Lake, published_file: Path, publication_id: str) -> LakeCommit:
    """Replace the lake's tables by those of `published_file` (a publication's own file, under
    publications/<id>/, not the readers' link) in one snapshot; LakeError says why it failed."""
    failed = f"the commit to the lake {lake.describe()} failed"
    try:
        conn = connect_lake(lake, read_only=False)
    except LakeError as error:  # the extensions or the attach: DuckDB's own words say which
        raise LakeError(f"{failed}: {first_line(error.__cause__ or error)}") from error
    try:
        with conn:
            return _commit(conn, published_file, publication_id)
    except duckdb.Error as error:
        raise LakeError(f"{failed}: {first_line(error)}") from error


def _commit(conn: duckdb.DuckDBPyConnection, published_file: Path, publication_id: str) -> LakeCommit:
    conn.execute(f"attach {sql_text(str(published_file))} as pub (read_only)")
    published = _tables(conn, "pub")
    if LOG_TABLE not in published:
        raise LakeError(f"{published_file} has no {LOG_TABLE}: not a publication")
    conn.execute("begin")
    previous_snapshot = conn.execute(f"select id from {ALIAS}.current_snapshot()").fetchone()[0]
    snapshot = previous_snapshot + 1  # what this transaction's commit becomes (checked below)
    in_lake = _tables(conn, ALIAS)
    carried: dict[str, int] = {}
    previously: set[str] = set()  # the marts the lake's latest publication put there
    if LOG_TABLE in in_lake:
        carried = dict(
            conn.execute(
                f"select publication_id, {SNAPSHOT_COLUMN} from {ALIAS}.main.{LOG_TABLE} "
                f"where publication_id is not null and {SNAPSHOT_COLUMN} is not null"
            ).fetchall()
        )
        latest = conn.execute(
            f"select row_counts from {ALIAS}.main.{LOG_TABLE} where {SNAPSHOT_COLUMN} is not null "
            "order by published_at desc limit 1"
        ).fetchone()
        previously = set(json.loads(latest[0])) if latest else set()
    carried[publication_id] = snapshot
    # A mart the previous publication had and this one has not goes; tables of the team's own stay.
    for table in sorted((previously & set(in_lake)) - set(published)):
        conn.execute(f'drop table {ALIAS}.main."{table}"')
    for table, comment in sorted(published.items()):
        if table == LOG_TABLE:
            conn.execute(
                f"create or replace table {ALIAS}.main.{LOG_TABLE} as "
                f"select p.*, s.snapshot as {SNAPSHOT_COLUMN} from pub.main.{LOG_TABLE} p "
                "left join (select unnest(?::varchar[]) as publication_id, unnest(?::bigint[]) as snapshot) s "
                "using (publication_id) order by p.published_at",
                [list(carried), list(carried.values())],
            )
            conn.execute(
                f"comment on column {ALIAS}.main.{LOG_TABLE}.{SNAPSHOT_COLUMN} is {sql_text(SNAPSHOT_DEFINITION)}"
            )
        else:
            conn.execute(f'create or replace table {ALIAS}.main."{table}" as select * from pub.main."{table}"')
        _copy_comments(conn, table, comment)
    conn.execute(
        f"call {ALIAS}.set_commit_message(?, ?, extra_info => ?)",
        [AUTHOR, f"publication {publication_id}", json.dumps({"publication_id": publication_id})],
    )
    conn.execute("commit")
    became = conn.execute(
        f"select max(snapshot_id) from {ALIAS}.snapshots() where commit_message = ?", [f"publication {publication_id}"]
    ).fetchone()[0]
    if became != snapshot:
        raise LakeError(
            f"publication {publication_id} became snapshot {became}, not {snapshot} as its {LOG_TABLE} row says: "
            "another writer committed to the lake at the same moment; publish again"
        )
    return LakeCommit(snapshot=snapshot, previous_snapshot=previous_snapshot, tables=tuple(sorted(published)))
