"""The live adapters against recorded-shape fixtures served by `responses` (sockets stay blocked):
retries without real sleeping, the replay cache, changed shapes and error answers, the chain
mapping against the reference data, unadjusted closes around splits, the price fallback, share
classes, overrides and the staleness warning."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import curl_cffi.requests
import duckdb
import pandas as pd
import pytest
import requests
import responses
from responses import registries

from orchestration.core.settings import load_settings
from orchestration.definitions import build_resources
from orchestration.raw.contract import DATASETS, RawDataError
from orchestration.raw.loader import load_frame
from orchestration.raw.sources.csv_files import FILES, CsvSource
from orchestration.raw.sources.live import LiveSource, read_universe
from orchestration.raw.sources.live import http as live_http
from orchestration.raw.sources.live.coinmetrics import URL as COINMETRICS_URL
from orchestration.raw.sources.live.coinmetrics import CoinMetrics
from orchestration.raw.sources.live.feeds import NoHistory, TickerHistory, no_splits
from orchestration.raw.sources.live.http import (
    HtmlPageError,
    HttpClient,
    SourceError,
    SourceHTTPError,
    SourceShapeError,
    json_body,
    request_key,
)
from orchestration.raw.sources.live.sec_edgar import SecEdgar, load_ciks
from orchestration.raw.sources.live.yahoo import Yahoo
from tests.coinmetrics_counts import blkcnt_body

FIXTURES = Path(__file__).parent / "fixtures" / "live"
REAL_IMPERSONATING_SESSION = live_http.impersonating_session
REFERENCE_BTC_DAILY = Path(__file__).parent / "fixtures" / "csv" / "btc_daily.csv"
NOW = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)  # the tests' "today"
YAHOO_IREN = "https://query1.finance.yahoo.com/v8/finance/chart/IREN"
YAHOO_MARA = "https://query1.finance.yahoo.com/v8/finance/chart/MARA"
YAHOO_COOKIE = "https://fc.yahoo.com/"
YAHOO_CRUMB = "https://query1.finance.yahoo.com/v1/test/getcrumb"
CRUMB = "Xk3.Tr9bQ2v"
# What fc.yahoo.com sets (an error page that sets a one-year A3 cookie on .yahoo.com)
A3_COOKIE = (
    "A3=d=AQABBKx7&S=AQAAAm9; Expires=Sat, 4 Dec 2027 21:00:00 GMT; Max-Age=31557600; "
    "Domain=.yahoo.com; Path=/; Secure; HttpOnly; SameSite=None"
)
SEC = "https://data.sec.gov/api/xbrl/companyfacts/CIK{:010d}.json"
SUBMISSIONS = "https://data.sec.gov/submissions/CIK{:010d}.json"
HALVING_RANGE = (date(2024, 4, 18), date(2024, 4, 21))
JUNE_RANGE = (date(2024, 6, 3), date(2024, 6, 14))
USER_AGENT = "Example Research jane@example.com"


def body(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def never_sleep(seconds: float) -> None:
    raise AssertionError(f"a test would have slept {seconds} s")


def client(
    tmp_path: Path, *, sleep: Callable[[float], None] = never_sleep, now: datetime = NOW, **options
) -> HttpClient:
    """A client whose sessions, the browser one (Yahoo's) included, are plain `requests` sessions:
    what `responses` intercepts."""
    return HttpClient(
        tmp_path / "raw_responses", sleep=sleep, clock=lambda: now, browser_session=requests.Session(), **options
    )


@pytest.fixture(autouse=True)
def no_curl_cffi(monkeypatch: pytest.MonkeyPatch) -> None:
    """curl_cffi talks to the network through libcurl, past both `responses` and pytest-socket: a
    test that would make the production browser session fails instead."""

    def refuse() -> None:
        raise AssertionError("a test would have made a curl_cffi session (real network)")

    monkeypatch.setattr(live_http, "impersonating_session", refuse)


@pytest.fixture
def served() -> Iterator[responses.RequestsMock]:
    """Answers in the order registered; every registered answer must be asked for."""
    with responses.RequestsMock(registry=registries.OrderedRegistry) as mock:
        yield mock


def serve_handshake(mock: responses.RequestsMock, crumb: str = CRUMB, cookie: str = A3_COOKIE) -> None:
    """Yahoo's cookie then its crumb, as yfinance's 'basic' strategy asks them."""
    mock.add(responses.GET, YAHOO_COOKIE, status=404, headers={"Set-Cookie": cookie}, body="<html>404</html>")
    mock.add(responses.GET, YAHOO_CRUMB, body=crumb, content_type="text/plain")


def query(call: responses.Call) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def serve_halving(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page1.json"))
    mock.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page2.json"))
    mock.add(responses.GET, COINMETRICS_URL, body=blkcnt_body(date(2024, 4, 17)))  # the heights' counts


def universe(*tickers: str) -> pd.DataFrame:
    seed = read_universe()
    return seed[seed["ticker"].isin(tickers)].reset_index(drop=True)


# --- the shared HTTP client -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "waited"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Tue, 01 Oct 2024 12:00:30 GMT"}, 30.0),
        # Coin Metrics' own header: seconds until its rate-limit window resets
        ({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"}, 3.0),
        ({"Retry-After": "7", "x-ratelimit-reset": "3"}, 7.0),  # Retry-After first
    ],
    ids=["seconds", "http-date", "x-ratelimit-reset", "both"],
)
def test_rate_limit_is_retried_after_the_servers_wait_without_sleeping(
    tmp_path: Path, served: responses.RequestsMock, headers: dict[str, str], waited: float
) -> None:
    served.add(
        responses.GET,
        COINMETRICS_URL,
        status=429,
        headers=headers,
        body=body("coinmetrics/rate_limited.json"),
    )
    serve_halving(served)
    sleeps: list[float] = []
    frame = LiveSource(client(tmp_path, sleep=sleeps.append)).fetch("btc_daily", *HALVING_RANGE)
    assert len(frame) == 4 and sleeps == [waited]
    assert served.calls[0].request.url == served.calls[1].request.url  # the same page, again


def test_server_errors_back_off_exponentially_then_give_up(tmp_path: Path, served: responses.RequestsMock) -> None:
    for _ in range(3):
        served.add(responses.GET, COINMETRICS_URL, status=503, body="upstream unavailable")
    sleeps: list[float] = []
    with pytest.raises(SourceHTTPError, match="HTTP 503: gave up after 3 attempts") as caught:
        client(tmp_path, sleep=sleeps.append, attempts=3).get("coinmetrics", COINMETRICS_URL, parse=str)
    assert caught.value.url == COINMETRICS_URL and sleeps == [1.0, 2.0]
    # the last body is kept for inspection
    assert (tmp_path / "raw_responses" / "coinmetrics" / "rejected").is_dir()


def test_a_host_that_does_not_resolve_fails_at_once_saying_the_machine_may_be_offline(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    unresolved = requests.ConnectionError(
        "HTTPSConnectionPool(host='community-api.coinmetrics.io', port=443): Max retries exceeded (Caused by "
        "NameResolutionError(\"Failed to resolve 'community-api.coinmetrics.io' "
        '([Errno -2] Name or service not known)"))'
    )
    served.add(responses.GET, COINMETRICS_URL, body=unresolved)
    with pytest.raises(SourceHTTPError) as caught:
        client(tmp_path).get("coinmetrics", COINMETRICS_URL, parse=json.loads)  # never_sleep: no retry
    assert str(caught.value) == (
        f"{COINMETRICS_URL}: no response: cannot resolve community-api.coinmetrics.io: is this machine offline? "
        "(`make doctor` checks every endpoint)"
    )


def test_connection_error_is_retried(tmp_path: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, COINMETRICS_URL, body=requests.ConnectionError("connection reset"))
    served.add(responses.GET, COINMETRICS_URL, body='{"data": []}')
    sleeps: list[float] = []
    reply = client(tmp_path, sleep=sleeps.append).get("coinmetrics", COINMETRICS_URL, parse=json.loads)
    assert reply.value == {"data": []} and sleeps == [1.0]


class CurlLikeSession:
    """A stand-in for the curl_cffi session: raises curl_cffi's own error first, then answers."""

    def __init__(self, answer: str) -> None:
        self.answer, self.asked = answer, 0
        self.headers: dict[str, str] = {}

    def get(self, url: str, **options) -> requests.Response:
        self.asked += 1
        if self.asked == 1:
            raise curl_cffi.requests.exceptions.ConnectionError(
                "Failed to perform, curl: (7) Failed to connect: Connection refused"
            )
        response = requests.Response()
        response.status_code, response._content = 200, self.answer.encode()
        return response


def test_curl_cffi_connection_errors_are_retried_like_requests_ones(tmp_path: Path) -> None:
    session = CurlLikeSession('{"data": []}')
    sleeps: list[float] = []
    reply = client(tmp_path, sleep=sleeps.append, session=session).get("coinmetrics", COINMETRICS_URL, parse=json.loads)
    assert reply.value == {"data": []}
    assert session.asked == 2 and sleeps == [1.0]


def test_second_fetch_replays_from_disk_with_zero_http_calls(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_halving(served)
    first = LiveSource(client(tmp_path)).fetch("btc_daily", *HALVING_RANGE)
    cached = sorted((tmp_path / "raw_responses").rglob("*.json"))
    assert [path.parent.name for path in cached] == ["coinmetrics"] * 3
    pages = [json.loads(path.read_text()) for path in cached]
    assert body("coinmetrics/halving_page2.json") in [page["body"] for page in pages]  # exactly as sent
    assert any(page["url"].endswith("&start_time=2024-04-18") for page in pages)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as nothing_served:
        again = LiveSource(client(tmp_path)).fetch("btc_daily", *HALVING_RANGE)
        assert len(nothing_served.calls) == 0
    pd.testing.assert_frame_equal(first, again)


def test_refresh_downloads_again(tmp_path: Path, served: responses.RequestsMock) -> None:
    for _ in range(2):
        served.add(responses.GET, COINMETRICS_URL, body='{"data": []}')
    client(tmp_path).get("coinmetrics", COINMETRICS_URL, parse=json.loads)
    client(tmp_path, refresh=True).get("coinmetrics", COINMETRICS_URL, parse=json.loads)
    assert len(served.calls) == 2


def test_copy_fetched_before_the_range_ended_is_downloaded_again(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    # Fetched on the range's last day, which may be incomplete then ...
    serve_halving(served)
    on_last_day = datetime(2024, 4, 21, 18, tzinfo=UTC)
    LiveSource(client(tmp_path, now=on_last_day)).fetch("btc_daily", *HALVING_RANGE)
    # ... so the range is asked again later; the counts before it (settled since 04-18) are replayed.
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page1.json"))
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page2.json"))
    LiveSource(client(tmp_path)).fetch("btc_daily", *HALVING_RANGE)
    assert len(served.calls) == 5


def test_changed_shape_names_endpoint_and_key_and_is_not_replayed(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/changed_shape.json"))
    with pytest.raises(SourceShapeError) as caught:
        LiveSource(client(tmp_path)).fetch("btc_daily", *HALVING_RANGE)
    assert caught.value.endpoint == f"Coin Metrics asset-metrics ({COINMETRICS_URL})"
    assert caught.value.missing == "key data" and "changed shape" in str(caught.value)
    kept = list((tmp_path / "raw_responses" / "coinmetrics").rglob("*.json"))
    assert [path.parent.name for path in kept] == ["rejected"]


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain"], ids=["text/html", "html-markup"])
def test_an_html_page_is_refused_before_any_parsing_and_kept_as_rejected(
    tmp_path: Path, served: responses.RequestsMock, content_type: str
) -> None:
    """What stooq serves non-browser clients since 2026 (HTTP 200): a JavaScript proof-of-work page.
    Served to any feed, it is refused naming the URL, never parsed, kept under rejected/ only."""
    page = body("stooq/proof_of_work.html")
    served.add(responses.GET, COINMETRICS_URL, body=page, content_type=content_type)

    def never_parse(text: str) -> int:
        raise AssertionError("an HTML page was handed to the parser")

    with pytest.raises(HtmlPageError) as caught:
        client(tmp_path).get("coinmetrics", COINMETRICS_URL, parse=never_parse)
    assert str(caught.value).startswith(
        f"{COINMETRICS_URL}: answered with an HTML page (a block or login page?), not data: <!DOCTYPE html>"
    )
    kept = list((tmp_path / "raw_responses" / "coinmetrics").rglob("*.json"))
    assert [path.parent.name for path in kept] == ["rejected"]
    assert json.loads(kept[0].read_text())["body"] == page


def test_an_html_page_served_to_a_feed_fails_its_dataset(tmp_path: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, COINMETRICS_URL, body=body("stooq/proof_of_work.html"), content_type="text/html")
    with pytest.raises(HtmlPageError, match=r"asset-metrics\?.*: answered with an HTML page"):
        LiveSource(client(tmp_path)).fetch("btc_daily", *HALVING_RANGE)
    assert not list((tmp_path / "raw_responses" / "coinmetrics").glob("*.json"))  # nothing to replay


def test_json_parsing_refuses_markup_naming_the_endpoint() -> None:
    with pytest.raises(HtmlPageError, match=r"^Yahoo chart MARA: answered with an HTML page"):
        json_body("Yahoo chart MARA", "\n  <html><body>Will be right back</body></html>")


def test_an_xml_document_is_data_not_a_page() -> None:
    """SEC's XBRL instances start with `<?xml`: data, whatever the markup."""
    from orchestration.raw.sources.live.http import is_html

    assert not is_html('<?xml version="1.0" encoding="utf-8"?>\n<xbrl xmlns="http://www.xbrl.org/2003/instance">')
    assert is_html("<!DOCTYPE html><html>", "text/plain") and is_html("<xbrl/>", "text/html; charset=utf-8")


# --- Coin Metrics ---------------------------------------------------------------------------------


def test_btc_daily_reproduces_the_reference_rows_and_loads(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_halving(served)
    source = LiveSource(client(tmp_path))
    frame = source.fetch("btc_daily", *HALVING_RANGE)

    first, second = query(served.calls[0]), served.calls[1].request.url
    assert first["start_time"] == "2024-04-18" and first["end_time"] == "2024-04-21"
    assert first["frequency"] == "1d" and first["assets"] == "btc"
    wanted = {"PriceUSD", "HashRate", "BlkCnt", "FeeTotNtv", "SplyCur", "IssTotNtv"}
    assert set(first["metrics"].split(",")) == wanted  # no DiffMean: the community tier does not serve it
    assert second == json.loads(body("coinmetrics/halving_page1.json"))["next_page_url"]
    counts = query(served.calls[2])  # the heights: every block counted from the genesis day
    assert counts["metrics"] == "BlkCnt" and (counts["start_time"], counts["end_time"]) == ("2009-01-03", "2024-04-17")

    reference = pd.read_csv(REFERENCE_BTC_DAILY, parse_dates=["date"]).head(4)
    assert list(frame.columns) == list(DATASETS["btc_daily"].columns)
    pd.testing.assert_frame_equal(frame, reference, check_dtype=False, rtol=1e-9)
    assert source.warnings == []
    loaded = load_frame(
        duckdb.connect(),
        "btc_daily",
        frame,
        origin=source.origin("btc_daily"),
        source_name=source.name,
        synthetic=source.synthetic,
    )
    assert loaded.row_count == 4


def test_a_value_the_loader_refuses_names_the_response_files_it_came_from(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    """The adapter accepts a zero price (the shape is fine), so the response is saved; the loader
    refuses it, and its error says which saved files the rows came from and, once they are being
    replayed, how to download them again."""
    page = body("coinmetrics/halving_page1.json").replace('"63762.6310300994"', '"0"')
    served.add(responses.GET, COINMETRICS_URL, body=page)
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page2.json"))
    served.add(responses.GET, COINMETRICS_URL, body=blkcnt_body(date(2024, 4, 17)))
    saved = tmp_path / "raw_responses"

    def refused(source: LiveSource) -> str:
        frame = source.fetch("btc_daily", *HALVING_RANGE)
        with pytest.raises(RawDataError) as caught:
            load_frame(duckdb.connect(), "btc_daily", frame, origin=source.origin("btc_daily"),
                       source_name=source.name, synthetic=False)  # fmt: skip
        return str(caught.value)

    first = refused(LiveSource(client(tmp_path)))
    files = sorted(saved.rglob("*.json"))
    assert len(files) == 3 and all(str(path) in first for path in files)
    assert "row 2 (date 2024-04-19), column 'price_usd': value '0.0' must be > 0" in first
    assert "(downloaded in this run)" in first

    again = refused(LiveSource(client(tmp_path)))  # nothing served: every file is replayed
    assert all(str(path) in again for path in files)
    assert "(3 of them replayed from an earlier run; WAREHOUSE_LIVE_REFRESH=1 downloads them again)" in again


def test_many_responses_are_named_by_their_folders_and_counted() -> None:
    from orchestration.raw.sources.live import responses_note
    from orchestration.raw.sources.live.http import Saved

    saved = Path("/w/raw_responses")
    used = [Saved(saved / "yahoo" / f"{ticker}-0123.json", True) for ticker in ("MARA", "RIOT", "CLSK", "HUT")]
    used += [Saved(saved / "coinmetrics" / "4567.json", False), Saved(saved / "yahoo" / "MARA-0123.json", True)]
    assert responses_note(used) == (
        "; responses: 5 files in /w/raw_responses/yahoo, /w/raw_responses/coinmetrics, each holding the URL it "
        "answers (ticker, CIK) (4 of them replayed from an earlier run; WAREHOUSE_LIVE_REFRESH=1 downloads them again)"
    )
    assert responses_note([]) == ""


def test_heights_disagreeing_with_issuance_warn(tmp_path: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page1.json"))
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page2.json"))
    served.add(responses.GET, COINMETRICS_URL, body=blkcnt_body(date(2024, 4, 17), blocks=839_704))  # 4 short
    source = LiveSource(client(tmp_path))
    frame = source.fetch("btc_daily", *HALVING_RANGE)
    assert frame["block_height"].tolist() == [839848, 839999, 840129, 840269]
    assert len(source.warnings) == 1
    assert source.warnings[0].startswith("btc_daily 2024-04-19: Coin Metrics reports 931.25 BTC issued")


def test_a_trailing_day_coin_metrics_has_not_completed_is_left_out(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    """Coin Metrics' latest day may have PriceUSD before BlkCnt and the rest: left out, with a warning."""
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page1.json"))
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/trailing_partial_day.json"))
    served.add(responses.GET, COINMETRICS_URL, body=blkcnt_body(date(2024, 4, 17)))
    source = LiveSource(client(tmp_path))
    frame = source.fetch("btc_daily", date(2024, 4, 18), date(2024, 4, 22))
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-04-18", "2024-04-19", "2024-04-20", "2024-04-21"]
    assert source.warnings == [
        "btc_daily 2024-04-22: Coin Metrics has not completed this day yet (no BlkCnt, FeeTotNtv): "
        "left out; a later run loads it"
    ]


def test_a_day_missing_a_metric_before_the_last_complete_one_is_an_error(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    page = body("coinmetrics/halving_page1.json").replace('"BlkCnt": "151"', '"BlkCnt": null')
    served.add(responses.GET, COINMETRICS_URL, body=page)
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/halving_page2.json"))
    with pytest.raises(SourceError, match=r"no BlkCnt for 2024-04-19: not published for that day"):
        LiveSource(client(tmp_path)).fetch("btc_daily", *HALVING_RANGE)


def test_difficulty_is_derived_from_hashrate_and_blocks(tmp_path: Path, served: responses.RequestsMock) -> None:
    """DiffMean is not served on the community tier, so difficulty is always derived (one formula for
    every day): 2024-04-23, HashRate 721,458,960 TH/s over 168 blocks: 721458960e12 * 86400 / (168 * 2^32)
    = 8.6389e13, not the DiffMean the fixture also carries."""
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/with_diffmean.json"))
    served.add(responses.GET, COINMETRICS_URL, body=blkcnt_body(date(2024, 4, 22), blocks=840_426))
    frame = LiveSource(client(tmp_path)).fetch("btc_daily", date(2024, 4, 23), date(2024, 4, 23))
    row = json.loads(body("coinmetrics/with_diffmean.json"))["data"][0]
    expected = float(row["HashRate"]) * 1e12 * 86_400 / (int(row["BlkCnt"]) * 2**32)
    assert frame.loc[0, "difficulty"] == pytest.approx(expected, rel=1e-12)
    assert frame.loc[0, "difficulty"] != float(row["DiffMean"])  # a DiffMean, if served anyway, is not used
    assert frame.loc[0, "block_height"] == 840_425 + int(row["BlkCnt"])


def test_empty_range_gives_an_empty_frame_without_an_anchor(tmp_path: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, COINMETRICS_URL, body=body("coinmetrics/empty.json"))
    frame = LiveSource(client(tmp_path)).fetch("btc_daily", date(2030, 1, 1), date(2030, 1, 31))
    assert frame.empty and list(frame.columns) == list(DATASETS["btc_daily"].columns)
    assert len(served.calls) == 1


# --- Yahoo Finance ---------------------------------------------------------------------------------


UNADJUSTED_JUNE = [30.00, 31.50, 33.00, 32.40, 31.20, 10.90, 11.20, 11.80, 12.05, 11.62]


def test_closes_are_unadjusted_for_splits_in_and_after_the_range(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_2024-06-03_2024-06-14.json"))
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_after_2024-06-14.json"))
    source = LiveSource(client(tmp_path), universe=universe("IREN"))

    prices = source.fetch("equity_prices", *JUNE_RANGE)
    assert prices["close"].tolist() == UNADJUSTED_JUNE  # 3-for-1 on 06-10, then 1-for-2 on 09-16
    assert prices["date"].iloc[[0, -1]].tolist() == [
        pd.Timestamp("2024-06-03"),
        pd.Timestamp("2024-06-14"),
    ]
    assert set(prices["ticker"]) == {"IREN"} and source.warnings == []
    asked = [query(call) for call in served.calls[2:]]  # after the cookie and the crumb
    assert asked[0]["period1"] == "1717372800" and asked[0]["period2"] == "1718409600"  # the range
    assert asked[1]["period1"] == "1718409600" and asked[1]["period2"] == str(int(NOW.timestamp()))
    assert asked[0]["events"] == "split" and asked[0]["interval"] == "1d"

    splits = source.fetch("splits", *JUNE_RANGE)  # replayed: no further request
    assert splits.values.tolist() == [["IREN", pd.Timestamp("2024-06-10"), 3.0]]
    # Each dataset's origin names the files its own fetch read: the closes' two downloads, the
    # splits' the same two replayed; a chain fetch afterwards names only its own.
    iren = sorted((tmp_path / "raw_responses" / "yahoo").glob("*.json"))
    assert len(iren) == 2
    assert all(str(p) in source.origin("equity_prices") for p in iren) and "(downloaded in this run)" in source.origin(
        "equity_prices"
    )
    assert all(str(p) in source.origin("splits") for p in iren) and "2 of them replayed" in source.origin("splits")
    serve_halving(served)
    source.fetch("btc_daily", *HALVING_RANGE)
    assert "coinmetrics" in source.origin("btc_daily") and not any(str(p) in source.origin("btc_daily") for p in iren)


# --- Yahoo's cookie and crumb ---------------------------------------------------------------------

JUST_AFTER_JUNE = datetime(2024, 6, 14, 22, tzinfo=UTC)  # no later-splits request: one chart per history


def test_yahoo_handshake_is_made_once_and_its_crumb_sent_but_never_saved(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_2024-06-03_2024-06-14.json"))
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_after_2024-06-14.json"))
    yahoo = Yahoo(client(tmp_path))
    first = yahoo.history("IREN", *JUNE_RANGE)

    cookie, crumb, *charts = served.calls
    assert cookie.request.url == YAHOO_COOKIE and crumb.request.url == YAHOO_CRUMB
    assert crumb.request.headers["Cookie"] == "A3=d=AQABBKx7&S=AQAAAm9"  # the cookie fc.yahoo.com set
    assert len(charts) == 2 and yahoo.credentials.handshakes == 1  # one handshake for both charts
    assert all(query(chart)["crumb"] == CRUMB for chart in charts)
    assert all(chart.request.headers["Cookie"] == "A3=d=AQABBKx7&S=AQAAAm9" for chart in charts)
    saved = sorted((tmp_path / "raw_responses" / "yahoo").glob("*.json"))
    assert len(saved) == 2
    for path in saved:  # the key and the saved URL are the crumb-less ones
        url = json.loads(path.read_text())["url"]
        assert url.startswith(YAHOO_IREN) and "crumb" not in url and path.stem == request_key(url)

    # The next run has another session (another crumb would come): it replays, no handshake at all.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as nothing_served:
        again = Yahoo(client(tmp_path))
        replayed = again.history("IREN", *JUNE_RANGE)
        assert len(nothing_served.calls) == 0 and again.credentials.handshakes == 0
    pd.testing.assert_frame_equal(replayed.closes, first.closes)


def test_an_invalid_crumb_renews_cookie_and_crumb_once(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, status=401, body=body("yahoo/invalid_crumb.json"))
    serve_handshake(served, crumb="N3w.Crumb", cookie=A3_COOKIE.replace("AQABBKx7", "AQABBNew"))
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_2024-06-03_2024-06-14.json"))
    yahoo = Yahoo(client(tmp_path, now=JUST_AFTER_JUNE))
    history = yahoo.history("IREN", *JUNE_RANGE)

    assert len(history.closes) == 10 and yahoo.credentials.handshakes == 2
    refused, renewed = served.calls[2], served.calls[5]
    assert query(refused)["crumb"] == CRUMB and query(renewed)["crumb"] == "N3w.Crumb"
    assert renewed.request.headers["Cookie"] == "A3=d=AQABBNew&S=AQAAAm9"  # the old cookie was dropped


def test_a_crumb_refused_again_after_renewal_is_an_error(tmp_path: Path, served: responses.RequestsMock) -> None:
    for _ in range(2):
        serve_handshake(served)
        served.add(responses.GET, YAHOO_IREN, status=401, body=body("yahoo/invalid_crumb.json"))
    refused = r"chart/IREN\?events=split.*: HTTP 401: Unauthorized: .*Invalid Crumb"
    with pytest.raises(SourceHTTPError, match=refused) as caught:
        Yahoo(client(tmp_path, now=JUST_AFTER_JUNE)).history("IREN", *JUNE_RANGE)
    assert "crumb=" not in str(caught.value) and len(served.calls) == 6
    assert list((tmp_path / "raw_responses" / "yahoo" / "rejected").glob("*.json"))


def test_a_yahoo_429_is_retried_once_briefly_then_says_what_to_do(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_handshake(served)
    for _ in range(2):
        served.add(responses.GET, YAHOO_IREN, status=429, headers={"Retry-After": "60"}, body="Too Many Requests")
    sleeps: list[float] = []
    source = LiveSource(client(tmp_path, sleep=sleeps.append), universe=universe("IREN"))
    with pytest.raises(SourceError) as caught:
        source.fetch("equity_prices", *JUNE_RANGE)
    assert sleeps == [5.0]  # one short retry, not Retry-After's minute, not five exponential ones
    message = str(caught.value)
    assert "HTTP 429: still refused after 2 attempts: Yahoo is refusing this client" in message
    assert "WAREHOUSE_CSV_DIR/equity_prices.csv and splits.csv" in message
    assert len(served.calls) == 4


def test_a_rate_limited_crumb_lets_the_chart_decide(tmp_path: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, YAHOO_COOKIE, status=404, headers={"Set-Cookie": A3_COOKIE}, body="<html>404</html>")
    served.add(responses.GET, YAHOO_CRUMB, status=429, body="Too Many Requests")
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_2024-06-03_2024-06-14.json"))
    history = Yahoo(client(tmp_path, now=JUST_AFTER_JUNE)).history("IREN", *JUNE_RANGE)
    assert len(history.closes) == 10 and "crumb" not in query(served.calls[2])


def test_a_consent_wall_is_accepted_as_yfinance_does(tmp_path: Path, served: responses.RequestsMock) -> None:
    """No cookie from fc.yahoo.com and no crumb (the EU): accept the consent form, then ask again."""
    session_id = "3_cc-session_5f1e2d3c-4b5a"
    served.add(responses.GET, YAHOO_COOKIE, status=404, body="<html>404</html>")
    served.add(responses.GET, YAHOO_CRUMB, body="")
    served.add(responses.GET, "https://guce.yahoo.com/consent", body=body("yahoo/consent_form.html"))
    served.add(responses.POST, "https://consent.yahoo.com/v2/collectConsent", headers={"Set-Cookie": A3_COOKIE})
    served.add(responses.GET, "https://guce.yahoo.com/copyConsent")
    served.add(responses.GET, "https://query2.finance.yahoo.com/v1/test/getcrumb", body=CRUMB)
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_2024-06-03_2024-06-14.json"))
    Yahoo(client(tmp_path, now=JUST_AFTER_JUNE)).history("IREN", *JUNE_RANGE)

    agreed = served.calls[3].request
    assert query(served.calls[3])["sessionId"] == session_id == query(served.calls[4])["sessionId"]
    form = parse_qs(agreed.body)
    assert form["csrfToken"] == ["Qk9ZQnlyd3Rk"] and form["agree"] == ["agree", "agree"]
    assert query(served.calls[6])["crumb"] == CRUMB


def test_production_asks_yahoo_through_a_chrome_impersonating_curl_cffi_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_http, "impersonating_session", REAL_IMPERSONATING_SESSION)
    source = LiveSource.configured(tmp_path / "warehouse")
    yahoo = source.prices[0]
    assert isinstance(yahoo, Yahoo) and yahoo.credentials.session is source.http.browser
    assert isinstance(source.http.browser, curl_cffi.requests.Session)
    assert source.http.browser.impersonate == "chrome"
    assert isinstance(source.http.session, requests.Session)  # every other provider
    assert yahoo.credentials.handshakes == 0  # making the session asked nothing


def test_no_later_split_request_when_downloaded_right_after_the_range(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_2024-06-03_2024-06-14.json"))
    just_after = datetime(2024, 6, 14, 22, tzinfo=UTC)
    history = Yahoo(client(tmp_path, now=just_after)).history("IREN", *JUNE_RANGE)
    assert history.closes["close"].iloc[0] == 60.0  # only the in-range 3-for-1 split is undone
    assert len(served.calls) == 3  # cookie, crumb, one chart


def test_empty_yahoo_range(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/empty_range.json"))
    history = Yahoo(client(tmp_path, now=datetime(2024, 6, 9, tzinfo=UTC))).history(
        "IREN", date(2024, 6, 8), date(2024, 6, 8)
    )
    assert history.closes.empty and history.splits.empty


def test_yahoo_changed_shape_names_endpoint_and_key(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/changed_shape.json"))
    with pytest.raises(SourceShapeError) as caught:
        Yahoo(client(tmp_path)).history("IREN", *JUNE_RANGE)
    assert caught.value.endpoint == f"Yahoo chart IREN ({YAHOO_IREN})"
    assert caught.value.missing == "key chart.result[0].indicators"


class OtherFeed:
    """A second price feed (a paid vendor, say) behind Yahoo: the source tries the feeds in order."""

    name = "Other vendor"
    origin = "other vendor's API"

    def history(self, ticker: str, start: date, end: date) -> TickerHistory:
        closes = pd.DataFrame({"date": pd.to_datetime(["2024-06-03", "2024-06-04"]), "close": [22.12, 22.64]})
        return TickerHistory(closes, no_splits(), caveat="closes are the vendor's")


def test_a_failing_feed_falls_back_to_the_next_with_warnings(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_MARA, status=403, body="Forbidden")
    http = client(tmp_path)
    source = LiveSource(http, universe=universe("MARA"), prices=[Yahoo(http), OtherFeed()])
    prices = source.fetch("equity_prices", date(2024, 6, 3), date(2024, 6, 4))

    assert prices["close"].tolist() == [22.12, 22.64]
    fallback, caveat = source.warnings
    assert fallback.startswith("MARA: Yahoo Finance failed: ") and fallback.endswith("; used Other vendor")
    assert "HTTP 403" in fallback and caveat == "MARA: closes are the vendor's"


def test_stooq_is_no_longer_a_price_feed(tmp_path: Path) -> None:
    """stooq needs an API key since 2026 and answers other clients with a proof-of-work page."""
    source = LiveSource(client(tmp_path))
    assert [feed.name for feed in source.prices] == ["Yahoo Finance"]
    assert "stooq" not in source.origin("equity_prices")


def test_chart_error_in_a_200_answer_is_a_source_error(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, body=body("yahoo/not_found.json"))
    with pytest.raises(NoHistory, match=r"Yahoo chart IREN .*: no history of IREN for 2024-06-03..2024-06-14"):
        Yahoo(client(tmp_path)).history("IREN", *JUNE_RANGE)
    assert not list((tmp_path / "raw_responses" / "yahoo").glob("*.json"))  # nothing to replay


YAHOO_SDIG = "https://query1.finance.yahoo.com/v8/finance/chart/SDIG"


def test_a_delisted_symbol_is_no_history_naming_ticker_and_range(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_SDIG, status=404, body=body("yahoo/delisted_sdig.json"))
    with pytest.raises(NoHistory) as caught:
        Yahoo(client(tmp_path)).history("SDIG", date(2024, 6, 3), date(2024, 6, 14))
    assert (caught.value.ticker, caught.value.start, caught.value.end) == ("SDIG", date(2024, 6, 3), date(2024, 6, 14))
    named = f"Yahoo chart SDIG ({YAHOO_SDIG}): no history of SDIG for 2024-06-03..2024-06-14"
    assert str(caught.value).startswith(named)
    assert "No data found, symbol may be delisted" in str(caught.value)
    assert list((tmp_path / "raw_responses" / "yahoo" / "rejected").glob("*.json"))  # kept, never replayed


def test_another_404_is_not_no_history(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_SDIG, status=404, body="<html>Not Found</html>")
    with pytest.raises(SourceHTTPError) as caught:
        Yahoo(client(tmp_path)).history("SDIG", date(2024, 6, 3), date(2024, 6, 14))
    assert not isinstance(caught.value, NoHistory) and caught.value.status == 404


def test_a_delisted_ticker_is_missing_with_a_warning_and_the_others_load(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_handshake(served)
    for _ in ("equity_prices", "splits"):  # (fetched on the range's last day: asked again, see http.py)
        served.add(responses.GET, YAHOO_IREN, body=body("yahoo/iren_2024-06-03_2024-06-14.json"))
        served.add(responses.GET, YAHOO_SDIG, status=404, body=body("yahoo/delisted_sdig.json"))
    source = LiveSource(client(tmp_path, now=JUST_AFTER_JUNE), universe=universe("IREN", "SDIG"))

    for dataset in ("equity_prices", "splits"):
        frame = source.fetch(dataset, *JUNE_RANGE)
        assert set(frame["ticker"]) == {"IREN"} and len(frame) == (10 if dataset == "equity_prices" else 1)
        (warning,) = source.warnings
        assert warning.startswith("SDIG: no history for 2024-06-03..2024-06-14 (Yahoo Finance: Yahoo chart SDIG")
        assert warning.endswith(
            "its closes and splits are missing; give its history in WAREHOUSE_CSV_DIR/equity_prices.csv and splits.csv"
        )
        with duckdb.connect() as conn:
            origin = source.origin(dataset)
            loaded = load_frame(conn, dataset, frame, origin=origin, source_name="live", synthetic=False)
        assert loaded.row_count == len(frame)


def test_no_history_and_another_failure_still_fail_the_dataset(tmp_path: Path, served: responses.RequestsMock) -> None:
    """Only when every feed says it has no history is the ticker left out: a feed that failed
    otherwise (here after Yahoo's 404) might have had it."""
    serve_handshake(served)
    served.add(responses.GET, YAHOO_SDIG, status=404, body=body("yahoo/delisted_sdig.json"))

    class Down:
        name, origin = "Other vendor", "other vendor's API"

        def history(self, ticker: str, start: date, end: date) -> TickerHistory:
            raise SourceError("other vendor's API: HTTP 503")

    http = client(tmp_path)
    source = LiveSource(http, universe=universe("SDIG"), prices=[Yahoo(http), Down()])
    with pytest.raises(SourceError, match=r"SDIG: no price feed answered .*symbol may be delisted.*HTTP 503"):
        source.fetch("equity_prices", date(2024, 6, 3), date(2024, 6, 14))


def test_no_price_feed_answering_is_an_error(tmp_path: Path, served: responses.RequestsMock) -> None:
    serve_handshake(served)
    served.add(responses.GET, YAHOO_IREN, status=403, body="Forbidden")
    source = LiveSource(client(tmp_path), universe=universe("IREN"))
    with pytest.raises(SourceError, match=r"IREN: no price feed answered .*Yahoo Finance failed: .*HTTP 403"):
        source.fetch("equity_prices", *JUNE_RANGE)


# --- SEC EDGAR, overrides, staleness --------------------------------------------------------------


def test_shares_outstanding_with_overrides_staleness_and_gaps(tmp_path: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, SEC.format(1507605), body=body("sec/companyfacts_mara.json"))
    served.add(responses.GET, SUBMISSIONS.format(1856028), status=404, body=body("sec/not_found.xml"))
    overrides = tmp_path / "shares_overrides.csv"
    overrides.write_text("ticker,as_of,shares\nHIVE,2024-06-28,94000000\nMARA,2024-04-26,294300000\n")
    newcomer = pd.DataFrame({"ticker": ["XNEW"], "listed_on": [pd.Timestamp("2024-01-02")], "delisted_on": [pd.NaT]})
    source = LiveSource(
        client(tmp_path),
        sec_user_agent=USER_AGENT,
        shares_overrides=overrides,
        universe=pd.concat([universe("HIVE", "MARA", "SDIG"), newcomer], ignore_index=True),
    )
    frame = source.fetch("shares_outstanding", date(2024, 4, 1), date(2024, 6, 30))

    # HIVE (shares_from none in ciks.csv, SEC not asked): an override fills the foreign issuer's
    # gap; MARA: an override beats the SEC figure
    assert frame.values.tolist() == [
        ["HIVE", pd.Timestamp("2024-06-28"), 94_000_000],
        ["MARA", pd.Timestamp("2024-04-26"), 294_300_000],
    ]
    fix = "so no market cap for them; add figures to shares_overrides.csv"
    assert source.warnings == [
        "SDIG: SEC EDGAR has no filings for CIK 1856028 (HTTP 404); check ciks.csv",
        "XNEW: no CIK in ciks.csv, SEC EDGAR not asked",
        f"HIVE: no shares outstanding figure for member month(s) 2024-04..2024-05, {fix}",
        f"SDIG: no shares outstanding figure for member month(s) 2024-04..2024-06, {fix}",
        f"XNEW: no shares outstanding figure for member month(s) 2024-04..2024-06, {fix}",
    ]


def test_missing_sec_user_agent_is_a_clear_error_before_any_request(tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as nothing_served:
        with pytest.raises(SourceError, match="set SEC_USER_AGENT"):
            SecEdgar(client(tmp_path), None).shares("MARA", None, date(2024, 6, 30), pytest.fail)
        assert len(nothing_served.calls) == 0


def test_sec_changed_shape_names_endpoint_and_key(tmp_path: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, SEC.format(1507605), body=body("sec/companyfacts_changed_shape.json"))
    with pytest.raises(SourceShapeError) as caught:
        SecEdgar(client(tmp_path), USER_AGENT).shares("MARA", None, date(2024, 6, 30), pytest.fail)
    assert caught.value.endpoint == f"SEC EDGAR company facts MARA ({SEC.format(1507605)})"
    assert caught.value.missing == "key facts.dei.EntityCommonStockSharesOutstanding.units"


def test_bad_overrides_file_is_named_with_row_column_and_value(tmp_path: Path) -> None:
    overrides = tmp_path / "shares_overrides.csv"
    overrides.write_text("ticker,as_of,shares\nHIVE,2024-06-28,many\n")
    source = LiveSource(client(tmp_path), shares_overrides=overrides, universe=universe())
    with pytest.raises(
        RawDataError,
        match=r"shares_overrides\.csv: row 1 \(ticker HIVE, as_of 2024-06-28\), column 'shares': value 'many'",
    ):
        source.fetch("shares_outstanding", date(2024, 4, 1), date(2024, 6, 30))


# --- the composed source --------------------------------------------------------------------------


def test_every_seed_ticker_has_a_cik() -> None:
    assert {row.ticker for row in load_ciks()} == set(read_universe()["ticker"])


def test_universe_is_the_seed_and_origins_name_the_endpoints(tmp_path: Path) -> None:
    source = LiveSource(client(tmp_path))
    assert source.fetch("miner_universe").empty
    assert "community-api.coinmetrics.io" in source.origin("btc_daily") and "mempool" not in source.origin("btc_daily")
    assert "query1.finance.yahoo.com" in source.origin("equity_prices")
    assert "data.sec.gov" in source.origin("shares_outstanding")


def test_the_settings_reach_the_live_source_through_make_source(tmp_path: Path) -> None:
    """The live source's variables are read by the settings (core/settings.py), never by the source."""
    (tmp_path / "shares_overrides.csv").write_text("ticker,as_of,shares\n")
    settings = load_settings(
        {
            "WAREHOUSE_DIR": str(tmp_path / "warehouse"),
            "WAREHOUSE_SOURCE": "live",
            "SEC_USER_AGENT": USER_AGENT,
            "WAREHOUSE_CSV_DIR": str(tmp_path),
        }
    )
    source = build_resources(settings)["raw_source"].get()
    assert isinstance(source, LiveSource)
    assert source.shares_overrides == tmp_path / "shares_overrides.csv"
    assert source.shares.user_agent == USER_AGENT
    assert source.http.cache_dir == tmp_path / "warehouse" / "raw_responses"
    assert isinstance(source.chain, CoinMetrics)
    assert source.http.refresh is False  # saved responses are replayed unless asked


@pytest.mark.parametrize(("value", "refresh"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_live_refresh_setting_downloads_again(tmp_path: Path, value: str, refresh: bool) -> None:
    settings = load_settings({"WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_LIVE_REFRESH": value})
    assert settings.live_refresh is refresh
    source = LiveSource.configured(tmp_path / "warehouse", refresh=settings.live_refresh)
    assert source.http.refresh is refresh


# --- the analyst's operations and balance-sheet files ---------------------------------------------

OPERATIONS_CSV = (
    "ticker,month,operating_hashrate_ehs,installed_hashrate_ehs,btc_produced,btc_held,btc_sold,"
    "fleet_efficiency_j_per_th,power_cost_usd_per_mwh\n"
    "MARA,2024-05,25.1,27.2,616,17631,0,21.5,\n"
    "RIOT,2024-05,9.7,12.4,215,9084,0,,\n"
)
BALANCE_SHEET_CSV = "ticker,as_of,cash_usd,total_debt_usd\nMARA,2024-03-31,324700000,331000000\n"


@pytest.mark.parametrize("dataset", ["miner_operations", "miner_balance_sheet"])
def test_operations_files_are_empty_without_the_analysts_folder_or_file(tmp_path: Path, dataset: str) -> None:
    unset = LiveSource(client(tmp_path))
    assert unset.fetch(dataset).empty and list(unset.fetch(dataset).columns) == list(DATASETS[dataset].columns)
    assert unset.origin(dataset).endswith("none (WAREHOUSE_CSV_DIR is not set; no public API publishes it)")
    absent = LiveSource(client(tmp_path), csv_dir=tmp_path)
    assert absent.fetch(dataset).empty
    assert f"none (no {FILES[dataset]} in {tmp_path};" in absent.origin(dataset)


def test_operations_files_are_read_from_the_analysts_folder_as_the_csv_source_reads_them(tmp_path: Path) -> None:
    (tmp_path / "miner_operations.csv").write_text(OPERATIONS_CSV)
    (tmp_path / "balance_sheet.csv").write_text(BALANCE_SHEET_CSV)
    source = build_resources(
        load_settings({"WAREHOUSE_DIR": str(tmp_path / "warehouse"), "WAREHOUSE_SOURCE": "live",
                       "WAREHOUSE_CSV_DIR": str(tmp_path)})
    )["raw_source"].get()  # fmt: skip
    csv = CsvSource(tmp_path)
    for dataset, file in (("miner_operations", "miner_operations.csv"), ("miner_balance_sheet", "balance_sheet.csv")):
        frame = source.fetch(dataset, date(2024, 5, 1), date(2024, 5, 31))  # a range: the whole file all the same
        pd.testing.assert_frame_equal(frame, csv.fetch(dataset))
        assert source.origin(dataset) == str(tmp_path / file) == csv.origin(dataset)
        with duckdb.connect() as conn:
            origin = source.origin(dataset)
            loaded = load_frame(conn, dataset, frame, origin=origin, source_name="live", synthetic=False)
        assert loaded.row_count == len(frame)
    assert source.http.used == []  # no request for either


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (OPERATIONS_CSV.replace("616", "lots"),
         "row 1 (ticker MARA, month 2024-05), column 'btc_produced': value 'lots' is not a valid DOUBLE"),
        (OPERATIONS_CSV.replace(",btc_sold", "").replace(",0,", ","), "missing column(s) btc_sold"),
        (OPERATIONS_CSV + "mara,2024-05,1,1,1,1,0,,\n", "row 3, column(s) 'ticker, month': duplicate key"),
    ],
)  # fmt: skip
def test_a_bad_operations_file_is_named_as_the_csv_source_names_it(tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "miner_operations.csv").write_text(text)
    messages = []
    for source in (LiveSource(client(tmp_path), csv_dir=tmp_path), CsvSource(tmp_path)):
        with duckdb.connect() as conn, pytest.raises(RawDataError) as raised:
            frame = source.fetch("miner_operations")
            load_frame(conn, "miner_operations", frame, origin=source.origin("miner_operations"),
                       source_name=source.name, synthetic=False)  # fmt: skip
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith(f"{tmp_path / 'miner_operations.csv'}: {error}")
