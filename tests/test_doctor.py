"""`make doctor` (orchestration/cli/doctor.py) without the network: each endpoint's answer comes
from `responses` through plain `requests` sessions given to the doctor in place of its own (for
Yahoo, in place of the curl_cffi one), and the offline case runs the doctor's real `requests`
transport into pytest-socket's blocked sockets."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import registries

from orchestration.cli import doctor
from orchestration.core.paths import REPO_ROOT
from orchestration.core.settings import Settings
from orchestration.raw.sources.live import http as live_http

FIXTURES = Path(__file__).parent / "fixtures" / "live"
TODAY = date(2024, 10, 2)
USER_AGENT = "Example Research jane@example.com"
YAHOO_COOKIE = "https://fc.yahoo.com/"
YAHOO_CRUMB = "https://query1.finance.yahoo.com/v1/test/getcrumb"
YAHOO_MARA = "https://query1.finance.yahoo.com/v8/finance/chart/MARA"
COINMETRICS = "https://community-api.coinmetrics.io/v4/timeseries/asset-metrics"
SEC = "https://data.sec.gov/submissions/CIK0001507605.json"
PRICE = {"data": [{"asset": "btc", "time": "2024-10-01T00:00:00.000000000Z", "PriceUSD": "60837.0071"}]}
SUBMISSIONS = {"cik": "1507605", "name": "MARA Holdings, Inc.", "tickers": ["MARA"], "filings": {"recent": {}}}


@pytest.fixture(autouse=True)
def no_curl_cffi(monkeypatch: pytest.MonkeyPatch) -> None:
    """curl_cffi would go to the network past pytest-socket: every test gives its own session."""

    def refuse() -> None:
        raise AssertionError("a test would have made a curl_cffi session (real network)")

    monkeypatch.setattr(live_http, "impersonating_session", refuse)


@pytest.fixture
def served():
    with responses.RequestsMock(registry=registries.OrderedRegistry) as mock:
        yield mock


def settings(tmp_path: Path, user_agent: str | None = USER_AGENT) -> Settings:
    return Settings(warehouse_dir=tmp_path / "warehouse", source="live", sec_user_agent=user_agent)


def run(tmp_path: Path, user_agent: str | None = USER_AGENT) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = doctor.main(
        settings=settings(tmp_path, user_agent),
        session=requests.Session(),
        browser_session=requests.Session(),
        today=TODAY,
        out=out,
    )
    return code, out.getvalue().splitlines()


def serve_yahoo(mock: responses.RequestsMock, **chart) -> None:
    mock.add(responses.GET, YAHOO_COOKIE, status=404, headers={"Set-Cookie": "A3=d=AQAB; Domain=.yahoo.com; Path=/"})
    mock.add(responses.GET, YAHOO_CRUMB, body="Xk3.Tr9bQ2v")
    mock.add(responses.GET, YAHOO_MARA, **chart)


def row(lines: list[str], endpoint: str) -> list[str]:
    (line,) = [line for line in lines if line.startswith(endpoint)]
    return [cell.strip() for cell in line.split("|")]


def test_every_endpoint_answering_prints_answered_rows_and_exits_0(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_yahoo(served, body=(FIXTURES / "yahoo" / "iren_2024-06-03_2024-06-14.json").read_text())
    served.add(responses.GET, COINMETRICS, json=PRICE)
    served.add(responses.GET, SEC, json=SUBMISSIONS)
    code, lines = run(tmp_path)

    assert code == 0
    assert row(lines, "endpoint") == ["endpoint", "answer", "what to do"]
    assert row(lines, "Yahoo Finance chart") == [
        "Yahoo Finance chart (query1.finance.yahoo.com)",
        "answered (10 closes of MARA for 2024-09-25..2024-10-01)",
        "",
    ]
    assert row(lines, "Coin Metrics")[1] == "answered (PriceUSD of 2024-10-01: 60837.0071)"
    assert row(lines, "SEC EDGAR")[1] == "answered (submissions of MARA Holdings, Inc.)"
    # through the live source's own client: Yahoo's handshake and crumb, one small range each, the UA
    chart = parse_qs(urlsplit(served.calls[2].request.url).query)
    assert chart["crumb"] == ["Xk3.Tr9bQ2v"] and chart["interval"] == ["1d"]
    asked = parse_qs(urlsplit(served.calls[3].request.url).query)
    assert asked["start_time"] == asked["end_time"] == ["2024-10-01"] and asked["metrics"] == ["PriceUSD"]
    assert served.calls[4].request.headers["User-Agent"] == USER_AGENT


def test_the_replay_cache_is_bypassed(tmp_path: Path, served: responses.RequestsMock) -> None:
    """A second doctor asks again: nothing it downloaded is kept or replayed."""
    for _ in range(2):
        serve_yahoo(served, body=(FIXTURES / "yahoo" / "iren_2024-06-03_2024-06-14.json").read_text())
        served.add(responses.GET, COINMETRICS, json=PRICE)
    assert run(tmp_path, user_agent=None)[0] == run(tmp_path, user_agent=None)[0] == 1  # (SEC not tried)
    assert len(served.calls) == 8 and not (tmp_path / "warehouse").exists()


def test_refusals_name_status_and_reason_say_what_to_do_and_exit_1(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_yahoo(served, status=429, body="Too Many Requests")
    served.add(
        responses.GET,
        COINMETRICS,
        status=429,
        headers={"x-ratelimit-reset": "3"},
        body=(FIXTURES / "coinmetrics" / "rate_limited.json").read_text(),
    )
    code, lines = run(tmp_path, user_agent=None)

    assert code == 1
    yahoo = row(lines, "Yahoo Finance chart")
    assert yahoo[1] == "refused (HTTP 429, Too Many Requests)"
    assert yahoo[2].startswith("Yahoo refuses this client: use equity_prices.csv and splits.csv in WAREHOUSE_CSV_DIR")
    coinmetrics = row(lines, "Coin Metrics")
    assert coinmetrics[1].startswith("refused (HTTP 429, ")
    assert "Requests rate limit exceeded" in coinmetrics[1]
    assert coinmetrics[2].startswith("wait for the rate limit to reset")
    sec = row(lines, "SEC EDGAR")
    assert sec[1] == "not tried: set SEC_USER_AGENT='Name email'"
    assert "set SEC_USER_AGENT" in sec[2]
    assert len(served.calls) == 4  # no retries: one request per endpoint (after Yahoo's handshake)


def test_an_html_page_and_a_refused_user_agent(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_yahoo(served, body="<!DOCTYPE html><html><body>Will be right back</body></html>", content_type="text/html")
    served.add(responses.GET, COINMETRICS, body=json.dumps(PRICE))
    served.add(
        responses.GET, SEC, status=403, body="<html><h1>Your Request Originates from an Undeclared Automated Tool</h1>"
    )
    code, lines = run(tmp_path)

    assert code == 1
    assert row(lines, "Yahoo Finance chart")[1] == "refused (HTTP 200, an HTML page instead of data)"
    assert row(lines, "Coin Metrics")[1].startswith("answered")
    sec = row(lines, "SEC EDGAR")
    assert sec[1].startswith("refused (HTTP 403, <html><h1>Your Request Originates from an Undeclared")
    assert sec[2].startswith("the SEC refuses this User-Agent: set SEC_USER_AGENT='Name email'")


@pytest.mark.filterwarnings("ignore:A test tried to use socket")  # pytest-socket's, expected here
@pytest.mark.parametrize(
    ("user_agent", "hosts"),
    [
        (USER_AGENT, "query1.finance.yahoo.com, community-api.coinmetrics.io, data.sec.gov"),
        (None, "query1.finance.yahoo.com, community-api.coinmetrics.io"),
    ],
    ids=["sec-set", "sec-unset"],
)
def test_offline_is_one_line_naming_the_hosts_and_exits_non_zero(
    tmp_path: Path, user_agent: str | None, hosts: str
) -> None:
    """No `responses` here: the doctor's own `requests` transport meets pytest-socket's blocked sockets."""
    out = io.StringIO()
    code = doctor.main(
        settings=settings(tmp_path, user_agent), browser_session=requests.Session(), today=TODAY, out=out
    )
    assert code == 2
    assert out.getvalue().splitlines() == [
        f"doctor: this machine is offline: could not reach {hosts} (DNS or connection errors)"
    ]


def test_a_connection_error_is_unreachable_and_the_others_still_answer(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    served.add(responses.GET, YAHOO_COOKIE, body=requests.ConnectionError("Failed to resolve 'fc.yahoo.com'"))
    served.add(responses.GET, YAHOO_CRUMB, body=requests.ConnectionError("Failed to resolve"))
    served.add(responses.GET, "https://guce.yahoo.com/consent", body=requests.ConnectionError("Failed to resolve"))
    served.add(responses.GET, YAHOO_MARA, body=requests.ConnectionError("Failed to resolve 'query1.finance.yahoo.com'"))
    served.add(responses.GET, COINMETRICS, json=PRICE)
    served.add(responses.GET, SEC, json=SUBMISSIONS)
    code, lines = run(tmp_path)

    assert code == 1, lines
    yahoo = row(lines, "Yahoo Finance chart")
    assert yahoo[1].startswith("unreachable (Failed to resolve 'query1.finance.yahoo.com'")
    assert yahoo[2] == "check this machine's network, DNS, proxy or firewall for query1.finance.yahoo.com"


def test_make_doctor_runs_the_module() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "\n## doctor: " in makefile and "\ndoctor: " in makefile
    assert "$(PY) -m orchestration.cli.doctor" in makefile
