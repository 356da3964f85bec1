"""`make clean`: delete the warehouse folder (WAREHOUSE_DIR) and dbt's own target and logs, nothing else.

The folder comes from the settings, as every run reads it, so a path with spaces or quotes is one
path. A folder that cannot be a warehouse is refused with one line and exit 2: the file system root,
the home folder, the repository itself or a folder holding it, or a folder with files but no
warehouse in it (no build.duckdb, published.duckdb or publications/). A warehouse that a run is
using (core/run_lock.py) is not deleted: one line names the run, exit 2.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from orchestration.core.paths import REPO_ROOT
from orchestration.core.run_lock import WarehouseBusy, WarehouseLock
from orchestration.core.settings import SettingsError, load_settings

DBT_OUTPUT = (REPO_ROOT / "dbt_project" / "target", REPO_ROOT / "dbt_project" / "logs")


def refusal(folder: Path) -> str | None:
    """Why `folder` must not be deleted as a warehouse, or None."""
    folder = folder.resolve()
    if folder == Path(folder.anchor):
        return "it is the file system's root"
    if folder == Path.home().resolve():
        return "it is your home folder"
    if folder == REPO_ROOT or REPO_ROOT.is_relative_to(folder):
        return "it holds the repository"
    if folder.is_dir() and any(folder.iterdir()):
        paths = [folder / "build.duckdb", folder / "published.duckdb", folder / "publications"]
        if not any(p.exists() or p.is_symlink() for p in paths):
            return "it holds files but no warehouse (no build.duckdb, published.duckdb or publications/)"
    return None


def main() -> int:
    try:
        folder = load_settings().warehouse_dir
    except SettingsError as error:
        print(f"clean: {error}", file=sys.stderr)
        return 2
    reason = refusal(folder)
    if reason:
        print(f"clean: not deleting WAREHOUSE_DIR={str(folder)!r}: {reason}", file=sys.stderr)
        return 2
    try:
        # not while a run uses it (core/run_lock.py); held while deleting, so none starts meanwhile
        lock = WarehouseLock(folder, "`make clean`").acquire() if folder.is_dir() else None
    except WarehouseBusy as busy:
        print(f"clean: not deleting now: {busy}", file=sys.stderr)
        return 2
    try:
        for path in (folder, *DBT_OUTPUT):
            shutil.rmtree(path, ignore_errors=True)
    finally:
        if lock is not None:
            lock.release()
    print(f"removed {folder} and dbt's target and logs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
