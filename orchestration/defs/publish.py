"""The publish asset: publishes only data that every blocking check upstream passed.

Dagster's blocking checks stop what is downstream of a failure within one run. The build file,
though, keeps what the runs before wrote: raw rows a failed gate refused, a model rebuilt without
its tests. A later run that selects only the rest of the graph (the UI's "materialize the rest",
or the publish asset alone) would copy them to readers. So the publish asset itself asks the
instance, for every blocking check on an asset upstream of it, whether the check's latest
evaluation passed and is newer than the asset's latest materialisation, and refuses otherwise.
"""


from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.dbt_assets import mart_keys, warehouse_dbt_assets
from orchestration.defs.quality import GX_CHECKS
from orchestration.defs.raw_assets import RAW_ASSETS
from orchestration.defs.resources import SourceResource, WarehouseResource
from orchestration.publishing import publish


def gate_summary(instance: dg.DagsterInstance, run_id: str) -> str:
    """What the gate said in this run: checks evaluated, and the warnings that did not block."""
    evaluations = [
        event.dagster_event.event_specific_data
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    warnings = [e for e in evaluations if not e.passed]
    text = f"passed: {len(evaluations)} checks evaluated, {len(warnings)} with warnings"
    if warnings:
        text += " (" + "; ".join(f"{e.asset_key.to_user_string()} {e.check_name}" for e in warnings) + ")"
    return text


def blocking_checks_upstream(
    definitions: Sequence[dg.AssetsDefinition], targets: Iterable[dg.AssetKey]
) -> dict[dg.AssetCheckKey, dg.AssetKey]:
    """Every blocking check of `definitions` on `targets` or an asset upstream of them: check ->
    the asset it checks. From the definitions themselves, so the answer does not depend on which
    subset of the graph a run selected."""
    parents = {spec.key: {dep.asset_key for dep in spec.deps} for d in definitions for spec in d.specs}
    upstream, pending = set(), list(targets)
    while pending:
        key = pending.pop()
        if key not in upstream:
            upstream.add(key)
            pending.extend(parents.get(key, ()))
    return {
        spec.key: spec.asset_key
        for d in definitions
        for spec in d.check_specs
        if spec.blocking and spec.asset_key in upstream
    }


def gate_problems(instance: dg.DagsterInstance, checks: Mapping[dg.AssetCheckKey, dg.AssetKey]) -> list[str]:
    """Why the data as it stands has not passed the gate: per blocking check, never evaluated,
    failed with severity ERROR, or its asset materialised again after the check last ran. Empty
    when it has passed. Two queries, whatever the number of checks."""
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(checks))
    materialised = instance.get_latest_materialization_events(set(checks.values()))
    problems = []
    for key in sorted(checks, key=lambda k: k.to_user_string()):
        name = key.to_user_string()
        record = records.get(key)
        evaluated = record is not None and record.event is not None and (
            record.event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )  # else planned only: its run failed or skipped it
        if not evaluated:
            where = f" (planned in run {record.run_id[:8]}, which did not evaluate it)" if record else ""
            problems.append(f"{name}: never evaluated{where}")
            continue
        evaluation = record.event.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            problems.append(f"{name}: failed in run {record.run_id[:8]}")
            continue
        latest = materialised.get(checks[key])
        if latest is not None and latest.timestamp > record.event.timestamp:
            problems.append(
                f"{name}: {checks[key].to_user_string()} was materialised again in run {latest.run_id[:8]} "
                f"after the check last ran (run {record.run_id[:8]})"
            )
    return problems


@dg.asset(
    name="published_warehouse",
    group_name="publish",
    deps=mart_keys(),
    kinds={"duckdb"},
    description=(
        "Copies every mart into WAREHOUSE_DIR/published.duckdb (what readers open), atomically, with "
        "each number's dbt definition as a table/column comment and a row in publication_log. "
        "Publishes only when every blocking check upstream passed on the data as it stands (in this "
        "run or, for assets this run did not touch, in the run that last built them)."
    ),
)
def published_warehouse(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, source: SourceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    checks = blocking_checks_upstream([*RAW_ASSETS, warehouse_dbt_assets, *GX_CHECKS], mart_keys())
    problems = gate_problems(context.instance, checks)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise dg.Failure(
            description=(
                f"not published: {len(problems)} of {len(checks)} blocking checks have not passed on the "
                f"build as it stands ({shown}); run them, or rebuild those assets with their checks, first"
            ),
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))},
        )
    src = source.get()
    gate = gate_summary(context.instance, context.run.run_id)
    publication = publish(
        Path(duckdb.database),
        Path(warehouse.published_db),
        run_id=context.run.run_id,
        source=src.label,
        is_synthetic=src.synthetic,
        gate_result=gate,
    )
    context.log.info(f"published {publication.path} ({publication.first_month} .. {publication.last_month})")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(publication.path)),
            "published_at": publication.published_at.isoformat(),
            "first_month": publication.first_month,
            "last_month": publication.last_month,
            "row_counts": dg.MetadataValue.json(publication.row_counts),
            "source": src.label,
            "gate_result": gate,
        }
    )
