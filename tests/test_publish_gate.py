"""The publish asset refuses a build whose data has not passed every blocking check upstream,
whatever the run selected (Dagster's blocking checks only stop what runs after them in one run)."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.cli import run
from orchestration.quality.gate import blocking_checks_upstream, publication_checks, review_gate

RAW = dg.AssetKey(["raw", "equity_prices"])
MART = dg.AssetKey(["marts", "mart_monthly_note"])
RAW_CHECK = dg.AssetCheckKey(RAW, "gx_raw.equity_prices")
MART_CHECK = dg.AssetCheckKey(MART, "gx_mart_monthly_note")
MINERS = dg.AssetKey(["marts", "mart_miner_monthly"])
SPLITS = dg.AssetKey(["raw", "splits"])
UNIVERSE = dg.AssetKey(["raw", "miner_universe"])
CHECKS = {RAW_CHECK: (RAW,), MART_CHECK: (MART, MINERS)}  # the note's suite also reads the miners' mart


def problems(instance, checks=CHECKS):
    return review_gate(instance, checks).problems


def test_publication_requires_every_blocking_check_upstream_of_the_marts():
    from orchestration.quality.checks import warehouse_gx_checks
    from orchestration.raw.assets import RAW_ASSETS
    from orchestration.transform.assets import warehouse_dbt_assets

    checks = publication_checks()
    gx = {spec.key for gate in warehouse_gx_checks() for spec in gate.check_specs}
    assert gx <= set(checks)  # every suite, raw and marts
    assert {key.asset_key.path[0] for key in checks} >= {"raw", "staging", "intermediate", "facts", "marts"}
    dbt_blocking = {spec.key for spec in warehouse_dbt_assets.check_specs if spec.blocking}
    assert len(dbt_blocking & set(checks)) > 40
    assert checks[MART_CHECK] == (MART, MINERS)  # from the suite's query
    upstream = blocking_checks_upstream([*RAW_ASSETS, *warehouse_gx_checks()], [RAW])
    assert upstream == {RAW_CHECK: (RAW, SPLITS, UNIVERSE)}  # the equity suite's query reads both


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
    for key, check in ((RAW, RAW_CHECK), (MINERS, None), (MART, MART_CHECK)):
        materialised(instance, key)
        if check:
            evaluated(instance, check)
    review = review_gate(instance, CHECKS)
    assert review.problems == [] and review.warnings == []
    assert review.summary() == "passed: 2 blocking checks clear the build (0 evaluated in this run), 0 with warnings"


def test_a_warning_does_not_block_and_is_named(instance):
    materialised(instance, MART)
    evaluated(instance, MART_CHECK, passed=False, severity=dg.AssetCheckSeverity.WARN)
    review = review_gate(instance, {MART_CHECK: (MART,)})
    assert review.problems == []
    assert review.warnings == ["marts/mart_monthly_note:gx_mart_monthly_note"]


def test_never_evaluated_failed_and_stale_checks_are_named(instance):
    materialised(instance, RAW)
    evaluated(instance, RAW_CHECK, passed=False)  # the raw gate refused the load
    found = problems(instance)
    assert found[0].startswith("marts/mart_monthly_note:gx_mart_monthly_note: never evaluated")
    assert found[1].startswith("raw/equity_prices:gx_raw.equity_prices: failed in run")

    evaluated(instance, RAW_CHECK)  # checked again, passed ...
    materialised(instance, RAW)  # ... then reloaded without the check
    assert problems(instance, {RAW_CHECK: (RAW,)}) == [
        "raw/equity_prices:gx_raw.equity_prices: raw/equity_prices was materialised again in run  "
        "after the check last ran (run )"  # runless events have an empty run id
    ]


def test_a_check_is_stale_when_a_table_its_query_reads_is_rebuilt(instance):
    """The note's suite compares the note with mart_miner_monthly: rebuilding that mart (and
    checking only it) leaves the note's pass out of date."""
    materialised(instance, MART)
    evaluated(instance, MART_CHECK)
    assert problems(instance) == ["raw/equity_prices:gx_raw.equity_prices: never evaluated"]
    materialised(instance, MINERS)
    assert problems(instance, {MART_CHECK: (MART, MINERS)}) == [
        "marts/mart_monthly_note:gx_mart_monthly_note: marts/mart_miner_monthly was materialised again "
        "in run  after the check last ran (run )"
    ]


def test_a_run_that_planned_a_check_but_never_ran_it_does_not_hide_the_last_evaluation(instance):
    """A later run planned the raw check, then failed before evaluating it (its step raised):
    the data is as the last evaluation saw it, so that evaluation still decides."""
    materialised(instance, RAW)
    evaluated(instance, RAW_CHECK)

    @dg.asset(key=RAW)
    def equity_prices() -> None: ...

    @dg.asset_check(asset=RAW, name=RAW_CHECK.name, blocking=True)
    def broken() -> dg.AssetCheckResult:
        raise RuntimeError("the gate's query failed")

    result = dg.materialize(
        [equity_prices, broken], selection=dg.AssetSelection.checks(RAW_CHECK), instance=instance, raise_on_error=False
    )
    assert not result.success
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([RAW_CHECK])[RAW_CHECK]
    assert (
        latest.run_id == result.run_id and latest.event.dagster_event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    assert problems(instance, {RAW_CHECK: (RAW,)}) == []

    evaluated(instance, RAW_CHECK, passed=False)  # a real failure after it does decide
    assert problems(instance, {RAW_CHECK: (RAW,)})[0].startswith("raw/equity_prices:gx_raw.equity_prices: failed")


def publish_alone(settings, instance) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("build_and_publish")
    return job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("published_warehouse")], raise_on_error=False
    )


def copy_warehouse(settings, tmp_path):
    from orchestration.core.settings import Settings

    copy = Settings(warehouse_dir=tmp_path / "warehouse", source="demo")
    copy.warehouse_dir.mkdir()
    for path in (settings.build_db, settings.published_db):
        shutil.copyfile(path, copy.warehouse_dir / path.name)
    return copy


def test_publishing_alone_publishes_a_build_every_check_cleared(demo_run, tmp_path, instance):
    copy = copy_warehouse(demo_run[1], tmp_path)
    for check in publication_checks():
        evaluated(instance, check)
    result = publish_alone(copy, instance)
    assert result.success
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [dg.AssetKey("published_warehouse")]
    with duckdb.connect(str(copy.published_db), read_only=True) as conn:
        gate = conn.execute("select gate_result from publication_log order by published_at desc limit 1").fetchone()[0]
    expected = f"passed: {len(publication_checks())} blocking checks clear the build (0 evaluated in this run)"
    assert gate == expected + ", 0 with warnings"


def test_publishing_alone_refuses_a_build_no_gate_passed(demo_run, tmp_path):
    """The build file's data was never checked in this instance (as after a run whose raw gate
    failed): nothing is published, and the failure says which checks are missing."""
    copy = copy_warehouse(demo_run[1], tmp_path)
    before = copy.published_db.read_bytes()
    with dg.DagsterInstance.ephemeral() as fresh:
        result = publish_alone(copy, fresh)
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error.message
    n = len(publication_checks())
    assert f"not published: {n} of {n} blocking checks have not passed" in failure
    assert failure.count(": never evaluated") == 5 and f"and {n - 5} more" in failure
    assert copy.published_db.read_bytes() == before


def test_one_dagster_instance_serves_one_warehouse(tmp_path):
    """A DAGSTER_HOME shared by two warehouses would let one's checks clear the other's build: the
    first warehouse claims the instance, a run of another is refused before it writes anything."""
    from orchestration.core.instance import INSTANCE_OWNER
    from orchestration.core.settings import Settings
    from orchestration.definitions import build_resources
    from orchestration.note.asset import monthly_note
    from orchestration.raw.assets import RAW_ASSETS

    universe = next(a for a in RAW_ASSETS if dg.AssetKey(["raw", "miner_universe"]) in a.keys)
    first, second = tmp_path / "first", tmp_path / "second"

    def load(warehouse, instance):
        resources = build_resources(Settings(warehouse_dir=warehouse, source="demo"))
        return dg.materialize([universe], resources=resources, instance=instance, raise_on_error=False)

    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        assert instance.is_persistent
        assert load(first, instance).success
        refused = load(second, instance)
        assert load(first, instance).success  # its owner still runs
        note = dg.materialize([monthly_note], partition_key="2025-06-01", instance=instance, raise_on_error=False,
                              resources=build_resources(Settings(warehouse_dir=second, source="demo")))  # fmt: skip

    assert not refused.success
    assert (tmp_path / "dagster_home" / INSTANCE_OWNER).read_text() == f"{first}\n"
    failure = "\n".join(run.failure_lines(refused))
    assert "could not start: the Dagster instance " in failure and "dagster._core" not in failure
    assert f"holds the run history of the warehouse {first}, not of {second}" in failure
    assert not (second / "build.duckdb").exists()
    assert not note.success and "holds the run history of the warehouse" in "\n".join(run.failure_lines(note))
    assert not (second / "notes").exists()
    assert load(second, dg.DagsterInstance.ephemeral()).success  # an ephemeral instance is nobody's


def test_an_instance_from_before_the_owner_file_belongs_to_where_it_last_published(tmp_path):
    from orchestration.core.instance import INSTANCE_OWNER
    from orchestration.core.settings import Settings
    from orchestration.definitions import build_resources
    from orchestration.raw.assets import RAW_ASSETS

    universe = next(a for a in RAW_ASSETS if dg.AssetKey(["raw", "miner_universe"]) in a.keys)
    home, first, second = tmp_path / "dagster_home", tmp_path / "first", tmp_path / "second"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        published = dg.MetadataValue.path(str(first / "published.duckdb"))
        instance.report_runless_asset_event(
            dg.AssetMaterialization("published_warehouse", metadata={"path": published})
        )
        resources = build_resources(Settings(warehouse_dir=second, source="demo"))
        refused = dg.materialize([universe], resources=resources, instance=instance, raise_on_error=False)

    assert not refused.success
    assert f"holds the run history of the warehouse {first}, not of {second}" in "\n".join(run.failure_lines(refused))
    assert not (home / INSTANCE_OWNER).exists()  # nothing claimed on a refusal


def test_the_owner_file_is_written_once_and_read_normalised(tmp_path):
    """Two warehouses starting at the same moment: the one that links the file first owns the
    instance, the other reads it back; a hand-written path with a trailing slash is the same path."""
    from orchestration.core.instance import _record_owner, _recorded_owner

    marker = tmp_path / "warehouse_dir.txt"
    assert _record_owner(marker, "/w/first") == "/w/first"
    assert _record_owner(marker, "/w/second") == "/w/first"
    assert marker.read_text() == "/w/first\n" and [p.name for p in tmp_path.iterdir()] == [marker.name]
    marker.write_text(f"{tmp_path}/first/\n")
    assert _recorded_owner(marker) == str(tmp_path / "first")
