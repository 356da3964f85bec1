"""Each GX suite under expectations/ as a blocking Dagster asset check on the asset it names.

Critical expectations fail the check with severity ERROR, which blocks everything downstream
(the publish asset); warning-level ones fail it with severity WARN, which is shown but not blocking.
"""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.quality.gx_suites import SuiteOutcome, read_suite_file, suite_paths, validate_table


def check_result(outcome: SuiteOutcome) -> dg.AssetCheckResult:
    failures = outcome.errors or outcome.warnings
    metadata = {
        "suite": outcome.suite,
        "table": outcome.table,
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
        passed=not outcome.failures,
        severity=dg.AssetCheckSeverity.ERROR if outcome.errors else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(f.describe(outcome.table) for f in failures[:3]) or None,
    )


def gx_check(suite_path: Path) -> dg.AssetChecksDefinition:
    spec = read_suite_file(suite_path)

    @dg.asset_check(
        asset=dg.AssetKey(spec["meta"]["asset_key"]),
        name=f"gx_{spec['name']}",
        description=f"Great Expectations suite expectations/{suite_path.name}: {spec['meta'].get('description', '')}",
        blocking=True,
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        return check_result(validate_table(Path(duckdb.database), suite_path))

    return _check


GX_CHECKS = [gx_check(p) for p in suite_paths()]
