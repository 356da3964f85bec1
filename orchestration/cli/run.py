"""`make run`: materialise every asset through the same Definitions the UI loads, then summarise.

Prints one line per step (`--verbose`: Dagster's and dbt's whole stream), the gate's warnings and a
summary of the last month the run loaded; the whole log goes to WAREHOUSE_DIR/logs (run_log.py),
named in the last line. Exits non-zero when a step or a blocking check fails, naming it and why.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
import uuid
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.cli.run_log import RunLog
from orchestration.core.build_file import BROKEN, LOCKED, inspect_build_file, move_aside
from orchestration.core.instance import open_instance
from orchestration.core.partitions import MONTHLY
from orchestration.core.paths import CURRENT, REPO_ROOT, WarehousePaths, write_problem
from orchestration.core.run_lock import EXIT_BUSY, WarehouseBusy, hold_warehouse
from orchestration.core.settings import Settings, load_settings, masked_url, prepare_environment
from orchestration.core.writer import MAKE_RUN, WriterBusy, hold_writer_slot
from orchestration.note import latest_complete_month
from orchestration.publish.exports import WORKBOOK
from orchestration.publish.lake import LAKE_NOT_UPDATED
from orchestration.publish.publication import is_no_space, no_space_sentence
from orchestration.raw.assets import month_ranges
from orchestration.raw.contract import DATASETS
from orchestration.raw.sources import check_source_settings
from orchestration.raw.sources.csv_files import FILES
from orchestration.raw.sources.live import TERMS


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
                lines.append(
                    f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                    f"failed ({severity}):\n{detail}"
                )
        elif event.event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RESOURCE_INIT_FAILURE):
            error = event.event_specific_data.error
            # Dagster wraps what the step raised; the cause is what a user needs to read.
            reason = (error.cause or error) if error else None
            what = f"step {event.step_key}" if event.step_key else "the run"  # resources start once per run
            failed = "failed" if event.event_type == dg.DagsterEventType.STEP_FAILURE else "could not start"
            lines.append(f"{what} {failed}: {_error_text(reason)}")
    return lines


MEMBERS_CHECK = "members_have_a_market_cap"


def members_without_cap_lines(build_db: Path) -> list[str]:
    """What the dbt test members_have_a_market_cap found (dbt reports only a count): each member
    without a market cap in a complete month, and the two ways on."""
    with duckdb.connect(str(build_db), read_only=True) as conn:
        missing = conn.execute(
            "select ticker, string_agg(strftime(month, '%Y-%m'), ', ' order by month) from marts.mart_miner_monthly "
            "where is_member and not is_partial_month and market_cap_usd is null group by ticker order by ticker"
        ).fetchall()
    if not missing:
        return []
    allow = ",".join(f"{ticker}:{month}" for ticker, months in missing for month in months.split(", "))
    return [
        *(f"  {ticker} is a member without a market cap in {months} (no shares report on or before its close)"
          for ticker, months in missing),
        f"  Add its shares reports, or publish without its cap: WAREHOUSE_ALLOW_MISSING_CAP={allow}",
    ]  # fmt: skip


def provenance_lines(build_db: Path) -> list[str]:
    """Where each raw dataset of the build came from (raw.load_log's origin): the live source mixes
    providers and the analyst's files per dataset, and a reader comparing our numbers needs to know."""
    with duckdb.connect(str(build_db), read_only=True) as conn:
        origins = conn.execute("select dataset, origin from raw.load_log order by dataset").fetchall()
    return ["Where the data came from:", *(f"  {dataset}: {origin}" for dataset, origin in origins)]


def publication_warnings(result: dg.ExecuteInProcessResult) -> list[str]:
    """What the publish step recorded that a reader of the summary must know: months and members
    readers lost (published only with WAREHOUSE_ALLOW_SHRINK=1), and its notices (a previous file it
    could not read, a sheet cut at Excel's limit)."""
    lines = []
    for event in result.get_asset_materialization_events():
        meta = event.asset_key == dg.AssetKey("published_warehouse") and event.materialization.metadata
        lost = meta and meta.get("months_no_longer_published")
        if lost and lost.value != "none":
            lines.append(f"the published history is shorter than before: readers no longer have {lost.value}")
        members = meta and meta.get("members_no_longer_published")
        if members and members.value != "none":
            lines.append(f"the published members are fewer than before: readers no longer have {members.value}")
        notices = meta and meta.get("notices")
        if notices and notices.value != "none":
            lines.extend(notices.value.splitlines())
    return lines


def lake_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    """The lake snapshot the publication became: one line, only when a lake is configured."""
    return [
        f"Lake: publication {meta['publication_id'].value} is snapshot {meta['lake_snapshot'].value} of "
        f"{meta['lake'].value} (readers elsewhere: docs/lake.md)"
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("published_warehouse")
        and "lake_snapshot" in (meta := event.materialization.metadata)
    ]


def failed_headline(failures: list[str], has_published_file: bool) -> str:
    """The first line of a failed run: nothing was published, or (a failed lake commit) the file
    publication went through and only the lake is behind."""
    if any(LAKE_NOT_UPDATED in line for line in failures):
        return "RUN FAILED - the lake was not updated; published.duckdb and the exports hold the new publication."
    kept = "the published file is unchanged" if has_published_file else "there is no published file yet"
    return f"RUN FAILED - nothing was published; {kept}."


# The class path Dagster puts before an error's message: a dg.Failure's, or one of our own errors'.
OWN_ERROR_CLASS = re.compile(rf"^(?:{re.escape(dg.Failure.__module__)}\.Failure|orchestration(?:\.\w+)+): ")


def _error_text(error) -> str:
    """An error's message; a dg.Failure's or one of ours is our own sentence, without the class path."""
    if error is None:
        return "unknown error"
    return OWN_ERROR_CLASS.sub("", error.message.strip())


def _pct(value: float | None, sign: str = "+") -> str:
    return "n/a" if value is None else f"{value:{sign}.1%}"


def summary_lines(paths: WarehousePaths, month: date | None = None) -> list[str]:
    """The headline of `month` (default: the latest published), read back from the published file
    (what readers see)."""
    published_db = paths.published_db
    with duckdb.connect(str(published_db), read_only=True) as conn:
        cursor = conn.execute(
            "select *, month = (select max(month) from mart_monthly_note) as is_latest from mart_monthly_note "
            "where month = coalesce(?, (select max(month) from mart_monthly_note))",
            [month],
        )
        note = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
        published_at, first, last, storage = conn.execute(
            "select published_at, first_month, last_month, storage_version from publication_log "
            "order by published_at desc limit 1"
        ).fetchone()
    banner = "SYNTHETIC DEMO DATA - not market data" if note["is_synthetic_data"] else f"source: {note['data_source']}"
    cap = note["combined_market_cap_usd"]
    cap_text = f"${cap / 1e9:,.2f} bn ({_pct(note['combined_market_cap_mom'])} MoM)" if cap is not None else "n/a"
    leader = f"{note['leader_ticker']} {_pct(note['leader_return'])}" if note["leader_ticker"] else "n/a"
    laggard = f"{note['laggard_ticker']} {_pct(note['laggard_return'])}" if note["laggard_ticker"] else "n/a"
    partial = " (partial month)" if note["is_partial_month"] else ""
    members = f"{note['miner_count']} miners"
    if (note["members_with_market_cap"] or 0) < (note["miner_count"] or 0):
        members = (
            f"{note['members_with_market_cap']} of {note['miner_count']} members have a market cap "
            f"({note['members_without_market_cap']}: no shares report)"
        )
    lines = [
        f"Published {published_db} at {published_at:%Y-%m-%d %H:%M} UTC: months {first:%Y-%m} .. {last:%Y-%m} "
        f"({banner})",
        f"{'Latest month' if note['is_latest'] else 'Month'} {note['month']:%Y-%m}{partial}: BTC average "
        f"${_num(note['btc_price_avg_usd'], ',.0f')}, "
        f"month-end (7-day avg) ${_num(note['btc_price_month_end_usd'], ',.0f')}; hashrate "
        f"{_num(note['hashrate_avg_ehs'], ',.0f')} EH/s; "
        f"hashprice ${_num(note['hashprice_usd_per_ehs_day'], ',.0f')}/EH/s/day",
        f"  {members}, combined market cap {cap_text}; leader {leader}, laggard {laggard}",
        f"  market cap / remaining bitcoin value {_gauge(note, 'mcap_to_remaining_btc')}; "
        f"/ next 4 years' rewards {_gauge(note, 'mcap_to_4y_rewards', ratio='_ratio')}",
    ]
    if note["listed_operations_coverage"]:
        lines.append(
            f"  {note['listed_operations_coverage']} of {note['miner_count']} members reported operations: "
            f"{_pct(note['listed_hashrate_share'], sign='')} of the network's hashrate; market cap / their "
            f"proportional 4 years' rewards {_gauge(note, 'mcap_to_proportional_4y_rewards', ratio='', unit='x')}"
        )
    lines.append(
        f"Readers: DuckDB {(storage or 'v?').lstrip('v')} or later (storage {storage}), `make sql`; exports in "
        f"{paths.exports} (Parquet per table, {WORKBOOK})"
    )
    return lines


def _num(value: float | None, spec: str) -> str:
    """`value` formatted, or 'n/a': a published column may be null (a partial or empty month)."""
    return "n/a" if value is None else format(value, spec)


def _gauge(note: dict, name: str, ratio: str = "_ratio", unit: str = "") -> str:
    """'0.419 (peak 0.488, average 0.206)' for a gauge of the note's row, 'n/a' where null."""
    spec = ".2f" if unit else ".3f"
    value, peak, average = note[f"{name}{ratio}"], note[f"{name}_peak"], note[f"{name}_avg"]
    if value is None:
        return "n/a"
    return f"{value:{spec}}{unit} (peak {_num(peak, spec)}{unit}, average {_num(average, spec)}{unit})"


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
                raise ValueError(
                    f"MONTHS={months}: {key[:7]} is not a month of the history ({keys[0][:7]} .. {keys[-1][:7]})"
                )
        if first > last:
            raise ValueError(f"MONTHS={months}: the range runs backwards")
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def months_loaded(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, int]]:
    """Rows each monthly raw dataset loaded per month ('YYYY-MM'), from its partitions' metadata."""
    loaded: dict[str, dict[str, int]] = {}
    for event in result.get_asset_materialization_events():
        key, partition = event.asset_key, event.partition
        rows = event.materialization.metadata.get("rows_loaded")
        if key.path[0] == "raw" and partition and rows is not None:
            loaded.setdefault(key.path[-1], {})[partition[:7]] = rows.value
    return loaded


def last_month_loaded(loaded: dict[str, dict[str, int]]) -> date | None:
    """The last month for which the run loaded any daily rows (bitcoin days or closes): the month
    a `MONTHS=...` run is about."""
    months = [
        month
        for name, by_month in loaded.items()
        if not DATASETS[name].sparse
        for month, rows in by_month.items()
        if rows
    ]
    return date.fromisoformat(f"{max(months)}-01") if months else None


def no_data_lines(loaded: dict[str, dict[str, int]], source: str, data_end: str | None) -> list[str]:
    """The months of the run the source had no daily rows for, per group of datasets."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, by_month in sorted(loaded.items()):
        if DATASETS[name].sparse:  # a month without a split is normal
            continue
        empty = tuple(sorted(month for month, rows in by_month.items() if not rows))
        if empty:
            groups.setdefault(empty, []).append(f"raw/{name}")
    ends = f"; its data ends {data_end}" if data_end else ""
    return [
        f"the {source} source has no data for {month_ranges(list(months))} ({', '.join(names)}: 0 rows{ends})"
        for months, names in groups.items()
    ]


# Optional inputs whose absence leaves published columns null, not the run failed: (what, consequence).
OPTIONAL_INPUTS = {
    "miner_operations": ("miner operations", "the operations columns are null"),
    "miner_balance_sheet": ("balance sheets", "enterprise values are null"),
}


def table_rows(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Rows in each whole-table raw dataset after the run, from its materialisation's metadata."""
    rows: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        count = event.materialization.metadata.get("dagster/row_count")
        if event.asset_key.path[0] == "raw" and not event.partition and count is not None:
            rows[event.asset_key.path[-1]] = count.value
    return rows


def missing_input_lines(rows: dict[str, int], source: str) -> list[str]:
    """One sentence per optional dataset the source delivered no rows of: a reader of the summary
    must know why a column is empty, once, not from a null in every row."""
    lines = []
    for name, (what, consequence) in OPTIONAL_INPUTS.items():
        if rows.get(name, 1) == 0:
            where = f" ({FILES[name]} absent or empty)" if source == "csv" else ""
            lines.append(f"No {what} from the {source} source{where}: {consequence}.")
    return lines


def note_month(latest_complete: date, partition_keys: list[str]) -> date:
    """The month whose note `make run` renders: the latest complete published month, or, when the
    data runs past the last monthly partition (a scaled demo reaching into future years), the last
    partition before it: the note job only renders months that are partitions."""
    keys = [key for key in partition_keys if key <= f"{latest_complete:%Y-%m-%d}"]
    if not keys:
        raise SystemExit(
            f"the latest complete month {latest_complete:%Y-%m} is before the first partition {partition_keys[0][:7]}"
        )
    return date.fromisoformat(keys[-1])


def main(
    instance: dg.DagsterInstance | None = None,
    settings: Settings | None = None,
    months: str | None = None,
    verbose: bool = False,
) -> int:
    """Run everything on `settings` (default: the environment's) for `months` (default: all, a full
    refresh; else 'YYYY-MM..YYYY-MM': reload those months, rebuild, check, publish), then summarise.
    `verbose` shows the whole stream instead of a line per step."""
    prepare_environment()  # before Dagster's instance, dbt or GX start: they read it when they run
    try:
        settings = settings or load_settings()
        check_source_settings(settings)
        tags = partition_range_tags(months)
    except ValueError as error:  # a SettingsError or a MONTHS that names no partitions: before any loading
        print(f"Cannot run: {error}", file=sys.stderr)
        return 2
    for folder in (settings.warehouse_dir, settings.paths.publications):
        if folder == settings.warehouse_dir or folder.exists():
            problem = write_problem(folder)
            if problem:
                print(f"Cannot run: {problem}", file=sys.stderr)
                return 2
    run_id = str(uuid.uuid4())  # as Dagster makes them; known before the run, to name its log file
    if instance is None and settings.dagster_pg_url:
        # The team's shared instance: its history, its gate and its writer slot are in PostgreSQL.
        try:
            instance = _open_shared_instance(settings)
        except Exception as error:  # the server down, a wrong database or password: one line, no traceback
            print(f"Cannot run: {_unreachable(settings.dagster_pg_url, error)}", file=sys.stderr)
            return 2
    with ExitStack() as held:
        # One writer across machines when the history is in PostgreSQL (core/writer.py): wait for the
        # run holding the warehouse, saying whom for; a no-op for an instance on files.
        try:
            held.enter_context(hold_writer_slot(instance, MAKE_RUN, run_id, wait=settings.writer_wait, say=_waiting))
        except WriterBusy as busy:
            print(f"Cannot run: {busy}", file=sys.stderr)
            return EXIT_BUSY
        # One run at a time per warehouse on this machine (core/run_lock.py), taken before anything is
        # written; the resources of the jobs below take both again in this process, a no-op.
        try:
            held.enter_context(hold_warehouse(settings.warehouse_dir, "`make run`", run_id))
        except WarehouseBusy as busy:
            print(f"Cannot run: {busy}", file=sys.stderr)
            return EXIT_BUSY
        refusal, notices = _check_build_file(settings, months)
        if refusal:
            code, line = refusal
            print(f"Cannot run: {line}", file=sys.stderr)
            return code
        return _main(settings, instance, tags, months, verbose, run_id, notices)


def _open_shared_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance on DAGSTER_PG_URL, opened before anything else; dagster-postgres's retry
    warnings (five lines on the root logger for a server that does not answer) are not shown. One
    plain connection first: a server that does not answer, a wrong database or password is said
    at once, not after dagster-postgres's retries (about 10 s)."""
    import psycopg2

    psycopg2.connect(settings.dagster_pg_url.replace("+psycopg2", "", 1), connect_timeout=10).close()
    logging.disable(logging.WARNING)
    try:
        return open_instance(settings.dagster_home or settings.paths.dagster_home, settings.dagster_pg_url)
    finally:
        logging.disable(logging.NOTSET)


def _unreachable(url: str, error: BaseException) -> str:
    """Why the PostgreSQL history cannot be opened, in one sentence: the driver's first line."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    reason = re.sub(r"^\(\w+(?:\.\w+)*\) ", "", reason)  # SQLAlchemy's "(psycopg2.OperationalError) "
    return (
        f"the Dagster history in PostgreSQL (DAGSTER_PG_URL={masked_url(url)}) cannot be opened: {masked_url(reason)}"
    )


def _waiting(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _current_publication(paths: WarehousePaths) -> str | None:
    """The publication readers get now (publications/current's target), None before the first."""
    try:
        return os.readlink(paths.publications / CURRENT)
    except OSError:
        return "a published file" if paths.published_db.exists() else None


def rebuild_command(settings: Settings) -> str:
    """The `make run` that rebuilds this warehouse whole: its settings, no MONTHS."""
    variables = {
        "WAREHOUSE_DIR": settings.warehouse_dir if settings.warehouse_dir != REPO_ROOT / "warehouse" else None,
        "WAREHOUSE_SOURCE": settings.source if settings.source != "demo" else None,
        "WAREHOUSE_CSV_DIR": settings.csv_dir,
    }
    return " ".join([*(f"{k}={shlex.quote(str(v))}" for k, v in variables.items() if v is not None), "make run"])


def _check_build_file(settings: Settings, months: str | None) -> tuple[tuple[int, str] | None, list[str]]:
    """((exit code, why the run cannot start) or None, lines to say once it starts) about the build
    file: held open by another program (try again once it is closed), or not a DuckDB file. A broken
    build file is moved aside for a full refresh, which rebuilds it; a MONTHS run stops with the
    command that does. A file this DuckDB is too old for is the build resource's to report
    (core/resources.py)."""
    problem = inspect_build_file(settings.build_db)
    if problem is None or problem.kind not in (LOCKED, BROKEN):
        return None, []
    if problem.kind == LOCKED:
        return (EXIT_BUSY, problem.locked_sentence()), []
    if months:
        return (
            1,
            f"{problem.broken_sentence()}; the build holds only what runs rebuild from the source, so rebuild "
            f"it whole: `{rebuild_command(settings)}` (without MONTHS) moves it aside, kept, and reloads every month",
        ), []
    aside = move_aside(settings.build_db)
    return None, [
        f"{problem.broken_sentence()}: moved it to {aside} and rebuilding {settings.build_db} from the "
        f"{settings.source} source"
    ]


def _main(settings, instance, tags, months, verbose, run_id, notices: list[str]) -> int:
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    if instance is None:
        # The warehouse's own instance (DAGSTER_HOME, by default under the warehouse): its runs show up in
        # `make ui`'s history, and the publish gate reads the checks recorded there.
        instance = (
            open_instance(settings.dagster_home, settings.dagster_pg_url)
            if settings.dagster_home
            else dg.DagsterInstance.ephemeral()
        )
    job = defs.resolve_job_def("build_and_publish")
    note_job = defs.resolve_job_def("publish_note")
    with RunLog(
        settings.paths.logs,
        run_id,
        settings.keep_runs,
        verbose=verbose,
        total_steps=len(job.nodes) + len(note_job.nodes),
    ) as log:

        def say(line: str = "", error: bool = False) -> None:
            print(line, file=sys.stderr if error else sys.stdout, flush=True)
            log.note(line)

        for line in notices:
            say(line)
        before = _current_publication(settings.paths)
        try:
            code = _run(defs, job, note_job, instance, settings, tags, months, run_id, log, say)
        except Exception as error:  # not a step's failure (Dagster reports those): one line, the traceback logged
            log.note_exception(error)
            text = str(error).strip()
            reason = (
                no_space_sentence(settings.warehouse_dir)
                if is_no_space(error, settings.warehouse_dir)
                else f"{type(error).__name__}: {text.splitlines()[0] if text else 'no message'}"
            )
            after = _current_publication(settings.paths)
            outcome = (
                f"publication {after} was made current before it failed"
                if after != before
                else "nothing was published; the published file is unchanged"
                if after
                else "nothing was published"
            )
            say(f"\nRUN FAILED: {reason}; {outcome}.", error=True)
            code = 1
        say(f"{'Full log' if code == 0 else 'The full log'}: {log.path} ({log.elapsed():.0f} s)", error=code != 0)
    return code


def _run(defs, job, note_job, instance, settings, tags, months, run_id, log: RunLog, say) -> int:
    data_end = demo_data_end(settings)
    first, last = tags["dagster/asset_partition_range_start"][:7], tags["dagster/asset_partition_range_end"][:7]
    ends = f"; the {settings.source} source's data ends {data_end}" if data_end else ""
    span = (
        f"months {first} .. {last}{ends}"
        if months
        else (f"every month, a full refresh (the monthly partitions to date, {first} .. {last}{ends})")
    )
    if settings.source == "live":
        from orchestration.definitions import build_resources

        for line in (*TERMS, *build_resources(settings)["raw_source"].get().plan()):
            say(line)
    say(f"Building {settings.build_db} from the {settings.source} source, {span} ...")
    result = job.with_logger_defs(log.logger_defs).execute_in_process(
        instance=instance, raise_on_error=False, tags=tags, run_config=log.run_config, run_id=run_id
    )
    failures = failure_lines(result)
    if not result.success or any(line.startswith("check") and "(ERROR)" in line for line in failures):
        say(f"\n{failed_headline(failures, settings.published_db.exists())}", error=True)
        for line in failures:
            say(f"- {line}", error=True)
        if any(MEMBERS_CHECK in line for line in failures):
            for line in members_without_cap_lines(settings.build_db):
                say(line, error=True)
        return 1
    loaded = months_loaded(result)
    asked = last_month_loaded(loaded) if months else None  # a MONTHS run is about its last month with data
    month = asked or note_month(latest_complete_month(settings.published_db), MONTHLY.get_partition_keys())
    note = note_job.with_logger_defs(log.logger_defs).execute_in_process(
        instance=instance, partition_key=f"{month:%Y-%m-%d}", raise_on_error=False, run_config=log.run_config
    )
    say()
    for line in failures + publication_warnings(result):
        say(f"warning: {line}")
    for line in no_data_lines(loaded, settings.source, data_end):
        # a MONTHS run the source has nothing for is worth a warning; a full refresh's empty
        # months after the source's last day are what "the partitions to date" means
        say(f"warning: {line}" if months else f"{line[0].upper()}{line[1:]}")
    for line in missing_input_lines(table_rows(result), settings.source):
        say(line)
    for line in summary_lines(settings.paths, month) + lake_lines(result):
        say(line)
    if settings.source == "live":
        for line in provenance_lines(settings.build_db):
            say(line)
    if not note.success:
        say("\nThe data was published, but the note failed:", error=True)
        for line in failure_lines(note):
            say(f"- {line}", error=True)
        return 1
    say(
        f"Note for {month:%Y-%m}: {settings.paths.notes / f'{month:%Y-%m}.html'} (make note MONTH=YYYY-MM for "
        "another month)"
    )
    return 0


def demo_data_end(settings: Settings) -> str | None:
    """The last day of the demo's data (known without generating it); None for other sources,
    whose coverage shows only once they are read."""
    if settings.source != "demo":
        return None
    from orchestration.raw.sources.demo import DemoSource

    return f"{DemoSource(tickers=settings.demo_tickers, years=settings.demo_years).end:%Y-%m-%d}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli.run", description=__doc__.splitlines()[0])
    parser.add_argument("--months", help="YYYY-MM..YYYY-MM: reload only these months (default: every month)")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print Dagster's and dbt's whole stream instead of one line per step",
    )
    arguments = parser.parse_args()
    sys.exit(main(months=arguments.months, verbose=arguments.verbose))
