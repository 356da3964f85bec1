"""The team's lake: a DuckLake catalog (PostgreSQL, or a local `.ducklake` file) whose Parquet files
live in a folder every machine mounts (docs/lake.md).

Each passing publication is committed to it as one DuckLake snapshot (publish/lake.py), so every
machine reads the same marts, and earlier publications stay readable by snapshot (DuckLake's time
travel): the note of an earlier month is rendered from the snapshot of the publication it was
first written from. This module attaches the lake (extensions from their wheels only,
core/duckdb_extensions.py) and finds the snapshot of a publication, by its id or by a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from orchestration.core.duckdb_extensions import ExtensionError, connect

ALIAS = "lake"
LOG_TABLE = "publication_log"
SNAPSHOT_COLUMN = "lake_snapshot_id"
# A publication id, as publish/publication.py names its folders: its UTC time to the microsecond.
PUBLICATION_ID = re.compile(r"\d{8}T\d{6}\d{0,6}Z")


class LakeError(RuntimeError):
    """The lake cannot be read or written, or holds no publication asked for: one line says which."""


@dataclass(frozen=True)
class Lake:
    """WAREHOUSE_LAKE (the catalog: 'postgres:<libpq string>' or a .ducklake file's path) and
    WAREHOUSE_LAKE_DATA (the folder of its data files), as core/settings.py checked them."""

    catalog: str
    data_path: str

    @property
    def extensions(self) -> tuple[str, ...]:
        return ("ducklake", "postgres_scanner") if self.catalog.startswith("postgres:") else ("ducklake",)

    def describe(self) -> str:
        """The catalog for messages, a password left out."""
        return "ducklake:" + re.sub(r"(password\s*=\s*)\S+", r"\1***", self.catalog)

    def attach_sql(self, *, read_only: bool, snapshot: int | None = None) -> str:
        options = ["READ_ONLY"] if read_only else [f"DATA_PATH {_text(self.data_path.rstrip('/') + '/')}"]
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        return f"attach {_text('ducklake:' + self.catalog)} as {ALIAS} ({', '.join(options)})"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def connect_lake(lake: Lake, *, read_only: bool, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the lake attached as `lake` (at `snapshot`, when given), its
    extensions loaded from their wheels. The writer creates the catalog on first use; a reader
    needs one that exists."""
    try:
        conn = connect(*lake.extensions)
    except (ExtensionError, duckdb.Error) as error:
        raise LakeError(f"cannot load the lake's extensions: {first_line(error)}") from error
    try:
        conn.execute(lake.attach_sql(read_only=read_only, snapshot=snapshot))
    except duckdb.Error as error:
        conn.close()
        raise LakeError(f"cannot attach the lake {lake.describe()}: {first_line(error)}") from error
    return conn


@dataclass(frozen=True)
class LakePublication:
    publication_id: str
    snapshot: int
    published_at: datetime


def find_publication(lake: Lake, as_of: str) -> LakePublication:
    """The publication `as_of` names: a publication id (publication_log.publication_id), or a time
    (ISO, UTC unless it says otherwise): the publication the lake's readers had at that time, the
    newest committed on or before it. Read from the lake's latest publication_log, which lists every
    publication with the snapshot it became (null for one whose lake commit failed)."""
    with connect_lake(lake, read_only=True) as conn:
        has_log = conn.execute(
            "select count(*) from duckdb_tables() where database_name = ? and table_name = ?", [ALIAS, LOG_TABLE]
        ).fetchone()[0]
        if not has_log:
            raise LakeError(f"the lake {lake.describe()} holds no publication yet")
        rows = conn.execute(
            f"select l.publication_id, l.{SNAPSHOT_COLUMN}, l.published_at, s.snapshot_time "
            f"from {ALIAS}.main.{LOG_TABLE} l left join {ALIAS}.snapshots() s on s.snapshot_id = l.{SNAPSHOT_COLUMN} "
            "order by l.published_at"
        ).fetchall()
    in_lake = [row for row in rows if row[1] is not None]
    ids = [row[0] for row in in_lake]
    known = f"publications in the lake: {', '.join(ids[-5:])}" + (
        f" and {len(ids) - 5} earlier" if len(ids) > 5 else ""
    )
    text = as_of.strip()
    if PUBLICATION_ID.fullmatch(text):
        match = next((row for row in rows if row[0] == text), None)
        if match is None:
            raise LakeError(f"AS_OF={text}: no publication has this id; {known}")
        if match[1] is None:
            raise LakeError(
                f"AS_OF={text}: this publication never reached the lake (its lake commit failed; a later "
                f"publication carried it only in publication_log); {known}"
            )
        return LakePublication(match[0], match[1], match[2])
    moment = parse_time(text)
    before = [row for row in in_lake if row[3] is not None and row[3] <= moment]
    if not before:
        first = f" (the first, {in_lake[0][0]}, at {in_lake[0][3]:%Y-%m-%d %H:%M:%S} UTC)" if in_lake else ""
        raise LakeError(f"AS_OF={text}: no publication had reached the lake by {moment:%Y-%m-%d %H:%M:%S} UTC{first}")
    match = before[-1]
    return LakePublication(match[0], match[1], match[2])


def parse_time(text: str) -> datetime:
    """'2025-07-03', '2025-07-03 09:30', '2025-07-03T09:30:00+02:00' -> an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LakeError(
            f"AS_OF={text!r} is neither a publication id (e.g. 20250703T093000123456Z) nor a time "
            "(e.g. 2025-07-03 09:30, UTC)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
