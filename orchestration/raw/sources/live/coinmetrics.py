"""Daily bitcoin chain data (btc_daily) from the Coin Metrics community API v4.

Terms: Coin Metrics community data is licensed under Creative Commons Attribution-NonCommercial 4.0
(CC BY-NC 4.0, https://creativecommons.org/licenses/by-nc/4.0/): use is non-commercial only and
must credit Coin Metrics (e.g. "Source: Coin Metrics Community Network Data"). Publishing the note
commercially needs a Coin Metrics licence (their Pro API). The community API needs no key and
allows about 10 requests per 6 seconds per IP; a 429 is retried by the shared client.

Request: `GET /v4/timeseries/asset-metrics?assets=btc&metrics=...&frequency=1d&start_time=...&
end_time=...&page_size=...` (start and end inclusive), following `next_page_url` until there is
none. Answer: `{"data": [{"asset": "btc", "time": "2024-04-19T00:00:00.000000000Z", "PriceUSD":
"63762.63", ...}], "next_page_url": ...}`, values as strings. `ignore_forbidden_errors` and
`ignore_unsupported_errors` let the request succeed when a metric is not served to the community
tier (DiffMean may not be): such a metric is simply absent from the rows, and a missing REQUIRED
metric is a SourceError naming it and the day (PriceUSD, for one, starts in July 2010, so the full
history cannot be asked for: a range starting later can).

Mapping: price_usd = PriceUSD; hashrate_ehs = HashRate (TH/s) / 1e6 (empty when absent);
difficulty = DiffMean, else derived as HashRate * 1e12 * 86400 / (BlkCnt * 2^32) (Coin Metrics
defines its hashrate from the day's difficulty and blocks, so this is the day's block-weighted mean
difficulty); blocks_mined = BlkCnt; fees_btc = FeeTotNtv; supply_btc = SplyCur.

block_height (the day's last block) = a known height + cumulative BlkCnt. The anchor is the height
of the last block timestamped before the first day's 00:00 UTC, from mempool.space (mempool.py). Why
that and not an issuance anchor (heights placed so that the subsidy they imply equals IssTotNtv, as
in the real halving-2024 test data, tests/fixtures/real_btc_2024_halving): that one only pins
heights when the range contains a halving day, and
monthly partitions almost never do; the mempool anchor works for any range. Its limit: Coin Metrics
does not necessarily assign blocks to days by header timestamp (in the reference data its
2024-04-19 holds the first 4 blocks of the 3.125 BTC era, which we believe were mined just after
midnight UTC by header time), so heights may be off by a few blocks. IssTotNtv is therefore still
requested and checked: on a halving day the subsidy implied by the heights must equal it, else a
warning says the heights are off (the data still loads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from orchestration.raw.contract import DATASETS
from orchestration.raw.sources.live.feeds import HeightFeed, Warn, utc_midnight
from orchestration.raw.sources.live.http import (
    HttpClient,
    SourceError,
    SourceShapeError,
    json_body,
    require,
)

URL = "https://community-api.coinmetrics.io/v4/timeseries/asset-metrics"
ENDPOINT = f"Coin Metrics asset-metrics ({URL})"
REQUIRED = ("PriceUSD", "BlkCnt", "FeeTotNtv", "SplyCur")
OPTIONAL = ("HashRate", "DiffMean", "IssTotNtv")
PAGE_SIZE = 10_000  # the API's maximum: a month is one page, a full history a handful
HALVING_INTERVAL = 210_000
INITIAL_SUBSIDY_SAT = 5_000_000_000


@dataclass(frozen=True)
class _Page:
    rows: list[dict[str, Any]]
    next_url: str | None


class CoinMetrics:
    responses_dir = "coinmetrics"

    def __init__(self, http: HttpClient, heights: HeightFeed) -> None:
        self.http, self.heights = http, heights
        self.origin = f"Coin Metrics community API v4 {URL} (block heights anchored on {heights.origin})"

    def btc_daily(self, start: date | None, end: date, warn: Warn) -> pd.DataFrame:
        metrics = _metrics(self._rows(start, end))
        if metrics.empty:
            return pd.DataFrame(columns=list(DATASETS["btc_daily"].columns))
        anchor = self.heights.last_height_before(utc_midnight(metrics["date"].iloc[0]))
        frame = _btc_daily(metrics, anchor)
        for message in _issuance_mismatches(metrics, frame, anchor):
            warn(message)
        return frame

    def _rows(self, start: date | None, end: date) -> list[dict[str, Any]]:
        params: dict[str, Any] | None = {
            "assets": "btc",
            "metrics": ",".join(REQUIRED + OPTIONAL),
            "frequency": "1d",
            "end_time": end.isoformat(),
            "page_size": PAGE_SIZE,
            "ignore_forbidden_errors": "true",
            "ignore_unsupported_errors": "true",
        }
        if start is not None:
            params["start_time"] = start.isoformat()
        url: str | None = URL
        rows: list[dict[str, Any]] = []
        while url is not None:
            page = self.http.get(self.responses_dir, url, params, parse=_parse_page, covers_until=end).value
            rows += page.rows
            url, params = page.next_url, None  # next_page_url carries every parameter
        return rows


def _parse_page(text: str) -> _Page:
    document = json_body(ENDPOINT, text)
    rows = require(document, ENDPOINT, "data")
    if not isinstance(rows, list):
        raise SourceShapeError(ENDPOINT, "list under key data")
    return _Page(rows, document.get("next_page_url"))


def _metrics(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per day, the metrics as numbers (NaN where an optional one is absent)."""
    records = []
    for index, row in enumerate(rows):
        if "time" not in row:
            raise SourceShapeError(ENDPOINT, f"key data[{index}].time")
        day = date.fromisoformat(str(row["time"])[:10])
        missing = [metric for metric in REQUIRED if row.get(metric) is None]
        if missing:
            raise SourceError(
                f"{ENDPOINT}: no {', '.join(missing)} for {day}: not published for that day (yet), "
                f"or renamed; btc_daily needs {', '.join(REQUIRED)} every day"
            )
        values = {metric: float(row[metric]) for metric in REQUIRED + OPTIONAL if row.get(metric) is not None}
        records.append({"date": day, **values})
    return pd.DataFrame(records, columns=["date", *REQUIRED, *OPTIONAL]).sort_values("date")


def _btc_daily(metrics: pd.DataFrame, anchor: int) -> pd.DataFrame:
    blocks = metrics["BlkCnt"].astype("int64")
    derived = metrics["HashRate"] * 1e12 * 86_400 / (blocks.where(blocks > 0) * 2.0**32)
    return pd.DataFrame(
        {
            "date": pd.to_datetime(metrics["date"]),
            "price_usd": metrics["PriceUSD"],
            "hashrate_ehs": metrics["HashRate"] / 1e6,
            "difficulty": metrics["DiffMean"].fillna(derived),
            "block_height": anchor + blocks.cumsum(),
            "blocks_mined": blocks,
            "fees_btc": metrics["FeeTotNtv"],
            "supply_btc": metrics["SplyCur"],
        }
    ).reset_index(drop=True)


def _issuance_mismatches(metrics: pd.DataFrame, frame: pd.DataFrame, anchor: int) -> list[str]:
    """Days whose IssTotNtv differs from the subsidy the anchored heights imply: only possible on a
    halving day, where it means the heights are off by some blocks."""
    first_heights = pd.concat([pd.Series([anchor]), frame["block_height"].iloc[:-1]]) + 1
    messages = []
    for first, row, issued in zip(first_heights, frame.itertuples(), metrics["IssTotNtv"], strict=True):
        implied = _subsidy_btc(int(first), int(row.block_height))
        if pd.notna(issued) and abs(implied - issued) > 1e-6:
            messages.append(
                f"btc_daily {row.date.date()}: Coin Metrics reports {issued:g} BTC issued, but "
                f"blocks {int(first)}..{row.block_height} (heights anchored on mempool.space) "
                f"imply {implied:g} BTC: block_height is off by a few blocks around this halving"
            )
    return messages


def _subsidy_btc(first: int, last: int) -> float:
    """Sum of the block subsidies of heights first..last (inclusive), in BTC."""
    satoshi = 0
    for era in range(first // HALVING_INTERVAL, last // HALVING_INTERVAL + 1):
        low = max(first, era * HALVING_INTERVAL)
        high = min(last, (era + 1) * HALVING_INTERVAL - 1)
        satoshi += max(high - low + 1, 0) * (INITIAL_SUBSIDY_SAT >> era)
    return satoshi / 1e8
