"""`make docs`: dbt's docs site and the quality gate's results of the current build, in WAREHOUSE_DIR/docs.

Both pages open offline and contact no other host. Without a build (`make run` has not run on
this warehouse) it stops with one line saying so, exit code 1; a setting that cannot be used, as
for `make run`, exit code 2; while a run uses the warehouse, one line naming it, exit code 75.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from orchestration.core.run_lock import EXIT_BUSY, WarehouseBusy, hold_warehouse
from orchestration.core.settings import Settings, SettingsError, load_settings, prepare_environment


def main(settings: Settings | None = None) -> int:
    prepare_environment()
    try:
        settings = settings or load_settings()
    except SettingsError as error:
        print(f"Cannot build the docs: {error}", file=sys.stderr)
        return 2
    if not settings.build_db.exists():
        print(f"Cannot build the docs: no build at {settings.build_db}; run `make run` first.", file=sys.stderr)
        return 1
    try:  # dbt opens the build file and writes beside it: not while a run does (core/run_lock.py)
        with hold_warehouse(settings.warehouse_dir, "`make docs`"):
            return _document(settings)
    except WarehouseBusy as busy:
        print(f"Cannot build the docs: {busy}", file=sys.stderr)
        return EXIT_BUSY


def _document(settings: Settings) -> int:
    # Imported once there is something to document: dbt and Dagster take seconds to import.
    from orchestration.quality.data_docs import make_site_offline
    from orchestration.quality.results_page import write_results_page
    from orchestration.quality.suites import suite_tables
    from orchestration.transform.docs_site import DocsError, build_dbt_site

    print(f"Documenting {settings.build_db} ...", flush=True)
    try:
        dbt_page = build_dbt_site(settings.paths, settings.keep_runs)
    except DocsError as error:
        print(f"Cannot build the docs: {error}", file=sys.stderr)
        return 1
    make_site_offline(settings.paths.gx_site, settings.paths.quality_page)
    quality_page = write_results_page(settings.paths, suite_tables(), datetime.now(UTC))
    print(f"dbt docs (models, columns, tests, lineage): {dbt_page}")
    print(f"Quality gate results: {quality_page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
