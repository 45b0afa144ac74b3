"""Generated bad input for the choice and unsubscribe pages (``ChoicesFunction``): forged,
mutated, truncated and random tokens, any method, any body, any encoding. The function
answers a page (never a 5xx, which API Gateway would show for an exception) and writes
nothing; a genuine token that was changed by one character is refused like a forged one."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import choices_handler
from backorders.domain.choice_tokens import Action, ChoiceToken, sign
from tests.api.conftest import Api, lambda_context
from tests.support.events import http_event

KEY = b"choice-key-" + b"y" * 32
GENUINE = sign(ChoiceToken("aacme", "812", "c1", Action.CANCEL, 4_000_000_000), KEY)


@st.composite
def tokens(draw: Any) -> str:
    kind = draw(st.sampled_from(["random", "cut", "dot", "alphabet", "one changed"]))
    if kind == "one changed":
        position = draw(st.integers(0, len(GENUINE) - 1))
        replacement = draw(st.characters(codec="ascii").filter(lambda c: c != GENUINE[position]))
        return GENUINE[:position] + replacement + GENUINE[position + 1 :]
    if kind == "cut":
        return GENUINE[: draw(st.integers(0, len(GENUINE) - 1))]
    if kind == "dot":
        return GENUINE + "."
    if kind == "alphabet":
        return str(draw(st.text(alphabet="ABCDEFabcdef0123456789-_.", min_size=1, max_size=2000)))
    return str(draw(st.text(max_size=300)))


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    token = draw(tokens())
    route = draw(st.sampled_from(["choices", "unsubscribe", "choices", "other"]))
    method = draw(st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "HEAD"]))
    body = draw(st.one_of(st.none(), st.just("confirm=yes"), st.text(max_size=200), st.binary(max_size=5000)))
    as_base64 = draw(st.booleans())
    event = http_event("GET", "/choices/x", None, api_key=None)
    event["rawPath"] = f"/{route}/{token}"
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = {"token": token} if draw(st.booleans()) else None
    if body is not None:
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        if as_base64:
            event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
        else:
            event["body"] = raw.decode("utf-8", "replace")
    return event


@pytest.fixture
def pages(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setattr(api.svc.choices, "keys", lambda: (KEY,))
    return api


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=requests())
def test_no_bad_link_gets_a_server_error_or_writes_anything(pages: Api, event: dict[str, Any]) -> None:
    before = pages.items()
    try:
        answer = choices_handler.lambda_handler(event, lambda_context("ChoicesFunction"))
    except Exception as exc:
        pytest.fail(f"the choices function raised {exc!r}: API Gateway answers 500 for {event!r}")
    assert 400 <= answer["statusCode"] < 500, (answer["statusCode"], event["rawPath"][:120])
    assert answer["headers"]["cache-control"] == "no-store"
    assert pages.items() == before


def test_the_genuine_token_of_an_order_that_is_not_there_changes_nothing(pages: Api) -> None:
    event = http_event("POST", f"/choices/{GENUINE}", "confirm=yes", api_key=None,
                       headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    answer = choices_handler.lambda_handler(event, lambda_context("ChoicesFunction"))
    assert answer["statusCode"] == 404 and pages.items() == []
