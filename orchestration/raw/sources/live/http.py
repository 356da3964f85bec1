"""The one HTTP client of every live adapter: timeouts, bounded retries, errors and a replay cache.

The adapters differ only in URLs and parsing; retrying, backing off, honouring Retry-After, naming
failures and keeping what was downloaded are one concern, so they live here once.

Cache. Every accepted response is written to `<cache_dir>/<responses_dir>/<key>.json`, `key` derived from
the full URL with its (sorted) parameters: the last path segment, for people browsing the folder,
plus a hash. The file is a small JSON envelope, {"url", "fetched_at", "body"}, where `body` is the
exact text the server sent. A request whose file exists replays it instead of downloading, so a
rerun or a backfill costs no traffic, except when
* the client was made with `refresh=True` (force download), or
* the caller says the response must cover a day (`covers_until`) and the copy was fetched on or
  before that day: it may be incomplete (a month still running, a filing not yet made), so it is
  downloaded again and replaces the copy.
Bodies are parsed before they are stored, so a body the adapter rejects (an error payload, a changed
shape) is never replayed; it is kept under `<responses_dir>/rejected/<key>.json` for inspection, as is the
body of a final HTTP error.

HTML pages. A provider that blocks a client, wants a login or a captcha, or (stooq since 2026) a
JavaScript proof-of-work, often answers HTTP 200 with an HTML page. None of our endpoints serves HTML,
so a body sent as text/html or starting as an HTML page does (`<!DOCTYPE html`, `<html`, ...;
not `<?xml`: SEC's XBRL instances are XML) is refused before any parsing (HtmlPageError,
naming the URL), kept under rejected/ and never replayed: a page must never be read as data.

Sessions. Most providers are asked through one plain `requests` session with our own User-Agent.
Yahoo answers such a client with 429s (it fingerprints TLS and HTTP/2, as yfinance's HTTP layer
warns), so an adapter can ask through `browser`: a curl_cffi session impersonating Chrome, made on
first use. Both are injectable (`session`, `browser_session`): the tests give plain `requests`
sessions, which the `responses` library intercepts. An adapter whose endpoint needs per-session
credentials (Yahoo's cookie and crumb) passes `credentials`: they are asked for only when a
download is needed (a replay makes no request at all), their parameters are sent but never part of
the cache key or the saved URL (so a response replays whatever session fetched it), and an answer
that says they expired (HTTP 401) renews them once and asks again.

Retries. HTTP 429 and 5xx, timeouts and connection errors are retried, `attempts` tries in all,
after the server's Retry-After when it sends one, else after its `x-ratelimit-reset` (seconds until
the rate-limit window resets: Coin Metrics sends that one, not Retry-After), else after
`backoff * 2**n` seconds (n = 0, 1, ...), each capped at `max_wait`. Other HTTP errors (400, 403,
404, ...) are final. An endpoint that answers 429 to refuse a client rather than to pace it (Yahoo)
passes a `RateLimit`: fewer tries and a short wait, then an error saying what to do instead. `sleep`
and `clock` are injectable so tests neither wait nor depend on today.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
from curl_cffi.requests import exceptions as curl_errors
from tenacity import RetryCallState, Retrying, retry_if_exception_type

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_USER_AGENT = "miner-warehouse/0.1 (monthly bitcoin-miner equities note)"
EXCERPT_CHARS = 300
# What a session raises when no answer came (DNS, refused connection, TLS, timeout): worth retrying.
NO_ANSWER = (requests.ConnectionError, requests.Timeout, curl_errors.RequestException)
IMPERSONATE = "chrome"  # curl_cffi's current Chrome fingerprint, as yfinance uses


def impersonating_session() -> Any:
    """A curl_cffi session presenting as Chrome (TLS and HTTP/2 fingerprint, headers): what Yahoo
    expects of a client it does not rate-limit on sight. Looked up when first needed, so a test can
    replace it."""
    from curl_cffi import requests as curl_requests

    return curl_requests.Session(impersonate=IMPERSONATE)


class SourceError(RuntimeError):
    """A live source could not deliver what was asked; the message names the endpoint and why."""


class SourceHTTPError(SourceError):
    """A final HTTP failure: a 4xx other than 429, or retries exhausted (status None: no answer)."""

    def __init__(self, url: str, status: int | None, detail: str, body: str = "") -> None:
        self.url, self.status, self.body = url, status, body
        answer = f"HTTP {status}" if status is not None else "no response"
        excerpt = f": {_excerpt(body)}" if body else ""
        super().__init__(f"{url}: {answer}: {detail}{excerpt}")


class SourceShapeError(SourceError):
    """The response lacks something the adapter relies on: the source has changed shape."""

    def __init__(self, endpoint: str, missing: str) -> None:
        self.endpoint, self.missing = endpoint, missing
        super().__init__(f"{endpoint}: response has no {missing}; has the source changed shape?")


class HtmlPageError(SourceError):
    """An HTTP 200 whose body is an HTML page (a block, login or challenge page), not data."""

    def __init__(self, endpoint: str, body: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: answered with an HTML page (a block or login page?), not data: {_excerpt(body)}")


class Credentials(Protocol):
    """Per-session credentials an endpoint requires (Yahoo's cookie and crumb), see the module
    docstring. `session` holds their cookies; `params` may make requests (the first time);
    `refresh` drops them so the next `params` makes new ones."""

    session: Any

    def params(self) -> Mapping[str, str]: ...

    def refresh(self) -> None: ...

    def expired(self, error: SourceHTTPError) -> bool:
        """Whether a final HTTP error says the credentials are no longer valid."""
        ...


@dataclass(frozen=True)
class RateLimit:
    """How an endpoint's 429 is treated when it refuses the client rather than paces it: `attempts`
    tries in all while it answers 429, at most `max_wait` seconds apart, then SourceHTTPError whose
    message ends with `advice` (what to do instead)."""

    attempts: int
    max_wait: float
    advice: str


class _Transient(Exception):
    """An attempt worth repeating (429, 5xx, timeout, connection error)."""

    def __init__(self, status: int | None, detail: str, retry_after: float | None, body: str) -> None:
        super().__init__(detail)
        self.status, self.retry_after, self.body = status, retry_after, body


@dataclass(frozen=True)
class Saved:
    """A response file the client used: replayed from an earlier run, or downloaded just now."""

    path: Path
    replayed: bool


@dataclass(frozen=True)
class Reply(Generic[T]):
    value: T  # what the caller's `parse` made of the body
    fetched_at: datetime  # when the body was downloaded (UTC), also when it is replayed


def utc_now() -> datetime:
    return datetime.now(UTC)


class HttpClient:
    def __init__(
        self,
        cache_dir: Path,
        *,
        refresh: bool = False,
        timeout: float = 30.0,
        attempts: int = 5,
        backoff: float = 1.0,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
        user_agent: str = DEFAULT_USER_AGENT,
        session: Any | None = None,
        browser_session: Any | None = None,
    ) -> None:
        """`session`: the session of every provider (default: a new `requests` session, given our
        User-Agent); `browser_session`: the one `browser` returns (default: impersonating_session(),
        made on first use)."""
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.cache_dir = Path(cache_dir)
        self.refresh = refresh
        self.timeout = timeout
        self.attempts, self.backoff, self.max_wait = attempts, backoff, max_wait
        self.sleep, self.clock = sleep, clock
        self.session = requests.Session() if session is None else session
        self.session.headers["User-Agent"] = user_agent
        self._browser = browser_session
        self.used: list[Saved] = []  # every response file a get() answered from, in order

    @property
    def browser(self) -> Any:
        """The session impersonating a browser (for Yahoo); its own User-Agent, cookies kept."""
        if self._browser is None:
            self._browser = impersonating_session()
        return self._browser

    def today(self) -> date:
        return self.clock().date()

    def get(
        self,
        responses_dir: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        parse: Callable[[str], T],
        headers: Mapping[str, str] | None = None,
        covers_until: date | None = None,
        credentials: Credentials | None = None,
        rate_limit: RateLimit | None = None,
    ) -> Reply[T]:
        """GET `url` (replayed from the cache when allowed, see the module docstring) and return
        `parse(body)`; `parse` raises SourceError (usually SourceShapeError) on a bad body.
        `responses_dir` is the adapter's folder under the cache (its `responses_dir`, e.g. "coinmetrics").
        With `credentials`, the request goes through their session with their parameters added."""
        full_url = _full_url(url, params)
        path = self.cache_dir / responses_dir / f"{request_key(full_url)}.json"
        cached = None if self.refresh else _read_envelope(path)
        if cached is not None and (covers_until is None or cached[0].date() > covers_until):
            fetched_at, body = cached
            self.used.append(Saved(path, replayed=True))
            return Reply(parse(body), fetched_at)
        rejected = path.parent / "rejected" / path.name
        try:
            body, content_type = self._authorized_download(full_url, url, params, headers, credentials, rate_limit)
        except SourceHTTPError as error:
            if error.body:
                _write_envelope(rejected, full_url, self.clock(), error.body)
            raise
        fetched_at = self.clock()
        try:
            if is_html(body, content_type):
                raise HtmlPageError(full_url, body)
            value = parse(body)
        except SourceError:
            _write_envelope(rejected, full_url, fetched_at, body)
            raise
        _write_envelope(path, full_url, fetched_at, body)
        self.used.append(Saved(path, replayed=False))
        return Reply(value, fetched_at)

    def _authorized_download(
        self,
        full_url: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        credentials: Credentials | None,
        rate_limit: RateLimit | None,
    ) -> tuple[str, str]:
        """The download of `full_url`, with the credentials' parameters (renewed once when the
        server says they expired); errors name `full_url`, never the credentials."""
        if credentials is None:
            return self._download(full_url, full_url, self.session, headers, rate_limit)
        for renewed in (False, True):
            sent = _full_url(url, {**(params or {}), **credentials.params()})
            try:
                return self._download(full_url, sent, credentials.session, headers, rate_limit)
            except SourceHTTPError as error:
                if renewed or not credentials.expired(error):
                    raise
                log.warning("%s: HTTP %s, credentials expired: renewing them once", full_url, error.status)
                credentials.refresh()
        raise AssertionError("unreachable")  # the loop returns or raises

    def _download(
        self, url: str, sent: str, session: Any, headers: Mapping[str, str] | None, rate_limit: RateLimit | None
    ) -> tuple[str, str]:
        """`sent` (`url` plus any credentials) through `session`, retried; errors name `url`."""

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if rate_limit is not None and isinstance(error, _Transient) and error.status == 429:
                return state.attempt_number >= min(rate_limit.attempts, self.attempts)
            return state.attempt_number >= self.attempts

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if rate_limit is not None and isinstance(error, _Transient) and error.status == 429:
                return min(self._wait(state), rate_limit.max_wait)
            return self._wait(state)

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        attempts = 0

        def attempt() -> tuple[str, str]:
            nonlocal attempts
            attempts += 1
            return self._attempt(url, sent, session, headers)

        try:
            return retrying(attempt)
        except _Transient as error:
            if rate_limit is not None and error.status == 429:
                detail = f"still refused after {attempts} attempts: {rate_limit.advice}"
            else:
                detail = f"gave up after {attempts} attempts ({error})"
            raise SourceHTTPError(url, error.status, detail, error.body) from error

    def _attempt(self, url: str, sent: str, session: Any, headers: Mapping[str, str] | None) -> tuple[str, str]:
        """(body, content type) of a 2xx/3xx answer; raises _Transient or SourceHTTPError otherwise."""
        try:
            response = session.get(sent, headers=dict(headers or {}), timeout=self.timeout)
        except NO_ANSWER as error:
            if _unresolved(error):  # no DNS answer: retrying in a few seconds changes nothing
                host = urlsplit(url).netloc
                raise SourceHTTPError(
                    url, None, f"cannot resolve {host}: is this machine offline? (`make doctor` checks every endpoint)"
                ) from error
            raise _Transient(None, f"{type(error).__name__}: {error}", None, "") from error
        response.encoding = response.encoding or "utf-8"  # JSON without a charset: no slow guessing
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"), self.clock())
            if retry_after is None:
                retry_after = _seconds(response.headers.get("x-ratelimit-reset"))
            raise _Transient(status, f"HTTP {status} {response.reason}", retry_after, response.text)
        if status >= 400:
            raise SourceHTTPError(url, status, response.reason or "error", response.text)
        return response.text, response.headers.get("Content-Type") or ""

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return min(self.backoff * 2 ** (state.attempt_number - 1), self.max_wait)


# How the two HTTP stacks say a host name did not resolve (urllib3's NameResolutionError, libcurl's
# error 6): a machine without DNS or network, not a blip worth retrying.
UNRESOLVED = ("NameResolutionError", "Failed to resolve", "Could not resolve host")


def _unresolved(error: BaseException) -> bool:
    return any(words in f"{type(error).__name__}: {error}" for words in UNRESOLVED)


def request_key(full_url: str) -> str:
    parts = urlsplit(full_url)
    segment = parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc
    slug = re.sub(r"[^A-Za-z0-9]+", "-", segment).strip("-")[:40]
    return f"{slug}-{hashlib.sha256(full_url.encode()).hexdigest()[:16]}"


HTML_STARTS = ("<!doctype html", "<html", "<head", "<body", "<script")


def is_html(body: str, content_type: str = "") -> bool:
    """Whether a body is a page rather than data: sent as text/html, or HTML markup whatever the
    content type says (an XML document, such as an XBRL instance, is data)."""
    return "text/html" in content_type.lower() or body.lstrip()[:20].lower().startswith(HTML_STARTS)


def json_body(endpoint: str, text: str) -> Any:
    if is_html(text):
        raise HtmlPageError(endpoint, text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceShapeError(endpoint, f"JSON body ({error.msg} at char {error.pos})") from error


def require(document: Any, endpoint: str, *path: str | int) -> Any:
    """`document[path[0]][path[1]]...`, or SourceShapeError naming the endpoint and the missing
    key path (e.g. `chart.result[0].indicators`)."""
    value = document
    for depth, key in enumerate(path):
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            raise SourceShapeError(endpoint, f"key {_key_path(path[: depth + 1])}") from None
    return value


def _key_path(path: tuple[str | int, ...]) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else f".{key}"
    return text.lstrip(".")


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    ordered = sorted((params or {}).items())
    return str(requests.Request("GET", url, params=ordered).prepare().url)


def _read_envelope(path: Path) -> tuple[datetime, str] | None:
    """The cached (fetched_at, body), or None when there is none or it is unreadable."""
    if not path.is_file():
        return None
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
        return datetime.fromisoformat(envelope["fetched_at"]), envelope["body"]
    except (ValueError, KeyError, TypeError) as error:
        log.warning("ignoring unreadable cached response %s (%s): downloading again", path, error)
        return None


def _write_envelope(path: Path, url: str, fetched_at: datetime, body: str) -> None:
    """Atomically, through a file of this writer's own, so neither a crash nor a parallel run
    writing the same response leaves a half-written file that would be replayed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    envelope = {"url": url, "fetched_at": fetched_at.isoformat(), "body": body}
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(envelope, file, ensure_ascii=False)
    os.replace(partial, path)


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds, from either form HTTP allows (delay seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def _seconds(value: str | None) -> float | None:
    """A header holding a number of seconds (x-ratelimit-reset), None when absent or not a number."""
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def _excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS] + "..."


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("attempt %d failed (%s); retrying in %.1f s", state.attempt_number, error, wait)
