"""Block heights from the mempool.space REST API: the anchor that turns Coin Metrics' daily block
counts into block heights (see coinmetrics.py).

`GET /api/v1/mining/blocks/timestamp/<unix seconds>` answers `{"height", "hash", "timestamp"}` of
the block with the latest header timestamp at or before that second (mempool.space's backend orders
by timestamp, not height, so a block with an out-of-order timestamp is judged by its timestamp).

Terms: mempool.space's public API is free, needs no key and is rate-limited per IP; its terms of
service (https://mempool.space/terms-of-service) govern use, and heavy or commercial use is what its
paid enterprise plans are for: check them before publishing commercially. The backend is open
source (AGPL) and can be self-hosted: `base_url` points elsewhere. The live source asks it once per
btc_daily fetch, and a block height is a public fact of the chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from orchestration.raw.sources.live.http import HttpClient, json_body, require

BASE_URL = "https://mempool.space/api"


class Mempool:
    responses_dir = "mempool"

    def __init__(self, http: HttpClient, base_url: str = BASE_URL) -> None:
        self.http, self.base_url = http, base_url.rstrip("/")
        self.origin = f"mempool.space {self.base_url}/v1/mining/blocks/timestamp"

    def last_height_before(self, moment: datetime) -> int:
        """Height of the last block timestamped before `moment` (an aware UTC datetime)."""
        url = f"{self.base_url}/v1/mining/blocks/timestamp/{int(moment.timestamp()) - 1}"
        parse = partial(_parse_height, f"mempool.space block-at-timestamp ({url})")
        # The block before a past moment is settled once the day before the moment has ended.
        day_before = (moment - timedelta(days=1)).date()
        return self.http.get(self.responses_dir, url, parse=parse, covers_until=day_before).value


def _parse_height(endpoint: str, text: str) -> int:
    return int(require(json_body(endpoint, text), endpoint, "height"))
