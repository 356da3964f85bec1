"""A real PostgreSQL server for the team-deployment tests, started by the tests themselves.

pgserver ships PostgreSQL 16's binaries as a wheel, so a fresh machine needs nothing but the venv.
PostgreSQL refuses to run as root (CI runs as root): pgserver then runs the server as a system
user of its own ("pgserver", created on first use), which is why the data folder lives in a
folder that user can reach. The server listens on a Unix socket only (no TCP port, so nothing
clashes with another server and pytest-socket's --allow-unix-socket lets the tests through).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pgserver


@dataclass(frozen=True)
class PostgresServer:
    server: pgserver.PostgresServer
    socket_dir: str

    def create_database(self, name: str) -> None:
        """A new, empty database `name` (lower-case letters, digits and underscores)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.server.psql(f"CREATE DATABASE {name};")

    def url(self, database: str) -> str:
        """SQLAlchemy/psycopg2 URL of `database` (DAGSTER_PG_URL's form)."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def libpq(self, database: str) -> str:
        """libpq key-value string of `database` (DuckDB's postgres and ducklake extensions' form)."""
        return f"dbname={database} host={self.socket_dir} user=postgres"


def start(parent: Path | None = None) -> PostgresServer:
    """A running server in a new folder under `parent` (default: the system's temp folder),
    deleted with its data when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
    server = pgserver.get_server(folder, cleanup_mode="delete")
    return PostgresServer(server, str(folder))
