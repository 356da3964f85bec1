"""Keep what every run leaves beside the warehouse bounded: the newest runs' dbt folders, GX results, logs.

Each `dbt build` step leaves a folder (its manifest, compiled SQL, run_results.json and dbt.log:
about 6 MB for the demo), each quality gate a GX validation result and its Data Docs page per
suite (about 1 MB a full run), and each `make run` its log file (WAREHOUSE_DIR/logs, run_log.py).
With the daily schedule on that is some 2.5 GB a year that nobody reads after a few weeks. So after
each step only the newest WAREHOUSE_KEEP_RUNS (default 30) are kept: of the dbt folders, of every
GX suite's results and pages, and (after each `make run`) of the run logs. The step's own run is never
deleted, and pruning is best effort: a folder it cannot read or delete (another process removing
it first) is left, and never fails the step whose work it tidies.

Dagster's own run history in DAGSTER_HOME is not pruned here: the publish gate reads the latest
materialisation and check evaluation of every asset from it (see docs/operations.md, *Housekeeping*).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# GX files a result as <suite path>/<run name>/<run time>/<batch id>.json (.html for its page).
GX_RUN_TIME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")


def _check_keep(keep: int) -> None:
    if keep < 1:
        raise ValueError(f"keep must be at least 1 run, got {keep}")


def _last_written(folder: Path) -> float | None:
    """When anything directly in `folder` last changed (dbt writes its log all along a build, so
    a build still going counts as new); None when it is gone."""
    try:
        return max([folder.stat().st_mtime, *(f.stat().st_mtime for f in folder.iterdir())])
    except OSError:
        return None


def _beyond_newest(times: dict[Path, object], keep: int, is_current: Callable[[Path], bool]) -> list[Path]:
    """The paths of `times` (path -> when) beyond its `keep` newest, the current one counting as newest."""
    return sorted(times, key=lambda p: (is_current(p), times[p], p.name), reverse=True)[keep:]


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, onerror=lambda _function, path, error: log.warning("could not delete %s: %s", path, error[1]))


def prune_run_folders(parent: Path, keep: int, current: Path) -> list[Path]:
    """Delete all but the `keep` most recently written folders directly under `parent`, never
    `current` (this step's own); the deleted."""
    _check_keep(keep)
    try:
        candidates = [p for p in parent.iterdir() if p.is_dir()]
    except OSError:
        return []
    written = {p: t for p in candidates if (t := _last_written(p)) is not None}
    stale = _beyond_newest(written, keep, lambda p: p == current)
    for folder in stale:
        _remove(folder)
    return stale


def prune_gx_results(uncommitted: Path, keep: int, current_run: str) -> list[Path]:
    """In a GX project's `uncommitted/` folder, delete every suite's validation results but its
    `keep` newest (newest by the run time GX files them under), with their Data Docs pages, never
    those of `current_run` (this gate's run name); the deleted results' run folders."""
    _check_keep(keep)
    results = uncommitted / "validations"
    pages = uncommitted / "data_docs" / "local_site" / "validations"  # the same layout, .html
    runs: dict[Path, dict[Path, str]] = defaultdict(dict)  # suite folder -> run folder -> newest time
    try:
        for stamped in results.rglob("*"):
            if GX_RUN_TIME.match(stamped.name) and stamped.is_dir():
                run = stamped.parent
                runs[run.parent][run] = max(runs[run.parent].get(run, ""), stamped.name)
    except OSError as error:  # a folder removed while walking: prune the next time
        log.warning("not pruning GX results under %s this time: %s", results, error)
        return []
    stale = []
    for by_run in runs.values():
        stale.extend(_beyond_newest(by_run, keep, lambda run: run.name == current_run))
    for run in stale:
        _remove(run)
        _remove(pages / run.relative_to(results))
    return stale


def prune_run_logs(folder: Path, keep: int, current: Path) -> list[Path]:
    """Delete all but the `keep` most recently written `make run` logs (`run-*.log`) in `folder`,
    never `current` (this run's); the deleted. What cannot be deleted is left for the next run."""
    _check_keep(keep)
    written = {}
    for path in folder.glob("run-*.log"):
        try:
            written[path] = path.stat().st_mtime
        except OSError:  # deleted meanwhile
            continue
    stale = _beyond_newest(written, keep, lambda p: p == current)
    for path in stale:
        try:
            path.unlink()
        except OSError as error:
            log.warning("could not delete %s: %s", path, error)
    return stale
