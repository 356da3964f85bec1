"""Shares outstanding from SEC EDGAR's XBRL company facts.

Request: `GET https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json` (10-digit, zero-padded
CIK; tickers map to CIKs through `ciks.csv` beside this file). The figure is the cover-page
`facts.dei.EntityCommonStockSharesOutstanding.units.shares[]`: items with `end` (the as-of date),
`val`, `accn` (the filing), `form`, `filed`, `fy`. One filing can report several items for the same
`end`, one per share class: they are SUMMED. Several filings can report the same `end` (an
amendment, a later filing repeating it): the latest `filed` wins.

Foreign private issuers (20-F, 40-F, 6-K filers) often tag no cover-page figure: their company facts
have no such concept and this feed returns nothing for them; the analyst's overrides fill the gap
(see shares.py). An unknown CIK (HTTP 404) or a ticker missing from ciks.csv gives an empty answer
and a warning, not a failure.

Terms: EDGAR data is public (a U.S. government work, no licence needed). The SEC's fair-access
policy (https://www.sec.gov/os/accessing-edgar-data) requires a User-Agent that names the requester
and a contact e-mail, e.g. "Example Research jane@example.com" (SEC_USER_AGENT), and at most 10
requests per second; the live source makes one request per ticker.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from orchestration.raw.sources.live.feeds import Warn
from orchestration.raw.sources.live.http import (
    HttpClient,
    SourceError,
    SourceHTTPError,
    json_body,
    require,
)

URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{cik:010d}.json"
CIKS = Path(__file__).with_name("ciks.csv")
CONCEPT = "EntityCommonStockSharesOutstanding"


def load_ciks(path: Path = CIKS) -> dict[str, int]:
    table = pd.read_csv(path, dtype={"ticker": str, "cik": "int64"})
    return dict(zip(table["ticker"], table["cik"], strict=True))


class SecEdgar:
    responses_dir = "sec_edgar"
    origin = f"SEC EDGAR company facts {URL}"

    def __init__(self, http: HttpClient, user_agent: str | None, ciks: dict[str, int] | None = None) -> None:
        self.http, self.user_agent = http, (user_agent or "").strip()
        self.ciks = load_ciks() if ciks is None else ciks

    def shares(self, ticker: str, covers_until: date, warn: Warn) -> pd.DataFrame:
        cik = self.ciks.get(ticker)
        if cik is None:
            warn(f"{ticker}: no CIK in {CIKS.name}, SEC EDGAR not asked")
            return _no_figures()
        if not self.user_agent:
            raise SourceError(
                "SEC EDGAR requires a User-Agent naming you and a contact e-mail: set "
                "SEC_USER_AGENT, e.g. SEC_USER_AGENT='Example Research jane@example.com'"
            )
        url = URL.format(cik=cik)
        try:
            reply = self.http.get(
                self.responses_dir,
                url,
                parse=partial(_parse, f"SEC EDGAR company facts {ticker} ({url})"),
                headers={"User-Agent": self.user_agent},
                covers_until=covers_until,
            )
        except SourceHTTPError as error:
            if error.status != 404:
                raise
            warn(f"{ticker}: SEC EDGAR has no company facts for CIK {cik} (HTTP 404); check ciks.csv")
            return _no_figures()
        return reply.value


def _parse(endpoint: str, text: str) -> pd.DataFrame:
    document = json_body(endpoint, text)
    dei = require(document, endpoint, "facts").get("dei", {})
    if CONCEPT not in dei:
        return _no_figures()  # typical of a foreign private issuer
    items = require(document, endpoint, "facts", "dei", CONCEPT, "units", "shares")
    rows = [_item(document, endpoint, index) for index in range(len(items))]
    if not rows:
        return _no_figures()
    frame = pd.DataFrame(rows)
    per_filing = frame.groupby(["as_of", "accn"], as_index=False).agg(shares=("shares", "sum"), filed=("filed", "max"))
    by_filing = per_filing.sort_values(["as_of", "filed", "accn"])
    latest = by_filing.drop_duplicates("as_of", keep="last")
    return latest[["as_of", "shares"]].reset_index(drop=True)


def _item(document: Any, endpoint: str, index: int) -> dict[str, Any]:
    path = ("facts", "dei", CONCEPT, "units", "shares", index)
    return {
        "as_of": pd.Timestamp(require(document, endpoint, *path, "end")),
        "shares": int(require(document, endpoint, *path, "val")),
        "accn": require(document, endpoint, *path, "accn"),
        "filed": pd.Timestamp(require(document, endpoint, *path, "filed")),
    }


def _no_figures() -> pd.DataFrame:
    return pd.DataFrame({"as_of": pd.Series(dtype="datetime64[ns]"), "shares": pd.Series(dtype="int64")})
