"""The note's charts as PNG data: URIs, so the HTML is one file that opens offline and survives mail.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, so no global figure state and no
display, safe inside a Dagster worker. Every chart has a title, axis labels with units and, for
synthetic data, a watermark that stays on the image wherever it is copied.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import date

import pandas as pd
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from orchestration.note import formatting as fmt
from orchestration.note.data import Gauge, Miner

WIDTH_INCHES = 10
DPI = 110
BLUE, ORANGE, RED, GREEN, GREY = "#1f5f9f", "#d9822b", "#c0392b", "#2e8b57", "#666666"
PLAIN_NUMBER = ticker.StrMethodFormatter("{x:,g}")  # 20, 2.5, 100,000: no needless decimals


@dataclass(frozen=True)
class Chart:
    title: str
    caption: str
    data_uri: str


def _figure(height_inches: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_INCHES, height_inches), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _to_data_uri(figure: Figure, axes: Axes, synthetic: bool) -> str:
    if synthetic:
        axes.text(
            0.5,
            0.5,
            "SYNTHETIC DEMO DATA",
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontsize=34,
            color=RED,
            alpha=0.12,
            rotation=15,
            zorder=0,
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _time_axis(axes: Axes) -> None:
    locator = mdates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.set_xlabel("month")
    axes.grid(alpha=0.3)


def _two_scales(
    history: pd.DataFrame,
    left: tuple[str, str, str],
    right: tuple[str, str, str],
    title: str,
    synthetic: bool,
    scale_left: float = 1.0,
) -> str:
    """Two monthly series on their own y axes; each tuple is (column, legend label, axis label)."""
    figure, axes = _figure(4.2)
    (left_column, left_label, left_axis), (right_column, right_label, right_axis) = left, right
    (left_line,) = axes.plot(history.index, history[left_column] / scale_left, color=BLUE, lw=2, label=left_label)
    other = axes.twinx()
    (right_line,) = other.plot(history.index, history[right_column], color=ORANGE, lw=2, label=right_label)
    axes.set_ylabel(left_axis, color=BLUE)
    other.set_ylabel(right_axis, color=ORANGE)
    axes.yaxis.set_major_formatter(PLAIN_NUMBER)
    other.yaxis.set_major_formatter(PLAIN_NUMBER)
    _time_axis(axes)
    axes.set_title(title, loc="left", fontweight="bold")
    figure.legend(handles=[left_line, right_line], loc="outside lower center", ncols=2, frameon=False)
    return _to_data_uri(figure, axes, synthetic)


def market_cap_chart(history: pd.DataFrame, synthetic: bool) -> Chart:
    title = "Combined market cap of the listed miners against the bitcoin price"
    uri = _two_scales(
        history,
        ("combined_market_cap_usd", "combined market cap (left)", "combined market cap (USD bn)"),
        ("btc_price_month_end_usd", "bitcoin price, month end (right)", "bitcoin price, 7-day avg at month end (USD)"),
        title,
        synthetic,
        scale_left=1e9,
    )
    return Chart(title, "Month-end values: market caps on the last trading day, bitcoin as its 7-day average.", uri)


def network_chart(history: pd.DataFrame, synthetic: bool) -> Chart:
    title = "Hashrate and hashprice"
    uri = _two_scales(
        history,
        ("hashrate_avg_ehs", "hashrate, monthly average (left)", "hashrate (EH/s)"),
        ("hashprice_usd_per_ehs_day", "hashprice, monthly average (right)", "hashprice (USD per EH/s per day)"),
        title,
        synthetic,
    )
    return Chart(title, "Hashprice: miner revenue (subsidy + fees) in USD per EH/s of hashrate per day.", uri)


def gauge_chart(gauge: Gauge, month: date, synthetic: bool, caption: str | None = None) -> Chart:
    title = gauge.name
    figure, axes = _figure(4.0)
    axes.plot(gauge.history.index, gauge.history, color=BLUE, lw=2, label="monthly ratio")
    if gauge.average is not None:
        axes.axhline(gauge.average, color=GREY, ls="--", lw=1.2, label=f"average to date {fmt.ratio(gauge.average)}")
    if gauge.peak is not None and gauge.peak_month is not None:
        axes.plot(
            [pd.Timestamp(gauge.peak_month)],
            [gauge.peak],
            "o",
            color=RED,
            ms=8,
            label=f"peak {fmt.ratio(gauge.peak)} ({fmt.month_key(gauge.peak_month)})",
        )
    if gauge.ratio is not None:
        axes.plot(
            [pd.Timestamp(month)],
            [gauge.ratio],
            "D",
            color=ORANGE,
            ms=7,
            label=f"{fmt.month_key(month)}: {fmt.ratio(gauge.ratio)}",
        )
    axes.set_ylabel("ratio (x)")
    axes.margins(y=0.12)
    axes.set_ylim(bottom=0)
    _time_axis(axes)
    axes.set_title(title, loc="left", fontweight="bold")
    figure.legend(loc="outside lower center", ncols=4, frameon=False)
    return Chart(
        title,
        caption
        or f"The miners' combined market cap divided by the {gauge.denominator} at the month-end "
        "bitcoin price, every month of the history.",
        _to_data_uri(figure, axes, synthetic),
    )


def multiple_chart(gauge: Gauge, month: date, synthetic: bool) -> Chart | None:
    """JPMorgan's multiple against its history, drawn as the gauges are; None without any month of it."""
    if gauge.history.count() == 0:
        return None
    return gauge_chart(
        gauge,
        month,
        synthetic,
        caption="The market cap of the miners that reported operations divided by their proportional share "
        "(their share of the network's hashrate) of the next four years' block rewards at the month-end "
        "bitcoin price, every month with reports.",
    )


def share_chart(share: pd.Series, month: date, synthetic: bool) -> Chart | None:
    """The reporting members' share of the network's hashrate per month; None without any month of it."""
    if share.count() == 0:
        return None
    title = "Listed miners' share of the network's hashrate"
    figure, axes = _figure(4.0)
    axes.plot(share.index, share, color=BLUE, lw=2, label="share of the members that reported operations")
    current = share.get(pd.Timestamp(month))
    if current is not None and pd.notna(current):
        axes.plot(
            [pd.Timestamp(month)],
            [current],
            "D",
            color=ORANGE,
            ms=7,
            label=f"{fmt.month_key(month)}: {fmt.share(float(current))}",
        )
    axes.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1.0))
    axes.set_ylabel("share of the network's hashrate (%)")
    axes.set_ylim(0, max(float(share.max()) * 1.15, 0.01))  # from zero, the latest month clear of the top
    _time_axis(axes)
    axes.set_title(title, loc="left", fontweight="bold")
    figure.legend(loc="outside lower center", ncols=2, frameon=False)
    return Chart(
        title,
        "The operating hashrate the member miners reported, summed, over the network's monthly average "
        "hashrate; the miners counted are those that reported that month. A month without reports is a gap.",
        _to_data_uri(figure, axes, synthetic),
    )


RETURNS_CHART_ENDS = 15  # beyond twice this many miners, the chart shows the best and the worst


def leaders_and_laggards(ranked: list[Miner], ends: int = RETURNS_CHART_ENDS) -> list[Miner]:
    """The miners the returns chart shows, best first: all of them up to 2 x `ends`, else the
    `ends` best and the `ends` worst (a bar per miner for hundreds of miners is unreadable and
    slow to draw; the note's table lists every one)."""
    return ranked if len(ranked) <= 2 * ends else ranked[:ends] + ranked[-ends:]


def returns_chart(miners: list[Miner], month: date, synthetic: bool) -> Chart | None:
    ranked = [miner for miner in miners if miner.monthly_return is not None]  # by rank, best first
    if not ranked:
        return None
    shown = leaders_and_laggards(ranked)
    title = f"Return by miner, {fmt.month_name(month)}"
    if len(shown) < len(ranked):
        title += f": the {RETURNS_CHART_ENDS} best and {RETURNS_CHART_ENDS} worst of {len(ranked):,}"
    bottom_up = shown[::-1]  # best at the top of a horizontal bar chart
    figure, axes = _figure(1.2 + 0.38 * len(bottom_up))
    returns = [miner.monthly_return for miner in bottom_up]
    bars = axes.barh(
        [miner.ticker for miner in bottom_up], returns, color=[GREEN if value >= 0 else RED for value in returns]
    )
    axes.bar_label(bars, labels=[fmt.change(value) for value in returns], padding=4, fontsize=9)
    axes.axvline(0, color=GREY, lw=0.8)
    axes.xaxis.set_major_formatter(ticker.PercentFormatter(xmax=1.0, decimals=0))
    axes.margins(x=0.15)
    axes.set_xlabel("return in the month (%, split-adjusted)")
    axes.set_ylabel("miner (ticker)")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(title, loc="left", fontweight="bold")
    return Chart(
        title,
        "Month-end close over the previous month-end close, split-adjusted.",
        _to_data_uri(figure, axes, synthetic),
    )
