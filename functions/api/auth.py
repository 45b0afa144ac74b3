"""Who is calling: the one place requests are authenticated, before anything else runs.

The native API takes ``Authorization: Bearer <api key>``; a key names its shop
(``backorders.adapters.api_keys``). A caller that fails is refused with
``request_gate.Refused`` (401, or 503 when the keys cannot be read) and hears nothing
about its request. Webshop webhooks sign their bodies instead; their checks belong here
too, next to this one.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from backorders.adapters.api_keys import ApiKeyRing, KeyRingUnavailable
from request_gate import Refused

logger = Logger(child=True)

_keyring: ApiKeyRing | None = None


def _keys() -> ApiKeyRing:
    global _keyring
    if _keyring is None:
        _keyring = ApiKeyRing(os.environ["API_KEYS_SECRET_ARN"])
    return _keyring


def shop_of(event: dict[str, Any]) -> str:
    """The caller's shop, from ``Authorization: Bearer <api key>``."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme, _, key = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Refused(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'", "authorization")
    try:
        shop = _keys().shop_for(key.strip())
    except KeyRingUnavailable:
        logger.exception("API keys cannot be checked")
        raise Refused(503, "unavailable", "API keys cannot be checked right now; retry later") from None
    if shop is None:
        raise Refused(401, "unauthorized", "unknown API key", "authorization")
    return shop


def forget_keys() -> None:
    """Drop the cached key ring (tests that switch accounts; a new environment reads afresh)."""
    global _keyring
    _keyring = None
