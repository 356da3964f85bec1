"""Atomic publication of the marts, as one set: the readers' DuckDB file and its exports.

Each publication is written whole into a folder of its own, `publications/<id>/` (the DuckDB file
`published.duckdb` and `exports/`), verified, and then made current by one atomic rename: the
symbolic link `publications/current` is replaced by one pointing at the new folder. Readers use two
fixed paths that go through that one link:

    WAREHOUSE_DIR/published.duckdb -> publications/current/published.duckdb
    WAREHOUSE_DIR/exports          -> publications/current/exports

so whatever path a reader opens, the DuckDB file and the exports it finds belong to the same
publication: a crash leaves the previous set or the new one, never a mix, and a reader holding an
old file open keeps its consistent view (the two publications before the current one are kept).

The DuckDB file is written in an explicit storage version, `STORAGE_VERSION` (v1.0.0: DuckDB 1.0
and every later release open it), and `publication_log` records it with the writer's version.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.core.paths import (
    CURRENT,
    EXPORTS,
    PUBLICATIONS,
    PUBLISHED_FILE,
    WarehousePaths,
    is_not_writable,
    not_writable_sentence,
)
from orchestration.publish.exports import WORKBOOK, sql_text, write_exports

MARTS_SCHEMA = "marts"
LOG_TABLE = "publication_log"
# The storage format of the published file: the oldest DuckDB release that must open it. v1.0.0 is
# read by DuckDB 1.0 and every later release (tests/test_readers.py opens it with real 1.x clients).
STORAGE_VERSION = "v1.0.0"
KEEP_PREVIOUS = 2  # publications kept besides the current one, for readers still holding them open
PUBLICATION_FILES = (PUBLISHED_FILE, WORKBOOK)  # besides the Parquet: what a publication folder holds

LOG_COLUMNS = """
    published_at timestamp not null,
    run_id varchar not null,
    source varchar not null,
    is_synthetic boolean not null,
    first_month date,
    last_month date,
    row_counts json not null,
    gate_result varchar not null,
    publication_id varchar,
    storage_version varchar,
    writer_duckdb_version varchar,
    attribution varchar
"""
# What each column of publication_log means, as readers' SQL and BI tools show it (column comments).
LOG_DEFINITIONS = {
    "published_at": "When this publication replaced the previous one (UTC).",
    "run_id": "The Dagster run that built, checked and published it.",
    "source": "Where the raw data came from: demo (SYNTHETIC), csv or live.",
    "is_synthetic": "True when the data is the synthetic demo, not market data.",
    "first_month": "The first month of mart_monthly_note in this publication.",
    "last_month": "The last month of mart_monthly_note in this publication.",
    "row_counts": "Rows of each published mart, as JSON {table: rows}.",
    "gate_result": "The quality gate's verdict on the build: the blocking checks that cleared it and any warnings.",
    "publication_id": "The publication's folder under WAREHOUSE_DIR/publications, also in every export's metadata "
    "(null for publications written before 2026-12).",
    "storage_version": "The DuckDB storage version the published file was written in: the oldest DuckDB release "
    "that opens it (null for publications written before 2026-12).",
    "writer_duckdb_version": "The DuckDB release that wrote the published file (null before 2026-12).",
    "attribution": "The credit and terms of use the data comes with (e.g. Coin Metrics community data: CC BY-NC "
    "4.0, non-commercial), to be repeated wherever the numbers are shown (null before 2026-12).",
}


class PublishError(RuntimeError):
    pass


ALLOW_SHRINK = "WAREHOUSE_ALLOW_SHRINK"


class ShrinkRefused(PublishError):
    """The new publication would drop months or members readers already have (a source with less
    history than the last publication, e.g. a truncated export): refused unless ALLOW_SHRINK is set."""


# What a full disk looks like from below: the OS's errno, DuckDB's and SQLite's words for it. SQLite
# says only "disk I/O error", which counts when the folder's file system is indeed (nearly) full.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
NO_SPACE_WORDS = ("No space left on device", "database or disk is full", "Disk quota exceeded")
NEARLY_FULL = 100e6  # bytes free


def is_no_space(error: BaseException, folder: Path | None = None) -> bool:
    """Whether `error`, or an error it was raised from, says the disk (of `folder`) is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
            return True
        if any(word in str(error) for word in NO_SPACE_WORDS):
            return True
        if "disk I/O error" in str(error) and folder is not None and _free(folder) < NEARLY_FULL:
            return True
        error = error.__cause__ or error.__context__
    return False


def _free(folder: Path) -> float:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return float("inf")


def no_space_sentence(folder: Path) -> str:
    free = _free(folder)
    return f"no space left on {folder}" + (f" ({free / 1e6:,.0f} MB free)" if free != float("inf") else "")


def _remove_temporaries(paths: WarehousePaths) -> None:
    """What an unfinished publish leaves: its folder under a temporary name (with the DuckDB file's
    write-ahead log), a link not yet renamed into place. Safe because one publisher at a time
    holds the warehouse (core/run_lock.py)."""
    for stale in paths.publications.glob(".*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    for link in (paths.publications / CURRENT, paths.published_db, paths.exports):
        for temporary in link.parent.glob(f".{link.name}.*.link"):  # see _link
            temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class Publication:
    path: Path
    published_at: datetime
    row_counts: dict[str, int]
    first_month: str | None
    last_month: str | None
    previous_first_month: str | None = None  # of the publication this one replaced, if any
    previous_last_month: str | None = None
    publication_id: str | None = None
    exports: tuple[Path, ...] = ()
    notices: tuple[str, ...] = field(default=())  # what a reader of the run must know (e.g. a log not carried)
    lost_members: str | None = None  # members of the previous latest complete month this one lacks (lost_members)

    def lost_months(self) -> str | None:
        """Readers had months this publication no longer has (a full refresh from a source with a
        shorter history, e.g. a truncated CSV export): which, or None."""
        return lost_months(self.previous_first_month, self.previous_last_month, self.first_month, self.last_month)


def _shift(month: str, by: int) -> str:
    year, number = divmod(int(month[:4]) * 12 + int(month[5:7]) - 1 + by, 12)
    return f"{year:04d}-{number + 1:02d}"


def lost_months(previous_first: str | None, previous_last: str | None, first: str | None, last: str | None):
    """The months from previous_first .. previous_last that first .. last no longer covers, as
    'YYYY-MM .. YYYY-MM' ranges joined by '; ', or None."""
    lost = []
    if previous_first and first and first > previous_first:
        lost.append(f"{previous_first[:7]} .. {_shift(first, -1)}")
    if previous_last and last and last < previous_last:
        lost.append(f"{_shift(last, 1)} .. {previous_last[:7]}")
    return "; ".join(lost) or None


MEMBERS_TABLE = "mart_miner_monthly"


def lost_members(conn: duckdb.DuckDBPyConnection, publications: Path) -> str | None:
    """Members of the current publication's latest complete month that the new publication (`pub`)
    has no row for in that same month, as 'MARA, RIOT in 2024-06', or None. Read from the current
    publication's Parquet export (no lock on its DuckDB file); None when either side lacks the table
    or the new publication lacks that month (the lost month says it)."""
    previous = publications / CURRENT / EXPORTS / f"{MEMBERS_TABLE}.parquet"
    has_table = conn.execute(
        "select count(*) from duckdb_tables() where database_name = 'pub' and table_name = ?", [MEMBERS_TABLE]
    ).fetchone()[0]
    if not previous.exists() or not has_table:
        return None
    try:
        month, missing = conn.execute(
            f"""
            with old as (select * from read_parquet({sql_text(str(previous))})),
            latest as (select max(month) as month from old where is_member and not is_partial_month)
            select any_value(latest.month), string_agg(distinct old.ticker, ', ' order by old.ticker)
            from old join latest using (month)
            where old.is_member
              and exists (select 1 from pub.main.{MEMBERS_TABLE} n where n.month = latest.month)
              and not exists (
                select 1 from pub.main.{MEMBERS_TABLE} n
                where n.month = latest.month and n.ticker = old.ticker
              )
            """
        ).fetchone()
    except duckdb.Error:  # an older layout without these columns: nothing to compare
        return None
    return f"{missing} in {str(month)[:7]}" if missing else None


def shrink_sentence(months: str | None, members: str | None, previous_first: str | None, previous_last: str | None):
    """The one line that refuses a publication dropping what readers have, naming what and the way on."""
    dropped = []
    if months:
        covered = (
            f" (readers have {previous_first[:7]} .. {previous_last[:7]})" if previous_first and previous_last else ""
        )
        dropped.append(f"the months {months}{covered}")
    if members:
        dropped.append(f"the members {members}")
    return (
        f"not published: readers would lose {' and '.join(dropped)}, which the current publication has; "
        "a source with less history than the last publication, e.g. a truncated export? Readers keep the "
        f"current publication. To publish the shorter history anyway: {ALLOW_SHRINK}=1"
    )


def _mart_tables(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    return conn.execute(
        "select table_name, comment from duckdb_tables() where database_name = 'build' "
        "and schema_name = ? order by table_name",
        [MARTS_SCHEMA],
    ).fetchall()


def _copy_table(conn: duckdb.DuckDBPyConnection, table: str, comment: str | None) -> int:
    # Ordered by its columns from the left (every mart starts with month, then its other key), so a
    # reader's `select *`, the Parquet and the workbook list months in order.
    conn.execute(f'create table pub.main."{table}" as select * from build.{MARTS_SCHEMA}."{table}" order by all')
    if comment:
        conn.execute(f'comment on table pub.main."{table}" is {sql_text(comment)}')
    for column, col_comment in conn.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'build' "
        "and schema_name = ? and table_name = ? and comment is not null and comment <> ''",
        [MARTS_SCHEMA, table],
    ).fetchall():
        conn.execute(f'comment on column pub.main."{table}"."{column}" is {sql_text(col_comment)}')
    return conn.execute(f'select count(*) from pub.main."{table}"').fetchone()[0]


def _create_log(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"create table pub.main.{LOG_TABLE} ({LOG_COLUMNS})")
    conn.execute(
        f"comment on table pub.main.{LOG_TABLE} is 'One row per publication: when, which run and source, "
        "months covered, row counts per table, the quality gate''s result and the file''s storage version. "
        "Newest = as of when.'"
    )
    for column, definition in LOG_DEFINITIONS.items():
        conn.execute(f"comment on column pub.main.{LOG_TABLE}.{column} is {sql_text(definition)}")


def _carry_log(conn: duckdb.DuckDBPyConnection, publications: Path, published_db: Path):
    """Copy the previous publication's log (by column name: logs from before a column was added
    carry null there). Returns the months its latest publication covered, and a notice when there
    was a previous file this DuckDB cannot read.

    The log is read from the current publication's `publication_log.parquet`, not from its DuckDB
    file: a reader may hold that file open read-write (DuckDB's default in many clients), and then
    no other process can open it at all; a Parquet file needs no lock. Only a published file from
    before the publication folders (a regular file) is attached, once."""
    manifest = publications / CURRENT / EXPORTS / f"{LOG_TABLE}.parquet"
    if manifest.exists():
        conn.execute(f"insert into pub.main.{LOG_TABLE} by name select * from read_parquet({sql_text(str(manifest))})")
        return (*_latest_months(conn), None)
    if not published_db.exists():
        return None, None, None
    try:
        conn.execute(f"attach {sql_text(str(published_db))} as previous (read_only)")
    except duckdb.Error as error:
        return (
            None,
            None,
            (
                f"the previous published file could not be read by DuckDB {duckdb.__version__}, so its "
                f"publication_log was not carried over ({str(error).splitlines()[0]})"
            ),
        )
    try:
        has_log = conn.execute(
            "select count(*) from duckdb_tables() where database_name = 'previous' and table_name = ?",
            [LOG_TABLE],
        ).fetchone()[0]
        if has_log:
            conn.execute(f"insert into pub.main.{LOG_TABLE} by name select * from previous.main.{LOG_TABLE}")
        return (*_latest_months(conn), None)
    finally:
        conn.execute("detach previous")


def _latest_months(conn: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
    covered = conn.execute(
        f"select first_month, last_month from pub.main.{LOG_TABLE} order by published_at desc limit 1"
    ).fetchone()
    if covered is None:
        return None, None
    return (str(covered[0]) if covered[0] else None, str(covered[1]) if covered[1] else None)


def _verify(folder: Path, expected: dict[str, int]) -> None:
    """Open the new file as a reader would and count every table, the exports' Parquet too."""
    with duckdb.connect(str(folder / PUBLISHED_FILE), read_only=True) as conn:
        for table, count in expected.items():
            got = conn.execute(f'select count(*) from main."{table}"').fetchone()[0]
            if got != count:
                raise PublishError(f"verification failed: {table} has {got} rows, expected {count}")
            parquet = folder / EXPORTS / f"{table}.parquet"
            got = conn.execute(f"select count(*) from read_parquet({sql_text(str(parquet))})").fetchone()[0]
            if got != count:
                raise PublishError(f"verification failed: {parquet.name} has {got} rows, expected {count}")


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _fsync_tree(folder: Path) -> None:
    """Every file and folder under `folder`, deepest first, then `folder` itself."""
    for path in [*sorted(folder.rglob("*"), reverse=True), folder]:
        _fsync(path)


def _link(link: Path, target: str, publications: Path) -> None:
    """Make `link` a symbolic link to `target` with one atomic rename (replacing what was there).

    A copy of the warehouse made by a tool that follows links (`cp -r`, a backup restored) holds
    real folders where the links were, each a copy of a publication: such a folder is moved aside
    and removed once the link is in place. A folder holding anything else is left alone."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    aside = None
    if link.is_dir() and not link.is_symlink():
        if any(p.is_file() and p.suffix != ".parquet" and p.name not in PUBLICATION_FILES for p in link.rglob("*")):
            raise PublishError(
                f"{link} is a folder with files of its own, where the link to the current "
                "publication belongs: move it away and publish again"
            )
        aside = publications / f".{link.name}-copy.{os.getpid()}.tmp"
        os.rename(link, aside)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _keep_legacy_file(published_db: Path, publications: Path) -> Path | None:
    """A published file from before the publication folders (a regular file, not a link) is kept
    under publications/ before the link replaces it: nothing published is lost."""
    if not published_db.exists() or published_db.is_symlink():
        return None
    stamp = datetime.fromtimestamp(published_db.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = publications / f"legacy-{stamp}-published.duckdb"
    if not kept.exists():
        os.link(published_db, kept)
    return kept


def _prune(publications: Path, current: str) -> None:
    """Keep the current publication and the KEEP_PREVIOUS before it; older folders go (a reader
    still holding a file of theirs open keeps reading it: POSIX frees it on close)."""
    folders = sorted(
        (p for p in publications.iterdir() if p.is_dir() and not p.is_symlink() and p.name[:1].isdigit()),
        key=lambda p: p.name,
    )
    older = [p for p in folders if p.name < current]
    for folder in older[: max(len(older) - KEEP_PREVIOUS, 0)]:
        shutil.rmtree(folder, ignore_errors=True)


def publish(
    build_db: Path,
    published_db: Path,
    *,
    run_id: str,
    source: str,
    is_synthetic: bool,
    gate_result: str,
    attribution: str | None = None,
    allow_shrink: bool = False,
    before_rename=None,
) -> Publication:
    """Copy every table of the build file's marts schema into a new publication (the DuckDB file
    and its exports), verify it, and make it current atomically. `published_db` is the readers'
    path (WAREHOUSE_DIR/published.duckdb); the publication folders and `exports` live beside it.

    A publication that would drop months or members the current one has is refused (ShrinkRefused,
    nothing changes) unless `allow_shrink` (WAREHOUSE_ALLOW_SHRINK=1).

    `before_rename` is called with the verified new folder (still under its temporary name) just
    before it is made current (tests use it to simulate a crash at the worst moment).
    """
    paths = WarehousePaths(published_db.parent)
    publications = paths.publications
    publications.mkdir(parents=True, exist_ok=True)
    _remove_temporaries(paths)  # left by a publish that was killed
    published_at = datetime.now(UTC).replace(tzinfo=None)
    publication_id = f"{published_at:%Y%m%dT%H%M%S%fZ}"
    folder = publications / publication_id
    tmp = publications / f".{publication_id}.{os.getpid()}.tmp"
    try:
        tmp.mkdir()
    except OSError as error:
        if is_not_writable(error):
            kept = "nothing was written, readers keep the current publication"
            raise PublishError(f"{not_writable_sentence(publications, error)}; {kept}") from error
        raise
    try:
        with duckdb.connect() as conn:
            conn.execute(f"attach {sql_text(str(tmp / PUBLISHED_FILE))} as pub (storage_version '{STORAGE_VERSION}')")
            conn.execute(f"attach {sql_text(str(build_db))} as build (read_only)")
            tables = _mart_tables(conn)
            if not tables:
                raise PublishError(f"nothing to publish: {build_db} has no tables in schema {MARTS_SCHEMA}")
            counts = {name: _copy_table(conn, name, comment) for name, comment in tables}
            first_month, last_month = conn.execute(
                "select min(month), max(month) from pub.main.mart_monthly_note"
            ).fetchone()
            conn.execute("detach build")
            _create_log(conn)
            previous_first, previous_last, notice = _carry_log(conn, publications, published_db)
            months_lost = lost_months(
                previous_first,
                previous_last,
                str(first_month) if first_month else None,
                str(last_month) if last_month else None,
            )
            members_lost = lost_members(conn, publications)
            if (months_lost or members_lost) and not allow_shrink:
                raise ShrinkRefused(shrink_sentence(months_lost, members_lost, previous_first, previous_last))
            conn.execute(
                f"insert into pub.main.{LOG_TABLE} by name select ? as published_at, ? as run_id, ? as source, "
                "? as is_synthetic, ? as first_month, ? as last_month, ? as row_counts, ? as gate_result, "
                "? as publication_id, ? as storage_version, ? as writer_duckdb_version, ? as attribution",
                [
                    published_at,
                    run_id,
                    source,
                    is_synthetic,
                    first_month,
                    last_month,
                    json.dumps(counts, sort_keys=True),
                    gate_result,
                    publication_id,
                    STORAGE_VERSION,
                    duckdb.__version__,
                    attribution,
                ],
            )
            conn.execute("checkpoint pub")
            log_rows = conn.execute(f"select count(*) from pub.main.{LOG_TABLE}").fetchone()[0]
            exports, export_notices = write_exports(conn, "pub", tmp / EXPORTS, publication_id)
            conn.execute("detach pub")
        _verify(tmp, {**counts, LOG_TABLE: log_rows})
        _fsync_tree(tmp)
        if before_rename is not None:
            before_rename(tmp)
        os.rename(tmp, folder)
        legacy = _keep_legacy_file(published_db, publications) if notice else None
        # The readers' two paths are fixed links through `current` (made once; first, so that anything
        # in their way stops the publication before it switches), then the one switch: file and exports.
        _link(published_db, f"{PUBLICATIONS}/{CURRENT}/{PUBLISHED_FILE}", publications)
        _link(paths.exports, f"{PUBLICATIONS}/{CURRENT}/{EXPORTS}", publications)
        _link(publications / CURRENT, publication_id, publications)
        _fsync(paths.publications)
        _fsync(paths.root)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        switched = (publications / CURRENT).is_symlink() and os.readlink(publications / CURRENT) == publication_id
        if not switched:
            shutil.rmtree(folder, ignore_errors=True)
        _remove_temporaries(paths)
        if not switched and isinstance(error, Exception) and is_no_space(error, publications):
            raise PublishError(
                f"{no_space_sentence(publications)}: the new publication was not written and its temporary "
                "files are removed, readers keep the current one; free some space and run again "
                f"({str(error).splitlines()[0] if str(error) else type(error).__name__})"
            ) from error
        raise
    _prune(publications, publication_id)
    notices = [f"{notice}; it is kept as {legacy}"] if legacy else [notice] if notice else []
    notices += export_notices
    return Publication(
        path=published_db,
        published_at=published_at,
        row_counts=counts,
        first_month=str(first_month) if first_month else None,
        last_month=str(last_month) if last_month else None,
        previous_first_month=previous_first,
        previous_last_month=previous_last,
        publication_id=publication_id,
        exports=tuple(paths.exports / path.name for path in exports),
        notices=tuple(notices),
        lost_members=members_lost,
    )
