"""Request bodies of the native JSON API (pydantic): what a field must look like.

Business rules (for example: a count cannot be negative) live in the domain; these
models only say which fields exist and their types, so errors name the field.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

Text = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
Priority = Annotated[StrictInt, Field(ge=-9999, le=9999)]
Quantity = Annotated[StrictInt, Field(gt=0, le=1_000_000)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time zone, for example 2026-11-22T10:00:00Z")
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerIn(_Body):
    id: Text
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None


class LineIn(_Body):
    line: Annotated[StrictInt, Field(ge=1, le=9999)] | None = None
    sku: Text
    quantity: Quantity
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)] = Decimal(0)


class OrderIn(_Body):
    id: Text
    entered_at: Annotated[datetime, AfterValidator(_aware)]
    customer: CustomerIn
    lines: Annotated[list[LineIn], Field(min_length=1)]
    priority: Priority = 0
    ship_type: Literal["partial", "complete"] = "partial"
    line_policy: Literal["split", "whole"] | None = None


class MovementIn(_Body):
    id: Text
    sku: Text
    kind: Literal["receipt", "return", "adjustment", "count"]
    quantity: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)]
    note: Annotated[str, Field(max_length=200)] | None = None


class CancelIn(_Body):
    line: Annotated[StrictInt, Field(ge=1)] | None = None
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
    units: Annotated[StrictInt, Field(ge=0)] | None = None


class ProductIn(_Body):
    name: Annotated[str, Field(max_length=200)] | None = None
    supplier_id: Text | None = None
    purchase_price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)] | None = None
    min_stock: Annotated[StrictInt, Field(ge=0)] | None = None
    max_stock: Annotated[StrictInt, Field(ge=0)] | None = None
    phased_out: StrictBool = False
    order_multiple: Annotated[StrictInt, Field(ge=1)] | None = None
    tracked: StrictBool = True


class SupplierIn(_Body):
    name: Annotated[str, Field(max_length=200)] | None = None
    backorders_enabled: StrictBool = False
    fixed_order_cost: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    minimum_order_value: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    threshold_mode: Literal["none", "fixed_cost", "mov", "both"] = "none"
    lead_time_days: Annotated[StrictInt, Field(ge=0, le=365)] = 7
    review_period_days: Annotated[StrictInt, Field(ge=1, le=365)] = 7
    buyer_emails: list[Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]] = []


class ShopIn(_Body):
    line_policy: Literal["split", "whole"] = "split"
    fill_mode: Literal["auto", "manual"] = "auto"
    notify_customers: StrictBool = False


class CustomerSettingsIn(_Body):
    line_policy: Literal["split", "whole"] | None = None


class FillIn(_Body):
    skus: list[Text] | None = None
    only_complete_orders: StrictBool = False
