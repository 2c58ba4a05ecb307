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

Volumes are units per year. Every figure is a Decimal; published per-unit figures are rounded to
cents half-up at the end (the unrounded values feed the break-even rates).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from socialcare.core.money import cents, to_decimal

BillingMode = Literal["invoice", "claims"]
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
    target_margin: Decimal = Field(default=Decimal("0"), ge=0, le=1, description="margin the rate should leave")


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


@dataclass(frozen=True)
class UnitCostResult:
    inputs: UnitCostInputs
    lines: list[Line]
    variable_per_unit: Decimal
    fixed_per_year: Decimal
    at_expected: CostAtVolume
    at_low: CostAtVolume | None
    at_high: CostAtVolume | None
    break_even: dict[str, Line]

    def explain(self) -> str:
        out = [f"Fully loaded unit cost: {self.inputs.service} (per {self.inputs.unit})"]
        out += [f"  {ln.label}: {ln.formula} = {ln.amount}" for ln in self.lines]
        for v in (self.at_low, self.at_expected, self.at_high):
            if v:
                out.append(f"  at {v.units_per_year} units/year: {v.cost_per_unit} per unit, {v.total_cost} a year")
        out += [f"  break-even {k}: {ln.formula} = {ln.amount}" for k, ln in self.break_even.items()]
        return "\n".join(out)


def _billing_for(inputs: UnitCostInputs, mode: BillingMode) -> tuple[Decimal, Decimal, str]:
    """(per unit, fixed per year, formula) of billing under an invoice or a claims workflow."""
    b = inputs.billing
    if mode == "invoice":
        return Decimal(0), b.invoice_cost_per_month * 12, f"{b.invoice_cost_per_month} × 12 invoices"
    return (
        b.claims_cost_per_line,
        b.claims_fixed_per_month * 12,
        f"{b.claims_cost_per_line} per claim line + {b.claims_fixed_per_month} × 12",
    )


def _cost_at(variable: Decimal, fixed: Decimal, units: Decimal) -> CostAtVolume:
    total = variable * units + fixed
    return CostAtVolume(units_per_year=units, cost_per_unit=cents(total / units), total_cost=cents(total))


def unit_cost(inputs: UnitCostInputs) -> UnitCostResult:
    lines: list[Line] = []
    staff_total = Decimal(0)
    for s in inputs.staff:
        amt = s.minutes_per_unit / 60 * s.hourly_wage * (1 + s.benefits_rate)
        staff_total += amt
        lines.append(
            Line(
                f"staff: {s.role}",
                f"{s.minutes_per_unit} min / 60 × ${s.hourly_wage}/h × (1 + {s.benefits_rate} benefits)",
                cents(amt),
            )
        )
    direct = staff_total + inputs.materials_per_unit
    lines.append(Line("materials", "per unit", cents(inputs.materials_per_unit)))
    overhead = direct * inputs.overhead_rate
    lines.append(Line("overhead", f"direct {cents(direct)} × {inputs.overhead_rate}", cents(overhead)))
    bill_unit, bill_fixed, bill_formula = _billing_for(inputs, inputs.billing_mode)
    lines.append(Line(f"billing ({inputs.billing_mode})", bill_formula, cents(bill_unit + bill_fixed)))
    amortized = (inputs.prelaunch_costs + inputs.development_costs) / inputs.amortization_years
    lines.append(
        Line(
            "pre-launch and development, amortized",
            f"({inputs.prelaunch_costs} + {inputs.development_costs}) / {inputs.amortization_years} years",
            cents(amortized),
        )
    )
    committee = inputs.committee_hours_per_month * 12 * inputs.committee_hourly_cost
    lines.append(
        Line(
            "paid committee time",
            f"{inputs.committee_hours_per_month} h/month × 12 × ${inputs.committee_hourly_cost}/h",
            cents(committee),
        )
    )
    variable = direct + overhead + bill_unit
    fixed = bill_fixed + amortized + committee
    expected = _cost_at(variable, fixed, inputs.expected_units_per_year)
    low = _cost_at(variable, fixed, inputs.low_units_per_year) if inputs.low_units_per_year else None
    high = _cost_at(variable, fixed, inputs.high_units_per_year) if inputs.high_units_per_year else None
    return UnitCostResult(
        inputs=inputs,
        lines=lines,
        variable_per_unit=variable,
        fixed_per_year=fixed,
        at_expected=expected,
        at_low=low,
        at_high=high,
        break_even=break_even_rates(inputs, direct + overhead, amortized + committee),
    )


def break_even_rates(inputs: UnitCostInputs, base_variable: Decimal, base_fixed: Decimal) -> dict[str, Line]:
    """The rate each payment model needs for revenue to cover the fully loaded cost (plus the target
    margin) at the expected volume. ``base_*`` exclude billing: fixed price and capitation are
    invoiced; FFS, bundled, P4P and outcome-based payments use the CBO's billing mode."""
    v = inputs.expected_units_per_year
    gross = 1 / (1 - inputs.target_margin)  # revenue needed per $ of cost
    inv_unit, inv_fixed, _ = _billing_for(inputs, "invoice")
    bill_unit, bill_fixed, _ = _billing_for(inputs, inputs.billing_mode)
    total_invoiced = (base_variable + inv_unit) * v + base_fixed + inv_fixed
    total_billed = (base_variable + bill_unit) * v + base_fixed + bill_fixed
    out: dict[str, Line] = {}
    out["fixed_price"] = Line(
        "fixed price per year", f"annual cost {cents(total_invoiced)} × {cents(gross)}", cents(total_invoiced * gross)
    )
    out["fee_for_service"] = Line(
        "fee per unit", f"({cents(total_billed)} / {v} units) × {cents(gross)}", cents(total_billed / v * gross)
    )
    episodes = v / inputs.units_per_episode
    out["bundled"] = Line(
        "case rate per episode",
        f"({cents(total_billed)} / {episodes.normalize()} episodes) × {cents(gross)}",
        cents(total_billed / episodes * gross),
    )
    if inputs.attributed_members:
        mm = inputs.attributed_members * 12
        out["capitation"] = Line(
            "PMPM", f"({cents(total_invoiced)} / {mm} member-months) × {cents(gross)}", cents(total_invoiced / mm * gross)
        )
    base_needed = total_billed * gross * (1 - inputs.expected_bonus_share) / v
    out["pay_for_performance"] = Line(
        "base fee per unit with expected bonuses",
        f"{cents(total_billed)} × {cents(gross)} × (1 − {inputs.expected_bonus_share} expected bonus share) / {v}",
        cents(base_needed),
    )
    if inputs.expected_obus_per_year:
        out["outcome_based"] = Line(
            "rate per outcome-based unit",
            f"({cents(total_billed)} / {inputs.expected_obus_per_year} OBU) × {cents(gross)}",
            cents(total_billed / inputs.expected_obus_per_year * gross),
        )
    return out


def parse_inputs(data: dict) -> UnitCostInputs:
    return UnitCostInputs.model_validate(data)


__all__ = ["UnitCostInputs", "UnitCostResult", "StaffTime", "BillingCosts", "unit_cost", "parse_inputs", "to_decimal"]
