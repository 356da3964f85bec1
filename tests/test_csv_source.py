"""The csv source through the raw loader, into an in-memory DuckDB: good files load with their
values untouched, each kind of bad input stops the load naming the file, 1-based row, column and
value, and the optional files (universe, miner operations, balance sheets) may be absent."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.raw.contract import DATASETS, RawDataError
from orchestration.raw.loader import LoadResult, load_frame
from orchestration.raw.sources.csv_files import CsvSource

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
REQUIRED = ("btc_daily", "equity_prices", "splits", "shares_outstanding")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for path in FIXTURES.glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def load(source: CsvSource, dataset: str, conn: duckdb.DuckDBPyConnection | None = None) -> LoadResult:
    return load_frame(
        conn or duckdb.connect(),
        dataset,
        source.fetch(dataset),
        origin=source.origin(dataset),
        source_name=source.name,
        synthetic=source.synthetic,
    )


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_good_files_load_typed(folder: Path) -> None:
    source, conn = CsvSource(folder), duckdb.connect()
    counts = {dataset: load(source, dataset, conn).row_count for dataset in REQUIRED}
    assert counts == {"btc_daily": 6, "equity_prices": 6, "splits": 2, "shares_outstanding": 3}
    halving_day = conn.execute(
        "select block_height, blocks_mined, difficulty, hashrate_ehs, supply_btc "
        "from raw.btc_daily where date = date '2024-04-19'"
    ).fetchone()
    assert halving_day == (840003, 151, 86388558833633.0, 648.454181, 19687292.99271483)
    assert conn.execute("select close from raw.equity_prices where ticker = 'RIOT' order by date").fetchall() == [
        (9.87,),
        (9.95,),
        (10.41,),
    ]
    assert conn.execute("select * from raw.splits order by ticker").fetchall() == [
        ("MARA", date(2019, 4, 8), 0.25),
        ("SDIG", date(2023, 5, 15), 0.1),
    ]
    described = conn.execute("describe raw.shares_outstanding").fetchall()
    assert {row[0]: row[1] for row in described} == DATASETS["shares_outstanding"].columns


def test_values_arrive_untouched_as_text_in_file_order(folder: Path) -> None:
    frame = CsvSource(folder).fetch("equity_prices")
    assert list(frame.columns) == ["date", "ticker", "close"]  # the extra `currency` is ignored
    assert frame.iloc[0].tolist() == ["2024-06-03", "MARA", "22.12"]
    assert frame["ticker"].tolist() == ["MARA", "RIOT"] * 3


def test_empty_hashrate_loads_as_null(folder: Path) -> None:
    replace_in(folder / "btc_daily.csv", ",558.271814,", ",,")  # 2024-04-20, the 3rd data row
    conn = duckdb.connect()
    load(CsvSource(folder), "btc_daily", conn)
    assert conn.execute("select hashrate_ehs from raw.btc_daily where date = date '2024-04-20'").fetchone() == (None,)


def _without_ratio(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n", encoding="utf-8")


BAD_INPUT: list[tuple[str, str, Callable[[Path], None], str]] = [
    (
        "non-numeric price",
        "equity_prices.csv",
        lambda path: replace_in(path, "2024-06-04,MARA,22.64", "2024-06-04,MARA,abc"),
        "row 3 (date 2024-06-04, ticker MARA), column 'close': value 'abc' is not a valid DOUBLE (a finite "
        "decimal number)",
    ),
    (
        "missing column",
        "splits.csv",
        _without_ratio,
        "missing column(s) ratio; expected ticker, ex_date, ratio; the file's header: ticker,ex_date",
    ),
    (
        "bad date",
        "shares_outstanding.csv",
        lambda path: replace_in(path, "RIOT,2024-04-24", "RIOT,2024-04-31"),
        "row 2 (ticker RIOT, as_of 2024-04-31), column 'as_of': value '2024-04-31' is not a valid DATE (an ISO "
        "date YYYY-MM-DD)",
    ),
    (
        "duplicate (date, ticker)",
        "equity_prices.csv",
        lambda path: replace_in(path, "2024-06-04,RIOT", "2024-06-03,RIOT"),
        "row 4, column(s) 'date, ticker': duplicate key (2024-06-03, RIOT), first seen at row 2",
    ),
    (
        "duplicate ticker in another case",
        "equity_prices.csv",
        lambda path: replace_in(path, "2024-06-04,RIOT", "2024-06-03, riot"),
        "row 4, column(s) 'date, ticker': duplicate key (2024-06-03, RIOT), first seen at row 2",
    ),
    *(
        (
            f"price {text}",
            "equity_prices.csv",
            lambda path, text=text: replace_in(path, "2024-06-04,MARA,22.64", f"2024-06-04,MARA,{text}"),
            f"row 3 (date 2024-06-04, ticker MARA), column 'close': value '{text}' is not a valid DOUBLE (a "
            "finite decimal number)",
        )
        for text in ("inf", "1e400", "nan", "1_000")
    ),
    *(
        (
            f"date {text}",
            "equity_prices.csv",
            lambda path, text=text: replace_in(path, "2024-06-04,MARA", f"{text},MARA"),
            f"row 3 (date {text}, ticker MARA), column 'date': value '{text}' is not a valid DATE (an ISO date "
            "YYYY-MM-DD)",
        )
        for text in ("2024/06/04", "2024-6-4", "2024-06-04 13:00", "infinity")
    ),
    (
        "fractional shares",
        "shares_outstanding.csv",
        lambda path: replace_in(path, "294231000", "294231000.7"),
        "row 1 (ticker MARA, as_of 2024-04-26), column 'shares': value '294231000.7' is not a valid BIGINT (a "
        "whole number)",
    ),
    (
        "month 13",
        "miner_operations.csv",
        lambda path: replace_in(path, "MARA,2024-06,", "MARA,2024-13,"),
        "row 3 (ticker MARA, month 2024-13), column 'month': value '2024-13' is not a valid month (YYYY-MM)",
    ),
    (
        "a day that is not the month's first",
        "miner_operations.csv",
        lambda path: replace_in(path, "MARA,2024-06,", "MARA,2024-06-15,"),
        "row 3 (ticker MARA, month 2024-06), column 'month': value '2024-06-15' is not a month (YYYY-MM, or the "
        "month's first day)",
    ),
    (
        "negative production",
        "miner_operations.csv",
        lambda path: replace_in(path, ",616,", ",-616,"),
        "row 1 (ticker MARA, month 2024-05), column 'btc_produced': value '-616' must be >= 0",
    ),
    (
        "zero power cost",
        "miner_operations.csv",
        lambda path: replace_in(path, ",35.1", ",0"),
        "row 2 (ticker RIOT, month 2024-05), column 'power_cost_usd_per_mwh': value '0' must be > 0",
    ),
    (
        "duplicate (ticker, month)",
        "miner_operations.csv",
        lambda path: replace_in(path, "RIOT,2024-06", "RIOT,2024-05"),
        "row 4, column(s) 'ticker, month': duplicate key (RIOT, 2024-05), first seen at row 2",
    ),
    (
        "duplicate month spelt as its first day",
        "miner_operations.csv",
        lambda path: replace_in(path, "RIOT,2024-06", "riot,2024-05-01"),
        "row 4, column(s) 'ticker, month': duplicate key (RIOT, 2024-05), first seen at row 2",
    ),
    (
        "negative cash",
        "balance_sheet.csv",
        lambda path: replace_in(path, "RIOT,2024-03-31,689000000", "RIOT,2024-03-31,-689000000"),
        "row 2 (ticker RIOT, as_of 2024-03-31), column 'cash_usd': value '-689000000' must be >= 0",
    ),
    (
        "a row with a field too many",
        "equity_prices.csv",
        lambda path: replace_in(path, "2024-06-04,MARA,22.64,USD", "2024-06-04,MARA,22.64,USD,x"),
        "row 3 has 5 fields, the header 4 (date, ticker, close, currency): '2024-06-04,MARA,22.64,USD,x'",
    ),
    (
        "the first row with a field too many",
        "equity_prices.csv",
        lambda path: replace_in(path, "2024-06-03,MARA,22.12,USD", "2024-06-03,MARA,22.12,USD,x"),
        "row 1 has 5 fields, the header 4 (date, ticker, close, currency): '2024-06-03,MARA,22.12,USD,x'",
    ),
]


@pytest.mark.parametrize(("file", "spoil", "message"), [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_names_file_row_column_and_value(
    folder: Path, file: str, spoil: Callable[[Path], None], message: str
) -> None:
    path = folder / file
    spoil(path)
    source = CsvSource(folder)
    dataset = next(name for name in DATASETS if source.path(name) == path)
    with pytest.raises(RawDataError) as caught:
        load(source, dataset)
    assert str(caught.value) == f"{path}: {message}"


def test_missing_universe_is_an_empty_universe(folder: Path) -> None:
    source = CsvSource(folder)
    frame = source.fetch("miner_universe")
    assert frame.empty and list(frame.columns) == list(DATASETS["miner_universe"].columns)
    assert load(source, "miner_universe").row_count == 0


def test_universe_file_loads_with_empty_delisting_as_null(folder: Path) -> None:
    (folder / "universe.csv").write_text(
        "ticker,name,exchange,listed_on,delisted_on\n"
        "MARA,MARA Holdings Inc.,NASDAQ,2012-05-04,\n"
        "SDIG,Stronghold Digital Mining Inc.,NASDAQ,2021-10-20,2025-03-14\n",
        encoding="utf-8",
    )
    conn = duckdb.connect()
    assert load(CsvSource(folder), "miner_universe", conn).row_count == 2
    assert conn.execute("select ticker, delisted_on from raw.miner_universe order by ticker").fetchall() == [
        ("MARA", None),
        ("SDIG", date(2025, 3, 14)),
    ]


def test_operations_and_balance_sheets_load_typed_with_months_as_first_days(folder: Path) -> None:
    source, conn = CsvSource(folder), duckdb.connect()
    assert load(source, "miner_operations", conn).row_count == 4
    assert load(source, "miner_balance_sheet", conn).row_count == 3
    assert conn.execute(
        "select ticker, month, btc_produced, fleet_efficiency_j_per_th, power_cost_usd_per_mwh "
        "from raw.miner_operations where month = date '2024-06-01' order by ticker"
    ).fetchall() == [("MARA", date(2024, 6, 1), 590.0, 21.2, None), ("RIOT", date(2024, 6, 1), 255.0, 24.0, 34.8)]
    assert conn.execute("select * from raw.miner_balance_sheet order by as_of, ticker limit 1").fetchone() == (
        "MARA",
        date(2024, 3, 31),
        324_000_000.0,
        747_000_000.0,
    )
    for dataset in ("miner_operations", "miner_balance_sheet"):
        described = conn.execute(f"describe raw.{dataset}").fetchall()
        assert {row[0]: row[1] for row in described} == DATASETS[dataset].columns


def test_a_month_may_be_given_as_its_first_day(folder: Path) -> None:
    replace_in(folder / "miner_operations.csv", "MARA,2024-06,", "MARA,2024-06-01,")
    conn = duckdb.connect()
    load(CsvSource(folder), "miner_operations", conn)
    assert conn.execute("select count(*) from raw.miner_operations where month = date '2024-06-01'").fetchone() == (2,)


def test_absent_operations_and_balance_sheets_load_as_empty_tables(folder: Path) -> None:
    (folder / "miner_operations.csv").unlink()
    (folder / "balance_sheet.csv").unlink()
    source, conn = CsvSource(folder), duckdb.connect()
    for dataset in ("miner_operations", "miner_balance_sheet"):
        assert list(source.fetch(dataset).columns) == list(DATASETS[dataset].columns)
        result = load(source, dataset, conn)
        assert (result.row_count, result.table_rows, result.first_date) == (0, 0, None)
        described = conn.execute(f"describe raw.{dataset}").fetchall()
        assert {row[0]: row[1] for row in described} == DATASETS[dataset].columns


def test_missing_required_file_names_path_and_columns(folder: Path) -> None:
    (folder / "splits.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"splits\.csv: missing; .* ticker, ex_date, ratio"):
        CsvSource(folder).fetch("splits")


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        CsvSource(tmp_path / "nowhere")


def test_excel_bom_is_tolerated_and_origin_is_the_path(folder: Path) -> None:
    path = folder / "splits.csv"
    path.write_text(path.read_text(encoding="utf-8"), encoding="utf-8-sig")
    source = CsvSource(folder)
    assert source.origin("splits") == str(path)
    assert load(source, "splits").row_count == 2


def test_non_utf8_file_is_a_clear_error(folder: Path) -> None:
    path = folder / "equity_prices.csv"
    path.write_bytes(path.read_bytes().replace(b"USD", b"\xa4"))
    with pytest.raises(RawDataError, match=re.escape(f"{path}: not UTF-8 text")):
        CsvSource(folder).fetch("equity_prices")


def test_a_header_that_does_not_match_is_shown_as_read(folder: Path) -> None:
    path = folder / "btc_daily.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].replace("price_usd", "price").replace("fees_btc", "Fees (BTC)")
    path.write_text("\n".join([header, *lines[1:]]) + "\n", encoding="utf-8-sig")
    with pytest.raises(RawDataError) as caught:
        CsvSource(folder).fetch("btc_daily")
    assert str(caught.value) == (
        f"{path}: missing column(s) price_usd, fees_btc; expected date, price_usd, hashrate_ehs, difficulty, "
        f"block_height, blocks_mined, fees_btc, supply_btc; the file's header: {header}"
    )
    path.write_text("")
    with pytest.raises(
        RawDataError, match=r"missing column\(s\) date, .*; the file's header: none, the file is empty$"
    ):
        CsvSource(folder).fetch("btc_daily")


HUGE = 5_000_000  # characters: what an error message quotes of a field is cut at 200


def test_a_huge_field_is_cut_where_an_error_quotes_it(folder: Path) -> None:
    path = folder / "equity_prices.csv"
    replace_in(path, "2024-06-04,MARA,22.64", f"2024-06-04,MARA,{'9' * 10}{'x' * HUGE}")
    with pytest.raises(RawDataError) as caught:
        load(CsvSource(folder), "equity_prices")
    shown = "9" * 10 + "x" * 190
    assert str(caught.value) == (
        f"{path}: row 3 (date 2024-06-04, ticker MARA), column 'close': value '{shown}'… ({HUGE + 10:,} "
        "characters) is not a valid DOUBLE (a finite decimal number)"
    )


def test_a_huge_key_and_a_huge_ragged_row_are_cut(folder: Path) -> None:
    path = folder / "equity_prices.csv"
    replace_in(path, "2024-06-04,MARA,22.64", f"2024-06-04,{'M' * HUGE},abc")
    with pytest.raises(RawDataError) as caught:
        load(CsvSource(folder), "equity_prices")
    assert f"(date 2024-06-04, ticker {'M' * 200}… ({HUGE:,} characters)), column 'close'" in str(caught.value)
    assert len(str(caught.value)) < 1000
    replace_in(path, f"2024-06-04,{'M' * HUGE},abc", "2024-06-04,MARA,22.64")
    replace_in(path, "2024-06-04,MARA,22.64,USD", f"2024-06-04,MARA,22.64,USD,{'y' * HUGE}")
    with pytest.raises(RawDataError) as caught:
        CsvSource(folder).fetch("equity_prices")
    # beyond the csv module's default field limit (128 KiB) too: the row, cut
    assert str(caught.value) == (
        f"{path}: row 3 has 5 fields, the header 4 (date, ticker, close, currency): "
        f"'{('2024-06-04,MARA,22.64,USD,' + 'y' * 200)[:200]}'… ({HUGE + 26:,} characters)"
    )
    replace_in(path, "y" * HUGE, "y" * 50_000)
    with pytest.raises(RawDataError) as caught:
        CsvSource(folder).fetch("equity_prices")
    assert str(caught.value) == (
        f"{path}: row 3 has 5 fields, the header 4 (date, ticker, close, currency): "
        f"'{('2024-06-04,MARA,22.64,USD,' + 'y' * 200)[:200]}'… (50,026 characters)"
    )
    assert csv.field_size_limit() == 131_072  # the process-wide limit is left as it was


def test_quoted_values_are_cut_at_200_characters() -> None:
    from orchestration.raw.contract import cut, quoted

    assert quoted("abc") == "'abc'" and cut("abc") == "abc"
    assert quoted("a" * 201) == f"'{'a' * 200}'… (201 characters)"
    assert cut("b" * 1_000_000) == f"{'b' * 200}… (1,000,000 characters)"


ENCODINGS = {
    "UTF-16 with a byte-order mark": (
        lambda text: text.encode("utf-16"),
        "UTF-16 text (it starts with a UTF-16 byte-order mark; Excel's 'Unicode Text'); save it as UTF-8 "
        "(Excel: CSV UTF-8) and run again",
    ),
    "UTF-16 without one": (
        lambda text: text.encode("utf-16-le"),
        "UTF-16 text without a byte-order mark (NUL bytes between the characters); save it as UTF-8 (Excel: CSV "
        "UTF-8) and run again",
    ),
    "Latin-1": (
        lambda text: text.replace("USD", "USé").encode("latin-1"),
        "not UTF-8 text: byte 0xe9 at line 2 (byte 51) is not valid UTF-8 (saved as Latin-1 or Windows-1252, as "
        "older Excel versions do?); save it as UTF-8 (Excel: CSV UTF-8) and run again",
    ),
    "NUL bytes": (
        lambda text: text.replace("22.64", "22\x00.64").encode(),
        "a binary file, not CSV text (a NUL byte at byte 96)",
    ),
    "binary": (lambda text: bytes(range(256)) * 4, "a binary file, not CSV text (a NUL byte at byte 0)"),
    "a workbook": (lambda text: b"PK\x03\x04" + text.encode(), "a ZIP file (an Excel workbook?), not CSV text"),
}


@pytest.mark.parametrize(("spoil", "message"), ENCODINGS.values(), ids=ENCODINGS)
def test_a_file_that_is_not_utf8_text_is_named_with_its_problem(folder: Path, spoil, message: str) -> None:
    path = folder / "equity_prices.csv"
    path.write_bytes(spoil(path.read_text(encoding="utf-8")))
    with pytest.raises(RawDataError) as caught:
        CsvSource(folder).fetch("equity_prices")
    assert str(caught.value) == f"{path}: {message}"


def test_utf8_with_or_without_a_bom_loads(folder: Path) -> None:
    path = folder / "equity_prices.csv"
    text = path.read_text(encoding="utf-8").replace("USD", "US€")
    for encoding in ("utf-8", "utf-8-sig"):
        path.write_text(text, encoding=encoding)
        assert load(CsvSource(folder), "equity_prices").row_count == 6


def test_a_share_count_beyond_bigint_names_file_row_column_and_value(folder: Path) -> None:
    path = folder / "shares_outstanding.csv"
    replace_in(path, "294231000", "99999999999999999999")
    with pytest.raises(RawDataError) as caught:
        load(CsvSource(folder), "shares_outstanding")
    assert str(caught.value) == (
        f"{path}: row 1 (ticker MARA, as_of 2024-04-26), column 'shares': value '99999999999999999999' is out of "
        "range for BIGINT (-9,223,372,036,854,775,808 .. 9,223,372,036,854,775,807)"
    )


def test_a_typed_override_beyond_bigint_is_the_same_one_line_error() -> None:
    import pandas as pd

    from orchestration.raw.text_values import typed_text_rows

    frame = pd.DataFrame({"ticker": ["MARA"], "as_of": ["2024-01-31"], "shares": ["99999999999999999999"]})
    with pytest.raises(RawDataError) as caught:
        typed_text_rows(frame, DATASETS["shares_outstanding"], "overrides.csv")
    assert str(caught.value) == (
        "overrides.csv: row 1 (ticker MARA, as_of 2024-01-31), column 'shares': value '99999999999999999999' is out "
        "of range for BIGINT (-9,223,372,036,854,775,808 .. 9,223,372,036,854,775,807)"
    )


def test_date_range_is_ignored_whole_files_load(folder: Path) -> None:
    source = CsvSource(folder)
    assert len(source.fetch("equity_prices", date(2030, 1, 1), date(2030, 1, 31))) == 6
