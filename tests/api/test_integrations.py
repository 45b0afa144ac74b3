"""A shop's webshop integrations (decision 66): a PUT stores the platform's settings and
secrets in Secrets Manager, one secret per shop and platform; GET and the PUT's answer
show whether each secret is set, never the secret; a refused PUT stores nothing; and no
secret reaches the logs."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from backorders.domain.webshops.common import Platform
from tests.api.conftest import OTHER_SHOP, REGION, SHOP

SHOPIFY = {
    "shop_domain": "acme-books.myshopify.com",
    "webhook_secret": "shpss_webhook-secret-4711",
    "admin_api_token": "shpat_admin-token-0815",
}
WOO = {"site_url": "https://shop.example.org/", "webhook_secret": "wc-webhook-secret-4711"}


def secret_names(api: Any) -> list[str]:
    client = boto3.client("secretsmanager", region_name=REGION)
    prefix = f"{api.table}/integrations/"
    return sorted(s["Name"] for s in client.list_secrets()["SecretList"] if s["Name"].startswith(prefix))


def test_a_shop_saves_its_shopify_integration_and_reads_back_only_what_is_set(api, capsys):
    reply = api("PUT", "/v1/shop/integrations/shopify", SHOPIFY)
    assert reply.status == 200, reply.body
    assert reply.body["shopify"] == {
        "configured": True, "shop_domain": "acme-books.myshopify.com", "webhook_secret": True,
        "admin_api_token": True, "catch_up": True,
    }  # fmt: skip
    shown = api("GET", "/v1/shop/integrations").body
    assert shown == {"shop": SHOP, "shopify": reply.body["shopify"], "woocommerce": {"configured": False}}
    assert secret_names(api) == [f"{api.table}/integrations/{SHOP}/shopify"]
    stored = api.svc.integrations.store.load(SHOP, Platform.SHOPIFY)
    assert stored is not None and stored.webhook_secret == SHOPIFY["webhook_secret"]
    everything = json.dumps([reply.body, shown]) + capsys.readouterr().out
    for secret in (SHOPIFY["webhook_secret"], SHOPIFY["admin_api_token"]):
        assert secret not in everything  # never echoed, never logged


def test_a_second_put_replaces_the_first_and_each_shop_has_its_own(api):
    assert api("PUT", "/v1/shop/integrations/woocommerce", WOO).status == 200
    keys = {"consumer_key": "ck_1234567890", "consumer_secret": "cs_1234567890"}
    again = api("PUT", "/v1/shop/integrations/woocommerce", WOO | keys)
    assert again.body["woocommerce"] == {
        "configured": True, "site_url": "https://shop.example.org", "webhook_secret": True,
        "consumer_key": True, "consumer_secret": True, "catch_up": True,
    }  # fmt: skip
    assert api("GET", "/v1/shop/integrations", shop=OTHER_SHOP).body["woocommerce"] == {"configured": False}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/shop/integrations/shopify", SHOPIFY | {"shop_domain": "acme-books.example.com"}, "shop_domain"),
        ("/v1/shop/integrations/shopify", SHOPIFY | {"webhook_secret": "short"}, "webhook_secret"),
        ("/v1/shop/integrations/shopify", {"shop_domain": SHOPIFY["shop_domain"]}, "webhook_secret"),
        ("/v1/shop/integrations/woocommerce", WOO | {"site_url": "http://shop.example.org"}, "site_url"),
        ("/v1/shop/integrations/woocommerce", WOO | {"webhook_secret": "with a space"}, "webhook_secret"),
    ],
)
def test_a_refused_integration_names_the_field_stores_nothing_and_never_repeats_the_secret(api, path, body, field):
    before = secret_names(api)
    reply = api("PUT", path, body)
    assert (reply.status, reply.error) == (422, ("invalid_request", field))
    assert secret_names(api) == before
    assert body.get("webhook_secret", "-") not in json.dumps(reply.body)
