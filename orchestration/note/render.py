"""Turns one month's NoteData into the note's Markdown and HTML.

Both files come from the same view (headline, sections of tables and charts, footer) and the same
formatters, so they print the same numbers; only the templates differ. The HTML is self-contained
(charts are data: URIs, styles inline); the Markdown carries every number, without the charts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from orchestration.note import charts, text
from orchestration.note import formatting as fmt
from orchestration.note.data import Figures, Gauge, Miner, NoteData, Operations

TEMPLATES = Path(__file__).parent / "templates"
NO_CHANGE = ""  # in a change column: the figure has no month-over-month change by definition
# The like-for-like figure is a change only (the cap of the miners listed in both months); its value
# cell says which miners it counts instead of staying empty.
LIKE_FOR_LIKE = "miners listed in both months"


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    numeric: tuple[bool, ...]  # right-aligned columns
    note: str = ""  # printed under the table: what its figures mean, where a reader needs it


@dataclass(frozen=True)
class Section:
    title: str
    tables: list[Table]
    charts: list[charts.Chart] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)  # prose under the title, before the tables


def _figure_table(title: str, rows: list[tuple[str, str, str]]) -> Table:
    return Table(title, ("Figure", "Value", "Change on month"), rows, (False, True, True))


def equities_table(f: Figures) -> Table:
    return _figure_table(
        "Combined market cap, leader and laggard",
        [
            ("Combined market cap", fmt.usd_large(f.combined_market_cap_usd), fmt.change(f.combined_market_cap_mom)),
            ("Combined market cap, like for like", LIKE_FOR_LIKE, fmt.change(f.combined_market_cap_like_for_like_mom)),
            ("Miners listed at month end", str(f.miner_count), NO_CHANGE),
            *(
                [
                    (
                        "Of them with a market cap",
                        f"{f.members_with_market_cap} (not {f.members_without_market_cap})",
                        NO_CHANGE,
                    )
                ]
                if f.members_without_market_cap
                else []
            ),
            ("Leader (best return)", f.leader_ticker or fmt.MISSING, fmt.change(f.leader_return)),
            ("Laggard (worst return)", f.laggard_ticker or fmt.MISSING, fmt.change(f.laggard_return)),
        ],
    )


def _miner_events(miner: Miner) -> str:
    events = {
        "listed this month": miner.listed_in_month,
        "delisted this month": miner.delisted_in_month,
        "split this month": miner.split_in_month,
    }
    return ", ".join(event for event, happened in events.items() if happened)


def miners_table(miners: list[Miner]) -> Table:
    rows = [
        (
            fmt.MISSING if m.return_rank is None else str(m.return_rank),
            m.ticker,
            m.name or "",
            fmt.change(m.monthly_return),
            fmt.usd_cents(m.close_month_end_usd),
            fmt.usd_large(m.market_cap_usd),
            _miner_events(m),
        )
        for m in miners
    ]
    return Table(
        "Return and market cap by miner",
        ("Rank", "Ticker", "Company", "Return", "Month-end close", "Market cap", "Events"),
        rows,
        (True, False, False, True, True, True, False),
    )


def network_table(f: Figures) -> Table:
    return _figure_table(
        "Price, hashrate, difficulty and hashprice",
        [
            ("Bitcoin price, monthly average", fmt.usd(f.btc_price_avg_usd), fmt.change(f.btc_price_avg_mom)),
            (
                "Bitcoin price, month end (7-day average)",
                fmt.usd(f.btc_price_month_end_usd),
                fmt.change(f.btc_price_month_end_mom),
            ),
            ("Bitcoin price, close on the month's last day", fmt.usd(f.btc_price_close_month_end_usd), NO_CHANGE),
            ("Hashrate, monthly average", fmt.hashrate(f.hashrate_avg_ehs), fmt.change(f.hashrate_avg_mom)),
            (
                "Hashrate, month end (7-day average)",
                fmt.hashrate(f.hashrate_month_end_7d_avg_ehs),
                fmt.change(f.hashrate_month_end_mom),
            ),
            ("Difficulty, monthly average", fmt.difficulty(f.difficulty_avg), fmt.change(f.difficulty_avg_mom)),
            ("Difficulty at month end", fmt.difficulty(f.difficulty_month_end), fmt.change(f.difficulty_month_end_mom)),
            ("Hashprice, monthly average", fmt.hashprice(f.hashprice_usd_per_ehs_day), fmt.change(f.hashprice_mom)),
        ],
    )


def gauges_table(gauges: tuple[Gauge, ...], title: str = "The gauges against their history") -> Table:
    rows = [
        (g.name, fmt.ratio(g.ratio), fmt.ratio(g.average), fmt.ratio(g.peak), fmt.month_key(g.peak_month))
        for g in gauges
    ]
    header = ("Gauge", "This month", "Average to date", "Peak to date", "Peak month")
    definitions = "; ".join(f"{g.denominator[0].upper()}{g.denominator[1:]} = {g.definition}" for g in gauges)
    note = f"{definitions}. Average and peak: over the months to date whose equity data is complete."
    return Table(title, header, rows, (False, True, True, True, True), note)


def listed_operations_table(f: Figures, operations: Operations) -> Table:
    reported = f"{operations.coverage} of {operations.member_count}"
    return _figure_table(
        "The reporting miners together",
        [
            ("Members that reported operations", reported, NO_CHANGE),
            ("Operating hashrate", fmt.hashrate(f.listed_operating_hashrate_ehs), NO_CHANGE),
            (
                "Share of the network's hashrate",
                fmt.share(f.listed_hashrate_share),
                fmt.points(f.listed_hashrate_share_change),
            ),
            ("Installed hashrate added, like for like", fmt.hashrate(f.listed_hashrate_added_ehs), NO_CHANGE),
            ("BTC produced", fmt.btc(f.listed_btc_produced), NO_CHANGE),
            ("BTC held at month end", fmt.btc(f.listed_btc_held), NO_CHANGE),
            (
                "Proportional share of the next four years' block rewards",
                fmt.usd_large(f.proportional_4y_rewards_value_usd),
                NO_CHANGE,
            ),
            ("Combined enterprise value", fmt.usd_large(f.combined_ev_usd), NO_CHANGE),
            ("Enterprise value per EH/s", fmt.usd_millions(f.ev_per_ehs_usd), NO_CHANGE),
        ],
    )


def miner_operations_table(data: NoteData) -> Table:
    operations = data.operations
    rows = [
        (
            m.ticker,
            fmt.hashrate(m.operating_hashrate_ehs),
            fmt.share(m.hashrate_share),
            fmt.btc(m.btc_produced),
            fmt.btc_per_ehs_day(m.btc_per_ehs_day),
            fmt.btc(m.btc_held),
            fmt.usd_millions(m.ev_per_ehs_usd),
        )
        for m in operations.miners
    ]
    note = (
        "Share of network: operating hashrate over the network's monthly average hashrate. BTC per EH/s per "
        "day: BTC produced / operating EH/s / the month's days. EV per EH/s: enterprise value (market cap + "
        "total debt - cash, latest balance sheet on or before month end) / operating EH/s, in USD millions; "
        f"{fmt.MISSING} without a balance sheet."
    )
    if operations.coverage < operations.member_count:
        missing = operations.member_count - operations.coverage
        note += (
            f" {operations.coverage} of {operations.member_count} members reported operations for "
            f"{fmt.month_name(data.month)}; the {'one' if missing == 1 else missing} without a report "
            f"{'is' if missing == 1 else 'are'} not listed."
        )
    return Table(
        f"Hashrate and production by miner, {fmt.month_name(data.month)}",
        (
            "Ticker",
            "Operating hashrate",
            "Share of network",
            "BTC produced",
            "BTC per EH/s per day",
            "BTC held",
            "EV per EH/s",
        ),
        rows,
        (False, True, True, True, True, True, True),
        note,
    )


def operations_section(data: NoteData) -> Section:
    """The listed share and JPMorgan's multiple; without any report, one sentence saying why not."""
    operations = data.operations
    unavailable = text.operations_unavailable(data.figures, operations)
    if unavailable:
        return Section("Operations", [], paragraphs=[unavailable])
    month, synthetic = data.month, data.is_synthetic
    tables = [listed_operations_table(data.figures, operations), miner_operations_table(data)]
    tables.append(gauges_table((operations.multiple,), "JPMorgan's multiple against its history"))
    drawn = (
        charts.share_chart(operations.share_history, month, synthetic),
        charts.multiple_chart(operations.multiple, month, synthetic),
    )
    return Section("Operations", tables, [chart for chart in drawn if chart])


def sections(data: NoteData) -> list[Section]:
    synthetic, f = data.is_synthetic, data.figures
    returns = charts.returns_chart(data.miners, data.month, synthetic)
    return [
        Section(
            "Miner equities",
            [equities_table(f), miners_table(data.miners)],
            [chart for chart in (returns, charts.market_cap_chart(data.history, synthetic)) if chart],
        ),
        Section("Bitcoin and the network", [network_table(f)], [charts.network_chart(data.history, synthetic)]),
        operations_section(data),
        Section(
            "Valuation gauges",
            [gauges_table(data.gauges)],
            [charts.gauge_chart(gauge, data.month, synthetic) for gauge in data.gauges],
        ),
    ]


_MARKDOWN_SPECIAL = re.compile(r"([\\`\[\]|])")


def markdown_text(value: object) -> str:
    """Text as Markdown shows it literally: no HTML tag (`<script>`, `<img onerror=...>`) or entity from a
    company name or ticker reaches a Markdown renderer (`<`, `>`, `&` become entities, as the HTML note
    escapes them), and no link, image or code span either (`[`, `]`, backticks and backslashes are
    backslash-escaped), nor a table cell break (`|`)."""
    escaped = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md"] = markdown_text
    return environment


def render(data: NoteData) -> tuple[str, str]:
    """(markdown, html) of the month's note."""
    view = {
        "title": text.title(data.month),
        "month": fmt.month_key(data.month),
        "banner": text.BANNER if data.is_synthetic else None,
        "banner_detail": text.BANNER_DETAIL,
        "notice": text.partial_notice(data.figures),
        "headline": text.headline(data.figures, data.gauges, data.operations),
        "sections": sections(data),
        "footer": text.provenance(data.publication, data.is_synthetic),
    }
    environment = _environment()
    return (environment.get_template("note.md.j2").render(view), environment.get_template("note.html.j2").render(view))
