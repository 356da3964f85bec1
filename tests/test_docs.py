"""`make docs` on the session's demo build (sockets blocked in this process; dbt runs as a
subprocess on a machine without internet): dbt's page and the quality page exist, say what a
reader needs, and no page we ship would fetch anything from another host."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.cli import docs as make_docs
from orchestration.core.offline_html import POLICY_META, make_offline
from orchestration.core.paths import REPO_ROOT, WarehousePaths
from orchestration.core.settings import Settings
from orchestration.quality import gx_engine
from orchestration.quality.suites import suite_tables

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


@pytest.fixture(scope="module")
def docs(demo_run):
    """`make docs` once on the demo build: (exit code, settings)."""
    exit_code, settings, _ = demo_run
    assert exit_code == 0
    return make_docs.main(settings=settings), settings


def shipped_pages(warehouse_dir: Path) -> list[Path]:
    site = warehouse_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    return sorted((warehouse_dir / "docs").glob("*.html")) + sorted(site.rglob("*.html"))


def test_docs_without_a_build_say_to_run_make_run_first(tmp_path, capsys):
    code = make_docs.main(settings=Settings(warehouse_dir=tmp_path, source="demo"))

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and "no build at" in err[0] and "run `make run` first" in err[0]
    assert not (tmp_path / "docs").exists()


def test_dbt_page_documents_the_build(docs):
    code, settings = docs
    page = (settings.warehouse_dir / "docs" / "index.html").read_text(encoding="utf-8")
    marts = yaml.safe_load((REPO_ROOT / "models" / "marts" / "mart_monthly_note.yml").read_text())["models"][0]
    described = next(c for c in marts["columns"] if c["name"] == "is_synthetic_data")["description"]

    assert code == 0
    assert '"model.miner_warehouse.mart_monthly_note"' in page  # the manifest, inlined
    assert json.dumps(described) in page  # a column's definition from the YAML
    # the catalog, read from the build file: the column's type and the comment dbt persisted there
    assert '"is_synthetic_data": {"type": "BOOLEAN", ' in page
    assert '"send_anonymous_usage_stats": false' in page  # dbt's tracker stays off


def test_quality_page_lists_every_suite_with_its_latest_result(docs):
    code, settings = docs
    page_path = settings.warehouse_dir / "docs" / "quality.html"
    page = page_path.read_text(encoding="utf-8")
    suites = suite_tables()

    assert code == 0
    for suite, table in suites.items():
        section = page.split(f'<h2 id="{suite}">', 1)[1].split("<h2 ", 1)[0]
        assert f"<code>{table}</code>" in section
        assert re.search(r">(passed|passed with warnings|failed)</span>", section), suite
    # the demo's note suite warns about large month-over-month moves (README): named with the row
    note = page.split('<h2 id="mart_monthly_note">', 1)[1].split("<h2 ", 1)[0]
    assert "passed with warnings" in note and ">warning</td>" in note and ">critical</td>" not in note
    assert "expect_column_values_to_be_between" in note and "combined_market_cap_mom" in note
    assert "&#39;month&#39;: &#39;" in note  # the example row's identifying column, from the gate
    # written by make docs after the dbt page (the gate's own version has no dbt page to link)
    assert 'href="index.html"' in page
    links = re.findall(r'href="([^"#]+)"', page)
    assert any("/validations/" in link for link in links)
    assert all((page_path.parent / link).is_file() for link in links)


def test_no_page_we_ship_fetches_from_another_host(docs):
    _, settings = docs
    pages = shipped_pages(settings.warehouse_dir)

    assert len(pages) > 20  # both of ours, GX's index, suite and result pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert outside_references(text) == [], page
        assert "dataContextId" not in text, page
        assert POLICY_META in text or 'http-equiv="Content-Security-Policy"' in text, page
    gx_index = settings.warehouse_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert "quality.html" in gx_index.read_text(encoding="utf-8")  # the blank index points to our page


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
    for kept in (
        'href="static/f.ico"',
        "var keep = 1;",
        "url(local.png)",
        '<a class="x">GX</a>',
        '<a href="page.html">local</a>',
        '<img src="static/logo-long.png" alt="logo">',
        ">text</div>",
    ):
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

    gx_engine.validate_suites(WarehousePaths(build.parent), [suite], "run-0001")

    page = (tmp_path / "docs" / "quality.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="raw.listing">', 1)[1]
    assert 'class="failed">failed</span>' in section and "run-0001" in section
    assert "<code>n</code>" in section and '<td class="num">1</td>' in section
    assert "&#39;ticker&#39;: &#39;RIOT&#39;" in section
    assert outside_references(page) == []
