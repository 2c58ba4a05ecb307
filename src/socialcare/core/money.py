"""Exact money.

Every amount is a ``decimal.Decimal``. Amounts are rounded to cents, ROUND_HALF_UP, at the
line level (a statement line, an invoice line, a claim line); totals are sums of rounded lines,
so lines always add up to the total. Floats are refused: a float has already lost precision.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import Numeric
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_decimal(value: object) -> Decimal:
    """Convert an exact input (Decimal, int, str) to Decimal; refuse floats and junk."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace(",", "").replace("$", ""))
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    if isinstance(value, float):
        raise TypeError(f"money must not be a float ({value!r}); write it as a string or Decimal")
    raise TypeError(f"not an amount: {value!r}")


def cents(value: object) -> Decimal:
    """Round to cents, half up (0.005 -> 0.01)."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def has_at_most_cents(value: Decimal) -> bool:
    """True when the amount has no more than two decimal places."""
    return value == value.quantize(CENT)


def fmt_usd(value: Decimal | None) -> str:
    """$1,234.50 (negative as -$1,234.50)."""
    if value is None:
        return ""
    v = cents(value)
    sign = "-" if v < 0 else ""
    return f"{sign}${abs(v):,.2f}"


class MoneyType(TypeDecorator):
    """Numeric(14, 2) column that always yields Decimal (SQLite stores it as text-safe numeric)."""

    impl = Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return cents(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return cents(value)
