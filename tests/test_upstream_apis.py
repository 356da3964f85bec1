"""The few places that lean on a library's internals, pinned: an upgrade of Dagster, dagster-dbt or
Great Expectations fails here, loudly and by name, before it can change what gets published.

The internals (each isolated in one module): the check-execution history filtered to completed
executions (quality/instance_queries.py, on the publish gate's path); the two dagster-dbt hooks
transform/resource.py overrides; GX's batch cache the gate clears and its progress-bar switch
(quality/gx_engine.py); the log-record attribute the run's terminal lines read (cli/run_log.py);
the concurrency storage calls of the writer slot, and what the executors claim at `granularity: run`
(core/writer.py), and dagster-postgres's run storage URL (core/instance.py).
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

PINNED = {"dagster": "1.13.27", "dagster-dbt": "0.29.27", "great-expectations": "1.24.1"}


def test_the_internals_we_use_were_checked_against_these_versions():
    assert {name: version(name) for name in PINNED} == PINNED, (
        "re-check the internals listed in this file's docstring against the new versions, then update PINNED"
    )


def test_the_check_history_still_filters_by_completed_status():
    from dagster._core.storage.asset_check_execution_record import (
        COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
        AssetCheckExecutionRecordStatus,
    )
    from dagster._core.storage.event_log.base import EventLogStorage

    assert "status" in inspect.signature(EventLogStorage.get_asset_check_execution_history).parameters
    assert COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES == {
        AssetCheckExecutionRecordStatus.SUCCEEDED,
        AssetCheckExecutionRecordStatus.FAILED,
    }


def test_dagster_dbt_still_calls_the_two_hooks_we_override():
    from dagster_dbt import DbtCliResource

    source = inspect.getsource(DbtCliResource.cli)
    assert "self._cli_version" in source and "self._initialize_dbt_core_adapter(args)" in source


def test_gx_batch_cache_and_progress_bars_and_dagster_log_metadata_still_exist():
    from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine.execution_engine import BatchManager

    assert hasattr(BatchManager, "reset_batch_cache")
    assert ProgressBarsConfig(globally=False).globally is False
    assert LOG_RECORD_METADATA_ATTR == "dagster_meta"


def test_the_writer_slots_storage_calls_and_the_run_granularity_rule_still_exist():
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
    from dagster._core.storage.event_log.base import EventLogStorage
    from dagster_postgres import PostgresRunStorage

    for name, parameters in {
        "claim_concurrency_slot": ["concurrency_key", "run_id", "step_key", "priority"],
        "free_concurrency_slot_for_step": ["run_id", "step_key"],
        "get_concurrency_info": ["concurrency_key"],
        "initialize_concurrency_limit_to_default": ["concurrency_key"],
        "set_concurrency_slots": ["concurrency_key", "num"],
    }.items():
        assert list(inspect.signature(getattr(EventLogStorage, name)).parameters)[1:] == parameters, name
    # the executors claim nothing at run granularity: why `make run` holds the slot itself
    assert "PoolGranularity.RUN" in inspect.getsource(InstanceConcurrencyContext.claim)
    assert "self.postgres_url = postgres_url" in inspect.getsource(PostgresRunStorage.__init__)
