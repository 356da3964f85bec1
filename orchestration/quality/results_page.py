"""The quality gate's results as one page that opens offline: WAREHOUSE_DIR/docs/quality.html.

GX's Data Docs index builds its list of results in the browser with Bootstrap Table and jQuery
from CDNs, so offline (and with those scripts removed, see data_docs.py) it is blank. This page
is rendered from the same stored results (GX's JSON under gx/uncommitted/validations, pruned to
WAREHOUSE_KEEP_RUNS by retention.py) with no script at all: per suite, the latest result (suite,
table, run id, time, outcome, and each failed expectation with its severity, column, unexpected
count and an example), the earlier results still kept, and links to GX's own page of each result
where it exists (those pages are rendered on the server side and stay readable offline).

An outcome follows the gate's rule, not GX's: GX calls a result failed when any expectation
failed, but a failed `warning` expectation does not block publication, so such a result reads
"passed with warnings".
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from orchestration.core.offline_html import POLICY
from orchestration.core.paths import WarehousePaths
from orchestration.core.retention import GX_RUN_TIME
from orchestration.quality.data_docs import make_site_offline

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
EARLIER_RESULTS = 10  # earlier results listed per suite (older ones stay on disk and in GX's pages)


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str
    column: str | None
    severity: str
    unexpected_count: int | None
    detail: str
    example: str | None


@dataclass(frozen=True)
class Result:
    suite: str
    run_name: str
    run_time: datetime
    evaluated: int
    failures: list[FailedExpectation]
    page: str | None  # GX's page of this result, relative to the quality page

    @property
    def outcome(self) -> str:
        if any(f.severity == "critical" for f in self.failures):
            return "failed"
        return "passed with warnings" if self.failures else "passed"


@dataclass(frozen=True)
class SuiteResults:
    suite: str
    table: str | None
    latest: Result
    earlier: list[Result]


def _columns(kwargs: dict) -> str | None:
    names = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)] or kwargs.get("column_list") or []
    return ", ".join(names) or None


def _from_gx(item: dict) -> FailedExpectation:
    """A failed expectation as GX stored it (a result written before the gate recorded its own
    description in the result's meta): the example is the first unexpected value."""
    config, res = item["expectation_config"], item.get("result") or {}
    exception = item.get("exception_info") or {}
    column = _columns(config.get("kwargs", {}))
    example = None
    if exception.get("raised_exception"):
        detail = f"error: {exception.get('exception_message')}"
    elif res.get("unexpected_count") is not None:
        detail = f"{res['unexpected_count']} unexpected of {res.get('element_count')} rows"
        values = res.get("partial_unexpected_list") or []
        example = f"{column}: {values[0]!r}" if values and column else (repr(values[0]) if values else None)
    else:
        detail = f"observed {res.get('observed_value')!r}"
    return FailedExpectation(
        expectation=config["type"],
        column=column,
        severity=str(config.get("severity") or "critical").lower(),
        unexpected_count=res.get("unexpected_count"),
        detail=detail,
        example=example,
    )


def _failures(stored: dict) -> list[FailedExpectation]:
    recorded = stored.get("meta", {}).get("failures")
    if recorded is not None:  # the gate's own description, with the bad row's identifying columns
        return [
            FailedExpectation(**{**f, "example": str(f["example"]) if f.get("example") else None}) for f in recorded
        ]
    return [_from_gx(item) for item in stored.get("results", []) if not item.get("success")]


def _result(path: Path, validations: Path, site: Path, page_dir: Path) -> Result:
    stored = json.loads(path.read_text())
    run = stored.get("meta", {}).get("run_id") or {}
    page = site / "validations" / path.relative_to(validations).with_suffix(".html")
    return Result(
        suite=stored["suite_name"],
        run_name=run.get("run_name") or path.parent.parent.name,
        run_time=datetime.fromisoformat(run["run_time"])
        if run.get("run_time")
        else datetime.strptime(path.parent.name, "%Y%m%dT%H%M%S.%fZ"),
        evaluated=(stored.get("statistics") or {}).get("evaluated_expectations", len(stored.get("results", []))),
        failures=_failures(stored),
        page=Path(os.path.relpath(page, page_dir)).as_posix() if page.exists() else None,
    )


def read_results(paths: WarehousePaths, page_dir: Path, tables: dict[str, str]) -> list[SuiteResults]:
    """Every suite's stored results, newest first (by the run time GX files them under), as seen
    from a page in `page_dir`; `tables` names each suite's table (the suite files' meta)."""
    validations, site = paths.gx_uncommitted / "validations", paths.gx_site
    by_suite: dict[Path, list[Path]] = {}
    for path in validations.rglob("*.json") if validations.is_dir() else []:
        if GX_RUN_TIME.match(path.parent.name):
            by_suite.setdefault(path.parent.parent.parent, []).append(path)
    suites = []
    for paths in by_suite.values():
        newest = sorted(paths, key=lambda p: p.parent.name, reverse=True)[: EARLIER_RESULTS + 1]
        results = []
        for path in newest:
            try:
                results.append(_result(path, validations, site, page_dir))
            except (OSError, ValueError, KeyError) as error:  # pruned or half-written meanwhile
                log.warning("quality page: skipping %s: %s", path, error)
        if results:
            suites.append(SuiteResults(results[0].suite, tables.get(results[0].suite), results[0], results[1:]))
    return sorted(suites, key=lambda s: s.suite)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def write_results_page(paths: WarehousePaths, tables: dict[str, str], now: datetime) -> Path:
    """Render docs/quality.html from the stored results (replacing it atomically: a reader never
    sees half a page); its path."""
    page = paths.quality_page
    page.parent.mkdir(parents=True, exist_ok=True)
    suites = read_results(paths, page.parent, tables)
    gx_index = paths.gx_site / "index.html"
    text = (
        _environment()
        .get_template("quality.html.j2")
        .render(
            suites=suites,
            policy=POLICY,
            generated=now,
            listed=EARLIER_RESULTS + 1,
            dbt_page=paths.dbt_docs_page.name if paths.dbt_docs_page.exists() else None,
            gx_index=Path(os.path.relpath(gx_index, page.parent)).as_posix() if gx_index.exists() else None,
            failed=sum(s.latest.outcome == "failed" for s in suites),
            warned=sum(s.latest.outcome == "passed with warnings" for s in suites),
        )
    )
    temporary = page.with_name(f".{page.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, page)
    return page


def write_quality_docs(paths: WarehousePaths, tables: dict[str, str], now: datetime) -> Path | None:
    """After a Data Docs build (each gate) and in `make docs`: GX's pages made offline
    (data_docs.py), then the quality page written; its path.

    Best effort inside a gate: the documentation of a result must not fail the check that
    produced it, so a page that cannot be written is a warning and None."""
    page = paths.quality_page
    try:
        make_site_offline(paths.gx_site, page)
        return write_results_page(paths, tables, now)
    except (OSError, ValueError, jinja2.TemplateError) as error:
        log.warning("could not write the quality page %s: %s", page, error)
        return None
