"""The monthly note, from a small hand-made published.duckdb (no pipeline run, no network).

The file holds 2024-01 (partial: the first month) .. 2024-03, a gap at 2024-04, then 2024-05 ..
2024-07 (partial: in progress), four miners and two publication_log rows. 2024-06 is the month under
the microscope: the combined market cap fell, one miner listed, one split, and three of its four
members reported operations (the new listing did not). Every month but 2024-01 has operations.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pytest

from orchestration.cli import note as cli
from orchestration.note import NoteError, parse_month, text, write_note

NOTE_COLUMNS = {
    "month": "date",
    "is_partial_month": "boolean",
    "btc_price_avg_usd": "double",
    "btc_price_avg_mom": "double",
    "btc_price_month_end_usd": "double",
    "btc_price_month_end_mom": "double",
    "btc_price_close_month_end_usd": "double",
    "hashrate_avg_ehs": "double",
    "hashrate_avg_mom": "double",
    "hashrate_month_end_7d_avg_ehs": "double",
    "hashrate_month_end_mom": "double",
    "difficulty_avg": "double",
    "difficulty_avg_mom": "double",
    "difficulty_month_end": "double",
    "difficulty_month_end_mom": "double",
    "hashprice_usd_per_ehs_day": "double",
    "hashprice_mom": "double",
    "miner_count": "bigint",
    "members_with_market_cap": "bigint",
    "members_without_market_cap": "varchar",
    "combined_market_cap_usd": "double",
    "combined_market_cap_mom": "double",
    "combined_market_cap_like_for_like_mom": "double",
    "leader_ticker": "varchar",
    "leader_return": "double",
    "laggard_ticker": "varchar",
    "laggard_return": "double",
    "mcap_to_remaining_btc_ratio": "double",
    "mcap_to_remaining_btc_peak": "double",
    "mcap_to_remaining_btc_peak_month": "date",
    "mcap_to_remaining_btc_avg": "double",
    "mcap_to_4y_rewards_ratio": "double",
    "mcap_to_4y_rewards_peak": "double",
    "mcap_to_4y_rewards_peak_month": "date",
    "mcap_to_4y_rewards_avg": "double",
    "btc_price_volatility_annualized": "double",
    "listed_operations_coverage": "bigint",
    "listed_operating_hashrate_ehs": "double",
    "listed_hashrate_share": "double",
    "listed_hashrate_share_change": "double",
    "listed_hashrate_added_ehs": "double",
    "listed_btc_produced": "double",
    "listed_btc_held": "double",
    "proportional_4y_rewards_value_usd": "double",
    "mcap_to_proportional_4y_rewards": "double",
    "mcap_to_proportional_4y_rewards_peak": "double",
    "mcap_to_proportional_4y_rewards_peak_month": "date",
    "mcap_to_proportional_4y_rewards_avg": "double",
    "combined_ev_usd": "double",
    "ev_per_ehs_usd": "double",
    "data_source": "varchar",
    "is_synthetic_data": "boolean",
}
OPERATIONS_COLUMNS = {
    "month": "date",
    "ticker": "varchar",
    "name": "varchar",
    "is_member": "boolean",
    "is_partial_month": "boolean",
    "has_operations_report": "boolean",
    **{
        column: "double"
        for column in (
            "operating_hashrate_ehs",
            "installed_hashrate_ehs",
            "network_hashrate_avg_ehs",
            "hashrate_share",
            "hashrate_share_change",
            "btc_produced",
            "network_miner_revenue_btc",
            "btc_per_ehs_day",
            "realized_hashrate_ehs",
            "hashrate_realization",
            "btc_held",
            "btc_sold",
            "btc_held_value_usd",
            "fleet_efficiency_j_per_th",
            "power_cost_usd_per_mwh",
            "hashcost_usd_per_ehs_day",
            "hashprice_usd_per_ehs_day",
            "gross_profit_usd_per_ehs_day",
            "breakeven_power_usd_per_mwh",
            "market_cap_usd",
        )
    },
    "balance_sheet_as_of": "date",
    "cash_usd": "double",
    "total_debt_usd": "double",
    "enterprise_value_usd": "double",
    "ev_per_ehs_usd": "double",
}
MINER_COLUMNS = {
    "month": "date",
    "ticker": "varchar",
    "name": "varchar",
    "close_month_end_usd": "double",
    "monthly_return": "double",
    "shares_outstanding": "bigint",
    "market_cap_usd": "double",
    "return_rank": "bigint",
    "is_member": "boolean",
    "listed_in_month": "boolean",
    "delisted_in_month": "boolean",
    "split_in_month": "boolean",
}
LOG_COLUMNS = {
    "published_at": "timestamp",
    "run_id": "varchar",
    "source": "varchar",
    "is_synthetic": "boolean",
    "first_month": "date",
    "last_month": "date",
    "row_counts": "json",
    "gate_result": "varchar",
}

NO_CHANGES = dict(
    btc_price_avg_mom=None,
    btc_price_month_end_mom=None,
    hashrate_avg_mom=None,
    hashrate_month_end_mom=None,
    difficulty_avg_mom=None,
    difficulty_month_end_mom=None,
    hashprice_mom=None,
    combined_market_cap_mom=None,
    combined_market_cap_like_for_like_mom=None,
)
NO_RETURNS = dict(leader_ticker=None, leader_return=None, laggard_ticker=None, laggard_return=None)


def chain(btc: float, hashrate: float, difficulty_t: float, hashprice: float) -> dict:
    return dict(
        btc_price_avg_usd=btc,
        btc_price_month_end_usd=btc * 1.01,
        btc_price_close_month_end_usd=btc * 1.02,
        hashrate_avg_ehs=hashrate,
        hashrate_month_end_7d_avg_ehs=hashrate + 3.3,
        difficulty_avg=difficulty_t * 1e12,
        difficulty_month_end=difficulty_t * 1.01e12,
        hashprice_usd_per_ehs_day=hashprice,
    )


def operations(coverage: int, share: float, multiple: tuple) -> dict:
    """A month's listed operations: members that reported, their share, and the multiple's
    (ratio, peak, peak month, average); the other sums are left null (only 2024-06 fills them)."""
    names = ("", "_peak", "_peak_month", "_avg")
    return dict(
        listed_operations_coverage=coverage,
        listed_hashrate_share=share,
        **{f"mcap_to_proportional_4y_rewards{n}": v for n, v in zip(names, multiple)},
    )


def changes(value: float) -> dict:
    return {key: value for key in NO_CHANGES}


def gauges(remaining: tuple, rewards: tuple) -> dict:
    """(ratio, peak, peak month, average) of each gauge."""
    names = ("ratio", "peak", "peak_month", "avg")
    return {
        **{f"mcap_to_remaining_btc_{n}": v for n, v in zip(names, remaining)},
        **{f"mcap_to_4y_rewards_{n}": v for n, v in zip(names, rewards)},
    }


FEB = date(2024, 2, 1)
MONTHS = {
    date(2024, 1, 1): dict(
        is_partial_month=True,
        **chain(42_100.0, 520.0, 72.0, 61_000.0),
        **NO_CHANGES,
        miner_count=3,
        combined_market_cap_usd=18.2e9,
        **NO_RETURNS,
        **gauges((0.41, 0.41, date(2024, 1, 1), 0.41), (1.6, 1.6, date(2024, 1, 1), 1.6)),
        listed_operations_coverage=0,  # no member reported: the operations sums are null
    ),
    FEB: dict(
        is_partial_month=False,
        **chain(48_800.0, 545.0, 78.0, 66_000.0),
        **changes(0.08),
        miner_count=3,
        combined_market_cap_usd=26.0e9,
        leader_ticker="MARA",
        leader_return=0.31,
        laggard_ticker="RIOT",
        laggard_return=0.02,
        **gauges((0.512, 0.512, FEB, 0.461), (1.9, 1.9, FEB, 1.75)),
        **operations(3, 0.10, (4.1, 4.1, FEB, 4.1)),
    ),
    date(2024, 3, 1): dict(
        is_partial_month=False,
        **chain(67_000.0, 590.0, 82.0, 70_000.0),
        **changes(0.05),
        miner_count=3,
        combined_market_cap_usd=25.0e9,
        leader_ticker="CLSK",
        leader_return=0.12,
        laggard_ticker="MARA",
        laggard_return=-0.04,
        **gauges((0.38, 0.512, FEB, 0.434), (1.5, 1.9, FEB, 1.667)),
        **operations(3, 0.105, (3.0, 4.1, FEB, 3.55)),
    ),
    date(2024, 5, 1): dict(
        is_partial_month=False,
        **chain(66_000.0, 600.0, 84.0, 50_000.0),
        **NO_CHANGES,
        miner_count=3,
        combined_market_cap_usd=24.45e9,
        leader_ticker="CLSK",
        leader_return=0.2,
        laggard_ticker="MARA",
        laggard_return=0.01,
        **gauges((0.3, 0.512, FEB, 0.4005), (1.3, 1.9, FEB, 1.575)),
        **operations(3, 0.112, (2.2, 4.1, FEB, 3.1)),
    ),
    date(2024, 6, 1): dict(
        is_partial_month=False,
        btc_price_avg_usd=66_123.4,
        btc_price_avg_mom=-0.052,
        btc_price_month_end_usd=61_500.2,
        btc_price_month_end_mom=-0.091,
        btc_price_close_month_end_usd=62_678.9,
        hashrate_avg_ehs=580.34,
        hashrate_avg_mom=0.04,
        hashrate_month_end_7d_avg_ehs=575.21,
        hashrate_month_end_mom=0.031,
        difficulty_avg=83.148e12,
        difficulty_avg_mom=0.012,
        difficulty_month_end=79.5e12,
        difficulty_month_end_mom=-0.05,
        hashprice_usd_per_ehs_day=45_210.7,
        hashprice_mom=-0.201,
        miner_count=4,
        combined_market_cap_usd=21.45e9,
        combined_market_cap_mom=-0.123,
        combined_market_cap_like_for_like_mom=-0.101,
        leader_ticker="CLSK",
        leader_return=0.054,
        laggard_ticker="MARA",
        laggard_return=-0.25,
        **gauges((0.262, 0.512, FEB, 0.3728), (1.423, 1.9, FEB, 1.5446)),
        # MARA, RIOT and CLSK reported (see JUNE_OPERATIONS), NEWM did not: 3 of 4 members
        listed_operations_coverage=3,
        listed_operating_hashrate_ehs=67.5,  # 25.0 + 22.5 + 20.0
        listed_hashrate_share=0.116311,  # 67.5 / 580.34
        listed_hashrate_share_change=0.004311,  # 0.116311 - 0.112
        listed_hashrate_added_ehs=1.5,
        listed_btc_produced=1_410.0,  # 705 + 255 + 450
        listed_btc_held=34_024.6,  # 18,536.2 + 9,334.0 + 6,154.4
        proportional_4y_rewards_value_usd=9.056e9,
        mcap_to_proportional_4y_rewards=2.31,  # (14.3 + 2.5 + 4.12) bn / 9.056 bn
        mcap_to_proportional_4y_rewards_peak=4.1,
        mcap_to_proportional_4y_rewards_peak_month=FEB,
        mcap_to_proportional_4y_rewards_avg=2.9025,  # (4.1 + 3.0 + 2.2 + 2.31) / 4
        combined_ev_usd=19.5e9,  # MARA 15.0 + CLSK 4.5; RIOT has no balance sheet
        ev_per_ehs_usd=433.333e6,  # 19.5 bn / (25.0 + 20.0) EH/s
    ),
    date(2024, 7, 1): dict(
        is_partial_month=True,
        **chain(57_000.0, 570.0, 80.0, 44_000.0),
        **NO_CHANGES,
        miner_count=4,
        combined_market_cap_usd=20.0e9,
        leader_ticker="RIOT",
        leader_return=0.07,
        laggard_ticker="NEWM",
        laggard_return=-0.1,
        **gauges(
            (
                0.25,
                0.512,
                FEB,
                0.35,
            ),
            (1.4, 1.9, FEB, 1.52),
        ),
        **operations(3, 0.118, (2.4, 4.1, FEB, 2.9025)),
    ),
}
JUNE = date(2024, 6, 1)
# 2024-06's miners: (ticker, name, close, return, shares, market cap, rank, listed, split)
JUNE_MINERS = [
    ("MARA", "MARA Holdings", 20.02, -0.25, 714_285_714, 14.3e9, 3, False, False),
    ("CLSK", "CleanSpark", 15.95, 0.054, 258_307_210, 4.12e9, 1, False, False),
    ("NEWM", "Newminer Corp", 10.6, None, 50_000_000, 0.53e9, None, True, False),
    ("RIOT", "Riot Platforms", 9.14, -0.031, 273_522_976, 2.5e9, 2, False, True),
]
# 2024-06's operations reports: (ticker, operating EH/s, BTC produced, BTC held, EV); June has 30 days
# and the network averaged 580.34 EH/s. NEWM has no report; RIOT no balance sheet.
JUNE_OPERATIONS = [
    ("MARA", 25.0, 705.0, 18_536.2, 15.0e9),
    ("CLSK", 20.0, 450.0, 6_154.4, 4.5e9),
    ("RIOT", 22.5, 255.0, 9_334.0, None),
]


@dataclass(frozen=True)
class Flags:
    mart_synthetic: bool
    log_synthetic: bool
    source: str


DEMO = Flags(True, True, "demo")
LIVE = Flags(False, False, "live")


def insert(conn, table: str, columns: dict[str, str], rows: list[dict]) -> None:
    conn.execute(f"create table {table} ({', '.join(f'{name} {kind}' for name, kind in columns.items())})")
    if rows:
        conn.executemany(
            f"insert into {table} values ({', '.join('?' * len(columns))})",
            [[row.get(name) for name in columns] for row in rows],
        )


def miner_rows() -> list[dict]:
    rows = [
        dict(
            month=JUNE,
            ticker=t,
            name=n,
            close_month_end_usd=c,
            monthly_return=r,
            shares_outstanding=s,
            market_cap_usd=m,
            return_rank=k,
            is_member=True,
            listed_in_month=listed,
            delisted_in_month=False,
            split_in_month=split,
        )
        for t, n, c, r, s, m, k, listed, split in JUNE_MINERS
    ]
    for month in MONTHS.keys() - {JUNE}:  # the other months: three plain members without a return
        rows += [
            dict(
                month=month,
                ticker=t,
                name=n,
                close_month_end_usd=c,
                shares_outstanding=s,
                market_cap_usd=m,
                is_member=True,
                listed_in_month=False,
                delisted_in_month=False,
                split_in_month=False,
            )
            for t, n, c, _, s, m, *_ in JUNE_MINERS
            if t != "NEWM"
        ]
    return rows


def operations_rows() -> list[dict]:
    """2024-06's rows of mart_miner_operations_monthly, with the arithmetic the mart does."""
    reports = {ticker: report for ticker, *report in JUNE_OPERATIONS}
    rows = []
    for ticker, name, *_ in JUNE_MINERS:
        row = dict(month=JUNE, ticker=ticker, name=name, is_member=True, is_partial_month=False)
        if ticker in reports:
            hashrate, produced, held, enterprise_value = reports[ticker]
            row |= dict(
                has_operations_report=True,
                operating_hashrate_ehs=hashrate,
                network_hashrate_avg_ehs=580.34,
                hashrate_share=hashrate / 580.34,
                btc_produced=produced,
                btc_per_ehs_day=produced / hashrate / 30,
                btc_held=held,
                enterprise_value_usd=enterprise_value,
                ev_per_ehs_usd=None if enterprise_value is None else enterprise_value / hashrate,
            )
        else:
            row |= dict(has_operations_report=False)
        rows.append(row)
    # a miner that reported but had no close on the month's last trading day: not a member, not listed
    rows.append(
        dict(
            month=JUNE,
            ticker="GONE",
            name="Gone Mining",
            is_member=False,
            is_partial_month=False,
            has_operations_report=True,
            operating_hashrate_ehs=99.0,
        )
    )
    return rows


NO_OPERATIONS = {column: None for column in NOTE_COLUMNS if column.startswith("listed_")} | {
    column: None for column in NOTE_COLUMNS if column.startswith(("mcap_to_proportional", "proportional"))
}


def make_published(
    path,
    flags: Flags = DEMO,
    months: dict | None = None,
    miners: list[dict] | None = None,
    operations: list[dict] | None = None,
):
    """The hand-made published file; `months`, `miners` and `operations` replace MONTHS, miner_rows()
    and operations_rows()."""
    notes = [
        dict(month=month, data_source=flags.source, is_synthetic_data=flags.mart_synthetic, **values)
        for month, values in (MONTHS if months is None else months).items()
    ]
    log = dict(
        run_id="run-new",
        source=flags.source,
        is_synthetic=flags.log_synthetic,
        first_month=date(2024, 1, 1),
        last_month=date(2024, 7, 1),
        row_counts="{}",
        gate_result="passed: 42 checks evaluated, 0 warnings",
    )
    with duckdb.connect(str(path)) as conn:
        insert(conn, "mart_monthly_note", NOTE_COLUMNS, notes)
        insert(conn, "mart_miner_monthly", MINER_COLUMNS, miner_rows() if miners is None else miners)
        insert(
            conn,
            "mart_miner_operations_monthly",
            OPERATIONS_COLUMNS,
            operations_rows() if operations is None else operations,
        )
        insert(
            conn,
            "publication_log",
            LOG_COLUMNS,
            [
                {**log, "published_at": datetime(2024, 7, 2, 6, 0), "run_id": "run-old", "gate_result": "old"},
                {**log, "published_at": datetime(2024, 8, 2, 6, 15, 42)},
            ],
        )
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return make_published(tmp_path_factory.mktemp("demo") / "published.duckdb")


@dataclass(frozen=True)
class Note:
    markdown: str
    html: str

    @property
    def headline(self) -> str:
        return next(p for p in self.markdown.split("\n\n") if p.startswith("In "))

    def tables(self) -> dict[str, list[dict[str, str]]]:
        """### title -> rows as {header: cell}; a table is the run of '|' lines right after its title."""
        tables, title, header = {}, None, None
        for line in self.markdown.splitlines():
            if line.startswith("### "):
                title, header = line[4:], None
            elif not line.startswith("|"):
                title = title if header is None else None  # a blank line after the rows ends the table
            elif title and not re.fullmatch(r"\|( ---:? \|)+", line):
                cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
                if header is None:
                    header = cells
                    tables[title] = []
                else:
                    tables[title].append(dict(zip(header, cells)))
        return tables


def render(published, tmp_path, month=None) -> Note:
    files = write_note(published, tmp_path, month)
    return Note(files.markdown.read_text(), files.html.read_text())


@pytest.fixture(scope="module")
def june(published, tmp_path_factory) -> Note:
    return render(published, tmp_path_factory.mktemp("notes"), "2024-06")


SCALE = {"bn": 1e9, "m": 1e6, "T": 1e12, "%": 0.01}
NUMBER = re.compile(r"[+-]?\$?\d[\d,]*(?:\.\d+)?(?: ?(?:bn|m|T|x)\b|%| EH/s)?")


def parse(token: str) -> tuple[float, float]:
    """'$21.45 bn' -> (21.45e9, 0.005e9): the value and half a unit of its last printed digit."""
    match = re.fullmatch(r"([+-]?)\$?([\d,]+)(?:\.(\d+))?\s?(bn|m|T|%|x|EH/s|per EH/s per day)?", token.strip())
    assert match, f"not a printed number: {token!r}"
    sign, whole, decimals, unit = match.groups()
    scale = SCALE.get(unit, 1.0)
    value = float(whole.replace(",", "") + "." + (decimals or "0")) * scale
    return (-value if sign == "-" else value), 0.5 * 10 ** -len(decimals or "") * scale * 1.000001


def equals(printed: str, expected: float | None) -> bool:
    if expected is None:
        return printed in ("n/a", "")
    value, tolerance = parse(printed)
    return abs(value - expected) <= tolerance


def test_tables_print_the_marts_numbers(june):
    figures, tables = MONTHS[JUNE], june.tables()
    equities = {row["Figure"]: row for row in tables["Combined market cap, leader and laggard"]}
    assert equals(equities["Combined market cap"]["Value"], figures["combined_market_cap_usd"])
    assert equals(equities["Combined market cap"]["Change on month"], figures["combined_market_cap_mom"])
    assert equals(
        equities["Combined market cap, like for like"]["Change on month"],
        figures["combined_market_cap_like_for_like_mom"],
    )
    # a change only: its value cell says which miners it counts instead of staying empty
    assert equities["Combined market cap, like for like"]["Value"] == "miners listed in both months"
    assert equities["Miners listed at month end"]["Value"] == "4"
    assert (equities["Leader (best return)"]["Value"], equities["Laggard (worst return)"]["Value"]) == ("CLSK", "MARA")
    assert equals(equities["Leader (best return)"]["Change on month"], figures["leader_return"])
    assert equals(equities["Laggard (worst return)"]["Change on month"], figures["laggard_return"])

    network = {
        row["Figure"]: (row["Value"], row["Change on month"])
        for row in tables["Price, hashrate, difficulty and hashprice"]
    }
    expected = {
        "Bitcoin price, monthly average": ("btc_price_avg_usd", "btc_price_avg_mom"),
        "Bitcoin price, month end (7-day average)": ("btc_price_month_end_usd", "btc_price_month_end_mom"),
        "Bitcoin price, close on the month's last day": ("btc_price_close_month_end_usd", None),
        "Hashrate, monthly average": ("hashrate_avg_ehs", "hashrate_avg_mom"),
        "Hashrate, month end (7-day average)": ("hashrate_month_end_7d_avg_ehs", "hashrate_month_end_mom"),
        "Difficulty, monthly average": ("difficulty_avg", "difficulty_avg_mom"),
        "Difficulty at month end": ("difficulty_month_end", "difficulty_month_end_mom"),
        "Hashprice, monthly average": ("hashprice_usd_per_ehs_day", "hashprice_mom"),
    }
    assert network.keys() == expected.keys()
    for label, (value_column, change_column) in expected.items():
        value, change = network[label]
        assert equals(value, figures[value_column]), label
        assert equals(change, figures[change_column]) if change_column else change == "", label

    valuation = tables["The gauges against their history"]
    for row, gauge in zip(valuation, ("mcap_to_remaining_btc", "mcap_to_4y_rewards")):
        assert equals(row["This month"], figures[f"{gauge}_ratio"])
        assert equals(row["Average to date"], figures[f"{gauge}_avg"])
        assert equals(row["Peak to date"], figures[f"{gauge}_peak"])
        assert row["Peak month"] == f"{figures[f'{gauge}_peak_month']:%Y-%m}"


def test_the_gauges_are_defined_under_their_table(june):
    """A reader comparing the gauges with another note needs their denominators spelled out: which
    cap on supply, which blocks, whether fees count, which price, which months the history holds."""
    definition = (
        "Value of the bitcoin left to mine = (20,999,999.9769 BTC, all the subsidy schedule ever issues, "
        "minus the supply after the month-end block) x the month-end bitcoin price (7-day average); "
        "Next four years' block rewards = the subsidies (fees left out) of the 210,240 blocks after the "
        "month-end block (4 x 365 days x 144 blocks, halvings included) x the month-end bitcoin price "
        "(7-day average). Average and peak: over the months to date whose equity data is complete."
    )
    paragraphs = june.markdown.split("\n\n")
    table = next(i for i, p in enumerate(paragraphs) if p.startswith("### The gauges against their history"))
    assert paragraphs[table + 1].startswith("| Gauge |")  # the table, then its definitions
    assert paragraphs[table + 2] == definition
    assert f'<p class="table-note">{definition}</p>' in html.unescape(june.html)


def test_every_miner_is_listed_sorted_by_return_with_its_numbers(june):
    rows = june.tables()["Return and market cap by miner"]
    assert [row["Ticker"] for row in rows] == ["CLSK", "RIOT", "MARA", "NEWM"]  # by rank, unranked last
    by_ticker = {row["Ticker"]: row for row in rows}
    for ticker, name, close, monthly_return, _, market_cap, rank, listed, split in JUNE_MINERS:
        row = by_ticker[ticker]
        assert row["Company"] == name
        assert row["Rank"] == (str(rank) if rank else "n/a")
        assert equals(row["Return"], monthly_return)
        assert equals(row["Month-end close"], close)
        assert equals(row["Market cap"], market_cap)
        assert ("listed this month" in row["Events"]) == listed
        assert ("split this month" in row["Events"]) == split


def test_every_number_in_the_headline_is_the_marts(june):
    figures = MONTHS[JUNE]
    known = [
        abs(value) for value in figures.values() if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]
    prose = re.sub(
        r"(January|February|March|April|May|June|July|August|September|October|November|December) \d{4}"
        r"|\d{4}-\d{2}|7-day",
        "",
        june.headline,
    )
    tokens = [token.strip() for token in NUMBER.findall(prose)]
    assert len(tokens) >= 15, tokens
    for token in tokens:
        assert any(equals(token.lstrip("+-"), value) for value in known), f"{token!r} is not a number of the mart"
    for printed in (
        "$21.45 bn",
        "12.3%",
        "10.1%",
        "$66,123",
        "5.2%",
        "$61,500",
        "9.1%",
        "580.3 EH/s",
        "4.0%",
        "83.15 T",
        "1.2%",
        "$45,211 per EH/s per day",
        "20.1%",
        "5.4%",
        "25.0%",
        "0.262x",
        "0.373x",
        "0.512x",
        "1.42x",
        "1.54x",
        "1.90x",
    ):
        assert printed in june.headline


def test_a_negative_move_reads_as_a_fall(june):
    headline = june.headline
    assert "the combined market cap of the 4 listed miners fell 12.3% to $21.45 bn" in headline
    assert "(down 10.1% like for like" in headline
    assert "hashprice fell 20.1% to $45,211 per EH/s per day" in headline
    assert "Average hashrate rose 4.0% to 580.3 EH/s" in headline
    assert "CLSK led, gaining 5.4%; MARA lagged, losing 25.0%." in headline
    assert (
        "0.262x the value of the bitcoin left to mine (below its average of 0.373x; peak 0.512x in February 2024)"
        in headline
    )
    assert not re.search(r"(rose|fell|gaining|losing|by|to) [+-]", headline)  # no signed number in prose


def test_the_html_shows_the_same_headline_and_cells(june):
    page = html.unescape(june.html)
    assert f'<p class="lead">{june.headline}</p>' in page
    for rows in june.tables().values():
        for row in rows:
            for cell in row.values():
                assert f">{cell}</td>" in page


def test_the_html_is_self_contained(june):
    assert not re.search(r"https?://", june.html)
    references = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', june.html)
    assert references and all(ref.startswith("data:image/png;base64,") for ref in references)
    # returns, market cap vs bitcoin, hashrate/hashprice, listed share, JPM's multiple, two gauges
    assert len(references) == 7
    for ref in references:
        assert base64.b64decode(ref.split(",", 1)[1]).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "flags, banner",
    [
        (DEMO, True),
        (LIVE, False),
        (Flags(mart_synthetic=True, log_synthetic=False, source="live"), True),  # either flag marks it
    ],
)
def test_banner_exactly_when_the_data_is_synthetic(tmp_path, flags, banner):
    note = render(make_published(tmp_path / "published.duckdb", flags), tmp_path, "2024-06")
    assert ("SYNTHETIC DEMO DATA" in note.markdown) is banner
    assert ("SYNTHETIC DEMO DATA" in note.html) is banner
    assert ('class="banner"' in note.html) is banner
    assert note.markdown.startswith("# Bitcoin-miner equities: June 2024\n\n> **SYNTHETIC") is banner


def test_footer_states_the_newest_publication(june):
    footer = june.markdown.rstrip().splitlines()[-1]
    assert footer == (
        "Data source: demo (SYNTHETIC DEMO DATA - not market data). "
        "Published 2024-08-02 06:15 UTC (run run-new, months 2024-01 .. 2024-07). "
        "Quality gate: passed: 42 checks evaluated, 0 warnings."
    )
    assert f"<footer>{footer}</footer>" in html.unescape(june.html)


def test_footer_names_a_synthetic_source_once():
    """The pipeline records a synthetic source as 'demo (SYNTHETIC)'; the footer names it with the
    banner once, not 'demo (SYNTHETIC) (SYNTHETIC DEMO DATA ...)'."""
    from orchestration.note.data import Publication

    publication = Publication(
        datetime(2025, 7, 2, 6, 0), "run-1", "demo (SYNTHETIC)", True, date(2019, 1, 1), date(2025, 6, 1), "passed"
    )
    assert text.provenance(publication, synthetic=True).startswith(
        "Data source: demo (SYNTHETIC DEMO DATA - not market data). Published 2025-07-02 06:00 UTC"
    )
    real = Publication(datetime(2025, 7, 2, 6, 0), "run-1", "csv", False, date(2019, 1, 1), date(2025, 6, 1), "passed")
    assert text.provenance(real, synthetic=False).startswith("Data source: csv. Published")


def test_first_month_says_there_is_no_prior_month(published, tmp_path):
    note = render(published, tmp_path, "2024-01")
    assert "No month-over-month changes are given: there is no prior month to compare with." in note.headline
    assert not re.search(r"\b(rose|fell|unchanged|led|lagged)\b", note.headline)
    assert "January 2024 is a partial month" in note.markdown
    rows = {row["Figure"]: row for row in note.tables()["Price, hashrate, difficulty and hashprice"]}
    assert rows["Hashprice, monthly average"]["Change on month"] == "n/a"
    for output in (note.markdown, note.html):
        assert not re.search(r"\b(None|nan|NaN)\b", output)


def test_a_month_after_a_gap_says_which_month_is_missing(published, tmp_path):
    headline = render(published, tmp_path, "2024-05").headline
    assert "there is no data for April 2024 to compare with" in headline
    assert "CLSK led, gaining 20.0%; MARA lagged, gaining 1.0%." in headline


def test_default_month_is_the_latest_complete_month(published, tmp_path):
    files = write_note(published, tmp_path)  # 2024-07 is newer but partial
    assert files.month == JUNE and files.is_synthetic
    assert (files.html.name, files.markdown.name) == ("2024-06.html", "2024-06.md")


def test_a_partial_month_asked_for_explicitly_is_marked(published, tmp_path):
    note = render(published, tmp_path, "2024-07")
    assert "July 2024 is a partial month" in note.markdown and "July 2024 is a partial month" in note.html
    assert "the data for July 2024 is incomplete" in note.headline


AVAILABLE = "months available: 2024-01 .. 2024-03, 2024-05 .. 2024-07"


@pytest.mark.parametrize(
    "month, message",
    [
        ("2023-12", f"2023-12 is before the history starts (2024-01); {AVAILABLE}"),
        ("2024-04", f"no published data for 2024-04; {AVAILABLE}"),
        ("2024-09", f"no published data for 2024-09; {AVAILABLE}"),
        ("2024-13", "not a month: '2024-13' (expected YYYY-MM, e.g. 2024-06)"),
    ],
)
def test_a_month_without_data_is_a_clear_error(published, tmp_path, month, message):
    with pytest.raises(NoteError) as error:
        write_note(published, tmp_path, month)
    assert str(error.value) == message
    assert not list(tmp_path.iterdir())  # no empty page


@pytest.mark.parametrize("key", ["2024-06", "2024-06-01"])  # a Dagster monthly partition key works too
def test_month_keys(key):
    assert parse_month(key) == JUNE


def test_a_file_without_the_columns_the_note_reads_is_a_clear_error(tmp_path):
    with duckdb.connect(str(tmp_path / "published.duckdb")) as conn:
        conn.execute("create table mart_monthly_note as select date '2024-06-01' as month")
    with pytest.raises(NoteError, match=r"is_partial_month.*names are in orchestration/note/data\.py"):
        write_note(tmp_path / "published.duckdb", tmp_path)


def test_missing_published_file_is_a_clear_error(tmp_path):
    with pytest.raises(NoteError, match="no published file at .*: run `make run` first"):
        write_note(tmp_path / "published.duckdb", tmp_path)


def test_cli_writes_under_warehouse_dir_and_prints_the_paths(published, tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "published.duckdb").write_bytes(published.read_bytes())
    monkeypatch.setenv("WAREHOUSE_DIR", str(warehouse))
    assert cli.main(["--month", "2024-03"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(warehouse / "notes" / "2024-03.html"),
        str(warehouse / "notes" / "2024-03.md"),
    ]
    assert cli.main(["--month", "2023-12"]) == 1
    assert "2023-12 is before the history starts" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, expected",
    [
        (0.06, "hashprice rose 6.0% to $1"),
        (-0.123, "hashprice fell 12.3% to $1"),
        (-0.0004, "hashprice was unchanged at $1"),
        (None, "hashprice was $1"),
    ],
)
def test_movement_wording(change, expected):
    assert text.movement("hashprice", "$1", change) == expected


def test_clauses_join_like_prose():
    assert [text.join_clauses(c) for c in (["a"], ["a", "b"], ["a", "b", "c"])] == ["a", "a and b", "a, b and c"]


def test_the_returns_chart_shows_every_miner_up_to_thirty_then_the_ends():
    from orchestration.note.charts import leaders_and_laggards
    from orchestration.note.data import Miner

    def miners(count: int) -> list[Miner]:
        return [Miner(f"M{i:03d}", None, 1.0, 1.0 - i / 1000, 1e9, i + 1, False, False, False) for i in range(count)]

    thirty = miners(30)
    assert leaders_and_laggards(thirty) == thirty
    many = miners(909)
    shown = leaders_and_laggards(many)
    assert [m.ticker for m in shown] == [f"M{i:03d}" for i in [*range(15), *range(894, 909)]]


# The Operations section: the listed miners' share of the network and JPMorgan's multiple.

OPERATIONS_TABLES = (
    "The reporting miners together",
    "Hashrate and production by miner, June 2024",
    "JPMorgan's multiple against its history",
)


def operations_section(note: Note) -> str:
    """The Markdown of the Operations section, up to the next section."""
    return note.markdown.split("\n## Operations\n\n", 1)[1].split("\n## ", 1)[0]


def images(note: Note) -> int:
    return len(re.findall(r'<img src="data:image/png;base64,', note.html))


def test_the_operations_tables_print_the_marts_numbers(june):
    tables = june.tables()
    # by operating hashrate; NEWM (no report) and GONE (reported, but not a member) are not listed
    assert tables["Hashrate and production by miner, June 2024"] == [
        {
            "Ticker": "MARA",
            "Operating hashrate": "25.0 EH/s",
            "Share of network": "4.3%",  # 25.0 / 580.34 = 4.31%
            "BTC produced": "705 BTC",
            "BTC per EH/s per day": "0.940",  # 705 / 25.0 / 30 days
            "BTC held": "18,536 BTC",
            "EV per EH/s": "$600.0 m",  # 15.0 bn / 25.0
        },
        {
            "Ticker": "RIOT",
            "Operating hashrate": "22.5 EH/s",
            "Share of network": "3.9%",  # 22.5 / 580.34 = 3.88%
            "BTC produced": "255 BTC",
            "BTC per EH/s per day": "0.378",  # 255 / 22.5 / 30 = 0.3778
            "BTC held": "9,334 BTC",
            "EV per EH/s": "n/a",  # no balance sheet
        },
        {
            "Ticker": "CLSK",
            "Operating hashrate": "20.0 EH/s",
            "Share of network": "3.4%",  # 20.0 / 580.34 = 3.45%
            "BTC produced": "450 BTC",
            "BTC per EH/s per day": "0.750",  # 450 / 20.0 / 30
            "BTC held": "6,154 BTC",
            "EV per EH/s": "$225.0 m",  # 4.5 bn / 20.0
        },
    ]
    together = {row["Figure"]: (row["Value"], row["Change on month"]) for row in tables[OPERATIONS_TABLES[0]]}
    assert together == {
        "Members that reported operations": ("3 of 4", ""),
        "Operating hashrate": ("67.5 EH/s", ""),
        "Share of the network's hashrate": ("11.6%", "+0.4 pts"),  # 67.5 / 580.34; 0.116311 - 0.112
        "Installed hashrate added, like for like": ("1.5 EH/s", ""),
        "BTC produced": ("1,410 BTC", ""),
        "BTC held at month end": ("34,025 BTC", ""),
        "Proportional share of the next four years' block rewards": ("$9.06 bn", ""),
        "Combined enterprise value": ("$19.50 bn", ""),
        "Enterprise value per EH/s": ("$433.3 m", ""),
    }
    assert tables[OPERATIONS_TABLES[2]] == [
        {
            "Gauge": "Reporting miners' market cap / proportional share of the next four years' block rewards",
            "This month": "2.31x",
            "Average to date": "2.90x",
            "Peak to date": "4.10x",
            "Peak month": "2024-02",
        }
    ]
    assert "3 of 4 members reported operations for June 2024; the one without a report is not listed." in (
        operations_section(june)
    )


def test_the_headline_says_the_listed_share_and_the_multiple_after_the_market(june):
    assert (
        "counting only the miners listed in both months). The 3 reporting miners ran 11.6% of the network's "
        "hashrate (3 of 4 members reported operations); their market cap was 2.31x their proportional share "
        "of the next four years' block rewards (peak 4.10x in February 2024, average 2.90x). Bitcoin's"
    ) in june.headline


def test_every_member_reporting_and_the_multiples_first_month(published, tmp_path):
    may = render(published, tmp_path, "2024-05").headline
    assert (
        "The 3 reporting miners ran 11.2% of the network's hashrate; their market cap was 2.20x their "
        "proportional share of the next four years' block rewards (peak 4.10x in February 2024, average 3.10x)."
    ) in may
    assert "members reported" not in may
    february = render(published, tmp_path, "2024-02").headline  # the first month with reports
    assert (
        "The 3 reporting miners ran 10.0% of the network's hashrate; their market cap was 4.10x their "
        "proportional share of the next four years' block rewards."
    ) in february


def test_the_operations_charts_are_drawn(june):
    assert 'alt="Listed miners&#39; share of the network&#39;s hashrate"' in june.html
    assert (
        'alt="Reporting miners&#39; market cap / proportional share of the next four years&#39; block rewards"'
        in june.html
    )
    assert images(june) == 7


def no_operations(coverage: int | None) -> dict:
    """MONTHS with nothing from the operations mart: the csv source without its operations files."""
    empty = {column: None for column in NOTE_COLUMNS if "operations" in column or "proportional" in column}
    empty |= {column: None for column in NOTE_COLUMNS if column.startswith("listed_") or "ev_" in column}
    return {month: {**values, **empty, "listed_operations_coverage": coverage} for month, values in MONTHS.items()}


@pytest.mark.parametrize("coverage", [0, None])
def test_without_operations_one_sentence_and_nothing_else(tmp_path, coverage):
    path = make_published(tmp_path / "published.duckdb", months=no_operations(coverage), operations=[])
    note = render(path, tmp_path, "2024-06")
    sentence = "Operations figures are not available because no miner operations were loaded."
    assert operations_section(note) == sentence + "\n"
    assert note.markdown.count("Operations figures") == 1
    assert f"<h2>Operations</h2>\n<p>{sentence}</p>\n</section>" in note.html
    assert not set(OPERATIONS_TABLES) & note.tables().keys()
    assert images(note) == 5  # as before the section existed
    assert "reporting" not in note.headline and "proportional" not in note.headline
    for output in (note.markdown, note.html):
        assert not re.search(r"\b(None|nan|NaN)\b", output)


def test_a_month_without_reports_when_other_months_have_them(published, tmp_path):
    note = render(published, tmp_path, "2024-01")
    assert operations_section(note) == (
        "Operations figures are not available for January 2024 because no member reported operations for the month.\n"
    )
    assert images(note) == 4  # no operations chart (and no returns chart: no returns in the first month)
    assert "Listed miners&#39; share" not in note.html


def test_operations_with_every_number_null(tmp_path):
    """Reports on file, every figure in them null: the tables print n/a, no chart is drawn, no crash."""
    months = {month: {**values, "listed_operations_coverage": 3} for month, values in no_operations(3).items()}
    reports = [
        dict(month=JUNE, ticker=t, name=n, is_member=True, is_partial_month=False, has_operations_report=True)
        for t, n, *_ in JUNE_MINERS
        if t != "NEWM"
    ]
    note = render(make_published(tmp_path / "published.duckdb", months=months, operations=reports), tmp_path, "2024-06")
    assert "3 of 4 members reported operations." in note.headline
    tables = note.tables()
    rows = tables["Hashrate and production by miner, June 2024"]
    assert [row["Ticker"] for row in rows] == ["CLSK", "MARA", "RIOT"]  # no hashrate to sort by: by ticker
    assert {cell for row in rows for column, cell in row.items() if column != "Ticker"} == {"n/a"}
    together = {row["Figure"]: row["Value"] for row in tables["The reporting miners together"]}
    assert together.pop("Members that reported operations") == "3 of 4"
    assert set(together.values()) == {"n/a"}
    assert images(note) == 5  # neither the share nor the multiple has a month to draw
    for output in (note.markdown, note.html):
        assert not re.search(r"\b(None|nan|NaN)\b", output)


def test_the_operations_sentence_wording(published):
    from dataclasses import replace

    from orchestration.note.data import load

    data = load(published, JUNE)
    f, operations = data.figures, data.operations
    one = replace(operations, coverage=1, member_count=1)
    assert text.operations_sentence(f, one).startswith(
        "The one reporting miner ran 11.6% of the network's hashrate; its market cap was 2.31x its proportional"
    )
    new_peak = replace(operations, multiple=replace(operations.multiple, peak=2.31, peak_month=JUNE))
    assert text.operations_sentence(f, new_peak).endswith("block rewards (a new peak, average 2.90x).")
    no_share = replace(f, listed_hashrate_share=None)
    assert text.operations_sentence(no_share, operations) == (
        "The market cap of the 3 reporting miners (3 of 4 members reported operations) was 2.31x their "
        "proportional share of the next four years' block rewards (peak 4.10x in February 2024, average 2.90x)."
    )
    no_multiple = replace(operations, multiple=replace(operations.multiple, ratio=None))
    assert text.operations_sentence(f, no_multiple) == (
        "The 3 reporting miners ran 11.6% of the network's hashrate (3 of 4 members reported operations)."
    )
    assert text.operations_sentence(no_share, no_multiple) == "3 of 4 members reported operations."
    assert text.operations_sentence(f, replace(operations, coverage=0)) is None


HOSTILE_NAME = "<script>alert(1)</script> ![x](http://evil.example/p.png) [y](javascript:alert(1)) `z` a|b"
HOSTILE_TICKER = "<IMG SRC=X ONERROR=ALERT(1)>"


def test_company_names_and_tickers_show_literally_in_both_notes(tmp_path):
    """A company name or ticker is data, not markup: the Markdown note escapes it as the HTML note does
    (issue #19, item 15), so no renderer turns it into a script, an image, a link or a new table cell."""
    from markdown_it import MarkdownIt

    miners = [
        {**row, "ticker": HOSTILE_TICKER, "name": HOSTILE_NAME} if row["ticker"] == "CLSK" else row
        for row in miner_rows()
    ]
    reports = [{**row, "ticker": HOSTILE_TICKER} if row["ticker"] == "CLSK" else row for row in operations_rows()]
    months = {**MONTHS, JUNE: {**MONTHS[JUNE], "leader_ticker": HOSTILE_TICKER}}
    path = make_published(tmp_path / "published.duckdb", months=months, miners=miners, operations=reports)
    note = render(path, tmp_path, "2024-06")

    assert "&lt;IMG SRC=X ONERROR=ALERT(1)&gt; led, gaining 5.4%" in note.headline
    company = (
        "&lt;script&gt;alert(1)&lt;/script&gt; !\\[x\\](http://evil.example/p.png) "
        "\\[y\\](javascript:alert(1)) \\`z\\` a\\|b"
    )
    assert f"| 1 | &lt;IMG SRC=X ONERROR=ALERT(1)&gt; | {company} | +5.4% |" in note.markdown
    assert "| &lt;IMG SRC=X ONERROR=ALERT(1)&gt; | 20.0 EH/s |" in note.markdown  # the operations table
    rendered = MarkdownIt("commonmark").enable("table").render(note.markdown)
    for output in (note.markdown, rendered, note.html):
        assert not re.search(r"<(script|img src=x|a )", output, re.IGNORECASE)
    assert "<img" not in rendered and "<a " not in rendered
    # shown as written: the text a reader sees is the name itself, in one cell
    assert f"<td>{html.escape(HOSTILE_NAME, quote=False)}</td>" in rendered
    assert f"<td>{html.escape(HOSTILE_NAME)}</td>" in note.html


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("Hut 8 Corp", "Hut 8 Corp"),
        ("<b>bold</b> & co", "&lt;b&gt;bold&lt;/b&gt; &amp; co"),
        ("[link](http://x) `code` back\\slash a|b", "\\[link\\](http://x) \\`code\\` back\\\\slash a\\|b"),
    ],
)
def test_markdown_text(raw, shown):
    from orchestration.note.render import markdown_text

    assert markdown_text(raw) == shown


def test_the_note_says_which_members_have_no_market_cap(tmp_path):
    """A member let through without a cap (WAREHOUSE_ALLOW_MISSING_CAP) is out of the combined cap:
    the headline and the equity table say how many members count and which do not (issue #19, 4)."""
    months = {**MONTHS, JUNE: {**MONTHS[JUNE], "members_with_market_cap": 3, "members_without_market_cap": "MARA"}}
    note = render(make_published(tmp_path / "published.duckdb", months=months), tmp_path, "2024-06")

    assert "; 3 of the 4 members have a market cap (MARA has no shares report and is left out)." in note.headline
    assert "| Of them with a market cap | 3 (not MARA) |" in note.markdown
    plain = render(make_published(tmp_path / "all.duckdb"), tmp_path / "all", "2024-06")
    assert "members have a market cap" not in plain.headline and "Of them with a market cap" not in plain.markdown
