"""Environment settings, read once, typed and validated.

Everything that differs between a laptop, CI and a future MotherDuck deployment comes from here, so
no other module reads os.environ for configuration.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from orchestration.core.paths import REPO_ROOT, WarehousePaths

SOURCES = ("demo", "csv", "live")
# The analyst's share counts the live source reads from WAREHOUSE_CSV_DIR when
# WAREHOUSE_SHARES_OVERRIDES does not name a file.
SHARES_OVERRIDES_FILE = "shares_overrides.csv"
# WAREHOUSE_LIVE_REFRESH values that mean "download again": the live source's errors name the variable.
LIVE_REFRESH = "WAREHOUSE_LIVE_REFRESH"
YES = frozenset({"1", "true", "yes"})
# Runs whose dbt folders, GX results and run logs are kept (WAREHOUSE_KEEP_RUNS; pruned by retention.py).
DEFAULT_KEEP_RUNS = 30
# Seconds `make run` waits for another run holding the warehouse (WAREHOUSE_WRITER_WAIT, DAGSTER_PG_URL only).
DEFAULT_WRITER_WAIT = 1800.0


class SettingsError(ValueError):
    """An environment variable that cannot be used; the message names it and its value."""


@dataclass(frozen=True)
class Settings:
    warehouse_dir: Path
    source: str
    csv_dir: Path | None = None  # WAREHOUSE_CSV_DIR: the analyst's exports (source "csv")
    demo_tickers: int | None = None  # WAREHOUSE_DEMO_TICKERS: scale the demo (benchmarks)
    demo_years: float | None = None  # WAREHOUSE_DEMO_YEARS: history length from 2019-01-01 (benchmarks)
    keep_runs: int = DEFAULT_KEEP_RUNS  # WAREHOUSE_KEEP_RUNS: dbt run folders, GX results and run logs kept
    dagster_home: Path | None = None  # DAGSTER_HOME, else WAREHOUSE_DIR/dagster_home (None: an ephemeral instance)
    # The live source's (sources/live): the User-Agent SEC EDGAR requires (SEC_USER_AGENT), the analyst's
    # share counts (WAREHOUSE_SHARES_OVERRIDES, else WAREHOUSE_CSV_DIR/shares_overrides.csv when there),
    # and WAREHOUSE_LIVE_REFRESH=1: download again what raw_responses/ already holds.
    sec_user_agent: str | None = None
    shares_overrides: Path | None = None
    live_refresh: bool = False
    # WAREHOUSE_ALLOW_MISSING_CAP: members the analyst lets publish without a market cap in a month,
    # as 'TICKER:YYYY-MM' (the gate blocks a member without one otherwise).
    missing_caps_allowed: tuple[str, ...] = ()
    # WAREHOUSE_ALLOW_SHRINK=1: publish even when readers would lose months or members the current
    # publication has (a source with less history, e.g. a truncated export; refused otherwise).
    allow_shrink: bool = False
    # The team's lake (docs/lake.md): WAREHOUSE_LAKE, a DuckLake catalog ('postgres:<libpq string>' or a
    # local '.ducklake' file), and WAREHOUSE_LAKE_DATA, the folder of its Parquet files every machine
    # mounts. Both or neither; with them, each publication is also committed to the lake as one snapshot.
    lake: str | None = None
    lake_data: str | None = None
    # DAGSTER_PG_URL: the PostgreSQL database the Dagster instance keeps its runs, events, schedules and
    # concurrency slots in (a team's shared history; docs/deployment.md). None: SQLite in dagster_home.
    # May hold a password: never printed (masked_url). WAREHOUSE_WRITER_WAIT: how long `make run` waits
    # for another run that holds the warehouse before it gives up (seconds; only with DAGSTER_PG_URL).
    dagster_pg_url: str | None = field(default=None, repr=False)
    writer_wait: float = DEFAULT_WRITER_WAIT

    @property
    def paths(self) -> WarehousePaths:
        """Every path of the warehouse folder (core/paths.py)."""
        return WarehousePaths(self.warehouse_dir)

    @property
    def build_db(self) -> Path:
        """The file every run writes (raw schema + dbt models)."""
        return self.paths.build_db

    @property
    def published_db(self) -> Path:
        """The file readers open read-only; replaced atomically by the publish asset."""
        return self.paths.published_db


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """The settings of `environ` (default: the process environment); SettingsError names what is
    wrong. The source's own rules on its settings (the demo's scale) are the source's to check,
    where a run is about to build one: raw.sources.check_source_settings."""
    env = os.environ if environ is None else environ
    source = env.get("WAREHOUSE_SOURCE", "demo").strip().lower() or "demo"
    if source not in SOURCES:
        raise SettingsError(f"WAREHOUSE_SOURCE={source!r} is not one of {', '.join(SOURCES)}")
    warehouse_dir = _absolute(env.get("WAREHOUSE_DIR", "") or REPO_ROOT / "warehouse")
    csv_dir = _absolute(env["WAREHOUSE_CSV_DIR"]) if env.get("WAREHOUSE_CSV_DIR") else None
    if source == "csv" and csv_dir is None:
        raise SettingsError("WAREHOUSE_SOURCE=csv needs WAREHOUSE_CSV_DIR: the folder of your CSV files (not set)")
    if source == "csv" and not csv_dir.is_dir():
        raise SettingsError(f"WAREHOUSE_CSV_DIR={env['WAREHOUSE_CSV_DIR']!r}: no such folder ({csv_dir})")
    shares_overrides = _absolute(env["WAREHOUSE_SHARES_OVERRIDES"]) if env.get("WAREHOUSE_SHARES_OVERRIDES") else None
    if shares_overrides is None and csv_dir is not None and (csv_dir / SHARES_OVERRIDES_FILE).is_file():
        shares_overrides = csv_dir / SHARES_OVERRIDES_FILE
    keep_runs = _number(env, "WAREHOUSE_KEEP_RUNS", r"0*[1-9][0-9]*", "a whole number of runs of at least 1", int)
    settings = Settings(
        warehouse_dir=warehouse_dir,
        source=source,
        csv_dir=csv_dir,
        demo_tickers=_number(env, "WAREHOUSE_DEMO_TICKERS", r"[0-9]+", "a whole number of tickers", int),
        demo_years=_number(env, "WAREHOUSE_DEMO_YEARS", r"[+-]?[0-9]*\.?[0-9]+", "a number of years", float),
        keep_runs=DEFAULT_KEEP_RUNS if keep_runs is None else keep_runs,
        dagster_home=_absolute(env["DAGSTER_HOME"])
        if env.get("DAGSTER_HOME")
        else WarehousePaths(warehouse_dir).dagster_home,
        sec_user_agent=env.get("SEC_USER_AGENT") or None,
        shares_overrides=shares_overrides,
        live_refresh=env.get(LIVE_REFRESH, "").strip().lower() in YES,
        missing_caps_allowed=_ticker_months(env, "WAREHOUSE_ALLOW_MISSING_CAP"),
        allow_shrink=_switch(env, "WAREHOUSE_ALLOW_SHRINK"),
        **_lake(env),
        dagster_pg_url=_postgres_url(env, "DAGSTER_PG_URL"),
        writer_wait=_writer_wait(env, "WAREHOUSE_WRITER_WAIT"),
    )
    return settings


def _lake(env) -> dict[str, str | None]:
    """WAREHOUSE_LAKE and WAREHOUSE_LAKE_DATA, checked: both or neither (a lake without its data
    folder, or the reverse, is a half-configured deployment, refused rather than ignored); a catalog
    this venv has an extension for (PostgreSQL, a local DuckLake file); a data folder that exists
    (an unmounted share must not be replaced by a local folder of the same name). `s3://` would need
    the httpfs extension, which no wheel here provides: refused, said plainly."""
    catalog = env.get("WAREHOUSE_LAKE", "").strip().removeprefix("ducklake:")
    data = env.get("WAREHOUSE_LAKE_DATA", "").strip()
    if not catalog and not data:
        return {"lake": None, "lake_data": None}
    if not catalog or not data:
        given, missing = (
            ("WAREHOUSE_LAKE", "WAREHOUSE_LAKE_DATA") if catalog else ("WAREHOUSE_LAKE_DATA", "WAREHOUSE_LAKE")
        )
        raise SettingsError(
            f"{given} is set but {missing} is not: the lake needs both (its catalog and its data folder)"
        )
    if catalog.startswith("postgres:"):
        if not catalog.removeprefix("postgres:").strip():
            raise SettingsError(
                f"WAREHOUSE_LAKE={env['WAREHOUSE_LAKE']!r}: no connection after postgres: "
                "(e.g. postgres:dbname=lake host=db.internal)"
            )
    elif re.match(r"[a-z][a-z0-9+]*:", catalog):
        raise SettingsError(
            f"WAREHOUSE_LAKE={env['WAREHOUSE_LAKE']!r}: a catalog of kind {catalog.split(':')[0]!r} is not "
            "supported; use postgres:<libpq connection> or the path of a local .ducklake file"
        )
    else:
        path = _absolute(catalog)
        if not path.parent.is_dir():
            raise SettingsError(f"WAREHOUSE_LAKE={env['WAREHOUSE_LAKE']!r}: no such folder ({path.parent})")
        catalog = str(path)
    if data.startswith("s3://"):
        raise SettingsError(
            f"WAREHOUSE_LAKE_DATA={data!r}: an s3:// data path needs DuckDB's httpfs extension, which this "
            "venv has no wheel of (extensions load only from wheels, never the network): use a folder every "
            "machine mounts"
        )
    if re.match(r"[a-z][a-z0-9+]*://", data):
        raise SettingsError(f"WAREHOUSE_LAKE_DATA={data!r}: not a folder; use a folder every machine mounts")
    folder = _absolute(data)
    if not folder.is_dir():
        raise SettingsError(f"WAREHOUSE_LAKE_DATA={data!r}: no such folder ({folder}); is the share mounted?")
    return {"lake": catalog, "lake_data": str(folder)}


def masked_url(url: str) -> str:
    """`url` with any password replaced by ***: what a message may show of DAGSTER_PG_URL. Also
    for text that is not a URL at all (a libpq 'password=...' string, a URL missing its scheme)."""
    url = re.sub(r"(?<=:)[^:/@?#\s]*(?=@)", "***", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)


def _postgres_url(env, name: str) -> str | None:
    """A PostgreSQL URL (postgresql://user:password@host:port/database, or with ?host=/socket/dir),
    None when unset; anything else names the variable, its password masked. Returned with the
    driver named (postgresql+psycopg2://): SQLAlchemy 2.1, which dagster-postgres hands the URL to,
    reads a bare postgresql:// as psycopg 3, which this venv does not install (psycopg2 it does)."""
    url = env.get(name, "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("postgresql", "postgresql+psycopg2") or not parts.path.strip("/"):
        raise SettingsError(
            f"{name}={masked_url(url)!r} is not a PostgreSQL URL with a database: "
            "postgresql://user:password@host:5432/database"
        )
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


def _writer_wait(env, name: str) -> float:
    value = _number(env, name, r"[0-9]*\.?[0-9]+", "a number of seconds (0: refuse at once)", float)
    return DEFAULT_WRITER_WAIT if value is None else value


def _number(env, name: str, pattern: str, what: str, kind: type):
    """The variable's value as `kind`, None when unset or empty; anything else names the variable."""
    text = env.get(name, "").strip()
    if not text:
        return None
    if not re.fullmatch(pattern, text):
        raise SettingsError(f"{name}={env[name]!r} is not {what}")
    return kind(text)


NO = frozenset({"0", "false", "no"})


def _switch(env, name: str) -> bool:
    """1/true/yes: on; unset, empty, 0/false/no: off; anything else names the variable."""
    text = env.get(name, "").strip().lower()
    if text and text not in YES | NO:
        raise SettingsError(f"{name}={env[name]!r} is not 1 (yes) or 0 (no)")
    return text in YES


def _ticker_months(env, name: str) -> tuple[str, ...]:
    """'MARA:2024-06, riot:2024-07' -> ('MARA:2024-06', 'RIOT:2024-07'); anything else names the variable."""
    entries = [entry.strip().upper() for entry in re.split(r"[,\s]+", env.get(name, "")) if entry.strip()]
    for entry in entries:
        if not re.fullmatch(r"[A-Z0-9.\-]+:[0-9]{4}-(0[1-9]|1[0-2])", entry):
            raise SettingsError(f"{name}={env[name]!r}: {entry!r} is not TICKER:YYYY-MM (e.g. MARA:2024-06)")
    return tuple(sorted(set(entries)))


def _absolute(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


TELEMETRY_OFF = {
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "TQDM_DISABLE": "1",  # GX's progress bars would flood the run log
}

# A run over a range of months (a full refresh spans ~95) records one "materialization planned"
# event per asset for the range instead of one per month and asset (Dagster's opt-in, PR #29288):
# ~4 s off every full `make run`. What it costs: while such a run is going, or after it failed, the
# UI's partition bar does not mark those months in progress or failed (the run page does; the raw
# loads are transactional, so a failed run leaves every month's rows as they were). Single-month
# runs (the schedules) are not affected. Set it to 0 to have the per-month status back.
DAGSTER_RUN_SETTINGS = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}


def prepare_environment() -> None:
    """No telemetry anywhere (offline it would only hang or fail: dbt, Dagster, GX), Dagster's run
    settings, and this interpreter's own tools (dbt) found first even when the venv is not
    activated."""
    for name, value in {**TELEMETRY_OFF, **DAGSTER_RUN_SETTINGS}.items():
        os.environ.setdefault(name, value)
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


# The Dagster pool every asset that writes the warehouse belongs to (core/writer.py). One instance
# serves one warehouse (core/instance.py), so one name is enough.
WAREHOUSE_POOL = "warehouse"
# The first line of a dagster.yaml this code wrote: such a file follows the settings (rewritten when
# DAGSTER_PG_URL is set or unset); a file without it is a team's own and is left alone.
WRITTEN_HERE = "# Written by orchestration/core/settings.py (prepare_instance_home); edits are overwritten.\n"
TELEMETRY_ONLY = "telemetry:\n  enabled: false\n"


def instance_config(dagster_pg_url: str | None) -> str:
    """The dagster.yaml of the warehouse's instance. Telemetry off always (Dagster's CLI and UI read
    their switch only there). With DAGSTER_PG_URL: runs, events, schedules and concurrency slots in
    PostgreSQL (dagster-postgres), read from the environment variable by every process (the file holds
    no password); runs launched from the UI or the daemon go through the run queue, which dequeues at
    most one run of the warehouse's pool at a time (`granularity: run`, limit 1: core/writer.py)."""
    if dagster_pg_url is None:
        return WRITTEN_HERE + TELEMETRY_ONLY
    return (
        WRITTEN_HERE
        + TELEMETRY_ONLY
        + "storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"
        + "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"
        + "concurrency:\n  pools:\n    granularity: run\n    default_limit: 1\n"
    )


def prepare_instance_home(home: Path, dagster_pg_url: str | None = None) -> Path:
    """A Dagster instance folder made ready: created, with the dagster.yaml of instance_config (the
    history in PostgreSQL when `dagster_pg_url` is given, else SQLite files in the folder). A
    dagster.yaml this code did not write (a team's own storage settings) is left as it is."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    current = config.read_text() if config.exists() else None
    if current is None or current == TELEMETRY_ONLY or current.startswith(WRITTEN_HERE):
        wanted = instance_config(dagster_pg_url)
        if current != wanted:
            temporary = config.with_name(f".dagster.yaml.{os.getpid()}")
            temporary.write_text(wanted)
            temporary.replace(config)  # whole or not at all: a UI may be reading it
    return home
