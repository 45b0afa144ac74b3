"""A shop's connection to its webshop platform (decision 66): where its webhooks come
from, the secret they are signed with, and the REST credentials the catch-up reads the
platform with. The secrets are stored in Secrets Manager, one secret per shop and
platform; what a shop may read back is only whether each is set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from backorders.domain.webshops.common import Platform


@dataclass(frozen=True, slots=True)
class ShopifyIntegration:
    shop_domain: str  # <name>.myshopify.com, compared with X-Shopify-Shop-Domain
    webhook_secret: str  # the app's client secret, or the key shown under the admin's webhooks
    admin_api_token: str | None = None  # for the catch-up (Admin API orders.json); None: no catch-up

    def __repr__(self) -> str:  # never print a secret
        return f"ShopifyIntegration(shop_domain={self.shop_domain!r})"


@dataclass(frozen=True, slots=True)
class WooCommerceIntegration:
    site_url: str  # https://shop.example, the site the webhooks name in X-WC-Webhook-Source
    webhook_secret: str
    consumer_key: str | None = None  # for the catch-up (wc/v3/orders); None: no catch-up
    consumer_secret: str | None = None

    def __repr__(self) -> str:  # never print a secret
        return f"WooCommerceIntegration(site_url={self.site_url!r})"


Integration = ShopifyIntegration | WooCommerceIntegration
PUBLIC_FIELDS = frozenset({"shop_domain", "site_url"})
KINDS: Mapping[Platform, type[ShopifyIntegration] | type[WooCommerceIntegration]] = {
    Platform.SHOPIFY: ShopifyIntegration,
    Platform.WOOCOMMERCE: WooCommerceIntegration,
}


def platform_of(integration: Integration) -> Platform:
    return Platform.SHOPIFY if isinstance(integration, ShopifyIntegration) else Platform.WOOCOMMERCE


def as_values(integration: Integration) -> dict[str, str]:
    """What is stored: every field that is set."""
    return {f.name: value for f in fields(integration) if (value := getattr(integration, f.name)) is not None}


def from_values(platform: Platform, values: Mapping[str, str]) -> Integration:
    kind = KINDS[platform]
    names = {f.name for f in fields(kind)}
    return kind(**{name: value for name, value in values.items() if name in names})


def shown(integration: Integration | None) -> dict[str, object]:
    """What a shop reads back: the public fields, and for each secret whether it is set."""
    if integration is None:
        return {"configured": False}
    view: dict[str, object] = {"configured": True}
    for f in fields(integration):
        value = getattr(integration, f.name)
        view[f.name] = value if f.name in PUBLIC_FIELDS else value is not None
    view["catch_up"] = catch_up_ready(integration)
    return view


def catch_up_ready(integration: Integration) -> bool:
    """Whether the catch-up has the credentials to read the platform's orders."""
    if isinstance(integration, ShopifyIntegration):
        return integration.admin_api_token is not None
    return integration.consumer_key is not None and integration.consumer_secret is not None
