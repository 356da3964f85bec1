"""One pipeline run in a process of its own: `python -m bench.driver MODE OUT_JSON [PARTITION]`.

The benchmark starts this module in a fresh subprocess per measurement (WAREHOUSE_DIR,
DAGSTER_HOME and the demo's scale come from the environment the parent sets), so the timings and
the peak memory belong to this run alone. Modes:

- `full`: `orchestration.cli.run.main()` — what `make run` does (whole history, then the note);
- `refresh`: the `build_and_publish` job for one monthly partition (PARTITION, `YYYY-MM-01`).

It writes what the parent cannot see from outside as JSON: per-step durations of every Dagster
run it started (from the instance's step stats), the time spent importing, and where dbt wrote
its `run_results.json`.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from datetime import UTC  # noqa: E402
from pathlib import Path  # noqa: E402


def _steps(instance, run_id: str) -> list[dict]:
    steps = []
    for stat in instance.get_run_step_stats(run_id):
        duration = None
        if stat.start_time is not None and stat.end_time is not None:
            duration = stat.end_time - stat.start_time
        steps.append(
            {
                "key": stat.step_key,
                "status": stat.status.value if stat.status else None,
                "start": stat.start_time,
                "end": stat.end_time,
                "seconds": duration,
            }
        )
    return sorted(steps, key=lambda s: s["start"] or 0.0)


def _dbt_target_dirs(warehouse_dir: Path, run_id: str) -> list[str]:
    from orchestration.core.paths import WarehousePaths

    return sorted(str(p) for p in WarehousePaths(warehouse_dir).dbt_runs.glob(f"*-{run_id[:7]}-*") if p.is_dir())


def _runs_since(instance, since: float, warehouse_dir: Path) -> list[dict]:
    import dagster as dg

    runs = []
    for record in instance.get_run_records(dg.RunsFilter(created_after=_utc(since)), ascending=True):
        run = record.dagster_run
        runs.append(
            {
                "run_id": run.run_id,
                "job": run.job_name,
                "status": run.status.value,
                "partition": run.tags.get("dagster/partition"),
                "start": record.start_time,
                "end": record.end_time,
                "steps": _steps(instance, run.run_id),
                "dbt_target_dirs": _dbt_target_dirs(warehouse_dir, run.run_id),
            }
        )
    return runs


def _utc(epoch: float):
    from datetime import datetime

    return datetime.fromtimestamp(epoch, tz=UTC)


def main(argv: list[str]) -> int:
    mode, out = argv[0], Path(argv[1])
    wall_start = time.time() - (time.perf_counter() - STARTED)
    import dagster as dg

    from orchestration.cli.run import main as run_main
    from orchestration.core.settings import load_settings

    settings = load_settings()
    instance = dg.DagsterInstance.get()  # persistent: DAGSTER_HOME, set by the parent
    imported = time.perf_counter()
    if mode == "full":
        code = run_main(instance, settings)
    elif mode == "refresh":
        from orchestration.definitions import build_definitions

        job = build_definitions(settings).resolve_job_def("build_and_publish")
        result = job.execute_in_process(instance=instance, partition_key=argv[2], raise_on_error=False)
        code = 0 if result.success else 1
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    finished = time.perf_counter()
    report = {
        "mode": mode,
        "exit_code": code,
        "import_seconds": imported - STARTED,
        "run_seconds": finished - imported,
        "process_seconds": finished - STARTED,
        "self_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "runs": _runs_since(instance, wall_start - 1.0, settings.warehouse_dir),
        "pid": os.getpid(),
    }
    out.write_text(json.dumps(report, indent=1, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
