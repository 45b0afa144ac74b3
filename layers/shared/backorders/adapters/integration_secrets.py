"""Shops' webshop integrations in Secrets Manager (decision 66): one secret per shop and
platform, ``<prefix><shop>/<platform>`` (the prefix is the stack's, template.yaml
``INTEGRATION_SECRETS_PREFIX``), its value the integration's fields as JSON. The secret is
created on a shop's first PUT and replaced by the next; nothing of it is ever logged."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from backorders.domain.errors import Throttled
from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.integrations import Integration, as_values, from_values, platform_of

_THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class IntegrationSecrets:
    def __init__(self, prefix: str, *, region: str) -> None:
        self.prefix, self.region = prefix, region
        self._client: Any = None

    def _sm(self) -> Any:
        if self._client is None:
            import boto3  # on first use: most requests never read an integration

            self._client = boto3.client("secretsmanager", region_name=self.region)
        return self._client

    def name(self, shop: str, platform: Platform) -> str:
        return f"{self.prefix}{shop}/{platform.value}"

    def save(self, shop: str, integration: Integration) -> None:
        """Store the integration, replacing what the shop had for that platform."""
        name, value = self.name(shop, platform_of(integration)), json.dumps(as_values(integration))
        try:
            try:
                self._sm().put_secret_value(SecretId=name, SecretString=value)
            except Exception as exc:
                if _code(exc) != "ResourceNotFoundException":
                    raise
                try:
                    self._sm().create_secret(
                        Name=name, SecretString=value, Description=f"Backorders: {platform_of(integration)} integration"
                    )
                except Exception as again:
                    if _code(again) != "ResourceExistsException":  # a concurrent first PUT made it
                        raise
                    self._sm().put_secret_value(SecretId=name, SecretString=value)
        except Exception as exc:
            if _code(exc) in _THROTTLED:
                raise Throttled("the secret store is busy, retry") from exc
            raise

    def load(self, shop: str, platform: Platform) -> Integration | None:
        try:
            raw = self._sm().get_secret_value(SecretId=self.name(shop, platform))["SecretString"]
        except Exception as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            if _code(exc) in _THROTTLED:
                raise Throttled("the secret store is busy, retry") from exc
            raise
        return from_values(platform, json.loads(raw))


class CachedIntegrations:
    """The integrations as the webhook receiver reads them: each shop's kept for
    ``max_age`` seconds per warm function (one Secrets Manager call per shop and minute at
    most, and none on the 5-second path of most deliveries). A PUT is seen by the
    receiver within ``max_age``; an absent integration is cached too, so that forged
    deliveries for shops that do not exist cost no secret reads."""

    def __init__(
        self, secrets: IntegrationSecrets, *, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.secrets, self.max_age, self.clock = secrets, max_age, clock
        self._kept: dict[tuple[str, Platform], tuple[float, Integration | None]] = {}

    def forget(self) -> None:
        self._kept.clear()

    RECHECK_AFTER = 10.0  # seconds: a failed signature reads the secret again, at most this often

    def load(self, shop: str, platform: Platform, *, recheck: bool = False) -> Integration | None:
        """The shop's integration; ``recheck``: a signature just failed against it, so read
        it again if it was kept over ``RECHECK_AFTER`` seconds (a secret the shop has just
        replaced then works at once; forged deliveries cost a read per 10 seconds at most)."""
        now = self.clock()
        kept = self._kept.get((shop, platform))
        fresh_enough = self.RECHECK_AFTER if recheck else self.max_age
        if kept is not None and now - kept[0] < fresh_enough:
            return kept[1]
        integration = self.secrets.load(shop, platform)
        if len(self._kept) >= 1000:  # a bound for a function that sees many shops
            self._kept.clear()
        self._kept[(shop, platform)] = (now, integration)
        return integration
