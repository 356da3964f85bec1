"""One asset per raw dataset: fetch from the selected source, validate, write in one transaction.

Daily datasets (chain days, closes, splits) are partitioned by month: a run over a range of months
fetches that range only (what a live source needs) and replaces exactly those months; a run over
every month is a full refresh. Shares outstanding and the universe are replaced whole on every run:
a month's market cap needs the latest shares report from before the month, so a window of months
alone would leave a first backfill without caps (and SEC serves a company's whole history in one
response anyway).
"""

import warnings
from datetime import date, timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.partitions import HISTORY_START_DATE, MONTHLY, SINGLE_RUN
from orchestration.defs.resources import SourceResource
from orchestration.raw_load import load_frame
from orchestration.sources import DATASETS, Dataset


def load_window(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The days a partitioned load replaces; None for a run over every month: a full refresh that
    replaces the whole table (so a source's rows outside today's partitions are kept too)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        raise dg.Failure(
            f"{context.asset_key.to_user_string()} is loaded by month, and this run names no month: launch it "
            "for a partition or a range of them (in the Launchpad or the asset's Materialize dialog; the "
            "whole range is a full refresh), or use `make run` (every month) / `make run MONTHS=YYYY-MM..YYYY-MM`"
        )
    keys = MONTHLY.get_partition_keys()
    if context.partition_key_range == dg.PartitionKeyRange(keys[0], keys[-1]):
        return None
    span = context.partition_time_window
    return span.start.date(), span.end.date() - timedelta(days=1)


def run_months_end(context: dg.AssetExecutionContext) -> date | None:
    """The last day of the months this run loads; None when it reaches the open month (up to today)."""
    tags = context.run.tags
    key = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end")
    if key is None or key == MONTHLY.get_last_partition_key():
        return None
    return MONTHLY.time_window_for_partition_key(key).end.date() - timedelta(days=1)


def reference_window(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """Shares outstanding load every report up to the end of the run's months (a past range keeps
    the later reports an earlier run loaded); None = all of them, replacing the whole table."""
    end = run_months_end(context)
    return (date.min, end) if end else None


# One run per range of months is the point of SINGLE_RUN; Dagster flags the parameter as beta and
# would say so on every load of the code (three times a `make run`).
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning)


def raw_asset(dataset: Dataset) -> dg.AssetsDefinition:
    partitioned = dataset.monthly and dataset.date_column is not None

    @dg.asset(
        name=dataset.name,
        key_prefix="raw",
        group_name="raw",
        description=f"raw.{dataset.name}: {dataset.description}",
        kinds={"duckdb", "python"},
        partitions_def=MONTHLY if partitioned else None,
        backfill_policy=SINGLE_RUN if partitioned else None,
    )
    def _load(context: dg.AssetExecutionContext, duckdb: DuckDBResource, source: SourceResource) -> dg.MaterializeResult:
        src = source.get()
        if partitioned:  # the run's months (None: every month, a full refresh)
            window = load_window(context)
            fetch_range = window or (HISTORY_START_DATE, None)
        elif dataset.date_column:  # shares: every report up to the end of the run's months
            window = reference_window(context)
            fetch_range = (HISTORY_START_DATE, window[1] if window else None)
        else:  # the universe
            window, fetch_range = None, (None, None)
        frame = src.fetch(dataset.name, *fetch_range)
        with duckdb.get_connection() as conn:
            result = load_frame(
                conn, dataset.name, frame,
                origin=src.origin(dataset.name), source_name=src.name, synthetic=src.synthetic, window=window,
            )  # fmt: skip
        scope = "whole table" if not window else f"up to {window[1]}" if window[0] == date.min else f"{window[0]} .. {window[1]}"
        empty = f"; {dataset.when_empty}" if result.row_count == 0 and dataset.when_empty else ""
        context.log.info(f"raw.{dataset.name}: {result.row_count} rows from {src.label} ({scope}{empty})")
        if result.outside_window:
            context.log.warning(f"raw.{dataset.name}: {result.outside_window} delivered rows fall outside the days loaded ({scope}); not loaded")
        metadata = {
            "dagster/row_count": result.table_rows,
            "rows_loaded": result.row_count,
            "rows_outside_window": result.outside_window,
            "source": src.label,
            "table": f"raw.{dataset.name}",
        }
        if result.first_date:
            metadata["first_date"] = str(result.first_date)
            metadata["last_date"] = str(result.last_date)
        for message in src.warnings:
            context.log.warning(f"raw.{dataset.name}: {message}")
        if src.warnings:
            metadata["source_warnings"] = dg.MetadataValue.md("\n".join(f"- {m}" for m in src.warnings))
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
