"""The dbt project as Dagster sees it, with a manifest that is always current.

dagster-dbt's `prepare_if_dev()` only re-parses under `dagster dev`; `make run`, the tests and the
schedule daemon would otherwise load a stale or missing manifest. So outside `dagster dev` the
project is also prepared whenever a model, macro, seed or project file is newer than the manifest.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.core.paths import REPO_ROOT

DBT_DIR = REPO_ROOT / "dbt_project"
WATCHED = (REPO_ROOT / "models", REPO_ROOT / "macros", REPO_ROOT / "seeds", DBT_DIR)


def newest_source_mtime(paths: tuple[Path, ...] = WATCHED) -> float:
    files = (
        f
        for p in paths
        for f in p.rglob("*")
        if f.suffix in {".sql", ".yml", ".yaml", ".csv"} and not {"target", "logs"} & set(f.relative_to(p).parts)
    )
    return max((f.stat().st_mtime for f in files), default=0.0)


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < newest_source_mtime()


DBT_PROJECT = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
DBT_PROJECT.prepare_if_dev()
if manifest_is_stale(DBT_PROJECT):
    DBT_PROJECT.preparer.prepare(DBT_PROJECT)
