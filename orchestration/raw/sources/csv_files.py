"""The analyst's CSV exports as a source: one file per dataset in one folder, handed over untouched.

Why untouched: the raw loader already validates and casts every frame in DuckDB and names the
origin, the 1-based data row, the column and the value of the first bad one. Parsing here would
either duplicate those rules or lose the row numbers, so this module only reads text: every value as
the string in the file, an empty cell as missing, rows in file order (row n of an error is line
n + 1 of the file; blank lines are skipped and not counted), and only the dataset's columns that are
present. A file without some of them is refused here, with the header the file has (the loader
would see only the columns kept). Extra columns are ignored.

Files, in the folder given (WAREHOUSE_CSV_DIR): UTF-8 (a BOM is tolerated, as Excel writes one),
a header row, ISO dates, `.` decimals. Anything else (UTF-16, Latin-1, a binary or ZIP file) is
refused in one line naming the file and the problem (encoding_problem, _not_utf8).

    btc_daily.csv           date, price_usd, hashrate_ehs, difficulty, block_height, blocks_mined,
                            fees_btc, supply_btc  (hashrate_ehs may be empty)
    equity_prices.csv       date, ticker, close  (unadjusted USD close)
    splits.csv              ticker, ex_date, ratio
    shares_outstanding.csv  ticker, as_of, shares
    universe.csv            ticker, name, exchange, listed_on, delisted_on  (optional: absent means
                            an empty universe, i.e. the built-in dbt seed is used)
    miner_operations.csv    ticker, month (YYYY-MM), operating_hashrate_ehs, installed_hashrate_ehs,
                            btc_produced, btc_held, btc_sold, fleet_efficiency_j_per_th,
                            power_cost_usd_per_mwh  (optional; the last two may be empty)
    balance_sheet.csv       ticker, as_of, cash_usd, total_debt_usd  (optional)

Date ranges are ignored: the csv source loads whole files every time, so a partitioned run reloads
the whole file and error row numbers stay the file's.
"""

from __future__ import annotations

import csv
import sys
import warnings
from datetime import date
from pathlib import Path

import pandas as pd

from orchestration.raw.contract import DATASETS, Dataset, RawDataError, cut, missing_columns, quoted
from orchestration.raw.sources.base import RawSource

FILES = {
    "btc_daily": "btc_daily.csv",
    "equity_prices": "equity_prices.csv",
    "splits": "splits.csv",
    "shares_outstanding": "shares_outstanding.csv",
    "miner_universe": "universe.csv",
    "miner_operations": "miner_operations.csv",
    "miner_balance_sheet": "balance_sheet.csv",
}
OPTIONAL = frozenset({"miner_universe", "miner_operations", "miner_balance_sheet"})


SAVE_AS_UTF8 = "save it as UTF-8 (Excel: CSV UTF-8) and run again"
# What a file that is not CSV text starts with: byte-order marks of the encodings Excel and others
# offer besides UTF-8, and the containers a file saved under the wrong name may be.
NOT_UTF8_STARTS = (
    (b"\xff\xfe\x00\x00", "UTF-32 text (it starts with a UTF-32 byte-order mark)"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (it starts with a UTF-32 byte-order mark)"),
    (b"\xff\xfe", "UTF-16 text (it starts with a UTF-16 byte-order mark; Excel's 'Unicode Text')"),
    (b"\xfe\xff", "UTF-16 text (it starts with a UTF-16 byte-order mark)"),
    (b"PK\x03\x04", "a ZIP file (an Excel workbook?), not CSV text"),
    (b"\x1f\x8b", "a gzip-compressed file, not CSV text"),
)
SNIFF_BYTES = 65536
NUL = b"\x00"


def encoding_problem(path: Path) -> str | None:
    """Why `path` is not UTF-8 CSV text, judged from its first bytes (a byte-order mark, NUL bytes
    or a container's signature), or None."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    for start, what in NOT_UTF8_STARTS:
        if head.startswith(start):
            return f"{what}; {SAVE_AS_UTF8}" if "text (" in what else what
    if b"\x00" in head:
        zeros = head.count(b"\x00")
        if zeros * 3 >= len(head):  # every other byte: UTF-16 without a byte-order mark
            return f"UTF-16 text without a byte-order mark (NUL bytes between the characters); {SAVE_AS_UTF8}"
        return f"a binary file, not CSV text (a NUL byte at byte {head.index(NUL)})"
    return None


def _not_utf8(path: Path, error: UnicodeDecodeError) -> str:
    """'not UTF-8 text: byte 0xe9 at line 3 (byte 51) ...', with the likely encoding and the way on.
    Found again in the whole file: pandas decodes in chunks, so its error's position is the chunk's."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as whole:
        error, line = whole, data.count(b"\n", 0, whole.start) + 1
    else:
        line = None
    where = f"line {line} (byte {error.start})" if line else f"byte {error.start}"
    return (
        f"not UTF-8 text: byte {error.object[error.start]:#04x} at {where} is not valid UTF-8 "
        f"(saved as Latin-1 or Windows-1252, as older Excel versions do?); {SAVE_AS_UTF8}"
    )


def read_text_csv(path: Path, dataset: Dataset) -> pd.DataFrame:
    """The columns of `dataset` present in `path`, as text in file order; empty cells are None."""
    problem = encoding_problem(path)
    if problem:
        raise RawDataError(f"{path}: {problem}")
    try:
        # A row with more fields than the header is an error: not an index column (pandas' guess
        # when the first data row has one field too many), not silently cut (index_col=False's
        # ParserWarning).
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False)
    except pd.errors.EmptyDataError as error:  # no header at all
        raise missing_columns(str(path), dataset, list(dataset.columns), header="none, the file is empty") from error
    except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
        raise RawDataError(f"{path}: {_ragged_row(path) or cut(str(error).strip())}") from error
    except UnicodeDecodeError as error:
        raise RawDataError(f"{path}: {_not_utf8(path, error)}") from error
    present = [column for column in dataset.columns if column in frame.columns]
    missing = [column for column in dataset.columns if column not in frame.columns]
    if missing:  # named here, where the header the file has is known (the loader sees only the columns kept)
        raise missing_columns(str(path), dataset, missing, header=",".join(map(str, frame.columns)))
    return frame[present].replace("", None)


def _ragged_row(path: Path) -> str | None:
    """The first data row with more fields than the header, described (only called on an error).
    Fields of any size are read (the csv module stops at 128 KiB by default): what is quoted is cut."""
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = (row for row in csv.reader(handle) if row)  # blank lines are skipped, as pandas does
            header = next(rows, [])
            for number, row in enumerate(rows, start=1):
                if len(row) > len(header):
                    return (
                        f"row {number} has {len(row)} fields, the header {len(header)} "
                        f"({cut(', '.join(header))}): {quoted(','.join(row))}"
                    )
    except csv.Error:  # a malformed quote pandas tolerated: pandas' own message then
        return None
    finally:
        csv.field_size_limit(limit)
    return None


def empty_frame(dataset: Dataset) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="str") for column in dataset.columns})


class CsvSource(RawSource):
    """Reads `<folder>/<dataset file>` (see the module docstring); `origin` is the file's path."""

    name = "csv"
    attribution = "The analyst's files (WAREHOUSE_CSV_DIR): their sources' terms apply"

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"csv source: {self.folder} is not a folder (WAREHOUSE_CSV_DIR)")

    def path(self, dataset: str) -> Path:
        return self.folder / FILES[dataset]

    def origin(self, dataset: str) -> str:
        return str(self.path(dataset))

    def fetch(self, dataset: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """The whole file as text; `start` and `end` are ignored (see the module docstring)."""
        spec, path = DATASETS[dataset], self.path(dataset)
        if path.is_file():
            return read_text_csv(path, spec)
        if dataset in OPTIONAL:
            return empty_frame(spec)
        raise FileNotFoundError(f"{path}: missing; the csv source needs it with the columns {', '.join(spec.columns)}")
