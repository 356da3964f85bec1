"""Keep what every run leaves beside the warehouse bounded: the newest runs' dbt folders and GX results.

Each `dbt build` step leaves a folder (its manifest, compiled SQL, run_results.json and dbt.log:
about 6 MB for the demo), and each quality gate a GX validation result and its Data Docs page per
suite (about 1 MB a full run). With the daily schedule on that is some 2.5 GB a year that nobody
reads after a few weeks. So after each step only the newest WAREHOUSE_KEEP_RUNS (default 30) are
kept: of the dbt folders, and of every GX suite's results and pages.

Dagster's own run history in DAGSTER_HOME is not pruned here: the publish gate reads the latest
materialisation and check evaluation of every asset from it (see the README, *Housekeeping*).
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

DEFAULT_KEEP_RUNS = 30
# GX files a result as <suite path>/<run name>/<run time>/<batch id>.json (.html for its page).
GX_RUN_TIME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")


def prune_run_folders(parent: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` most recently modified folders directly under `parent`; the deleted."""
    if not parent.is_dir():
        return []
    folders = sorted((p for p in parent.iterdir() if p.is_dir()), key=lambda p: (p.stat().st_mtime, p.name))
    stale = folders[: max(len(folders) - keep, 0)]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def prune_gx_results(uncommitted: Path, keep: int) -> list[Path]:
    """In a GX project's `uncommitted/` folder, delete every suite's validation results but its
    `keep` newest (newest by the run time GX files them under), with their Data Docs pages; the
    deleted results' run folders."""
    results = uncommitted / "validations"
    pages = uncommitted / "data_docs" / "local_site" / "validations"  # the same layout, .html
    if not results.is_dir():
        return []
    runs: dict[Path, dict[Path, str]] = defaultdict(dict)  # suite folder -> run folder -> newest time
    for stamped in results.rglob("*"):
        if stamped.is_dir() and GX_RUN_TIME.match(stamped.name):
            run = stamped.parent
            runs[run.parent][run] = max(runs[run.parent].get(run, ""), stamped.name)
    stale = []
    for by_run in runs.values():
        newest_first = sorted(by_run, key=lambda run: (by_run[run], run.name), reverse=True)
        stale.extend(newest_first[keep:])
    for run in stale:
        shutil.rmtree(run, ignore_errors=True)
        shutil.rmtree(pages / run.relative_to(results), ignore_errors=True)
    return stale
