"""The warehouse's own resources: its folder (WarehouseResource) and its build file
(BuildDuckDBResource). Each stage's other resources live with the stage (raw: the source; transform:
the dbt CLI); definitions.py assembles them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.core.instance import claim_instance
from orchestration.core.paths import WarehousePaths
from orchestration.core.run_lock import WarehouseBusy, hold_warehouse
from orchestration.core.settings import DEFAULT_KEEP_RUNS


class WarehouseResource(dg.ConfigurableResource):
    """The folder holding build.duckdb, published.duckdb and the rendered notes (WAREHOUSE_DIR), and
    how many runs' dbt folders and GX results it keeps (WAREHOUSE_KEEP_RUNS). A run using it first
    makes sure the Dagster instance is this warehouse's own (claim_instance)."""

    warehouse_dir: str
    keep_runs: int = Field(default=DEFAULT_KEEP_RUNS, ge=1)
    # Members that may publish without a market cap in a month, 'TICKER:YYYY-MM' (WAREHOUSE_ALLOW_MISSING_CAP).
    missing_caps_allowed: list[str] = Field(default_factory=list)

    @property
    def paths(self) -> WarehousePaths:
        return WarehousePaths(Path(self.warehouse_dir))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        claim_instance(context.instance, Path(self.warehouse_dir))


def refuse_newer_storage(path: Path) -> None:
    """A build file this DuckDB cannot open (written by DuckDB 2.x, which this warehouse used before
    it pinned 1.5.5) stops the run before any step with what to do, instead of DuckDB's IO error
    in the first step. The build file holds only what runs rebuild from the source."""
    if not path.exists():
        return
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException as error:
        if "version number" not in str(error):
            raise
        raise dg.Failure(
            description=(
                f"{path} was written by a newer DuckDB than this pipeline's {duckdb.__version__} "
                f"({str(error).splitlines()[0].removeprefix('IO Error: ')}): the warehouse now pins DuckDB "
                f"{duckdb.__version__} so that DuckDB 1.x readers can open what it publishes "
                f"(docs/deployment.md). The build file holds only what runs rebuild: move it aside (mv '{path}' "
                f"'{path}.duckdb2') and run `make run` without MONTHS (a full refresh; a live source replays "
                "its saved responses)"
            )
        ) from None
    except duckdb.Error:
        return  # anything else (the file open in this process, ...) is for the step that opens it to report


class BuildDuckDBResource(DuckDBResource):
    """The build file, WAREHOUSE_DIR/build.duckdb. A run using it holds the warehouse's run lock
    (core/run_lock.py: one run at a time; `make run` holds it already) and first makes sure this
    DuckDB can open the file. Every asset using it also uses WarehouseResource, which claims the
    instance."""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[BuildDuckDBResource]:
        run = context.dagster_run
        what = f"Dagster run of {run.job_name}" if run else "Dagster run"
        with ExitStack() as stack:
            try:
                stack.enter_context(hold_warehouse(Path(self.database).parent, what, context.run_id))
            except WarehouseBusy as busy:
                raise dg.Failure(description=str(busy)) from None
            refuse_newer_storage(Path(self.database))
            yield self
