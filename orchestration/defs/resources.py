"""Resources: the warehouse folder, the build DuckDB file, the dbt CLI, and the selected source."""

from __future__ import annotations

import os
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging.version import Version
from pydantic import Field

from orchestration.defs.dbt_project import DBT_PROJECT
from orchestration.retention import DEFAULT_KEEP_RUNS
from orchestration.settings import Settings
from orchestration.sources import Source, make_source


INSTANCE_OWNER = "warehouse_dir.txt"  # in a persistent instance's folder (DAGSTER_HOME): whose history it is


def claim_instance(instance: dg.DagsterInstance, warehouse_dir: Path) -> None:
    """One Dagster instance per warehouse. The publish gate trusts the check evaluations the
    instance recorded (defs/publish.py), so a DAGSTER_HOME shared by two warehouses (one exported
    in a shell profile, say) would let one warehouse's checks clear the other's build. The first
    run on a persistent instance writes its warehouse's folder there (an instance from before this
    rule belongs to the warehouse it last published); a run of another warehouse is refused before
    any of its steps runs."""
    if not instance.is_persistent:
        return
    marker = Path(instance.root_directory) / INSTANCE_OWNER
    own = str(warehouse_dir.resolve())
    owner = _recorded_owner(marker) or _last_published_to(instance) or own
    if owner == own and not marker.exists():
        owner = _record_owner(marker, own)
    if owner != own:
        raise dg.Failure(
            description=(
                f"the Dagster instance {instance.root_directory} (DAGSTER_HOME) holds the run history of the "
                f"warehouse {owner}, not of {own}: the publish gate trusts the checks recorded there, so one "
                f"instance must not serve two warehouses. Unset DAGSTER_HOME (the Makefile then uses "
                f"$WAREHOUSE_DIR/dagster_home) or give this warehouse a folder of its own; if the warehouse "
                f"has moved from {owner} to {own}, write {own} into {marker}."
            )
        )


def _recorded_owner(marker: Path) -> str | None:
    try:
        text = marker.read_text().strip()
    except FileNotFoundError:
        return None
    return str(Path(text).resolve()) if text else None


def _record_owner(marker: Path, own: str) -> str:
    """Record `own` as the owner unless a run starting at the same moment got there first (a hard
    link appears whole or not at all); the owner."""
    temporary = marker.with_name(f".{marker.name}.{os.getpid()}")
    temporary.write_text(own + "\n")
    try:
        os.link(temporary, marker)
    except FileExistsError:
        return _recorded_owner(marker) or own
    finally:
        temporary.unlink(missing_ok=True)
    return own


def _last_published_to(instance: dg.DagsterInstance) -> str | None:
    """The warehouse an instance from before the marker served: where it last published."""
    event = instance.get_latest_materialization_event(dg.AssetKey("published_warehouse"))
    path = event.asset_materialization.metadata.get("path") if event and event.asset_materialization else None
    return str(Path(path.value).parent.resolve()) if path else None


class WarehouseResource(dg.ConfigurableResource):
    """The folder holding build.duckdb, published.duckdb and the rendered notes (WAREHOUSE_DIR), and
    how many runs' dbt folders and GX results it keeps (WAREHOUSE_KEEP_RUNS). A run using it first
    makes sure the Dagster instance is this warehouse's own (claim_instance)."""

    warehouse_dir: str
    published_db: str
    keep_runs: int = Field(default=DEFAULT_KEEP_RUNS, ge=1)

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
                f"{duckdb.__version__} so that DuckDB 1.x readers can open what it publishes (README, 'DuckDB "
                f"version'). The build file holds only what runs rebuild: move it aside (mv '{path}' "
                f"'{path}.duckdb2') and run `make run` without MONTHS (a full refresh; a live source replays "
                "its saved responses)"
            )
        ) from None
    except duckdb.Error:
        return  # anything else (the file open in this process, ...) is for the step that opens it to report


class BuildDuckDBResource(DuckDBResource):
    """The build file, WAREHOUSE_DIR/build.duckdb. A run using it first makes sure the Dagster
    instance is this warehouse's own (claim_instance) and that this DuckDB can open the file."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        claim_instance(context.instance, Path(self.database).parent)
        refuse_newer_storage(Path(self.database))


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs of every `dbt build` step that this
    project never uses (about 4.5 s together; measured by `make bench`):

    - the dbt version comes from the installed dbt-core package instead of a `dbt --version`
      subprocess (the dbt executable is this venv's, see settings.prepare_environment);
    - no in-process dbt adapter: dagster-dbt builds one (loading the profile and every macro) only
      for `fetch_row_counts()` / `fetch_column_metadata()`, which the dbt asset does not call - it
      reads row counts itself once dbt has exited (dbt_metadata.py). dagster-dbt runs without an
      adapter when creating one fails, so None is a state it handles.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


class SourceResource(dg.ConfigurableResource):
    """The raw-data source named by WAREHOUSE_SOURCE (demo by default)."""

    kind: str = "demo"
    warehouse_dir: str
    csv_dir: str | None = None
    demo_tickers: int | None = None
    demo_years: float | None = None

    def get(self) -> Source:
        return make_source(self.kind, self.warehouse_dir, self.csv_dir, self.demo_tickers, self.demo_years)


def build_resources(settings: Settings) -> dict[str, object]:
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": WarehouseResource(
            warehouse_dir=str(settings.warehouse_dir),
            published_db=str(settings.published_db),
            keep_runs=settings.keep_runs,
        ),
        "duckdb": BuildDuckDBResource(database=str(settings.build_db)),
        "dbt": WarehouseDbtCliResource(project_dir=DBT_PROJECT),
        "source": SourceResource(
            kind=settings.source,
            warehouse_dir=str(settings.warehouse_dir),
            csv_dir=str(settings.csv_dir) if settings.csv_dir else None,
            demo_tickers=settings.demo_tickers,
            demo_years=settings.demo_years,
        ),
    }
