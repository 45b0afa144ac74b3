"""A local stand-in for the two order endpoints the catch-up reads, answering as their
documentation describes, so the readers are tested over real HTTP (no mocked urllib):

- Shopify Admin REST ``GET /admin/api/<version>/orders.json``: the access token header,
  ``status`` / ``updated_at_min`` (inclusive) / ``order`` / ``limit`` on the first page,
  then an opaque ``page_info`` cursor in ``Link`` (``rel="next"``, ``rel="previous"``)
  that may carry nothing but ``limit`` (and ``fields``) beside it; every call goes into a
  leaky bucket (capacity 40, leaking 2 a second) reported in
  ``X-Shopify-Shop-Api-Call-Limit``, and a full bucket answers 429.
- WooCommerce ``GET /wp-json/wc/v3/orders``: HTTP Basic auth with the consumer key and
  secret, ``modified_after`` (strict, GMT when ``dates_are_gmt``, else the site's local
  time), ``orderby`` / ``order`` / ``per_page`` / ``page``, and ``X-WP-Total``,
  ``X-WP-TotalPages`` and ``Link`` (``rel="prev"``, ``rel="next"``).

The order lists are plain attributes a test may change at any time; the bucket runs on a
clock the test can pass (``FakeClock``, which the reader's injected ``sleep`` advances),
and the next N answers of either platform can be made 429s or server errors. Every
request is recorded. JSON is written with ``json.dumps``, so integer ids above 2^53 go out
exactly."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, cast

Order = dict[str, Any]
SHOPIFY_TOKEN = "shpat_standin_0123456789abcdef"
WOO_KEY = "ck_standin_0123456789abcdef"
WOO_SECRET = "cs_standin_0123456789abcdef"
SHOPIFY_BAD_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
Query = dict[str, list[str]]
SHOPIFY_CAPACITY = 40
SHOPIFY_LEAK_PER_SECOND = 2.0
SHOPIFY_MAX_LIMIT = 250
WOO_MAX_PER_PAGE = 100
_SHOPIFY_PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/orders\.json$")
_WOO_PATH = "/wp-json/wc/v3/orders"
_ALONGSIDE_PAGE_INFO = frozenset({"page_info", "limit", "fields"})


class FakeClock:
    """Time the test controls: ``sleep`` (the reader's injected one) records the wait and
    moves ``now`` on, so the stand-in's bucket leaks exactly as much as the reader waited."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


@dataclass(frozen=True)
class Recorded:
    platform: str  # "shopify", "woocommerce" or "other"
    method: str
    path: str
    query: Query
    headers: dict[str, str]  # names lower case
    at: float  # the stand-in's clock when it arrived
    status: int = 0  # what it was answered (set once answered)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Faults:
    """Answers planned for a platform's next requests, first in first out."""

    planned: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def take(self) -> tuple[int, dict[str, str]] | None:
        return self.planned.pop(0) if self.planned else None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class PlatformStandin:
    """Both endpoints on ``http://127.0.0.1:<port>`` (``url``), served from a daemon
    thread; use it as a context manager (or ``start``/``close``)."""

    def __init__(
        self,
        *,
        shopify_token: str = SHOPIFY_TOKEN,
        woo_key: str = WOO_KEY,
        woo_secret: str = WOO_SECRET,
        woo_site_offset: timedelta = timedelta(hours=1),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shopify_token, self.woo_key, self.woo_secret = shopify_token, woo_key, woo_secret
        self.woo_site_offset = woo_site_offset  # the WordPress site's time zone, for local dates
        self.woo_links = True  # False: only X-WP-TotalPages says there are more pages
        self.clock = clock
        self.shopify_orders: list[Order] = []
        self.woo_orders: list[Order] = []
        self.requests: list[Recorded] = []
        self.bucket_level = 0.0
        self._bucket_at = clock()
        self._faults = {"shopify": _Faults(), "woocommerce": _Faults()}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- running ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        # a short poll: close() waits up to one poll for the serving loop to notice
        serve = functools.partial(self._server.serve_forever, poll_interval=0.01)
        self._thread = threading.Thread(target=serve, name="platform-standin", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a test arranges -----------------------------------------------------------

    def throttle_next(self, platform: str, count: int = 1, *, retry_after: str | None = "1.0") -> None:
        """Answer the platform's next ``count`` requests 429 (``Retry-After`` as given;
        None sends none)."""
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        self._faults[platform].planned.extend((429, headers) for _ in range(count))

    def fail_next(
        self, platform: str, count: int = 1, *, status: int = 503, headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer the platform's next ``count`` requests with ``status`` (a server error,
        or a redirect with its ``Location`` in ``headers``) instead of orders."""
        self._faults[platform].planned.extend((status, dict(headers or {})) for _ in range(count))

    def fill_bucket(self, level: float) -> None:
        """Set Shopify's bucket to ``level`` calls now (the shop's other apps used them)."""
        with self._lock:
            self.bucket_level, self._bucket_at = level, self.clock()

    def requests_to(self, platform: str) -> list[Recorded]:
        return [r for r in self.requests if r.platform == platform]

    # -- answering ----------------------------------------------------------------------

    def answer(self, path: str, query: Query, headers: Mapping[str, str]) -> _Answer:
        """One request's answer, served one at a time (the lists may change meanwhile)."""
        with self._lock:
            platform = _platform_of(path)
            recorded = Recorded(platform, "GET", path, query, dict(headers), self.clock())
            if platform == "shopify":
                answer = self._shopify(path, query, headers)
            elif platform == "woocommerce":
                answer = self._woo(query, headers)
            else:
                answer = _Answer(404, {"errors": "Not Found"})
            self.requests.append(dataclasses.replace(recorded, status=answer.status))
            return answer

    def _shopify(self, path: str, query: Query, headers: Mapping[str, str]) -> _Answer:
        if headers.get("x-shopify-access-token") != self.shopify_token:
            return _Answer(
                401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
            )
        planned = self._faults["shopify"].take()
        if planned is not None:
            return _Answer(planned[0], {"errors": "planned by the test"}, dict(planned[1]))
        if not self._bucket_takes_one():
            return _Answer(429, {"errors": "Exceeded 2 calls per second for api client."}, self._limit_header(1.0))
        answer = _shopify_page(self.shopify_orders, query, self.url + path)
        return _Answer(answer.status, answer.body, {**answer.headers, **self._limit_header()})

    def _bucket_takes_one(self) -> bool:
        now = self.clock()
        self.bucket_level = max(0.0, self.bucket_level - (now - self._bucket_at) * SHOPIFY_LEAK_PER_SECOND)
        self._bucket_at = now
        if self.bucket_level + 1 > SHOPIFY_CAPACITY:
            return False
        self.bucket_level += 1
        return True

    def _limit_header(self, retry_after: float | None = None) -> dict[str, str]:
        used = min(SHOPIFY_CAPACITY, math.ceil(self.bucket_level - 1e-9))
        headers = {"X-Shopify-Shop-Api-Call-Limit": f"{used}/{SHOPIFY_CAPACITY}"}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:.1f}"
        return headers

    def _woo(self, query: Query, headers: Mapping[str, str]) -> _Answer:
        if _basic(headers.get("authorization")) != (self.woo_key, self.woo_secret):
            return _Answer(
                401,
                {
                    "code": "woocommerce_rest_cannot_view",
                    "message": "Sorry, you cannot list resources.",
                    "data": {"status": 401},
                },
            )
        planned = self._faults["woocommerce"].take()
        if planned is not None:
            return _Answer(planned[0], {"code": "planned_by_the_test", "data": {"status": planned[0]}}, planned[1])
        return _woo_page(self.woo_orders, query, self.url + _WOO_PATH, self.woo_site_offset, self.woo_links)


# -- Shopify's orders.json -----------------------------------------------------------------


def _shopify_page(orders: list[Order], query: Query, endpoint: str) -> _Answer:
    """A page of orders as Shopify pages them: the first request's filters, or a cursor
    that carries them (and may not be combined with other filters)."""
    params = {name: values[0] for name, values in query.items()}
    if "page_info" in params:
        extra = sorted(set(params) - _ALONGSIDE_PAGE_INFO)
        if extra:
            return _Answer(400, {"errors": {name: f"{name} cannot be passed with page_info." for name in extra}})
        try:
            view = _Cursor.read(params["page_info"])
        except ValueError:
            return _Answer(400, {"errors": {"page_info": "Invalid value."}})
    else:
        view = _Cursor(params.get("status", "open"), params.get("updated_at_min"), params.get("order", "id desc"))
    limit = min(SHOPIFY_MAX_LIMIT, max(1, int(params.get("limit", "50"))))
    ordered = view.ordered([o for o in orders if view.matches(o)])
    page, before, after = view.page(ordered, limit)
    links = []
    if before:
        links.append(f'<{endpoint}?page_info={view.moved(page[0], "previous").token()}&limit={limit}>; rel="previous"')
    if after:
        links.append(f'<{endpoint}?page_info={view.moved(page[-1], "next").token()}&limit={limit}>; rel="next"')
    return _Answer(200, {"orders": page}, {"Link": ", ".join(links)} if links else {})


@dataclass(frozen=True)
class _Cursor:
    """What a ``page_info`` stands for: the first request's filters and sort, and the
    sort key of the order the page starts after (next) or ends before (previous)."""

    status: str
    updated_at_min: str | None
    order: str
    last: tuple[float, int] | None = None
    direction: str = "next"

    def token(self) -> str:
        raw = json.dumps([self.status, self.updated_at_min, self.order, self.last, self.direction])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def read(cls, token: str) -> _Cursor:
        try:
            status, minimum, order, last, direction = json.loads(
                base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            )
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError("not a page_info") from exc
        return cls(status, minimum, order, None if last is None else (float(last[0]), int(last[1])), direction)

    def moved(self, order: Order, direction: str) -> _Cursor:
        return _Cursor(self.status, self.updated_at_min, self.order, self._key(order), direction)

    def matches(self, order: Order) -> bool:
        if self.updated_at_min is not None and _instant(order["updated_at"]) < _instant(self.updated_at_min):
            return False
        closed, cancelled = order.get("closed_at") is not None, order.get("cancelled_at") is not None
        return {
            "any": True,
            "open": not closed and not cancelled,
            "closed": closed,
            "cancelled": cancelled,
        }.get(self.status, False)

    def ordered(self, orders: list[Order]) -> list[Order]:
        return sorted(orders, key=self._key, reverse=self._descending)

    def page(self, ordered: list[Order], limit: int) -> tuple[list[Order], bool, bool]:
        """The page, and whether orders come before and after it."""
        start = 0 if self.last is None else sum(1 for o in ordered if self._ahead(o))
        if self.direction == "previous":
            start = max(0, start - limit)
        elif self.last is not None and start < len(ordered) and self._key(ordered[start]) == self.last:
            start += 1
        page = ordered[start : start + limit]
        return page, start > 0, start + len(page) < len(ordered)

    def _ahead(self, order: Order) -> bool:
        """Whether ``order`` sorts before the cursor's order."""
        assert self.last is not None
        key = self._key(order)
        return key > self.last if self._descending else key < self.last

    @property
    def _descending(self) -> bool:
        return self.order.split()[-1].lower() == "desc"

    def _key(self, order: Order) -> tuple[float, int]:
        name = self.order.split()[0]
        value = order.get(name)
        stamp = float(order["id"]) if name == "id" else _instant(str(value)).timestamp()
        return stamp, int(order["id"])


# -- WooCommerce's wc/v3/orders ------------------------------------------------------------


def _woo_page(orders: list[Order], query: Query, endpoint: str, offset: timedelta, links: bool) -> _Answer:
    params = {name: values[0] for name, values in query.items()}
    per_page, page = int(params.get("per_page", "10")), int(params.get("page", "1"))
    if not 1 <= per_page <= WOO_MAX_PER_PAGE or page < 1:
        return _Answer(400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page, page"})
    after = _woo_after(params.get("modified_after"), params.get("dates_are_gmt") == "true", offset)
    matched = [o for o in orders if after is None or _gmt(o["date_modified_gmt"]) > after]
    matched.sort(key=_woo_sort_key(params.get("orderby", "date")), reverse=params.get("order", "desc") == "desc")
    total_pages = math.ceil(len(matched) / per_page)
    headers = {"X-WP-Total": str(len(matched)), "X-WP-TotalPages": str(total_pages)}
    if links:
        headers |= _woo_links(endpoint, query, page, total_pages)
    return _Answer(200, matched[(page - 1) * per_page : page * per_page], headers)


def _woo_sort_key(orderby: str) -> Callable[[Order], tuple[str, int]]:
    """WooCommerce's ``orderby`` (``date``, ``modified``, ``id``), ties by id."""
    if orderby == "id":
        return lambda order: ("", int(order["id"]))
    name = "date_modified_gmt" if orderby == "modified" else "date_created_gmt"
    return lambda order: (str(order.get(name)), int(order["id"]))


def _woo_after(value: str | None, gmt: bool, offset: timedelta) -> datetime | None:
    """``modified_after`` as a UTC time: its own zone if it has one, else GMT or the
    site's local time as ``dates_are_gmt`` says."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC if gmt else timezone(offset))
    return moment.astimezone(UTC)


def _woo_links(endpoint: str, query: Query, page: int, total_pages: int) -> dict[str, str]:
    """WordPress's ``Link``: the request's own query with another ``page``."""

    def at(number: int) -> str:
        return f"{endpoint}?{urllib.parse.urlencode({**query, 'page': [str(number)]}, doseq=True)}"

    links = []
    if page > 1:
        links.append(f'<{at(min(page - 1, total_pages))}>; rel="prev"')
    if page < total_pages:
        links.append(f'<{at(page + 1)}>; rel="next"')
    return {"Link": ", ".join(links)} if links else {}


# -- HTTP --------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: PlatformStandin


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = cast(_Server, self.server).standin.answer(parts.path, query, headers)
        body = json.dumps(answer.body, default=str).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the test output is the record
        pass


def _platform_of(path: str) -> str:
    if _SHOPIFY_PATH.match(path):
        return "shopify"
    return "woocommerce" if path.rstrip("/") == _WOO_PATH else "other"


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        key, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return key, secret


def _instant(text: str) -> datetime:
    """A Shopify time (``2026-12-01T05:00:00-05:00``) as an aware time; no zone is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _gmt(text: str) -> datetime:
    """A WooCommerce ``*_gmt`` time (no zone, UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ids(orders: Iterable[Order]) -> list[int]:
    """The ids, in the order given: what most assertions compare."""
    return [int(order["id"]) for order in orders]
