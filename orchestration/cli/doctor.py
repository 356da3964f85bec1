"""`make doctor`: will the live source's providers answer THIS machine? One small request to each.

A live run that fails half-way on a refused endpoint is a slow way to learn that Yahoo blocks this
network or that SEC_USER_AGENT is unset. The doctor asks each endpoint the live source uses once,
with a short timeout and no retries, through the same client the source uses (sources/live:
Yahoo through the browser-impersonating session and its cookie/crumb handshake), bypassing the
replay cache (a throwaway folder, `refresh`), and prints one row per endpoint:

    endpoint | answered / refused (status, short reason) / unreachable / not tried | what to do

* Yahoo Finance chart: one ticker (MARA), the last week;
* Coin Metrics community API: PriceUSD of yesterday;
* SEC EDGAR submissions of one company (MARA, CIK 1507605), with SEC_USER_AGENT; without it the row
  says "not tried" and how to set it.
Exit 0 when every endpoint answered, 1 otherwise. When every endpoint tried is unreachable (DNS or
connection errors: no answer at all), one line says this machine is offline and which hosts it
could not reach, exit 2. The settings (SEC_USER_AGENT) come from core/settings.py.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from orchestration.core.settings import Settings, SettingsError, load_settings
from orchestration.raw.sources.live.coinmetrics import URL as COINMETRICS_URL
from orchestration.raw.sources.live.http import (
    HtmlPageError,
    HttpClient,
    SourceError,
    SourceHTTPError,
    json_body,
    require,
)
from orchestration.raw.sources.live.yahoo import URL as YAHOO_URL
from orchestration.raw.sources.live.yahoo import Yahoo

TIMEOUT = 10.0  # seconds per request: a doctor should answer quickly
TICKER = "MARA"
SEC_URL = "https://data.sec.gov/submissions/CIK0001507605.json"  # MARA Holdings
SET_SEC = "set SEC_USER_AGENT='Name email' (the SEC refuses anonymous clients)"
ANSWERED, REFUSED, UNREACHABLE, NOT_TRIED = "answered", "refused", "unreachable", "not tried"


@dataclass(frozen=True)
class Row:
    endpoint: str
    host: str
    state: str  # ANSWERED, REFUSED, UNREACHABLE or NOT_TRIED
    detail: str  # what it answered, or why not
    todo: str  # what to do ("" when nothing)


@dataclass(frozen=True)
class Probe:
    endpoint: str
    url: str
    ask: Callable[[HttpClient], str]  # one request; what it answered, in a few words
    advice: Callable[[int | None], str]  # what to do when refused with that status (None: not HTTP)


def probes(settings: Settings, yesterday: date) -> list[Probe | Row]:
    """What to ask, in order; a Row where there is nothing to ask (SEC without SEC_USER_AGENT)."""

    def yahoo(http: HttpClient) -> str:
        closes = Yahoo(http).probe(TICKER, yesterday - timedelta(days=6), yesterday)
        return f"{closes} closes of {TICKER} for {yesterday - timedelta(days=6)}..{yesterday}"

    def coinmetrics(http: HttpClient) -> str:
        params = {
            "assets": "btc",
            "metrics": "PriceUSD",
            "frequency": "1d",
            "start_time": yesterday.isoformat(),
            "end_time": yesterday.isoformat(),
        }
        endpoint = f"Coin Metrics asset-metrics ({COINMETRICS_URL})"
        rows = http.get("coinmetrics", COINMETRICS_URL, params, parse=lambda text: _field(endpoint, text, "data")).value
        return f"PriceUSD of {yesterday}: {rows[0].get('PriceUSD')}" if rows else f"no row for {yesterday} yet"

    def sec(http: HttpClient) -> str:
        headers = {"User-Agent": settings.sec_user_agent or ""}
        parse = lambda text: _field(f"SEC EDGAR submissions ({SEC_URL})", text, "name")  # noqa: E731
        return f"submissions of {http.get('sec_edgar', SEC_URL, parse=parse, headers=headers).value}"

    def yahoo_advice(status: int | None) -> str:
        return (
            "Yahoo refuses this client: use equity_prices.csv and splits.csv in WAREHOUSE_CSV_DIR "
            "(or try later or from another network)"
        )

    def coinmetrics_advice(status: int | None) -> str:
        if status == 429:
            return "wait for the rate limit to reset (about 10 requests per 6 s per IP), then run again"
        return "Coin Metrics refuses this client: try later or from another network"

    def sec_advice(status: int | None) -> str:
        if status == 429:
            return "wait for the rate limit to reset (at most 10 requests/s), then run again"
        return f"the SEC refuses this User-Agent: {SET_SEC}"

    sec_row: Probe | Row = Probe("SEC EDGAR submissions", SEC_URL, sec, sec_advice)
    if not settings.sec_user_agent:
        sec_row = Row("SEC EDGAR submissions", _host(SEC_URL), NOT_TRIED, "set SEC_USER_AGENT='Name email'", SET_SEC)
    return [
        Probe("Yahoo Finance chart", YAHOO_URL.format(ticker=TICKER), yahoo, yahoo_advice),
        Probe("Coin Metrics community API", COINMETRICS_URL, coinmetrics, coinmetrics_advice),
        sec_row,
    ]


def examine(probe: Probe, http: HttpClient) -> Row:
    """Ask once and say how it went."""
    host = _host(probe.url)
    try:
        detail = probe.ask(http)
    except SourceHTTPError as error:
        if error.status is None:  # no answer: DNS, refused connection, timeout
            return Row(probe.endpoint, host, UNREACHABLE, _short(str(error.__cause__ or error)), _network(host))
        reason = f"HTTP {error.status}, {_short(error.body or str(error))}"
        return Row(probe.endpoint, host, REFUSED, reason, probe.advice(error.status))
    except HtmlPageError:
        return Row(probe.endpoint, host, REFUSED, "HTTP 200, an HTML page instead of data", probe.advice(200))
    except SourceError as error:
        return Row(probe.endpoint, host, REFUSED, f"answered, but not data: {_short(str(error))}", probe.advice(None))
    except (OSError, RuntimeError) as error:  # what a transport raised before any answer (a blocked socket)
        return Row(probe.endpoint, host, UNREACHABLE, _short(f"{type(error).__name__}: {error}"), _network(host))
    return Row(probe.endpoint, host, ANSWERED, detail, "")


def diagnose(
    settings: Settings,
    *,
    session: Any | None = None,
    browser_session: Any | None = None,
    today: date | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[Row]:
    """Every endpoint's row; `session` / `browser_session` replace the client's (tests)."""
    yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
    quiet = logging.getLogger("orchestration.raw.sources.live")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the rows say what the client's warnings would
    try:
        with tempfile.TemporaryDirectory(prefix="doctor-") as scratch:
            http = HttpClient(
                Path(scratch),
                refresh=True,
                timeout=TIMEOUT,
                attempts=1,
                sleep=sleep or (lambda seconds: None),
                session=session,
                browser_session=browser_session,
            )
            return [item if isinstance(item, Row) else examine(item, http) for item in probes(settings, yesterday)]
    finally:
        quiet.setLevel(level)


def report(rows: list[Row], out: TextIO) -> int:
    """Print the table (or the offline line) and return the exit code."""
    tried = [row for row in rows if row.state != NOT_TRIED]
    if tried and all(row.state == UNREACHABLE for row in tried):
        hosts = ", ".join(dict.fromkeys(row.host for row in tried))
        print(f"doctor: this machine is offline: could not reach {hosts} (DNS or connection errors)", file=out)
        return 2
    table = [("endpoint", "answer", "what to do")]
    for row in rows:
        answer = f"{row.state}: {row.detail}" if row.state == NOT_TRIED else f"{row.state} ({row.detail})"
        table.append((f"{row.endpoint} ({row.host})", answer, row.todo))
    widths = [max(len(line[column]) for line in table) for column in range(2)]
    for line in table:
        print(f"{line[0]:<{widths[0]}} | {line[1]:<{widths[1]}} | {line[2]}".rstrip(), file=out)
    return 0 if all(row.state == ANSWERED for row in rows) else 1


def main(
    *,
    settings: Settings | None = None,
    session: Any | None = None,
    browser_session: Any | None = None,
    today: date | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    try:
        settings = settings or load_settings()
    except SettingsError as error:
        print(f"doctor: {error}", file=sys.stderr)
        return 2
    rows = diagnose(settings, session=session, browser_session=browser_session, today=today)
    return report(rows, out)


def _field(endpoint: str, text: str, key: str) -> Any:
    return require(json_body(endpoint, text), endpoint, key)


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _network(host: str) -> str:
    return f"check this machine's network, DNS, proxy or firewall for {host}"


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
