"""The `live` source: real data from public APIs, one adapter per provider behind small interfaces
(feeds.py), all sharing one HTTP client (http.py) that retries and caches.

    btc_daily           Coin Metrics community API (coinmetrics.py), block heights from its
                        cumulative daily block counts
    equity_prices       Yahoo Finance chart, asked as a browser would, closes made unadjusted (yahoo.py)
    splits              Yahoo Finance chart events
    shares_outstanding  SEC EDGAR cover-page share counts (sec_edgar.py): company facts, or the
                        filings' XBRL for multi-class issuers, per CIK and validity range in
                        ciks.csv; plus the analyst's overrides, with staleness checks (shares.py)
    miner_universe      empty: the built-in dbt seed is used. The seed also says which tickers
                        to ask for and over which days (listed_on .. the day before delisted_on).
    miner_operations    the analyst's miner_operations.csv in WAREHOUSE_CSV_DIR (no public API
                        publishes the miners' monthly production updates); empty without it
    miner_balance_sheet the analyst's balance_sheet.csv in WAREHOUSE_CSV_DIR; empty without it

The two analyst files are read exactly as the csv source reads them (csv_files.py: text, whole
file, the requested range ignored), so the loader's errors name the file, row, column and value
as they do for the csv source, and `origin` is the file's path.

Mixing sources per dataset. Any other dataset may come, in part or whole, from the analyst's file of
the csv source's name and format in WAREHOUSE_CSV_DIR (csv_files.FILES), when the file is there:
* equity_prices.csv, splits.csv, shares_outstanding.csv: BY TICKER. The tickers the file holds come
  from the file only (their provider is not asked); the others from the provider. That is how a
  delisted ticker's history (Yahoo answers "symbol may be delisted"), a price series licensed
  elsewhere, or a multi-class issuer's share counts get in. A ticker whose closes come from
  equity_prices.csv takes its splits from splits.csv too (none when it has no rows there): closes as
  traded and the splits that explain their jumps must come from one place. (shares_overrides.csv, by
  contrast, corrects single (ticker, as_of) figures and keeps SEC's others.)
* btc_daily.csv and universe.csv: WHOLE. The file replaces the provider (Coin Metrics is not asked)
  or the built-in seed (whose tickers are then also the ones asked for).
The file's rows are handed over as text, first and in file order, with the provider's rows after
them as text too, so the loader validates both alike and names the file's row and key; the rows of a
dated file outside the requested days are left out (a row whose date does not parse stays, for the
loader to name). `provenance(dataset)` says where each dataset came from in one line (raw.load_log's
`origin`, the run summary).

`fetch(dataset, start, end)` asks only for that range (a monthly partition asks for its month);
`end` None means today (UTC), `start` None the beginning of the record or of each listing. Every
response is kept under `<WAREHOUSE_DIR>/raw_responses/<responses_dir>/` and replayed on reruns (http.py).

Warnings (a price feed fallback, closes that could not be unadjusted, a stale or missing share
count, block heights that disagree with Coin Metrics' issuance) do not stop a load: `warnings`
holds those of the latest `fetch`, for the caller to surface (e.g. as Dagster metadata), and they
are logged.

Terms of use differ per provider and two are NON-COMMERCIAL (Coin Metrics community data: CC BY-NC
4.0; Yahoo Finance: personal use): see each module's docstring before publishing commercially.
TERMS says so in a few lines, printed once at the start of every live run; ATTRIBUTION is the
credit line every publication made from live data carries (publication_log.attribution).

Configuration comes from the settings (core/settings.py reads the environment), passed to
`configured`: SEC_USER_AGENT (needed for shares_outstanding); the overrides file is
WAREHOUSE_SHARES_OVERRIDES (a path that must exist) or else `shares_overrides.csv` in
WAREHOUSE_CSV_DIR when it exists there; WAREHOUSE_LIVE_REFRESH=1 downloads again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from orchestration.core.paths import MINER_UNIVERSE_SEED, WarehousePaths
from orchestration.core.settings import LIVE_REFRESH
from orchestration.raw.contract import DATASETS
from orchestration.raw.sources.base import RawSource
from orchestration.raw.sources.csv_files import FILES, empty_frame, read_text_csv
from orchestration.raw.sources.live.coinmetrics import CoinMetrics
from orchestration.raw.sources.live.feeds import (
    ChainFeed,
    NoHistory,
    PriceFeed,
    SharesFeed,
    TickerHistory,
    no_closes,
    no_splits,
)
from orchestration.raw.sources.live.http import HttpClient, Saved, SourceError
from orchestration.raw.sources.live.sec_edgar import SecEdgar, load_ciks
from orchestration.raw.sources.live.shares import (
    cik_switches,
    combine,
    read_overrides,
    shares_plan,
    staleness_warnings,
)
from orchestration.raw.sources.live.yahoo import Yahoo

log = logging.getLogger(__name__)

SEED_UNIVERSE = MINER_UNIVERSE_SEED
TERMS = (
    "Terms of use of the live source's providers (README, 'Live data'):",
    "  Coin Metrics community data: CC BY-NC 4.0, non-commercial use only, credited as 'Source: Coin Metrics "
    "Community Network Data'; publishing commercially needs a Coin Metrics licence.",
    "  Yahoo Finance: personal, non-commercial use; no redistribution.",
    "  SEC EDGAR: public data; requests declare who asks (SEC_USER_AGENT) and stay under 10 per second.",
)
ATTRIBUTION = (
    "Source: Coin Metrics Community Network Data (CC BY-NC 4.0, non-commercial); Yahoo Finance (personal, "
    "non-commercial use); SEC EDGAR (public)"
)
# Datasets no API serves: read from the analyst's files in WAREHOUSE_CSV_DIR when they are there.
ANALYST_FILES = ("miner_operations", "miner_balance_sheet")
# Datasets a file in WAREHOUSE_CSV_DIR overlays: per ticker, or as a whole (see the module docstring).
OVERLAID_BY_TICKER = ("equity_prices", "splits", "shares_outstanding")
REPLACED_WHOLE = ("btc_daily", "miner_universe")


def read_universe(path: Path = SEED_UNIVERSE) -> pd.DataFrame:
    return pd.read_csv(path, parse_dates=["listed_on", "delisted_on"])


NAMED_RESPONSES = 3


def responses_note(used: Sequence[Saved]) -> str:
    """Where a dataset's rows were read from on disk, for the loader's errors: a bad value sits in
    one of these files, and a replayed file is read again on every run until it is downloaded anew."""
    if not used:
        return ""
    paths = list(dict.fromkeys(saved.path for saved in used))
    if len(paths) <= NAMED_RESPONSES:
        where = ", ".join(str(path) for path in paths)
    else:
        folders = ", ".join(str(folder) for folder in dict.fromkeys(path.parent for path in paths))
        where = f"{len(paths)} files in {folders}, each holding the URL it answers (ticker, CIK)"
    replayed = len({saved.path for saved in used if saved.replayed})
    if replayed:
        how = f"{replayed} of them replayed from an earlier run; {LIVE_REFRESH}=1 downloads them again"
    else:
        how = "downloaded in this run"
    return f"; responses: {where} ({how})"


class LiveSource(RawSource):
    """See the module docstring. `http` is the shared client; `chain`, `prices` (tried in order) and
    `shares` replace the default adapters; `universe` (ticker, listed_on, delisted_on) the seed;
    `csv_dir` (WAREHOUSE_CSV_DIR) holds the analyst's operations and balance-sheet files."""

    name = "live"
    attribution = ATTRIBUTION

    def __init__(
        self,
        http: HttpClient,
        *,
        sec_user_agent: str | None = None,
        shares_overrides: Path | None = None,
        universe: pd.DataFrame | None = None,
        chain: ChainFeed | None = None,
        prices: Sequence[PriceFeed] | None = None,
        shares: SharesFeed | None = None,
        csv_dir: Path | None = None,
    ) -> None:
        self.http = http
        self.csv_dir = csv_dir
        self.chain = chain or CoinMetrics(http)
        self.prices = tuple(prices or (Yahoo(http),))
        self.shares = shares or SecEdgar(http, sec_user_agent)
        self.shares_overrides = shares_overrides
        universe_file = self.analyst_file("miner_universe")
        if universe is None:
            universe = read_universe() if universe_file is None else _universe_from(universe_file)
        self.universe = universe
        self.warnings: list[str] = []
        self.responses: dict[str, list[Saved]] = {}  # dataset -> the response files its latest fetch read
        self._provenance: dict[str, str] = {}  # dataset -> where its latest fetch came from, in one line

    @classmethod
    def configured(
        cls,
        warehouse_dir: Path,
        *,
        sec_user_agent: str | None = None,
        shares_overrides: Path | None = None,
        refresh: bool = False,
        csv_dir: Path | None = None,
    ) -> LiveSource:
        """The default live source with the settings' values (SEC_USER_AGENT, the overrides file);
        `refresh` (WAREHOUSE_LIVE_REFRESH=1) downloads again even what is cached: a provider's
        corrected value, or a response the loader refused, is otherwise replayed from
        raw_responses/ on every run."""
        return cls(
            HttpClient(WarehousePaths(Path(warehouse_dir)).raw_responses, refresh=refresh),
            sec_user_agent=sec_user_agent,
            shares_overrides=shares_overrides,
            csv_dir=csv_dir,
        )

    def analyst_file(self, dataset: str) -> Path | None:
        """The analyst's file of `dataset` in WAREHOUSE_CSV_DIR, None when there is none to read."""
        path = self.csv_dir / FILES[dataset] if self.csv_dir is not None else None
        return path if path is not None and path.is_file() else None

    def origin(self, dataset: str) -> str:
        if dataset in ANALYST_FILES or dataset in REPLACED_WHOLE:
            path = self.analyst_file(dataset)
            if path is not None:
                return str(path)  # as the csv source names it: the loader's errors read the same
        if dataset in REPLACED_WHOLE:
            return f"live source, dataset {dataset}: {self._provider(dataset)}{self._responses_note(dataset)}"
        if dataset in ANALYST_FILES:
            where = f"no {FILES[dataset]} in {self.csv_dir}" if self.csv_dir else "WAREHOUSE_CSV_DIR is not set"
            return f"live source, dataset {dataset}: none ({where}; no public API publishes it)"
        overlay = self.analyst_file(dataset) if dataset in OVERLAID_BY_TICKER else None
        file_part = f" + {overlay} (its tickers; the file's rows come first)" if overlay else ""
        return f"live source, dataset {dataset}: {self._provider(dataset)}{file_part}{self._responses_note(dataset)}"

    def _provider(self, dataset: str) -> str:
        price_feeds = ", else ".join(feed.origin for feed in self.prices)
        overrides = f" + overrides {self.shares_overrides}" if self.shares_overrides else ""
        return {
            "btc_daily": self.chain.origin,
            "equity_prices": price_feeds,
            "splits": price_feeds,
            "shares_outstanding": self.shares.origin + overrides,
            "miner_universe": "none (the dbt seed miner_universe is used)",
        }[dataset]

    def _provider_name(self, dataset: str) -> str:
        """The provider as people name it: `_provider` without its URL."""
        return self._provider(dataset).split(" http")[0]

    def _responses_note(self, dataset: str) -> str:
        return responses_note(self.responses.get(dataset, []))

    def provenance(self, dataset: str) -> str:
        """Where the latest fetch of `dataset` came from, in one line for people: the provider (and
        how many tickers), the analyst's file (and which tickers), or both."""
        return self._provenance.get(dataset) or self.origin(dataset)

    def fetch(self, dataset: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        spec = DATASETS[dataset]
        self.warnings = []
        self.responses[dataset] = []
        path = self.analyst_file(dataset)
        if dataset in ANALYST_FILES or (dataset in REPLACED_WHOLE and path is not None):
            self._provenance[dataset] = str(path) if path else self.origin(dataset)
            # untouched, with only the columns present: the loader names any missing one
            if path is None:
                return empty_frame(spec)
            whole = read_text_csv(path, spec)
            return whole if dataset in ANALYST_FILES else _in_range(whole, spec, start, end)
        overlay = read_text_csv(path, spec) if path is not None and dataset in OVERLAID_BY_TICKER else None
        # the file's tickers, whether or not they have rows in the range: none of them is asked for
        from_file = frozenset(_tickers(overlay)) if overlay is not None else frozenset()
        overlay = _in_range(overlay, spec, start, end) if overlay is not None else None
        inherited = self._file_tickers("equity_prices") - from_file if dataset == "splits" else frozenset()
        skip = from_file | inherited
        first_response = len(self.http.used)
        end = end or self.http.today()
        if dataset == "btc_daily":
            frame = self.chain.btc_daily(start, end, self._warn)
        elif dataset in ("equity_prices", "splits"):
            frame = self._equities(dataset, start, end, skip)
        elif dataset == "shares_outstanding":
            frame = self._shares_outstanding(start, end, skip)
        else:
            frame = pd.DataFrame(columns=list(spec.columns))
        asked = sorted({ticker for ticker, _, _ in self._listed(start, end, skip)})
        self.responses[dataset] = self.http.used[first_response:]
        frame = frame[list(spec.columns)].reset_index(drop=True)
        self._provenance[dataset] = self._describe(dataset, asked, path if overlay is not None else None, from_file)
        if inherited:
            self._provenance[dataset] += (
                f" + no splits for {', '.join(sorted(inherited))} (closes from {self.analyst_file('equity_prices')})"
            )
        if overlay is None:
            return frame
        return pd.concat([overlay, _as_text(frame, spec)], ignore_index=True)

    def _file_tickers(self, dataset: str) -> frozenset[str]:
        """The tickers of the analyst's file of `dataset` (none without the file)."""
        path = self.analyst_file(dataset)
        return frozenset(_tickers(read_text_csv(path, DATASETS[dataset]))) if path else frozenset()

    def plan(self) -> list[str]:
        """What a run will take from where, said before any request: which datasets and tickers
        come from the analyst's files, and where each ticker's share count comes from."""
        lines = []
        for dataset in (*REPLACED_WHOLE, *OVERLAID_BY_TICKER):
            path = self.analyst_file(dataset)
            if path is None:
                continue
            if dataset in REPLACED_WHOLE:
                lines.append(f"{dataset}: from {path} (instead of {self._provider_name(dataset)})")
            else:
                tickers = ", ".join(sorted(self._file_tickers(dataset))) or "no tickers"
                lines.append(f"{dataset}: {tickers} from {path}; the others from {self._provider_name(dataset)}")
        overlaid = self._file_tickers("shares_outstanding")
        tickers = [ticker for ticker in self.universe["ticker"] if ticker not in overlaid]
        return lines + shares_plan(load_ciks(), self._overrides(), tickers)

    def _describe(self, dataset: str, asked: list[str], path: Path | None, from_file: frozenset[str]) -> str:
        provider = self._provider_name(dataset)
        if dataset not in OVERLAID_BY_TICKER:
            return provider
        count = f"{len(asked)} ticker{'' if len(asked) == 1 else 's'}"
        parts = [f"{provider} ({count})"] if asked or path is None else []
        if path is not None:
            parts.append(f"{path} ({', '.join(sorted(from_file)) or 'no tickers'})")
        return " + ".join(parts)

    def _equities(self, dataset: str, start: date | None, end: date, skip: frozenset[str]) -> pd.DataFrame:
        parts = []
        for ticker, first, last in self._listed(start, end, skip):
            history = self._history(ticker, first, last)
            part = history.closes if dataset == "equity_prices" else history.splits
            parts.append(part.assign(ticker=ticker))
        if not parts:
            return pd.DataFrame(columns=list(DATASETS[dataset].columns))
        return pd.concat(parts).sort_values(list(DATASETS[dataset].key))

    def _history(self, ticker: str, start: date, end: date) -> TickerHistory:
        """From the first price feed that answers; the failures before it become a warning. When
        every feed failed and each said it has no history of the ticker (NoHistory: delisted or
        acquired), the ticker's history is empty and a warning says where to give it, so the other
        tickers load; any other failure stops the dataset."""
        failures, no_history = [], []
        for feed in self.prices:
            try:
                history = feed.history(ticker, start, end)
            except NoHistory as error:
                failures.append(f"{feed.name} failed: {error}")
                no_history.append(f"{feed.name}: {error}")
                continue
            except SourceError as error:
                failures.append(f"{feed.name} failed: {error}")
                continue
            if failures:
                self._warn(f"{ticker}: {'; '.join(failures)}; used {feed.name}")
            if history.caveat:
                self._warn(f"{ticker}: {history.caveat}")
            return history
        if failures and len(no_history) == len(failures):
            self._warn(
                f"{ticker}: no history for {start}..{end} ({' | '.join(no_history)}): its closes and splits are "
                f"missing; give its history in WAREHOUSE_CSV_DIR/equity_prices.csv and splits.csv"
            )
            return TickerHistory(no_closes(), no_splits())
        raise SourceError(f"{ticker}: no price feed answered for {start}..{end}: {' | '.join(failures)}")

    def _shares_outstanding(self, start: date | None, end: date, skip: frozenset[str]) -> pd.DataFrame:
        listed = list(self._listed(start, end, skip))
        reported = [self.shares.shares(ticker, start, end, self._warn).assign(ticker=ticker) for ticker, _, _ in listed]
        figures = combine(pd.concat(reported) if reported else pd.DataFrame(), self._overrides())
        ciks = getattr(self.shares, "ciks", None)
        switches = cik_switches(ciks if ciks is not None else load_ciks())
        spans = {ticker: (first, last) for ticker, first, last in listed}
        for message in staleness_warnings(figures, spans, switches):
            self._warn(message)
        in_range = figures["as_of"] <= pd.Timestamp(end)
        if start is not None:
            in_range &= figures["as_of"] >= pd.Timestamp(start)
        return figures[in_range]

    def _overrides(self) -> pd.DataFrame:
        if self.shares_overrides is None:
            return pd.DataFrame(columns=["ticker", "as_of", "shares"])
        return read_overrides(self.shares_overrides)

    def _listed(self, start: date | None, end: date, skip: frozenset[str]) -> Iterator[tuple[str, date, date]]:
        """(ticker, first day, last day) of each miner listed during [start, end], but those in
        `skip` (the tickers the dataset being fetched takes from the analyst's file)."""
        for row in self.universe.itertuples(index=False):
            if row.ticker in skip:
                continue
            first = row.listed_on.date() if start is None else max(start, row.listed_on.date())
            delisted = row.delisted_on
            last = end if pd.isna(delisted) else min(end, delisted.date() - timedelta(days=1))
            if first <= last:
                yield row.ticker, first, last

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)


def _universe_from(path: Path) -> pd.DataFrame:
    """The tickers to ask for and their listing days, from the analyst's universe.csv; rows whose
    dates do not parse are skipped here (the loader names them when it loads the file)."""
    frame = read_text_csv(path, DATASETS["miner_universe"])
    listed = pd.to_datetime(frame["listed_on"], errors="coerce", format="%Y-%m-%d")
    delisted = pd.to_datetime(frame["delisted_on"], errors="coerce", format="%Y-%m-%d")
    usable = listed.notna() & frame["ticker"].notna()
    return pd.DataFrame({"ticker": frame["ticker"].str.strip(), "listed_on": listed, "delisted_on": delisted})[
        usable
    ].reset_index(drop=True)


def _tickers(frame: pd.DataFrame) -> set[str]:
    return {str(ticker).strip() for ticker in frame["ticker"].dropna()}


def _in_range(frame: pd.DataFrame, spec, start: date | None, end: date | None) -> pd.DataFrame:
    """The text rows of a file dated inside [start, end]; rows whose date does not parse are kept
    (the loader names them), and an undated dataset is returned whole."""
    if spec.date_column is None or (start is None and end is None):
        return frame
    text = frame[spec.date_column].astype("string").str.strip()
    if spec.date_column in spec.months:
        text = text + "-01"
    day = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
    inside = day.isna()
    if start is not None and end is not None:
        inside |= (day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))
    elif start is not None:
        inside |= day >= pd.Timestamp(start)
    else:
        inside |= day <= pd.Timestamp(end)
    return frame[inside.to_numpy()].reset_index(drop=True)


def _as_text(frame: pd.DataFrame, spec) -> pd.DataFrame:
    """A provider's typed rows as the text a file would hold (ISO dates, numbers as Python prints
    them: round-trip exact), so they join the analyst's rows in one frame the loader casts alike."""
    text = {}
    for column, kind in spec.columns.items():
        values = frame[column]
        if kind == "DATE":
            values = pd.to_datetime(values)
            text[column] = [None if pd.isna(v) else f"{v:%Y-%m-%d}" for v in values]
        else:
            text[column] = [None if pd.isna(v) else str(v) for v in values]
    return pd.DataFrame(text, columns=list(spec.columns))


__all__ = ["ATTRIBUTION", "TERMS", "LiveSource", "SourceError"]
