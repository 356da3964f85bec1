"""The publish asset: runs only when every mart and every blocking check upstream passed."""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.dbt_assets import mart_keys
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


@dg.asset(
    name="published_warehouse",
    group_name="publish",
    deps=mart_keys(),
    kinds={"duckdb"},
    description=(
        "Copies every mart into WAREHOUSE_DIR/published.duckdb (what readers open), atomically, with "
        "each number's dbt definition as a table/column comment and a row in publication_log. "
        "Never runs when a blocking check failed."
    ),
)
def published_warehouse(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, source: SourceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
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
