"""Where raw rows come from: one module per source behind `Source` (see base.py)."""

from __future__ import annotations

from functools import lru_cache

from orchestration.sources.base import DATASETS, Dataset, Source


@lru_cache(maxsize=4)
def make_source(kind: str) -> Source:
    """The source selected by WAREHOUSE_SOURCE (one instance per process: the demo is generated once)."""
    if kind == "demo":
        from orchestration.sources.demo import DemoSource

        return DemoSource()
    raise ValueError(f"unknown source {kind!r}")


__all__ = ["DATASETS", "Dataset", "Source", "make_source"]
