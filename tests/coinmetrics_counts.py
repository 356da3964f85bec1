"""Coin Metrics' answer to the block-height request (BlkCnt only, genesis day .. the day before a
range), built in the API's own shape: `{"data": [{"asset": "btc", "time": "...T00:00:00.000000000Z",
"BlkCnt": "144"}, ...]}`, values as strings, one row per day from 2009-01-03.

Built, not recorded: the counts are made up (block 0 on the genesis day, none until 2009-01-09, as on
the real chain, then an even spread), all that is real is their total, chosen so that the heights of
the reference data come out (2024-04-18 ends at 839,852: 839,708 blocks, heights 0..839,707, before
it). About 5,600 rows, so it is made in the test rather than kept as a 400 kB file.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

GENESIS_DAY = date(2009, 1, 3)
FIRST_BLOCK_AFTER_GENESIS = date(2009, 1, 9)
BLOCKS_BEFORE_2024_04_18 = 839_708


def daily_counts(day_before: date, blocks: int) -> list[tuple[date, int]]:
    """(day, BlkCnt) from the genesis day to `day_before`, summing to `blocks`."""
    days = [GENESIS_DAY + timedelta(days=n) for n in range((day_before - GENESIS_DAY).days + 1)]
    mining = [day for day in days if day >= FIRST_BLOCK_AFTER_GENESIS]
    share, extra = divmod(blocks - 1, len(mining))
    counts = {GENESIS_DAY: 1}
    for index, day in enumerate(mining):
        counts[day] = share + (1 if index < extra else 0)
    return [(day, counts.get(day, 0)) for day in days]


def blkcnt_body(day_before: date, blocks: int = BLOCKS_BEFORE_2024_04_18) -> str:
    data = [
        {"asset": "btc", "time": f"{day}T00:00:00.000000000Z", "BlkCnt": str(count)}
        for day, count in daily_counts(day_before, blocks)
    ]
    return json.dumps({"data": data})
