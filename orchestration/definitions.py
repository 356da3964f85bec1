"""The one Definitions object: `make run`, `make ui` and the tests all load this."""

from orchestration.settings import prepare_environment

prepare_environment()

import dagster as dg  # noqa: E402

from orchestration.defs.dbt_assets import warehouse_dbt_assets  # noqa: E402
from orchestration.defs.publish import published_warehouse  # noqa: E402
from orchestration.defs.quality import GX_CHECKS  # noqa: E402
from orchestration.defs.raw_assets import LOAD_LOG, RAW_ASSETS  # noqa: E402
from orchestration.defs.resources import build_resources  # noqa: E402
from orchestration.defs.schedules import build_and_publish, daily_refresh, monthly_publish  # noqa: E402

defs = dg.Definitions(
    assets=[*RAW_ASSETS, LOAD_LOG, warehouse_dbt_assets, published_warehouse],
    asset_checks=GX_CHECKS,
    jobs=[build_and_publish],
    schedules=[monthly_publish, daily_refresh],
    resources=build_resources(),
    # DuckDB allows one writer per file: steps run one after another in a single process.
    executor=dg.in_process_executor,
)
