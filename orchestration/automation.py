"""What runs across the stages: the build_and_publish job, its two schedules and the sensor that
renders a month's note after a scheduled publish. All off by default: a user turns them on in the UI."""

from datetime import date, datetime

import dagster as dg

from orchestration.note.asset import publish_note

build_and_publish = dg.define_asset_job(
    name="build_and_publish",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("note"),
    description=(
        "Load the raw datasets for the run's months, rebuild and test every dbt model, run the quality "
        "gate, publish. `make run` runs it over every month in one run."
    ),
)


def month_partition(moment: datetime, months_back: int = 0) -> str:
    """The monthly partition key of `moment`'s month, or of a month before it."""
    index = moment.year * 12 + moment.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1).isoformat()


@dg.schedule(
    job=build_and_publish,
    cron_schedule="0 6 2 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "On the 2nd of each month at 06:00 UTC: reload the month that has just closed, rebuild, check, publish."
    ),
)
def monthly_publish(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    closed = month_partition(context.scheduled_execution_time, months_back=1)
    return dg.RunRequest(run_key=closed, partition_key=closed)


@dg.schedule(
    job=build_and_publish,
    cron_schedule="0 7 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every day at 07:00 UTC: reload the current, still open month and republish (flagged partial).",
)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    moment = context.scheduled_execution_time
    current = month_partition(moment)
    return dg.RunRequest(run_key=f"{current}@{moment:%Y-%m-%d}", partition_key=current)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[build_and_publish],
    request_job=publish_note,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After a successful single-month build_and_publish run (the schedules), render that month's note.",
)
def note_after_publish(context: dg.RunStatusSensorContext):
    month = context.dagster_run.tags.get("dagster/partition")
    if month is None:
        return dg.SkipReason("a multi-month run (make run, a backfill): render notes with `make note`")
    return dg.RunRequest(run_key=f"{month}@{context.dagster_run.run_id}", partition_key=month)
