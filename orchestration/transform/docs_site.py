"""dbt's documentation site of the current build, as one page that opens offline: docs/index.html.

`dbt docs generate --static` writes static_index.html, a single file with the manifest (every
model, column definition, test, the lineage) and the catalog (the build file's tables, columns
and types, read from build.duckdb) inlined, so it needs no web server. It is generated with the
pipeline's own project, profile (the build file under WAREHOUSE_DIR) and run-folder layout
(assets.py): dbt's files of this invocation land in their own WAREHOUSE_DIR/dbt_runs folder,
pruned with the builds' to the newest WAREHOUSE_KEEP_RUNS, and dbt starts from the parse state the
last build of this warehouse left.

What the page would load from the network: nothing in its markup (no CDN script, stylesheet or
font), but its bundle holds dbt's usage tracker (Snowplow, loaded from a CloudFront host), switched
on by the manifest's `send_anonymous_usage_stats`. dbt is run with that flag off whatever the
environment says, and the page gets a Content-Security-Policy that refuses any other host
(offline_html.py), so the tracker can neither be switched on nor load.

dbt runs as a subprocess, as in the pipeline, not through its in-process API: dbt-duckdb keeps
its connection to the build file open until the process exits, which would lock build.duckdb
against every later reader and writer of a longer-lived caller (the test session). It is called
directly rather than through dagster-dbt's CLI resource, which first runs `dbt --version`, a
network probe.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from orchestration.core.offline_html import make_offline
from orchestration.core.paths import WarehousePaths
from orchestration.core.retention import prune_run_folders
from orchestration.transform.assets import PARTIAL_PARSE, dbt_run_folder, keep_parse_state
from orchestration.transform.project import DBT_DIR

STATIC_PAGE = "static_index.html"  # dbt's name for the self-contained page, in its target folder
TRACKING_OFF = '"send_anonymous_usage_stats": false'  # in the manifest inlined in the page


class DocsError(RuntimeError):
    """dbt could not generate the docs; the message says why."""


def docs_generate_args(target_path: Path) -> list[str]:
    return [
        "dbt",
        "docs",
        "generate",
        "--static",
        "--no-send-anonymous-usage-stats",
        "--quiet",
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path),
    ]


def build_dbt_site(paths: WarehousePaths, keep_runs: int) -> Path:
    """Generate dbt's static docs of the build in `paths` and write them, made offline, to
    docs/index.html (replaced atomically); its path."""
    target_path = dbt_run_folder(paths, "docs", uuid.uuid4().hex)
    target_path.mkdir(parents=True, exist_ok=True)
    cache = paths.dbt_parse_state
    if cache.exists():
        shutil.copyfile(cache, target_path / PARTIAL_PARSE)
    try:
        # prepare_environment() put this interpreter's dbt first on PATH and telemetry off
        result = subprocess.run(docs_generate_args(target_path), env={**os.environ, **paths.dbt_env()})
    finally:
        keep_parse_state(target_path, cache)
        prune_run_folders(target_path.parent, keep_runs, current=target_path)
    static = target_path / STATIC_PAGE
    if result.returncode != 0 or not static.exists():
        raise DocsError(f"dbt docs generate failed (exit code {result.returncode}; its log: {target_path / 'dbt.log'})")
    text = static.read_text(encoding="utf-8")
    if TRACKING_OFF not in text:
        raise DocsError(f"dbt's page has usage tracking on ({STATIC_PAGE} in {target_path}); not written")
    page = paths.dbt_docs_page
    page.parent.mkdir(parents=True, exist_ok=True)
    temporary = page.with_name(f".{page.name}.{os.getpid()}.tmp")
    temporary.write_text(make_offline(text), encoding="utf-8")
    os.replace(temporary, page)
    return page
