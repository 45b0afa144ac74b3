"""The composition root: the one place that builds real adapters and services.

Handlers call ``services()``; tests call ``build(settings, clock=...)`` with their own
settings (a moto endpoint) or pass a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from backorders.adapters.choice_keys import ChoiceKeys
from backorders.adapters.dynamodb.store import DynamoStore
from backorders.adapters.integration_secrets import CachedIntegrations, IntegrationSecrets
from backorders.adapters.replan_queue import ReplanQueue
from backorders.adapters.ses import SesSender
from backorders.adapters.shop_platforms import reader_for
from backorders.config import Settings, settings
from backorders.domain.webshops.common import Platform
from backorders.services.allotment import Allotter
from backorders.services.catalogue import CatalogueService
from backorders.services.catch_up import CatchUp
from backorders.services.choices import Choices
from backorders.services.fill import FillService
from backorders.services.integrations import IntegrationService
from backorders.services.notifier import MailSettings, Notifier
from backorders.services.orders import OrderService
from backorders.services.purchasing import Planner, PurchaseOrders
from backorders.services.queries import QueryService
from backorders.services.reports import ReportService
from backorders.services.shipments import ShipmentService
from backorders.services.shops import ShopService
from backorders.services.stock import StockService
from backorders.services.sweep import Sweep
from backorders.services.webhooks import WebhookReceiver
from backorders.services.webshop_sync import WebshopSync


def utc_now() -> str:
    """The service's timestamp format: UTC, microseconds, sortable as text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Services:
    store: DynamoStore
    orders: OrderService
    stock: StockService
    shipments: ShipmentService
    allotter: Allotter
    queries: QueryService
    reports: ReportService
    catalogue: CatalogueService
    fill: FillService
    sweep: Sweep
    shops: ShopService
    planner: Planner
    purchase_orders: PurchaseOrders
    replan: ReplanQueue | None  # None without PLAN_QUEUE_URL: planning waits for the schedules
    integrations: IntegrationService
    webhooks: WebhookReceiver
    webshop_sync: WebshopSync
    catch_up: CatchUp
    notifier: Notifier
    choices: Choices
    clock: Callable[[], str]


def build(config: Settings, *, clock: Callable[[], str] = utc_now) -> Services:
    store = DynamoStore(table_name=config.table_name, region=config.region, host=config.endpoint_url)
    orders = OrderService(store, clock=clock)
    allotter = Allotter(store, clock=clock, window_days=config.demand_window_days)

    queue = ReplanQueue(config.plan_queue_url, region=config.region) if config.plan_queue_url else None
    secrets = (
        IntegrationSecrets(config.integration_secrets_prefix, region=config.region)
        if config.integration_secrets_prefix
        else None
    )
    stock = StockService(store, clock=clock)
    shipments = ShipmentService(store, clock=clock)
    keys = ChoiceKeys(config.choice_key_secret_arn) if config.choice_key_secret_arn else tuple
    mail = MailSettings(
        sender=config.sender_email or None,
        buyer_email=config.buyer_email or None,
        public_url=config.public_url,
        choice_keys=keys,
        buyer_locale=config.buyer_locale,
        buyer_time_zone=config.buyer_time_zone,
    )
    ses = SesSender(region=config.region, configuration_set=config.ses_configuration_set or None)

    def today() -> date:  # the service's day: UTC, from the same clock
        return date.fromisoformat(clock()[:10])

    return Services(
        store=store,
        orders=orders,
        stock=stock,
        shipments=shipments,
        allotter=allotter,
        queries=QueryService(store, clock=clock),
        reports=ReportService(store, clock=clock),
        catalogue=CatalogueService(store, clock=clock, jobs=queue),
        fill=FillService(store, clock=clock),
        sweep=Sweep(store, allotter),
        shops=ShopService(store, orders),
        planner=Planner(store, clock=clock, today=today, window_days=config.demand_window_days),
        purchase_orders=PurchaseOrders(store, clock=clock, today=today),
        replan=queue,
        integrations=IntegrationService(secrets, marks=store, clock=clock),
        webhooks=WebhookReceiver(store, CachedIntegrations(secrets) if secrets else _NoIntegrations(), clock=clock),
        webshop_sync=WebshopSync(store, orders, stock, shipments, clock=clock),
        catch_up=CatchUp(store, secrets or _NoIntegrations(), reader_for, clock=clock),
        notifier=Notifier(store, ses, mail, clock=clock),
        choices=Choices(store, orders, shipments, keys, clock=clock),
        clock=clock,
    )


class _NoIntegrations:
    """No INTEGRATION_SECRETS_PREFIX: no shop has an integration, so every delivery is refused."""

    def load(self, shop: str, platform: Platform, *, recheck: bool = False) -> None:
        return None


@lru_cache(maxsize=1)
def services() -> Services:
    return build(settings())
