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


class RawSource(ABC):
    """Where raw rows come from: the origin WAREHOUSE_SOURCE selects. One subclass per value
    (demo, csv, live).

    A source has two names, for two readers. `name` is the setting's value (`demo`, `csv`, `live`):
    what machines compare, so it is what `raw.load_log.source_name` stores (the note mart reads
    it next to `is_synthetic`, which says "synthetic" in a column of its own). `label` is `name` with
    " (SYNTHETIC)" when the rows are made up: what people read, so it goes into the run's log
    lines, the raw assets' `source` metadata and `publication_log.source`, where no reader should
    take demo numbers for real ones."""

    name: str  # the WAREHOUSE_SOURCE value
    synthetic: bool = False
    # The credit and terms the data comes with, kept in every publication (publication_log.attribution).
    attribution: str = ""
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

    def provenance(self, dataset: str) -> str:
        """Where the latest fetch of `dataset` came from, in one line (raw.load_log's `origin`); a
        source that mixes providers and files per dataset (live) says which part came from where."""
        return self.origin(dataset)

    @property
    def label(self) -> str:
        """`name`, marked " (SYNTHETIC)" for a synthetic source: for people (see the class docstring)."""
        return f"{self.name} (SYNTHETIC)" if self.synthetic else self.name
