"""The gate's review of the build as it stands: publishes only data that every blocking check
upstream passed.

Dagster's blocking checks stop what is downstream of a failure within one run. The build file,
though, keeps what the runs before wrote: raw rows a failed gate refused, a model rebuilt without
its tests. A later run that selects only the rest of the graph (the UI's "materialize the rest",
or the publish asset alone) would copy them to readers. So the publish asset asks the instance,
for every blocking check on an asset upstream of it, whether the check's latest evaluation passed
and is newer than the latest materialisation of every asset it read (its own, and those its query
joins), and refuses otherwise (review_gate).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from orchestration.quality.checks import warehouse_gx_checks
from orchestration.quality.instance_queries import latest_evaluations, latest_materialisations
from orchestration.raw.assets import RAW_ASSETS
from orchestration.transform.assets import mart_keys, warehouse_dbt_assets


def blocking_checks_upstream(
    definitions: Sequence[dg.AssetsDefinition], targets: Iterable[dg.AssetKey]
) -> dict[dg.AssetCheckKey, tuple[dg.AssetKey, ...]]:
    """Every blocking check of `definitions` on `targets` or an asset upstream of them: check ->
    the assets whose data it read (the checked asset first, then the others its query reads). From
    the definitions themselves, so the answer does not depend on which subset a run selected."""
    parents = {spec.key: {dep.asset_key for dep in spec.deps} for d in definitions for spec in d.specs}
    upstream, pending = set(), list(targets)
    while pending:
        key = pending.pop()
        if key not in upstream:
            upstream.add(key)
            pending.extend(parents.get(key, ()))
    return {
        spec.key: (spec.asset_key, *(dep.asset_key for dep in spec.additional_deps))
        for d in definitions
        for spec in d.check_specs
        if spec.blocking and spec.asset_key in upstream
    }


def publication_checks() -> dict[dg.AssetCheckKey, tuple[dg.AssetKey, ...]]:
    """The checks the publish asset requires: every blocking check upstream of the marts."""
    return blocking_checks_upstream([*RAW_ASSETS, warehouse_dbt_assets, *warehouse_gx_checks()], mart_keys())


@dataclass(frozen=True)
class GateReview:
    """What the instance says of the build as it stands: per blocking check, why it does not clear
    the build (`problems`), and the checks whose clearing evaluation carried a warning."""

    checks: int
    problems: list[str]
    warnings: list[str]
    evaluated_in_run: int

    def summary(self) -> str:
        text = f"passed: {self.checks} blocking checks clear the build ({self.evaluated_in_run} evaluated in this run)"
        text += f", {len(self.warnings)} with warnings"
        return text + (f" ({'; '.join(self.warnings)})" if self.warnings else "")


def review_gate(
    instance: dg.DagsterInstance, checks: Mapping[dg.AssetCheckKey, tuple[dg.AssetKey, ...]], run_id: str | None = None
) -> GateReview:
    """A blocking check clears the build when its latest evaluation passed (a WARN failure
    passes) and came after the latest materialisation of every asset it read (instance_queries.py)."""
    records = latest_evaluations(instance, checks)
    materialised = latest_materialisations(instance, {a for assets in checks.values() for a in assets})
    problems, warnings = [], []
    for key in sorted(checks, key=lambda k: k.to_user_string()):
        name, record = key.to_user_string(), records.get(key)
        if record is None:
            problems.append(f"{name}: never evaluated")
            continue
        if not record.passed and record.severity == dg.AssetCheckSeverity.ERROR:
            problems.append(f"{name}: failed in run {record.run_id[:8]}")
            continue
        changed = [
            (asset, event)
            for asset in checks[key]
            if (event := materialised.get(asset)) is not None and event.timestamp > record.timestamp
        ]
        if changed:
            asset, event = changed[0]
            problems.append(
                f"{name}: {asset.to_user_string()} was materialised again in run {event.run_id[:8]} "
                f"after the check last ran (run {record.run_id[:8]})"
            )
        elif not record.passed:
            warnings.append(name)
    evaluated_in_run = sum(1 for r in records.values() if r.run_id == run_id)
    return GateReview(len(checks), problems, warnings, evaluated_in_run)
