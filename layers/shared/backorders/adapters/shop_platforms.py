"""Reading a webshop platform's orders for the scheduled catch-up (decisions 65, 66).

Webhooks can be late by up to a day or lost (WooCommerce never retries), so the catch-up
reads every order the platform changed since a moment and hands each raw order object to
the payload readers in ``domain/webshops``. Both readers return orders updated at or
after ``since`` (to the second): a re-read order changes nothing when applied, a missed
one is lost, so the boundary errs on the side of reading twice.

Standard library only (urllib), so the layer gains no dependency and a cold start no
import. Nothing here logs, and no exception message carries a token, a consumer secret or
a URL's query: a caller may log what it catches.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import Message
from typing import Any, Protocol

from backorders.domain.webshops.integrations import Integration, ShopifyIntegration, catch_up_ready

Sleep = Callable[[float], None]
Clock = Callable[[], float]

DEFAULT_RETRY_AFTER = 2.0  # what Shopify asks for when a 429 carries no Retry-After
LONGEST_RETRY_AFTER = 60.0  # a Retry-After beyond this is a misconfigured server, not a plan
BUCKET_HEADROOM = 4  # calls kept free in Shopify's bucket for the shop's other work
LEAK_PER_SECOND = 2.0  # Shopify's standard plan; faster plans only leak sooner
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class PlatformError(Exception):
    """The platform could not be read: ``status`` is its HTTP status, None when it gave
    none (unreachable, timed out, an answer that is not what it documents)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PlatformAuthFailed(PlatformError):
    """The platform refused the credentials (401, 403): retrying cannot help, the shop has
    to replace them."""


class OrderReader(Protocol):
    def orders_updated_since(self, since: str) -> Iterator[dict[str, Any]]:
        """Every order updated at or after ``since`` (UTC ISO-8601), oldest update first,
        across all pages, numbers read exactly."""
        ...


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: Message
    body: bytes


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would follow a redirect with the credentials' headers, to any host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


class _Client:
    """GETs against one platform origin with the rules both platforms share: 429 waited
    out by Retry-After, 5xx and network failures retried with backoff, a pause the caller
    asks for (``hold_off``) kept before the next call, and errors that name only the path."""

    def __init__(
        self,
        name: str,
        origin: str,
        headers: Mapping[str, str],
        secrets: tuple[str, ...],
        *,
        sleep: Sleep,
        clock: Clock,
        timeout: float,
        max_retries: int,
    ) -> None:
        if not _safe_origin(origin):
            raise PlatformError(f"{name}: refusing to send credentials over plain http to {_host(origin)}")
        self.name, self.origin = name, origin
        self._headers = {"Accept": "application/json", "User-Agent": "backorders-catch-up", **headers}
        self._secrets = tuple(s for s in secrets if s)
        self._sleep, self._clock = sleep, clock
        self._timeout, self._max_retries = timeout, max_retries
        self._ready_at = 0.0

    def hold_off(self, seconds: float) -> None:
        """Make the next call wait ``seconds`` from now (less the time that passes first)."""
        self._ready_at = max(self._ready_at, self._clock() + seconds)

    def get(self, url: str) -> _Answer:
        """The answer to a GET of ``url`` (on this client's origin), retried as the
        platforms ask; raises PlatformError once retrying is over."""
        if _origin(url) != self.origin:
            raise PlatformError(f"{self.name} linked to another site ({_host(url)}): not followed")
        for attempt in range(self._max_retries + 1):
            self._wait_until_ready()
            answer = self._once(url)
            if answer is not None and 200 <= answer.status < 300:
                return answer
            last = attempt == self._max_retries
            if answer is not None and answer.status == 429:
                if last:
                    raise PlatformError(f"{self.name} kept answering 429 for {_path(url)}", status=429)
                self._sleep(_retry_after(answer.headers))
            elif answer is None or answer.status >= 500:
                if last:
                    raise self._gave_up(url, answer)
                self._sleep(min(0.5 * 2**attempt, 8.0))
            else:
                raise self._refused(url, answer)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _wait_until_ready(self) -> None:
        wait = self._ready_at - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _once(self, url: str) -> _Answer | None:
        """One GET: the answer whatever its status, None when none came."""
        request = urllib.request.Request(url, headers=self._headers, method="GET")  # noqa: S310 - origin checked
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                return _Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return _Answer(exc.code, exc.headers, _body_of(exc))
        except (OSError, ValueError, http.client.HTTPException):  # URLError, timeouts, cut-off answers
            return None

    def _gave_up(self, url: str, answer: _Answer | None) -> PlatformError:
        if answer is None:
            return PlatformError(f"{self.name} could not be reached for {_path(url)}")
        return PlatformError(f"{self.name} kept answering {answer.status} for {_path(url)}", status=answer.status)

    def _refused(self, url: str, answer: _Answer) -> PlatformError:
        kind = PlatformAuthFailed if answer.status in (401, 403) else PlatformError
        reason = self._scrub(_reason(answer.body))
        if 300 <= answer.status < 400:
            reason = "a redirect, not followed: it would carry the credentials elsewhere"
        detail = f": {reason}" if reason else ""
        return kind(f"{self.name} answered {answer.status} for {_path(url)}{detail}", status=answer.status)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def read(self, answer: _Answer, url: str) -> Any:
        """The body, every number exact (``common.read_json``'s rules: integers of any
        size stay integers, decimals become Decimal)."""
        try:
            return json.loads(answer.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise PlatformError(f"{self.name} answered {_path(url)} with a body that is not JSON") from None


class ShopifyOrders:
    """A shop's orders through the Admin REST API (``orders.json``): cursor pages in
    ``updated_at`` order, the shop's leaky bucket respected so the catch-up never takes
    the calls the shop's other apps need."""

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        *,
        api_version: str = "2025-01",
        base_url: str | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        timeout: float = 10.0,
        max_retries: int = 5,
        page_size: int = 250,
    ) -> None:
        self.shop_domain, self.api_version, self.page_size = shop_domain, api_version, page_size
        base = (base_url or f"https://{shop_domain}").rstrip("/")
        self._first = f"{base}/admin/api/{api_version}/orders.json"
        self._client = _Client(
            "Shopify",
            _origin(base),
            {"X-Shopify-Access-Token": access_token},
            (access_token,),
            sleep=sleep,
            clock=clock,
            timeout=timeout,
            max_retries=max_retries,
        )

    def __repr__(self) -> str:  # never print the token
        return f"ShopifyOrders(shop_domain={self.shop_domain!r})"

    def orders_updated_since(self, since: str) -> Iterator[dict[str, Any]]:
        """Every order (any status) updated at or after ``since``. Only the first request
        carries the filters; each next page is the ``Link`` header's URL exactly as given,
        because Shopify refuses a ``page_info`` with anything but ``limit`` beside it."""
        query = {
            "status": "any",
            "updated_at_min": _utc(since).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "limit": str(self.page_size),
            "order": "updated_at asc",
        }
        url: str | None = f"{self._first}?{urllib.parse.urlencode(query)}"
        while url is not None:
            answer = self._client.get(url)
            self._respect_bucket(answer.headers)
            yield from _objects(self._client.read(answer, url), "orders", url)
            following = _links(answer.headers).get("next")
            url = following if following != url else None

    def _respect_bucket(self, headers: Message) -> None:
        """Shopify counts every call into a bucket (``X-Shopify-Shop-Api-Call-Limit:
        32/40``) that leaks at 2 calls a second; once it is nearly full, pause until it
        has leaked back below the headroom instead of running into 429s."""
        used, capacity = _call_limit(headers.get("X-Shopify-Shop-Api-Call-Limit"))
        if capacity and used >= capacity - BUCKET_HEADROOM:
            self._client.hold_off((used - (capacity - BUCKET_HEADROOM) + 1) / LEAK_PER_SECOND)


class WooCommerceOrders:
    """A site's orders through WooCommerce's REST API (``wc/v3/orders``): numbered pages
    in ``date_modified`` order, with the consumer key and secret as HTTP Basic auth (never
    in the query string, where servers log them)."""

    def __init__(
        self,
        site_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        timeout: float = 10.0,
        max_retries: int = 5,
        page_size: int = 100,
    ) -> None:
        self.site_url, self.page_size = site_url.rstrip("/"), page_size
        self._endpoint = f"{self.site_url}/wp-json/wc/v3/orders"
        basic = base64.b64encode(f"{consumer_key}:{consumer_secret}".encode()).decode("ascii")
        self._client = _Client(
            "WooCommerce",
            _origin(self.site_url),
            {"Authorization": f"Basic {basic}"},
            (consumer_secret, basic),
            sleep=sleep,
            clock=clock,
            timeout=timeout,
            max_retries=max_retries,
        )

    def __repr__(self) -> str:  # never print the key or secret
        return f"WooCommerceOrders(site_url={self.site_url!r})"

    def orders_updated_since(self, since: str) -> Iterator[dict[str, Any]]:
        """Every order modified at or after ``since``. WooCommerce's ``modified_after`` is
        strict and counts whole seconds, so the reader asks from one second earlier and
        drops what is older than ``since``'s second itself."""
        start = _utc(since)
        page, url = 1, self._page_url(start, 1)
        while True:
            answer = self._client.get(url)
            orders = _objects(self._client.read(answer, url), None, url)
            yield from (order for order in orders if not _modified_before(order, start))
            following = self._next(answer.headers, start, page, url) if orders else None
            if following is None:
                return
            page, url = page + 1, following

    def _page_url(self, start: datetime, page: int) -> str:
        query = {
            "modified_after": (start - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": str(self.page_size),
            "page": str(page),
        }
        return f"{self._endpoint}?{urllib.parse.urlencode(query)}"

    def _next(self, headers: Message, start: datetime, page: int, url: str) -> str | None:
        """The ``Link`` header's next page when it stays on the site, else the next page
        number while ``X-WP-TotalPages`` says there is one (a site whose WordPress address
        differs from the one it is reached at links elsewhere)."""
        following = _links(headers).get("next")
        if following is not None and following != url and _origin(following) == self._client.origin:
            return following
        total = _whole(headers.get("X-WP-TotalPages"))
        return self._page_url(start, page + 1) if total is not None and page < total else None


def reader_for(integration: Integration, **options: Any) -> OrderReader | None:
    """The reader for a shop's integration, None when it lacks the catch-up's credentials
    (``integrations.catch_up_ready``). ``options`` go to the reader (``sleep``,
    ``timeout``, ...; Shopify's ``base_url``, ``api_version``)."""
    if not catch_up_ready(integration):
        return None
    if isinstance(integration, ShopifyIntegration):
        token = integration.admin_api_token
        return None if token is None else ShopifyOrders(integration.shop_domain, token, **options)
    key, secret = integration.consumer_key, integration.consumer_secret
    return None if key is None or secret is None else WooCommerceOrders(integration.site_url, key, secret, **options)


def _utc(since: str) -> datetime:
    """``since`` as an aware UTC time, to the second; a time without a zone is refused
    rather than guessed."""
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise ValueError(f"since is not an ISO-8601 time: {since!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"since has no time zone: {since!r}")
    return moment.astimezone(UTC).replace(microsecond=0)


def _modified_before(order: Mapping[str, Any], start: datetime) -> bool:
    """Whether WooCommerce's ``date_modified_gmt`` (UTC, no zone) is before ``start``;
    an order without a readable one is kept for the payload reader to judge."""
    value = order.get("date_modified_gmt")
    if not isinstance(value, str):
        return False
    try:
        modified = datetime.fromisoformat(value)
    except ValueError:
        return False
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return modified < start


def _objects(parsed: Any, key: str | None, url: str) -> list[dict[str, Any]]:
    """The page's orders: ``parsed[key]`` (Shopify's ``{"orders": [...]}``) or ``parsed``
    itself (WooCommerce's list), each an object."""
    if key is not None:
        parsed = parsed.get(key) if isinstance(parsed, dict) else None
    if not isinstance(parsed, list) or not all(isinstance(order, dict) for order in parsed):
        raise PlatformError(f"the answer for {_path(url)} is not a list of orders")
    return parsed


def _links(headers: Message) -> dict[str, str]:
    """The ``Link`` header's URLs by their ``rel`` (``<url>; rel="next", <url>; rel=...``)."""
    found: dict[str, str] = {}
    for header in headers.get_all("Link") or []:
        for part in str(header).split(","):
            target, _, params = part.partition(";")
            target = target.strip()
            if not (target.startswith("<") and target.endswith(">")):
                continue
            for param in params.split(";"):
                name, _, value = param.strip().partition("=")
                if name.strip().lower() == "rel":
                    for rel in value.strip().strip('"').split():
                        found.setdefault(rel.lower(), target[1:-1])
    return found


def _call_limit(value: str | None) -> tuple[int, int]:
    """``X-Shopify-Shop-Api-Call-Limit: 32/40`` as (32, 40); (0, 0) when absent or odd."""
    used, _, capacity = (value or "").partition("/")
    a, b = _whole(used), _whole(capacity)
    return (a, b) if a is not None and b is not None else (0, 0)


def _retry_after(headers: Message) -> float:
    """Seconds a 429 asks to wait: Shopify sends a decimal (``2.0``); an absent or
    unreadable value (an HTTP date) gets Shopify's usual 2 seconds."""
    try:
        seconds = float(headers.get("Retry-After") or DEFAULT_RETRY_AFTER)
    except ValueError:
        seconds = DEFAULT_RETRY_AFTER
    return seconds if 0 <= seconds <= LONGEST_RETRY_AFTER else DEFAULT_RETRY_AFTER


def _reason(body: bytes) -> str:
    """The platform's short reason from an error body (Shopify's ``errors``,
    WooCommerce's ``code``), at most 200 characters; never the whole body."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    if not isinstance(parsed, dict):
        return ""
    reason = parsed.get("errors", parsed.get("code"))
    if isinstance(reason, dict):  # Shopify's {"errors": {"field": "why"}}
        reason = "; ".join(f"{name}: {why}" for name, why in reason.items())
    return reason[:200] if isinstance(reason, str) else ""


def _body_of(error: urllib.error.HTTPError) -> bytes:
    """An error answer's body, empty when it cannot be read (only its status matters)."""
    try:
        return error.read()
    except (OSError, http.client.HTTPException):
        return b""


def _whole(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or "?"


def _path(url: str) -> str:
    """The URL without its query or any user info: safe to put in a message."""
    parts = urllib.parse.urlsplit(url)
    return f"{_host(url)}{parts.path}"


def _safe_origin(origin: str) -> bool:
    """https, or plain http to this machine only (the tests' stand-in)."""
    scheme = urllib.parse.urlsplit(origin).scheme
    return scheme == "https" or (scheme == "http" and _host(origin) in _LOCAL_HOSTS)
