"""`make bench`: time the pipeline at several scales of the demo and hold it against the limit.

First the set-up a fresh clone's first `make run` also does, timed apart: dagster-dbt parses the
dbt project into its manifest (orchestration/transform/project.py) when it is missing or older than
the models. The issue's 30 s target is for a run after set-up, so no scale is charged for it.

Per scale (tickers x years of synthetic daily data from 2019-01-01), in a fresh temporary folder:

1. **whole run**: `orchestration.cli.run.main()` in a subprocess (bench/driver.py) with its own
   WAREHOUSE_DIR and DAGSTER_HOME: load, dbt build, gate, publish, note. Wall time of the
   subprocess; per-step durations from Dagster's step stats: raw load = the raw steps, dbt build =
   the dbt step, gate = the Great Expectations check steps, publish = the publish step, note = the
   note job's step. Peak memory: see bench/procs.py.
2. **baseline**: bench/baseline.sql on a copy of the build file holding only the raw tables (and the seeds:
   the universe and the NYSE calendar), best of three; then every column of its five marts is compared with the
   published ones (bench/compare.py).
3. **refresh**: the `build_and_publish` job for one monthly partition (the latest month with data
   that is a partition), as the monthly schedule runs it, on the warehouse of step 1.
4. **rerun**: the whole run again, nothing changed.

Environment: BENCH_SCALES (default 14x7,200x20,1000x20), BENCH_OUTPUT (default
bench/results/latest.json), BENCH_KEEP=1 keeps the temporary folders, BENCH_BASELINE_REPEATS.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from bench import machine
from bench.compare import compare_marts
from bench.procs import Measured, run_measured
from orchestration.core.paths import WarehousePaths

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCALES = "14x7,200x20,1000x20"
DEFAULT_OUTPUT = REPO / "bench" / "results" / "latest.json"
SEED_TICKERS, MAX_TICKERS, MAX_YEARS = 14, 1000, 20
GiB = 1024**3
TARGETS = {
    "demo_whole_run_seconds": ("14x7", 30.0),
    "dbt_build_to_baseline": ("1000x20", 2.0),
    "peak_rss_bytes": ("1000x20", 2 * GiB),
}
DBT_STEP, PUBLISH_STEP, NOTE_STEP = "warehouse_dbt_assets", "published_warehouse", "monthly_note"


@dataclass(frozen=True)
class Scale:
    tickers: int
    years: float

    @property
    def label(self) -> str:
        return f"{self.tickers}x{self.years:g}"


def parse_scales(text: str) -> list[Scale]:
    """'14x7,200x20' -> scales; tickers 14..1000 (the seed universe is always in), years 0..20."""
    scales = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        try:
            tickers, years = part.split("x")
            scale = Scale(int(tickers), float(years))
        except ValueError:
            raise SystemExit(f"BENCH_SCALES: {part!r} is not TICKERSxYEARS, e.g. 200x20") from None
        if not (SEED_TICKERS <= scale.tickers <= MAX_TICKERS and 0 < scale.years <= MAX_YEARS):
            raise SystemExit(
                f"BENCH_SCALES: {part!r} is out of range ({SEED_TICKERS}..{MAX_TICKERS} tickers, up to "
                f"{MAX_YEARS} years)"
            )
        scales.append(scale)
    if not scales:
        raise SystemExit("BENCH_SCALES is empty")
    return scales


# --- the pipeline in a subprocess --------------------------------------------------------------


def scale_environment(scale: Scale, warehouse: Path, dagster_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAREHOUSE_", "DBT_TARGET_PATH"))}
    env.update(
        WAREHOUSE_DIR=str(warehouse),
        WAREHOUSE_SOURCE="demo",
        WAREHOUSE_DEMO_TICKERS=str(scale.tickers),
        WAREHOUSE_DEMO_YEARS=f"{scale.years:g}",
        DAGSTER_HOME=str(dagster_home),
        DAGSTER_DISABLE_TELEMETRY="true",
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        DO_NOT_TRACK="1",
        GX_ANALYTICS_ENABLED="False",
        TQDM_DISABLE="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def measured_dict(m: Measured) -> dict:
    return asdict(m)


def pipeline(mode: str, env: dict, work: Path, name: str, *extra: str) -> dict:
    out, log = work / f"{name}.json", work / f"{name}.log"
    load_before = machine.load_average()
    m = run_measured([sys.executable, "-m", "bench.driver", mode, str(out), *extra], env=env, cwd=REPO, log=log)
    result = {
        "measured": measured_dict(m),
        "load_average_before": load_before,
        "load_average_after": machine.load_average(),
    }
    if out.exists():
        result["driver"] = json.loads(out.read_text())
    if m.exit_code != 0:
        result["log_tail"] = log.read_text(errors="replace").splitlines()[-15:]
    return result


def phases(driver: dict) -> dict[str, float]:
    """Seconds per phase, summed over the steps of every run the driver started."""
    total = {"raw_load": 0.0, "dbt_build": 0.0, "gate": 0.0, "publish": 0.0, "note": 0.0, "other_steps": 0.0}
    for run in driver.get("runs", []):
        for step in run["steps"]:
            seconds, key = step["seconds"] or 0.0, step["key"]
            if "_gx_" in key:
                total["gate"] += seconds
            elif key.startswith("raw__"):
                total["raw_load"] += seconds
            elif key == DBT_STEP:
                total["dbt_build"] += seconds
            elif key == PUBLISH_STEP:
                total["publish"] += seconds
            elif key == NOTE_STEP:
                total["note"] += seconds
            else:
                total["other_steps"] += seconds
    return total


def gate_steps(driver: dict) -> dict[str, float]:
    return {
        step["key"]: step["seconds"] for run in driver.get("runs", []) for step in run["steps"] if "_gx_" in step["key"]
    }


def dbt_profile(driver: dict, keep_top: int = 8) -> dict | None:
    """Where the dbt build's time went, from its run_results.json and dbt.log."""
    dirs = [Path(d) for run in driver.get("runs", []) for d in run.get("dbt_target_dirs", [])]
    dirs = [d for d in dirs if (d / "run_results.json").exists()]
    if not dirs:
        return None
    target = dirs[-1]
    results = json.loads((target / "run_results.json").read_text())
    by_type: dict[str, float] = {}
    nodes = []
    for item in results["results"]:
        kind = item["unique_id"].split(".")[0]
        by_type[kind] = by_type.get(kind, 0.0) + item["execution_time"]
        nodes.append((item["execution_time"], item["unique_id"]))
    nodes.sort(reverse=True)
    profile = {
        "nodes": len(results["results"]),
        "execution_elapsed_seconds": results.get("elapsed_time"),
        "seconds_by_resource_type": {k: round(v, 3) for k, v in sorted(by_type.items())},
        "slowest_nodes": [{"node": uid, "seconds": round(sec, 3)} for sec, uid in nodes[:keep_top]],
    }
    log = target / "dbt.log"
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            name = event.get("info", {}).get("name")
            if name == "ResourceReport":
                data = event["data"]
                profile["command_wall_clock_seconds"] = data.get("command_wall_clock_time")
                profile["dbt_process_max_rss_bytes"] = int(data.get("process_mem_max_rss", 0)) * 1024
            elif name == "UnableToPartialParse":
                profile["full_reparse_because"] = event["data"].get("reason")
    return profile


def summarise(result: dict) -> dict:
    driver = result.get("driver", {})
    m = result["measured"]
    summary = {
        "exit_code": m["exit_code"],
        "wall_seconds": m["wall_seconds"],
        "cpu_seconds": m["cpu_seconds"],
        "max_process_rss_bytes": m["max_process_rss"],
        "tree_rss_bytes": m["tree_rss"],
        "import_seconds": driver.get("import_seconds"),
        "phases": phases(driver),
        "gate_steps": gate_steps(driver),
        "runs": [
            {
                "job": r["job"],
                "status": r["status"],
                "partition": r["partition"],
                "seconds": (r["end"] - r["start"]) if r.get("end") and r.get("start") else None,
            }
            for r in driver.get("runs", [])
        ],
        "load_average_before": result["load_average_before"],
        "load_average_after": result["load_average_after"],
    }
    steps = sum(summary["phases"].values())
    summary["outside_steps_seconds"] = m["wall_seconds"] - steps  # start-up, imports, Dagster run bookkeeping
    summary["dbt_profile"] = dbt_profile(driver)
    if "log_tail" in result:
        summary["log_tail"] = result["log_tail"]
    return summary


# --- baseline and comparison ---------------------------------------------------------------------


def baseline(work: Path, build_db: Path, env: dict) -> dict:
    out, log, copy = work / "baseline.json", work / "baseline.log", work / "baseline.duckdb"
    m = run_measured(
        [sys.executable, "-m", "bench.baseline", str(build_db), str(copy), str(out)], env=env, cwd=REPO, log=log
    )
    if m.exit_code != 0:
        raise SystemExit(f"the baseline failed:\n{log.read_text(errors='replace')[-3000:]}")
    result = json.loads(out.read_text())
    result["max_process_rss_bytes"] = m.max_process_rss
    result["copy"] = copy
    return result


def compare(published_db: Path, baseline_db: Path) -> dict:
    with duckdb.connect() as conn:
        conn.execute(f"attach '{published_db}' as pub (read_only)")
        conn.execute(f"attach '{baseline_db}' as base (read_only)")
        mismatches, rows = compare_marts(conn, "pub.main", "base.marts")
    return {"identical": not mismatches, "rows": rows, "mismatches": [m.as_dict() for m in mismatches]}


def data_size(build_db: Path) -> dict:
    with duckdb.connect(str(build_db), read_only=True) as conn:
        rows = {
            table: conn.execute(f"select count(*) from raw.{table}").fetchone()[0]
            for table in ("btc_daily", "equity_prices", "splits", "shares_outstanding", "miner_universe")
        }
        first, last = conn.execute("select min(date), max(date) from raw.btc_daily").fetchone()
    return {"raw_rows": rows, "first_day": str(first), "last_day": str(last), "build_db_bytes": build_db.stat().st_size}


def refresh_partition(published_db: Path, today: date | None = None) -> str:
    """The latest month with data that is a monthly partition (partitions end at the current month)."""
    with duckdb.connect(str(published_db), read_only=True) as conn:
        latest = conn.execute("select max(month) from mart_monthly_note").fetchone()[0]
    current = (today or datetime.now(UTC).date()).replace(day=1)
    return f"{min(latest, current):%Y-%m-%d}"


# --- one scale ---------------------------------------------------------------------------------


def set_up(root: Path) -> dict:
    """Load the Definitions once in a subprocess, as a fresh clone's first `make run` does before
    it runs anything: that prepares the dbt manifest when it is missing or stale (else it is the
    imports alone)."""
    work = root / "set_up"
    work.mkdir(parents=True)
    env = scale_environment(Scale(14, 7.0), work / "warehouse", work / "dagster_home")
    manifest = REPO / "dbt_project" / "target" / "manifest.json"
    before = manifest.stat().st_mtime_ns if manifest.exists() else None
    log = work / "set_up.log"
    m = run_measured([sys.executable, "-c", "import orchestration.definitions"], env=env, cwd=REPO, log=log)
    if m.exit_code != 0:
        raise SystemExit(
            "bench: loading the Definitions failed:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        )
    return {"seconds": m.wall_seconds, "manifest_parsed": manifest.stat().st_mtime_ns != before}


def run_scale(scale: Scale, root: Path) -> dict:
    work = root / scale.label
    warehouse, dagster_home = work / "warehouse", work / "dagster_home"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = scale_environment(scale, warehouse, dagster_home)
    probe = machine.speed_probe()
    print(f"[{scale.label}] whole run (speed probe {probe:.3f} s) ...", flush=True)
    full = pipeline("full", env, work, "full")
    result: dict = {
        "scale": scale.label,
        "tickers": scale.tickers,
        "years": scale.years,
        "speed_probe_seconds": probe,
        "whole_run": summarise(full),
    }
    if full["measured"]["exit_code"] != 0:
        print(f"[{scale.label}] the whole run FAILED; see {work / 'full.log'}", flush=True)
        return result
    result["data"] = data_size(WarehousePaths(warehouse).build_db)
    print(f"[{scale.label}] baseline ...", flush=True)
    base = baseline(work, WarehousePaths(warehouse).build_db, env)
    result["comparison"] = compare(warehouse / "published.duckdb", base.pop("copy"))
    result["baseline"] = base
    partition = refresh_partition(warehouse / "published.duckdb")
    print(f"[{scale.label}] refresh of {partition[:7]} ...", flush=True)
    refresh = pipeline("refresh", env, work, "refresh", partition)
    result["refresh_one_month"] = {"partition": partition, **summarise(refresh)}
    print(f"[{scale.label}] rerun, no change ...", flush=True)
    rerun = pipeline("full", env, work, "rerun")
    result["rerun_no_change"] = summarise(rerun)
    whole = result["whole_run"]
    models = (whole.get("dbt_profile") or {}).get("seconds_by_resource_type", {}).get("model")
    result["ratios"] = {
        "dbt_build_to_baseline": whole["phases"]["dbt_build"] / base["best"],
        "whole_run_to_baseline": whole["wall_seconds"] / base["best"],
        # the SQL of the models alone (dbt's per-model execution times, no tests, no start-up)
        "dbt_models_to_baseline": models / base["best"] if models else None,
    }
    return result


# --- reporting -----------------------------------------------------------------------------------


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}"


def _mib(value: int | None) -> str:
    return "-" if not value else f"{value / 2**20:,.0f}"


def table(results: list[dict]) -> str:
    head = (
        "scale",
        "probe s",
        "price rows",
        "raw load s",
        "dbt build s",
        "gate s",
        "publish s",
        "note s",
        "whole run s",
        "peak RSS MiB (tree/proc)",
        "baseline s",
        "dbt/base",
        "models/base",
        "whole/base",
        "refresh 1 mo s",
        "rerun s",
        "marts",
    )
    rows = [head]
    for r in results:
        w = r["whole_run"]
        if w["exit_code"] != 0 or "baseline" not in r:
            rows.append(
                (r["scale"], f"{r['speed_probe_seconds']:.3f}", *["-"] * 6, _s(w["wall_seconds"]), *["-"] * 7, "FAILED")
            )
            continue
        p = w["phases"]
        rows.append(
            (
                r["scale"],
                f"{r['speed_probe_seconds']:.3f}",
                f"{r['data']['raw_rows']['equity_prices']:,}",
                _s(p["raw_load"]),
                _s(p["dbt_build"]),
                _s(p["gate"]),
                _s(p["publish"]),
                _s(p["note"]),
                _s(w["wall_seconds"]),
                f"{_mib(w['tree_rss_bytes'])}/{_mib(w['max_process_rss_bytes'])}",
                f"{r['baseline']['best']:.2f}",
                f"{r['ratios']['dbt_build_to_baseline']:.1f}x",
                "-"
                if r["ratios"]["dbt_models_to_baseline"] is None
                else f"{r['ratios']['dbt_models_to_baseline']:.1f}x",
                f"{r['ratios']['whole_run_to_baseline']:.0f}x",
                _s(r["refresh_one_month"]["wall_seconds"])
                + ("" if r["refresh_one_month"]["exit_code"] == 0 else " FAILED"),
                _s(r["rerun_no_change"]["wall_seconds"])
                + ("" if r["rerun_no_change"]["exit_code"] == 0 else " FAILED"),
                "identical" if r["comparison"]["identical"] else f"{len(r['comparison']['mismatches'])} MISMATCHES",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = [" | ".join(str(c).rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def targets(results: list[dict]) -> list[dict]:
    by_scale = {r["scale"]: r for r in results}
    verdicts = []
    for name, (scale, limit) in TARGETS.items():
        r = by_scale.get(scale)
        if r is None or "ratios" not in r:
            verdicts.append({"target": name, "scale": scale, "limit": limit, "value": None, "met": None})
            continue
        value = {
            "demo_whole_run_seconds": r["whole_run"]["wall_seconds"],
            "dbt_build_to_baseline": r["ratios"]["dbt_build_to_baseline"],
            "peak_rss_bytes": r["whole_run"]["tree_rss_bytes"],
        }[name]
        verdicts.append({"target": name, "scale": scale, "limit": limit, "value": value, "met": value < limit})
    return verdicts


def _verdict_line(v: dict) -> str:
    if v["met"] is None:
        return f"- {v['target']} at {v['scale']}: not measured"
    fmt = (lambda x: f"{x / GiB:.2f} GiB") if v["target"] == "peak_rss_bytes" else (lambda x: f"{x:.1f}")
    verdict = "met" if v["met"] else "MISSED"
    return f"- {v['target']} at {v['scale']}: {fmt(v['value'])} (target < {fmt(v['limit'])}): {verdict}"


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def main() -> int:
    scales = parse_scales(os.environ.get("BENCH_SCALES", DEFAULT_SCALES))
    output = Path(os.environ.get("BENCH_OUTPUT") or DEFAULT_OUTPUT)
    keep = os.environ.get("BENCH_KEEP", "") not in ("", "0")
    info = machine.describe()
    print(
        f"bench: {', '.join(s.label for s in scales)} on {info['cpu']} ({info['cores']} cores, "
        f"{(info['ram_bytes'] or 0) / GiB:.0f} GiB), load average {info['load_average_at_start']}",
        flush=True,
    )
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    results = []
    try:
        setup = set_up(root)
        print(
            f"set-up: the Definitions loaded in {setup['seconds']:.1f} s "
            "(the dbt manifest parsed: a fresh clone or changed models)"
            if setup["manifest_parsed"]
            else "(the dbt manifest current)",
            flush=True,
        )
        for scale in scales:
            results.append(run_scale(scale, root))
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    verdicts = targets(results)
    payload = {
        "machine": {**info, "load_average_at_end": machine.load_average()},
        "set_up": setup,
        "scales": results,
        "targets": verdicts,
        "how": __doc__,
    }
    write_json(output, payload)
    print()
    print(table(results))
    print()
    for v in verdicts:
        print(_verdict_line(v))
    for r in results:
        for m in r.get("comparison", {}).get("mismatches", [])[:10]:
            print(
                f"  {r['scale']} mismatch: {m['table']}.{m['column'] or ''} {m['kind']} ({m['count']}): {m['example']}"
            )
    print(f"\nwritten: {output}")
    failed = any(r["whole_run"]["exit_code"] != 0 or not r.get("comparison", {}).get("identical") for r in results)
    return 1 if failed else 0
