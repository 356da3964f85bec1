"""The NYSE trading calendar (exchange_calendars' XNYS), as the warehouse's reference data.

SQL cannot know NYSE holidays, so what the models and checks need of the calendar comes from here:
the weekday closures, a GX parameter of the raw equity suite (no close on a holiday), and every
scheduled session, the dbt seed `seeds/nyse_sessions.csv`: the last session of a month (a month
whose data ends before it is partial) and the last session on or before a date (a shares report
dated on a closed day counts from it). The seed is generated, never edited by hand:
`.venv/bin/python -m orchestration.nyse_calendar` rewrites it, and a test fails when it differs
from the calendar (an exchange_calendars upgrade that adds a closure).
"""

from __future__ import annotations

import csv
import sys
from functools import lru_cache
from pathlib import Path

import pandas as pd

from orchestration.core.paths import REPO_ROOT

FIRST_DAY, LAST_DAY = "2009-01-01", "2040-12-31"
SESSIONS_SEED = REPO_ROOT / "seeds" / "nyse_sessions.csv"


@lru_cache(maxsize=1)
def sessions() -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start=FIRST_DAY, end=LAST_DAY).sessions


@lru_cache(maxsize=1)
def holidays() -> list:
    """Weekdays FIRST_DAY..LAST_DAY on which the NYSE is closed (holidays and special closures)."""
    return list(pd.bdate_range(FIRST_DAY, LAST_DAY).difference(sessions()))


def write_sessions_seed(path: Path = SESSIONS_SEED) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["session"])
        writer.writerows([f"{day:%Y-%m-%d}"] for day in sessions())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SESSIONS_SEED
    write_sessions_seed(target)
    print(f"wrote {target}")
