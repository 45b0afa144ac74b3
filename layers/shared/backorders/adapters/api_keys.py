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


class _TimedReads:
    """The Secrets Manager client as the ring's powertools provider sees it: it notes when
    each read starts (a failed one too), and answers a secret without a value as an empty
    key ring (``read_secret``), which the provider then caches like any value."""

    def __init__(self, client: Any, clock: Callable[[], float]) -> None:
        self._client = client
        self._clock = clock
        self.read_at = float("-inf")

    def get_secret_value(self, SecretId: str, **_: Any) -> dict[str, str]:
        self.read_at = self._clock()
        return {"SecretString": json.dumps(read_secret(self._client, SecretId))}


class ApiKeyRing:
    """Resolves a presented key to its shop.

    The copy of the secret is powertools Parameters' (``SecretsProvider.get``, what
    ``get_secret`` calls, with ``max_age``): read at the first request and again once it is
    ``max_age`` seconds old (so a removed key stops working). A presented key that is not in
    the copy forces a read (``force_fetch``: a key issued a moment ago works at once), but
    never within ``min_interval`` seconds of the last read, the provider's own included: a
    flood of wrong keys costs at most one read per interval. A failed read keeps the copy
    the ring has and counts as a read for that interval; with no copy at all, ``shop_for``
    raises ``KeyRingUnavailable``.
    """

    def __init__(
        self,
        secret_arn: str,
        *,
        client: Any = None,
        max_age: int = 300,
        min_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._arn = secret_arn
        self._client = client
        self._max_age = max_age
        self._min_interval = min_interval
        self._clock = clock
        self._reads = _TimedReads(None, clock)
        self._provider: Any = None  # a SecretsProvider, made at the first request (it imports boto3)
        self._keys: tuple[ApiKey, ...] | None = None  # the last copy read, kept when a read fails
        self._data: Any = None  # the provider's value the keys were built from
        self._failed = False

    def shop_for(self, presented: str) -> str | None:
        wanted = digest(presented)
        self._load(force=False)
        shop = self._match(wanted)
        if shop is None and self._may_read():
            self._load(force=True)
            shop = self._match(wanted)
        return shop

    def _may_read(self) -> bool:
        return self._clock() - self._reads.read_at >= self._min_interval

    def _match(self, wanted: str) -> str | None:
        found: str | None = None
        for key in self._keys or ():  # compare with every key: no early exit on a match
            if hmac.compare_digest(key.sha256, wanted):
                found = key.shop
        return found

    def _load(self, *, force: bool) -> None:
        if self._failed and self._keys is not None and not self._may_read():
            return  # the provider holds no copy after a failed read: wait an interval
        try:
            data = self._secrets().get(self._arn, max_age=self._max_age, transform="json", force_fetch=force)
            if data is not self._data:  # the provider's cached copy: the keys are built once per read
                self._data, self._keys = data, tuple(ApiKey(k["id"], k["shop"], k["sha256"]) for k in data["keys"])
        except Exception as exc:
            self._failed = True
            if self._keys is None:
                raise KeyRingUnavailable("the API key secret cannot be read") from exc
            log.warning("reading the API key secret failed; keeping the key ring read before", exc_info=True)
            return
        self._failed = False

    def _secrets(self) -> Any:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            if self._client is None:
                import boto3

                self._client = boto3.client("secretsmanager")
            self._reads = _TimedReads(self._client, self._clock)
            self._provider = SecretsProvider(boto3_client=self._reads)  # type: ignore[arg-type]
        return self._provider
