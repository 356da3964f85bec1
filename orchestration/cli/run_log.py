"""What `make run` shows while it runs, and the full log it always keeps beside the warehouse.

A full run's stream (Dagster's messages and dbt's per-model lines, some 200 of them, many past 200
characters) buries the few lines a person needs. So `make run` gives its jobs one Dagster logger of
its own (`RunLog.logger_defs`), which receives every message of the run, Dagster's events included,
and hands it to plain Python logging handlers:

- always, the run's log file, WAREHOUSE_DIR/logs/run-<time>-<run id>.log: every message at every
  level, without colour codes, named at the end of the run whatever its outcome; the newest
  WAREHOUSE_KEEP_RUNS files are kept (retention.py);
- by default, one line per step, written when the step ends: a counter, what the step is, what it
  did (the step's own summary message) and how long it took; on a terminal the line of the step
  that is running shows first, with dbt's "N of M" as it goes;
- with `verbose`, the stream as Dagster's console logger prints it (INFO and above), dbt's lines
  as dbt prints them.

dbt's output reaches the logger because the dbt asset hands each of its lines to `context.log`
(transform/assets.py); messages from the steps carry the step's key, events their DagsterEvent.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg

from orchestration.core.retention import prune_run_logs

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DBT_OUTPUT = "dbt_output"  # a record's attribute: a line dbt printed (see transform/assets.py)
DBT_PROGRESS = re.compile(r"^(\d+) of (\d+) ")
# Dagster's word that a step will not run because one before it failed (an error message, not an event).
NOT_RUN = re.compile(r"^Dependencies for step (?P<step>\S+) (failed|were not executed)")

# What a person calls each step; a step not named here shows its key.
STEP_LABELS = {
    "raw_gx_gate": "raw gate",
    "warehouse_dbt_assets": "dbt build",
    "marts_gx_gate": "marts gate",
    "published_warehouse": "publish",
    "monthly_note": "note",
}
# The message of each step that says what it did, and the part of it shown on the step's line.
STEP_SUMMARIES = (
    re.compile(r"^raw\.\w+: (?P<summary>\d+ rows?) from .* (?P<scope>\(.*\))$"),
    re.compile(r"^\w+ gate: (?P<summary>[^;]*)"),
    re.compile(r"^Done\. (?P<summary>.*)$"),
    re.compile(r"^published .+? \((?P<summary>[\d-]+ \.\. [\d-]+)\)"),
    re.compile(r"^note for (?P<summary>\d{4}-\d{2})"),
)
STEP_END = {
    dg.DagsterEventType.STEP_SUCCESS: "",
    dg.DagsterEventType.STEP_FAILURE: "FAILED",
    dg.DagsterEventType.STEP_SKIPPED: "not run",
}


def step_label(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return f"raw load raw/{step_key.removeprefix('raw__')}"
    return STEP_LABELS.get(step_key, step_key)


def _meta(record: logging.LogRecord) -> dict:
    return getattr(record, "dagster_meta", None) or {}


class PlainFormatter(logging.Formatter):
    """A line of the log file: time, level, Dagster's message (job, run, step, event, text), no colours."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return ANSI.sub("", super().format(record))


class StreamFormatter(logging.Formatter):
    """The verbose stream as it always was: Dagster's console format, dbt's lines as dbt prints them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s - dagster - %(levelname)s - %(message)s", "%Y-%m-%d %H:%M:%S %z")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, DBT_OUTPUT, False):
            return _meta(record).get("orig_message", record.getMessage())
        return super().format(record)


class StepLines(logging.Handler):
    """One line per step: `[3/10] raw load raw/splits ..... 4 rows from demo (whole table)  0.2 s`.

    Steps are counted across the jobs of one `make run` (the build, then the note); `total` is
    their number when known. A warning or error a step logs (not Dagster's events: a failure's
    reason is printed by the run's last lines) shows under the step's line.
    """

    def __init__(self, stream: TextIO, total: int | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream
        self.total = total
        self.count = 0
        self.live = stream.isatty()
        self.started: dict[str, tuple[int, float]] = {}  # step key -> (number, start)
        self.summaries: dict[str, str] = {}
        self.pending = ""  # a terminal's unfinished line, rewritten in place

    def _counter(self, number: int) -> str:
        width = len(str(self.total or number))
        return f"[{number:>{width}}/{self.total}]" if self.total else f"[{number}]"

    def _write(self, line: str, final: bool) -> None:
        if self.live and self.pending:
            self.stream.write("\r\x1b[K")
        if final or self.live:
            self.stream.write(line + ("\n" if final else ""))
        self.pending = "" if final else line
        self.stream.flush()

    def _interrupt(self, line: str) -> None:
        """A line of its own while a step's line is pending on a terminal: print it, then the step's again."""
        pending = self.pending
        self._write(line, final=True)
        if pending:
            self._write(pending, final=False)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            meta = _meta(record)
            event, step = meta.get("dagster_event"), meta.get("step_key")
            text = meta.get("orig_message", "")
            if event is not None:
                self._on_event(event, step, record.created)
            elif (skipped := NOT_RUN.match(text)) and skipped["step"] not in self.started:
                self.count += 1
                self.started[skipped["step"]] = (self.count, record.created)
                self._interrupt(
                    f"{self._counter(self.count)} {step_label(skipped['step'])}: not run (a step before it failed)"
                )
            elif step and record.levelno >= logging.WARNING:
                text = ANSI.sub("", meta.get("orig_message", record.getMessage())).strip().splitlines()
                self._interrupt(f"    {record.levelname.lower()}: {text[0] if text else ''}")
            elif step:
                self._on_message(step, ANSI.sub("", meta.get("orig_message", "")).strip())
        except Exception:  # a display problem must never fail the run
            self.handleError(record)

    def _on_message(self, step: str, text: str) -> None:
        for pattern in STEP_SUMMARIES:
            match = pattern.match(text)
            if match:  # the first: later messages add detail the run's last lines give
                parts = match.groupdict()
                self.summaries.setdefault(step, " ".join(p for p in (parts["summary"], parts.get("scope")) if p))
                return
        progress = DBT_PROGRESS.match(text)
        if progress and self.live and step in self.started:
            number, _ = self.started[step]
            self._write(f"{self._counter(number)} {step_label(step)} ... {progress[1]} of {progress[2]}", final=False)

    def _on_event(self, event: dg.DagsterEvent, step: str | None, at: float) -> None:
        if step is None:
            return
        if event.event_type == dg.DagsterEventType.STEP_START:
            self.count += 1
            self.started[step] = (self.count, at)
            self._write(f"{self._counter(self.count)} {step_label(step)} ...", final=False)
        elif event.event_type in STEP_END:
            if step not in self.started:  # skipped steps never start
                self.count += 1
                self.started[step] = (self.count, at)
            number, start = self.started[step]
            outcome = STEP_END[event.event_type] or self.summaries.get(step, "done")
            timing = f"  {at - start:.1f} s" if event.event_type != dg.DagsterEventType.STEP_SKIPPED else ""
            self._write(f"{self._counter(number)} {step_label(step)}: {outcome}{timing}", final=True)


class RunLog:
    """The loggers of one `make run`: its log file, and the terminal's step lines or full stream.

    Use as a context manager around the runs; pass `logger_defs` to each job (`job.with_logger_defs`)
    and `run_config` as its run config."""

    def __init__(
        self,
        folder: Path,
        run_id: str,
        keep: int,
        verbose: bool = False,
        stream: TextIO | None = None,
        total_steps: int | None = None,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = folder / f"run-{stamp}-{run_id[:8]}.log"
        self.keep = keep
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self.logger = logging.getLogger(f"{__name__}.{run_id}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False  # nothing reaches the root logger's handlers twice
        self.file = logging.FileHandler(self.path, encoding="utf-8")
        self.file.setFormatter(PlainFormatter())
        if verbose:
            self.terminal: logging.Handler = logging.StreamHandler(self.stream)
            self.terminal.setLevel(logging.INFO)
            self.terminal.setFormatter(StreamFormatter())
        else:
            self.terminal = StepLines(self.stream, total_steps)
        for handler in (self.file, self.terminal):
            self.logger.addHandler(handler)

    @property
    def logger_defs(self) -> dict[str, dg.LoggerDefinition]:
        logger = self.logger
        return {"run_log": dg.LoggerDefinition(lambda _init: logger, description="make run's terminal and log file")}

    # The run config that selects the logger (a job without logger config would use Dagster's console logger).
    run_config = {"loggers": {"run_log": {}}}

    def note(self, line: str) -> None:
        """A line of run.py's own (announcement, warnings, summary) into the file too."""
        self.file.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO, "levelname": "INFO"}))

    def note_exception(self, error: BaseException) -> None:
        """An error run.py caught (not a step's, which Dagster logs): its traceback, into the file only."""
        self.file.handle(
            logging.makeLogRecord(
                {
                    "msg": "run.py stopped on an error",
                    "levelno": logging.ERROR,
                    "levelname": "ERROR",
                    "exc_info": (type(error), error, error.__traceback__),
                }
            )
        )

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc) -> None:
        for handler in (self.file, self.terminal):
            self.logger.removeHandler(handler)
            handler.close()
        prune_run_logs(self.path.parent, self.keep, current=self.path)
