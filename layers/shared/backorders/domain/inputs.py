"""What the service accepts as an identifier, a business time, money and a quantity
(PRODUCT.md, "Tenancy, identifiers and input"). One rule each, applied wherever such a
value comes in: request bodies, paths and query parameters alike.

- Identifiers (SKU, order, supplier, customer, movement and PO ids): 1-64 characters
  after Unicode NFC normalisation, no control or format characters (categories Cc and
  Cf), none of ``/ ? #``, not only white space. The NFC form is the stored one, so the
  same id typed as a composed or a decomposed character is one id. ``#`` also separates
  the parts of the table's keys.
- Business times (``entered_at``): ISO 8601 text with a time zone, between 2000-01-01
  and one day after now; a bare number is not a time. Stored as UTC with microseconds,
  whose text order is time order.
- Money: at most 4 decimals, 0 <= amount < 10^9. Stock levels and quantities: whole
  numbers of magnitude below 10^9.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal

MAX_ID_LENGTH = 64
FORBIDDEN_ID_CHARACTERS = "/?#"
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=1)
MONEY_LIMIT = Decimal(10) ** 9
MONEY_DECIMALS = 4
QUANTITY_LIMIT = 10**9  # quantities and stock levels are below this, in magnitude
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def identifier(value: str) -> str:
    """The identifier in its stored (NFC) form; ``ValueError`` says what is wrong."""
    text = unicodedata.normalize("NFC", value)
    if not 1 <= len(text) <= MAX_ID_LENGTH:
        raise ValueError(f"must be 1-{MAX_ID_LENGTH} characters, got {len(text)}")
    if not text.strip():
        raise ValueError("must not be only white space")
    for position, char in enumerate(text):
        if char in FORBIDDEN_ID_CHARACTERS:
            raise ValueError(f"must not contain {char!r} (character {position + 1})")
        if unicodedata.category(char) in ("Cc", "Cf", "Cs"):  # Cs: a lone surrogate is no text
            raise ValueError(
                f"must not contain control or format character U+{ord(char):04X} (character {position + 1})"
            )
    return text


def business_time(value: object, *, now: datetime) -> str:
    """An ISO 8601 time with a zone, in the service's UTC text form."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date and time text with a time zone, for example 2026-11-22T10:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "is not an ISO 8601 date and time, for example 2026-11-22T10:00:00Z or 2026-11-22T11:00:00+01:00"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must include a time zone, for example 2026-11-22T10:00:00Z")
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: far out of range either way
        in_utc = None
    if in_utc is None or not EARLIEST_TIME <= in_utc <= now + LATEST_AHEAD:
        raise ValueError("must lie between 2000-01-01 and one day from now")
    return in_utc.strftime(TIME_FORMAT)


def money(value: Decimal) -> Decimal:
    """A non-negative amount below 10^9 with at most 4 decimals, in plain notation
    (``1E+2`` becomes ``100``, ``-0`` becomes ``0``)."""
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value < 0:
        raise ValueError("must not be negative")
    if value >= MONEY_LIMIT:
        raise ValueError(f"must be below {MONEY_LIMIT:,}")
    exponent = value.normalize().as_tuple().exponent  # 12.50000 has two decimals
    if isinstance(exponent, int) and exponent < -MONEY_DECIMALS:
        raise ValueError(f"must have at most {MONEY_DECIMALS} decimals")
    return Decimal(0) if value == 0 else Decimal(format(value, "f"))
