"""What the publish gate reads of the Dagster instance: each check's latest evaluation and each
asset's latest materialisation, as plain values.

The instance's own queries where it has them (`get_latest_asset_check_evaluation_record`,
`get_asset_records`). One thing it lacks in Dagster 1.13: looking past a check execution a run
planned and then failed or skipped, to the evaluation before it. That one storage call, and the
record-status constant it filters on, live here and nowhere else; tests/test_upstream_apis.py
fails when an upgrade changes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES


@dataclass(frozen=True)
class Evaluation:
    """A check's evaluation: its verdict, severity, the run that made it and when (epoch seconds)."""

    passed: bool
    severity: dg.AssetCheckSeverity
    run_id: str
    timestamp: float


@dataclass(frozen=True)
class Materialisation:
    run_id: str
    timestamp: float


def latest_evaluations(instance: dg.DagsterInstance, checks: Iterable[dg.AssetCheckKey]) -> dict:
    """{check: its latest Evaluation} for the checks that were ever evaluated. One query per check,
    plus one for a check whose latest execution was only planned (rarely more than a few)."""
    found = {}
    for key in checks:
        record = instance.get_latest_asset_check_evaluation_record(key)
        if record is not None and record.status not in COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES:
            history = instance.event_log_storage.get_asset_check_execution_history(
                key, limit=1, status=COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES
            )
            record = history[0] if history else None
        if record is not None and record.evaluation is not None:
            evaluation = record.evaluation
            found[key] = Evaluation(evaluation.passed, evaluation.severity, record.run_id, record.event.timestamp)
    return found


def latest_materialisations(instance: dg.DagsterInstance, assets: Iterable[dg.AssetKey]) -> dict:
    """{asset: its latest Materialisation} for the assets ever materialised (one query)."""
    found = {}
    for record in instance.get_asset_records(list(assets)):
        entry = record.asset_entry.last_materialization
        if entry is not None:
            found[record.asset_entry.asset_key] = Materialisation(entry.run_id, entry.timestamp)
    return found
