"""The publish asset: publishes only data that every blocking check upstream passed.

Dagster's blocking checks stop what is downstream of a failure within one run. The build file,
though, keeps what the runs before wrote: raw rows a failed gate refused, a model rebuilt without
its tests. A later run that selects only the rest of the graph (the UI's "materialize the rest",
or the publish asset alone) would copy them to readers. So the publish asset itself asks the
instance, for every blocking check on an asset upstream of it, whether the check's latest
evaluation passed and is newer than the latest materialisation of every asset it read (its own,
and those its query joins), and refuses otherwise.
"""


from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.dbt_assets import mart_keys, warehouse_dbt_assets
from orchestration.defs.quality import GX_CHECKS
from orchestration.defs.raw_assets import RAW_ASSETS
from orchestration.defs.resources import SourceResource, WarehouseResource
from orchestration.publishing import EXPORTS, STORAGE_VERSION, publish


def blocking_checks_upstream(
    definitions: Sequence[dg.AssetsDefinition], targets: Iterable[dg.AssetKey]
) -> dict[dg.AssetCheckKey, tuple[dg.AssetKey, ...]]:
    """Every blocking check of `definitions` on `targets` or an asset upstream of them: check ->
    the assets whose data it read (the checked asset first, then the others its query reads). From
    the definitions themselves, so the answer does not depend on which subset a run selected."""
    parents = {spec.key: {dep.asset_key for dep in spec.deps} for d in definitions for spec in d.specs}
    upstream, pending = set(), list(targets)
    while pending:
        key = pending.pop()
        if key not in upstream:
            upstream.add(key)
            pending.extend(parents.get(key, ()))
    return {
        spec.key: (spec.asset_key, *(dep.asset_key for dep in spec.additional_deps))
        for d in definitions
        for spec in d.check_specs
        if spec.blocking and spec.asset_key in upstream
    }


def publication_checks() -> dict[dg.AssetCheckKey, tuple[dg.AssetKey, ...]]:
    """The checks the publish asset requires: every blocking check upstream of the marts."""
    return blocking_checks_upstream([*RAW_ASSETS, warehouse_dbt_assets, *GX_CHECKS], mart_keys())


@dataclass(frozen=True)
class GateReview:
    """What the instance says of the build as it stands: per blocking check, why it does not clear
    the build (`problems`), and the checks whose clearing evaluation carried a warning."""

    checks: int
    problems: list[str]
    warnings: list[str]
    evaluated_in_run: int

    def summary(self) -> str:
        text = f"passed: {self.checks} blocking checks clear the build ({self.evaluated_in_run} evaluated in this run)"
        text += f", {len(self.warnings)} with warnings"
        return text + (f" ({'; '.join(self.warnings)})" if self.warnings else "")


def _latest_evaluations(instance: dg.DagsterInstance, checks: Iterable[dg.AssetCheckKey]) -> dict:
    """Each check's latest evaluation record. A run that planned a check and then failed or
    skipped it leaves a newer record without an evaluation: look past it (rarely more than one)."""
    storage = instance.event_log_storage
    latest = storage.get_latest_asset_check_execution_by_key(list(checks))
    found = {}
    for key, record in latest.items():
        if not _is_evaluation(record):
            record = next((r for r in storage.get_asset_check_execution_history(key, limit=20) if _is_evaluation(r)), None)
        if record is not None:
            found[key] = record
    return found


def _is_evaluation(record) -> bool:
    return record.event is not None and record.event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION


def review_gate(
    instance: dg.DagsterInstance, checks: Mapping[dg.AssetCheckKey, tuple[dg.AssetKey, ...]], run_id: str | None = None
) -> GateReview:
    """A blocking check clears the build when its latest evaluation passed (a WARN failure
    passes) and came after the latest materialisation of every asset it read. Three queries, plus
    one per check whose latest record is only planned."""
    records = _latest_evaluations(instance, checks)
    materialised = instance.get_latest_materialization_events({a for assets in checks.values() for a in assets})
    problems, warnings = [], []
    for key in sorted(checks, key=lambda k: k.to_user_string()):
        name, record = key.to_user_string(), records.get(key)
        if record is None:
            problems.append(f"{name}: never evaluated")
            continue
        evaluation = record.event.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            problems.append(f"{name}: failed in run {record.run_id[:8]}")
            continue
        changed = [
            (asset, event) for asset in checks[key]
            if (event := materialised.get(asset)) is not None and event.timestamp > record.event.timestamp
        ]
        if changed:
            asset, event = changed[0]
            problems.append(
                f"{name}: {asset.to_user_string()} was materialised again in run {event.run_id[:8]} "
                f"after the check last ran (run {record.run_id[:8]})"
            )
        elif not evaluation.passed:
            warnings.append(name)
    evaluated_in_run = sum(1 for r in records.values() if r.run_id == run_id)
    return GateReview(len(checks), problems, warnings, evaluated_in_run)


@dg.asset(
    name="published_warehouse",
    group_name="publish",
    deps=mart_keys(),
    kinds={"duckdb"},
    description=(
        "Copies every mart into WAREHOUSE_DIR/published.duckdb (what readers open; DuckDB storage v1.0.0, "
        "read by DuckDB 1.0 and later) and its exports (WAREHOUSE_DIR/exports: Parquet per table, the Excel "
        "workbook), atomically as one set, with each number's dbt definition as a table/column comment and "
        "a row in publication_log. "
        "Publishes only when every blocking check upstream passed on the data as it stands (in this "
        "run or, for assets this run did not touch, in the run that last built them)."
    ),
)
def published_warehouse(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, source: SourceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    checks = publication_checks()
    review = review_gate(context.instance, checks, context.run.run_id)
    if review.problems:
        problems = review.problems
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise dg.Failure(
            description=(
                f"not published: {len(problems)} of {len(checks)} blocking checks have not passed on the "
                f"build as it stands ({shown}); run them, or rebuild those assets with their checks, first"
            ),
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))},
        )
    src = source.get()
    gate = review.summary()
    publication = publish(
        Path(duckdb.database),
        Path(warehouse.published_db),
        run_id=context.run.run_id,
        source=src.label,
        is_synthetic=src.synthetic,
        gate_result=gate,
    )
    context.log.info(
        f"published {publication.path} ({publication.first_month} .. {publication.last_month}), "
        f"publication {publication.publication_id}, exports in {publication.path.parent / EXPORTS}"
    )
    for notice in publication.notices:
        context.log.warning(notice)
    lost = publication.lost_months()
    if lost:
        context.log.warning(
            f"the published history is shorter than before: readers no longer have {lost} "
            f"(it covered {publication.previous_first_month} .. {publication.previous_last_month}); "
            "a source with less history than the last publication, e.g. a truncated CSV export?"
        )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(publication.path)),
            "published_at": publication.published_at.isoformat(),
            "publication_id": publication.publication_id,
            "storage_version": STORAGE_VERSION,
            "exports": dg.MetadataValue.md("\n".join(f"- {p}" for p in publication.exports)),
            "first_month": publication.first_month,
            "last_month": publication.last_month,
            "row_counts": dg.MetadataValue.json(publication.row_counts),
            "source": src.label,
            "gate_result": gate,
            "months_no_longer_published": lost or "none",
            "notices": "\n".join(publication.notices) or "none",
        }
    )
