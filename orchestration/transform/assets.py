"""Every dbt seed, model and test as Dagster assets and checks, grouped by the folder they live in."""

import io
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from orchestration.core.paths import WarehousePaths
from orchestration.core.resources import WarehouseResource
from orchestration.core.retention import prune_run_folders
from orchestration.core.settings import WAREHOUSE_POOL
from orchestration.transform.metadata import with_relation_metadata
from orchestration.transform.project import dbt_project

LAYERS = ("staging", "intermediate", "facts", "marts")
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's name, in its target folder


def group_for(fqn: list[str], resource_type: str) -> str:
    """models/<layer>/... -> <layer>; seeds are reference inputs, grouped with raw data.

    A model anywhere else is an error, not a guess: the marts group is what the publish asset
    depends on and publishes, so a stray model must never land in it silently."""
    if resource_type == "seed":
        return "raw"
    if len(fqn) > 2 and fqn[1] in LAYERS:
        return fqn[1]
    raise ValueError(
        f"dbt {resource_type} {'.'.join(fqn)} is outside the layer folders models/{{{','.join(LAYERS)}}}/: "
        "move it into the layer it belongs to"
    )


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        return group_for(dbt_resource_props["fqn"], dbt_resource_props["resource_type"])


TRANSLATOR = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_build_args(missing_caps_allowed: Sequence[str] = ()) -> list[str]:
    """The pipeline's dbt command: seeds, models, data tests and contracts, without the unit tests.

    Unit tests check the SQL against fixed hand-made inputs, so their result changes only when the
    code does: they run where code changes are checked (`make test`, hence CI, runs every one of
    them on the demo build), as dbt recommends for production, instead of costing every build
    ~5 s for 24 nodes that no new data can fail. Data tests and contracts, which the data can
    fail, stay in the build and gate publication.

    `missing_caps_allowed` ('TICKER:YYYY-MM') goes to the test members_have_a_market_cap as a var;
    without any the command carries no --vars, so dbt's parse cache stays valid."""
    args = ["build", "--exclude-resource-type", "unit_test"]
    if missing_caps_allowed:
        args += ["--vars", json.dumps({"missing_caps_allowed": list(missing_caps_allowed)})]
    return args


@contextmanager
def environment(**values: str):
    """Set variables for a subprocess started inside the block, then put the old values back.

    profiles.yml reads the build file's folder from WAREHOUSE_DIR; dbt must see the folder of this
    run's resources, and nothing else in the process may see it changed afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,  # one writer at a time across machines (core/writer.py)
)
def warehouse_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource, warehouse: WarehouseResource
):
    """`dbt build` (see dbt_build_args): seeds, models and data tests in DAG order; a failed test
    stops its downstream models, and with them the publish asset. Events are held until dbt exits so that
    row counts can be read from the (single-writer) build file."""
    paths = warehouse.paths
    cache = paths.dbt_parse_state
    target_path = dbt_run_folder(paths, context.op_execution_context.op.name, context.run.run_id)
    if cache.exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, target_path / PARTIAL_PARSE)
    # No colour codes: dbt's lines go to the run's log (and its log file), not to a terminal.
    with environment(**paths.dbt_env(), DBT_USE_COLORS="False", DBT_USE_COLORS_FILE="False"):
        invocation = dbt.cli(dbt_build_args(warehouse.missing_caps_allowed), context=context, target_path=target_path)
    events = []
    try:
        with redirect_stdout(DbtOutputToLog(context.log)):
            events.extend(invocation.stream())
    finally:
        keep_parse_state(target_path, cache)
        prune_run_folders(target_path.parent, warehouse.keep_runs, current=target_path)
        yield from with_relation_metadata(events, invocation.manifest, paths.build_db)


class DbtOutputToLog(io.TextIOBase):
    """dagster-dbt prints dbt's output lines on stdout, where neither the run's event log (the UI)
    nor `make run`'s loggers see them. Written here, each line becomes a message of the step
    (`context.log.info`), marked as dbt's output so a terminal can print it as dbt did."""

    def __init__(self, log) -> None:
        self.log = log
        self.partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            if line.strip():
                self.log.info(line.rstrip(), extra={"dbt_output": True})
        return len(text)

    def flush(self) -> None:
        pass


def dbt_run_folder(paths: WarehousePaths, op_name: str, run_id: str) -> Path:
    """Where one dbt invocation writes its manifest, compiled SQL, run_results.json and dbt.log: a
    folder of its own (named as dagster-dbt names them) under WAREHOUSE_DIR/dbt_runs, beside the
    build it describes and pruned to the newest WAREHOUSE_KEEP_RUNS (retention.py)."""
    return paths.dbt_runs / f"{op_name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"


def keep_parse_state(target_path: Path, cache: Path) -> None:
    """Keep dbt's parse state (partial_parse.msgpack) of this warehouse beside its build file.

    dbt parses the whole project again (seconds) when its saved state was written with another
    profile, and the profile holds the build file's path (WAREHOUSE_DIR). The state dagster-dbt
    would copy in from dbt_project/target was written by whichever process last prepared the
    project, often with another WAREHOUSE_DIR. So each build starts from the state the previous
    build of the same warehouse left (copied into its target folder above) and dbt parses only
    what changed; dbt checks the state itself (files, profile, versions) and parses in full when
    it does not fit."""
    state = target_path / PARTIAL_PARSE
    if not state.exists():
        return
    temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    shutil.copyfile(state, temporary)
    os.replace(temporary, cache)


def mart_keys() -> list[dg.AssetKey]:
    """Asset keys of the published marts (models under models/marts)."""
    specs = warehouse_dbt_assets.specs
    return sorted((s.key for s in specs if s.group_name == "marts"), key=lambda k: k.to_user_string())
