"""What the numbers were measured on: CPU, cores, RAM, versions, date, load."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def speed_probe(repeats: int = 3) -> float:
    """Seconds for a fixed CPU-bound workload (Python hashing, then a DuckDB aggregation), best of
    `repeats`: how fast this machine is right now. On a shared VM the same run varies by 20-30 %
    from hour to hour; a run's wall times over its probe compare across runs, its raw seconds do
    not."""
    import hashlib
    import time

    import duckdb

    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        digest = b""
        for i in range(150_000):
            digest = hashlib.sha256(digest + i.to_bytes(4, "little")).digest()
        with duckdb.connect() as conn:
            conn.execute("select sum(hash(i) % 1000) from range(20000000) t(i)").fetchone()
        best = min(best, time.perf_counter() - started)
    return best


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe() -> dict:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_bytes": _ram_bytes(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt", "great_expectations", "pandas")
        },
        "load_average_at_start": load_average(),
    }
