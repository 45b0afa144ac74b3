"""Request bodies and parameters of the native JSON API (pydantic): what a field must look like.

Identifiers, times, money and quantities follow the one rule of ``backorders.domain.inputs``
(PRODUCT.md, "Tenancy, identifiers and input"), in bodies, paths and query parameters
alike. Business rules (for example: a count cannot be negative) live in the domain;
these models only say which fields exist and their types, so errors name the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from backorders.domain import inputs
from backorders.domain.model import CUSTOMER_MESSAGES, FillMode, LinePolicy, Product, ShopSettings, Supplier
from backorders.domain.webshops.integrations import ShopifyIntegration, WooCommerceIntegration

Identifier = Annotated[StrictStr, AfterValidator(inputs.identifier)]
Money = Annotated[Decimal, AfterValidator(inputs.money)]
Priority = Annotated[StrictInt, Field(ge=-9999, le=9999)]
Quantity = Annotated[StrictInt, Field(gt=0, lt=inputs.QUANTITY_LIMIT)]
StockLevel = Annotated[StrictInt, Field(ge=0, lt=inputs.QUANTITY_LIMIT)]
# free text (names, notes): any printable characters
Text = Annotated[StrictStr, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Email = Annotated[StrictStr, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
# a buyer's address has no ';' either: in a CSV cell, addresses are separated by spaces or ';'
BuyerEmail = Annotated[StrictStr, Field(max_length=254, pattern=r"^[^@\s;]+@[^@\s;]+$")]


def _business_time(value: object) -> str:
    return inputs.business_time(value, now=datetime.now(UTC))


BusinessTime = Annotated[str, BeforeValidator(_business_time)]


def _iso_date(value: object) -> str:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("expected a date as YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("expected a date as YYYY-MM-DD") from None
    if not date(2000, 1, 1) <= parsed <= date(2199, 12, 31):
        raise ValueError("the date must lie between 2000-01-01 and 2199-12-31")
    return value


IsoDate = Annotated[str, BeforeValidator(_iso_date)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(_Body):
    id: Identifier
    email: Email | None = None
    name: Text | None = None


class LineIn(_Body):
    line: Annotated[StrictInt, Field(ge=1, le=9999)] | None = None
    sku: Identifier
    quantity: Quantity
    unit_price: Money = Decimal(0)


class OrderIn(_Body):
    id: Identifier
    entered_at: BusinessTime
    customer: CustomerIn
    lines: Annotated[list[LineIn], Field(min_length=1)]
    priority: Priority = 0
    ship_type: Literal["partial", "complete"] = "partial"
    line_policy: Literal["split", "whole"] | None = None


class MovementIn(_Body):
    id: Identifier
    sku: Identifier
    kind: Literal["receipt", "return", "adjustment", "count"]
    quantity: Annotated[StrictInt, Field(gt=-inputs.QUANTITY_LIMIT, lt=inputs.QUANTITY_LIMIT)]
    note: Text | None = None


class CancelIn(_Body):
    line: Annotated[StrictInt, Field(ge=1, le=9999)] | None = None
    units: Quantity | None = None

    @model_validator(mode="after")
    def _units_need_a_line(self) -> CancelIn:
        if self.units is not None and self.line is None:
            raise ValueError("units can only be cancelled on one line: give 'line' too")
        return self


class OrderPatchIn(_Body):
    priority: Priority


class LinePatchIn(_Body):
    quantity: Quantity


class ForceBackorderIn(_Body):
    units: StockLevel | None = None


class ProductIn(_Body):
    name: Text | None = None
    supplier_id: Identifier | None = None
    purchase_price: Money | None = None
    min_stock: StockLevel | None = None
    max_stock: StockLevel | None = None
    phased_out: StrictBool = False
    order_multiple: Quantity | None = None
    tracked: StrictBool = True

    def to_domain(self, sku: str) -> Product:
        return Product(sku, **self.model_dump())


class SupplierIn(_Body):
    name: Text | None = None
    backorders_enabled: StrictBool = False
    fixed_order_cost: Money = Decimal(0)
    minimum_order_value: Money = Decimal(0)
    threshold_mode: Literal["none", "fixed_cost", "mov", "both"] = "none"
    lead_time_days: Annotated[StrictInt, Field(ge=0, le=365)] = 7
    review_period_days: Annotated[StrictInt, Field(ge=1, le=365)] = 7
    next_review_date: IsoDate | None = None
    stockout_action: Literal["emergency", "prepone", "off"] = "off"
    service_level: Annotated[float, Field(ge=0.5, le=0.999, strict=True)] = 0.95
    buyer_emails: Annotated[list[BuyerEmail], Field(max_length=20)] = []

    def to_domain(self, supplier_id: str) -> Supplier:
        """The supplier, its settings as JSON takes them (decimals as text) and stores them."""
        settings = self.model_dump(mode="json")
        return Supplier(supplier_id, settings.pop("name"), settings)


class PoLineIn(_Body):
    sku: Identifier
    quantity: StockLevel


class PlaceIn(_Body):
    lines: Annotated[list[PoLineIn], Field(max_length=90)] | None = None
    expected_arrival: IsoDate | None = None


class MoveIn(_Body):
    expected_arrival: IsoDate


class ReceiptLineIn(_Body):
    sku: Identifier
    quantity: Quantity


class ReceiptIn(_Body):
    id: Identifier
    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=45)]


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/Amsterdam") from None
    return value


def _locale(value: str) -> str:
    from babel import Locale, UnknownLocaleError  # only a shop's settings need it (0.04 s to import)

    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        raise ValueError("must be a locale such as en, en_GB or nl_NL") from None
    return value


TimeZone = Annotated[StrictStr, Field(max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$"), AfterValidator(_time_zone)]
LocaleName = Annotated[StrictStr, Field(max_length=16, pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$"),
                       AfterValidator(_locale)]  # fmt: skip
CustomerMessage = Literal["backordered", "date_moved", "filled", "cancelled"]


class ShopIn(_Body):
    line_policy: Literal["split", "whole"] = "split"
    fill_mode: Literal["auto", "manual"] = "auto"
    notify_customers: StrictBool = False
    # which customer emails, when notify_customers is on (decision 72)
    customer_messages: Annotated[list[CustomerMessage], Field(max_length=4)] = list(CUSTOMER_MESSAGES)
    combine_minutes: Annotated[StrictInt, Field(ge=0, le=120)] = 10
    time_zone: TimeZone = "UTC"
    locale: LocaleName = "en"
    name: Text | None = None
    contact_email: Email | None = None

    def to_domain(self, shop: str) -> ShopSettings:
        return ShopSettings(
            shop,
            LinePolicy(self.line_policy),
            FillMode(self.fill_mode),
            self.notify_customers,
            frozenset(self.customer_messages),
            self.combine_minutes,
            self.time_zone,
            self.locale,
            self.name,
            self.contact_email,
        )


class CustomerSettingsIn(_Body):
    line_policy: Literal["split", "whole"] | None = None


class FillIn(_Body):
    skus: Annotated[list[Identifier], Field(max_length=100)] | None = None
    only_complete_orders: StrictBool = False


# ------------------------------------------------------------------ webshop integrations (decision 66)
# A secret as the platforms issue them: printable ASCII without spaces. Error messages never
# repeat a value, so a refused secret is not echoed either.
Secret = Annotated[StrictStr, Field(min_length=8, max_length=512, pattern=r"^[!-~]+$")]
ShopDomain = Annotated[StrictStr, Field(max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")]
# https, or http for a site on this machine (the catch-up's tests run a stand-in server)
SiteUrl = Annotated[
    StrictStr,
    Field(
        max_length=200,
        pattern=r"^(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?|http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?)(/[!-~]*)?$",
    ),
]


class ShopifyIntegrationIn(_Body):
    shop_domain: ShopDomain
    webhook_secret: Secret
    admin_api_token: Secret | None = None

    def to_domain(self) -> ShopifyIntegration:
        return ShopifyIntegration(self.shop_domain, self.webhook_secret, self.admin_api_token)


class WooCommerceIntegrationIn(_Body):
    site_url: SiteUrl
    webhook_secret: Secret
    consumer_key: Secret | None = None
    consumer_secret: Secret | None = None

    def to_domain(self) -> WooCommerceIntegration:
        return WooCommerceIntegration(self.site_url.rstrip("/"), self.webhook_secret, self.consumer_key,
                                      self.consumer_secret)  # fmt: skip
