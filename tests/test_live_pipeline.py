"""WAREHOUSE_SOURCE=live end to end against fixtures (issue #7): the real Definitions, job
`build_and_publish` over a range of monthly partitions, every HTTP call answered by `responses`
(sockets stay blocked), read back from published.duckdb.

Each provider's answer is BUILT for whatever the adapter asks (ticker, period1/period2,
start_time/end_time, CIK) from deterministic data, in the provider's own shape:

* Coin Metrics asset-metrics: the real chain of tests/fixtures/real_btc_2024_halving
  (coinmetrics_btc_*.csv, **Source: Coin Metrics Community Network Data, CC BY-NC 4.0, for testing
  only**), values as strings, only the metrics asked for (no DiffMean: the community tier's case),
  only the days of the fixture (2024-04-18 .. 2024-07-05) inside the asked range.
* Coin Metrics' block counts from the genesis day (the block heights' request): built by
  tests/coinmetrics_counts.py to total the blocks before the first asked day, from the heights of
  btc_daily_*.csv in the same folder (anchored so that the subsidy they imply equals Coin Metrics'
  IssTotNtv every day: 2024-04-18 ends at 839,852).
* Yahoo: the cookie (fc.yahoo.com) and the crumb (getcrumb) first, once, then the charts (each
  checked for both): the demo source's (synthetic) UNADJUSTED closes on NYSE sessions, served the
  way Yahoo serves them: split-ADJUSTED for every split up to the download, as float32 values, session
  opens as timestamps, split events of the asked window; so the adapter's unadjusting is exercised
  (IREN's 3-for-1 on 2024-06-10 inside the range).
* SEC EDGAR: the demo's shares outstanding of the ticker behind the CIK (ciks.csv, inside the
  CIK's validity range), as cover-page `dei:EntityCommonStockSharesOutstanding`: company-facts
  items, or for a multi-class filer (shares_from filings) a submissions list of 10-Qs whose XBRL
  instances split the count into Class A and Class V. HIVE (no SEC cover figure) comes from an
  overrides file beside the warehouse, as the analyst would keep it.

Range. The partitions are 2024-04 .. 2024-06 (inside the real chain; April starts on 04-18, a
partial month, and holds the halving day). Shares outstanding are not partitioned: every run loads
each company's whole SEC history, because a month's market cap needs the latest cover-page figure
from before the month (the demo reports at quarter ends, so April's is dated 2024-03-31).

Then: the same partitions again with every request failing (replayed from raw_responses/, zero
HTTP calls), and the next month's run with Yahoo's shape changed: it fails naming the endpoint and
the missing key, and publishes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import requests
import responses

from orchestration.cli import run
from orchestration.core.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.raw.assets import RAW_ASSETS
from orchestration.raw.contract import DATASETS
from orchestration.raw.sources import make_source
from orchestration.raw.sources.demo import DemoSource
from orchestration.raw.sources.live import ATTRIBUTION, TERMS
from orchestration.raw.sources.live import http as live_http
from orchestration.raw.sources.live.sec_edgar import load_ciks
from tests.coinmetrics_counts import GENESIS_DAY, blkcnt_body

REAL = Path(__file__).parent / "fixtures" / "real_btc_2024_halving"
FIXTURES = Path(__file__).parent / "fixtures" / "live"
COINMETRICS_CSV = REAL / "coinmetrics_btc_2024-04-18_2024-07-05.csv"
BTC_DAILY_CSV = REAL / "btc_daily_2024-04-18_2024-07-05.csv"
USER_AGENT = "Example Research jane@example.com"
NEW_YORK = ZoneInfo("America/New_York")
RANGE = ("2024-04-01", "2024-06-01")
DELISTED = {"SDIG"}
DELISTED_BODY = (FIXTURES / "yahoo" / "delisted_sdig.json").read_text(encoding="utf-8")

COINMETRICS = "community-api.coinmetrics.io"
YAHOO = "query1.finance.yahoo.com"
YAHOO_COOKIE = "fc.yahoo.com"
CRUMB = "Pq7.Lm2xZ0a"
SEC = "data.sec.gov"
SEC_ARCHIVES = "www.sec.gov"


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def session_open(day: pd.Timestamp) -> int:
    """Unix seconds of the NYSE session open (09:30 New York) of `day`, as Yahoo stamps a bar."""
    return unix(datetime(day.year, day.month, day.day, 9, 30, tzinfo=NEW_YORK))


class Providers:
    """Every provider behind one `responses` callback: answers built for the request, calls kept
    per host. `yahoo_shape` / `offline` switch to the failure answers."""

    def __init__(self) -> None:
        self.chain = pd.read_csv(COINMETRICS_CSV, dtype=str)
        daily = pd.read_csv(BTC_DAILY_CSV, parse_dates=["date"])
        # last block before a day's 00:00 UTC = the day's last height minus its blocks
        before = daily["block_height"] - daily["blocks_mined"]
        self.anchors = dict(zip(daily["date"].dt.date, before, strict=True))
        demo = DemoSource()
        self.closes = demo.fetch("equity_prices")
        self.splits = demo.fetch("splits")
        self.shares = demo.fetch("shares_outstanding")
        self.ciks = {row.cik: row for row in load_ciks()}
        self.calls: Counter[str] = Counter()
        self.yahoo_shape = "ok"  # "no indicators": Yahoo has changed shape
        self.delisted_asked = 0  # Yahoo charts asked for a delisted ticker
        self.offline = False  # every request fails (HTTP 403, final: no retry, no sleeping)

    def __call__(self, request) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        self.calls[parts.netloc] += 1
        if self.offline:
            return 403, {}, "offline: this run must replay from disk"
        handlers = {
            COINMETRICS: self.coinmetrics,
            YAHOO: self.yahoo,
            YAHOO_COOKIE: self.yahoo_cookie,
            SEC: self.sec,
            SEC_ARCHIVES: self.sec,
        }
        if parts.netloc not in handlers:
            return 404, {}, f"no such test endpoint {request.url}"
        return handlers[parts.netloc](request)

    @staticmethod
    def json(document) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, json.dumps(document)

    def coinmetrics(self, request):
        asked = query(request.url)
        assert asked["assets"] == "btc" and asked["frequency"] == "1d", asked
        metrics = asked["metrics"].split(",")
        if asked.get("start_time") == str(GENESIS_DAY):  # the block heights' counts
            assert metrics == ["BlkCnt"], asked
            day_before = datetime.fromisoformat(asked["end_time"]).date()
            blocks_before = self.anchors[day_before + timedelta(days=1)] + 1  # heights 0 .. anchor
            return 200, {"Content-Type": "application/json"}, blkcnt_body(day_before, blocks_before)
        days = self.chain["time"]
        rows = self.chain[(days >= asked.get("start_time", "")) & (days <= asked["end_time"])]
        data = [
            {
                "asset": "btc",
                "time": f"{row['time']}T00:00:00.000000000Z",
                **{metric: row[metric] for metric in metrics if metric in row.index},
            }
            for _, row in rows.iterrows()
        ]
        return self.json({"data": data})

    @staticmethod
    def yahoo_cookie(request):
        return 404, {"Set-Cookie": "A3=d=AQABBPipe; Domain=.yahoo.com; Path=/; Secure"}, "<html>404</html>"

    def yahoo(self, request):
        if urlsplit(request.url).path == "/v1/test/getcrumb":
            assert request.headers["Cookie"] == "A3=d=AQABBPipe", request.headers
            return 200, {"Content-Type": "text/plain"}, CRUMB
        ticker = urlsplit(request.url).path.rsplit("/", 1)[-1]
        if ticker in DELISTED:  # as Yahoo answers a symbol acquired or delisted (SDIG since 2025-03)
            self.delisted_asked += 1
            return 404, {"Content-Type": "application/json"}, DELISTED_BODY
        asked = query(request.url)
        assert asked["interval"] == "1d" and asked["events"] == "split", asked
        assert asked["crumb"] == CRUMB and request.headers["Cookie"] == "A3=d=AQABBPipe", request.url
        first, after = int(asked["period1"]), int(asked["period2"])
        downloaded = datetime.now(UTC).date()
        closes = self.closes[self.closes["ticker"] == ticker]
        opens = closes["date"].map(session_open)
        closes = closes[(opens >= first) & (opens < after)]
        splits = self.splits[self.splits["ticker"] == ticker]
        split_opens = splits["ex_date"].map(session_open)
        events = {
            str(opened): {
                "date": opened,
                "numerator": ratio if ratio >= 1 else 1,
                "denominator": 1 if ratio >= 1 else round(1 / ratio),
                "splitRatio": f"{ratio:g}:1" if ratio >= 1 else f"1:{round(1 / ratio)}",
            }
            for opened, ratio in zip(split_opens, splits["ratio"], strict=True)
            if first <= opened < after
        }
        applied = splits[splits["ex_date"].dt.date <= downloaded]  # Yahoo adjusts for these
        adjusted = [
            float(np.float32(close / applied.loc[applied["ex_date"] > day, "ratio"].prod()))  # float32
            for day, close in zip(closes["date"], closes["close"], strict=True)
        ]
        meta = {"currency": "USD", "symbol": ticker, "exchangeTimezoneName": "America/New_York"}
        result = {
            "meta": {**meta, "dataGranularity": "1d"},
            "indicators": {  # Yahoo's answer for a range without sessions has empty objects here
                "quote": [{"close": adjusted} if adjusted else {}],
                "adjclose": [{"adjclose": adjusted} if adjusted else {}],
            },
        }
        if adjusted:
            result["timestamp"] = [session_open(day) for day in closes["date"]]
        if events:
            result["events"] = {"splits": events}
        if self.yahoo_shape == "no indicators":
            del result["indicators"]
        return self.json({"chart": {"result": [result], "error": None}})

    def reports(self, cik: int) -> list[tuple[str, pd.Timestamp, int]]:
        """(accession, as_of, shares) of the demo's figures of the company behind `cik`, inside the
        validity range ciks.csv gives it for its ticker (one periodic report per figure)."""
        row = self.ciks[cik]
        reports = self.shares[self.shares["ticker"] == row.ticker]
        kept = row.clip(reports)
        return [
            (f"{cik:010d}-{as_of:%y}-{number:06d}", as_of, int(shares))
            for number, (as_of, shares) in enumerate(zip(kept["as_of"], kept["shares"], strict=True))
        ]

    def sec(self, request):
        """Company facts for a `companyfacts` row; for a `filings` row (multi-class) the submissions
        list, each 10-Q's folder index and its XBRL instance, the count split into Class A and V."""
        assert request.headers["User-Agent"] == USER_AGENT
        path = urlsplit(request.url).path
        if facts := re.fullmatch(r"/api/xbrl/companyfacts/CIK(\d{10})\.json", path):
            cik = int(facts[1])
            assert self.ciks[cik].shares_from == "companyfacts", path
            items = [
                {
                    "end": f"{as_of:%Y-%m-%d}",
                    "val": shares,
                    "accn": accession,
                    "fy": as_of.year,
                    "fp": f"Q{as_of.quarter}",
                    "form": "10-Q",
                    "filed": f"{as_of + timedelta(days=35):%Y-%m-%d}",
                }
                for accession, as_of, shares in self.reports(cik)
            ]
            concept = {"label": "Entity Common Stock, Shares Outstanding", "units": {"shares": items}}
            return self.json({"cik": cik, "facts": {"dei": {"EntityCommonStockSharesOutstanding": concept}}})
        if listing := re.fullmatch(r"/submissions/CIK(\d{10})\.json", path):
            cik = int(listing[1])
            assert self.ciks[cik].shares_from == "filings", path
            reports = self.reports(cik)[::-1]  # newest first, as EDGAR lists them
            recent = {
                "accessionNumber": [accession for accession, _, _ in reports],
                "filingDate": [f"{as_of + timedelta(days=35):%Y-%m-%d}" for _, as_of, _ in reports],
                "reportDate": [f"{as_of:%Y-%m-%d}" for _, as_of, _ in reports],
                "form": ["10-Q"] * len(reports),
                "primaryDocument": [f"q{as_of:%Y%m%d}.htm" for _, as_of, _ in reports],
                "isXBRL": [1] * len(reports),
                "isInlineXBRL": [1] * len(reports),
            }
            return self.json({"cik": str(cik), "filings": {"recent": recent, "files": []}})
        document = re.fullmatch(r"/Archives/edgar/data/(\d+)/(\d{18})/(.+)", path)
        cik, folder, name = int(document[1]), document[2], document[3]
        (as_of, shares) = next((a, s) for accession, a, s in self.reports(cik) if accession.replace("-", "") == folder)
        instance = f"q{as_of:%Y%m%d}_htm.xml"
        if name == "index.json":
            names = [f"q{as_of:%Y%m%d}.htm", instance, "FilingSummary.xml", f"x-{as_of:%Y%m%d}_lab.xml"]
            items = [{"name": item, "type": "text.gif", "size": "", "last-modified": ""} for item in names]
            return self.json({"directory": {"item": items, "name": path.rsplit("/", 1)[0], "parent-dir": ""}})
        assert name == instance, path
        class_v = shares // 3
        contexts = "".join(
            f'<context id="{member}"><entity><identifier scheme="http://www.sec.gov/CIK">{cik:010d}</identifier>'
            f'<segment><xbrldi:explicitMember dimension="us-gaap:StatementClassOfStockAxis">us-gaap:{member}'
            f"</xbrldi:explicitMember></segment></entity><period><instant>{as_of:%Y-%m-%d}</instant></period>"
            f'</context><dei:EntityCommonStockSharesOutstanding contextRef="{member}" unitRef="shares" '
            f'decimals="INF">{count}</dei:EntityCommonStockSharesOutstanding>'
            for member, count in (("CommonClassAMember", shares - class_v), ("CommonClassVMember", class_v))
        )
        xml = (
            '<xbrl xmlns="http://www.xbrl.org/2003/instance" xmlns:dei="http://xbrl.sec.gov/dei/2024" '
            'xmlns:us-gaap="http://fasb.org/us-gaap/2024" xmlns:xbrldi="http://xbrl.org/2006/xbrldi">'
            f'<unit id="shares"><measure>shares</measure></unit>{contexts}</xbrl>'
        )
        return 200, {"Content-Type": "application/xml"}, xml

    def analyst_files(self, folder: Path) -> Path:
        """WAREHOUSE_CSV_DIR as the analyst keeps it: shares_overrides.csv with the demo's figures of
        the tickers SEC has no cover figure for (ciks.csv shares_from none: HIVE), and equity_prices.csv
        and splits.csv with the whole history of SDIG, which Yahoo no longer serves (delisted)."""
        folder.mkdir(parents=True, exist_ok=True)
        overridden = {row.ticker for row in self.ciks.values() if row.shares_from == "none"}
        self.shares[self.shares["ticker"].isin(overridden)].to_csv(
            folder / "shares_overrides.csv", index=False, date_format="%Y-%m-%d"
        )
        closes = self.closes[self.closes["ticker"].isin(DELISTED)]
        closes[["date", "ticker", "close"]].to_csv(folder / "equity_prices.csv", index=False, date_format="%Y-%m-%d")
        splits = self.splits[self.splits["ticker"].isin(DELISTED)]
        splits[["ticker", "ex_date", "ratio"]].to_csv(folder / "splits.csv", index=False, date_format="%Y-%m-%d")
        return folder

    def sec_files(self) -> int:
        """How many requests the filings path makes up to 2024-06-30: each 10-Q's index and instance."""
        filings = [cik for cik, row in self.ciks.items() if row.shares_from == "filings"]
        return sum(2 for cik in filings for _, as_of, _ in self.reports(cik) if as_of <= pd.Timestamp("2024-06-30"))


def live_settings(warehouse: Path) -> Settings:
    """The live settings of a test warehouse: the analyst's folder beside it, when there is one."""
    analyst = warehouse.parent / "analyst"
    overrides = analyst / "shares_overrides.csv"
    return Settings(
        warehouse_dir=warehouse,
        source="live",
        sec_user_agent=USER_AGENT,
        csv_dir=analyst if analyst.is_dir() else None,
        shares_overrides=overrides if overrides.is_file() else None,
    )


def materialize(
    warehouse: Path, months: tuple[str, str], selection: list[dg.AssetKey] | None = None
) -> dg.ExecuteInProcessResult:
    """One `build_and_publish` run over a partition range, the source built afresh (a new process)."""
    make_source.cache_clear()
    defs = build_definitions(live_settings(warehouse))
    return defs.resolve_job_def("build_and_publish").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": months[0],
            "dagster/asset_partition_range_end": months[1],
        },
        asset_selection=selection,
        raise_on_error=False,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def env():
    """The live settings (SEC_USER_AGENT, no overrides) are `materialize`'s Settings, whatever the
    environment holds; Yahoo's browser session is a plain `requests` one (curl_cffi would go past
    `responses` to the network); the sources this module built are dropped afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live_http, "impersonating_session", requests.Session)
        yield
    make_source.cache_clear()


@pytest.fixture(scope="module")
def providers() -> Providers:
    return Providers()


@pytest.fixture(scope="module")
def live_run(env, providers, tmp_path_factory):
    """A fresh live warehouse after `make run MONTHS=2024-04..2024-06` (its main, so what it prints is
    tested too), SDIG's closes from the analyst's file: the warehouse, the calls and the output."""
    warehouse = tmp_path_factory.mktemp("live") / "warehouse"
    providers.analyst_files(warehouse.parent / "analyst")
    printed = io.StringIO()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(r".*"), callback=providers)
        make_source.cache_clear()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            code = run.main(dg.DagsterInstance.ephemeral(), live_settings(warehouse), months="2024-04..2024-06")
    assert code == 0, printed.getvalue()
    return warehouse, Counter(providers.calls), printed.getvalue()


def served_close(providers: Providers, ticker: str, day: str) -> float:
    closes = providers.closes
    return float(closes.loc[(closes["ticker"] == ticker) & (closes["date"] == day), "close"].item())


def served_shares(providers: Providers, ticker: str, as_of: str) -> int:
    shares = providers.shares
    return int(shares.loc[(shares["ticker"] == ticker) & (shares["as_of"] == as_of), "shares"].item())


def saved_responses(warehouse: Path) -> dict[str, list[dict]]:
    """The envelopes under raw_responses/, per provider folder."""
    saved: dict[str, list[dict]] = {}
    for path in sorted((warehouse / "raw_responses").rglob("*.json")):
        saved.setdefault(str(path.parent.relative_to(warehouse / "raw_responses")), []).append(
            json.loads(path.read_text(encoding="utf-8"))
        )
    return saved


def test_live_source_publishes_the_served_numbers(live_run, providers):
    warehouse, calls, _ = live_run
    # one Coin Metrics page and its block counts before the range, the SEC once per CIK (the whole
    # history: company facts, or the filings list of a multi-class filer, each of whose 10-Qs up to
    # the range's end costs its index and instance; HIVE not asked, HUT under two CIKs), Yahoo's
    # cookie and crumb once (the run's raw loads share one source), and per ticker but SDIG (from the
    # analyst's file: never asked) the range's chart and the later splits
    assert calls == {
        COINMETRICS: 2, SEC: 14, SEC_ARCHIVES: providers.sec_files(), YAHOO_COOKIE: 1, YAHOO: 1 + 2 * 13
    }  # fmt: skip
    assert providers.delisted_asked == 0

    published = warehouse / "published.duckdb"
    assert published.is_file()
    with duckdb.connect(str(published), read_only=True) as conn:
        months = conn.execute(
            "select strftime(month, '%Y-%m'), is_partial_month, data_source, is_synthetic_data, miner_count "
            "from mart_monthly_note order by month"
        ).fetchall()
        (log,) = conn.execute(
            "select source, is_synthetic, strftime(first_month, '%Y-%m'), strftime(last_month, '%Y-%m'), "
            "gate_result from publication_log"
        ).fetchall()
        may = conn.execute(
            "select blocks_mined, subsidy_btc, month_end_block_height, combined_market_cap_usd "
            "from mart_monthly_note where month = '2024-05-01'"
        ).fetchone()
        miners = {
            (month, ticker): rest
            for month, ticker, *rest in conn.execute(
                "select strftime(month, '%Y-%m'), ticker, close_month_end_usd, shares_outstanding, "
                "market_cap_usd, split_in_month from mart_miner_monthly where ticker in ('MARA', 'IREN')"
            ).fetchall()
        }

    assert [m[0] for m in months] == ["2024-04", "2024-05", "2024-06"]
    assert [m[1] for m in months] == [True, False, False]  # the chain served starts on 2024-04-18
    assert {m[2:] for m in months} == {("live", False, 14)}
    assert log[:4] == ("live", False, "2024-04", "2024-06")
    assert log[4].startswith("passed: ")  # (real hashrate drops > 25% in a day are warnings)

    # chain: May's blocks and subsidy are the served BlkCnt (and IssTotNtv); its last height is
    # every BlkCnt counted from the genesis day up to 05-31, minus one (839,707 before 04-18)
    chain = pd.read_csv(COINMETRICS_CSV, parse_dates=["time"])
    in_may = chain[chain["time"].dt.month == 5]
    assert may[0] == in_may["BlkCnt"].sum() == 4_410
    assert float(may[1]) == pytest.approx(in_may["BlkCnt"].sum() * 3.125)  # all after the halving
    assert float(may[1]) == pytest.approx(in_may["IssTotNtv"].sum())
    assert may[2] == 839_707 + chain.loc[chain["time"] <= "2024-05-31", "BlkCnt"].sum()

    # MARA, May: the served close as traded, times the SEC figure of 2024-03-31
    close, shares, cap, _ = miners[("2024-05", "MARA")]
    assert close == served_close(providers, "MARA", "2024-05-31")
    assert shares == served_shares(providers, "MARA", "2024-03-31")
    assert cap == pytest.approx(close * shares, rel=1e-12)
    # IREN: May's close was served split-ADJUSTED (a third: the 3-for-1 of 06-10 came later) and
    # is published as traded; June's shares are the SEC figure as of Sunday 06-30, in force from
    # the Friday 06-28 close (no session between), already on the post-split basis - not the
    # 03-31 figure times 3
    assert miners[("2024-05", "IREN")][0] == served_close(providers, "IREN", "2024-05-31")
    close, shares, cap, split = miners[("2024-06", "IREN")]
    assert close == served_close(providers, "IREN", "2024-06-28") and split is True
    assert (
        shares == served_shares(providers, "IREN", "2024-06-30") != 3 * served_shares(providers, "IREN", "2024-03-31")
    )
    assert cap == pytest.approx(close * shares, rel=1e-12)
    # May's combined cap: the 14 miners' served closes of 05-31 x their SEC figures of 03-31
    closes = providers.closes[providers.closes["date"] == "2024-05-31"].set_index("ticker")["close"]
    march = providers.shares[providers.shares["as_of"] == "2024-03-31"].set_index("ticker")["shares"]
    assert len(closes) == len(march) == 14
    assert may[3] == pytest.approx(float((closes * march).sum()), rel=1e-12)

    # every response is kept: nothing rejected; the range run asked only its range
    saved = saved_responses(warehouse)
    assert {folder: len(envelopes) for folder, envelopes in saved.items()} == {
        "coinmetrics": 2,
        "sec_edgar": 14 + providers.sec_files(),
        "yahoo": 26,
    }
    page, counts = sorted(saved["coinmetrics"], key=lambda envelope: query(envelope["url"])["start_time"], reverse=True)
    assert query(page["url"])["start_time"] == "2024-04-01" and query(page["url"])["end_time"] == "2024-06-30"
    assert len(json.loads(page["body"])["data"]) == 74  # 2024-04-18 .. 06-30
    # the heights' counts: genesis .. the day before the first day served, 839,708 blocks (0 .. 839,707)
    assert (query(counts["url"])["start_time"], query(counts["url"])["end_time"]) == ("2009-01-03", "2024-04-17")
    assert sum(int(row["BlkCnt"]) for row in json.loads(counts["body"])["data"]) == 839_708
    periods = Counter(query(envelope["url"])["period1"] for envelope in saved["yahoo"])
    april, july = (str(unix(datetime(2024, month, 1, tzinfo=UTC))) for month in (4, 7))
    assert periods == {april: 13, july: 13}  # the range, then the later splits (07-01, download]
    asked = [query(envelope["url"]) for envelope in saved["yahoo"]]
    assert {params["period2"] for params in asked if params["period1"] == april} == {july}


def test_a_live_run_says_its_terms_its_plan_and_where_each_dataset_came_from(live_run, providers):
    """SDIG's history from the analyst's file (Yahoo: delisted), BTDR's shares from its filings'
    XBRL, HIVE's from the overrides: said before the run, recorded in raw.load_log, published."""
    warehouse, _, printed = live_run
    analyst = warehouse.parent / "analyst"
    lines = printed.splitlines()
    assert lines[: len(TERMS)] == list(TERMS)
    assert "CC BY-NC 4.0, non-commercial use only" in lines[1]
    assert f"equity_prices: SDIG from {analyst / 'equity_prices.csv'}; the others from Yahoo Finance chart" in lines
    assert any(
        line.startswith("shares_outstanding: 10 tickers from SEC companyfacts")
        and "BTDR, CAN, SDIG from their filings' XBRL (multi-class); HIVE from overrides only" in line
        for line in lines
    ), printed
    where = lines[lines.index("Where the data came from:") :]
    assert f"  equity_prices: Yahoo Finance chart (13 tickers) + {analyst / 'equity_prices.csv'} (SDIG)" in where
    assert f"  splits: Yahoo Finance chart (13 tickers) + {analyst / 'splits.csv'} (SDIG)" in where
    assert any(line.startswith("  btc_daily: Coin Metrics community API v4") for line in where), where

    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as conn:
        published = dict(
            conn.execute(
                "select ticker, (close_month_end_usd, shares_outstanding) from mart_miner_monthly "
                "where month = '2024-05-01' and ticker in ('SDIG', 'BTDR')"
            ).fetchall()
        )
        (attribution,) = conn.execute("select attribution from publication_log").fetchone()
    assert attribution == ATTRIBUTION and "Coin Metrics" in attribution and "CC BY-NC 4.0" in attribution
    assert published["SDIG"][0] == served_close(providers, "SDIG", "2024-05-31")  # from the analyst's file
    assert published["BTDR"][1] == served_shares(providers, "BTDR", "2024-03-31")  # summed over its classes


def raw_tables(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as conn:
        return {
            table: conn.execute(f"select * from raw.{table} order by all").fetchall()
            for table in ("btc_daily", "equity_prices", "splits", "shares_outstanding")
        }


def test_rerun_replays_from_disk_without_any_http_call(live_run, providers):
    """The same partitions again, every request failing: the raw loads (the only steps that
    touch the network) replay warehouse/raw_responses/ and load exactly the same rows. (The dbt
    build and the publish after them do no HTTP; rerunning them would double the file's ~40 s.)"""
    warehouse = live_run[0]
    before = raw_tables(warehouse)
    providers.calls.clear()
    providers.offline = True
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.GET, re.compile(r".*"), callback=providers)
            result = materialize(warehouse, RANGE, selection=[asset.key for asset in RAW_ASSETS])
            assert len(mock.calls) == 0
    finally:
        providers.offline = False
    assert result.success, "\n".join(run.failure_lines(result))
    assert providers.calls == {}
    loaded = {event.asset_key.path[1] for event in result.get_asset_materialization_events()}
    assert loaded == set(DATASETS)  # every raw load ran, the analyst's two files (none here) included
    assert raw_tables(warehouse) == before
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as conn:
        provenance = conn.execute("select distinct source_name, is_synthetic from raw.load_log").fetchall()
    assert provenance == [("live", False)]


def test_a_provider_changing_shape_fails_the_run_and_publishes_nothing(live_run, providers, tmp_path):
    """The next month's run, when Yahoo has dropped `indicators`."""
    warehouse = tmp_path / "warehouse"
    shutil.copytree(live_run[0], warehouse, ignore=shutil.ignore_patterns("gx"))
    published = warehouse / "published.duckdb"
    before = sha256(published)
    with duckdb.connect(str(published), read_only=True) as conn:
        publications = conn.execute("select count(*) from publication_log").fetchone()[0]
    providers.yahoo_shape = "no indicators"
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.GET, re.compile(r".*"), callback=providers)
            result = materialize(warehouse, ("2024-07-01", "2024-07-01"))
    finally:
        providers.yahoo_shape = "ok"
    assert not result.success
    failures = "\n".join(run.failure_lines(result))
    assert "step raw__equity_prices failed" in failures and "step raw__splits failed" in failures, failures
    endpoint = "Yahoo chart BITF (https://query1.finance.yahoo.com/v8/finance/chart/BITF)"
    missing = "response has no key chart.result[0].indicators; has the source changed shape?"
    assert f"{endpoint}: {missing}" in failures
    assert "stooq" not in failures  # no fallback any more
    assert "published_warehouse" not in {e.step_key for e in result.get_step_success_events()}
    assert sha256(published) == before
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select count(*) from publication_log").fetchone()[0] == publications
    # the rejected bodies are kept for inspection, never replayed
    assert list((warehouse / "raw_responses" / "yahoo" / "rejected").glob("*.json"))
