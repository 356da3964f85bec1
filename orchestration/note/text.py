"""The headline paragraph, written from the numbers.

Pure functions of the month's figures, so each wording rule is easy to test: a change is a verb
("rose 6.0%", "fell 12.3%", "was unchanged"), never a signed number in prose; a missing value drops
its clause; missing changes are named once, with the reason when the data shows it.
"""

from __future__ import annotations

from datetime import date

from orchestration.note import formatting as fmt
from orchestration.note.data import Figures, Gauge, Operations, Publication


def _previous_calendar_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def join_clauses(clauses: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'"""
    return clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]


def _sentence(clauses: list[str | None]) -> str | None:
    present = [clause for clause in clauses if clause]
    if not present:
        return None
    text = join_clauses(present)
    return text[0].upper() + text[1:] + "."


def movement(subject: str, value: str, change: float | None) -> str:
    """'hashprice fell 20.1% to $45,200 per EH/s per day'; without a change, 'hashprice was ...'."""
    if change is None:
        return f"{subject} was {value}"
    if fmt.is_unchanged(change):
        return f"{subject} was unchanged at {value}"
    verb = "rose" if change > 0 else "fell"
    return f"{subject} {verb} {fmt.size_of_change(change)} to {value}"


def _moved(subject: str, value: float | None, change: float | None, render) -> str | None:
    return None if value is None else movement(subject, render(value), change)


def market_sentence(f: Figures) -> str:
    month = fmt.month_name(f.month)
    if f.combined_market_cap_usd is None:
        return f"In {month} no tracked miner had a month-end market cap."
    subject = (
        "the market cap of the one listed miner"
        if f.miner_count == 1
        else f"the combined market cap of the {f.miner_count} listed miners"
    )
    text = f"In {month} " + movement(subject, fmt.usd_large(f.combined_market_cap_usd), f.combined_market_cap_mom)
    like_for_like = f.combined_market_cap_like_for_like_mom
    if like_for_like is not None and fmt.change(like_for_like) != fmt.change(f.combined_market_cap_mom):
        direction = (
            "unchanged"
            if fmt.is_unchanged(like_for_like)
            else (f"{'up' if like_for_like > 0 else 'down'} {fmt.size_of_change(like_for_like)}")
        )
        text += f" ({direction} like for like, counting only the miners listed in both months)"
    if f.members_without_market_cap:
        missing = f.members_without_market_cap
        one = ", " not in missing
        text += (
            f"; {f.members_with_market_cap} of the {f.miner_count} members have a market cap ({missing} "
            f"{'has' if one else 'have'} no shares report and {'is' if one else 'are'} left out)"
        )
    return text + "."


def bitcoin_sentence(f: Figures) -> str | None:
    return _sentence(
        [
            _moved("bitcoin's average price", f.btc_price_avg_usd, f.btc_price_avg_mom, fmt.usd),
            _moved(
                "its month-end price (7-day average)", f.btc_price_month_end_usd, f.btc_price_month_end_mom, fmt.usd
            ),
        ]
    )


def network_sentence(f: Figures) -> str | None:
    return _sentence(
        [
            _moved("average hashrate", f.hashrate_avg_ehs, f.hashrate_avg_mom, fmt.hashrate),
            _moved("average difficulty", f.difficulty_avg, f.difficulty_avg_mom, fmt.difficulty),
            _moved("hashprice", f.hashprice_usd_per_ehs_day, f.hashprice_mom, fmt.hashprice),
        ]
    )


def performance(fraction: float) -> str:
    """'gaining 5.4%', 'losing 25.0%', 'flat'"""
    if fmt.is_unchanged(fraction):
        return "flat"
    return f"{'gaining' if fraction > 0 else 'losing'} {fmt.size_of_change(fraction)}"


def leaders_sentence(f: Figures) -> str | None:
    if f.leader_ticker is None or f.leader_return is None:
        return None
    if f.leader_ticker == f.laggard_ticker:
        return f"{f.leader_ticker} was the only miner with a return for the month, {performance(f.leader_return)}."
    text = f"{f.leader_ticker} led, {performance(f.leader_return)}"
    if f.laggard_ticker is not None and f.laggard_return is not None:
        text += f"; {f.laggard_ticker} lagged, {performance(f.laggard_return)}"
    return text + "."


def gauge_clause(gauge: Gauge, month: date) -> str | None:
    """'0.262x the value of the bitcoin left to mine (below its average of 0.301x; peak 0.512x in November 2021)'"""
    if gauge.ratio is None:
        return None
    if gauge.history.count() <= 1:  # its first month: nothing to compare with yet
        return f"{fmt.ratio(gauge.ratio)} the {gauge.denominator}"
    history = []
    if gauge.average is not None:
        shown, average = fmt.ratio(gauge.ratio), fmt.ratio(gauge.average)
        position = "at" if shown == average else ("above" if gauge.ratio > gauge.average else "below")
        history.append(f"{position} its average of {average}")
    if gauge.peak_month == month:
        history.append("a new peak")
    elif gauge.peak is not None and gauge.peak_month is not None:
        history.append(f"peak {fmt.ratio(gauge.peak)} in {fmt.month_name(gauge.peak_month)}")
    detail = f" ({'; '.join(history)})" if history else ""
    return f"{fmt.ratio(gauge.ratio)} the {gauge.denominator}{detail}"


def gauges_sentence(gauges: tuple[Gauge, ...], month: date) -> str | None:
    clauses = [clause for clause in (gauge_clause(gauge, month) for gauge in gauges) if clause]
    if not clauses:
        return None
    return f"The combined market cap was {join_clauses(clauses)}."


def multiple_history(gauge: Gauge, month: date) -> str:
    """' (peak 4.10x in March 2024, average 2.00x)'; '' in the gauge's first month."""
    if gauge.history.count() <= 1:  # its first month: nothing to compare with yet
        return ""
    history = []
    if gauge.peak_month == month:
        history.append("a new peak")
    elif gauge.peak is not None and gauge.peak_month is not None:
        history.append(f"peak {fmt.ratio(gauge.peak)} in {fmt.month_name(gauge.peak_month)}")
    if gauge.average is not None:
        history.append(f"average {fmt.ratio(gauge.average)}")
    return f" ({', '.join(history)})" if history else ""


def operations_sentence(f: Figures, operations: Operations) -> str | None:
    """'The 14 reporting miners ran 21.8% of the network's hashrate; their market cap was 2.30x their
    proportional share of the next four years' block rewards (peak 4.10x in March 2024, average 2.00x).'
    With fewer reports than members it says how many of them reported; None without any report."""
    if not operations.available:
        return None
    reported = operations.coverage
    coverage = (
        f" ({reported} of {operations.member_count} members reported operations)"
        if reported < operations.member_count
        else ""
    )
    subject = "the one reporting miner" if reported == 1 else f"the {reported} reporting miners"
    multiple = operations.multiple
    valuation = (
        None
        if multiple.ratio is None
        else f"{fmt.ratio(multiple.ratio)} {'its' if reported == 1 else 'their'} {multiple.denominator}"
        + multiple_history(multiple, f.month)
    )
    if f.listed_hashrate_share is not None:
        text = f"{subject} ran {fmt.share(f.listed_hashrate_share)} of the network's hashrate{coverage}"
        if valuation:
            text += f"; {'its' if reported == 1 else 'their'} market cap was {valuation}"
    elif valuation:
        text = f"the market cap of {subject}{coverage} was {valuation}"
    else:
        text = f"{reported} of {operations.member_count} members reported operations"
    return text[0].upper() + text[1:] + "."


def operations_unavailable(f: Figures, operations: Operations) -> str | None:
    """The Operations section's one sentence when no member of the month reported; None when one did."""
    if operations.available:
        return None
    if operations.months_with_operations == 0:
        return "Operations figures are not available because no miner operations were loaded."
    return (
        f"Operations figures are not available for {fmt.month_name(f.month)} because no member reported "
        "operations for the month."
    )


def _missing_change_reason(f: Figures) -> str | None:
    prior = _previous_calendar_month(f.month)
    if f.previous_month is None:
        return "there is no prior month to compare with"
    if f.previous_month != prior:
        return f"there is no data for {fmt.month_name(prior)} to compare with"
    if f.is_partial_month:
        return f"the data for {fmt.month_name(f.month)} is incomplete"
    if f.previous_is_partial_month:
        return f"the data for {fmt.month_name(prior)} is incomplete"
    return None


def missing_changes_sentence(f: Figures) -> str | None:
    """Names the figures shown without a month-over-month change, once, and why when known."""
    measured = {
        "the combined market cap": (f.combined_market_cap_usd, f.combined_market_cap_mom),
        "bitcoin's average price": (f.btc_price_avg_usd, f.btc_price_avg_mom),
        "bitcoin's month-end price": (f.btc_price_month_end_usd, f.btc_price_month_end_mom),
        "hashrate": (f.hashrate_avg_ehs, f.hashrate_avg_mom),
        "difficulty": (f.difficulty_avg, f.difficulty_avg_mom),
        "hashprice": (f.hashprice_usd_per_ehs_day, f.hashprice_mom),
    }
    shown = [name for name, (value, _) in measured.items() if value is not None]
    missing = [name for name, (value, change) in measured.items() if value is not None and change is None]
    if not missing:
        return None
    reason = _missing_change_reason(f)
    if missing == shown:
        text = "No month-over-month changes are given"
    else:
        text = f"No month-over-month change is given for {join_clauses(missing)}"
    return f"{text}: {reason}." if reason else f"{text}."


def headline(f: Figures, gauges: tuple[Gauge, ...], operations: Operations) -> str:
    """The note's opening paragraph."""
    sentences = [
        market_sentence(f),
        operations_sentence(f, operations),
        bitcoin_sentence(f),
        network_sentence(f),
        leaders_sentence(f),
        gauges_sentence(gauges, f.month),
        missing_changes_sentence(f),
    ]
    return " ".join(sentence for sentence in sentences if sentence)


BANNER = "SYNTHETIC DEMO DATA - not market data"
BANNER_DETAIL = (
    "Every number below comes from the demo source's generator: the tickers are real miners, "
    "their prices, share counts, operations, balance sheets and the chain figures are not."
)


def title(month: date) -> str:
    return f"Bitcoin-miner equities: {fmt.month_name(month)}"


def partial_notice(f: Figures) -> str | None:
    if not f.is_partial_month:
        return None
    return (
        f"{fmt.month_name(f.month)} is a partial month: the data does not cover every day of it, "
        "so its figures do not compare with a full month's."
    )


def provenance(publication: Publication, synthetic: bool) -> str:
    """The footer: where the numbers come from and as of when."""
    # the publication names a synthetic source 'demo (SYNTHETIC)': the banner says it once, in full
    source = f"{publication.source.removesuffix(' (SYNTHETIC)')} ({BANNER})" if synthetic else publication.source
    months = f"{fmt.month_key(publication.first_month)} .. {fmt.month_key(publication.last_month)}"
    return (
        f"Data source: {source}. Published {publication.published_at:%Y-%m-%d %H:%M} UTC "
        f"(run {publication.run_id}, months {months}). Quality gate: {publication.gate_result}."
    )
