"""GX's Data Docs pages made safe to open: no request to another host, no project id sent out.

Every page GX renders loads Bootstrap, jQuery, Vega and Font Awesome from CDNs and its logo from
an S3 bucket with the GX project's `dataContextId` in the URL, and links to a newsletter with
tracking parameters. After each Data Docs build every page not yet treated is passed through
offline_html.make_offline (the CDN tags and outside links go, the logo comes from the copy GX
ships in the site's static/images). The per-result and per-suite pages are rendered on the server
side and stay readable without their stylesheets; the index builds its table with the scripts
that are gone, so it gets a line pointing to the quality page (results_page.py), which lists the
same results without any script.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from orchestration.core.offline_html import is_offline, make_offline

BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _local_image(site: Path, page: Path):
    """An outside image GX also ships in static/images (its logo), as a path from `page`."""

    def local(url: str) -> str | None:
        copy = site / "static" / "images" / Path(urlsplit(url).path).name
        return Path(os.path.relpath(copy, page.parent)).as_posix() if copy.is_file() else None

    return local


def _index_notice(page: Path, quality_page: Path) -> str:
    href = Path(os.path.relpath(quality_page, page.parent)).as_posix()
    return (
        '\n<p style="margin:70px 16px 0;padding:10px 14px;border-left:4px solid #d9822b;background:#fdf3e7">'
        "This index builds its list with scripts from the internet, which are removed so that the "
        f'page contacts no other host. The same results, offline: <a href="{href}">quality gate results</a>.</p>'
    )


def make_site_offline(site: Path, quality_page: Path) -> list[Path]:
    """Treat every page of the Data Docs site in `site` that is not yet (GX rewrites the index and
    the pages of each build; older pages were treated when they were built); the pages changed."""
    changed = []
    for page in sorted(site.rglob("*.html")) if site.is_dir() else []:
        try:
            text = page.read_text(encoding="utf-8")
        except OSError:  # pruned by another gate meanwhile
            continue
        if is_offline(text):
            continue
        text = make_offline(text, _local_image(site, page))
        if page == site / "index.html":
            notice = _index_notice(page, quality_page)
            text = BODY.sub(lambda m, notice=notice: m.group(0) + notice, text, count=1)
        temporary = page.with_name(f".{page.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, page)
        changed.append(page)
    return changed
