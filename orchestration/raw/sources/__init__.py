"""Where raw rows come from: one module per source behind `RawSource` (see base.py)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from orchestration.core.settings import Settings, SettingsError
from orchestration.raw.contract import DATASETS, Dataset
from orchestration.raw.sources.base import RawSource


@lru_cache(maxsize=4)
def make_source(
    kind: str,
    warehouse_dir: str,
    csv_dir: str | None = None,
    demo_tickers: int | None = None,
    demo_years: float | None = None,
    *,
    sec_user_agent: str | None = None,
    shares_overrides: str | None = None,
    live_refresh: bool = False,
) -> RawSource:
    """The source selected by WAREHOUSE_SOURCE (one instance per process: the demo is generated once,
    live responses are cached under warehouse_dir/raw_responses). Every value comes from the
    settings (core/settings.py); no source reads the environment itself."""
    if kind == "demo":
        from orchestration.raw.sources.demo import DemoSource

        return DemoSource(tickers=demo_tickers, years=demo_years)
    if kind == "csv":
        from orchestration.raw.sources.csv_files import CsvSource

        return CsvSource(csv_dir)
    if kind == "live":
        from orchestration.raw.sources.live import LiveSource

        return LiveSource.configured(
            Path(warehouse_dir),
            sec_user_agent=sec_user_agent,
            shares_overrides=Path(shares_overrides) if shares_overrides else None,
            refresh=live_refresh,
            csv_dir=Path(csv_dir) if csv_dir else None,
        )
    raise ValueError(f"unknown source {kind!r}")


def check_source_settings(settings: Settings) -> None:
    """The selected source's own rules on its settings, checked before a run starts so that a bad
    value stops it with the variables named (SettingsError), not a step failing later. The demo
    generator's: at least the seed miners, a positive span of years."""
    if settings.source != "demo" or (settings.demo_tickers is None and settings.demo_years is None):
        return
    from orchestration.raw.sources.demo import DemoSource

    try:
        DemoSource(tickers=settings.demo_tickers, years=settings.demo_years)
    except ValueError as error:
        given = ", ".join(
            f"{name}={f'{value:g}'!r}" if value is not None else f"{name} unset"
            for name, value in (
                ("WAREHOUSE_DEMO_TICKERS", settings.demo_tickers),
                ("WAREHOUSE_DEMO_YEARS", settings.demo_years),
            )
        )
        raise SettingsError(f"{given}: {error}") from None


__all__ = ["DATASETS", "Dataset", "RawSource", "check_source_settings", "make_source"]
