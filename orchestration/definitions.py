"""The one Definitions object: `make run`, `make ui` and the tests all load this."""

from orchestration.settings import Settings, load_settings, prepare_environment

prepare_environment()

import dagster as dg  # noqa: E402

from orchestration.defs.dbt_assets import warehouse_dbt_assets  # noqa: E402
from orchestration.defs.note import monthly_note, note_after_publish, publish_note  # noqa: E402
from orchestration.defs.publish import published_warehouse  # noqa: E402
from orchestration.defs.quality import GX_CHECKS  # noqa: E402
from orchestration.defs.raw_assets import LOAD_LOG, RAW_ASSETS  # noqa: E402
from orchestration.defs.resources import build_resources  # noqa: E402
from orchestration.defs.schedules import build_and_publish, daily_refresh, monthly_publish  # noqa: E402


def build_definitions(settings: Settings) -> dg.Definitions:
    """The asset graph bound to one warehouse folder and source (what the environment selects)."""
    return dg.Definitions(
        assets=[*RAW_ASSETS, LOAD_LOG, warehouse_dbt_assets, published_warehouse, monthly_note],
        asset_checks=GX_CHECKS,
        jobs=[build_and_publish, publish_note],
        schedules=[monthly_publish, daily_refresh],
        sensors=[note_after_publish],
        resources=build_resources(settings),
        # DuckDB allows one writer per file: steps run one after another in a single process.
        executor=dg.in_process_executor,
    )


defs = build_definitions(load_settings())
