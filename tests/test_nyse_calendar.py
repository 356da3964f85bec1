"""The NYSE calendar seed is the calendar: generated, and regenerated when the calendar changes."""

from __future__ import annotations

from orchestration import nyse_calendar


def test_the_month_ends_seed_is_what_the_calendar_gives(tmp_path):
    fresh = tmp_path / "nyse_month_ends.csv"
    nyse_calendar.write_month_ends_seed(fresh)
    assert nyse_calendar.MONTH_ENDS_SEED.read_text() == fresh.read_text(), (
        "seeds/nyse_month_ends.csv is stale: run .venv/bin/python -m orchestration.nyse_calendar"
    )


def test_month_ends_skip_weekends_and_holidays():
    ends = dict(nyse_calendar.month_ends())
    assert len(ends) == 32 * 12  # 2009-01 .. 2040-12
    assert ends["2024-03-01"] == "2024-03-28"  # Good Friday 03-29, then a weekend
    assert ends["2027-05-01"] == "2027-05-28"  # Memorial Day is Monday 05-31
    assert ends["2025-06-01"] == "2025-06-30"  # a Monday, a session
    assert ends["2024-06-01"] == "2024-06-28"  # 06-29/30 a weekend


def test_holidays_are_weekday_closures():
    holidays = {f"{day:%Y-%m-%d}" for day in nyse_calendar.holidays()}
    assert {"2024-03-29", "2024-12-25", "2025-01-09"} <= holidays  # Good Friday, Christmas, Carter's funeral
    assert "2024-03-30" not in holidays  # a Saturday is no holiday, just no session
