"""The NYSE calendar seed is the calendar: generated, and regenerated when the calendar changes."""

from __future__ import annotations

import csv

from orchestration import nyse_calendar


def seed_sessions() -> list[str]:
    with nyse_calendar.SESSIONS_SEED.open(newline="") as handle:
        return [row["session"] for row in csv.DictReader(handle)]


def test_the_sessions_seed_is_what_the_calendar_gives(tmp_path):
    fresh = tmp_path / "nyse_sessions.csv"
    nyse_calendar.write_sessions_seed(fresh)
    assert nyse_calendar.SESSIONS_SEED.read_text() == fresh.read_text(), (
        "seeds/nyse_sessions.csv is stale: run .venv/bin/python -m orchestration.nyse_calendar"
    )


def test_sessions_skip_weekends_and_holidays():
    sessions = seed_sessions()
    assert sessions[0] == "2009-01-02" and sessions[-1] == "2040-12-31"
    assert len(sessions) == len(set(sessions)) and sessions == sorted(sessions)
    last = {}
    for day in sessions:
        last[day[:7]] = day
    assert last["2024-03"] == "2024-03-28"  # Good Friday 03-29, then a weekend
    assert last["2027-05"] == "2027-05-28"  # Memorial Day is Monday 05-31
    assert last["2025-06"] == "2025-06-30"  # a Monday, a session
    assert "2025-01-09" not in sessions  # closed for President Carter's funeral


def test_holidays_are_weekday_closures():
    holidays = {f"{day:%Y-%m-%d}" for day in nyse_calendar.holidays()}
    assert {"2024-03-29", "2024-12-25", "2025-01-09"} <= holidays  # Good Friday, Christmas, Carter's funeral
    assert "2024-03-30" not in holidays  # a Saturday is no holiday, just no session
