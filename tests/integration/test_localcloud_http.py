"""The HTTP bridge: requests become API Gateway HTTP API payload 2.0 events for
ApiFunction (a test double here) and its responses come back as API Gateway sends them.
Also SES capture: mail sent through boto3 is written as .eml and listed."""

from __future__ import annotations

import base64
import email
import email.policy
import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from localcloud import LocalCloud
from localcloud.apigateway import HttpRoute, Router, event_path
from tests.integration.conftest import local_cloud
from tests.support.events import http_event

ROOT = Path(__file__).resolve().parents[2]


class ApiDouble:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.respond: Callable[[dict[str, Any]], Any] = lambda event: {"statusCode": 204}

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        assert context.function_name == "backorders-local-ApiFunction"
        assert context.invoked_function_arn.endswith(":function:backorders-local-ApiFunction")
        assert context.memory_limit_in_mb > 0
        self.events.append(event)
        return self.respond(event)


@pytest.fixture(scope="module")
def api() -> ApiDouble:
    return ApiDouble()


@pytest.fixture(scope="module")
def cloud(api: ApiDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    handlers = {"ApiFunction": api, "AllotterFunction": lambda event, context: None}
    handlers["PlannerFunction"] = lambda event, context: {"planned": event}
    with local_cloud(tmp_path_factory, handlers, schedules=False) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(api: ApiDouble) -> None:
    api.events.clear()
    api.respond = lambda event: {"statusCode": 204}


def _request(
    cloud: LocalCloud, method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(cloud.api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


# --------------------------------------------------------------------------- requests


def test_a_request_becomes_a_payload_2_0_event(cloud: LocalCloud, api: ApiDouble) -> None:
    body = json.dumps({"order_id": "812", "note": "grüße"}).encode()
    status, _, _ = _request(
        cloud,
        "POST",
        "/orders/812?expand=lines&tag=a&tag=b",
        body=body,
        headers={"Content-Type": "application/json", "X-Shop": "aacme", "Cookie": "session=abc; theme=dark"},
    )
    assert status == 204
    (event,) = api.events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/orders/812"
    assert event["rawQueryString"] == "expand=lines&tag=a&tag=b"
    assert event["queryStringParameters"] == {"expand": "lines", "tag": "a,b"}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-shop"] == "aacme"
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"order_id": "812", "note": "grüße"}
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/orders/812"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["http"]["userAgent"] == event["headers"].get("user-agent", "")
    assert context["stage"] == "$default"
    assert context["routeKey"] == "$default"
    assert context["requestId"]
    assert isinstance(context["timeEpoch"], int)


def test_a_get_without_body_or_query(cloud: LocalCloud, api: ApiDouble) -> None:
    _request(cloud, "GET", "/health")
    (event,) = api.events
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event
    assert "body" not in event


def test_a_binary_body_is_base64_encoded(cloud: LocalCloud, api: ApiDouble) -> None:
    payload = bytes([0xFF, 0x00, 0xFE, 0x10])
    _request(cloud, "PUT", "/blob", body=payload, headers={"Content-Type": "application/octet-stream"})
    (event,) = api.events
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_the_path_arrives_decoded_and_cut_at_a_decoded_question_mark(cloud: LocalCloud, api: ApiDouble) -> None:
    """As an HTTP API sends it (a REST API would keep it encoded): an encoded ``/`` is a
    ``/`` like any other, and the query string stays as sent."""
    _request(cloud, "GET", "/v1/skus/PEN%20BLUE%2FINK%3Fnot-the-query?history=true&note=a%20b&tag=1&tag=2")
    (event,) = api.events
    assert event["rawPath"] == "/v1/skus/PEN BLUE/INK"
    assert event["requestContext"]["http"]["path"] == "/v1/skus/PEN BLUE/INK"
    assert event["rawQueryString"] == "history=true&note=a%20b&tag=1&tag=2"
    assert event["queryStringParameters"] == {"history": "true", "note": "a b", "tag": "1,2"}


def test_routes_match_the_decoded_path_and_decode_nothing_twice() -> None:
    router = Router([HttpRoute("Skus", "GET", "/v1/skus/{sku}"), HttpRoute("Proxy", "ANY", "/files/{path+}")])
    assert router.select("GET", event_path("/v1/skus/PEN%20BLUE")) == (router.routes[0], {"sku": "PEN BLUE"})
    assert router.select("GET", event_path("/v1/skus/100%2541")) == (router.routes[0], {"sku": "100%41"})
    assert router.select("GET", event_path("/v1/skus/A%2FB")) is None  # two segments: no route takes it
    assert router.select("PUT", event_path("/files/a%2Fb/c")) == (router.routes[1], {"path": "a/b/c"})


@pytest.mark.parametrize(
    ("content_type", "as_text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/XML", True),
        ("application/javascript", True),
        ("text/csv", True),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/vnd.api+json", False),
        (None, False),
    ],
)
def test_a_body_is_base64_encoded_unless_it_is_text_json_xml_or_javascript(
    cloud: LocalCloud, api: ApiDouble, content_type: str | None, as_text: bool
) -> None:
    body = "name=Blue pen&price=0.40 €".encode()
    _request(
        cloud, "POST", "/v1/stock/movements", body=body, headers={"Content-Type": content_type} if content_type else {}
    )
    (event,) = api.events
    assert event["isBase64Encoded"] is not as_text
    assert (event["body"] if as_text else base64.b64decode(event["body"])) == (body.decode() if as_text else body)


def test_a_json_body_that_is_not_utf_8_arrives_as_its_bytes(cloud: LocalCloud, api: ApiDouble) -> None:
    """Not documented by AWS; the local cloud keeps the bytes (base64) so the function
    sees what was sent and has to refuse it (infra/localcloud/README.md)."""
    body = b'{"id": "\xff\xfe"}'
    _request(cloud, "POST", "/v1/orders", body=body, headers={"Content-Type": "application/json"})
    (event,) = api.events
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def _raw_request(cloud: LocalCloud, request: bytes) -> bytes:
    parts = urlsplit(cloud.api_url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    ("method", "target", "headers", "body"),
    [
        ("GET", f"/v1/skus/{quote('PEN BLUE/ÄÖ', safe='')}?history=true&x=1&x=2", {}, b""),
        ("POST", "/v1/orders", {"Content-Type": "application/json", "Cookie": "a=1; b=2"}, b'{"id": "812"}'),
        ("POST", "/v1/stock/movements", {"Content-Type": "application/x-www-form-urlencoded"}, b"id=po-1&sku=PEN"),
        ("PUT", "/v1/products/PEN", {"Content-Type": None}, b'{"name": "Blue pen"}'),
    ],
    ids=["encoded-path", "json", "form", "no-content-type"],
)
def test_the_tests_http_event_is_what_the_local_api_gateway_delivers(
    cloud: LocalCloud, api: ApiDouble, method: str, target: str, headers: dict[str, str | None], body: bytes
) -> None:
    """``tests/support/events.http_event`` and the HTTP server build one event, so an API
    test in-process sees what a request through the local cloud (and AWS) delivers."""
    sent = {"Content-Type": "application/json", "User-Agent": "pytest", "Authorization": "Bearer bo_key", **headers}
    lines = [f"{method} {target} HTTP/1.1", "Host: api.example", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in sent.items() if value is not None]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    _raw_request(cloud, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    (delivered,) = api.events

    built = http_event(method, target, body or None, headers=headers, api_key="bo_key")

    def comparable(event: dict[str, Any]) -> dict[str, Any]:
        """What is the request's own, without what belongs to one API or one call."""
        context = {k: v for k, v in event["requestContext"].items() if k not in ("apiId", "domainName", "domainPrefix",
                   "requestId", "time", "timeEpoch")}  # fmt: skip
        context["http"] = {k: v for k, v in context["http"].items() if k != "sourceIp"}
        per_call = ("host", "connection", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
        return {
            **event,
            "headers": {k: v for k, v in event["headers"].items() if k not in per_call},
            "requestContext": context,
        }

    assert comparable(built) == comparable(delivered)
    assert set(built["headers"]) | {"connection"} == set(delivered["headers"])


def test_the_api_takes_over_100_simultaneous_connections(cloud: LocalCloud, api: ApiDouble) -> None:
    """Every client connects first, then all send: nothing may be reset or left waiting
    (the listen backlog was 5; a burst of 20 lost requests before any handler ran)."""
    clients = 150
    parts = urlsplit(cloud.api_url)
    connected = threading.Barrier(clients, timeout=30)
    answers: list[bytes | str] = [b""] * clients

    def client(n: int) -> None:
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as conn:
                connected.wait()
                conn.sendall(f"GET /v1/ping/{n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                answers[n] = conn.recv(1024)
        except (OSError, threading.BrokenBarrierError) as exc:
            answers[n] = repr(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [answer for answer in answers if not (isinstance(answer, bytes) and answer.startswith(b"HTTP/1.1 204"))]
    assert failed == []
    assert sorted(event["rawPath"] for event in api.events) == sorted(f"/v1/ping/{n}" for n in range(clients))


# --------------------------------------------------------------------------- responses


def test_the_handler_response_is_returned(cloud: LocalCloud, api: ApiDouble) -> None:
    api.respond = lambda event: {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Request": "yes"},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": json.dumps({"created": True}),
    }
    status, headers, body = _request(cloud, "POST", "/orders", body=b"{}")
    assert status == 201
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Request"] == "yes"
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert headers["apigw-requestid"] == api.events[0]["requestContext"]["requestId"]
    assert json.loads(body) == {"created": True}


def test_a_base64_response_is_decoded(cloud: LocalCloud, api: ApiDouble) -> None:
    api.respond = lambda event: {
        "statusCode": 200,
        "headers": {"Content-Type": "application/pdf"},
        "isBase64Encoded": True,
        "body": base64.b64encode(b"%PDF\x00\xff").decode(),
    }
    status, _, body = _request(cloud, "GET", "/report.pdf")
    assert (status, body) == (200, b"%PDF\x00\xff")


def test_a_response_without_status_code_is_a_json_200(cloud: LocalCloud, api: ApiDouble) -> None:
    api.respond = lambda event: {"hello": "world"}
    status, headers, body = _request(cloud, "GET", "/anything")
    assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", {"hello": "world"})


def test_a_handler_exception_is_a_500_like_api_gateway(cloud: LocalCloud, api: ApiDouble) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    api.respond = boom
    status, _, body = _request(cloud, "DELETE", "/orders/1")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_local_health_endpoint(cloud: LocalCloud) -> None:
    status, _, body = _request(cloud, "GET", "/_local/health")
    health = json.loads(body)
    assert status == 200
    assert health["tables"]["Table"] == cloud.table_name("Table")
    assert health["functions"]["ApiFunction"]["overridden"] is True


def test_local_endpoints_for_tests_driving_the_cli_over_http(cloud: LocalCloud) -> None:
    status, _, body = _request(cloud, "POST", "/_local/streams/wait?timeout=5")
    assert (status, json.loads(body)) == (200, {"idle": True})
    status, _, body = _request(cloud, "POST", "/_local/schedules/PlannerFunction/Daily")
    assert (status, json.loads(body)) == (200, {"result": {"planned": {"job": "daily"}}})
    status, _, _ = _request(cloud, "POST", "/_local/schedules/PlannerFunction/Nope")
    assert status == 404


# --------------------------------------------------------------------------- SES capture


def test_mail_sent_through_ses_is_captured_as_eml(cloud: LocalCloud) -> None:
    sender = cloud.template.sender_email
    assert sender
    cloud.client("ses").send_email(
        Source=sender,
        Destination={"ToAddresses": ["buyer@example.org"], "CcAddresses": ["shop@example.org"]},
        Message={
            "Subject": {"Data": "Your order 812 has shipped"},
            "Body": {"Text": {"Data": "Hello,\nthe textbooks are on their way."}},
        },
    )
    cloud.client("sesv2").send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["raw@example.org"]},
        Content={
            "Raw": {
                "Data": (
                    f"From: {sender}\r\nTo: raw@example.org\r\nSubject: Raw backorder notice\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\n5 units are backordered.\r\n"
                ).encode()
            }
        },
    )

    simple, raw = cloud.emails()[-2:]
    assert (simple.sender, simple.to, simple.cc, simple.subject) == (
        sender,
        ["buyer@example.org"],
        ["shop@example.org"],
        "Your order 812 has shipped",
    )
    assert simple.path.parent == cloud.state_dir / "mail"
    assert simple.path.suffix == ".eml"
    parsed = email.message_from_bytes(simple.path.read_bytes(), policy=email.policy.default)
    assert parsed["From"] == sender
    assert parsed["To"] == "buyer@example.org"
    assert parsed["Subject"] == "Your order 812 has shipped"
    assert parsed["Date"]
    assert parsed["Message-ID"]
    assert "textbooks are on their way" in simple.body
    assert (raw.kind, raw.subject, raw.to) == ("raw", "Raw backorder notice", ["raw@example.org"])
    assert "5 units are backordered." in raw.path.read_text()

    status, _, body = _request(cloud, "GET", "/_local/emails")
    listed = json.loads(body)
    assert status == 200
    assert [entry["subject"] for entry in listed[-2:]] == ["Your order 812 has shipped", "Raw backorder notice"]
    assert listed[-2]["from"] == sender
    assert listed[-2]["to"] == ["buyer@example.org"]
    assert listed[-2]["path"] == str(simple.path)


def test_a_function_runs_one_invocation_at_a_time_as_one_execution_environment(api: ApiDouble, cloud: LocalCloud):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    running, most = [0], [0]
    lock = threading.Lock()

    def slow(event: dict[str, Any]) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return {"statusCode": 204}

    api.respond = slow
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: _request(cloud, "GET", "/v1/anything")[0], range(6)))
    assert statuses == [204] * 6
    assert most[0] == 1
