"""One Dagster instance per warehouse: the publish gate trusts the check evaluations an instance
recorded, so an instance must never serve two warehouses.

Where the rule is kept follows where the history is kept: a `warehouse_dir.txt` in DAGSTER_HOME for
an instance on SQLite files there, a one-row table `warehouse_instance_owner` in the PostgreSQL
database for an instance on PostgreSQL (DAGSTER_PG_URL). Several DAGSTER_HOMEs (the UI's, the
daemon's, each machine's `make run`) share that database and so one history and one gate: a file in
one of those folders would let another folder's runs of a different warehouse in unseen.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration.core.settings import masked_url, prepare_instance_home

INSTANCE_OWNER = "warehouse_dir.txt"  # in a persistent instance's folder (DAGSTER_HOME): whose history it is
OWNER_TABLE = "warehouse_instance_owner"  # in an instance's PostgreSQL database: whose history it is


def postgres_url_of(instance: dg.DagsterInstance) -> str | None:
    """The PostgreSQL URL an instance keeps its runs in (dagster-postgres), None for any other storage."""
    from dagster_postgres import PostgresRunStorage

    storage = instance.run_storage
    return storage.postgres_url if isinstance(storage, PostgresRunStorage) else None


def claim_instance(instance: dg.DagsterInstance, warehouse_dir: Path) -> None:
    """One Dagster instance per warehouse. The publish gate trusts the check evaluations the
    instance recorded (quality/gate.py), so a DAGSTER_HOME shared by two warehouses (one exported
    in a shell profile, say) would let one warehouse's checks clear the other's build. The first
    run on a persistent instance writes its warehouse's folder there (an instance from before this
    rule belongs to the warehouse it last published); a run of another warehouse is refused before
    any of its steps runs."""
    if not instance.is_persistent:
        return
    own = str(warehouse_dir.resolve())
    url = postgres_url_of(instance)
    if url is not None:
        owner = _database_owner(url, own, instance)
        where = f"the PostgreSQL database {masked_url(url)} (DAGSTER_PG_URL)"
        moved = f"UPDATE {OWNER_TABLE} SET warehouse_dir = '{own}' in that database"
    else:
        marker = Path(instance.root_directory) / INSTANCE_OWNER
        owner = _recorded_owner(marker) or _last_published_to(instance) or own
        if owner == own and not marker.exists():
            owner = _record_owner(marker, own)
        where, moved = f"the Dagster instance {instance.root_directory} (DAGSTER_HOME)", f"write {own} into {marker}"
    if owner != own:
        fix = (
            "Give this warehouse a database of its own (DAGSTER_PG_URL)"
            if url is not None
            else "Unset DAGSTER_HOME (the Makefile then uses $WAREHOUSE_DIR/dagster_home) or give this warehouse a "
            "folder of its own"
        )
        raise dg.Failure(
            description=(
                f"{where} holds the run history of the warehouse {owner}, not of {own}: the publish gate trusts "
                f"the checks recorded there, so one instance must not serve two warehouses. {fix}; if the "
                f"warehouse has moved from {owner} to {own}, {moved}."
            )
        )


def _database_owner(url: str, own: str, instance: dg.DagsterInstance) -> str:
    """The warehouse the PostgreSQL database's history belongs to, claimed for `own` when nobody has
    claimed it yet (an instance from before the rule: where it last published). One row, inserted
    only if absent, so two runs starting together on two machines agree on one owner."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            # Serialises the first claims: CREATE TABLE IF NOT EXISTS itself is not safe to race.
            conn.execute(sa.text("select pg_advisory_xact_lock(hashtext(:name))"), {"name": OWNER_TABLE})
            conn.execute(
                sa.text(
                    f"create table if not exists {OWNER_TABLE} (one boolean primary key default true check (one), "
                    "warehouse_dir text not null, claimed_at timestamptz not null default now())"
                )
            )
            row = conn.execute(sa.text(f"select warehouse_dir from {OWNER_TABLE}")).fetchone()
            if row is None:
                first = _last_published_to(instance) or own
                conn.execute(sa.text(f"insert into {OWNER_TABLE} (warehouse_dir) values (:dir)"), {"dir": first})
                return first
            return str(Path(row[0]).resolve())
    finally:
        engine.dispose()


def _recorded_owner(marker: Path) -> str | None:
    try:
        text = marker.read_text().strip()
    except FileNotFoundError:
        return None
    return str(Path(text).resolve()) if text else None


def _record_owner(marker: Path, own: str) -> str:
    """Record `own` as the owner unless a run starting at the same moment got there first (a hard
    link appears whole or not at all); the owner."""
    temporary = marker.with_name(f".{marker.name}.{os.getpid()}")
    temporary.write_text(own + "\n")
    try:
        os.link(temporary, marker)
    except FileExistsError:
        return _recorded_owner(marker) or own
    finally:
        temporary.unlink(missing_ok=True)
    return own


def _last_published_to(instance: dg.DagsterInstance) -> str | None:
    """The warehouse an instance from before the marker served: where it last published."""
    event = instance.get_latest_materialization_event(dg.AssetKey("published_warehouse"))
    path = event.asset_materialization.metadata.get("path") if event and event.asset_materialization else None
    return str(Path(path.value).parent.resolve()) if path else None


def open_instance(home: Path, dagster_pg_url: str | None = None) -> dg.DagsterInstance:
    """The persistent instance in `home` (DAGSTER_HOME; by default WAREHOUSE_DIR/dagster_home),
    made ready first (prepare_instance_home: its history in PostgreSQL when `dagster_pg_url` is
    given). DAGSTER_HOME (and DAGSTER_PG_URL, which the dagster.yaml names) are set for this process
    and what it starts, which is how Dagster's public `DagsterInstance.get()` finds an instance."""
    if dagster_pg_url:
        os.environ["DAGSTER_PG_URL"] = dagster_pg_url
    os.environ["DAGSTER_HOME"] = str(prepare_instance_home(home, dagster_pg_url))
    return dg.DagsterInstance.get()
