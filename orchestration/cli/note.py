"""`python -m orchestration.cli.note [--month YYYY-MM] [--as-of ID|TIME]` (what `make note` runs).

Reads WAREHOUSE_DIR/published.duckdb, writes WAREHOUSE_DIR/notes/<month>.html and .md, prints the two
paths. With --as-of (`make note AS_OF=...`: a publication id or a time), reads the team lake's
snapshot of that publication instead and writes <month>.as-of-<id>.html and .md. Exits 1 with the
reason (and the months or publications available) when the note cannot be written.
"""

from __future__ import annotations

import argparse
import sys

from orchestration.core.lake import Lake
from orchestration.core.settings import SettingsError, load_settings
from orchestration.note import NoteError, write_note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.cli.note", description="Write the monthly note from the published marts."
    )
    parser.add_argument("--month", help="YYYY-MM (default: the latest complete month)")
    parser.add_argument(
        "--as-of",
        help="a publication id or a time (UTC): render from the lake's snapshot of that publication",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()  # reads the published file only: no source, so no source's rules
    except SettingsError as error:
        print(f"note: {error}", file=sys.stderr)
        return 2
    try:
        lake = Lake(settings.lake, settings.lake_data) if settings.lake and settings.lake_data else None
        files = write_note(settings.paths.published_db, settings.paths.notes, args.month, as_of=args.as_of, lake=lake)
    except NoteError as error:
        print(f"note: {error}", file=sys.stderr)
        return 1
    if files.publication_id:
        print(f"as of publication {files.publication_id}: snapshot {files.lake_snapshot} of {lake.describe()}")
    print(files.html)
    print(files.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
