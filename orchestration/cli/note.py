"""`python -m orchestration.cli.note [--month YYYY-MM]` (what `make note` runs).

Reads WAREHOUSE_DIR/published.duckdb, writes WAREHOUSE_DIR/notes/<month>.html and .md, prints the two
paths. Exits 1 with the reason (and the months available) when the note cannot be written.
"""

from __future__ import annotations

import argparse
import sys

from orchestration.core.settings import SettingsError, load_settings
from orchestration.note import NoteError, write_note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.cli.note", description="Write the monthly note from the published marts."
    )
    parser.add_argument("--month", help="YYYY-MM (default: the latest complete month)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()  # reads the published file only: no source, so no source's rules
    except SettingsError as error:
        print(f"note: {error}", file=sys.stderr)
        return 2
    try:
        files = write_note(settings.paths.published_db, settings.paths.notes, args.month)
    except NoteError as error:
        print(f"note: {error}", file=sys.stderr)
        return 1
    print(files.html)
    print(files.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
