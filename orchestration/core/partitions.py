"""Monthly partitions: raw loads (a live source fetches only the month's range) and the note."""

from datetime import date

import dagster as dg

HISTORY_START = "2019-01-01"
HISTORY_START_DATE = date.fromisoformat(HISTORY_START)

# end_offset=1 adds the current, still open month, so a daily refresh can reload it.
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)

# A backfill over many months is one run (one transaction per raw table), not one run per month.
SINGLE_RUN = dg.BackfillPolicy.single_run()
