"""One asset per raw dataset: fetch from the selected source, validate, replace in one transaction."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.resources import SourceResource
from orchestration.raw_load import load_frame
from orchestration.sources import DATASETS, Dataset


def raw_asset(dataset: Dataset) -> dg.AssetsDefinition:
    @dg.asset(
        name=dataset.name,
        key_prefix="raw",
        group_name="raw",
        description=f"raw.{dataset.name}: {dataset.description}",
        kinds={"duckdb", "python"},
    )
    def _load(context: dg.AssetExecutionContext, duckdb: DuckDBResource, source: SourceResource) -> dg.MaterializeResult:
        src = source.get()
        frame = src.fetch(dataset.name)
        with duckdb.get_connection() as conn:
            result = load_frame(
                conn, dataset.name, frame,
                origin=src.origin(dataset.name),
                source_name=src.name, synthetic=src.synthetic,
            )
        context.log.info(f"raw.{dataset.name}: {result.row_count} rows from {src.label}")
        metadata = {"row_count": result.row_count, "source": src.label, "table": f"raw.{dataset.name}"}
        if result.first_date:
            metadata["first_date"] = str(result.first_date)
            metadata["last_date"] = str(result.last_date)
        return dg.MaterializeResult(metadata=metadata)

    return _load


LOAD_LOG = dg.AssetSpec(
    key=["raw", "load_log"],
    group_name="raw",
    description=(
        "raw.load_log: the latest load of each raw dataset (source, synthetic or not, time, rows), written "
        "by every raw asset in the same transaction as its table; the note mart reads its provenance here."
    ),
    kinds={"duckdb"},
)

RAW_ASSETS = [raw_asset(d) for d in DATASETS.values()]
