"""Shares outstanding from SEC EDGAR: the cover-page `dei:EntityCommonStockSharesOutstanding`.

Which company a ticker is, and from where its figure comes, is `ciks.csv` beside this file (see
`load_ciks`): ticker, cik, valid_from, valid_to (inclusive dates, empty = open), shares_from. A
ticker may have several rows (HUT was Hut 8 Mining Corp, CIK 1731805, until the merger with USBTC
closed on 2023-11-30, and is Hut 8 Corp, CIK 1964789, since): each CIK's figures are kept only
inside its row's validity range, so a ticker's history is not cut at its latest CIK.

`shares_from` says which of two paths serves the row, DECLARED rather than discovered: the plan of
a run (shares.py `shares_plan`) is then known before any request, a multi-class filer costs no
useless company-facts request on every run, and a filer that changes its tagging shows up as a
warning naming the row to change instead of a silent switch of path.

* `companyfacts` (single-class filers; one request per CIK):
  `GET https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json`,
  `facts.dei.EntityCommonStockSharesOutstanding.units.shares[]` (items with `end` = the cover date,
  `val`, `accn`, `filed`). Company facts hold only facts WITHOUT dimensions: one figure per filing.
  Several filings reporting the same `end` (an amendment): the latest `filed` wins.
* `filings` (multi-class filers: BTDR, CAN, SDIG tag the figure once per class, with a
  `us-gaap:StatementClassOfStockAxis` dimension, so company facts have nothing for them): the
  submissions list `GET https://data.sec.gov/submissions/CIK##########.json` (`filings.recent`,
  parallel arrays accessionNumber, form, filingDate, reportDate, primaryDocument, isXBRL,
  isInlineXBRL); for each periodic report (10-K, 10-Q, 20-F, 40-F and their /A) that can matter
  for the requested range - filed on or after its start and reporting a period that begins by its
  end, plus the last one filed before the start - the filing folder's `index.json`
  (`https://www.sec.gov/Archives/edgar/data/<cik>/<accession without dashes>/index.json`,
  `directory.item[].name`) and the XBRL instance it lists (for inline XBRL, the instance EDGAR
  extracts, `<primary document stem>_htm.xml`). In the instance the per-class values at one
  instant (the cover date) are SUMMED; a dimensionless value counts only when no class is tagged.
  The same cover date in several filings: the latest filed wins.
  The instance is read with the standard library's xml.etree, not edgartools: that would be one
  more large dependency for one fact, and it downloads through its own HTTP stack, whereas every
  response here must go through the shared client (http.py) so that the replay cache holds it.
* `none`: SEC is not asked (a foreign private issuer without a cover figure, e.g. HIVE): the
  analyst's overrides are its only source.

A row without a figure, an unknown CIK (HTTP 404) or a ticker missing from ciks.csv gives an empty
answer and a warning, not a failure.

Requests. Company facts and the submissions list change with each filing: they are downloaded
again when the saved copy may miss the range's end, or the row's valid_to if earlier (`covers_until`,
http.py; so a former CIK's copy fetched after its range ended is replayed for good). A filing's index and
instance never change (an amendment is a new accession), and neither do the list's older pages
(`filings.files`, read, newest first, only while the recent page - at least a year or 1,000
filings - does not yet hold a periodic report filed before the range's start): they are replayed
once saved, so a rerun costs one request per CIK.

Terms: EDGAR data is public (a U.S. government work, no licence needed). The SEC's fair-access
policy (https://www.sec.gov/os/accessing-edgar-data) requires a User-Agent that names the requester
and a contact e-mail, e.g. "Example Research jane@example.com" (SEC_USER_AGENT), and at most 10
requests per second: `Throttle` spaces the downloads (replays are not throttled).
"""

from __future__ import annotations

import csv
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from orchestration.raw.sources.live.feeds import Warn
from orchestration.raw.sources.live.http import (
    HttpClient,
    Reply,
    SourceError,
    SourceHTTPError,
    SourceShapeError,
    json_body,
    require,
)

URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{cik:010d}.json"
SUBMISSIONS_URL = "https://data.sec.gov/submissions/CIK{cik:010d}.json"
SUBMISSIONS_PAGE_URL = "https://data.sec.gov/submissions/{name}"  # CIK##########-submissions-001.json
FILING_URL = "https://www.sec.gov/Archives/edgar/data/{cik}/{folder}/{name}"
CIKS = Path(__file__).with_name("ciks.csv")
CONCEPT = "EntityCommonStockSharesOutstanding"
DEI_NAMESPACE = "http://xbrl.sec.gov/dei/"  # + the taxonomy year, e.g. /2023
CLASS_AXIS = "StatementClassOfStockAxis"  # us-gaap:StatementClassOfStockAxis
PERIODIC_FORMS = frozenset(
    {"10-K", "10-Q", "20-F", "40-F"} | {f"{form}/A" for form in ("10-K", "10-Q", "20-F", "40-F")}
)
SHARES_FROM = ("companyfacts", "filings", "none")
CIK_COLUMNS = ("ticker", "cik", "valid_from", "valid_to", "shares_from")
MAX_REQUESTS_PER_SECOND = 10
XBRLI = "{http://www.xbrl.org/2003/instance}"
XBRLDI = "{http://xbrl.org/2006/xbrldi}"


class CiksError(ValueError):
    """ciks.csv is not valid: the message names the file, row, column and value."""


@dataclass(frozen=True)
class CikRow:
    """One row of ciks.csv: `ticker` denotes the company `cik` from `valid_from` to `valid_to`
    (inclusive; None = open), its figures served by `shares_from`."""

    ticker: str
    cik: int
    valid_from: date | None
    valid_to: date | None
    shares_from: str

    def overlaps(self, start: date | None, end: date) -> bool:
        return (self.valid_from is None or self.valid_from <= end) and (
            self.valid_to is None or start is None or self.valid_to >= start
        )

    def clip(self, figures: pd.DataFrame) -> pd.DataFrame:
        """The figures dated inside the validity range: another CIK's company is the ticker outside it."""
        kept = pd.Series(True, index=figures.index)
        if self.valid_from is not None:
            kept &= figures["as_of"] >= pd.Timestamp(self.valid_from)
        if self.valid_to is not None:
            kept &= figures["as_of"] <= pd.Timestamp(self.valid_to)
        return figures[kept].reset_index(drop=True)

    def describe(self) -> str:
        since = f" from {self.valid_from}" if self.valid_from else ""
        until = f" until {self.valid_to}" if self.valid_to else ""
        return f"CIK {self.cik}{since}{until}"


def load_ciks(path: Path = CIKS) -> tuple[CikRow, ...]:
    """The rows of ciks.csv, validated: a bad value, a missing column or two overlapping rows of one
    ticker raise CiksError naming the file, row (1 = the first after the header), column and value,
    because a wrong CIK or range silently gives a ticker another company's share count."""
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        missing = [column for column in CIK_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise CiksError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(CIK_COLUMNS)})")
        rows = [_cik_row(path, number, record) for number, record in enumerate(reader, start=1)]
    by_ticker: dict[str, list[tuple[int, CikRow]]] = {}
    for number, row in enumerate(rows, start=1):
        by_ticker.setdefault(row.ticker, []).append((number, row))
    for numbered in by_ticker.values():
        ordered = sorted(numbered, key=lambda item: item[1].valid_from or date.min)
        for (first_number, first), (number, later) in zip(ordered, ordered[1:], strict=False):
            if first.valid_to is None or later.valid_from is None or later.valid_from <= first.valid_to:
                raise CiksError(
                    f"{path}: row {number} (ticker {later.ticker}), column 'valid_from': value "
                    f"'{later.valid_from or ''}' overlaps row {first_number} ({first.describe()}); "
                    "one CIK per ticker and day"
                )
    return tuple(rows)


def _cik_row(path: Path, number: int, record: dict[str, str | None]) -> CikRow:
    def fail(column: str, why: str) -> CiksError:
        return CiksError(
            f"{path}: row {number} (ticker {ticker or '?'}), column '{column}': value '{text(column)}' {why}"
        )

    def text(column: str) -> str:
        return (record.get(column) or "").strip()

    def day(column: str) -> date | None:
        if not text(column):
            return None
        try:
            return date.fromisoformat(text(column))
        except ValueError:
            raise fail(column, "is not a date (YYYY-MM-DD, or empty for an open range)") from None

    ticker = text("ticker")
    if not ticker or not ticker.replace(".", "").isalnum() or ticker != ticker.upper():
        raise fail("ticker", "is not an upper-case ticker")
    if not text("cik").isdigit() or not 0 < int(text("cik")) < 10**10:
        raise fail("cik", "is not a CIK (a whole number of at most 10 digits)")
    if text("shares_from") not in SHARES_FROM:
        raise fail("shares_from", f"is not one of {', '.join(SHARES_FROM)}")
    valid_from, valid_to = day("valid_from"), day("valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise fail("valid_to", f"is before valid_from {valid_from}")
    return CikRow(ticker, int(text("cik")), valid_from, valid_to, text("shares_from"))


class Throttle:
    """At most `per_second` downloads a second (the SEC's fair-access limit), by spacing them
    1/per_second apart. `clock` (monotonic seconds) and `sleep` are injectable so tests do not wait."""

    def __init__(
        self,
        per_second: float = MAX_REQUESTS_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self.clock, self.sleep = clock, sleep
        self.last: float | None = None  # when the latest download started

    def wait(self) -> None:
        if self.last is not None:
            gap = self.last + self.interval - self.clock()
            if gap > 0:
                self.sleep(gap)

    def sent(self) -> None:
        self.last = self.clock()


@dataclass(frozen=True)
class Filing:
    accession: str
    form: str
    filed: date
    report: date | None
    primary: str
    inline: bool


class SecEdgar:
    responses_dir = "sec_edgar"
    origin = f"SEC EDGAR company facts {URL}, else the filings' XBRL ({SUBMISSIONS_URL})"

    def __init__(
        self,
        http: HttpClient,
        user_agent: str | None,
        ciks: Sequence[CikRow] | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.http, self.user_agent = http, (user_agent or "").strip()
        self.ciks = load_ciks() if ciks is None else tuple(ciks)
        self.throttle = throttle or Throttle()

    def shares(self, ticker: str, start: date | None, end: date, warn: Warn) -> pd.DataFrame:
        rows = [row for row in self.ciks if row.ticker == ticker]
        if not rows:
            warn(f"{ticker}: no CIK in {CIKS.name}, SEC EDGAR not asked")
            return _no_figures()
        asked = [row for row in rows if row.overlaps(start, end) and row.shares_from != "none"]
        if asked and not self.user_agent:
            raise SourceError(
                "SEC EDGAR requires a User-Agent naming you and a contact e-mail: set "
                "SEC_USER_AGENT, e.g. SEC_USER_AGENT='Example Research jane@example.com'"
            )
        parts = []
        for row in asked:
            try:
                if row.shares_from == "companyfacts":
                    figures = self._companyfacts(row, min(filter(None, (end, row.valid_to))), warn)
                else:
                    figures = self._filings(row, start, end, warn)
            except SourceHTTPError as error:
                if error.status != 404:
                    raise
                warn(f"{ticker}: SEC EDGAR has no {row.shares_from} for CIK {row.cik} (HTTP 404); check {CIKS.name}")
                continue
            parts.append(row.clip(figures))
        parts = [part for part in parts if not part.empty]
        return pd.concat(parts, ignore_index=True).sort_values("as_of") if parts else _no_figures()

    def _get(self, url: str, parse: Callable[[str], Any], covers_until: date | None) -> Reply[Any]:
        """Through the shared client (its replay cache), spaced by the throttle when downloading."""
        before = len(self.http.used)
        self.throttle.wait()
        try:
            return self.http.get(
                self.responses_dir,
                url,
                parse=parse,
                headers={"User-Agent": self.user_agent},
                covers_until=covers_until,
            )
        finally:
            used = self.http.used[before:]
            if not used or not used[-1].replayed:  # a download (or a failed one) was made
                self.throttle.sent()

    def _companyfacts(self, row: CikRow, end: date, warn: Warn) -> pd.DataFrame:
        url = URL.format(cik=row.cik)
        figures = self._get(url, partial(_parse, f"SEC EDGAR company facts {row.ticker} ({url})"), end).value
        if figures.empty:
            warn(
                f"{row.ticker}: SEC EDGAR company facts of CIK {row.cik} have no cover-page share count: if it "
                f"reports one per share class, set shares_from=filings in {CIKS.name}; else add its figures "
                "to the overrides"
            )
        return figures

    def _filings(self, row: CikRow, start: date | None, end: date, warn: Warn) -> pd.DataFrame:
        url = SUBMISSIONS_URL.format(cik=row.cik)
        endpoint = f"SEC EDGAR submissions {row.ticker} ({url})"
        first = max(filter(None, (start, row.valid_from)), default=None)
        last = min(filter(None, (end, row.valid_to)))
        filings, pages = self._get(url, partial(_parse_submissions, endpoint), last).value
        for page in pages:  # only while the report in force at the range's start is not yet listed
            if first is not None and any(f.form in PERIODIC_FORMS and f.filed < first for f in filings):
                break
            page_url = SUBMISSIONS_PAGE_URL.format(name=page)
            filings += self._get(
                page_url, partial(_parse_page, f"SEC EDGAR submissions {row.ticker} ({page_url})"), None
            ).value
        chosen = relevant_filings(filings, first, last)
        found = []
        for filing in chosen:
            try:
                covers = self._cover_figures(row, filing, warn)
            except SourceHTTPError as error:
                if error.status != 404:
                    raise
                warn(f"{row.ticker}: filing {filing.accession} ({filing.form}) of CIK {row.cik}: {error}; skipped")
                continue
            found.extend(
                {"as_of": day, "shares": shares, "filed": filing.filed, "accn": filing.accession}
                for day, shares in covers
            )
        if not found:
            if chosen:
                reports = f"CIK {row.cik}'s {len(chosen)} periodic reports"
                warn(f"{row.ticker}: no cover-page share count in the XBRL of {reports}")
            return _no_figures()
        frame = pd.DataFrame(found).sort_values(["as_of", "filed", "accn"])
        return frame.drop_duplicates("as_of", keep="last")[["as_of", "shares"]].reset_index(drop=True)

    def _cover_figures(self, row: CikRow, filing: Filing, warn: Warn) -> list[tuple[pd.Timestamp, int]]:
        folder = filing.accession.replace("-", "")
        index_url = FILING_URL.format(cik=row.cik, folder=folder, name="index.json")
        names = self._get(
            index_url, partial(_parse_index, f"SEC EDGAR filing index {row.ticker} ({index_url})"), None
        ).value
        instance = instance_name(names, filing)
        if instance is None:
            which = f"filing {filing.accession} ({filing.form})"
            warn(f"{row.ticker}: {which} lists no XBRL instance in {index_url}; skipped")
            return []
        instance_url = FILING_URL.format(cik=row.cik, folder=folder, name=instance)
        endpoint = f"SEC EDGAR XBRL instance {row.ticker} {filing.form} ({instance_url})"
        return self._get(instance_url, partial(cover_figures, endpoint), None).value


def relevant_filings(filings: Sequence[Filing], start: date | None, end: date) -> list[Filing]:
    """The periodic reports whose cover date can fall in [start, end] (the cover date lies between
    the period's end and the filing day): filed on or after `start`, reporting a period ended by
    `end`; plus the last one filed before `start`, the figure in force when the range begins."""
    unique = {filing.accession: filing for filing in filings}.values()  # pages could overlap
    periodic = [filing for filing in unique if filing.form in PERIODIC_FORMS]
    inside = [
        filing
        for filing in periodic
        if (start is None or filing.filed >= start) and (filing.report or filing.filed) <= end
    ]
    before = [filing for filing in periodic if start is not None and filing.filed < start]
    latest_before = [max(before, key=lambda filing: (filing.filed, filing.accession))] if before else []
    return sorted(latest_before + inside, key=lambda filing: (filing.filed, filing.accession))


def instance_name(names: Sequence[str], filing: Filing) -> str | None:
    """The XBRL instance among a filing folder's files: for inline XBRL the one EDGAR extracts,
    `<primary document stem>_htm.xml`; else the .xml that is neither a linkbase nor EDGAR's own."""
    if filing.inline:
        extracted = f"{Path(filing.primary).stem}_htm.xml"
        return extracted if extracted in names else None
    linkbases = ("_cal.xml", "_def.xml", "_lab.xml", "_pre.xml")
    candidates = [
        name for name in names if name.endswith(".xml") and not name.endswith(linkbases) and name != "FilingSummary.xml"
    ]
    return candidates[0] if len(candidates) == 1 else None


def cover_figures(endpoint: str, text: str) -> list[tuple[pd.Timestamp, int]]:
    """(cover date, shares) from an XBRL instance: the `dei:EntityCommonStockSharesOutstanding`
    values at each instant, summed over the share classes (contexts whose only dimension is the
    class-of-stock axis); a dimensionless value only where no class is tagged. A value with another
    dimension (a co-registrant, ...) is not the issuer's count and is ignored."""
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as error:
        raise SourceShapeError(endpoint, f"well-formed XML ({error})") from error
    if root.tag != f"{XBRLI}xbrl":
        raise SourceShapeError(endpoint, f"xbrli:xbrl root element (found {root.tag})")
    contexts: dict[str, tuple[str, str | None]] = {}  # id -> (instant, class member or None)
    for context in root.iter(f"{XBRLI}context"):
        instant = context.findtext(f"{XBRLI}period/{XBRLI}instant")
        members = [
            (member.get("dimension", ""), (member.text or "").strip())
            for member in context.iter()
            if member.tag in (f"{XBRLDI}explicitMember", f"{XBRLDI}typedMember")
        ]
        if instant is None or (members and (len(members) != 1 or not members[0][0].endswith(f":{CLASS_AXIS}"))):
            continue
        contexts[context.get("id", "")] = (instant.strip(), members[0][1] if members else None)
    per_class: dict[str, dict[str, int]] = {}
    whole: dict[str, int] = {}
    for fact in root:
        if not (fact.tag.startswith("{" + DEI_NAMESPACE) and fact.tag.endswith("}" + CONCEPT)):
            continue
        where = contexts.get(fact.get("contextRef", ""))
        if where is None:
            continue
        try:
            value = int((fact.text or "").strip())
        except ValueError:
            raise SourceShapeError(endpoint, f"whole number in {CONCEPT} (found {fact.text!r})") from None
        instant, member = where
        if member is None:
            whole[instant] = value
        else:
            per_class.setdefault(instant, {})[member] = value  # a repeated fact counts once
    totals = {instant: sum(classes.values()) for instant, classes in per_class.items()}
    totals.update({instant: value for instant, value in whole.items() if instant not in per_class})
    return [(pd.Timestamp(instant), shares) for instant, shares in sorted(totals.items())]


def _parse_submissions(endpoint: str, text: str) -> tuple[list[Filing], list[str]]:
    """The recent filings with XBRL, and the names of the older pages (filings.files, newest first)."""
    document = json_body(endpoint, text)
    filings = _filing_table(document, endpoint, "filings", "recent")
    pages = require(document, endpoint, "filings", "files")
    return filings, [require(pages, endpoint, index, "name") for index in range(len(pages))]


def _parse_page(endpoint: str, text: str) -> list[Filing]:
    """An older page of the submissions: the same arrays as filings.recent, at the top level."""
    return _filing_table(json_body(endpoint, text), endpoint)


def _filing_table(document: Any, endpoint: str, *where: str) -> list[Filing]:
    columns = ("accessionNumber", "form", "filingDate", "reportDate", "primaryDocument", "isXBRL", "isInlineXBRL")
    arrays = {column: require(document, endpoint, *where, column) for column in columns}
    if len({len(values) for values in arrays.values()}) != 1:
        raise SourceShapeError(endpoint, f"{'.'.join(where) or 'filing'} arrays of one length")
    try:
        return [
            Filing(
                accession=accession,
                form=form,
                filed=date.fromisoformat(filed),
                report=date.fromisoformat(report) if report else None,
                primary=primary,
                inline=bool(inline),
            )
            for accession, form, filed, report, primary, xbrl, inline in zip(*arrays.values(), strict=True)
            if xbrl
        ]
    except (TypeError, ValueError) as error:
        raise SourceShapeError(endpoint, f"ISO dates in the filing arrays ({error})") from error


def _parse_index(endpoint: str, text: str) -> list[str]:
    items = require(json_body(endpoint, text), endpoint, "directory", "item")
    return [require(items, endpoint, index, "name") for index in range(len(items))]


def _parse(endpoint: str, text: str) -> pd.DataFrame:
    document = json_body(endpoint, text)
    dei = require(document, endpoint, "facts").get("dei", {})
    if CONCEPT not in dei:
        return _no_figures()  # a multi-class filer's, or a foreign private issuer's
    items = require(document, endpoint, "facts", "dei", CONCEPT, "units", "shares")
    rows = [_item(document, endpoint, index) for index in range(len(items))]
    if not rows:
        return _no_figures()
    latest = pd.DataFrame(rows).sort_values(["as_of", "filed", "accn"]).drop_duplicates("as_of", keep="last")
    return latest[["as_of", "shares"]].reset_index(drop=True)


def _item(document: Any, endpoint: str, index: int) -> dict[str, Any]:
    path = ("facts", "dei", CONCEPT, "units", "shares", index)
    return {
        "as_of": pd.Timestamp(require(document, endpoint, *path, "end")),
        "shares": int(require(document, endpoint, *path, "val")),
        "accn": require(document, endpoint, *path, "accn"),
        "filed": pd.Timestamp(require(document, endpoint, *path, "filed")),
    }


def _no_figures() -> pd.DataFrame:
    return pd.DataFrame({"as_of": pd.Series(dtype="datetime64[ns]"), "shares": pd.Series(dtype="int64")})
