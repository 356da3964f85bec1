"""The one interface every source implements.

A source hands back a pandas DataFrame per dataset with exactly the columns of the raw contract
(`orchestration.raw.contract.DATASETS`); the raw loader validates and writes it. Sources never
touch DuckDB themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import date

import pandas as pd


class Source(ABC):
    """Where raw rows come from. One subclass per source (demo, csv, live)."""

    name: str
    synthetic: bool = False
    # Problems found by the latest fetch that do not stop a load (a stale share count, a fallback
    # feed); the raw asset shows them on its materialisation.
    warnings: Sequence[str] = ()

    @abstractmethod
    def fetch(self, dataset: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """Rows of `dataset` (a key of DATASETS) with `date_column` in [start, end] (inclusive;
        None = unbounded), with the dataset's columns. Values may arrive as text (a file source
        returns them untouched): the raw loader validates and casts them."""

    def origin(self, dataset: str) -> str:
        """Where `dataset`'s rows came from, as bad-input errors name it (a file path, an endpoint)."""
        return f"{self.label} source, dataset {dataset}"

    @property
    def label(self) -> str:
        return f"{self.name} (SYNTHETIC)" if self.synthetic else self.name
