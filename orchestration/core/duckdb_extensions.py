"""DuckDB extensions loaded from their PyPI wheels, by path: never downloaded.

DuckDB fetches an extension from its own server the first time a statement needs it, which fails
offline (and would run code fetched at run time). The `duckdb-extension-<name>` wheels pinned in
requirements.txt hold `extensions/v<duckdb version>/<name>.duckdb_extension`; this module finds
that file through the installed distribution and LOADs it by path, on a connection with DuckDB's
automatic install and load turned off (`OFFLINE`), so a missing extension is an error here, not a
download. An extension built for another DuckDB release does not load, so the wheel's version
must be this duckdb's: a mismatch is said in one line before DuckDB tries.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import duckdb

# DuckDB's name of the extension -> the wheel that ships it. `postgres_scanner`, not the
# `duckdb-extension-postgres` wheel, whose file lacks the entry point DuckDB looks for.
WHEELS = {
    "ducklake": "duckdb-extension-ducklake",
    "postgres_scanner": "duckdb-extension-postgres-scanner",
}
# For every connection that may touch an extension: nothing installed or loaded behind our back.
OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class ExtensionError(RuntimeError):
    """An extension this DuckDB cannot load from its wheel; the message names the wheel to install."""


def extension_path(name: str) -> Path:
    """The extension file `name` (a key of WHEELS) in its installed wheel, checked against this duckdb."""
    if name not in WHEELS:
        raise ExtensionError(f"no wheel is known for the DuckDB extension {name!r} (known: {', '.join(WHEELS)})")
    wheel, version = WHEELS[name], duckdb.__version__
    try:
        distribution = importlib.metadata.distribution(wheel)
    except importlib.metadata.PackageNotFoundError:
        raise ExtensionError(
            f"the DuckDB extension {name} needs the wheel {wheel}=={version}, which is not installed "
            "(it is in requirements.txt: reinstall the venv)"
        ) from None
    if distribution.version != version:
        raise ExtensionError(
            f"the wheel {wheel} is version {distribution.version}, but duckdb is {version}: an extension loads "
            f"only into the DuckDB release it was built for; install {wheel}=={version}"
        )
    relative = f"extensions/v{version}/{name}.duckdb_extension"
    path = next(
        (Path(distribution.locate_file(file)) for file in distribution.files or () if str(file).endswith(relative)),
        None,
    )
    if path is None or not path.is_file():
        raise ExtensionError(f"the wheel {wheel} {distribution.version} holds no {relative}: reinstall it")
    return path


def load_extensions(conn: duckdb.DuckDBPyConnection, *names: str) -> None:
    """LOAD each extension `names` into `conn` from its wheel (see extension_path)."""
    for name in names:
        path = extension_path(name)
        conn.execute(f"load '{str(path).replace(chr(39), chr(39) * 2)}'")


def connect(*names: str, database: str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection that never downloads an extension, with `names` loaded from their wheels."""
    conn = duckdb.connect(database, read_only=read_only, config=dict(OFFLINE))
    try:
        load_extensions(conn, *names)
    except BaseException:
        conn.close()
        raise
    return conn
