"""The rendered monthly note: a monthly-partitioned asset downstream of publishing.

It reads only published.duckdb, so the note shows exactly what readers see. Rendering every month of
the history on each full run would cost minutes, so the note has its own job: `make run` renders the
latest complete month through it, and a sensor (off by default) renders the month a scheduled
publish has just published (automation.py).
"""

import dagster as dg

from orchestration.core.partitions import MONTHLY
from orchestration.core.resources import WarehouseResource
from orchestration.note import write_note
from orchestration.publish.asset import published_warehouse


@dg.asset(
    name="monthly_note",
    group_name="note",
    deps=[published_warehouse],
    partitions_def=MONTHLY,
    kinds={"html", "markdown"},
    description=(
        "The monthly note for the partition's month (WAREHOUSE_DIR/notes/YYYY-MM.html and .md): headline "
        "written from the numbers, tables, charts, source and publication time; read from published.duckdb only."
    ),
)
def monthly_note(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    files = write_note(warehouse.paths.published_db, warehouse.paths.notes, context.partition_key)
    context.log.info(f"note for {files.month:%Y-%m}: {files.html}")
    return dg.MaterializeResult(
        metadata={
            "html": dg.MetadataValue.path(str(files.html)),
            "markdown": dg.MetadataValue.path(str(files.markdown)),
            "synthetic_demo_data": files.is_synthetic,
            "note": dg.MetadataValue.md(files.markdown.read_text(encoding="utf-8")),
        }
    )


publish_note = dg.define_asset_job(
    name="publish_note",
    selection=dg.AssetSelection.assets(monthly_note),
    partitions_def=MONTHLY,
    description="Render the monthly note of one month from the published file.",
)
