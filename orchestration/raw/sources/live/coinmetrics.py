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
tier: such a metric is simply absent from the rows, and a missing REQUIRED metric is a SourceError
naming it and the day (PriceUSD, for one, starts in July 2010, so the full history cannot be asked
for: a range starting later can). A 429 is retried after `Retry-After` or `x-ratelimit-reset`
(http.py).

Mapping: price_usd = PriceUSD; hashrate_ehs = HashRate (TH/s) / 1e6 (empty when absent);
blocks_mined = BlkCnt; fees_btc = FeeTotNtv; supply_btc = SplyCur. difficulty is DERIVED, always:
HashRate * 1e12 * 86400 / (BlkCnt * 2^32), the day's block-weighted mean difficulty (Coin Metrics
defines its hashrate from the day's difficulty and blocks, so this inverts its definition). DiffMean
is not served on the community tier, so it is not asked for: one formula for every day, whichever
tier answers.

block_height (the day's last block) = the number of blocks Coin Metrics counted from the genesis
day (2009-01-03, which holds block 0) up to and including the day, minus one: the cumulative
`BlkCnt`, asked for in a second request (BlkCnt only, genesis .. the day before the range; one page,
replayed once downloaded, since past counts are settled). Heights are thus consistent with the very
day buckets the counts, fees and issuance use. Coin Metrics does not bucket blocks by their header
timestamp (its 2024-04-19 `IssTotNtv`, 931.25, already includes four 3.125 BTC blocks, while block
840,000's timestamp is 2024-04-20 00:09 UTC), so an anchor from another service (the block before
midnight by timestamp) gave every height a small constant offset and shifted subsidies on halving
days. IssTotNtv is still requested and checked: on a halving day the subsidy the heights imply must
equal it, else a warning says the heights are off (the data still loads).

Incomplete days: Coin Metrics publishes a day's metrics as they become available, so the latest day
can have PriceUSD but no BlkCnt yet. Such TRAILING days are left out, with a warning (the next run
loads them); a required metric missing on any earlier day is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from orchestration.raw.contract import DATASETS
from orchestration.raw.sources.live.feeds import Warn
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
OPTIONAL = ("HashRate", "IssTotNtv")
GENESIS_DAY = date(2009, 1, 3)  # holds block 0: Coin Metrics counts it in that day's BlkCnt
PAGE_SIZE = 10_000  # the API's maximum: a month is one page, a full history a handful
HALVING_INTERVAL = 210_000
INITIAL_SUBSIDY_SAT = 5_000_000_000


@dataclass(frozen=True)
class _Page:
    rows: list[dict[str, Any]]
    next_url: str | None


class CoinMetrics:
    responses_dir = "coinmetrics"
    origin = f"Coin Metrics community API v4 {URL} (block heights from its cumulative BlkCnt)"

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def btc_daily(self, start: date | None, end: date, warn: Warn) -> pd.DataFrame:
        metrics = _complete_days(_metrics(self._rows(start, end, REQUIRED + OPTIONAL)), warn)
        if metrics.empty:
            return pd.DataFrame(columns=list(DATASETS["btc_daily"].columns))
        before = self._blocks_before(metrics["date"].iloc[0])
        frame = _btc_daily(metrics, before)
        for message in _issuance_mismatches(metrics, frame, before - 1):
            warn(message)
        return frame

    def _blocks_before(self, first_day: date) -> int:
        """Blocks Coin Metrics counted on the days before `first_day` (genesis block included)."""
        day_before = first_day - timedelta(days=1)
        if day_before < GENESIS_DAY:
            return 0
        rows = self._rows(GENESIS_DAY, day_before, ("BlkCnt",))
        counts = []
        for index, row in enumerate(rows):
            if row.get("BlkCnt") is None:
                raise SourceError(f"{ENDPOINT}: no BlkCnt for {str(row.get('time'))[:10]} (data[{index}])")
            counts.append(int(row["BlkCnt"]))
        if not rows or not str(rows[0].get("time", "")).startswith(GENESIS_DAY.isoformat()):
            raise SourceShapeError(ENDPOINT, f"BlkCnt from {GENESIS_DAY} (the genesis day) for the block heights")
        return sum(counts)

    def _rows(self, start: date | None, end: date, metrics: tuple[str, ...]) -> list[dict[str, Any]]:
        params: dict[str, Any] | None = {
            "assets": "btc",
            "metrics": ",".join(metrics),
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
    """One row per day, the metrics as numbers (NaN where one is absent)."""
    records = []
    for index, row in enumerate(rows):
        if "time" not in row:
            raise SourceShapeError(ENDPOINT, f"key data[{index}].time")
        day = date.fromisoformat(str(row["time"])[:10])
        values = {metric: float(row[metric]) for metric in REQUIRED + OPTIONAL if row.get(metric) is not None}
        records.append({"date": day, **values})
    return pd.DataFrame(records, columns=["date", *REQUIRED, *OPTIONAL]).sort_values("date", ignore_index=True)


def _complete_days(metrics: pd.DataFrame, warn: Warn) -> pd.DataFrame:
    """`metrics` without the trailing days Coin Metrics has not completed (a warning names them);
    a required metric missing on an earlier day is a SourceError naming it and the day."""
    complete = metrics[list(REQUIRED)].notna().all(axis=1)
    last_complete = complete[complete].index.max() if complete.any() else -1
    trailing = metrics.loc[last_complete + 1 :]
    for day, row in zip(trailing["date"], trailing[list(REQUIRED)].itertuples(index=False), strict=True):
        missing = [metric for metric, value in zip(REQUIRED, row, strict=True) if pd.isna(value)]
        warn(
            f"btc_daily {day}: Coin Metrics has not completed this day yet (no {', '.join(missing)}): "
            "left out; a later run loads it"
        )
    kept = metrics.loc[:last_complete]
    gaps = kept[~complete.loc[:last_complete]]
    if not gaps.empty:
        day = gaps["date"].iloc[0]
        missing = [metric for metric in REQUIRED if pd.isna(gaps[metric].iloc[0])]
        raise SourceError(
            f"{ENDPOINT}: no {', '.join(missing)} for {day}: not published for that day, or renamed; "
            f"btc_daily needs {', '.join(REQUIRED)} every day"
        )
    return kept


def _btc_daily(metrics: pd.DataFrame, blocks_before: int) -> pd.DataFrame:
    blocks = metrics["BlkCnt"].astype("int64")
    return pd.DataFrame(
        {
            "date": pd.to_datetime(metrics["date"]),
            "price_usd": metrics["PriceUSD"],
            "hashrate_ehs": metrics["HashRate"] / 1e6,
            "difficulty": metrics["HashRate"] * 1e12 * 86_400 / (blocks.where(blocks > 0) * 2.0**32),
            "block_height": blocks_before + blocks.cumsum() - 1,
            "blocks_mined": blocks,
            "fees_btc": metrics["FeeTotNtv"],
            "supply_btc": metrics["SplyCur"],
        }
    ).reset_index(drop=True)


def _issuance_mismatches(metrics: pd.DataFrame, frame: pd.DataFrame, height_before: int) -> list[str]:
    """Days whose IssTotNtv differs from the subsidy the heights imply: only possible on a
    halving day, where it means the heights are off by some blocks."""
    first_heights = pd.concat([pd.Series([height_before]), frame["block_height"].iloc[:-1]]) + 1
    messages = []
    for first, row, issued in zip(first_heights, frame.itertuples(), metrics["IssTotNtv"], strict=True):
        implied = _subsidy_btc(int(first), int(row.block_height))
        if pd.notna(issued) and abs(implied - issued) > 1e-6:
            messages.append(
                f"btc_daily {row.date.date()}: Coin Metrics reports {issued:g} BTC issued, but "
                f"blocks {int(first)}..{row.block_height} (heights from its cumulative BlkCnt) "
                f"imply {implied:g} BTC: block_height is off by some blocks around this halving"
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
