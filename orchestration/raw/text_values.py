"""A contract dataset's text rows typed in pandas, for a source that must use values before the load.

Sources hand the loader frames and never touch DuckDB (sources/base.py); the loader validates
every load. The live source's shares overrides are the exception that needs typed values first:
they are merged with SEC EDGAR's figures by (ticker, as_of) before anything is loaded. This module
types such a file by the contract's declaration (raw/contract.py) with the loader's rules and
error wording (origin, row and key, column, value), so a bad override reads like a bad CSV row;
the merged frame is then validated once more by the load itself. Text dates, whole and decimal
numbers, required values, positive and non-negative numbers, duplicate keys; month columns and
typed (non-text) input are the loader's alone.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from orchestration.raw.contract import (
    TEXT_FORMATS,
    WHOLE_RANGES,
    Dataset,
    RawDataError,
    missing_columns,
    not_a_valid,
    quoted,
)


def typed_text_rows(frame: pd.DataFrame, dataset: Dataset, origin: str) -> pd.DataFrame:
    """`frame` (text cells, None for empty, rows numbered from 1 in order) with `dataset`'s columns
    typed; RawDataError names the first bad value as the loader would."""
    missing = [c for c in dataset.columns if c not in frame.columns]
    if missing:
        raise missing_columns(origin, dataset, missing)
    if dataset.months:
        raise ValueError(f"{dataset.name}: month columns are typed by the loader only")
    rows = frame[list(dataset.columns)].reset_index(drop=True)
    typed = {}
    for column, sql_type in dataset.columns.items():  # in the loader's order: type, then empty, then bounds
        texts = [None if pd.isna(text) else str(text) for text in rows[column]]
        values = [None if text is None else _typed(text, sql_type) for text in texts]
        for index, (text, value) in enumerate(zip(texts, values)):
            if text is not None and value is None:
                raise RawDataError(
                    f"{origin}: {_row(rows, dataset, index)}, column '{column}': value {quoted(text)} "
                    f"{not_a_valid(sql_type, text)}"
                )
        if column not in dataset.nullable and None in texts:
            index = texts.index(None)
            raise RawDataError(f"{origin}: {_row(rows, dataset, index)}, column '{column}': value is empty (required)")
        for rule, bound, holds in (
            (dataset.positive, "> 0", lambda v: v > 0),
            (dataset.non_negative, ">= 0", lambda v: v >= 0),
        ):
            bad = [i for i, v in enumerate(values) if column in rule and v is not None and not holds(v)]
            if bad:
                raise RawDataError(
                    f"{origin}: {_row(rows, dataset, bad[0])}, column '{column}': "
                    f"value {quoted(texts[bad[0]])} must be {bound}"
                )
        typed[column] = values
    result = pd.DataFrame({c: _column(typed[c], t) for c, t in dataset.columns.items()})
    _no_duplicate_keys(result, dataset, origin)
    return result


def _column(values: list, sql_type: str) -> pd.Series:
    """One typed column: text, dates as timestamps, whole numbers as int64 (Int64 with empties)."""
    if sql_type == "DATE":
        return pd.to_datetime(pd.Series(values, dtype=object))
    if sql_type in ("BIGINT", "INTEGER"):
        return pd.Series(values, dtype="Int64" if None in values else "int64")
    if sql_type == "DOUBLE":
        return pd.Series(values, dtype="float64")
    return pd.Series(values, dtype="str")


def _typed(text: str, sql_type: str):
    """The value of `text` as `sql_type`, None when it is not one."""
    text = text.strip() if sql_type in TEXT_FORMATS else text
    if sql_type in TEXT_FORMATS and not re.fullmatch(TEXT_FORMATS[sql_type][0], text):
        return None
    if sql_type == "DATE":
        try:
            return pd.Timestamp(text).date()
        except ValueError:
            return None
    if sql_type in WHOLE_RANGES:
        low, high = WHOLE_RANGES[sql_type]
        return int(text) if low <= int(text) <= high else None
    if sql_type == "DOUBLE":
        value = float(text)
        return value if math.isfinite(value) else None
    if sql_type == "VARCHAR":
        return text
    raise ValueError(f"type {sql_type} is typed by the loader only")


def _row(rows: pd.DataFrame, dataset: Dataset, index: int) -> str:
    """'row 6 (ticker RIOT, as_of 2024-05-31)': the number and key values as given."""
    shown = ", ".join(
        f"{column} {'empty' if pd.isna(rows.at[index, column]) else rows.at[index, column]}" for column in dataset.key
    )
    return f"row {index + 1} ({shown})" if shown else f"row {index + 1}"


def _no_duplicate_keys(typed: pd.DataFrame, dataset: Dataset, origin: str) -> None:
    """Keys as staging reads them (text trimmed and upper case); the first repeat is named."""
    key = pd.DataFrame(
        {c: typed[c].str.strip().str.upper() if dataset.columns[c] == "VARCHAR" else typed[c] for c in dataset.key}
    )
    repeated = key.duplicated(keep="first")
    if not repeated.any():
        return
    index = int(repeated.to_numpy().argmax())
    first = int((key == key.iloc[index]).all(axis=1).to_numpy().argmax())
    values = ", ".join(f"{v:%Y-%m-%d}" if isinstance(v, pd.Timestamp) else str(v) for v in key.iloc[index].tolist())
    raise RawDataError(
        f"{origin}: row {index + 1}, column(s) '{', '.join(dataset.key)}': duplicate key ({values}), "
        f"first seen at row {first + 1}"
    )
