"""Where things are: the repository's own folders (found once, from this file) and the warehouse
files readers are pointed at.

The warehouse's documentation for readers is in WAREHOUSE_DIR/docs (`make docs`): two pages, both
opening offline from the folder alone: `index.html`, dbt's docs site (every model, column
definition, test and the lineage graph) of the current build, and `quality.html`, the quality
gate's latest Great Expectations results per suite. The quality page is also rewritten by every
gate, so it is current whether or not `make docs` ran since.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MINER_UNIVERSE_SEED = REPO_ROOT / "seeds" / "miner_universe.csv"

# Names inside the warehouse folder that readers, tools or dbt are told about. dbt_project/profiles.yml
# appends BUILD_FILE to WAREHOUSE_DIR itself (tests/test_paths.py holds the two together).
BUILD_FILE = "build.duckdb"
PUBLISHED_FILE = "published.duckdb"
PUBLICATIONS = "publications"  # one folder per publication and the link `current`
CURRENT = "current"
EXPORTS = "exports"
DBT_PAGE = "index.html"
QUALITY_PAGE = "quality.html"


@dataclass(frozen=True)
class WarehousePaths:
    """Every path of one warehouse folder (WAREHOUSE_DIR), derived here and nowhere else. Built from
    the settings (`Settings.paths`) or a resource's folder (`WarehouseResource.paths`)."""

    root: Path

    # what runs write
    @property
    def build_db(self) -> Path:
        """The file every run writes (raw schema + dbt models)."""
        return self.root / BUILD_FILE

    @property
    def dbt_runs(self) -> Path:
        """One folder per dbt invocation: its manifest, compiled SQL, run results and log."""
        return self.root / "dbt_runs"

    @property
    def dbt_parse_state(self) -> Path:
        """dbt's partial-parse file, kept between invocations."""
        return self.root / ".dbt_partial_parse.msgpack"

    @property
    def gx_uncommitted(self) -> Path:
        """Great Expectations' results and Data Docs (its project lives in root/gx)."""
        return self.root / "gx" / "uncommitted"

    @property
    def gx_site(self) -> Path:
        return self.gx_uncommitted / "data_docs" / "local_site"

    @property
    def raw_responses(self) -> Path:
        """`live` only: every API response, replayed on reruns."""
        return self.root / "raw_responses"

    @property
    def logs(self) -> Path:
        """`make run`'s log files."""
        return self.root / "logs"

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance the Makefile gives this warehouse unless DAGSTER_HOME is set."""
        return self.root / "dagster_home"

    # what readers get
    @property
    def published_db(self) -> Path:
        """The file readers open read-only: a link into publications/current."""
        return self.root / PUBLISHED_FILE

    @property
    def exports(self) -> Path:
        """The current publication's exports: a link into publications/current."""
        return self.root / EXPORTS

    @property
    def publications(self) -> Path:
        return self.root / PUBLICATIONS

    @property
    def notes(self) -> Path:
        return self.root / "notes"

    @property
    def docs(self) -> Path:
        """`make docs`: dbt's site and the quality page."""
        return self.root / "docs"

    @property
    def dbt_docs_page(self) -> Path:
        return self.docs / DBT_PAGE

    @property
    def quality_page(self) -> Path:
        return self.docs / QUALITY_PAGE

    def dbt_env(self) -> dict[str, str]:
        """What dbt is told of the warehouse (profiles.yml reads it): its folder."""
        return {"WAREHOUSE_DIR": str(self.root)}


# What a folder that cannot be written looks like from below: permissions, an immutable folder
# (chattr +i: EPERM even for root), a read-only mount.
NOT_WRITABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def is_not_writable(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in NOT_WRITABLE_ERRNOS


def not_writable_sentence(folder: Path, error: OSError) -> str:
    """One sentence for a folder the pipeline cannot write into, saying what to do."""
    why = "a read-only file system" if error.errno == errno.EROFS else (error.strerror or str(error)).lower()
    return (
        f"cannot write to {folder} ({why}): make it writable (chmod u+w; chattr -i if it is immutable; "
        "remount a read-only disk) or set WAREHOUSE_DIR to a folder you can write to"
    )


def write_problem(folder: Path) -> str | None:
    """Why `folder` (created if missing) cannot take a new file, or None: checked before a run
    starts, so a read-only warehouse is one sentence, not a traceback from whichever step first
    writes (the run lock, Dagster's SQLite, DuckDB)."""
    probe = folder / f".write-test.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as error:
        if is_not_writable(error):
            return not_writable_sentence(folder, error)
        raise
    return None
