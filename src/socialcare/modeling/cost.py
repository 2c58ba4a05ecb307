"""Fully loaded unit cost of a CBO service, and the break-even rate under each payment model.

Seed 002 ("A Health Plan's Guide to Paying CBOs for Social Care"): the payment should "cover at
minimum the costs to provide the service plus relevant overhead (including the administrative and
development costs)", and CBOs often have not determined the "fully loaded" unit cost of their
services. This module computes it the way a CBO finance lead would, line by line:

    direct cost per unit   = Σ staff (minutes per unit / 60 × hourly wage × (1 + benefits rate))
                             + materials per unit
    overhead per unit      = direct cost per unit × overhead (indirect) rate
    billing cost           = per model: invoices cost a fixed amount per invoice (monthly);
                             claims cost a fixed monthly amount plus an amount per claim line
    fixed costs per year   = pre-launch and development costs amortized over the amortization
                             period + paid committee time (JOC, case conferencing) + billing fixed
    cost per unit at V     = direct + overhead + billing per unit + fixed per year / V

    price                  = cost with the target margin, by its stated convention:
                             gross_up (margin on the price): cost / (1 − margin)
                             markup (margin on the cost):    cost × (1 + margin)

Volumes are units per year. Every figure is a Decimal; the totals are computed exactly and rounded
to cents half-up at the end (the unrounded values feed the break-even rates). The explanation lists
every component of the cost per unit on one basis (per unit at the expected volume, the fixed
costs spread over it), each rounded to cents so the lines add up to the total exactly
(``allocate_cents``: round down, then the cents left to the largest remainders).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from socialcare.core.money import CENT, cents, to_decimal
from socialcare.kit.numbers import amount, number, percent, usd

BillingMode = Literal["invoice", "claims"]
MarginConvention = Literal["gross_up", "markup"]
MODELS = ("fixed_price", "fee_for_service", "bundled", "capitation", "pay_for_performance", "outcome_based")


class _Exact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_floats(cls, v):
        if isinstance(v, float):
            # YAML and JSON give floats for 12.5; convert through str so 12.5 stays 12.5 exactly
            return Decimal(str(v))
        return v


class StaffTime(_Exact):
    role: str
    minutes_per_unit: Decimal = Field(ge=0)
    hourly_wage: Decimal = Field(ge=0)
    benefits_rate: Decimal = Field(default=Decimal("0.25"), ge=0, le=2, description="fringe as a share of wages")


class BillingCosts(_Exact):
    invoice_cost_per_month: Decimal = Field(default=Decimal("150"), ge=0, description="staff time to prepare invoices")
    claims_fixed_per_month: Decimal = Field(
        default=Decimal("600"), ge=0, description="clearinghouse, billing software, revenue-cycle staff"
    )
    claims_cost_per_line: Decimal = Field(default=Decimal("2.50"), ge=0, description="coding, submission, denials")


class UnitCostInputs(_Exact):
    """What a CBO knows about delivering one unit of a service."""

    service: str
    unit: str = "unit"
    expected_units_per_year: Decimal = Field(gt=0)
    low_units_per_year: Decimal | None = Field(default=None, gt=0)
    high_units_per_year: Decimal | None = Field(default=None, gt=0)
    staff: list[StaffTime] = Field(default_factory=list)
    materials_per_unit: Decimal = Field(default=Decimal("0"), ge=0)
    overhead_rate: Decimal = Field(default=Decimal("0.15"), ge=0, le=2, description="indirect cost rate on direct costs")
    billing: BillingCosts = Field(default_factory=BillingCosts)
    billing_mode: BillingMode = "invoice"
    prelaunch_costs: Decimal = Field(default=Decimal("0"), ge=0, description="credentialing, training, onboarding")
    development_costs: Decimal = Field(default=Decimal("0"), ge=0, description="technology, workflow design")
    amortization_years: Decimal = Field(default=Decimal("1"), gt=0)
    committee_hours_per_month: Decimal = Field(default=Decimal("0"), ge=0, description="JOC, case conferencing")
    committee_hourly_cost: Decimal = Field(default=Decimal("0"), ge=0)
    # for the per-model break-even rates
    units_per_member: Decimal = Field(default=Decimal("1"), gt=0, description="units a served member receives per year")
    units_per_episode: Decimal = Field(default=Decimal("1"), gt=0)
    attributed_members: Decimal | None = Field(default=None, gt=0, description="for a PMPM rate")
    expected_obus_per_year: Decimal | None = Field(default=None, gt=0, description="outcome-based units")
    expected_bonus_share: Decimal = Field(
        default=Decimal("0"), ge=0, le=1, description="share of revenue expected from P4P bonuses"
    )
    target_margin: Decimal = Field(default=Decimal("0"), ge=0, le=10, description="margin the rate should leave")
    margin_convention: MarginConvention = Field(
        default="gross_up",
        description="gross_up: the margin is a share of the price, price = cost / (1 − margin); "
        "markup: the margin is a share of the cost, price = cost × (1 + margin)",
    )

    @model_validator(mode="after")
    def _margin(self):
        if self.margin_convention == "gross_up" and self.target_margin >= 1:
            raise ValueError("a gross-up margin is a share of the price, below 1 (0.10 = 10 %); "
                             "for a mark-up of 100 % or more set margin_convention: markup")
        return self


@dataclass(frozen=True)
class Line:
    label: str
    formula: str
    amount: Decimal


@dataclass(frozen=True)
class CostAtVolume:
    units_per_year: Decimal
    cost_per_unit: Decimal  # cents
    total_cost: Decimal  # cents

    @property
    def units_text(self) -> str:
        return number(self.units_per_year)


@dataclass(frozen=True)
class Margin:
    """The target margin and how it is applied to a cost to give a price."""

    rate: Decimal
    convention: MarginConvention

    def price(self, cost: Decimal) -> Decimal:
        return cost * (1 + self.rate) if self.convention == "markup" else cost / (1 - self.rate)

    def formula(self, cost_text: str) -> str:
        """``cost_text`` with the margin applied, written so a reader can redo it by hand."""
        if not self.rate:
            return cost_text
        if self.convention == "markup":
            return f"{cost_text} × (1 + {number(self.rate)})"
        return f"{cost_text} / (1 − {number(self.rate)})"

    def describe(self) -> str:
        if not self.rate:
            return f"no target margin ({self.convention.replace('_', '-')} convention)"
        if self.convention == "markup":
            return (f"target margin {percent(self.rate)} as a mark-up on cost: price = cost × (1 + "
                    f"{number(self.rate)})")
        return (f"target margin {percent(self.rate)} as a gross-up (margin on the price): price = cost / (1 − "
                f"{number(self.rate)})")

    def as_dict(self) -> dict:
        return {"target_margin": str(self.rate), "convention": self.convention, "explanation": self.describe()}


@dataclass(frozen=True)
class UnitCostResult:
    inputs: UnitCostInputs
    lines: list[Line]  # per unit at the expected volume; they add up to at_expected.cost_per_unit
    fixed_lines: list[Line]  # per year; they add up to fixed_per_year (in cents)
    variable_per_unit: Decimal
    fixed_per_year: Decimal
    at_expected: CostAtVolume
    at_low: CostAtVolume | None
    at_high: CostAtVolume | None
    break_even: dict[str, Line]
    margin: Margin

    @property
    def volumes(self) -> list[tuple[str, CostAtVolume]]:
        return [(k, v) for k, v in (("low", self.at_low), ("expected", self.at_expected), ("high", self.at_high))
                if v]

    def explain(self) -> str:
        u = self.inputs.unit
        v = self.at_expected
        out = [f"Fully loaded unit cost: {self.inputs.service} (per {u})",
               f"  Cost per {u} at the expected {number(v.units_per_year)} {u}s a year "
               f"(each amount rounded to cents so the lines add up):"]
        out += [f"    {ln.label}: {ln.formula} = {amount(ln.amount)}" for ln in self.lines]
        out.append(f"    = {amount(v.cost_per_unit)} per {u}")
        out.append("  Fixed costs per year:")
        out += [f"    {ln.label}: {ln.formula} = {amount(ln.amount)}" for ln in self.fixed_lines]
        out.append(f"    = {amount(cents(self.fixed_per_year))} a year")
        var, fix = number(self.variable_per_unit, 8, 2), number(self.fixed_per_year, 8, 2)
        out.append(f"  At each volume (variable {var} per {u}, fixed {fix} a year):")
        for k, x in self.volumes:
            n = number(x.units_per_year)
            out.append(f"    {k}, {n} {u}s a year: {var} × {n} + {fix} = "
                       f"{amount(x.total_cost)} a year; / {n} = {amount(x.cost_per_unit)} per {u}")
        out.append(f"  Break-even rate per payment model ({self.margin.describe()}):")
        out += [f"    {k}: {ln.label}: {ln.formula} = {amount(ln.amount)}" for k, ln in self.break_even.items()]
        return "\n".join(out)

    def as_dict(self) -> dict:
        """The result as JSON-ready data (money as strings, exact): the CLI's --json and the API."""
        def line(ln: Line) -> dict:
            return {"label": ln.label, "formula": ln.formula, "amount": str(ln.amount)}

        return {
            "service": self.inputs.service, "unit": self.inputs.unit,
            "lines": [line(ln) for ln in self.lines], "fixed_lines": [line(ln) for ln in self.fixed_lines],
            "variable_per_unit": str(self.variable_per_unit), "fixed_per_year": str(self.fixed_per_year),
            "at_volume": {k: {"units_per_year": str(x.units_per_year), "cost_per_unit": str(x.cost_per_unit),
                              "total_cost": str(x.total_cost)} for k, x in self.volumes},
            "margin": self.margin.as_dict(),
            "break_even": {k: line(ln) for k, ln in self.break_even.items()},
        }


def allocate_cents(exact: list[Decimal], total: Decimal) -> list[Decimal]:
    """Round each of ``exact`` (non-negative) to cents so that they add up to ``total`` (their exact sum
    rounded half-up): each is rounded down, and the cents left go one each to the largest remainders
    (ties: the earlier line). Every amount stays within a cent of its exact value."""
    floors = [x.quantize(CENT, rounding=ROUND_FLOOR) for x in exact]
    left = int((total - sum(floors, Decimal(0))) / CENT)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:max(left, 0)]:
        floors[i] += CENT
    return floors


def _billing_for(inputs: UnitCostInputs, mode: BillingMode) -> tuple[Decimal, Decimal, str, str]:
    """(per unit, fixed per year, per-unit formula, per-year formula) of billing under an invoice or a
    claims workflow. Claims cost one claim line per unit."""
    b = inputs.billing
    if mode == "invoice":
        return Decimal(0), b.invoice_cost_per_month * 12, "", f"{usd(b.invoice_cost_per_month)} × 12 invoices"
    return (b.claims_cost_per_line, b.claims_fixed_per_month * 12, "one claim line per unit",
            f"{usd(b.claims_fixed_per_month)} × 12 months")


def _cost_at(variable: Decimal, fixed: Decimal, units: Decimal) -> CostAtVolume:
    total = variable * units + fixed
    return CostAtVolume(units_per_year=units, cost_per_unit=cents(total / units), total_cost=cents(total))


def unit_cost(inputs: UnitCostInputs) -> UnitCostResult:
    per_unit: list[tuple[str, str, Decimal]] = []  # (label, formula, exact amount) per unit
    staff_total = Decimal(0)
    for s in inputs.staff:
        amt = s.minutes_per_unit / 60 * s.hourly_wage * (1 + s.benefits_rate)
        staff_total += amt
        per_unit.append((f"staff: {s.role}", f"{number(s.minutes_per_unit)} min / 60 × {usd(s.hourly_wage)}/h × "
                                             f"(1 + {number(s.benefits_rate)} benefits)", amt))
    direct = staff_total + inputs.materials_per_unit
    per_unit.append(("materials", "per unit", inputs.materials_per_unit))
    overhead = direct * inputs.overhead_rate
    per_unit.append(("overhead", f"direct {number(direct, 4, 2)} × {number(inputs.overhead_rate)}", overhead))
    bill_unit, bill_fixed, bill_unit_formula, bill_fixed_formula = _billing_for(inputs, inputs.billing_mode)
    if inputs.billing_mode == "claims":
        per_unit.append(("billing per claim line", f"{usd(bill_unit)}, {bill_unit_formula}", bill_unit))
    amortized = (inputs.prelaunch_costs + inputs.development_costs) / inputs.amortization_years
    committee = inputs.committee_hours_per_month * 12 * inputs.committee_hourly_cost
    fixed_parts = [
        (f"billing ({inputs.billing_mode}), fixed", bill_fixed_formula, bill_fixed),
        ("pre-launch and development, amortized",
         f"({usd(inputs.prelaunch_costs)} + {usd(inputs.development_costs)}) / {number(inputs.amortization_years)} "
         "years", amortized),
        ("paid committee time", f"{number(inputs.committee_hours_per_month)} h/month × 12 × "
                                f"{usd(inputs.committee_hourly_cost)}/h", committee),
    ]
    variable = direct + overhead + bill_unit
    fixed = bill_fixed + amortized + committee
    v = inputs.expected_units_per_year
    expected = _cost_at(variable, fixed, v)
    # the fixed costs spread over the expected volume, each its own line, so the per-unit lines list
    # every component of the total per unit, all on the same basis
    per_unit += [(f"{label} per unit", f"{formula} / {number(v)} units", amt / v)
                 for label, formula, amt in fixed_parts]
    shown = allocate_cents([x for *_, x in per_unit], expected.cost_per_unit)
    lines = [Line(label, formula, a) for (label, formula, _), a in zip(per_unit, shown, strict=True)]
    fixed_shown = allocate_cents([x for *_, x in fixed_parts], cents(fixed))
    fixed_lines = [Line(label, formula, a) for (label, formula, _), a in zip(fixed_parts, fixed_shown, strict=True)]
    low = _cost_at(variable, fixed, inputs.low_units_per_year) if inputs.low_units_per_year else None
    high = _cost_at(variable, fixed, inputs.high_units_per_year) if inputs.high_units_per_year else None
    return UnitCostResult(
        inputs=inputs,
        lines=lines,
        fixed_lines=fixed_lines,
        variable_per_unit=variable,
        fixed_per_year=fixed,
        at_expected=expected,
        at_low=low,
        at_high=high,
        break_even=break_even_rates(inputs, direct + overhead, amortized + committee),
        margin=Margin(inputs.target_margin, inputs.margin_convention),
    )


def break_even_rates(inputs: UnitCostInputs, base_variable: Decimal, base_fixed: Decimal) -> dict[str, Line]:
    """The rate each payment model needs for revenue to cover the fully loaded cost (plus the target
    margin, by its convention) at the expected volume. ``base_*`` exclude billing: fixed price and
    capitation are invoiced; FFS, bundled, P4P and outcome-based payments use the CBO's billing mode.
    Each formula is written with the figures it uses, so it can be redone by hand."""
    v = inputs.expected_units_per_year
    m = Margin(inputs.target_margin, inputs.margin_convention)
    inv_unit, inv_fixed, *_ = _billing_for(inputs, "invoice")
    bill_unit, bill_fixed, *_ = _billing_for(inputs, inputs.billing_mode)
    total_invoiced = (base_variable + inv_unit) * v + base_fixed + inv_fixed
    total_billed = (base_variable + bill_unit) * v + base_fixed + bill_fixed
    inv, billed, units = f"annual cost {usd(total_invoiced)}", f"annual cost {usd(total_billed)}", f"{number(v)} units"
    out: dict[str, Line] = {}
    out["fixed_price"] = Line("fixed price per year", m.formula(inv), cents(m.price(total_invoiced)))
    out["fee_for_service"] = Line("fee per unit", m.formula(f"{billed} / {units}"), cents(m.price(total_billed / v)))
    episodes = v / inputs.units_per_episode
    out["bundled"] = Line(
        "case rate per episode",
        m.formula(f"{billed} / ({units} / {number(inputs.units_per_episode)} units per episode = "
                  f"{number(episodes, 2)} episodes)"),
        cents(m.price(total_billed / episodes)),
    )
    if inputs.attributed_members:
        mm = inputs.attributed_members * 12
        out["capitation"] = Line(
            "PMPM", m.formula(f"{inv} / ({number(inputs.attributed_members)} members × 12 months)"),
            cents(m.price(total_invoiced / mm)))
    out["pay_for_performance"] = Line(
        "base fee per unit with expected bonuses",
        m.formula(f"{billed} / {units}") + f" × (1 − {number(inputs.expected_bonus_share)} expected bonus share)",
        cents(m.price(total_billed / v) * (1 - inputs.expected_bonus_share)),
    )
    if inputs.expected_obus_per_year:
        out["outcome_based"] = Line(
            "rate per outcome-based unit",
            m.formula(f"{billed} / {number(inputs.expected_obus_per_year)} outcome-based units"),
            cents(m.price(total_billed / inputs.expected_obus_per_year)),
        )
    return out


def parse_inputs(data: dict) -> UnitCostInputs:
    return UnitCostInputs.model_validate(data)


__all__ = ["UnitCostInputs", "UnitCostResult", "StaffTime", "BillingCosts", "Margin", "allocate_cents", "unit_cost",
           "parse_inputs", "to_decimal"]
