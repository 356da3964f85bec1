"""Numbers in the note's house style, shared by the prose, the tables and the chart labels.

One formatter per kind of quantity, so a figure reads the same wherever it appears and the Markdown
can be parsed back (tests compare every printed number with the mart). A missing value prints as
MISSING; the prose never formats one (text.py leaves it out instead).
"""

from __future__ import annotations

import functools
import math
from datetime import date

MISSING = "n/a"


def _or_missing(render):
    @functools.wraps(render)
    def formatter(value):
        return MISSING if value is None else render(value)

    return formatter


def _percent_points(fraction: float) -> float:
    """Fraction -> percent rounded to one decimal, with no negative zero."""
    return round(fraction * 100, 1) + 0.0


@_or_missing
def usd(value: float) -> str:
    """$66,123"""
    return f"${value:,.0f}"


@_or_missing
def usd_cents(value: float) -> str:
    """$12.34 (share prices)"""
    return f"${value:,.2f}"


@_or_missing
def usd_large(value: float) -> str:
    """$21.45 bn, $456.7 m"""
    return f"${value / 1e9:,.2f} bn" if abs(value) >= 1e9 else f"${value / 1e6:,.1f} m"


@_or_missing
def change(fraction: float) -> str:
    """+6.0%, -12.3% (a signed change or return; 0.06 = +6%)"""
    return f"{_percent_points(fraction):+.1f}%"


@_or_missing
def size_of_change(fraction: float) -> str:
    """12.3% (the size of a change, for prose that says 'fell' or 'rose')"""
    return f"{abs(_percent_points(fraction)):.1f}%"


def is_unchanged(fraction: float) -> bool:
    """True when a change prints as 0.0%."""
    return _percent_points(fraction) == 0


@_or_missing
def ratio(value: float) -> str:
    """0.262x, 1.90x (three significant figures, trailing zeros kept)"""
    return f"{value:#.3g}".rstrip(".") + "x"


@_or_missing
def share(fraction: float) -> str:
    """21.8% (a share of a whole; 0.218 = 21.8%)"""
    return f"{_percent_points(fraction):.1f}%"


@_or_missing
def points(fraction: float) -> str:
    """+0.4 pts, -1.2 pts (a change of a share, in percentage points; 0.004 = +0.4 pts)"""
    return f"{_percent_points(fraction):+.1f} pts"


@_or_missing
def btc(value: float) -> str:
    """1,234 BTC"""
    return f"{value:,.0f} BTC"


@_or_missing
def btc_per_ehs_day(value: float) -> str:
    """0.752, 2.41, 30.1, 1,234 (BTC per EH/s per day: three significant figures, at most three decimals;
    the unit is in the header)"""
    digits = 0 if value == 0 else math.floor(math.log10(abs(value)))
    return f"{value:,.{min(3, max(0, 2 - digits))}f}"


@_or_missing
def usd_millions(value: float) -> str:
    """$21.4 m, $1,234.5 m (always in millions, so a column of them compares at a glance)"""
    return f"${value / 1e6:,.1f} m"


@_or_missing
def hashrate(value: float) -> str:
    """580.3 EH/s"""
    return f"{value:,.1f} EH/s"


@_or_missing
def difficulty(value: float) -> str:
    """83.15 T (trillions)"""
    return f"{value / 1e12:,.2f} T"


@_or_missing
def hashprice(value: float) -> str:
    """$45,200 per EH/s per day"""
    return f"${value:,.0f} per EH/s per day"


def month_name(month: date) -> str:
    """June 2024"""
    return f"{month:%B %Y}"


def month_key(month: date | None) -> str:
    """2024-06"""
    return MISSING if month is None else f"{month:%Y-%m}"
