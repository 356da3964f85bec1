"""Fallback daily closes from stooq.com's CSV download, asked only when Yahoo fails for a ticker.

Request: `GET https://stooq.com/q/d/l/?s=<ticker>.us&d1=<YYYYMMDD>&d2=<YYYYMMDD>&i=d` (d1/d2 bound
the range, inclusive). Answer: CSV `Date,Open,High,Low,Close,Volume`, or the text `No data` (HTTP
200) for an unknown symbol or an empty range, or a plain-text notice when the daily download limit
is hit. Both are errors here: this feed is the last resort, so an empty answer must not pass
silently.

Caveat: stooq's closes are split-adjusted as of the download and stooq publishes no split events,
so they cannot be unadjusted here. The history says so in its `caveat` (the live source surfaces it
as a warning) and has no splits.

Terms: stooq.com documents no API and no licence for these downloads; they are offered free for
personal use. Treat the data as non-commercial and do not redistribute it.
"""

from __future__ import annotations

import io
from datetime import date
from functools import partial

import pandas as pd

from orchestration.raw.sources.live.feeds import TickerHistory, no_splits
from orchestration.raw.sources.live.http import HttpClient, SourceError, SourceShapeError

URL = "https://stooq.com/q/d/l/"


class Stooq:
    responses_dir = "stooq"
    name = "stooq"
    origin = f"stooq daily CSV {URL}"

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def history(self, ticker: str, start: date, end: date) -> TickerHistory:
        symbol = f"{ticker.lower()}.us"
        params = {"s": symbol, "d1": f"{start:%Y%m%d}", "d2": f"{end:%Y%m%d}", "i": "d"}
        parse = partial(_parse, f"stooq daily {symbol} ({URL})")
        reply = self.http.get(self.responses_dir, URL, params, parse=parse, covers_until=end)
        caveat = (
            f"closes from stooq are split-adjusted as of {reply.fetched_at:%Y-%m-%d} and could "
            f"not be unadjusted (stooq has no split events): closes before any split up to that "
            f"day are on the wrong basis, and splits in {start}..{end} are unknown"
        )
        return TickerHistory(reply.value, no_splits(), caveat)


def _parse(endpoint: str, text: str) -> pd.DataFrame:
    if text.strip() == "No data":
        raise SourceError(f"{endpoint}: stooq has no data for this symbol and range")
    header = text.split("\n", 1)[0].strip().split(",")
    missing = [column for column in ("Date", "Close") if column not in header]
    if missing:
        raise SourceShapeError(endpoint, f"CSV column(s) {', '.join(missing)} (body: {text[:80]!r})")
    frame = pd.read_csv(io.StringIO(text), usecols=["Date", "Close"], parse_dates=["Date"])
    return frame.rename(columns={"Date": "date", "Close": "close"})
