"""The ROI calculator (payments-and-value.md section 1: the Commonwealth Fund calculator as we
reconstructed it, with the CHCS forecasting additions: ramp-up, horizon, discounting, sensitivity).

Month by month over the horizon (m = 1..H):

    participants_m   = members eligible × engagement rate × ramp_m,  ramp_m = min(1, m / ramp-up months)
    avoided_k,m      = participants_m × (baseline_k per 1,000 member-months / 1000) × effect_k × success rate
    savings_m        = Σ_k avoided_k,m × unit cost_k  (+ participants_m × $ saved per participant-month
                       for effects published as PMPM savings)
    cost_m           = program cost (per participant-month, or per week × 52/12, or per new participant
                       at enrollment) + monthly fixed costs;   one-time costs fall in month 0
    discount_m       = (1 + annual discount rate) ^ (−m / 12)

    gross savings    = Σ savings_m × discount_m          program cost = one-time + Σ cost_m × discount_m
    net savings      = gross savings − program cost
    ROI (net)        = net savings / program cost        savings per $1 (benefit-cost ratio) = gross / cost
    break-even program cost = the program cost amount (same unit as the input) at which net savings = 0
    months to break even    = first month whose cumulative discounted net is ≥ 0

An effect whose reported confidence interval includes zero is not evidence of an effect: by default
it is credited with no savings (its line says so and a warning names the interval); the sensitivity
chart still shows what its interval would be worth. ``credit_uncertain_effects: true`` credits the
point estimate anyway, with a warning.

Published "ROI" is sometimes net ((savings − cost) / cost) and sometimes the benefit-cost ratio
(savings / cost); the calculator reports both and labels them. Money outputs are Decimals rounded
to cents half-up; counts of events are Decimals to two places. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from socialcare.analytics.evidence import Library
from socialcare.analytics.evidence import load as load_library
from socialcare.core.errors import InvalidInput, Problem
from socialcare.core.money import cents
from socialcare.kit.numbers import amount, number, percent, usd

WEEKS_PER_MONTH = Decimal(52) / Decimal(12)
ONE = Decimal(1)
ZERO = Decimal(0)


def _q(x: Decimal, places: str = "0.01") -> Decimal:
    return x.quantize(Decimal(places), rounding=ROUND_HALF_UP)


class _Exact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_floats(cls, v):
        return Decimal(str(v)) if isinstance(v, float) else v


class CategoryInput(_Exact):
    """One utilization category. Empty fields come from the plan's defaults / the evidence library."""

    category: str
    per_1000_member_months: Decimal | None = Field(default=None, ge=0)
    unit_cost: Decimal | None = Field(default=None, ge=0)
    kind: Literal["relative", "pmpm"] | None = None
    effect: Decimal | None = Field(
        default=None, description="relative reduction (0.29 = 29 % fewer) or $ PMPM"
    )
    effect_low: Decimal | None = None
    effect_high: Decimal | None = None


class ProgramCost(_Exact):
    amount: Decimal = Field(ge=0)
    per: Literal["participant_month", "participant_week", "participant"] = "participant_month"


class RoiInputs(_Exact):
    name: str = "ROI scenario"
    intervention: str | None = Field(default=None, description="evidence library id; fills effects")
    members_eligible: int = Field(gt=0)
    engagement_rate: Decimal = Field(default=ONE, ge=0, le=1)
    ramp_up_months: int = Field(default=0, ge=0, le=120)
    horizon_months: int = Field(default=12, ge=1, le=120)
    discount_rate: Decimal = Field(default=ZERO, ge=0, le=1, description="annual")
    success_rate: Decimal = Field(
        default=ONE, ge=0, le=1, description="share of participants the effect reaches"
    )
    categories: tuple[CategoryInput, ...] = ()
    program_cost: ProgramCost
    one_time_costs: Decimal = Field(default=ZERO, ge=0, description="launch, development (month 0)")
    monthly_fixed_costs: Decimal = Field(default=ZERO, ge=0, description="hub fee, administration")
    round_events: bool = Field(
        default=False, description="count avoided events as whole events, as small published programs do"
    )
    credit_uncertain_effects: bool = Field(
        default=False,
        description="credit the point estimate of an effect whose confidence interval includes zero "
        "(by default such an effect is credited with no savings)",
    )
    # what a budget document says, for the consistency checks
    stated_budget: Decimal | None = Field(default=None, ge=0)
    stated_budget_months: int = Field(default=12, ge=1)
    stated_people: int | None = Field(default=None, gt=0)
    stated_per_person_per_week: Decimal | None = Field(default=None, ge=0)
    stated_per_person_per_month: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something_to_count(self):
        if not self.categories and not self.intervention:
            raise ValueError("give an intervention from the evidence library or at least one category")
        return self


@dataclass(frozen=True)
class Line:
    label: str
    formula: str
    result: str


@dataclass(frozen=True)
class Flag:
    severity: Literal["error", "warning", "info"]
    field: str
    message: str


@dataclass(frozen=True)
class ResolvedCategory:
    category: str
    label: str
    unit: str
    kind: str
    per_1000_member_months: Decimal
    unit_cost: Decimal
    effect: Decimal
    effect_low: Decimal
    effect_high: Decimal
    effect_source: str
    ci_reported: bool
    credited: bool = True  # False: the interval includes zero and the effect counts for nothing

    @property
    def interval_includes_zero(self) -> bool:
        return self.ci_reported and self.effect_low <= 0 <= self.effect_high

    @property
    def credited_effect(self) -> Decimal:
        return self.effect if self.credited else ZERO


@dataclass(frozen=True)
class CategoryResult:
    category: str
    label: str
    baseline_events: Decimal
    avoided_events: Decimal
    gross_savings: Decimal
    avoided_events_exact: Decimal = ZERO  # what the savings use (avoided_events is it to two places)


@dataclass(frozen=True)
class MonthRow:
    month: int
    participants: Decimal
    savings: Decimal
    cost: Decimal
    cumulative_net: Decimal


@dataclass(frozen=True)
class TornadoBar:
    input: str
    low_value: str
    high_value: str
    net_at_low: Decimal
    net_at_high: Decimal

    @property
    def swing(self) -> Decimal:
        return abs(self.net_at_high - self.net_at_low)


@dataclass
class RoiResult:
    inputs: RoiInputs
    categories: list[ResolvedCategory]
    participants: Decimal
    participant_months: Decimal
    by_category: list[CategoryResult]
    gross_savings: Decimal
    program_cost: Decimal
    net_savings: Decimal
    roi: Decimal | None  # net ROI, e.g. 3.87 = 387 %
    savings_per_dollar: Decimal | None  # benefit-cost ratio
    break_even_program_cost: Decimal | None  # per input unit; None if nothing to scale
    months_to_break_even: int | None
    monthly: list[MonthRow]
    flags: list[Flag] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    tornado: list[TornadoBar] = field(default_factory=list)
    library_version: str = ""

    def explain(self) -> str:
        return "\n".join(f"{ln.label}: {ln.formula} = {ln.result}" for ln in self.lines)


# ---------------------------------------------------------------- resolution


def resolve(inputs: RoiInputs, library: Library) -> list[ResolvedCategory]:
    """Fill each category from the plan's inputs, then the intervention's evidence, then defaults."""
    problems: list[Problem] = []
    effects = {}
    if inputs.intervention:
        for e in library.get(inputs.intervention).effects:
            effects[e.category] = e
    # by default use every published effect, minus the ones that would price the same events twice
    default = [
        c
        for c, e in effects.items()
        if not (c == "inpatient_days" and "admissions" in effects)
        and not (c == "total_cost" and e.kind == "relative" and len(effects) > 1)
    ]
    wanted = list(inputs.categories) or [CategoryInput(category=c) for c in default]
    if not wanted:
        raise InvalidInput(
            f"intervention {inputs.intervention!r} has no quantified effect in the evidence library",
            [Problem("give the effect sizes as categories", field="categories")],
        )
    out: list[ResolvedCategory] = []
    for i, c in enumerate(wanted):
        where = f"categories.{i}"
        if c.category not in library.categories:
            problems.append(Problem(f"unknown category {c.category!r}", field=f"{where}.category"))
            continue
        ev = effects.get(c.category)
        kind = c.kind or (ev.kind if ev else "relative")
        if c.effect is not None:
            est, lo, hi = c.effect, c.effect_low, c.effect_high
            src, reported = "plan input", lo is not None and hi is not None
        elif ev is not None:
            est, lo, hi = ev.estimate, ev.ci_low, ev.ci_high
            src, reported = f"{inputs.intervention} [{ev.tag}]", ev.reported_ci
        else:
            problems.append(
                Problem("no effect given and none in the evidence library", field=f"{where}.effect")
            )
            continue
        if lo is None or hi is None:
            lo, hi = est * Decimal("0.5"), est * Decimal("1.5")
        if kind == "relative" and not (Decimal(-1) < est < ONE):
            problems.append(Problem("a relative reduction lies between -1 and 1", field=f"{where}.effect"))
        base = library.default_baselines.get(c.category)
        rate = (
            c.per_1000_member_months
            if c.per_1000_member_months is not None
            else (base.per_1000_member_months if base else None)
        )
        cost = c.unit_cost if c.unit_cost is not None else (base.unit_cost if base else None)
        if kind == "relative" and (rate is None or cost is None):
            problems.append(
                Problem("no baseline rate or unit cost given and no default for this category", field=where)
            )
            continue
        out.append(
            ResolvedCategory(
                category=c.category,
                label=library.categories[c.category].label,
                unit=library.categories[c.category].unit,
                kind=kind,
                per_1000_member_months=rate if rate is not None else ZERO,
                unit_cost=cost if cost is not None else ZERO,
                effect=est,
                effect_low=min(lo, hi),
                effect_high=max(lo, hi),
                effect_source=src,
                ci_reported=reported,
                credited=not (reported and min(lo, hi) <= 0 <= max(lo, hi)) or inputs.credit_uncertain_effects,
            )
        )
    if problems:
        raise InvalidInput("the ROI inputs are incomplete", problems)
    return out


# ---------------------------------------------------------------- the computation


def _participants(inputs: RoiInputs) -> list[Decimal]:
    full = inputs.members_eligible * inputs.engagement_rate
    r = inputs.ramp_up_months
    return [full * (min(ONE, Decimal(m) / r) if r else ONE) for m in range(1, inputs.horizon_months + 1)]


def _discount(inputs: RoiInputs) -> list[Decimal]:
    d = ONE + inputs.discount_rate
    if inputs.discount_rate == 0:
        return [ONE] * inputs.horizon_months
    return [ONE / d ** (Decimal(m) / 12) for m in range(1, inputs.horizon_months + 1)]


def _cost_units(inputs: RoiInputs, parts: list[Decimal]) -> list[Decimal]:
    """Units of the program cost incurred each month (participant-months, weeks, or new participants)."""
    per = inputs.program_cost.per
    if per == "participant_month":
        return parts
    if per == "participant_week":
        return [p * WEEKS_PER_MONTH for p in parts]
    prev, out = ZERO, []
    for p in parts:
        out.append(max(ZERO, p - prev))
        prev = max(prev, p)
    return out


@dataclass(frozen=True)
class _Core:
    gross: Decimal
    cost: Decimal
    by_category: list[CategoryResult]
    monthly: list[MonthRow]
    units_pv: Decimal
    fixed_pv: Decimal
    participant_months: Decimal
    months_pv: Decimal  # Σ discount factors: the monthly fixed cost's multiplier


def _core(inputs: RoiInputs, cats: list[ResolvedCategory]) -> _Core:
    parts = _participants(inputs)
    disc = _discount(inputs)
    units = _cost_units(inputs, parts)
    pm_total = sum(parts, ZERO)
    p = inputs.success_rate
    by_cat: list[CategoryResult] = []
    month_sav = [ZERO] * inputs.horizon_months
    for c in cats:
        if c.kind == "pmpm":
            base_events = ZERO
            avoided = ZERO
            per_month = [pt * c.credited_effect * p for pt in parts]
        else:
            base_events = pm_total * c.per_1000_member_months / 1000
            avoided = base_events * c.credited_effect * p
            if inputs.round_events:
                # whole events: round(expected without) − round(expected with), as the Maine paper did
                avoided = _q(base_events, "1") - _q(base_events - avoided, "1")
            # spread over months in proportion to participant-months
            per_month = (
                [avoided * c.unit_cost * (pt / pm_total) for pt in parts] if pm_total else [ZERO] * len(parts)
            )
        for i, v in enumerate(per_month):
            month_sav[i] += v
        g = sum((v * f for v, f in zip(per_month, disc, strict=True)), ZERO)
        by_cat.append(CategoryResult(c.category, c.label, _q(base_events), _q(avoided), cents(g), avoided))
    amount = inputs.program_cost.amount
    month_cost = [u * amount + inputs.monthly_fixed_costs for u in units]
    units_pv = sum((u * f for u, f in zip(units, disc, strict=True)), ZERO)
    fixed_pv = inputs.one_time_costs + sum((inputs.monthly_fixed_costs * f for f in disc), ZERO)
    gross = sum((s * f for s, f in zip(month_sav, disc, strict=True)), ZERO)
    cost = inputs.one_time_costs + sum((c * f for c, f in zip(month_cost, disc, strict=True)), ZERO)
    cum = -inputs.one_time_costs
    monthly = []
    for m, (pt, s, c, f) in enumerate(zip(parts, month_sav, month_cost, disc, strict=True), start=1):
        cum += (s - c) * f
        monthly.append(MonthRow(m, _q(pt), cents(s * f), cents(c * f), cents(cum)))
    return _Core(gross, cost, by_cat, monthly, units_pv, fixed_pv, pm_total, sum(disc, ZERO))


def calculate(inputs: RoiInputs, library: Library | None = None, *, sensitivity: bool = True) -> RoiResult:
    library = library or load_library()
    cats = resolve(inputs, library)
    core = _core(inputs, cats)
    # the total is the sum of the category lines as shown (each rounded to cents), so it adds up
    gross, cost = sum((r.gross_savings for r in core.by_category), ZERO), cents(core.cost)
    net = gross - cost
    roi = _q(net / cost, "0.0001") if cost else None
    bcr = _q(gross / cost, "0.0001") if cost else None
    be = cents((gross - core.fixed_pv) / core.units_pv) if core.units_pv else None
    months_be = next((r.month for r in core.monthly if r.cumulative_net >= 0), None)
    steady = inputs.members_eligible * inputs.engagement_rate
    per_label = inputs.program_cost.per.replace("_", "-")
    success = f"{number(inputs.success_rate)} success rate"
    d = inputs.discount_rate
    lines = [
        Line(
            "participants at full enrollment",
            f"{number(inputs.members_eligible)} eligible × {number(inputs.engagement_rate)} engagement",
            number(steady, 2),
        ),
        Line(
            "participant-months",
            f"Σ over {inputs.horizon_months} months with a {inputs.ramp_up_months}-month linear ramp-up",
            number(core.participant_months, 2),
        ),
    ]
    discounted = f", discounted at {number(inputs.discount_rate)}/year" if inputs.discount_rate else ""
    for c, r in zip(cats, core.by_category, strict=True):
        if c.kind == "pmpm":
            lines.append(
                Line(
                    f"{c.label} savings",
                    f"{number(core.participant_months, 2)} participant-months × {_effect_text(c, money=True)} "
                    f"saved per participant-month × {success}{discounted}",
                    amount(r.gross_savings),
                )
            )
            continue
        lines.append(
            Line(
                f"{c.label}: avoided events",
                f"{number(core.participant_months, 2)} participant-months × {number(c.per_1000_member_months)}/1,000 × "
                f"{_effect_text(c)} × {success}" + (" (whole events)" if inputs.round_events else ""),
                number(r.avoided_events, 2),
            )
        )
        lines.append(
            Line(
                f"{c.label}: savings",
                f"{number(r.avoided_events_exact, _places(c.unit_cost))} × {usd(c.unit_cost)} per {c.unit}{discounted}",
                amount(r.gross_savings),
            )
        )
    lines += [
        Line("gross savings", " + ".join(amount(r.gross_savings) for r in core.by_category) or "nothing counted",
             amount(gross)),
        Line(
            "program cost",
            f"{usd(inputs.program_cost.amount)} × {number(core.units_pv, _places(inputs.program_cost.amount))} "
            f"{'discounted ' * bool(d)}{per_label}s + "
            f"{usd(inputs.monthly_fixed_costs)} fixed × {number(core.months_pv, _places(inputs.monthly_fixed_costs))} {'discounted ' * bool(d)}months + "
            f"{usd(inputs.one_time_costs)} one-time",
            amount(cost),
        ),
        Line("net savings", f"{amount(gross)} − {amount(cost)}", amount(net)),
        Line(
            "ROI (net)",
            f"({amount(gross)} − {amount(cost)}) / {amount(cost)}",
            f"{roi} ({percent(roi)})" if roi is not None else "n/a (no cost)",
        ),
        Line(
            "savings per $1 spent (benefit-cost ratio)",
            f"{amount(gross)} / {amount(cost)}",
            f"${bcr}" if bcr is not None else "n/a",
        ),
        Line(
            "break-even program cost",
            f"({amount(gross)} − {amount(core.fixed_pv)} fixed and one-time costs) / {_sig(core.units_pv)} "
            f"{'discounted ' * bool(d)}{per_label}s",
            f"{usd(be)} per {per_label}" if be is not None else "n/a",
        ),
        Line(
            "months to break even",
            "first month with cumulative discounted net ≥ 0",
            str(months_be) if months_be else f"not within {inputs.horizon_months} months",
        ),
    ]
    result = RoiResult(
        inputs=inputs,
        categories=cats,
        participants=_q(steady),
        participant_months=_q(core.participant_months),
        by_category=core.by_category,
        gross_savings=gross,
        program_cost=cost,
        net_savings=net,
        roi=roi,
        savings_per_dollar=bcr,
        break_even_program_cost=be,
        months_to_break_even=months_be,
        monthly=core.monthly,
        lines=lines,
        library_version=library.version,
    )
    from socialcare.analytics.roi_checks import check, tornado  # they use this module's types

    result.flags = check(inputs, cats, result, library)
    if sensitivity:
        result.tornado = tornado(inputs, cats)
    return result


def net_only(inputs: RoiInputs, cats: list[ResolvedCategory]) -> Decimal:
    core = _core(inputs, cats)
    return sum((r.gross_savings for r in core.by_category), ZERO) - cents(core.cost)


def _places(multiplier: Decimal) -> int:
    """Decimals to show of a quantity a line multiplies by ``multiplier``, so that the product of the
    shown figures is the line's result to the cent (the error stays below $0.0001)."""
    return len(str(int(abs(multiplier)))) + 4


def _sig(x: Decimal, digits: int = 10) -> str:
    """``x`` to ``digits`` significant figures: a divisor shown precisely enough to redo the division."""
    return number(x, max(2, digits - (x.adjusted() + 1))) if x else "0"


def _effect_text(c: ResolvedCategory, money: bool = False) -> str:
    """The effect a line uses, and why: an effect whose interval includes zero is credited with nothing
    unless the inputs say to credit it anyway."""
    est = usd(c.effect) if money else number(c.effect)
    where = f"{number(c.effect_low)} to {number(c.effect_high)}"
    if not c.credited:
        return (f"{'$0.00' if money else '0'} effect credited ({c.effect_source}: estimate {est}, its interval "
                f"{where} includes zero)")
    if c.interval_includes_zero:
        return f"{est} effect ({c.effect_source}; credited although its interval {where} includes zero)"
    return f"{est} effect ({c.effect_source})"


def parse_inputs(data: dict) -> RoiInputs:
    from pydantic import ValidationError

    try:
        return RoiInputs.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            "the ROI inputs were rejected",
            [Problem(e["msg"], field=".".join(str(p) for p in e["loc"]) or None) for e in exc.errors()],
        ) from exc
