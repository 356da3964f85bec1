"""One writer at a time across machines (DAGSTER_PG_URL): the one slot of the warehouse's Dagster pool.

On one machine the fcntl lock of core/run_lock.py is the rule. With the history in PostgreSQL, runs
start on several machines (a `make run` on a laptop, a worker launched by the daemon), and an
operating-system lock sees only its own machine. The rule then lives in Dagster's own concurrency
storage, in that database:

- every asset that writes the warehouse belongs to the pool `warehouse` (WAREHOUSE_POOL), whose
  limit is 1 (the instance's `concurrency: pools: default_limit: 1`, written by
  settings.instance_config);
- runs launched from the UI, a schedule or a sensor go through the QueuedRunCoordinator with
  `granularity: run`: the daemon dequeues a run of the pool only while no other run of the pool is
  in progress (a `make run` included: its run record names the pool too). They wait in the queue,
  visibly ("Queued"), not failed;
- the run itself holds the pool's one slot for as long as it writes (hold_writer_slot): `make run`
  before it starts anything, a launched run that writes when its resources start (the warehouse's
  and the build file's, core/resources.py).

Why both, and why the slot is claimed here and not by Dagster's steps. What Dagster 1.13 enforces
(dagster/_core/execution/plan/instance_concurrency_context.py, op_concurrency_limits_counter.py;
tests/test_team_deployment.py shows it): with `granularity: op` an executor, the in-process one
included, claims a slot per *step*, so two runs limited to one slot interleave their steps (run B
loads raw rows between run A's dbt build and its checks: not one writer). With `granularity: run`
the executor claims nothing ("already in a launched run") and only the queue's daemon enforces the
limit, when it dequeues; `execute_in_process`, which `make run` uses, never passes through the queue,
and two dequeues and a `make run` can race. So the queue spaces the launched runs, and the slot is
the hard rule: the claim is a row update under `SELECT ... FOR UPDATE SKIP LOCKED` in PostgreSQL, so
two claims started at the same moment on two machines get one slot between them.

A `make run` that finds the slot held waits (WAREHOUSE_WRITER_WAIT seconds, printing whom it waits
for) in Dagster's own queue of pending claims, first come first served; a launched run waits
LAUNCHED_RUN_WAIT (the queue keeps it back from runs in progress; this covers the seconds a `make
run` holds the slot past its build run, rendering the note), then fails naming the holder. A holder that
died without freeing the slot does not block for ever: the next claimant frees a slot whose process
is gone (this machine), whose launched run is over (Dagster's run monitoring marks a crashed one
failed), or whose `make run` finished its build run more than MAKE_RUN_AFTER_ITS_RUN ago (a `make
run` holds the slot a little past that run: it renders the note in a second one). A holder gone on
another machine whose run still looks alive is named; the UI frees its slot (Deployment >
Concurrency) or marks its run failed.

The storage calls used (`claim_concurrency_slot`, `free_concurrency_slot_for_step`,
`get_concurrency_info`, `initialize_concurrency_limit_to_default`, `set_concurrency_slots`) are the
event log storage's public methods the UI's concurrency page uses too; tests/test_upstream_apis.py
pins them.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime

import dagster as dg

from orchestration.core.instance import postgres_url_of
from orchestration.core.run_lock import Holder
from orchestration.core.settings import WAREHOUSE_POOL

POLL_SECONDS = 1.0
# How long a run Dagster launched waits for the slot before it fails (core/resources.py): the queue
# keeps runs apart; this covers a `make run`'s note run and a `make run` starting as a run is dequeued.
LAUNCHED_RUN_WAIT = 120.0


class WriterBusy(RuntimeError):
    """Another run holds the warehouse's slot: the message is the one sentence to show."""

    def __init__(self, holders: list[Holder], waited: float) -> None:
        self.holders = holders
        who = "; ".join(holder.describe() for holder in holders) or "another run (its details are not readable)"
        after = f" after waiting {waited:.0f} s" if waited >= 1 else ""
        super().__init__(
            f"another run holds the warehouse{after}: {who}; wait for it to finish (the Dagster UI's Runs page "
            "shows it), then run again"
        )


_held: dict[tuple[str, str], list] = {}  # this process's slots: (database, pool) -> [run id, step key, depth]
_held_guard = threading.Lock()


def _holder(step_key: str | None, run_id: str | None) -> Holder | None:
    try:
        data = json.loads(step_key or "")
        return Holder(**{key: data.get(key) for key in Holder.__dataclass_fields__})
    except (ValueError, TypeError):
        return None


def holders(instance: dg.DagsterInstance) -> list[tuple[str, str, Holder | None]]:
    """Who holds or has been given the pool's slot: (run id, step key, holder) each."""
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    found = {(slot.run_id, slot.step_key) for slot in info.claimed_slots}
    found |= {(step.run_id, step.step_key) for step in info.pending_steps if step.assigned_timestamp is not None}
    return [(run_id, step_key, _holder(step_key, run_id)) for run_id, step_key in sorted(found)]


MAKE_RUN = "`make run`"
# A `make run` holds the slot past its build run's end (it renders the note in a second run, seconds):
# its slot counts as abandoned only this long after that run ended, when its process cannot be seen.
MAKE_RUN_AFTER_ITS_RUN = 600.0


def _is_gone(instance: dg.DagsterInstance, run_id: str, holder: Holder | None) -> bool:
    """A holder that cannot be writing any more: its process is gone (this machine), or its run is
    over (a launched run holds the slot exactly as long as its run; a `make run` a little longer)."""
    if holder is not None and holder.host == socket.gethostname():
        try:
            os.kill(holder.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    record = instance.get_run_record_by_id(run_id)
    if record is None or not record.dagster_run.is_finished:
        return False
    if holder is not None and holder.what == MAKE_RUN:
        ended = record.end_time or record.update_timestamp.timestamp()
        return time.time() - ended > MAKE_RUN_AFTER_ITS_RUN
    return True


def _free_the_gone(instance: dg.DagsterInstance, own: tuple[str, str], say: Callable[[str], None]) -> bool:
    freed = False
    for run_id, step_key, holder in holders(instance):
        if (run_id, step_key) != own and _is_gone(instance, run_id, holder):
            instance.event_log_storage.free_concurrency_slot_for_step(run_id, step_key)
            say(f"Freed the warehouse's slot held by {holder.describe() if holder else f'run {run_id}'}: it has ended")
            freed = True
    return freed


def _make_the_slot(storage) -> None:
    """The pool's one slot, made on first use: the instance's default_limit (1), or 1 for a team's
    dagster.yaml without one. Two first runs at one moment race to insert the limit's row (Dagster
    does not guard it: a unique violation for the second), so a failed try is tried again."""
    for attempt in range(5):
        if storage.get_concurrency_info(WAREHOUSE_POOL).slot_count >= 1:
            return
        try:
            if not storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL):
                storage.set_concurrency_slots(WAREHOUSE_POOL, 1)
        except Exception:  # the other run's insert won: read it back
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


@contextmanager
def hold_writer_slot(
    instance: dg.DagsterInstance | None,
    what: str,
    run_id: str,
    wait: float = 0.0,
    say: Callable[[str], None] = lambda line: None,
) -> Iterator[Holder | None]:
    """Hold the warehouse pool's one slot for the block, when `instance` keeps its history in
    PostgreSQL (else a no-op: the fcntl lock of run_lock.py is the single-machine rule). Waits up to
    `wait` seconds for another holder, saying whom it waits for; WriterBusy after that. Reentrant
    within a process (`make run` holds it; the resources of the runs it executes take it again)."""
    url = postgres_url_of(instance) if instance is not None else None
    if url is None:
        yield None
        return
    key = (url, WAREHOUSE_POOL)
    with _held_guard:
        if key in _held:
            _held[key][2] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield None
        finally:
            with _held_guard:
                _held[key][2] -= 1
        return
    storage = instance.event_log_storage
    _make_the_slot(storage)
    me = Holder(what, os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat(timespec="seconds"), run_id)
    step_key = json.dumps(asdict(me))
    started, announced = time.monotonic(), None
    try:
        while not storage.claim_concurrency_slot(WAREHOUSE_POOL, run_id, step_key).is_claimed:
            if _free_the_gone(instance, (run_id, step_key), say):
                continue
            others = [holder for r, s, holder in holders(instance) if (r, s) != (run_id, step_key) and holder]
            waited = time.monotonic() - started
            if waited >= wait:
                raise WriterBusy(others, waited)
            if others and others != announced:
                say(
                    f"Waiting for the warehouse: {'; '.join(h.describe() for h in others)} holds it; waiting up to "
                    f"{wait:.0f} s (WAREHOUSE_WRITER_WAIT) ..."
                )
                announced = others
            time.sleep(min(POLL_SECONDS, max(wait - waited, 0.05)))
        with _held_guard:
            _held[key] = [run_id, step_key, 1]
        yield me
    finally:
        with _held_guard:
            _held.pop(key, None)
        # frees the slot, or leaves the queue of pending claims (a wait given up), and hands the slot on
        storage.free_concurrency_slot_for_step(run_id, step_key)
