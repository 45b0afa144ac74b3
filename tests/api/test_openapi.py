"""The API describes itself (decision 67): ``/openapi.json`` is generated from the routes
(every route of the app is in it, with its path and query parameters and its body), and
Swagger UI at ``/docs`` works offline (its page names no other host; the script and
style sheet it links are served by the API itself). Both are public: no API key."""

from __future__ import annotations

import base64
import gzip
import json
import re
from importlib.resources import files
from typing import Any

import pytest

import api_docs
import api_handler
from localcloud.template import load_yaml
from tests.api.conftest import lambda_context
from tests.integration.conftest import ROOT
from tests.support.events import http_event
from tests.support.routes import RouteShape, app_routes

DESCRIBED = [route for route in app_routes() if route.in_schema]
TEMPLATE = ROOT / "template.yaml"
SWAGGER_UI = files("aws_lambda_powertools.event_handler.openapi") / "swagger_ui"


def get(path: str, **kw: Any) -> dict[str, Any]:
    """The handler's raw answer to a GET without an API key."""
    return api_handler.lambda_handler(http_event("GET", path, None, api_key=None, **kw), lambda_context("ApiFunction"))


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    answer = get("/openapi.json")
    assert answer["statusCode"] == 200, answer["body"]
    assert answer["headers"]["Content-Type"] == "application/json"
    document: dict[str, Any] = json.loads(answer["body"])
    return document


def openapi_path(route: RouteShape) -> str:
    return re.sub(r"<(\w+)>", r"{\1}", route.path)


def test_the_app_has_routes_to_describe_and_the_document_describes_nothing_else(spec: dict[str, Any]) -> None:
    assert len(DESCRIBED) >= 30
    operations = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    webhooks = {f"POST {path}" for path in api_docs.WEBHOOKS}
    assert operations == {f"{route.method} {openapi_path(route)}" for route in DESCRIBED} | webhooks


def test_the_webhook_routes_of_the_template_are_in_the_document_and_public(spec: dict[str, Any]) -> None:
    """They are WebhookFunction's routes, not the app's: the document describes them too."""
    resources = load_yaml(TEMPLATE.read_text())["Resources"]
    events = resources["WebhookFunction"]["Properties"]["Events"].values()
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events if e["Type"] == "HttpApi"}
    assert routes == {f"POST {path}" for path in api_docs.WEBHOOKS}
    for path in api_docs.WEBHOOKS:
        assert spec["paths"][path]["post"]["security"] == []  # a signature, not an API key


@pytest.mark.parametrize("route", DESCRIBED, ids=lambda route: route.key)
def test_every_route_is_in_the_document_with_its_parameters_and_body(spec: dict[str, Any], route: RouteShape) -> None:
    operation = spec["paths"].get(openapi_path(route), {}).get(route.method.lower())
    assert operation is not None, f"{route.key} is not in /openapi.json"
    parameters = {(p["name"], p["in"]): p for p in operation.get("parameters", [])}
    for name, is_number in route.path_params:
        declared = parameters.pop((name, "path"))
        assert declared["required"] is True
        assert (declared["schema"].get("type") == "integer") is is_number
    for name in route.query_params:
        assert not parameters.pop((name, "query"))["required"]
    assert not parameters, f"{route.key}: the document has parameters the route lacks: {sorted(parameters)}"
    body = operation.get("requestBody")
    if route.body_model is not None:
        schema = body["content"]["application/json"]["schema"]
        assert schema["$ref"] == f"#/components/schemas/{route.body_model.__name__}"
        fields = spec["components"]["schemas"][route.body_model.__name__]["properties"]
        assert set(fields) == set(route.body_model.model_fields)
    elif route.takes_csv:
        assert body["required"] is True
        assert set(body["content"]) == {"text/csv"}
    else:
        assert body is None, f"{route.key} takes no body, the document says it does"


def test_every_operation_takes_a_shops_api_key_as_a_bearer_token(spec: dict[str, Any]) -> None:
    assert spec["security"] == [{"apiKey": []}]
    assert spec["components"]["securitySchemes"]["apiKey"]["type"] == "http"
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    own = {path: item for path, item in spec["paths"].items() if path not in api_docs.WEBHOOKS}
    assert not [path for path, item in own.items() for op in item.values() if "security" in op]
    assert all(path.startswith("/v1/") for path in own)
    assert spec["info"]["title"] == "Backorders"
    assert spec["servers"] == [{"url": "/"}]


def test_the_description_needs_no_key_and_everything_else_still_does(api: Any) -> None:
    assert api("GET", "/openapi.json", api_key=None).status == 200
    assert api("GET", "/docs", api_key=None).status == 200
    for method, path in [("GET", "/v1/backorders"), ("POST", "/docs"), ("GET", "/docs/other.js"), ("GET", "/openapi")]:
        reply = api(method, path, api_key=None)
        assert (reply.status, reply.error) == (401, ("unauthorized", "authorization")), (method, path)
    # with a key, the description's paths take GET only, as any route does
    reply = api("POST", "/openapi.json")
    assert reply.status == 405 and reply.headers["allow"] == "GET"


def test_the_swagger_ui_page_names_no_other_host_and_its_assets_are_served_by_the_api(
    spec: dict[str, Any],
) -> None:
    page = get("/docs")
    assert page["statusCode"] == 200 and page["headers"]["Content-Type"] == "text/html"
    html = page["body"]
    assert not re.search(r"(?i)\b(https?:)?//[a-z0-9.-]+\.[a-z]", html), "the page names another host"
    assert "/v1/orders/{order_id}" in html  # the document is in the page
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html)
    assert sorted(assets) == ["/docs/swagger-ui-bundle.min.js", "/docs/swagger-ui.min.css"]
    for url, content_type in [(a, "text/javascript" if a.endswith(".js") else "text/css") for a in assets]:
        answer = get(url)
        assert answer["statusCode"] == 200, url
        assert answer["headers"]["Content-Type"] == f"{content_type}; charset=utf-8"
        assert answer["headers"]["Cache-Control"].startswith("public, max-age=")
        assert answer["body"] == (SWAGGER_UI / url.rsplit("/", 1)[1]).read_text(encoding="utf-8")


def test_the_large_script_is_sent_gzipped_to_a_client_that_takes_gzip() -> None:
    answer = get("/docs/swagger-ui-bundle.min.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert answer["headers"]["Content-Encoding"] == "gzip" and answer["isBase64Encoded"] is True
    script = gzip.decompress(base64.b64decode(answer["body"]))
    assert script == (SWAGGER_UI / "swagger-ui-bundle.min.js").read_bytes()
    assert len(answer["body"]) < len(script) / 2
