"""Numbers as people write them, for every explanation line (payment models, ROI, shared savings).

``Decimal("1E+2")`` is 100 to Python and "1E+2" to ``str()``: an explanation must never say
"1E+2 episodes". These formatters never use an exponent, group thousands with commas and drop the
trailing zeros of a count or a rate (24,000 units, 0.15, 857.14 episodes); money keeps its cents
($206,160.00). Rounding is half-up, like ``socialcare.core.money.cents``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from socialcare.core.money import fmt_usd, to_decimal

DEFAULT_PLACES = 4


def _dec(value: object) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    return to_decimal(value)


def number(value: object, places: int = DEFAULT_PLACES, min_places: int = 0) -> str:
    """A count, a rate or a share: at most ``places`` decimals (half-up), no trailing zeros beyond
    ``min_places`` (2 for an amount per unit that may carry fractions of a cent), no exponent.

    >>> number(Decimal("1E+2")), number(Decimal("24000")), number(Decimal("857.142857"), 2)
    ('100', '24,000', '857.14')
    """
    d = _dec(value)
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) if places >= 0 else d
    text = f"{q:,f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(min_places, "0")
        text = f"{whole}.{frac}" if frac else whole
    elif min_places:
        text += "." + "0" * min_places
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def usd(value: object) -> str:
    """Money: $1,234.50, -$12.00 (cents, half-up)."""
    return fmt_usd(_dec(value))


def amount(value: object) -> str:
    """Money without the dollar sign, for a formula's operands: 1,234.50."""
    return f"{_dec(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,f}"


def percent(share: object, places: int = 1) -> str:
    """A share as a percentage: 0.1 → "10 %", 0.0968 → "9.7 %"."""
    return f"{number(_dec(share) * 100, places)} %"


__all__ = ["number", "usd", "amount", "percent"]
