"""Shares outstanding in the live source (sec_edgar.py, shares.py) against fixtures shaped like
SEC's responses, served by `responses` (sockets stay blocked): per-class cover figures read from
the filings' XBRL, the latest filing winning, the ticker -> CIK validity ranges (HUT), ciks.csv
validation, member months without a figure, the run's plan, the SEC throttle and the replay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import responses
from responses import registries

from orchestration.raw.sources.live import LiveSource, read_universe
from orchestration.raw.sources.live.http import HttpClient, SourceShapeError
from orchestration.raw.sources.live.sec_edgar import (
    CikRow,
    CiksError,
    Filing,
    SecEdgar,
    Throttle,
    cover_figures,
    load_ciks,
    relevant_filings,
)
from orchestration.raw.sources.live.shares import shares_plan, staleness_warnings

FIXTURES = Path(__file__).parent / "fixtures" / "live" / "sec"
NOW = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)  # the tests' "today"
USER_AGENT = "Example Research jane@example.com"
COMPANYFACTS = "https://data.sec.gov/api/xbrl/companyfacts/CIK{:010d}.json"
BTDR_SUBMISSIONS = "https://data.sec.gov/submissions/CIK0001899123.json"
BTDR_20F = "https://www.sec.gov/Archives/edgar/data/1899123/000121390024029841/"
BTDR_20FA = "https://www.sec.gov/Archives/edgar/data/1899123/000121390024041862/"
FIX = "so no market cap for them; add figures to shares_overrides.csv"


def body(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def never_sleep(seconds: float) -> None:
    raise AssertionError(f"a test would have slept {seconds} s")


def client(tmp_path: Path) -> HttpClient:
    return HttpClient(tmp_path / "raw_responses", sleep=never_sleep, clock=lambda: NOW)


class FakeTime:
    """A monotonic clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def served() -> Iterator[responses.RequestsMock]:
    """Answers in the order registered; every registered answer must be asked for."""
    with responses.RequestsMock(registry=registries.OrderedRegistry) as mock:
        yield mock


def serve_btdr(mock: responses.RequestsMock) -> None:
    """BTDR's filings list, then the 20-F's and the 20-F/A's folder index and XBRL instance."""
    mock.add(responses.GET, BTDR_SUBMISSIONS, body=body("submissions_btdr.json"))
    mock.add(responses.GET, BTDR_20F + "index.json", body=body("index_btdr_20-F.json"))
    mock.add(responses.GET, BTDR_20F + "ea0202805-20f_bitdeer_htm.xml", body=body("instance_btdr_20-F.xml"))
    mock.add(responses.GET, BTDR_20FA + "index.json", body=body("index_btdr_20-F_A.json"))
    mock.add(responses.GET, BTDR_20FA + "ea0205733-20fa1_bitdeer_htm.xml", body=body("instance_btdr_20-F_A.xml"))


# --- figures from the filings' XBRL ---------------------------------------------------------------


def test_cover_figure_is_the_sum_of_the_share_classes_at_the_cover_date() -> None:
    """SDIG's 10-Q: Class A and Class V on the cover (2024-08-09); the balance sheet's per-class
    us-gaap counts at the period end are another concept and do not count."""
    figures = cover_figures("SDIG 10-Q", body("instance_sdig_10-Q.xml"))
    assert figures == [(pd.Timestamp("2024-08-09"), 14_685_498 + 2_405_760)]


def test_a_dimensionless_figure_counts_only_where_no_class_is_tagged() -> None:
    whole = body("instance_sdig_10-Q.xml").replace(
        '<segment><xbrldi:explicitMember dimension="us-gaap:StatementClassOfStockAxis">sdig:CommonClassVMember'
        "</xbrldi:explicitMember></segment>",
        "",
        1,
    )  # context c-3 (the Class V cover figure) loses its dimension: Class A alone is the class sum
    assert cover_figures("SDIG 10-Q", whole) == [(pd.Timestamp("2024-08-09"), 14_685_498)]


def test_an_instance_that_is_not_xbrl_is_a_shape_error() -> None:
    with pytest.raises(SourceShapeError, match=r"^SDIG 10-Q: response has no well-formed XML"):
        cover_figures("SDIG 10-Q", "<html><body>Request Rate Threshold Exceeded")


def test_the_latest_filing_wins_and_only_periodic_reports_are_read(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    serve_btdr(served)
    figures = SecEdgar(client(tmp_path), USER_AGENT).shares("BTDR", date(2024, 1, 1), date(2024, 6, 30), pytest.fail)
    # the 20-F and its amendment both report 2023-12-31: the 20-F/A (filed later) wins; the 6-K
    # and the 424B3 in the list are not periodic reports and are not asked for
    assert figures.values.tolist() == [[pd.Timestamp("2023-12-31"), 113_523_400 + 48_399_922]]
    assert len(served.calls) == 5
    assert {call.request.headers["User-Agent"] for call in served.calls} == {USER_AGENT}


def test_a_filing_missing_from_the_archive_is_skipped_with_a_warning(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    served.add(responses.GET, BTDR_SUBMISSIONS, body=body("submissions_btdr.json"))
    served.add(responses.GET, BTDR_20F + "index.json", body=body("index_btdr_20-F.json"))
    served.add(responses.GET, BTDR_20F + "ea0202805-20f_bitdeer_htm.xml", body=body("instance_btdr_20-F.xml"))
    served.add(responses.GET, BTDR_20FA + "index.json", status=404, body=body("not_found.xml"))
    warnings: list[str] = []
    figures = SecEdgar(client(tmp_path), USER_AGENT).shares(
        "BTDR", date(2024, 1, 1), date(2024, 6, 30), warnings.append
    )
    assert figures.values.tolist() == [[pd.Timestamp("2023-12-31"), 113_123_400 + 48_399_922]]  # the 20-F's
    assert warnings == [
        f"BTDR: filing 0001213900-24-041862 (20-F/A) of CIK 1899123: {BTDR_20FA}index.json: HTTP 404: Not Found: "
        '<?xml version="1.0" encoding="UTF-8"?> <Error><Code>NoSuchKey</Code><Message>The specified key does '
        "not exist.</Message></Error>; skipped"
    ]


def test_older_submission_pages_are_read_until_the_report_in_force_at_the_start(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    """SDIG's recent list starts after the range's start: its older page holds the 10-Q in force on
    2024-07-01 (the 10-K before that is not asked for). That 10-Q's folder is served from the
    2024-06-30 one's fixtures with its dates and Class A count."""
    archive = "https://www.sec.gov/Archives/edgar/data/1856028/"

    def first_quarter(text: str) -> str:
        dated = text.replace("20240630", "20240331").replace("2024-08-09", "2024-05-10")
        return dated.replace("2024-06-30", "2024-03-31").replace("000132", "000083").replace("14685498", "14537023")

    served.add(responses.GET, "https://data.sec.gov/submissions/CIK0001856028.json", body=body("submissions_sdig.json"))
    served.add(
        responses.GET,
        "https://data.sec.gov/submissions/CIK0001856028-submissions-001.json",
        body=body("CIK0001856028-submissions-001.json"),
    )
    served.add(
        responses.GET, archive + "000185602824000083/index.json", body=first_quarter(body("index_sdig_10-Q.json"))
    )
    served.add(
        responses.GET,
        archive + "000185602824000083/sdig-20240331_htm.xml",
        body=first_quarter(body("instance_sdig_10-Q.xml")),
    )
    served.add(responses.GET, archive + "000185602824000132/index.json", body=body("index_sdig_10-Q.json"))
    served.add(responses.GET, archive + "000185602824000132/sdig-20240630_htm.xml", body=body("instance_sdig_10-Q.xml"))
    figures = SecEdgar(client(tmp_path), USER_AGENT).shares("SDIG", date(2024, 7, 1), date(2024, 9, 30), pytest.fail)
    assert figures.values.tolist() == [
        [pd.Timestamp("2024-05-10"), 14_537_023 + 2_405_760],
        [pd.Timestamp("2024-08-09"), 14_685_498 + 2_405_760],
    ]


def test_only_filings_that_can_matter_for_the_range_are_chosen() -> None:
    def filing(number: int, form: str, filed: str, report: str | None) -> Filing:
        return Filing(
            f"0000000000-24-{number:06d}",
            form,
            date.fromisoformat(filed),
            report and date.fromisoformat(report),
            "",
            True,
        )

    filings = [
        filing(1, "10-Q", "2023-08-10", "2023-06-30"),
        filing(2, "10-Q", "2023-11-09", "2023-09-30"),  # the last before the range: its figure is in force
        filing(3, "8-K", "2023-12-20", "2023-12-20"),
        filing(4, "10-K", "2024-03-05", "2023-12-31"),
        filing(5, "10-K/A", "2024-04-29", "2023-12-31"),
        filing(6, "10-Q", "2024-05-08", "2024-03-31"),
        filing(7, "10-Q", "2024-08-08", "2024-06-30"),  # its cover date comes after its period: may be in range
        filing(8, "10-Q", "2024-11-07", "2024-09-30"),  # its period ends after the range
    ]
    chosen = relevant_filings(filings, date(2024, 1, 1), date(2024, 8, 31))
    assert [item.accession[-1] for item in chosen] == ["2", "4", "5", "6", "7"]


def test_a_replay_makes_zero_requests_and_the_throttle_spaces_only_downloads(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    time = FakeTime()
    throttle = Throttle(clock=time.clock, sleep=time.sleep)
    serve_btdr(served)
    first = SecEdgar(client(tmp_path), USER_AGENT, throttle=throttle).shares(
        "BTDR", date(2024, 1, 1), date(2024, 6, 30), pytest.fail
    )
    assert time.slept == [0.1] * 4  # 5 downloads, 0.1 s apart: at most 10 a second

    time.slept.clear()
    time.now += 60
    with responses.RequestsMock(assert_all_requests_are_fired=False) as nothing_served:
        again = SecEdgar(client(tmp_path), USER_AGENT, throttle=throttle).shares(
            "BTDR", date(2024, 1, 1), date(2024, 6, 30), pytest.fail
        )
        assert len(nothing_served.calls) == 0
    assert again.equals(first) and time.slept == []


def test_a_companyfacts_row_without_a_cover_figure_says_to_switch_to_filings(
    tmp_path: Path, served: responses.RequestsMock
) -> None:
    served.add(responses.GET, COMPANYFACTS.format(1720424), body=body("companyfacts_hive_no_cover_figure.json"))
    warnings: list[str] = []
    rows = [CikRow("HIVE", 1720424, None, None, "companyfacts")]
    figures = SecEdgar(client(tmp_path), USER_AGENT, ciks=rows).shares("HIVE", None, date(2024, 6, 30), warnings.append)
    assert figures.empty
    assert warnings == [
        "HIVE: SEC EDGAR company facts of CIK 1720424 have no cover-page share count: if it reports one per "
        "share class, set shares_from=filings in ciks.csv; else add its figures to the overrides"
    ]


# --- ticker -> CIK over time ----------------------------------------------------------------------


def test_hut_takes_each_ciks_figures_inside_its_validity_range(tmp_path: Path, served: responses.RequestsMock) -> None:
    """Hut 8 Mining Corp (CIK 1731805) until 2023-11-30, Hut 8 Corp (CIK 1964789) after: both are
    asked, and the months after the merger with no figure of the new company are named."""
    served.add(responses.GET, COMPANYFACTS.format(1731805), body=body("companyfacts_hut8_mining.json"))
    served.add(responses.GET, COMPANYFACTS.format(1964789), body=body("companyfacts_hut8_corp.json"))
    hut = read_universe().query("ticker == 'HUT'").reset_index(drop=True)
    source = LiveSource(client(tmp_path), sec_user_agent=USER_AGENT, universe=hut)
    frame = source.fetch("shares_outstanding", date(2021, 6, 1), date(2024, 6, 30))
    assert frame.values.tolist() == [
        ["HUT", pd.Timestamp("2021-12-31"), 166_997_348],  # Hut 8 Mining Corp
        ["HUT", pd.Timestamp("2022-12-31"), 221_435_813],
        ["HUT", pd.Timestamp("2024-03-01"), 89_970_208],  # Hut 8 Corp
        ["HUT", pd.Timestamp("2024-05-03"), 90_245_139],
    ]
    assert source.warnings == [
        "HUT: no shares outstanding figure for member month(s) 2021-06..2021-11, 2023-12..2024-02 (its CIK "
        f"changed on 2023-12-01: earlier figures are another company's), {FIX}"
    ]


def test_a_former_ciks_company_facts_are_not_downloaded_again(tmp_path: Path, served: responses.RequestsMock) -> None:
    """A run up to today downloads the current CIK's company facts again (a filing may have come
    since), but not those of HUT's former CIK once fetched after its range ended."""
    served.add(responses.GET, COMPANYFACTS.format(1731805), body=body("companyfacts_hut8_mining.json"))
    served.add(responses.GET, COMPANYFACTS.format(1964789), body=body("companyfacts_hut8_corp.json"))
    served.add(responses.GET, COMPANYFACTS.format(1964789), body=body("companyfacts_hut8_corp.json"))
    feed = SecEdgar(client(tmp_path), USER_AGENT)
    today = NOW.date()
    first = feed.shares("HUT", date(2021, 6, 1), today, pytest.fail)
    again = feed.shares("HUT", date(2021, 6, 1), today, pytest.fail)
    assert [call.request.url for call in served.calls] == [
        COMPANYFACTS.format(1731805),
        COMPANYFACTS.format(1964789),
        COMPANYFACTS.format(1964789),
    ]
    assert again.equals(first) and len(first) == 4


def test_a_ciks_figures_outside_its_validity_range_are_dropped() -> None:
    figures = pd.DataFrame({"as_of": pd.to_datetime(["2023-09-30", "2023-11-30", "2023-12-01"]), "shares": [1, 2, 3]})
    old = CikRow("HUT", 1731805, None, date(2023, 11, 30), "companyfacts")
    new = CikRow("HUT", 1964789, date(2023, 12, 1), None, "companyfacts")
    assert old.clip(figures)["shares"].tolist() == [1, 2]
    assert new.clip(figures)["shares"].tolist() == [3]


HEADER = "ticker,cik,valid_from,valid_to,shares_from\n"


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (
            "HUT,1731805,,2023-11-30,companyfacts\nHUT,1964789,2023-11-01,,companyfacts\n",
            "row 2 (ticker HUT), column 'valid_from': value '2023-11-01' overlaps row 1 (CIK 1731805 until "
            "2023-11-30); one CIK per ticker and day",
        ),
        (
            "HUT,1731805,,,companyfacts\nHUT,1964789,2023-12-01,,companyfacts\n",
            "row 2 (ticker HUT), column 'valid_from': value '2023-12-01' overlaps row 1 (CIK 1731805)",
        ),
        (
            "MARA,1507605,,2023-02-30,companyfacts\n",
            "row 1 (ticker MARA), column 'valid_to': value '2023-02-30' is not a date (YYYY-MM-DD, or empty",
        ),
        (
            "RIOT,1167419,,,companyfacts\nMARA,15076O5,,,companyfacts\n",
            "row 2 (ticker MARA), column 'cik': value '15076O5' is not a CIK (a whole number of at most 10 digits)",
        ),
        (
            "MARA,1507605,2024-01-01,2023-12-31,companyfacts\n",
            "row 1 (ticker MARA), column 'valid_to': value '2023-12-31' is before valid_from 2024-01-01",
        ),
        (
            "SDIG,1856028,,,xbrl\n",
            "row 1 (ticker SDIG), column 'shares_from': value 'xbrl' is not one of companyfacts, filings, none",
        ),
    ],
    ids=["overlap", "open-overlap", "bad-date", "bad-cik", "reversed", "bad-source"],
)
def test_ciks_csv_errors_name_the_row_column_and_value(tmp_path: Path, rows: str, error: str) -> None:
    path = tmp_path / "ciks.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(CiksError) as caught:
        load_ciks(path)
    assert str(caught.value).startswith(f"{path}: {error}")


def test_ciks_csv_without_the_validity_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ciks.csv"
    path.write_text("ticker,cik\nMARA,1507605\n")
    with pytest.raises(CiksError, match=r"missing column\(s\) valid_from, valid_to, shares_from"):
        load_ciks(path)


def test_the_shipped_ciks_csv_is_valid_and_switches_hut_on_the_merger() -> None:
    hut = [row for row in load_ciks() if row.ticker == "HUT"]
    assert [(row.cik, row.valid_from, row.valid_to) for row in hut] == [
        (1731805, None, date(2023, 11, 30)),
        (1964789, date(2023, 12, 1), None),
    ]


# --- warnings and the plan ------------------------------------------------------------------------


def test_member_months_without_a_figure_and_stale_figures_are_named() -> None:
    figures = pd.DataFrame(
        {
            "ticker": ["MARA", "MARA", "IREN", "HUT", "HUT"],
            "as_of": pd.to_datetime(["2024-02-23", "2024-05-10", "2023-12-31", "2023-11-10", "2024-03-05"]),
            "shares": [1, 2, 3, 4, 5],
        }
    )
    listed = {
        "MARA": (date(2024, 1, 1), date(2024, 6, 30)),  # no figure in force in January
        "IREN": (date(2024, 1, 1), date(2024, 6, 30)),  # a figure for every month, but a stale one
        "HUT": (date(2023, 11, 1), date(2024, 6, 30)),
        "CAN": (date(2024, 6, 1), date(2024, 6, 30)),
    }
    assert staleness_warnings(figures, listed, {"HUT": [date(2023, 12, 1)]}) == [
        f"MARA: no shares outstanding figure for member month(s) 2024-01, {FIX}",
        "IREN: latest shares outstanding figure is from 2023-12-31, 182 days before 2024-06-30 (more than 120): "
        "its market cap is stale; add a recent figure to shares_overrides.csv",
        "HUT: no shares outstanding figure for member month(s) 2023-12..2024-02 (its CIK changed on 2023-12-01: "
        f"earlier figures are another company's), {FIX}",
        f"CAN: no shares outstanding figure for member month(s) 2024-06, {FIX}",
    ]


def test_the_plan_says_which_ticker_comes_from_where() -> None:
    overrides = pd.DataFrame({"ticker": ["HIVE", "MARA"], "as_of": ["2024-06-28", "2024-04-26"], "shares": [1, 2]})
    tickers = [*read_universe()["ticker"], "XNEW"]
    assert shares_plan(load_ciks(), overrides, tickers) == [
        "shares_outstanding: 10 tickers from SEC companyfacts (BITF, BTBT, CIFR, CLSK, CORZ, HUT, IREN, MARA, "
        "RIOT, WULF); BTDR, CAN, SDIG from their filings' XBRL (multi-class); HIVE from overrides only (no SEC "
        "cover figure); XNEW: no share figures (neither an SEC cover figure nor a row in shares_overrides.csv)",
        "shares_outstanding: HUT is CIK 1731805 until 2023-11-30; CIK 1964789 from 2023-12-01",
        "shares_outstanding: MARA also from shares_overrides.csv (an override wins on the same as_of)",
    ]
    empty = pd.DataFrame(columns=["ticker", "as_of", "shares"])
    assert shares_plan(load_ciks(), empty, ["HIVE"]) == [
        "shares_outstanding: HIVE: no share figures (neither an SEC cover figure nor a row in shares_overrides.csv)"
    ]
