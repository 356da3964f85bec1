"""`make run`: materialise every asset through the same Definitions the UI loads, then summarise.

Exits non-zero when a step or a blocking check fails, naming it and why in the last lines.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import date

import duckdb

from orchestration.settings import Settings, load_settings, prepare_environment

prepare_environment()

import dagster as dg  # noqa: E402

from orchestration.defs.partitions import MONTHLY  # noqa: E402
from orchestration.note import latest_complete_month, notes_dir  # noqa: E402


# The terminal gets each step's own messages, warnings and errors; Dagster's DEBUG events (a
# materialisation per month of every raw asset, some 300 lines a full run) stay in the run's event
# log, where the UI shows them.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                meta = evaluation.metadata.get("failures")
                # the check's Markdown list, without the emphasis the UI renders and a terminal would show as **
                detail = meta.value.replace("**", "") if meta is not None else evaluation.description or ""
                severity = getattr(evaluation.severity, "value", evaluation.severity)
                lines.append(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                             f"failed ({severity}):\n{detail}")
        elif event.event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RESOURCE_INIT_FAILURE):
            error = event.event_specific_data.error
            # Dagster wraps what the step raised; the cause is what a user needs to read.
            reason = (error.cause or error) if error else None
            what = f"step {event.step_key}" if event.step_key else "the run"  # resources start once per run
            failed = "failed" if event.event_type == dg.DagsterEventType.STEP_FAILURE else "could not start"
            lines.append(f"{what} {failed}: {_error_text(reason)}")
    return lines


def publication_warnings(result: dg.ExecuteInProcessResult) -> list[str]:
    """What the publish step recorded that a reader of the summary must know: months readers lost."""
    lines = []
    for event in result.get_asset_materialization_events():
        meta = event.asset_key == dg.AssetKey("published_warehouse") and event.materialization.metadata
        lost = meta and meta.get("months_no_longer_published")
        if lost and lost.value != "none":
            lines.append(f"the published history is shorter than before: readers no longer have {lost.value}")
    return lines


def _error_text(error) -> str:
    """An error's message; a dg.Failure's is our own sentence, without Dagster's class path."""
    if error is None:
        return "unknown error"
    return error.message.strip().removeprefix(f"{dg.Failure.__module__}.{dg.Failure.__name__}: ")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def summary_lines(published_db) -> list[str]:
    """The latest month's headline, read back from the published file (what readers see)."""
    with duckdb.connect(str(published_db), read_only=True) as conn:
        cursor = conn.execute("select * from mart_monthly_note order by month desc limit 1")
        note = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
        published_at, first, last = conn.execute(
            "select published_at, first_month, last_month from publication_log order by published_at desc limit 1"
        ).fetchone()
    banner = "SYNTHETIC DEMO DATA - not market data" if note["is_synthetic_data"] else f"source: {note['data_source']}"
    cap = note["combined_market_cap_usd"]
    cap_text = f"${cap / 1e9:,.2f} bn ({_pct(note['combined_market_cap_mom'])} MoM)" if cap is not None else "n/a"
    leader = f"{note['leader_ticker']} {_pct(note['leader_return'])}" if note["leader_ticker"] else "n/a"
    laggard = f"{note['laggard_ticker']} {_pct(note['laggard_return'])}" if note["laggard_ticker"] else "n/a"
    partial = " (partial month)" if note["is_partial_month"] else ""
    return [
        f"Published {published_db} at {published_at:%Y-%m-%d %H:%M} UTC: months {first:%Y-%m} .. {last:%Y-%m} ({banner})",
        f"Latest month {note['month']:%Y-%m}{partial}: BTC average ${note['btc_price_avg_usd']:,.0f}, "
        f"month-end (7-day avg) ${note['btc_price_month_end_usd']:,.0f}; hashrate {note['hashrate_avg_ehs']:,.0f} EH/s; "
        f"hashprice ${note['hashprice_usd_per_ehs_day']:,.0f}/EH/s/day",
        f"  {note['miner_count']} miners, combined market cap {cap_text}; leader {leader}, laggard {laggard}",
        f"  market cap / remaining bitcoin value {note['mcap_to_remaining_btc_ratio']:.3f} "
        f"(peak {note['mcap_to_remaining_btc_peak']:.3f}, average {note['mcap_to_remaining_btc_avg']:.3f}); "
        f"/ next 4 years' rewards {note['mcap_to_4y_rewards_ratio']:.3f} "
        f"(peak {note['mcap_to_4y_rewards_peak']:.3f}, average {note['mcap_to_4y_rewards_avg']:.3f})",
    ]


def partition_range_tags(months: str | None = None) -> dict[str, str]:
    """Run tags for one run over a range of monthly partitions (the raw assets' single-run backfill):
    `months` is 'YYYY-MM..YYYY-MM' or 'YYYY-MM'; None means every month (a full refresh)."""
    keys = MONTHLY.get_partition_keys()
    first, last = keys[0], keys[-1]
    if months:
        if not re.fullmatch(r"\s*\d{4}-\d{2}\s*(\.\.\s*\d{4}-\d{2}\s*)?", months):
            raise ValueError(f"MONTHS={months}: give one month (YYYY-MM) or one range of months (YYYY-MM..YYYY-MM)")
        start, _, end = months.partition("..")
        first, last = f"{start.strip()}-01", f"{(end or start).strip()}-01"
        for key in (first, last):
            if key not in keys:
                raise ValueError(f"MONTHS={months}: {key[:7]} is not a month of the history ({keys[0][:7]} .. {keys[-1][:7]})")
        if first > last:
            raise ValueError(f"MONTHS={months}: the range runs backwards")
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def note_month(latest_complete: date, partition_keys: list[str]) -> date:
    """The month whose note `make run` renders: the latest complete published month, or, when the
    data runs past the last monthly partition (a scaled demo reaching into future years), the last
    partition before it: the note job only renders months that are partitions."""
    keys = [key for key in partition_keys if key <= f"{latest_complete:%Y-%m-%d}"]
    if not keys:
        raise SystemExit(f"the latest complete month {latest_complete:%Y-%m} is before the first partition {partition_keys[0][:7]}")
    return date.fromisoformat(keys[-1])


def main(instance: dg.DagsterInstance | None = None, settings: Settings | None = None, months: str | None = None) -> int:
    """Run everything on `settings` (default: the environment's) for `months` (default: all, a full
    refresh; else 'YYYY-MM..YYYY-MM': reload those months, rebuild, check, publish), then summarise."""
    try:
        settings = settings or load_settings()
        tags = partition_range_tags(months)
    except ValueError as error:  # a SettingsError or a MONTHS that names no partitions: before any loading
        print(f"Cannot run: {error}", file=sys.stderr)
        return 2
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    if instance is None:
        # `make run` sets DAGSTER_HOME under the warehouse so runs show up in `make ui`'s history.
        instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def("build_and_publish")
    span = f"months {tags['dagster/asset_partition_range_start'][:7]} .. {tags['dagster/asset_partition_range_end'][:7]}"
    span = span if months else f"every month, a full refresh ({span}: the monthly partitions to date)"
    print(f"Building {settings.build_db} from the {settings.source} source, {span} ...", flush=True)
    result = job.execute_in_process(instance=instance, raise_on_error=False, tags=tags, run_config=CONSOLE_INFO)
    failures = failure_lines(result)
    if not result.success or any(line.startswith("check") and "(ERROR)" in line for line in failures):
        kept = "the published file is unchanged" if settings.published_db.exists() else "there is no published file yet"
        print(f"\nRUN FAILED - nothing was published; {kept}.", file=sys.stderr)
        for line in failures:
            print(f"- {line}", file=sys.stderr)
        return 1
    month = note_month(latest_complete_month(settings.published_db), MONTHLY.get_partition_keys())
    note = defs.resolve_job_def("publish_note").execute_in_process(
        instance=instance, partition_key=f"{month:%Y-%m-%d}", raise_on_error=False, run_config=CONSOLE_INFO
    )
    print()
    for line in failures + publication_warnings(result):
        print(f"warning: {line}")
    for line in summary_lines(settings.published_db):
        print(line)
    if not note.success:
        print("\nThe data was published, but the note failed:", file=sys.stderr)
        for line in failure_lines(note):
            print(f"- {line}", file=sys.stderr)
        return 1
    print(f"Note for {month:%Y-%m}: {notes_dir(settings.warehouse_dir) / f'{month:%Y-%m}.html'} (make note MONTH=YYYY-MM for another month)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m orchestration.run", description=__doc__.splitlines()[0])
    parser.add_argument("--months", help="YYYY-MM..YYYY-MM: reload only these months (default: every month)")
    sys.exit(main(months=parser.parse_args().months))
