"""The warehouse's own resources: its folder (WarehouseResource) and its build file
(BuildDuckDBResource). Each stage's other resources live with the stage (raw: the source; transform:
the dbt CLI); definitions.py assembles them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.core.build_file import BROKEN, LOCKED, BuildFileProblem, inspect_build_file
from orchestration.core.instance import claim_instance
from orchestration.core.lake import Lake
from orchestration.core.paths import WarehousePaths
from orchestration.core.run_lock import WarehouseBusy, hold_warehouse
from orchestration.core.settings import DEFAULT_KEEP_RUNS, WAREHOUSE_POOL
from orchestration.core.writer import LAUNCHED_RUN_WAIT, WriterBusy, hold_writer_slot


class WarehouseResource(dg.ConfigurableResource):
    """The folder holding build.duckdb, published.duckdb and the rendered notes (WAREHOUSE_DIR), and
    how many runs' dbt folders and GX results it keeps (WAREHOUSE_KEEP_RUNS). A run using it first
    makes sure the Dagster instance is this warehouse's own (claim_instance), then, on an instance
    in PostgreSQL and in a run that writes, holds the warehouse's writer slot while it runs
    (core/writer.py: one writer across machines; refused at once, naming the holder, when another
    run has it)."""

    warehouse_dir: str
    keep_runs: int = Field(default=DEFAULT_KEEP_RUNS, ge=1)
    # Members that may publish without a market cap in a month, 'TICKER:YYYY-MM' (WAREHOUSE_ALLOW_MISSING_CAP).
    missing_caps_allowed: list[str] = Field(default_factory=list)
    # Publish even when readers would lose months or members they have (WAREHOUSE_ALLOW_SHRINK=1).
    allow_shrink: bool = False
    # The team's lake (WAREHOUSE_LAKE, WAREHOUSE_LAKE_DATA; core/lake.py): both or neither.
    lake: str | None = None
    lake_data: str | None = None

    @property
    def paths(self) -> WarehousePaths:
        return WarehousePaths(Path(self.warehouse_dir))

    @property
    def lake_config(self) -> Lake | None:
        return Lake(self.lake, self.lake_data) if self.lake and self.lake_data else None

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        claim_instance(context.instance, Path(self.warehouse_dir))
        run = context.dagster_run
        with ExitStack() as stack:
            # The runs that write (a step in the warehouse pool, as the run queue counts them); not a
            # note run, which only reads the publication.
            if run is not None and run.run_op_concurrency and WAREHOUSE_POOL in run.run_op_concurrency.all_pools:
                hold_launched_run_slot(context, stack)
            yield self


def hold_launched_run_slot(context: dg.InitResourceContext, stack: ExitStack) -> None:
    """The writer slot for a run Dagster started (core/writer.py; a no-op on an instance on files,
    and within `make run`, which holds it already). The run queue dequeues a run only when no other
    run of the pool is in progress, but a `make run` keeps the slot a few seconds past its build run
    (its note run) and may start at the moment of a dequeue: so wait a little (LAUNCHED_RUN_WAIT),
    saying for whom in the run's log, then fail before any step, naming the holder."""
    run = context.dagster_run
    try:
        stack.enter_context(
            hold_writer_slot(
                context.instance, f"Dagster run of {run.job_name}", run.run_id, LAUNCHED_RUN_WAIT, context.log.info
            )
        )
    except WriterBusy as busy:
        raise dg.Failure(description=str(busy)) from None


def refuse_unusable_build_file(path: Path) -> None:
    """Stop a run before any step, in one sentence, when the build file cannot be used
    (core/build_file.py): held open by another program, not a DuckDB file, or written by DuckDB 2.x
    (which this warehouse used before it pinned 1.5.5). `make run` has checked the first two already
    (and moved a broken file aside for a full refresh); a run launched from the UI or a schedule
    learns them here. The build file holds only what runs rebuild from the source."""
    problem = inspect_build_file(path)
    if problem is None:
        return
    if problem.kind == LOCKED:
        raise dg.Failure(description=problem.locked_sentence())
    if problem.kind == BROKEN:
        raise dg.Failure(
            description=(
                f"{problem.broken_sentence()}; the build holds only what runs rebuild from the source: run "
                "`make run` without MONTHS, which moves it aside (kept) and rebuilds every month"
            )
        )
    raise dg.Failure(
        description=(
            f"{path} was written by a newer DuckDB than this pipeline's {duckdb.__version__} "
            f"({problem.detail}): the warehouse now pins DuckDB "
            f"{duckdb.__version__} so that DuckDB 1.x readers can open what it publishes "
            f"(docs/deployment.md). The build file holds only what runs rebuild: move it aside (mv '{path}' "
            f"'{path}.duckdb2') and run `make run` without MONTHS (a full refresh; a live source replays "
            "its saved responses)"
        )
    )


# Opening the build file read-write: a few quick tries (a process that just closed it), then the
# reason. Not dagster-duckdb's ten exponential retries, ~100 s of silence per step on a held lock.
CONNECT_RETRY_DELAYS = (0.2, 0.5, 1.0)


def connect_build_file(database: str, config: dict) -> duckdb.DuckDBPyConnection:
    for delay in (*CONNECT_RETRY_DELAYS, None):
        try:
            return duckdb.connect(database, read_only=False, config=config)
        except (RuntimeError, duckdb.IOException) as error:
            if delay is None:
                detail = str(error).splitlines()[0].removeprefix("IO Error: ")
                if "Could not set lock" in detail:
                    problem = inspect_build_file(Path(database)) or BuildFileProblem(LOCKED, Path(database), detail)
                    raise dg.Failure(description=problem.locked_sentence()) from error
                raise
            time.sleep(delay)
    raise AssertionError("unreachable")


class BuildDuckDBResource(DuckDBResource):
    """The build file, WAREHOUSE_DIR/build.duckdb. A run using it holds the warehouse's run lock
    (core/run_lock.py: one run at a time; `make run` holds it already) and first makes sure the file
    can be used (refuse_unusable_build_file). Every asset using it also uses WarehouseResource,
    which claims the instance."""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[BuildDuckDBResource]:
        run = context.dagster_run
        what = f"Dagster run of {run.job_name}" if run else "Dagster run"
        with ExitStack() as stack:
            if run is not None:  # across machines first (waits a little), then this machine's lock
                hold_launched_run_slot(context, stack)
            try:
                stack.enter_context(hold_warehouse(Path(self.database).parent, what, context.run_id))
            except WarehouseBusy as busy:
                raise dg.Failure(description=str(busy)) from None
            refuse_unusable_build_file(Path(self.database))
            yield self

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = connect_build_file(self.database, {"custom_user_agent": "dagster", **self.connection_config})
        try:
            yield conn
        finally:
            conn.close()
