"""What `make run` prints (a line per step, or the whole stream with --verbose), the log file it
always writes, the month it reports, and what partitions record about their own month."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration.cli import run
from orchestration.cli.run_log import ANSI
from orchestration.core.retention import prune_run_logs
from orchestration.core.settings import Settings
from orchestration.raw.contract import DATASETS
from orchestration.transform.project import dbt_project

STEP_LINE = re.compile(rf"^\[\s*(\d+)/{len(DATASETS) + 5}\] (.+?): (.+?)(  \d+\.\d s)?$")


def dbt_build_nodes() -> int:
    """What the pipeline's `dbt build` runs: the project's models, seeds and data tests (its unit
    tests run in the test suite, not in the build)."""
    manifest = json.loads(dbt_project().manifest_path.read_text())
    return sum(node["resource_type"] in {"model", "seed", "test"} for node in manifest["nodes"].values())


DBT_NODES = dbt_build_nodes()


def log_path(output: str) -> Path:
    match = re.search(r"^(?:The full log|Full log): (\S+) \(\d+ s\)$", output, re.MULTILINE)
    assert match, output[-2000:]
    return Path(match[1])


def test_a_default_run_prints_a_line_per_step_the_warnings_and_the_summary(demo_run_output):
    out, err = demo_run_output["out"], demo_run_output["err"]
    lines = out.splitlines()
    assert err == ""
    assert len(lines) < 40, out
    assert (
        lines[0].startswith("Building ")
        and "every month, a full refresh (the monthly partitions to date, 2019-01 .. " in lines[0]
    )
    assert "the demo source's data ends 2025-06-30" in lines[0]
    steps = [STEP_LINE.match(line) for line in lines if STEP_LINE.match(line)]
    # a load per raw dataset, then the raw gate, dbt, the marts gate, publish and the note
    assert [int(m[1]) for m in steps] == list(range(1, len(DATASETS) + 6))
    labels = {m[2]: m[3] for m in steps}
    assert labels["raw load raw/btc_daily"] == "2373 rows (whole table)"
    assert labels["raw load raw/splits"] == "4 rows (whole table)"
    for dataset in ("miner_operations", "miner_balance_sheet"):  # the demo has them: no sentence about their absence
        assert re.fullmatch(r"\d+ rows \(whole table\)", labels[f"raw load raw/{dataset}"])
    assert not any(line.startswith(("No miner operations", "No balance sheets")) for line in lines)
    assert re.fullmatch(rf"PASS={DBT_NODES} WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL={DBT_NODES}", labels["dbt build"])
    assert labels["raw gate"].startswith(f"{len(DATASETS)} Great Expectations suites")
    assert labels["publish"] == "2019-01-01 .. 2025-06-01" and labels["note"] == "2025-06"
    assert all(m[4] for m in steps)  # each with its time
    assert not any(f" of {DBT_NODES} " in line or "dagster - INFO" in line for line in lines)  # not the stream
    assert "warning: check gx_mart_monthly_note on marts/mart_monthly_note failed (WARN):" in lines
    assert (
        "The demo source has no data for 2025-07 .. 2026-12 (raw/btc_daily, raw/equity_prices: 0 rows; "
        "its data ends 2025-06-30)"
    ) in lines
    assert any(line.startswith("Latest month 2025-06: BTC average $") for line in lines)
    assert not any(line.startswith("Lake: ") for line in lines)  # no lake configured: no lake line
    assert lines[-2].startswith("Note for 2025-06: ")
    assert lines[-1].startswith("Full log: ")


def test_the_full_log_is_written_under_the_warehouse_without_colour_codes(demo_run, demo_run_output):
    path = log_path(demo_run_output["out"])
    assert path.parent == demo_run[1].warehouse_dir / "logs"
    assert re.fullmatch(r"run-\d{8}T\d{6}Z-[0-9a-f]{8}\.log", path.name)
    text = path.read_text(encoding="utf-8")
    assert not ANSI.search(text) and "\x1b" not in text
    # dbt's lines
    assert f"warehouse_dbt_assets - 1 of {DBT_NODES} OK created sql view model staging.stg_btc_daily" in text
    assert 'STEP_SUCCESS - Finished execution of step "published_warehouse"' in text  # Dagster's events
    assert "publish_note" in text  # the note's run too
    assert "Latest month 2025-06: BTC average $" in text  # and what the terminal was told


def test_partitions_describe_their_own_month(demo_run):
    """A full refresh records one materialisation per month: each carries that month's rows and
    days, and a month past the source's data says it has none (not the table's 2373 rows)."""
    instance = demo_run[2]

    def metadata(name: str, partition: str) -> dict:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["raw", name]), asset_partitions=[partition]), limit=1
        ).records
        return {key: value.value for key, value in records[0].asset_materialization.metadata.items()}

    june = metadata("btc_daily", "2024-06-01")
    assert (june["dagster/row_count"], june["rows_loaded"], june["first_date"], june["last_date"]) == (
        30,
        30,
        "2024-06-01",
        "2024-06-30",
    )
    assert june["table_rows"] == 2373 and june["table_last_date"] == "2025-06-30"
    past = metadata("btc_daily", "2026-12-01")
    assert (past["dagster/row_count"], past["rows_loaded"]) == (0, 0)
    assert past["no_data"] == "no data from the source for this month"
    assert "first_date" not in past and "last_date" not in past
    assert metadata("equity_prices", "2024-06-01")["first_date"] == "2024-06-03"  # a Monday: the first session
    assert metadata("splits", "2024-07-01")["no_data"].startswith("no rows from the source for this month")


@pytest.fixture(scope="module")
def june_run(demo_run, tmp_path_factory):
    """`make run MONTHS=2024-06 VERBOSE=1` on a copy of the session's warehouse."""
    import contextlib
    import io

    warehouse = tmp_path_factory.mktemp("months") / "warehouse"
    shutil.copytree(
        demo_run[1].warehouse_dir, warehouse, ignore=shutil.ignore_patterns("gx", "dbt_runs", "logs", "notes")
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run.main(
            dg.DagsterInstance.ephemeral(),
            Settings(warehouse_dir=warehouse, source="demo"),
            months="2024-06",
            verbose=True,
        )
    return code, warehouse, out.getvalue(), err.getvalue()


def test_a_months_run_reports_and_renders_the_last_month_it_loaded(june_run):
    code, warehouse, out, err = june_run
    assert code == 0, (out + err)[-3000:]
    assert "months 2024-06 .. 2024-06; the demo source's data ends 2025-06-30" in out.splitlines()[0]
    assert re.search(r"^Month 2024-06: BTC average \$", out, re.MULTILINE)
    assert f"Note for 2024-06: {warehouse / 'notes' / '2024-06.html'}" in out
    assert (warehouse / "notes" / "2024-06.html").exists() and not (warehouse / "notes" / "2025-06.html").exists()
    assert "no data" not in out  # the source has June 2024


def test_verbose_keeps_the_whole_stream_and_the_log_file(june_run):
    _, warehouse, out, _ = june_run
    assert f"1 of {DBT_NODES} OK created sql view model staging.stg_btc_daily" in out  # dbt's lines, as dbt prints them
    assert re.search(
        r"^\S+ \S+ [+-]\d{4} - dagster - INFO - build_and_publish - .* - raw__btc_daily - "
        r"raw\.btc_daily: 30 rows from demo \(SYNTHETIC\) \(2024-06-01 \.\. 2024-06-30\)$",
        out,
        re.MULTILINE,
    )
    assert "raw.splits: 1 row from demo (SYNTHETIC) (2024-06-01 .. 2024-06-30)" in out  # not '1 rows'
    assert not STEP_LINE.search(out)
    assert log_path(out).parent == warehouse / "logs" and log_path(out).exists()


def test_months_without_data_are_named_with_the_sources_end():
    loaded = {
        "btc_daily": {"2026-11": 0, "2026-12": 0},
        "equity_prices": {"2026-11": 0, "2026-12": 0},
        "splits": {"2026-11": 0, "2026-12": 0},
    }
    assert run.no_data_lines(loaded, "demo", "2025-06-30") == [
        "the demo source has no data for 2026-11 .. 2026-12 (raw/btc_daily, raw/equity_prices: 0 rows; its "
        "data ends 2025-06-30)"
    ]
    assert run.last_month_loaded(loaded) is None
    loaded["btc_daily"]["2026-11"] = 30
    assert run.no_data_lines(loaded, "csv", None) == [
        "the csv source has no data for 2026-12 (raw/btc_daily: 0 rows)",
        "the csv source has no data for 2026-11 .. 2026-12 (raw/equity_prices: 0 rows)",
    ]
    assert str(run.last_month_loaded(loaded)) == "2026-11-01"


def test_a_missing_optional_input_is_one_sentence():
    assert run.missing_input_lines({"miner_operations": 0, "miner_balance_sheet": 12, "splits": 0}, "csv") == [
        "No miner operations from the csv source (miner_operations.csv absent or empty): the operations columns "
        "are null."
    ]
    assert run.missing_input_lines({"miner_balance_sheet": 0}, "live") == [
        "No balance sheets from the live source: enterprise values are null."
    ]
    assert run.missing_input_lines({}, "demo") == []  # not loaded by the run: nothing to say


def test_old_run_logs_are_pruned_to_the_newest(tmp_path):
    import os

    logs = [tmp_path / f"run-2026010{n}T000000Z-0000000{n}.log" for n in range(1, 6)]
    for age, path in enumerate(reversed(logs)):
        path.write_text("x")
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "notes.txt").write_text("not a run log")
    deleted = prune_run_logs(tmp_path, keep=2, current=logs[0])  # the current one is the oldest here
    assert sorted(deleted) == logs[1:4]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([logs[0].name, logs[4].name, "notes.txt"])
