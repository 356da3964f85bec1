"""Where things are: the repository's own folders (found once, from this file) and the warehouse
files readers are pointed at.

The warehouse's documentation for readers is in WAREHOUSE_DIR/docs (`make docs`): two pages, both
opening offline from the folder alone: `index.html`, dbt's docs site (every model, column
definition, test and the lineage graph) of the current build, and `quality.html`, the quality
gate's latest Great Expectations results per suite. The quality page is also rewritten by every
gate, so it is current whether or not `make docs` ran since.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MINER_UNIVERSE_SEED = REPO_ROOT / "seeds" / "miner_universe.csv"

DBT_PAGE = "index.html"
QUALITY_PAGE = "quality.html"


def docs_dir(warehouse_dir: Path) -> Path:
    """Where the documentation lands: beside the build it describes, in WAREHOUSE_DIR/docs."""
    return warehouse_dir / "docs"
