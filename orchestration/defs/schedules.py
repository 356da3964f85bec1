"""Jobs and schedules. The schedule is off by default: a user turns it on in the UI."""

from __future__ import annotations

import dagster as dg

build_and_publish = dg.define_asset_job(
    name="build_and_publish",
    selection=dg.AssetSelection.all(),
    description="Load every raw dataset, build and test the dbt models, run the quality gate, publish.",
)

monthly_publish = dg.ScheduleDefinition(
    name="monthly_publish",
    job=build_and_publish,
    cron_schedule="0 6 2 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="On the 2nd of each month at 06:00 UTC, once the previous month has closed.",
)
