"""The dbt project as Dagster sees it, with a manifest that is always current.

dagster-dbt's `prepare_if_dev()` only re-parses under `dagster dev`; `make run`, the tests and the
schedule daemon would otherwise load a stale or missing manifest. So outside `dagster dev` the
project is also prepared whenever a model, macro, seed or project file is newer than the manifest,
when the project is first asked for (dbt_project()).
"""

from __future__ import annotations

import functools
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.core.paths import REPO_ROOT
from orchestration.core.settings import prepare_environment

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


@functools.cache
def dbt_project() -> DbtProject:
    """The project, its manifest made current on first use, not on import: modules that only need
    its folders (the docs site, the tests) never start a parse. The dbt asset definitions need the
    manifest when they are defined (dagster-dbt reads it in `@dbt_assets`), so loading the
    Definitions still parses once when a model changed; the parse is a dbt subprocess, started
    after the environment is prepared (this venv's dbt, telemetry off)."""
    prepare_environment()
    project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
    project.prepare_if_dev()
    if manifest_is_stale(project):
        project.preparer.prepare(project)
    return project
