"""The `raw_source` resource: the raw-data source WAREHOUSE_SOURCE names."""

from __future__ import annotations

import dagster as dg

from orchestration.raw.sources import RawSource, make_source


class RawSourceResource(dg.ConfigurableResource):
    """The raw-data source named by WAREHOUSE_SOURCE (demo by default)."""

    kind: str = "demo"
    warehouse_dir: str
    csv_dir: str | None = None
    demo_tickers: int | None = None
    demo_years: float | None = None
    sec_user_agent: str | None = None
    shares_overrides: str | None = None
    live_refresh: bool = False

    def get(self) -> RawSource:
        return make_source(
            self.kind,
            self.warehouse_dir,
            self.csv_dir,
            self.demo_tickers,
            self.demo_years,
            sec_user_agent=self.sec_user_agent,
            shares_overrides=self.shares_overrides,
            live_refresh=self.live_refresh,
        )
