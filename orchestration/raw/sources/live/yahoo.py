"""Daily closes and split events from Yahoo Finance's chart endpoint, closes made unadjusted.

Request: `GET https://query1.finance.yahoo.com/v8/finance/chart/<TICKER>?period1=<unix>&period2=
<unix>&interval=1d&events=split`. Answer: `chart.result[0]` with `timestamp` (session opens, unix
seconds), `indicators.quote[0].close` (one per timestamp, null where Yahoo has no close) and
`events.splits` ({key: {date, numerator, denominator}}); `chart.error` on failure. A range without
sessions has no `timestamp`. An unknown, delisted or acquired symbol (SDIG, acquired in March 2025)
is answered HTTP 404 with `{"chart":{"result":null,"error":{"code":"Not Found","description":"No
data found, symbol may be delisted"}}}` for ANY range, its listed years included: Yahoo drops the
whole history. That is NoHistory (feeds.py), naming the ticker and range: the live source loads the
other tickers and warns that this one's closes and splits must come from the analyst's files.

Unadjusted closes. Yahoo's `close` is split-adjusted (its `adjclose` is also dividend-adjusted) for
every split up to the moment of the download, including splits after the requested range. The
warehouse wants the close as traded, and undoes splits itself, so each close is multiplied back by
the ratios (numerator / denominator: 2 = 2-for-1, 0.1 = 1-for-10) of the splits whose ex-date is
after its date and not after the download: those inside the range come with the same answer; those
after it come from a second request over (end of range, download time], skipped when the closes
were downloaded before the day after the range (a monthly run right after its month). Both are
cached, so a replay rebuilds the same closes. Precision is Yahoo's: results are rounded to 4
decimals, and a split Yahoo applied late or early shifts closes by its ratio.

Handshake. Yahoo now answers a plain `requests` client with our User-Agent and no cookie or crumb
with HTTP 429 more often than not: it fingerprints the TLS and HTTP/2 handshake, and yfinance's own
HTTP layer warns that without browser impersonation Yahoo "may rate-limit or block this client"
(yfinance issues #2422, #2472). So this adapter does what yfinance 1.x does (its data.py), itself:
* it asks through the shared client's `browser` session, a curl_cffi session impersonating Chrome;
* it gets Yahoo's cookie from `https://fc.yahoo.com` (an error page that sets the A3 cookie) and then
  the crumb from `/v1/test/getcrumb`; when that gives none (a consent wall, as in the EU), it
  accepts the consent form at `guce.yahoo.com` (yfinance's "csrf" strategy) and asks again;
* it adds `crumb=` to every chart request. A crumb belongs to its session, so it is never part of
  the replay cache's key or saved URL (http.py): a saved answer replays whatever session fetched
  it, and a full replay makes no request at all, the handshake included (it is made only when a
  download is needed, once per source, i.e. per run). An answer saying the crumb expired (HTTP 401, "Invalid
  Crumb") renews cookie and crumb once. Without a crumb (getcrumb itself rate-limited) the chart
  is asked without one, as yfinance does: the chart decides.
A 429 from the chart is a refusal more than a pace: it is retried once after at most 5 s, then the
error says so and what to do instead (the analyst's equity_prices.csv and splits.csv in
WAREHOUSE_CSV_DIR), rather than five exponential retries that only delay the same answer.
`make doctor` tries this handshake and one chart request on the machine at hand.

Why not yfinance itself: the warehouse keeps every raw answer and replays it (http.py), while
yfinance hands back DataFrames, not the answers they came from; the warehouse unadjusts closes
from the split events of those same saved answers (above), so a close can be checked against the
file it came from; and all providers share one HTTP layer (timeouts, retries, rejected bodies,
errors naming the endpoint), which a second library's own session and retries would bypass. Only the handshake is
borrowed (YahooCrumb, below), and curl_cffi, which yfinance itself depends on for it.

Terms: the endpoint is unofficial and undocumented; Yahoo's terms of service allow personal,
non-commercial use and forbid redistribution, and Yahoo can change or block it without notice:
hence the explicit shape errors, and the analyst's files as the way around a block.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from html.parser import HTMLParser
from typing import Any

import pandas as pd

from orchestration.raw.sources.live.feeds import NoHistory, TickerHistory, no_splits, utc_midnight
from orchestration.raw.sources.live.http import (
    NO_ANSWER,
    HttpClient,
    RateLimit,
    Reply,
    SourceError,
    SourceHTTPError,
    SourceShapeError,
    is_html,
    json_body,
    require,
)

log = logging.getLogger(__name__)

URL = "https://query1.finance.yahoo.com/v8/finance/chart/{ticker}"
RESULT = ("chart", "result", 0)
COOKIE_URL = "https://fc.yahoo.com"
CRUMB_URL = "https://query1.finance.yahoo.com/v1/test/getcrumb"
CONSENT_URL = "https://guce.yahoo.com/consent"
COLLECT_CONSENT_URL = "https://consent.yahoo.com/v2/collectConsent"
COPY_CONSENT_URL = "https://guce.yahoo.com/copyConsent"
CONSENT_CRUMB_URL = "https://query2.finance.yahoo.com/v1/test/getcrumb"
REFUSED = RateLimit(
    attempts=2,
    max_wait=5.0,
    advice=(
        "Yahoo is refusing this client (rate limit or block), asking again soon will not help: give "
        "the closes and splits in WAREHOUSE_CSV_DIR/equity_prices.csv and splits.csv, or try later or "
        "from another network (`make doctor` checks)"
    ),
)


class YahooCrumb:
    """Yahoo's cookie and crumb for the shared client's browser session (http.Credentials), got
    lazily, as the module docstring says. `handshakes` counts them (tests, `make doctor`)."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http
        self.crumb: str | None = None
        self.handshakes = 0
        self._done = False

    @property
    def session(self) -> Any:
        return self.http.browser

    def params(self) -> dict[str, str]:
        if not self._done:
            self.crumb = self._handshake()
            self._done = True
        return {"crumb": self.crumb} if self.crumb else {}

    def refresh(self) -> None:
        self.session.cookies.clear()
        self.crumb, self._done = None, False

    def expired(self, error: SourceHTTPError) -> bool:
        return error.status == 401 or "Invalid Crumb" in error.body or "Invalid Cookie" in error.body

    def _handshake(self) -> str | None:
        self.handshakes += 1
        self._get(COOKIE_URL)  # its answer is an error page; what counts is the cookie it sets
        crumb = self._crumb(CRUMB_URL)
        if crumb is None and self._accept_consent():
            crumb = self._crumb(CONSENT_CRUMB_URL)
        if crumb is None:
            log.warning("Yahoo gave no crumb (%s): asking the chart without one", CRUMB_URL)
        return crumb

    def _crumb(self, url: str) -> str | None:
        response = self._get(url)
        if response is None:
            return None
        text = response.text.strip()
        if response.status_code == 429 or "Too Many Requests" in text:
            log.warning("%s: HTTP %s, Yahoo rate-limits the crumb", url, response.status_code)
            return None
        if response.status_code != 200 or not text or is_html(text) or len(text) > 64:
            return None
        return text

    def _accept_consent(self) -> bool:
        """Yahoo's consent form (yfinance's "csrf" cookie strategy): agree, so the session gets
        its cookies where fc.yahoo.com gives none (the EU)."""
        page = self._get(CONSENT_URL)
        fields = _form_inputs(page.text) if page is not None else {}
        if not fields.get("csrfToken") or not fields.get("sessionId"):
            return False
        form = {
            "agree": ["agree", "agree"],
            "consentUUID": "default",
            "sessionId": fields["sessionId"],
            "csrfToken": fields["csrfToken"],
            "originalDoneUrl": "https://finance.yahoo.com/",
            "namespace": "yahoo",
        }
        where = {"sessionId": fields["sessionId"]}
        try:
            self.session.post(COLLECT_CONSENT_URL, params=where, data=form, timeout=self.http.timeout)
            self.session.get(COPY_CONSENT_URL, params=where, timeout=self.http.timeout)
        except NO_ANSWER as error:
            log.warning("Yahoo consent form: %s: %s", type(error).__name__, error)
            return False
        return True

    def _get(self, url: str) -> Any:
        """The answer, or None when there was none (the chart request then says why)."""
        try:
            return self.session.get(url, timeout=self.http.timeout, allow_redirects=True)
        except NO_ANSWER as error:
            log.warning("%s: %s: %s", url, type(error).__name__, error)
            return None


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "input" and named.get("name"):
            self.values[named["name"] or ""] = named.get("value") or ""


def _form_inputs(page: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(page)
    return parser.values


@dataclass(frozen=True)
class _Chart:
    closes: pd.DataFrame  # date, close: split-adjusted as of the download
    splits: pd.DataFrame  # ex_date, ratio


class Yahoo:
    responses_dir = "yahoo"
    name = "Yahoo Finance"
    origin = f"Yahoo Finance chart {URL}"

    def __init__(self, http: HttpClient, credentials: YahooCrumb | None = None) -> None:
        self.http = http
        self.credentials = credentials or YahooCrumb(http)

    def history(self, ticker: str, start: date, end: date) -> TickerHistory:
        after_range = utc_midnight(end + timedelta(days=1))
        try:
            chart = self._chart(ticker, utc_midnight(start), after_range, covers_until=end)
        except (ChartError, SourceHTTPError) as error:
            if _not_found(error):
                raise NoHistory(
                    f"Yahoo chart {ticker} ({URL.format(ticker=ticker)}): no history of {ticker} for "
                    f"{start}..{end}: Yahoo answers 'Not Found: No data found, symbol may be delisted' "
                    f"(a delisted, acquired or renamed symbol)",
                    ticker,
                    start,
                    end,
                ) from error
            raise
        later = self._later_splits(ticker, after_range, chart.fetched_at)
        closes = unadjust(chart.value.closes, pd.concat([chart.value.splits, later]))
        return TickerHistory(closes, chart.value.splits)

    def probe(self, ticker: str, start: date, end: date) -> int:
        """The number of closes in one chart request over [start, end], through the same session,
        handshake and errors as `history` (for `make doctor`: the client should not cache)."""
        chart = self._chart(ticker, utc_midnight(start), utc_midnight(end + timedelta(days=1)), covers_until=end)
        return len(chart.value.closes)

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
        return self.http.get(
            self.responses_dir,
            url,
            params,
            parse=parse,
            covers_until=covers_until,
            credentials=self.credentials,
            rate_limit=REFUSED,
        )


class ChartError(SourceError):
    """The chart's own error (`chart.error`), in an HTTP 200 answer."""

    def __init__(self, endpoint: str, error: Any) -> None:
        self.code = error.get("code") if isinstance(error, dict) else None
        super().__init__(f"{endpoint}: Yahoo reports {error}")


def _not_found(error: SourceError) -> bool:
    """Whether Yahoo's answer is its "Not Found" chart error (an HTTP 404, or in a 200)."""
    if isinstance(error, ChartError):
        return error.code == "Not Found"
    if not isinstance(error, SourceHTTPError) or error.status != 404:
        return False
    try:
        return json.loads(error.body)["chart"]["error"]["code"] == "Not Found"
    except (ValueError, KeyError, TypeError):
        return False


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
        raise ChartError(endpoint, error)
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
