"""The monthly note, built from the published marts only: headline, tables and charts, one per month.

`write_note(published_db, notes_dir, month)` reads `published.duckdb` (never the build file, so the
note shows exactly what readers see), and writes `<notes_dir>/<YYYY-MM>.html` (self-contained:
charts embedded, opens offline) and `<YYYY-MM>.md` (every number, parseable). `month=None` means the
latest complete month. A month the file does not hold raises NoteError naming the months it does.

`as_of` (a publication id or a time) renders the note instead from the team lake's snapshot of that
publication (DuckLake time travel, core/lake.py), so last month's note can be reproduced exactly
after later publications; it is written beside the current ones as `<YYYY-MM>.as-of-<id>.html`/`.md`,
never over them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from orchestration.core.lake import Lake, LakeError, find_publication
from orchestration.note.data import NoteError, coverage, load, load_from_lake, parse_month, resolve_month
from orchestration.note.render import render

__all__ = ["NoteError", "NoteFiles", "latest_complete_month", "parse_month", "write_note"]


@dataclass(frozen=True)
class NoteFiles:
    month: date
    html: Path
    markdown: Path
    is_synthetic: bool
    publication_id: str | None = None  # with as_of: the lake's publication the note was rendered from
    lake_snapshot: int | None = None


def latest_complete_month(published_db: Path) -> date:
    """The month a note is written for by default: the newest one not flagged partial."""
    if not published_db.exists():
        raise NoteError(f"no published file at {published_db}: run `make run` first")
    with duckdb.connect(str(published_db), read_only=True) as conn:
        return resolve_month(coverage(conn), None)


def _write_atomically(path: Path, content: str) -> None:
    """A reader (or a mail job) never sees half a note: write beside, then rename over."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)


def write_note(
    published_db: Path,
    out_dir: Path,
    month: date | str | None = None,
    *,
    as_of: str | None = None,
    lake: Lake | None = None,
) -> NoteFiles:
    """Render the note for `month` ('2024-06', a date, or None for the latest complete month), from
    the published file, or with `as_of` from the lake's snapshot of that publication."""
    month = parse_month(month) if isinstance(month, str) else month
    publication_id = snapshot = None
    if as_of is None:
        data = load(published_db, month)
    else:
        if lake is None:
            raise NoteError(
                f"AS_OF={as_of} needs the team's lake, and none is configured (WAREHOUSE_LAKE and "
                "WAREHOUSE_LAKE_DATA are not set): the published file holds only the current publication "
                "(see docs/lake.md)"
            )
        try:
            found = find_publication(lake, as_of)
        except LakeError as error:
            raise NoteError(str(error)) from error
        publication_id, snapshot = found.publication_id, found.snapshot
        data = load_from_lake(lake, snapshot, month)
    markdown, html = render(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{data.month:%Y-%m}" + (f".as-of-{publication_id}" if publication_id else "")
    files = NoteFiles(
        data.month, out_dir / f"{stem}.html", out_dir / f"{stem}.md", data.is_synthetic, publication_id, snapshot
    )
    _write_atomically(files.markdown, markdown)
    _write_atomically(files.html, html)
    return files
