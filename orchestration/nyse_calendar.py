"""The NYSE trading calendar (exchange_calendars' XNYS), as the warehouse's reference data.

SQL cannot know NYSE holidays, so what the models and checks need of the calendar comes from here:
the weekday closures, a GX parameter of the raw equity suite (no close on a holiday), and the last
scheduled session of every month, the dbt seed `seeds/nyse_month_ends.csv` (a month whose data
ends before that session is a partial month). The seed is generated, never edited by hand:
`.venv/bin/python -m orchestration.nyse_calendar` rewrites it, and a test fails when it differs
from the calendar (an exchange_calendars upgrade that adds a closure).
"""

from __future__ import annotations

import csv
import sys
from functools import lru_cache
from pathlib import Path

import pandas as pd

from orchestration.settings import REPO_ROOT

FIRST_DAY, LAST_DAY = "2009-01-01", "2040-12-31"
MONTH_ENDS_SEED = REPO_ROOT / "seeds" / "nyse_month_ends.csv"


@lru_cache(maxsize=1)
def sessions() -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start=FIRST_DAY, end=LAST_DAY).sessions


@lru_cache(maxsize=1)
def holidays() -> list:
    """Weekdays FIRST_DAY..LAST_DAY on which the NYSE is closed (holidays and special closures)."""
    return list(pd.bdate_range(FIRST_DAY, LAST_DAY).difference(sessions()))


def month_ends() -> list[tuple[str, str]]:
    """(first day of the month, its last scheduled session), both ISO dates, per month."""
    days = pd.Series(sessions(), index=sessions())
    last = days.groupby(days.index.to_period("M")).max()
    return [(f"{period.start_time:%Y-%m-%d}", f"{day:%Y-%m-%d}") for period, day in last.items()]


def write_month_ends_seed(path: Path = MONTH_ENDS_SEED) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["month", "last_session"])
        writer.writerows(month_ends())


if __name__ == "__main__":
    write_month_ends_seed(Path(sys.argv[1]) if len(sys.argv) > 1 else MONTH_ENDS_SEED)
    print(f"wrote {sys.argv[1] if len(sys.argv) > 1 else MONTH_ENDS_SEED}")
