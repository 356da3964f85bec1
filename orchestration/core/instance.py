"""One Dagster instance per warehouse: the publish gate trusts the check evaluations an instance
recorded, so an instance must never serve two warehouses."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration.core.settings import prepare_instance_home

INSTANCE_OWNER = "warehouse_dir.txt"  # in a persistent instance's folder (DAGSTER_HOME): whose history it is


def claim_instance(instance: dg.DagsterInstance, warehouse_dir: Path) -> None:
    """One Dagster instance per warehouse. The publish gate trusts the check evaluations the
    instance recorded (quality/gate.py), so a DAGSTER_HOME shared by two warehouses (one exported
    in a shell profile, say) would let one warehouse's checks clear the other's build. The first
    run on a persistent instance writes its warehouse's folder there (an instance from before this
    rule belongs to the warehouse it last published); a run of another warehouse is refused before
    any of its steps runs."""
    if not instance.is_persistent:
        return
    marker = Path(instance.root_directory) / INSTANCE_OWNER
    own = str(warehouse_dir.resolve())
    owner = _recorded_owner(marker) or _last_published_to(instance) or own
    if owner == own and not marker.exists():
        owner = _record_owner(marker, own)
    if owner != own:
        raise dg.Failure(
            description=(
                f"the Dagster instance {instance.root_directory} (DAGSTER_HOME) holds the run history of the "
                f"warehouse {owner}, not of {own}: the publish gate trusts the checks recorded there, so one "
                f"instance must not serve two warehouses. Unset DAGSTER_HOME (the Makefile then uses "
                f"$WAREHOUSE_DIR/dagster_home) or give this warehouse a folder of its own; if the warehouse "
                f"has moved from {owner} to {own}, write {own} into {marker}."
            )
        )


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


def open_instance(home: Path) -> dg.DagsterInstance:
    """The persistent instance in `home` (DAGSTER_HOME; by default WAREHOUSE_DIR/dagster_home),
    made ready first (prepare_instance_home). DAGSTER_HOME is set for this process and what it
    starts, which is how Dagster's public `DagsterInstance.get()` finds an instance."""
    os.environ["DAGSTER_HOME"] = str(prepare_instance_home(home))
    return dg.DagsterInstance.get()
