"""Make an HTML page we ship open offline without contacting any other host.

Generated documentation pulls in what it needs from the internet: Great Expectations' Data Docs
load Bootstrap, jQuery, Vega and Font Awesome from five CDNs and their logo from an S3 bucket
with the project's `dataContextId` in the query string (every page view tells that bucket which
project is being read), and link to a newsletter with tracking parameters; dbt's static docs page
carries a usage tracker (Snowplow, from a CloudFront host) that it switches on when the manifest
says usage statistics are on. Offline each of these only stalls the page; online it tells outside
hosts who reads our documentation.

`make_offline` therefore, on the page's own markup (never inside its scripts):

- removes `<script src>`, `<link href>` (stylesheets, fonts, icons) and `<img src>`/`<source>`/
  `<iframe>`/`<embed>` elements that point at another host; an image may be swapped for a local
  copy instead (GX ships its logo in the site's `static/images`);
- drops the `href` of links to other hosts (the text stays): a reader clicking one would be
  online by choice, but GX's carry tracking parameters, so none is kept;
- blanks CSS `url(...)`s to other hosts in `<style>` blocks and `style` attributes;
- adds a Content-Security-Policy that allows the page's own inline code and local files only, so
  whatever a script would still try to load from elsewhere (dbt's tracker) is refused by the
  browser.

The page is edited in place by the source offsets of the tags Python's HTML parser reports, so
everything else (dbt's 3 MB of inlined JavaScript) is kept byte for byte. The policy doubles as
the mark of a page already made offline: such a page is returned unchanged.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

# Everything the page needs from itself (inline code, eval in dbt's Angular app, data: URIs,
# files beside it); nothing from another host.
POLICY = "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:"
POLICY_META = f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'

# http://, https:// or protocol-relative //: another host. Relative paths and data: stay.
OUTSIDE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
CSS_OUTSIDE_URL = re.compile(r"""url\(\s*(['"]?)\s*(?:https?:)?//[^)]*?\1\s*\)""", re.IGNORECASE)
FETCHED = {"script": "src", "link": "href", "img": "src", "source": "src", "iframe": "src", "embed": "src"}
REMOVED_WITH_CONTENT = {"script", "iframe"}  # elements whose end tag goes with them


class _Edits(HTMLParser):
    """Collects (start, end, replacement) edits over the page's source text."""

    def __init__(self, text: str, local_image: Callable[[str], str | None]):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.local_image = local_image
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.edits: list[tuple[int, int, str]] = []
        self.head_end: int | None = None  # just after the <head> start tag
        self.open_removed: dict[str, int] = {}  # removed element -> where its start tag began
        self.in_style = False

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        end = start + len(self.get_starttag_text())
        values = dict(attrs)
        if tag == "head" and self.head_end is None:
            self.head_end = end
        if tag == "style":
            self.in_style = True
        fetched = FETCHED.get(tag)
        if fetched and OUTSIDE.match(values.get(fetched) or ""):
            local = self.local_image(values[fetched]) if tag == "img" else None
            if local is not None:
                self.edits.append((start, end, _tag(tag, attrs, {fetched: local}, self.get_starttag_text())))
            elif tag in REMOVED_WITH_CONTENT:
                self.open_removed[tag] = start
            else:
                self.edits.append((start, end, ""))
            return
        if tag == "a" and OUTSIDE.match(values.get("href") or ""):
            self.edits.append((start, end, _tag(tag, attrs, {"href": None}, self.get_starttag_text())))
            return
        style = values.get("style")
        if style and CSS_OUTSIDE_URL.search(style):
            self.edits.append(
                (start, end, _tag(tag, attrs, {"style": CSS_OUTSIDE_URL.sub("none", style)}, self.get_starttag_text()))
            )

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False
        if tag in self.open_removed:
            start = self.open_removed.pop(tag)
            close = self.text.find(">", self._offset())
            self.edits.append((start, close + 1, ""))

    def handle_data(self, data):
        if self.in_style and CSS_OUTSIDE_URL.search(data):
            start = self._offset()
            # the parser may hand a style block over in pieces: edit the piece where it lies
            self.edits.append((start, start + len(data), CSS_OUTSIDE_URL.sub("none", data)))


def _tag(tag: str, attrs: list[tuple[str, str | None]], changes: dict[str, str | None], original: str) -> str:
    """The start tag again with `changes` (None drops the attribute), self-closing if it was."""
    parts = [tag]
    for name, value in attrs:
        value = changes.get(name, value)
        if name in changes and changes[name] is None:
            continue
        parts.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
    closing = "/>" if original.rstrip().endswith("/>") else ">"
    return "<" + " ".join(parts) + closing


def is_offline(text: str) -> bool:
    return POLICY_META in text


def make_offline(text: str, local_image: Callable[[str], str | None] = lambda url: None) -> str:
    """The page without any request to another host (see the module's docstring); `local_image`
    maps an outside image URL to a local one to use instead, or None to drop the image."""
    if is_offline(text):
        return text
    parser = _Edits(text, local_image)
    parser.feed(text)
    parser.close()
    edits = sorted(parser.edits)
    if parser.head_end is not None:
        edits.append((parser.head_end, parser.head_end, "\n" + POLICY_META))
    else:  # no <head>: the policy goes first
        edits.append((0, 0, POLICY_META + "\n"))
    out, position = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < position:  # inside an element already removed
            continue
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)
