"""The publish asset refuses a build whose data has not passed every blocking check upstream,
whatever the run selected (Dagster's blocking checks only stop what runs after them in one run)."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from orchestration.defs.publish import blocking_checks_upstream, gate_problems

RAW = dg.AssetKey(["raw", "equity_prices"])
MART = dg.AssetKey(["marts", "mart_monthly_note"])
RAW_CHECK = dg.AssetCheckKey(RAW, "gx_raw.equity_prices")
MART_CHECK = dg.AssetCheckKey(MART, "gx_mart_monthly_note")
CHECKS = {RAW_CHECK: RAW, MART_CHECK: MART}


def test_publication_requires_every_blocking_check_upstream_of_the_marts():
    from orchestration.defs.dbt_assets import mart_keys, warehouse_dbt_assets
    from orchestration.defs.quality import GX_CHECKS
    from orchestration.defs.raw_assets import RAW_ASSETS

    checks = blocking_checks_upstream([*RAW_ASSETS, warehouse_dbt_assets, *GX_CHECKS], mart_keys())
    gx = {spec.key for gate in GX_CHECKS for spec in gate.check_specs}
    assert gx <= set(checks)  # every suite, raw and marts
    assert {key.asset_key.path[0] for key in checks} >= {"raw", "staging", "intermediate", "facts", "marts"}
    dbt_blocking = {spec.key for spec in warehouse_dbt_assets.check_specs if spec.blocking}
    assert len(dbt_blocking & set(checks)) > 40
    assert all(checks[key] == key.asset_key for key in checks)
    assert blocking_checks_upstream([*RAW_ASSETS, *GX_CHECKS], [RAW]) == {RAW_CHECK: RAW}


def materialised(instance, key):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))


def evaluated(instance, check, passed=True, severity=dg.AssetCheckSeverity.ERROR):
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(asset_key=check.asset_key, check_name=check.name, passed=passed, severity=severity)
    )


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def test_checks_that_passed_after_their_assets_were_built_clear_the_build(instance):
    for key, check in ((RAW, RAW_CHECK), (MART, MART_CHECK)):
        materialised(instance, key)
        evaluated(instance, check)
    assert gate_problems(instance, CHECKS) == []


def test_a_warning_does_not_block(instance):
    materialised(instance, MART)
    evaluated(instance, MART_CHECK, passed=False, severity=dg.AssetCheckSeverity.WARN)
    assert gate_problems(instance, {MART_CHECK: MART}) == []


def test_never_evaluated_failed_and_stale_checks_are_named(instance):
    materialised(instance, RAW)
    evaluated(instance, RAW_CHECK, passed=False)  # the raw gate refused the load
    problems = gate_problems(instance, CHECKS)
    assert problems[0].startswith("marts/mart_monthly_note:gx_mart_monthly_note: never evaluated")
    assert problems[1].startswith("raw/equity_prices:gx_raw.equity_prices: failed in run")

    evaluated(instance, RAW_CHECK)  # checked again, passed ...
    materialised(instance, RAW)  # ... then reloaded without the check
    assert gate_problems(instance, {RAW_CHECK: RAW}) == [
        "raw/equity_prices:gx_raw.equity_prices: raw/equity_prices was materialised again in run  "
        "after the check last ran (run )"  # runless events have an empty run id
    ]


def publish_alone(settings, instance) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("build_and_publish")
    return job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("published_warehouse")], raise_on_error=False
    )


def copy_warehouse(settings, tmp_path):
    from orchestration.settings import Settings

    copy = Settings(warehouse_dir=tmp_path / "warehouse", source="demo")
    copy.warehouse_dir.mkdir()
    for path in (settings.build_db, settings.published_db):
        shutil.copyfile(path, copy.warehouse_dir / path.name)
    return copy


def test_publishing_alone_republishes_a_build_that_passed(demo_run, tmp_path):
    _, settings, instance = demo_run  # the session's full run evaluated every check
    copy = copy_warehouse(settings, tmp_path)
    result = publish_alone(copy, instance)
    assert result.success
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [dg.AssetKey("published_warehouse")]


def test_publishing_alone_refuses_a_build_no_gate_passed(demo_run, tmp_path):
    """The build file's data was never checked in this instance (as after a run whose raw gate
    failed): nothing is published, and the failure says which checks are missing."""
    copy = copy_warehouse(demo_run[1], tmp_path)
    before = copy.published_db.read_bytes()
    with dg.DagsterInstance.ephemeral() as fresh:
        result = publish_alone(copy, fresh)
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error.message
    from orchestration.defs.dbt_assets import mart_keys, warehouse_dbt_assets
    from orchestration.defs.quality import GX_CHECKS
    from orchestration.defs.raw_assets import RAW_ASSETS

    n = len(blocking_checks_upstream([*RAW_ASSETS, warehouse_dbt_assets, *GX_CHECKS], mart_keys()))
    assert f"not published: {n} of {n} blocking checks have not passed" in failure
    assert failure.count(": never evaluated") == 5 and f"and {n - 5} more" in failure
    assert copy.published_db.read_bytes() == before
