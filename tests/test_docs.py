"""The pages we ship fetch nothing from another host; the quality page after each gate."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import duckdb

from orchestration.offline_html import POLICY_META, make_offline
from orchestration.quality import gx_suites

OUTSIDE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]*)", re.IGNORECASE)


class Fetches(HTMLParser):
    """What a browser would load (or a reader follow) from a page's markup."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(values[name])
        self.urls += CSS_URL.findall(values.get("style") or "")
        self.in_style = tag == "style"

    def handle_data(self, data):
        if self.in_style:
            self.urls += CSS_URL.findall(data)


def outside_references(text: str) -> list[str]:
    parser = Fetches()
    parser.feed(text)
    return [url for url in parser.urls if OUTSIDE.match(url)]


def test_make_offline_removes_every_outside_request_and_keeps_the_rest():
    page = (
        '<html><head><link rel="stylesheet" href="https://cdn.example/b.css"/><link rel="icon" href="static/f.ico">'
        '<script src="//cdn.example/jq.js"></script><script>var keep = 1;</script>'
        "<style>.b { background: url('https://s3.example/logo.png') 0 0; } .c { background: url(local.png); }</style>"
        '</head><body><a href="https://ge.example/?dataContextId=42" class="x">GX</a><a href="page.html">local</a>'
        '<img src="https://s3.example/logo-long.png?dataContextId=42" alt="logo"><img src="https://s3.example/gone.png">'
        '<div style="background:url(http://x.example/a.png)">text</div></body></html>'
    )

    out = make_offline(page, lambda url: "static/logo-long.png" if "logo-long" in url else None)

    assert outside_references(out) == [] and "dataContextId" not in out
    assert POLICY_META in out.split("<head>", 1)[1].split("<link", 1)[0]  # before anything loads
    for kept in ('href="static/f.ico"', "var keep = 1;", "url(local.png)", '<a class="x">GX</a>',
                 '<a href="page.html">local</a>', '<img src="static/logo-long.png" alt="logo">', ">text</div>"):
        assert kept in out, kept
    assert "gone.png" not in out and "jq.js" not in out
    assert make_offline(out) == out  # a page made offline is left as it is


def test_each_gate_writes_the_quality_page_with_its_failures(tmp_path):
    """The page is current after every gate, without make docs: a critical failure reads failed,
    with its column, count and the bad row's key."""
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.listing as select * from (values ('MARA', 1), ('RIOT', -2)) t(ticker, n)")
    suite = tmp_path / "raw.listing.json"
    suite.write_text(json.dumps({
        "name": "raw.listing", "meta": {"table": "raw.listing", "asset_key": ["raw", "listing"]},
        "expectations": [{"type": "expect_column_values_to_be_between", "severity": "critical",
                          "kwargs": {"column": "n", "min_value": 0}}],
    }))  # fmt: skip

    gx_suites.validate_suites(build, [suite], "run-0001")

    page = (tmp_path / "docs" / "quality.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="raw.listing">', 1)[1]
    assert 'class="failed">failed</span>' in section and "run-0001" in section
    assert "<code>n</code>" in section and '<td class="num">1</td>' in section
    assert "&#39;ticker&#39;: &#39;RIOT&#39;" in section
    assert outside_references(page) == []
