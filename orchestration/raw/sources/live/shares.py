"""Shares outstanding for the live source: SEC EDGAR figures, the analyst's overrides, staleness.

Overrides. `shares_overrides.csv` (ticker, as_of, shares) is kept by the analyst for miners whose
filings carry no cover-page figure (foreign private issuers filing 20-F/40-F/6-K) or carry a wrong
one. It follows the csv source's rules for shares_outstanding.csv and is typed by the raw
contract's rules (raw/text_values.py: the loader's checks and wording, without DuckDB, which
sources never touch), so a bad value is reported with the file, row, column and value. Where an override and an
SEC figure share (ticker, as_of), the override wins: it is the analyst's deliberate correction.

Staleness. A market cap needs a recent share count, so a miner whose latest figure on or before the
end of the range (or its last listed day, if earlier) is more than 120 days old, or which has no
figure at all, gets a warning naming it, the figure's date and the fix. The data still loads: the
warning is for the lead to surface, not a silent stale market cap.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from orchestration.core.settings import SHARES_OVERRIDES_FILE as OVERRIDES_FILE
from orchestration.raw.contract import DATASETS
from orchestration.raw.sources.csv_files import read_text_csv
from orchestration.raw.text_values import typed_text_rows

STALE_AFTER_DAYS = 120


def read_overrides(path: Path) -> pd.DataFrame:
    """ticker, as_of, shares from the analyst's file, validated and typed like a raw load."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: shares overrides file not found (columns ticker, as_of, shares)")
    dataset = DATASETS["shares_outstanding"]
    typed = typed_text_rows(read_text_csv(path, dataset), dataset, origin=str(path))
    return typed[["ticker", "as_of", "shares"]]


def combine(reported: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """Reported figures and overrides, one row per (ticker, as_of), the override winning."""
    both = pd.concat([reported.assign(_override=False), overrides.assign(_override=True)])
    both["as_of"] = pd.to_datetime(both["as_of"])
    overrides_last = both.sort_values(["ticker", "as_of", "_override"], kind="stable")
    kept = overrides_last.drop_duplicates(["ticker", "as_of"], keep="last")
    return kept.drop(columns="_override").reset_index(drop=True)


def staleness_warnings(figures: pd.DataFrame, last_days: dict[str, date]) -> list[str]:
    """One warning per miner whose latest figure on or before its last day is stale or missing."""
    messages = []
    for ticker, last_day in last_days.items():
        mine = figures.loc[(figures["ticker"] == ticker) & (figures["as_of"] <= pd.Timestamp(last_day))]
        if mine.empty:
            messages.append(
                f"{ticker}: no shares outstanding figure on or before {last_day}, so no market "
                f"cap; add one to {OVERRIDES_FILE}"
            )
            continue
        latest = mine["as_of"].max().date()
        age = (last_day - latest).days
        if age > STALE_AFTER_DAYS:
            messages.append(
                f"{ticker}: latest shares outstanding figure is from {latest}, {age} days before "
                f"{last_day} (more than {STALE_AFTER_DAYS}): its market cap is stale; add a recent "
                f"figure to {OVERRIDES_FILE}"
            )
    return messages
