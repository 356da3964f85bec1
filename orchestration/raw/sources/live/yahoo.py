"""Daily closes and split events from Yahoo Finance's chart endpoint, closes made unadjusted.

Request: `GET https://query1.finance.yahoo.com/v8/finance/chart/<TICKER>?period1=<unix>&period2=
<unix>&interval=1d&events=split`. Answer: `chart.result[0]` with `timestamp` (session opens, unix
seconds), `indicators.quote[0].close` (one per timestamp, null where Yahoo has no close) and
`events.splits` ({key: {date, numerator, denominator}}); `chart.error` on failure, usually with an
HTTP 404 for an unknown or delisted symbol. A range without sessions has no `timestamp`.

Unadjusted closes. Yahoo's `close` is split-adjusted (its `adjclose` is also dividend-adjusted) for
every split up to the moment of the download, including splits after the requested range. The
warehouse wants the close as traded, and undoes splits itself, so each close is multiplied back by
the ratios (numerator / denominator: 2 = 2-for-1, 0.1 = 1-for-10) of the splits whose ex-date is
after its date and not after the download: those inside the range come with the same answer; those
after it come from a second request over (end of range, download time], skipped when the closes
were downloaded before the day after the range (a monthly run right after its month). Both are
cached, so a replay rebuilds the same closes. Precision is Yahoo's: results are rounded to 4
decimals, and a split Yahoo applied late or early shifts closes by its ratio.

Terms: the endpoint is unofficial and undocumented; Yahoo's terms of service allow personal,
non-commercial use and forbid redistribution, and Yahoo can change or block it without notice:
hence the explicit shape errors, and the analyst's files as the way around a block.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import pandas as pd

from orchestration.raw.sources.live.feeds import TickerHistory, no_splits, utc_midnight
from orchestration.raw.sources.live.http import (
    HttpClient,
    Reply,
    SourceError,
    SourceShapeError,
    json_body,
    require,
)

URL = "https://query1.finance.yahoo.com/v8/finance/chart/{ticker}"
RESULT = ("chart", "result", 0)


@dataclass(frozen=True)
class _Chart:
    closes: pd.DataFrame  # date, close: split-adjusted as of the download
    splits: pd.DataFrame  # ex_date, ratio


class Yahoo:
    responses_dir = "yahoo"
    name = "Yahoo Finance"
    origin = f"Yahoo Finance chart {URL}"

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def history(self, ticker: str, start: date, end: date) -> TickerHistory:
        after_range = utc_midnight(end + timedelta(days=1))
        chart = self._chart(ticker, utc_midnight(start), after_range, covers_until=end)
        later = self._later_splits(ticker, after_range, chart.fetched_at)
        closes = unadjust(chart.value.closes, pd.concat([chart.value.splits, later]))
        return TickerHistory(closes, chart.value.splits)

    def _later_splits(self, ticker: str, after_range: datetime, fetched_at: datetime) -> pd.DataFrame:
        """Splits after the range that Yahoo had already applied when it sent the closes."""
        if fetched_at <= after_range:
            return no_splits()
        return self._chart(ticker, after_range, fetched_at, covers_until=None).value.splits

    def _chart(self, ticker: str, period1: datetime, period2: datetime, covers_until: date | None) -> Reply[_Chart]:
        url = URL.format(ticker=ticker)
        params = {
            "period1": int(period1.timestamp()),
            "period2": int(period2.timestamp()),
            "interval": "1d",
            "events": "split",
        }
        parse = partial(_parse_chart, f"Yahoo chart {ticker} ({url})")
        return self.http.get(self.responses_dir, url, params, parse=parse, covers_until=covers_until)


def unadjust(closes: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """Each close multiplied by the ratios of the splits with an ex-date after its date."""
    factor = pd.Series(1.0, index=closes.index)
    for ex_date, ratio in zip(splits["ex_date"], splits["ratio"], strict=True):
        factor[closes["date"] < ex_date] *= ratio
    return closes.assign(close=(closes["close"] * factor).round(4))


def _parse_chart(endpoint: str, text: str) -> _Chart:
    document = json_body(endpoint, text)
    chart = require(document, endpoint, "chart")
    error = chart.get("error") if isinstance(chart, dict) else None
    if error:
        raise SourceError(f"{endpoint}: Yahoo reports {error}")
    result = require(document, endpoint, *RESULT)
    zone = result.get("meta", {}).get("exchangeTimezoneName", "UTC")
    splits = _splits(endpoint, document, zone)
    timestamps = result.get("timestamp") or []
    if not timestamps:  # a range without sessions
        return _Chart(pd.DataFrame({"date": _dates([], zone), "close": []}), splits)
    closes = require(document, endpoint, *RESULT, "indicators", "quote", 0, "close")
    if len(closes) != len(timestamps):
        raise SourceShapeError(endpoint, f"close per timestamp ({len(closes)} for {len(timestamps)})")
    frame = pd.DataFrame({"date": _dates(timestamps, zone), "close": pd.Series(closes, dtype="float64")})
    # Yahoo pads with null closes and, while a session runs, may repeat the day as a live bar.
    return _Chart(frame.dropna().drop_duplicates("date", keep="last").reset_index(drop=True), splits)


def _splits(endpoint: str, document: Any, zone: str) -> pd.DataFrame:
    events = require(document, endpoint, *RESULT).get("events", {}).get("splits", {})
    rows = []
    for key in events:
        path = (*RESULT, "events", "splits", key)
        numerator = float(require(document, endpoint, *path, "numerator"))
        denominator = float(require(document, endpoint, *path, "denominator"))
        rows.append(
            {
                "ex_date": require(document, endpoint, *path, "date"),
                "ratio": numerator / denominator,
            }
        )
    if not rows:
        return no_splits()
    frame = pd.DataFrame(rows)
    return frame.assign(ex_date=_dates(frame["ex_date"], zone)).sort_values("ex_date", ignore_index=True)


def _dates(timestamps: Any, zone: str) -> pd.DatetimeIndex:
    """Unix seconds to the exchange's calendar dates (session opens are 09:30 New York time)."""
    moments = pd.to_datetime(pd.Series(timestamps, dtype="int64"), unit="s", utc=True)
    return pd.DatetimeIndex(moments.dt.tz_convert(zone).dt.tz_localize(None).dt.normalize())
