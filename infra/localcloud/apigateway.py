"""API Gateway HTTP API, locally: requests -> payload format 2.0 (README's "As AWS sends it")
-> the function, on werkzeug's threaded server (docs/decisions.md 41); routes match the
decoded path as API Gateway's do; the same port serves ``/_local/``."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from .serving import WsgiApp, WsgiServer
from .template import ROUTE, FunctionSpec

if TYPE_CHECKING:
    from .cloud import LocalCloud

log = logging.getLogger("localcloud.api")

INTERNAL_ERROR = {"message": "Internal Server Error"}
NOT_FOUND = {"message": "Not Found"}

TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})


# --------------------------------------------------------------------- routes


@dataclass(frozen=True)
class HttpRoute:
    function_id: str
    method: str  # ANY or an HTTP method
    path: str  # "$default" or "/path/{param}/{proxy+}"

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when the route takes this request (``path`` decoded: :func:`event_path`)."""
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        wanted = self.path.strip("/").split("/") if self.path.strip("/") else []
        actual = path.strip("/").split("/") if path.strip("/") else []
        params: dict[str, str] = {}
        for index, segment in enumerate(wanted):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = actual[index:]
                if not rest:
                    return None
                params[segment[1:-2]] = "/".join(rest)
                return params
            if index >= len(actual):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                params[segment[1:-1]] = actual[index]
            elif segment != actual[index]:
                return None
        return params if len(actual) == len(wanted) else None

    def specificity(self) -> tuple[int, int, int, int]:
        segments = [s for s in self.path.strip("/").split("/") if s]
        static = sum(1 for s in segments if not s.startswith("{"))
        greedy = any(s.endswith("+}") for s in segments)
        return (self.path != "$default", not greedy, static, self.method != "ANY")


def routes_from_functions(functions: Iterable[FunctionSpec]) -> list[HttpRoute]:
    routes = []
    for spec in functions:
        for event in spec.events_of_type(ROUTE):
            key = str(event.properties["RouteKey"])  # "$default" or "METHOD /path"
            method, _, path = ("ANY", "", key) if key == "$default" else key.partition(" ")
            routes.append(HttpRoute(spec.logical_id, method, path))
    return routes


class Router:
    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        self.routes = sorted(routes, key=lambda r: r.specificity(), reverse=True)

    def select(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None


# --------------------------------------------------------------------- payload 2.0


def _request_id() -> str:
    return base64.b64encode(os.urandom(10)).decode("ascii")


def event_path(target_path: str) -> str:
    """``rawPath`` for the path of a request target: percent-decoded, cut at a decoded ``?`` (README)."""
    return unquote(target_path or "/").split("?", 1)[0] or "/"


def is_text_media_type(content_type: str | None) -> bool:
    """Whether API Gateway hands a body of this Content-Type to the function as text."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in TEXT_MEDIA_TYPES


def event_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """``(body, isBase64Encoded)``: text for text media types in valid UTF-8, else base64 (README)."""
    if is_text_media_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names joined with commas, as API Gateway joins headers and query parameters."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _trace_header(request_id: str, now: datetime) -> str:
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:24]
    return f"Root=1-{int(now.timestamp()):08x}-{digest}"


def build_http_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    host: str,
    source_ip: str = "192.0.2.1",
    port: int = 443,
    proto: str = "https",
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    account_id: str = "123456789012",
    api_id: str = "local",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event for one request: ``target`` as sent (percent-encoded),
    ``host`` the API's (``domainName``); only ``request_id`` and ``now`` vary between calls."""
    now = now or datetime.now(UTC)
    request_id = request_id or _request_id()
    split = urlsplit(target)
    raw_path, raw_query = event_path(split.path), split.query
    pairs = [(name.lower(), value) for name, value in headers]
    cookies = [part.strip() for key, value in pairs if key == "cookie" for part in value.split(";") if part.strip()]
    merged = _joined((key, value) for key, value in pairs if key != "cookie")
    added = {"host": host, "x-amzn-trace-id": _trace_header(request_id, now), "x-forwarded-for": source_ip}
    for key, value in (added | {"x-forwarded-port": str(port), "x-forwarded-proto": proto}).items():
        merged.setdefault(key, value)
    domain = urlsplit(f"//{host}").hostname or host
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = merged
    if raw_query:
        event["queryStringParameters"] = _joined(parse_qsl(raw_query, keep_blank_values=True))
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        event["body"], event["isBase64Encoded"] = event_body(body, merged.get("content-type"))
    else:
        event["isBase64Encoded"] = False
    return event


def translate_response(result: Any) -> Response:
    """The HTTP response for a handler's return value, as API Gateway would send it."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        # payload 2.0: anything without a statusCode is a 200 JSON body
        return _Response(json.dumps(result), 200, [("Content-Type", "application/json")])
    try:
        status = int(result["statusCode"])
        headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((str(name), str(value)) for value in values)
        headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
        raw_body = result.get("body")
        if raw_body is None:
            body = b""
        elif result.get("isBase64Encoded"):
            body = base64.b64decode(str(raw_body), validate=True)
        else:
            body = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode("utf-8")
    except (TypeError, ValueError):
        return _json(500, INTERNAL_ERROR)
    if not 100 <= status <= 599:
        return _json(500, INTERNAL_ERROR)
    if body and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
    return _Response(body, status, headers)


class _Response(Response):
    default_mimetype = None  # no Content-Type unless the function sent one (or a body)


def _json(status: int, data: Any) -> Response:
    return _Response(json.dumps(data, default=str), status, [("Content-Type", "application/json")])


# --------------------------------------------------------------------- server


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, handing the app the request target and headers as received
    (WSGI would drop headers with ``_`` and join repeated ones, cookies included)."""

    timeout = 60

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ["localcloud.request"] = (self.path, self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the app logs each request


class ApiServer(WsgiServer):
    """The HTTP API on a local port: this WSGI app on werkzeug's threaded server."""

    def __init__(self, address: tuple[str, int], *, router: Router, endpoints: LocalCloud, account_id: str) -> None:
        super().__init__(*address, name="localcloud-api", backlog=1024)
        self.router = router
        self.endpoints = endpoints
        self.account_id = account_id

    def start(self, app: WsgiApp | None = None, handler: type[WSGIRequestHandler] = _RequestHandler) -> None:
        super().start(app or self, handler)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        request = Request(environ)
        target, headers = environ["localcloud.request"]
        if urlsplit(target).path.startswith("/_local/"):
            response, route_key = self.local_endpoint(request), "_local"
        else:
            response, route_key = self.gateway(request, target, headers)
        log.info("%s %s -> %d (%s, %.0f ms)", request.method, target, response.status_code, route_key,
                 (time.monotonic() - started) * 1000)  # fmt: skip
        return response(environ, start_response)

    # ------------------------------------------------------------ API Gateway

    def gateway(self, request: Request, target: str, headers: Iterable[tuple[str, str]]) -> tuple[Response, str]:
        selected = self.router.select(request.method, event_path(urlsplit(target).path))  # routes see the decoded path
        request_id = _request_id()
        if selected is None:
            response, function_id = _json(404, NOT_FOUND), "-"
        else:
            (route, params), function_id = selected, selected[0].function_id
            host, port = self.bound
            event = build_http_event(
                method=request.method,
                target=target,
                headers=headers,
                body=request.get_data(),
                host=request.headers.get("Host") or f"{host}:{port}",
                source_ip=request.remote_addr or "",
                port=port,
                proto="http",
                route_key=route.route_key,
                path_parameters=params,
                account_id=self.account_id,
                request_id=request_id,
            )
            try:
                response = translate_response(self.endpoints.invoke(route.function_id, event))
            except Exception:
                response = _json(500, INTERNAL_ERROR)
        response.headers.add("apigw-requestid", request_id)
        return response, function_id

    # ------------------------------------------------------------ /_local/

    def local_endpoint(self, request: Request) -> Response:
        method, parts = request.method, request.path.strip("/").split("/")[1:]
        try:
            if method == "GET" and parts == ["health"]:
                return _json(200, self.endpoints.health())
            if method == "GET" and parts == ["emails"]:
                return _json(200, self.endpoints.emails_json())
            if method == "POST" and parts == ["streams", "wait"]:
                try:
                    self.endpoints.wait_for_streams(timeout=float(request.args.get("timeout", 10)))
                except TimeoutError as exc:
                    return _json(504, {"idle": False, "message": str(exc)})
                return _json(200, {"idle": True})
            if method == "POST" and len(parts) == 3 and parts[0] == "schedules":
                return _json(200, {"result": self.endpoints.fire_schedule(parts[1], parts[2])})
        except KeyError as exc:
            return _json(404, {"message": str(exc)})
        except Exception as exc:
            log.exception("local endpoint %s %s failed", method, request.path)
            return _json(500, {"message": repr(exc)})
        return _json(404, {"message": f"no local endpoint {method} {request.path}"})
