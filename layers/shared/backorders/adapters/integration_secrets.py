"""Shops' webshop integrations in Secrets Manager (decision 66): one secret per shop and
platform, ``<prefix><shop>/<platform>`` (the prefix is the stack's, template.yaml
``INTEGRATION_SECRETS_PREFIX``), its value the integration's fields as JSON. The secret is
created on a shop's first PUT and replaced by the next; nothing of it is ever logged."""

from __future__ import annotations

import json
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
