"""Pure rules shared by every measure: rates, rounding, goals, small-cell suppression, periods.

No database here. docs/measures.md is the user-facing statement of each rule; a change here is a
change there.

Rates. A rate is kept as its numerator and denominator (integers, exact). Its stored value is the
percent as a Decimal with four decimal places, rounded half-up (``79.3620`` for 1,642 / 2,069);
the display is the whole percent, rounded half-up from the exact fraction (never from an already
rounded value, so 79.5 % exactly shows 80 % and 79.4999 % shows 79 %). Goals compare against the
stored value.

Small cells. Anything shared outside the plan hides counts from 1 to 10 (CMS cell-size policy) and
any rate whose numerator or denominator is such a count; 0 stays visible. When a dimension
(e.g. county) has exactly one hidden cell, the next smallest cell of that dimension is hidden too
(complementary suppression), so the hidden value cannot be recovered from the total.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

SMALL_CELL_MIN = 11  # a count from 1 to 10 is suppressed outside the plan
STORED_PLACES = Decimal("0.0001")


# ---- months --------------------------------------------------------------------------------------


def parse_month(text: str | date) -> date:
    """'2026-03' (or a date) -> date(2026, 3, 1). Raises ValueError naming the expected form."""
    if isinstance(text, date):
        return text.replace(day=1)
    try:
        y, m = str(text).strip().split("-")[:2]
        return date(int(y), int(m), 1)
    except (ValueError, TypeError):
        raise ValueError(f"'{text}' is not a month; write it as YYYY-MM, e.g. 2026-03") from None


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from first to last (inclusive), as first days."""
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def month_label(month: date) -> str:
    return month.strftime("%b %Y")


# ---- rates -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """numerator / denominator, with the percent stored (4 places) and shown (whole percent)."""

    numerator: int
    denominator: int
    suppressed: bool = False

    @property
    def fraction(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def value(self) -> Decimal | None:
        """Stored percent: 4 decimal places, half-up. None when the denominator is 0 or suppressed."""
        if self.suppressed or not self.denominator:
            return None
        return stored_percent(self.numerator, self.denominator)

    @property
    def display(self) -> str:
        if self.suppressed:
            return "suppressed"
        if not self.denominator:
            return "n/a"
        return f"{display_percent(self.numerator, self.denominator)}%"

    def as_dict(self) -> dict:
        return {
            "numerator": None if self.suppressed else self.numerator,
            "denominator": None if self.suppressed else self.denominator,
            "percent": None if self.value is None else str(self.value),
            "display": self.display,
            "suppressed": self.suppressed,
        }


def stored_percent(numerator: int, denominator: int) -> Decimal:
    """100 * n / d to 4 decimal places, half-up, computed exactly (no float on the way)."""
    if denominator <= 0:
        raise ValueError("a rate needs a positive denominator")
    exact = Decimal(100 * numerator) / Decimal(denominator)  # 28 significant digits: enough for 4 places
    return exact.quantize(STORED_PLACES, rounding=ROUND_HALF_UP)


def display_percent(numerator: int, denominator: int) -> int:
    """Whole percent, half-up, from the exact fraction: floor(100 n / d + 1/2) for n, d >= 0."""
    if denominator <= 0:
        raise ValueError("a rate needs a positive denominator")
    return (200 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Goal:
    """A contract's target for a measure, in percent (or days for a timeliness standard)."""

    target: Decimal
    direction: str = "at_least"  # at_least | at_most

    def met(self, value: Decimal | None) -> bool | None:
        if value is None:
            return None
        return value >= self.target if self.direction == "at_least" else value <= self.target


def goal_sentence(label: str, rate: Rate, goal: Goal | None, of_what: str, numer_what: str) -> str:
    """The seed's scorecard sentence: 'Outreach rate was 79%: out of 2,069 assigned, 1,642 were outreached.'"""
    if rate.suppressed:
        return f"{label} is not shown: fewer than {SMALL_CELL_MIN} members."
    if not rate.denominator:
        return f"{label}: nobody {of_what} yet."
    s = f"{label} was {rate.display}: out of {rate.denominator:,} {of_what}, {rate.numerator:,} {numer_what}."
    if goal is not None:
        met = goal.met(rate.value)
        s += f" Goal {_fmt_target(goal.target)}% ({'met' if met else 'not met'})."
    return s


def _fmt_target(d: Decimal) -> str:
    return f"{d.normalize():f}"


# ---- small cells -----------------------------------------------------------------------------------


def is_small(count: int | None) -> bool:
    return count is not None and 0 < count < SMALL_CELL_MIN


@dataclass
class Cell:
    """One stratum value of one dimension: its counts (e.g. assigned, outreached...)."""

    dimension: str
    value: str
    counts: dict[str, int]
    suppressed: bool = False
    reasons: list[str] = field(default_factory=list)


def suppress_cells(cells: list[Cell], basis: str) -> list[Cell]:
    """Hide small cells, per dimension, with complementary suppression.

    ``basis`` names the count that decides (the denominator of the first rate, e.g. 'assigned');
    any other count in a cell from 1 to 10 hides the cell as well (its rates would reveal it).
    Returns new Cell objects; the input is not changed.
    """
    out = [replace(c, counts=dict(c.counts), reasons=list(c.reasons)) for c in cells]
    by_dim: dict[str, list[Cell]] = {}
    for c in out:
        by_dim.setdefault(c.dimension, []).append(c)
        small = [k for k, v in c.counts.items() if is_small(v)]
        if small:
            c.suppressed = True
            c.reasons.append("fewer than 11: " + ", ".join(small))
    for cells_of_dim in by_dim.values():
        hidden = [c for c in cells_of_dim if c.suppressed]
        if len(hidden) == 1:
            # one hidden cell could be recovered as total minus the others: hide the next smallest too
            visible = sorted((c for c in cells_of_dim if not c.suppressed and c.counts.get(basis, 0) > 0),
                             key=lambda c: (c.counts.get(basis, 0), c.value))
            if visible:
                visible[0].suppressed = True
                visible[0].reasons.append("complementary suppression")
    return out


# ---- SNS-E dates -----------------------------------------------------------------------------------


SNS_DOMAINS = ("food", "housing", "transportation")
INTERVENTION_DAYS = 30
ENROLLMENT_GAP_DAYS = 45
ISNP_LTI_MIN_AGE = 66
AGE_BANDS = (("0-17", 0, 17), ("18-64", 18, 64), ("65+", 65, 200))


@dataclass(frozen=True)
class SnsWindow:
    """The dates an SNS-E computation uses for a measurement year reported through ``through``.

    HEDIS measures the calendar year: screens dated Jan 1 - Dec 1 count, an intervention counts when
    it is dated from the day of the first positive screen to 30 days after. For a month before the
    year is out, the same definition is applied to the year to date: screens to the end of the month
    (never after Dec 1), and the intervention denominators hold only positives whose 30 days have
    run by the end of the month (first positive on or before month end - 30 days). On Dec 31 that
    cut-off is Dec 1, so the year-end figure is exactly the HEDIS one.
    """

    year_start: date
    through: date  # last day counted (month end, or Dec 31)
    screen_last: date  # last screening day counted
    positive_last: date  # last first-positive day in the intervention denominators
    age_as_of: date  # ages are taken on Dec 31 of the measurement year

    @classmethod
    def for_month(cls, month: date) -> SnsWindow:
        through = month_end(month)
        year_start = date(through.year, 1, 1)
        dec1 = date(through.year, 12, 1)
        return cls(
            year_start=year_start,
            through=through,
            screen_last=min(through, dec1),
            positive_last=min(through - timedelta(days=INTERVENTION_DAYS), dec1),
            age_as_of=date(through.year, 12, 31),
        )


def intervention_in_window(first_positive: date, intervention: date) -> bool:
    """screen day <= intervention day <= screen day + 30 days (the 30th day counts, the 31st does not)."""
    return first_positive <= intervention <= first_positive + timedelta(days=INTERVENTION_DAYS)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_band(age: int) -> str:
    for label, lo, hi in AGE_BANDS:
        if lo <= age <= hi:
            return label
    return AGE_BANDS[-1][0]


def born_on_or_before_for_age(age: int, on: date) -> date:
    """The latest birth date of someone at least ``age`` years old on ``on`` (for SQL comparisons)."""
    try:
        return on.replace(year=on.year - age)
    except ValueError:  # Feb 29
        return on.replace(year=on.year - age, day=28)
