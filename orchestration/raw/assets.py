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

from orchestration.core.partitions import HISTORY_START_DATE, MONTHLY, SINGLE_RUN
from orchestration.core.resources import WarehouseResource
from orchestration.core.settings import WAREHOUSE_POOL
from orchestration.raw.contract import DATASETS, Dataset
from orchestration.raw.loader import LoadResult, load_frame
from orchestration.raw.resources import RawSourceResource


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


def raw_asset(dataset: Dataset) -> dg.AssetsDefinition:
    partitioned = dataset.monthly and dataset.date_column is not None

    # One run per range of months is the point of SINGLE_RUN; Dagster flags the parameter as beta and
    # would say so on every load of the code (three times a `make run`). Silenced for this call only:
    # any other beta parameter, ours or a library's, still warns.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning
        )
        as_asset = dg.asset(
            name=dataset.name,
            key_prefix="raw",
            group_name="raw",
            description=f"raw.{dataset.name}: {dataset.description}",
            kinds={"duckdb", "python"},
            partitions_def=MONTHLY if partitioned else None,
            backfill_policy=SINGLE_RUN if partitioned else None,
            pool=WAREHOUSE_POOL,  # one writer at a time across machines (core/writer.py)
        )

    @as_asset
    def _load(
        context: dg.AssetExecutionContext,
        duckdb: DuckDBResource,
        raw_source: RawSourceResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        # `warehouse`: every step that writes the build claims the instance for its warehouse first
        source = raw_source.get()
        if partitioned:  # the run's months (None: every month, a full refresh)
            window = load_window(context)
            fetch_range = window or (HISTORY_START_DATE, None)
        elif dataset.date_column:  # shares: every report up to the end of the run's months
            window = reference_window(context)
            fetch_range = (HISTORY_START_DATE, window[1] if window else None)
        else:  # the universe
            window, fetch_range = None, (None, None)
        frame = source.fetch(dataset.name, *fetch_range)
        with duckdb.get_connection() as conn:
            result = load_frame(
                conn, dataset.name, frame,
                origin=source.origin(dataset.name), source_name=source.name, synthetic=source.synthetic, window=window,
                provenance=source.provenance(dataset.name),
            )  # fmt: skip
        scope = (
            "whole table"
            if not window
            else f"up to {window[1]}"
            if window[0] == date.min
            else f"{window[0]} .. {window[1]}"
        )
        empty = f"; {dataset.when_empty}" if result.row_count == 0 and dataset.when_empty else ""
        context.log.info(f"raw.{dataset.name}: {rows(result.row_count)} from {source.label} ({scope}{empty})")
        if result.outside_window:
            context.log.warning(
                f"raw.{dataset.name}: {rows(result.outside_window)} delivered fall outside the days loaded "
                f"({scope}); not loaded"
            )
        metadata = {
            "rows_loaded": result.row_count,
            "rows_outside_window": result.outside_window,
            "source": source.label,
            "table": f"raw.{dataset.name}",
        }
        table_span = {}
        if result.first_date:
            table_span = {"first_date": str(result.first_date), "last_date": str(result.last_date)}
        if partitioned:
            # The months' own figures go on each partition (below); the whole table's under other names.
            metadata.update(table_rows=result.table_rows, **{f"table_{k}": v for k, v in table_span.items()})
            empty_months = describe_partitions(context, dataset, result)
            if empty_months and not dataset.sparse:
                context.log.info(f"raw.{dataset.name}: no data from {source.label} for {month_ranges(empty_months)}")
        else:
            metadata.update({"dagster/row_count": result.table_rows, **table_span})
        for message in source.warnings:
            context.log.warning(f"raw.{dataset.name}: {message}")
        if source.warnings:
            metadata["source_warnings"] = dg.MetadataValue.md("\n".join(f"- {m}" for m in source.warnings))
        return dg.MaterializeResult(metadata=metadata)

    return _load


def rows(count: int) -> str:
    """'1 row', '2373 rows': these lines are read by people."""
    return f"{count} row" if count == 1 else f"{count} rows"


NO_DATA = "no data from the source for this month"
NO_EVENTS = "no rows from the source for this month (most months have none)"


def describe_partitions(context: dg.AssetExecutionContext, dataset: Dataset, result: LoadResult) -> list[str]:
    """Give each monthly partition of the run the metadata of its own month: the rows loaded for it
    and their first and last day, or 0 rows and that the source had none. A run over a range
    records one materialisation per month; without this each would carry the whole load's figures
    (a month past the source's data showing the table's 2373 rows). The months without rows."""
    empty = []
    for key in context.partition_keys:
        month = result.by_month.get(date.fromisoformat(key))
        if month:
            context.add_asset_metadata(
                {
                    "dagster/row_count": month.rows,
                    "rows_loaded": month.rows,
                    "first_date": str(month.first_date),
                    "last_date": str(month.last_date),
                },
                partition_key=key,
            )
        else:
            context.add_asset_metadata(
                {"dagster/row_count": 0, "rows_loaded": 0, "no_data": NO_EVENTS if dataset.sparse else NO_DATA},
                partition_key=key,
            )
            empty.append(key[:7])
    return empty


def month_ranges(months: list[str]) -> str:
    """'2025-07 .. 2026-12, 2027-02' from sorted 'YYYY-MM' months: consecutive ones as a range."""
    runs: list[list[str]] = []
    for month in months:
        if runs and _index(month) == _index(runs[-1][-1]) + 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]} .. {run[-1]}" for run in runs)


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:]) - 1


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
