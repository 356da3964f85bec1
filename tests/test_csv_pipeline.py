"""WAREHOUSE_SOURCE=csv end to end, and what bad input does to a warehouse that already published.

The folder holds 79 real days of chain data around the April 2024 halving (tests/fixtures/
real_btc_2024_halving, Coin Metrics community data, CC BY-NC 4.0, for testing) and the demo
generator's equity files for the same days, written as CSV the way an analyst exports them.
Every failure case must leave published.duckdb byte-for-byte as it was, readable by a connection
opened before the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.cli import run
from orchestration.core.settings import Settings, SettingsError, load_settings
from orchestration.raw.sources.demo import DemoSource

REAL_CHAIN = Path(__file__).parent / "fixtures" / "real_btc_2024_halving" / "btc_daily_2024-04-18_2024-07-05.csv"
FIRST, LAST = date(2024, 4, 18), date(2024, 7, 5)


def write_folder(folder: Path) -> Path:
    folder.mkdir()
    shutil.copy(REAL_CHAIN, folder / "btc_daily.csv")
    demo = DemoSource()
    demo.fetch("equity_prices", FIRST, LAST).to_csv(folder / "equity_prices.csv", index=False, date_format="%Y-%m-%d")
    demo.fetch("splits", None, LAST).to_csv(folder / "splits.csv", index=False, date_format="%Y-%m-%d")
    demo.fetch("shares_outstanding", None, LAST).to_csv(
        folder / "shares_outstanding.csv", index=False, date_format="%Y-%m-%d"
    )
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_csv(warehouse: Path, folder: Path, capsys) -> tuple[int, str]:
    code = run.main(dg.DagsterInstance.ephemeral(), Settings(warehouse_dir=warehouse, source="csv", csv_dir=folder))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def published_once(tmp_path_factory):
    """A csv warehouse that published successfully once: (folder, warehouse, exit code, output)."""
    root = tmp_path_factory.mktemp("csv")
    folder = write_folder(root / "exports")
    warehouse = root / "warehouse"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = run.main(dg.DagsterInstance.ephemeral(), Settings(warehouse_dir=warehouse, source="csv", csv_dir=folder))
    return folder, warehouse, code, out.getvalue()


@pytest.fixture
def warehouse_copy(published_once, tmp_path):
    """A private copy of the published csv warehouse and its export folder, to break."""
    folder, warehouse, code, _ = published_once
    assert code == 0
    shutil.copytree(folder, tmp_path / "exports")
    shutil.copytree(warehouse, tmp_path / "warehouse", ignore=shutil.ignore_patterns("gx"))
    return tmp_path / "exports", tmp_path / "warehouse"


def test_csv_source_builds_and_publishes_real_chain_numbers(published_once):
    _, warehouse, code, _ = published_once
    assert code == 0
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as conn:
        months = conn.execute(
            "select strftime(month, '%Y-%m'), is_partial_month, data_source, is_synthetic_data from "
            "mart_monthly_note order by month"
        ).fetchall()
        may = conn.execute(
            "select blocks_mined, subsidy_btc from mart_chain_monthly where month = '2024-05-01'"
        ).fetchone()
        log = conn.execute("select source, is_synthetic from publication_log").fetchall()
    assert [m[0] for m in months] == ["2024-04", "2024-05", "2024-06", "2024-07"]
    assert [m[1] for m in months] == [True, False, False, True]  # the real data starts 04-18, ends 07-05
    assert {(m[2], m[3]) for m in months} == {("csv", False)}
    assert log == [("csv", False)]
    real = pd.read_csv(REAL_CHAIN, parse_dates=["date"])
    in_may = real[real["date"].dt.month == 5]
    assert may[0] == in_may["blocks_mined"].sum()
    assert float(may[1]) == pytest.approx(in_may["blocks_mined"].sum() * 3.125)  # all of May after the halving


def test_without_the_optional_operations_files_the_summary_says_so_once(published_once):
    """The folder has only the four required files: the run publishes, and says once why the
    operations and enterprise-value columns are empty."""
    _, _, code, output = published_once
    assert code == 0, output[-2000:]
    lines = output.splitlines()
    operations = (
        "No miner operations from the csv source (miner_operations.csv absent or empty): the operations columns "
        "are null."
    )
    sheets = "No balance sheets from the csv source (balance_sheet.csv absent or empty): enterprise values are null."
    assert lines.count(operations) == 1 and lines.count(sheets) == 1
    assert lines.index(sheets) < next(i for i, line in enumerate(lines) if line.startswith("Published "))


def edit_csv(path: Path, change) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


def row_of(frame: pd.DataFrame, **where) -> int:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    return int(mask.idxmax())


def set_value(column: str, value: str, **where):
    def change(frame):
        frame.loc[row_of(frame, **where), column] = value
        return frame

    return change


CASES = {
    "non-numeric price": (
        "equity_prices.csv",
        set_value("close", "n/a", date="2024-05-01", ticker="MARA"),
        [
            "equity_prices.csv: row",
            "column 'close': value 'n/a' is not a valid DOUBLE",
            "step raw__equity_prices failed",
        ],
    ),
    "missing column": (
        "btc_daily.csv",
        lambda f: f.drop(columns=["fees_btc"]),
        ["btc_daily.csv: missing column(s) fees_btc", "step raw__btc_daily failed"],
    ),
    "duplicate (date, ticker)": (
        "equity_prices.csv",
        lambda f: pd.concat([f, f.iloc[[5]]]),
        ["equity_prices.csv: row", "column(s) 'date, ticker': duplicate key", "first seen at row 6"],
    ),
    "negative share count": (
        "shares_outstanding.csv",
        set_value("shares", "-1000", ticker="RIOT"),
        ["shares_outstanding.csv: row", "column 'shares': value '-1000' must be > 0"],
    ),
    "close x100 with no split on file": (
        "equity_prices.csv",
        set_value("close", "888.00", date="2024-05-01", ticker="MARA"),  # 8.88, the decimal point slipped
        [
            "check gx_raw.equity_prices on raw/equity_prices failed (ERROR)",
            "- critical expect_column_values_to_be_null failed on raw.equity_prices.implausible_one_day_move (2 "
            "unexpected of 756 rows): MARA closed at 888 on 2024-05-01 after 9.47 on 2024-04-30: x93.8 in one "
            "session, and no split is on file between the two days (beyond x5 or /5 a split must explain the move); "
            "example row: {'date': '2024-05-01', 'ticker': 'MARA'}",
        ],
    ),
    "shares x1000 between reports, and a report of 1 share": (
        "shares_outstanding.csv",
        lambda f: set_value("shares", "1", ticker="RIOT", as_of="2024-06-30")(
            set_value("shares", "153727012000", ticker="CLSK", as_of="2024-06-30")(f)
        ),
        [
            "check gx_raw.shares_outstanding on raw/shares_outstanding failed (ERROR)",
            "- critical expect_column_values_to_be_null failed on raw.shares_outstanding.implausible_shares_change (2 "
            "unexpected of 204 rows): CLSK reported 153,727,012,000 shares on 2024-06-30 after 149,182,257 on "
            "2024-03-31: x1030.5 between the two reports, and no split is on file between the two report dates "
            "(beyond x10 or /10 a split must explain the change); example row: {'ticker': 'CLSK', 'as_of': "
            "'2024-06-30'}",
            "- critical expect_column_values_to_be_between failed on raw.shares_outstanding.shares (1 unexpected of "
            "204 rows); example row: {'ticker': 'RIOT', 'as_of': '2024-06-30', 'shares': 1}",
        ],
    ),
    "gap in chain days": (
        "btc_daily.csv",
        lambda f: f[f["date"] != "2024-05-15"],
        [
            "check gx_raw.btc_daily on raw/btc_daily failed (ERROR)",
            "raw.btc_daily.days_since_previous",
            "example row: {'date': '2024-05-16'",
        ],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_with_its_reason_and_leaves_the_published_file(case, warehouse_copy, capsys):
    folder, warehouse = warehouse_copy
    published = warehouse / "published.duckdb"
    file_name, change, messages = CASES[case]
    edit_csv(folder / file_name, change)
    before = sha256(published)
    reader = duckdb.connect(str(published), read_only=True)

    code, output = run_csv(warehouse, folder, capsys)

    assert code == 1
    assert "RUN FAILED - nothing was published" in output
    # the failing step's line, and the full log named last
    assert re.search(r"^\[\s*\d+/\d+\] [\w /]+: FAILED  \d+\.\d s$", output, re.MULTILINE), output[-3000:]
    log = re.search(r"^The full log: (\S+) \(\d+ s\)$", output, re.MULTILINE)
    assert log and Path(log[1]).parent == warehouse / "logs" and "STEP_FAILURE" in Path(log[1]).read_text()
    for message in messages:
        assert message in output, output[-3000:]
    assert sha256(published) == before
    assert reader.execute("select count(*) from mart_monthly_note").fetchone()[0] == 4
    reader.close()
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select count(*) from publication_log").fetchone()[0] == 1


def test_warning_level_anomalies_are_reported_but_publish(warehouse_copy, capsys):
    """A moderate one-day move (+69%), closes of a ticker outside the universe and a split dated
    on a Saturday are shown and recorded, and the run publishes."""
    folder, warehouse = warehouse_copy

    def add_outside_ticker(frame):
        extra = frame[frame["ticker"] == "MARA"].assign(ticker="APLD")
        return pd.concat([frame, extra])

    edit_csv(folder / "equity_prices.csv", add_outside_ticker)
    # 9.47 the session before: +69%, a warning (beyond x5 would block)
    edit_csv(folder / "equity_prices.csv", set_value("close", "16.00", date="2024-05-01", ticker="MARA"))
    edit_csv(folder / "splits.csv", set_value("ex_date", "2024-06-08", ticker="IREN", ex_date="2024-06-10"))
    closes = pd.read_csv(folder / "equity_prices.csv")
    outside_rows = int((closes["ticker"] == "APLD").sum())

    code, output = run_csv(warehouse, folder, capsys)

    assert code == 0, output[-3000:]
    assert "warning: check gx_raw.equity_prices on raw/equity_prices failed (WARN)" in output
    assert "raw.equity_prices.one_day_move" in output and "'ticker': 'MARA'" in output
    assert "\n- warning expect_column_values_to_be_between failed on raw.equity_prices.one_day_move" in output
    assert (
        f"\n- warning expect_column_values_to_be_null failed on raw.equity_prices.outside_universe ({outside_rows} "
        f"unexpected of {len(closes)} rows): closes of 1 ticker not in the miner universe (the built-in seed "
        f"seeds/miner_universe.csv), which every mart leaves out: APLD ({outside_rows} rows); example row: "
        "{'date': '2024-04-18', 'ticker': 'APLD'}"
    ) in output
    assert "warning: check gx_raw.splits on raw/splits failed (WARN)" in output
    assert (
        "\n- warning expect_column_values_to_be_null failed on raw.splits.ex_date_not_a_session (1 unexpected of 4 "
        "rows): IREN's split (ratio 3) is dated 2024-06-08, a Saturday the NYSE was closed: it applies from the next "
        "session, 2024-06-10; example row: {'ticker': 'IREN', 'ex_date': '2024-06-08'}"
    ) in output
    assert "implausible_one_day_move" not in output  # IREN's split still adjusts its Friday-to-Monday move
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as conn:
        gate = conn.execute("select gate_result from publication_log order by published_at desc limit 1").fetchone()[0]
        assert conn.execute("select count(*) from publication_log").fetchone()[0] == 2
        members = conn.execute("select distinct ticker from mart_miner_monthly order by ticker").fetchall()
    assert "raw/equity_prices:gx_raw.equity_prices" in gate and "raw/splits:gx_raw.splits" in gate
    assert ("APLD",) not in members
    assert re.match(r"passed: (\d+) blocking checks clear the build \(\1 evaluated in this run\)", gate), gate


def test_a_shorter_export_is_refused_unless_the_user_allows_it(warehouse_copy, capsys):
    """A full refresh from an export that stops a month earlier than the last publication: refused,
    naming the month readers would lose and the setting; published with WAREHOUSE_ALLOW_SHRINK=1."""
    folder, warehouse = warehouse_copy
    for name, column in (("btc_daily.csv", "date"), ("equity_prices.csv", "date")):
        frame = pd.read_csv(folder / name, dtype=str)
        frame[frame[column] < "2024-07-01"].to_csv(folder / name, index=False)
    before = sha256(warehouse / "published.duckdb")

    code, output = run_csv(warehouse, folder, capsys)

    assert code == 1, output[-2000:]
    assert "RUN FAILED - nothing was published; the published file is unchanged." in output
    assert (
        "- step published_warehouse failed: not published: readers would lose the months 2024-07 .. 2024-07 "
        "(readers have 2024-04 .. 2024-07), which the current publication has; a source with less history than "
        "the last publication, e.g. a truncated export? Readers keep the current publication. To publish the "
        "shorter history anyway: WAREHOUSE_ALLOW_SHRINK=1\n"
    ) in output
    assert "Traceback" not in output
    assert sha256(warehouse / "published.duckdb") == before

    settings = Settings(warehouse_dir=warehouse, source="csv", csv_dir=folder, allow_shrink=True)
    code = run.main(dg.DagsterInstance.ephemeral(), settings)
    output = capsys.readouterr()
    output = output.out + output.err
    assert code == 0, output[-2000:]
    assert "warning: the published history is shorter than before: readers no longer have 2024-07 .. 2024-07" in output
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as conn:
        assert conn.execute("select max(month) from mart_monthly_note").fetchone()[0] == date(2024, 6, 1)
    assert load_settings({"WAREHOUSE_ALLOW_SHRINK": "1"}).allow_shrink
    assert not load_settings({"WAREHOUSE_ALLOW_SHRINK": "0"}).allow_shrink
    with pytest.raises(SettingsError, match=r"WAREHOUSE_ALLOW_SHRINK='maybe' is not 1 \(yes\) or 0 \(no\)"):
        load_settings({"WAREHOUSE_ALLOW_SHRINK": "maybe"})


def test_reloading_a_past_month_keeps_the_rest_and_republishes_the_same_numbers(warehouse_copy, capsys):
    """A range run replaces only its months of daily data and only the share reports up to its end;
    the later reports an earlier run loaded stay, so nothing published changes."""
    folder, warehouse = warehouse_copy

    def snapshot():
        with (
            duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as build,
            duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as published,
        ):
            return (
                build.execute("select * from raw.shares_outstanding order by all").fetchall(),
                build.execute("select * from raw.equity_prices order by all").fetchall(),
                published.execute("select * from mart_monthly_note order by month").fetchall(),
            )

    before = snapshot()
    code = run.main(
        dg.DagsterInstance.ephemeral(),
        Settings(warehouse_dir=warehouse, source="csv", csv_dir=folder),
        months="2024-05..2024-05",
    )
    output = capsys.readouterr()
    assert code == 0, output.err[-2000:]
    assert "months 2024-05 .. 2024-05" in output.out
    assert "shorter than before" not in output.out + output.err  # a range run keeps the published months
    shares, prices, note = snapshot()
    assert (shares, prices) == before[:2]
    # DuckDB's parallel aggregation may sum in another order: equal to the last few bits
    assert note == [tuple(pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for v in row) for row in before[2]]


def test_a_member_without_a_market_cap_blocks_unless_the_analyst_allows_it(warehouse_copy, capsys):
    """MARA trades but has no shares report: it would drop out of the combined cap silently. The
    gate stops the run, naming it and the months; listed in WAREHOUSE_ALLOW_MISSING_CAP it
    publishes, and the summary says how many members have a cap."""
    folder, warehouse = warehouse_copy
    edit_csv(folder / "shares_outstanding.csv", lambda f: f[f["ticker"] != "MARA"])
    before = sha256(warehouse / "published.duckdb")

    code, output = run_csv(warehouse, folder, capsys)

    assert code != 0
    assert "members_have_a_market_cap" in output and "RUN FAILED - nothing was published" in output
    assert (
        "  MARA is a member without a market cap in 2024-04, 2024-05, 2024-06 (no shares report on or before its "
        "close)\n  Add its shares reports, or publish without its cap: "
        "WAREHOUSE_ALLOW_MISSING_CAP=MARA:2024-04,MARA:2024-05,MARA:2024-06"
    ) in output
    assert sha256(warehouse / "published.duckdb") == before

    allowed = "MARA:2024-04,MARA:2024-05, mara:2024-06"  # as printed, or by hand
    settings = Settings(
        warehouse_dir=warehouse,
        source="csv",
        csv_dir=folder,
        missing_caps_allowed=("MARA:2024-04", "MARA:2024-05", "MARA:2024-06"),
    )
    assert load_settings({"WAREHOUSE_ALLOW_MISSING_CAP": allowed}).missing_caps_allowed == settings.missing_caps_allowed
    code = run.main(dg.DagsterInstance.ephemeral(), settings)
    output = capsys.readouterr().out
    assert code == 0, output[-2000:]
    assert re.search(r"^  (\d+) of (\d+) members have a market cap \(MARA: no shares report\), combined", output, re.M)
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as conn:
        row = conn.execute(
            "select miner_count - members_with_market_cap, members_without_market_cap from mart_monthly_note "
            "where month = '2024-06-01'"
        ).fetchone()
    assert row == (1, "MARA")


def test_an_allow_list_entry_must_name_a_ticker_and_a_month():
    with pytest.raises(
        SettingsError, match=r"WAREHOUSE_ALLOW_MISSING_CAP='MARA 2024-06': 'MARA' is not TICKER:YYYY-MM"
    ):
        load_settings({"WAREHOUSE_ALLOW_MISSING_CAP": "MARA 2024-06"})
