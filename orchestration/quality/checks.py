"""Each GX suite under expectations/ as a blocking Dagster asset check on the asset it names.

Critical expectations fail the check with severity ERROR, which blocks everything downstream
(the publish asset); warning-level ones fail it with severity WARN, which is shown but not blocking.

The checks on one layer's assets (raw, marts) run together in one step, a gate: one GX project
context and one Data Docs build for the layer instead of one per suite. Any subset of them still
runs on its own (the UI's "Execute checks" on one asset runs that asset's suite only).
"""

import functools
import re
from collections import defaultdict
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.core.resources import WarehouseResource
from orchestration.quality.gx_engine import validate_suites
from orchestration.quality.suites import SuiteOutcome, read_suite_file, suite_paths


def check_result(outcome: SuiteOutcome, check: dg.AssetCheckKey) -> dg.AssetCheckResult:
    failures = outcome.errors or outcome.warnings
    metadata = {
        "suite": outcome.suite,
        "table": outcome.table,
        "rows_validated": outcome.rows,
        "expectations_run": outcome.evaluated,
        "expectations_failed": len(outcome.failures),
        "errors": len(outcome.errors),
        "warnings": len(outcome.warnings),
    }
    if outcome.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(outcome.data_docs)
    if failures:
        metadata["failures"] = dg.MetadataValue.md(
            "\n".join(f"- **{f.severity}** {f.describe(outcome.table)}" for f in outcome.failures)
        )
        metadata["first_failing_rows"] = dg.MetadataValue.json(
            {f"{f.expectation}({f.column})": f.example_rows for f in outcome.failures}
        )
    return dg.AssetCheckResult(
        asset_key=check.asset_key,
        check_name=check.name,
        passed=not outcome.failures,
        severity=dg.AssetCheckSeverity.ERROR if outcome.errors else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(f.describe(outcome.table) for f in failures[:3]) or None,
    )


# A suite's query names the tables it reads as schema.table; those of the warehouse's assets
# (raw.*, marts.*) are the check's additional inputs: a check on the note that sums
# mart_miner_monthly is stale once mart_miner_monthly is rebuilt (see quality/gate.py).
READ_TABLE = re.compile(r"\b(raw|marts)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


def tables_read(spec: dict) -> list[dg.AssetKey]:
    """The assets a suite's query reads besides the one it checks, in order of appearance."""
    own = dg.AssetKey(spec["meta"]["asset_key"])
    found = [
        dg.AssetKey([schema.lower(), table.lower()])
        for schema, table in READ_TABLE.findall(spec["meta"].get("query", ""))
    ]
    return [key for key in dict.fromkeys(found) if key != own]


def gx_gate(layer: str, suites_read: list[tuple[Path, dict]]) -> dg.AssetChecksDefinition:
    """The suites of one layer's assets (file, its contents) as blocking checks, validated in one step."""
    suites: dict[dg.AssetCheckKey, Path] = {}
    specs = []
    for path, spec in suites_read:
        check = dg.AssetCheckSpec(
            name=f"gx_{spec['name']}",
            asset=dg.AssetKey(spec["meta"]["asset_key"]),
            additional_deps=tables_read(spec),
            description=f"Great Expectations suite expectations/{path.name}: {spec['meta'].get('description', '')}",
            blocking=True,
        )
        specs.append(check)
        suites[check.key] = path

    @dg.multi_asset_check(
        specs=specs,
        name=f"{layer}_gx_gate",
        description=f"The Great Expectations suites of the {layer} assets.",
        can_subset=True,
    )
    def _gate(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, warehouse: WarehouseResource):
        selected = [key for key in suites if key in context.selected_asset_check_keys]
        outcomes = validate_suites(
            warehouse.paths, [suites[key] for key in selected], context.run.run_id, warehouse.keep_runs
        )
        errors = sum(len(o.errors) for o in outcomes)
        warnings = sum(len(o.warnings) for o in outcomes)
        docs = next((o.data_docs for o in outcomes if o.data_docs), None)
        context.log.info(
            f"{layer} gate: {len(outcomes)} Great Expectations suites, {errors} critical and {warnings} warning "
            f"failures" + (f"; Data Docs: {docs}" if docs else "")
        )
        for key, outcome in zip(selected, outcomes):
            yield check_result(outcome, key)

    return _gate


def gx_checks(suite_files: list[Path]) -> list[dg.AssetChecksDefinition]:
    """One gate per layer (the first part of the suites' asset keys: raw, marts)."""
    layers: dict[str, list[tuple[Path, dict]]] = defaultdict(list)
    for path in suite_files:
        spec = read_suite_file(path)
        layers[spec["meta"]["asset_key"][0]].append((path, spec))
    return [gx_gate(layer, suites) for layer, suites in sorted(layers.items())]


@functools.cache
def warehouse_gx_checks() -> tuple[dg.AssetChecksDefinition, ...]:
    """The gates of every suite under expectations/, read when first asked for, not on import, and
    the same objects on every call (the Definitions and the publish gate must name the same checks)."""
    return tuple(gx_checks(suite_paths()))
