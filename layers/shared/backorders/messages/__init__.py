"""Every email and page of the notifier, rendered with Jinja2 from ``templates/``.

One HTML and one plain-text template per email (``<name>.html``, ``<name>.txt``); the
subject is the text template's first line (``Subject: ...``). Autoescape is on for HTML:
product names, customer names and anything a webshop sent are untrusted. Dates, times and
numbers are formatted by Babel in the recipient's locale and time zone (an unknown locale
falls back to ``en``, an unknown time zone to UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

EMAILS = ("customer_update", "buyer_po", "buyer_low_stock", "buyer_unknown_sku", "buyer_digest", "shop_choice")
PAGES = ("choice_confirm", "choice_done", "choice_refused", "unsubscribed")
TEMPLATES = Path(__file__).parent / "templates"
MAX_SUBJECT = 200


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@pass_context
def _date(context: Context, value: str | date | None) -> str:
    if value in (None, ""):
        return "not known yet"
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return str(format_date(day, format="long", locale=context["_locale"]))


@pass_context
def _datetime(context: Context, value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return str(format_datetime(moment, format="medium", tzinfo=context["_zone"], locale=context["_locale"]))


@pass_context
def _money(context: Context, value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return str(format_decimal(amount, format="#,##0.00", locale=context["_locale"]))


def _days(value: int) -> str:
    return f"{value} day" if value == 1 else f"{value} days"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(date=_date, datetime=_datetime, money=_money, days=_days, plural=_plural)
    return env


def _context(context: Mapping[str, Any], locale: str, time_zone: str) -> dict[str, Any]:
    return {**context, "_locale": _locale(locale), "_zone": _zone(time_zone)}


def render_email(name: str, context: Mapping[str, Any], *, locale: str = "en", time_zone: str = "UTC") -> Rendered:
    if name not in EMAILS:
        raise KeyError(f"no email {name!r}")
    values = _context(context, locale, time_zone)
    text = environment().get_template(f"{name}.txt").render(values)
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"{name}.txt must start with a 'Subject:' line")
    subject = re.sub(r"\s+", " ", first.removeprefix("Subject:")).strip()[:MAX_SUBJECT]
    html = environment().get_template(f"{name}.html").render({**values, "subject": subject})
    return Rendered(subject, rest.lstrip("\n"), html)


def render_page(name: str, context: Mapping[str, Any], *, locale: str = "en", time_zone: str = "UTC") -> str:
    if name not in PAGES:
        raise KeyError(f"no page {name!r}")
    return environment().get_template(f"{name}.html").render(_context(context, locale, time_zone))
