"""Environment settings, read once, typed and validated.

Everything that differs between a laptop, CI and a future MotherDuck deployment comes from here, so
no other module reads os.environ for configuration.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.retention import DEFAULT_KEEP_RUNS

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("demo", "csv", "live")


@dataclass(frozen=True)
class Settings:
    warehouse_dir: Path
    source: str
    csv_dir: Path | None = None  # WAREHOUSE_CSV_DIR: the analyst's exports (source "csv")
    demo_tickers: int | None = None  # WAREHOUSE_DEMO_TICKERS: scale the demo (benchmarks)
    demo_years: float | None = None  # WAREHOUSE_DEMO_YEARS: history length from 2019-01-01 (benchmarks)
    keep_runs: int = DEFAULT_KEEP_RUNS  # WAREHOUSE_KEEP_RUNS: dbt run folders and GX results kept (retention.py)

    @property
    def build_db(self) -> Path:
        """The file every run writes (raw schema + dbt models)."""
        return self.warehouse_dir / "build.duckdb"

    @property
    def published_db(self) -> Path:
        """The file readers open read-only; replaced atomically by the publish asset."""
        return self.warehouse_dir / "published.duckdb"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    source = env.get("WAREHOUSE_SOURCE", "demo").strip().lower() or "demo"
    if source not in SOURCES:
        raise ValueError(f"WAREHOUSE_SOURCE={source!r} is not one of {', '.join(SOURCES)}")
    warehouse_dir = _absolute(env.get("WAREHOUSE_DIR", "") or REPO_ROOT / "warehouse")
    csv_dir = _absolute(env["WAREHOUSE_CSV_DIR"]) if env.get("WAREHOUSE_CSV_DIR") else None
    if source == "csv" and (csv_dir is None or not csv_dir.is_dir()):
        raise ValueError(
            f"WAREHOUSE_SOURCE=csv needs WAREHOUSE_CSV_DIR set to the folder of your CSV files "
            f"(got {env.get('WAREHOUSE_CSV_DIR')!r})"
        )
    return Settings(
        warehouse_dir=warehouse_dir,
        source=source,
        csv_dir=csv_dir,
        demo_tickers=int(env["WAREHOUSE_DEMO_TICKERS"]) if env.get("WAREHOUSE_DEMO_TICKERS") else None,
        demo_years=float(env["WAREHOUSE_DEMO_YEARS"]) if env.get("WAREHOUSE_DEMO_YEARS") else None,
        keep_runs=_keep_runs(env.get("WAREHOUSE_KEEP_RUNS", "")),
    )


def _keep_runs(text: str) -> int:
    if not text.strip():
        return DEFAULT_KEEP_RUNS
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) < 1:
        raise ValueError(f"WAREHOUSE_KEEP_RUNS={text!r} is not a whole number of runs of at least 1")
    return int(text)


def _absolute(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


TELEMETRY_OFF = {
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "TQDM_DISABLE": "1",  # GX's progress bars would flood the run log
}

# A run over a range of months (a full refresh spans ~95) records one "materialization planned"
# event per asset for the range instead of one per month and asset (Dagster's opt-in, PR #29288):
# ~4 s off every full `make run`. What it costs: while such a run is going, or after it failed, the
# UI's partition bar does not mark those months in progress or failed (the run page does; the raw
# loads are transactional, so a failed run leaves every month's rows as they were). Single-month
# runs (the schedules) are not affected. Set it to 0 to have the per-month status back.
DAGSTER_RUN_SETTINGS = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}


def prepare_environment() -> None:
    """No telemetry anywhere (offline it would only hang or fail: dbt, Dagster, GX), Dagster's run
    settings, and this interpreter's own tools (dbt) found first even when the venv is not
    activated."""
    for name, value in {**TELEMETRY_OFF, **DAGSTER_RUN_SETTINGS}.items():
        os.environ.setdefault(name, value)
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
