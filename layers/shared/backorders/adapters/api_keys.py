"""API keys of the native JSON API, kept in Secrets Manager as SHA-256 digests.

Secret value: ``{"keys": [{"id": "k1", "shop": "demo", "sha256": "<hex digest>"}]}``. The
stack creates the secret without a value, which holds no keys. Only digests are stored,
so the secret itself never holds a usable key. A key is ``bo_`` and 32 URL-safe random
characters; it is shown once, when it is issued (``add_key``; ``make apikey`` runs it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

KEY_PREFIX = "bo_"
SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    shop: str
    sha256: str


class KeyRingUnavailable(RuntimeError):
    """The secret could not be read and no earlier copy of the key ring is at hand."""


def _not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    return bool(response.get("Error", {}).get("Code") == "ResourceNotFoundException")


def read_secret(client: Any, secret_arn: str) -> dict[str, Any]:
    """The key ring's JSON; ``{"keys": []}`` while the secret has no value yet (Secrets
    Manager answers ResourceNotFoundException for that, as for a missing secret: writing
    to a missing one fails in ``add_key``, reading it only finds no keys)."""
    try:
        raw = client.get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as exc:
        if _not_found(exc):
            return {"keys": []}
        raise
    data = json.loads(raw or "{}")
    data.setdefault("keys", [])
    return dict(data)


def list_keys(client: Any, secret_arn: str) -> list[ApiKey]:
    return [ApiKey(k["id"], k["shop"], k["sha256"]) for k in read_secret(client, secret_arn)["keys"]]


def add_key(client: Any, secret_arn: str, shop: str) -> str:
    """Issue a key for ``shop``: store its digest, return the key (shown once, never stored)."""
    if not SHOP_ID.match(shop):
        raise ValueError("shop ids are 1-32 characters of a-z, 0-9, '-' and '_', starting with a letter or digit")
    data = read_secret(client, secret_arn)
    keys = data["keys"]
    numbers = [int(k["id"][1:]) for k in keys if re.fullmatch(r"k\d+", str(k.get("id", "")))]
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    keys.append({"id": f"k{max(numbers, default=0) + 1}", "shop": shop, "sha256": digest(key)})
    client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(data))
    return key


class ApiKeyRing:
    """Resolves a presented key to its shop.

    The secret is read at the first request, again once the copy is ``max_age`` seconds
    old (so a removed key stops working), and again when a presented key is not in the
    copy (so a key issued a moment ago works at once), but never twice within
    ``min_interval`` seconds: a flood of wrong keys costs at most one read per interval.
    A failed read keeps the copy it has (and counts as a read for that interval); with no
    copy at all, ``shop_for`` raises ``KeyRingUnavailable``.
    """

    def __init__(
        self,
        secret_arn: str,
        *,
        client: Any = None,
        max_age: float = 300.0,
        min_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._arn = secret_arn
        self._client = client
        self._max_age = max_age
        self._min_interval = min_interval
        self._clock = clock
        self._keys: tuple[ApiKey, ...] | None = None
        self._read_at = float("-inf")  # when the secret was last read, or tried

    def shop_for(self, presented: str) -> str | None:
        wanted = digest(presented)
        if self._keys is None or self._clock() - self._read_at >= self._max_age:
            self._reload()
        shop = self._match(wanted)
        if shop is None and self._clock() - self._read_at >= self._min_interval:
            self._reload()
            shop = self._match(wanted)
        return shop

    def _match(self, wanted: str) -> str | None:
        found: str | None = None
        for key in self._keys or ():  # compare with every key: no early exit on a match
            if hmac.compare_digest(key.sha256, wanted):
                found = key.shop
        return found

    def _reload(self) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.client("secretsmanager")
        self._read_at = self._clock()
        try:
            self._keys = tuple(list_keys(self._client, self._arn))
        except Exception as exc:
            if self._keys is None:
                raise KeyRingUnavailable("the API key secret cannot be read") from exc
            log.warning("reading the API key secret failed; keeping the key ring read before", exc_info=True)
