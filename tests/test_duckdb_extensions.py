"""DuckDB extensions come from their wheels, loaded by path, and never from the network."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.core import duckdb_extensions
from orchestration.core.duckdb_extensions import ExtensionError, extension_path


def test_extensions_load_from_their_wheels_only(monkeypatch):
    conn = duckdb_extensions.connect("ducklake", "postgres_scanner")
    loaded = {r[0] for r in conn.execute("select extension_name from duckdb_extensions() where loaded").fetchall()}
    assert {"ducklake", "postgres_scanner"} <= loaded
    assert conn.execute("select current_setting('autoinstall_known_extensions')").fetchone() == (False,)
    assert extension_path("ducklake").name == "ducklake.duckdb_extension"
    assert f"v{duckdb.__version__}" in extension_path("ducklake").parts
    with pytest.raises(ExtensionError, match="no wheel is known for the DuckDB extension 'httpfs'"):
        extension_path("httpfs")
    monkeypatch.setitem(duckdb_extensions.WHEELS, "ducklake", "duckdb-extension-not-installed")
    with pytest.raises(ExtensionError, match=r"needs the wheel duckdb-extension-not-installed==1\.5\.5, which is not"):
        extension_path("ducklake")
    monkeypatch.undo()
    monkeypatch.setattr(duckdb, "__version__", "1.5.6")
    with pytest.raises(
        ExtensionError,
        match=r"the wheel duckdb-extension-ducklake is version 1\.5\.5, but duckdb is 1\.5\.6: .* install "
        r"duckdb-extension-ducklake==1\.5\.6",
    ):
        extension_path("ducklake")
