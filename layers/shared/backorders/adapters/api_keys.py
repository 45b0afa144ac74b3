"""API keys of the native JSON API, kept in Secrets Manager as SHA-256 digests.

Secret value: ``{"keys": [{"id": "k1", "shop": "demo", "sha256": "<hex digest>"}]}``.
Only digests are stored, so the secret itself never holds a usable key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    shop: str
    sha256: str


class ApiKeyRing:
    """Resolves a presented key to its shop; reloads the secret at most every ``max_age`` s."""

    def __init__(self, secret_arn: str, *, client: Any = None, max_age: float = 300.0) -> None:
        self._arn = secret_arn
        self._client = client
        self._max_age = max_age
        self._keys: tuple[ApiKey, ...] = ()
        self._loaded_at = float("-inf")

    def _load(self) -> tuple[ApiKey, ...]:
        now = time.monotonic()
        if now - self._loaded_at > self._max_age:
            if self._client is None:
                import boto3

                self._client = boto3.client("secretsmanager")
            raw = self._client.get_secret_value(SecretId=self._arn)["SecretString"]
            data = json.loads(raw)
            self._keys = tuple(ApiKey(k["id"], k["shop"], k["sha256"]) for k in data.get("keys", []))
            self._loaded_at = now
        return self._keys

    def shop_for(self, presented: str) -> str | None:
        wanted = digest(presented)
        found: str | None = None
        for key in self._load():  # compare with every key: no early exit on a match
            if hmac.compare_digest(key.sha256, wanted):
                found = key.shop
        return found
