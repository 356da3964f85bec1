"""The publish asset: runs only when every mart and every blocking check upstream passed."""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.dbt_assets import mart_keys
from orchestration.defs.resources import SourceResource
from orchestration.publishing import publish
from orchestration.settings import load_settings


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
def published_warehouse(context: dg.AssetExecutionContext, duckdb: DuckDBResource, source: SourceResource) -> dg.MaterializeResult:
    src = source.get()
    publication = publish(
        Path(duckdb.database),
        load_settings().published_db,
        run_id=context.run.run_id,
        source=src.label,
        is_synthetic=src.synthetic,
        gate_result="passed: every blocking check upstream succeeded",
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
        }
    )
