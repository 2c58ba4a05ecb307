"""The modeling inputs as data: one YAML file (docs/modeling.md, examples/modeling/*.yaml).

A file has ``drivers`` (the uncertain quantities, each ``{low, mode, high}``: a triangular
distribution, the form partners can give without data: "between 40 and 90 referrals a month, most
likely 60"), ``terms`` (the candidate rates of each payment model: the same words as a payments
terms file, docs/payments.md), the CBO's ``fixed_costs_per_year`` and ``billing_mode``, the
``contract`` facts the win3 check needs, and optionally ``situation`` for the advisor and ``cost``
(a UnitCostInputs, socialcare.modeling.cost) for the unit cost.

Money is Decimal; YAML floats are read through ``str`` so ``8.5`` stays exactly 8.5. Rates have
cents (the vectorized path computes in integer cents, which is why it agrees with the engine).
Unknown fields are errors, so a misspelt field is caught.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialcare.core.errors import InvalidInput, Problem
from socialcare.modeling.cost import UnitCostInputs

SIM_MODELS = ("fixed_price", "fee_for_service", "bundled", "capitation", "pay_for_performance",
              "hybrid_ffs_capitation")
MODEL_LABELS = {
    "fixed_price": "Fixed price", "fee_for_service": "Fee-for-service", "bundled": "Bundled payment",
    "capitation": "Capitation", "pay_for_performance": "Pay for performance (FFS base + bonus)",
    "hybrid_ffs_capitation": "Hybrid FFS/capitation",
}


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_floats(cls, v):
        return Decimal(str(v)) if isinstance(v, float) else v


def _cents(v: Decimal, name: str) -> Decimal:
    if v != v.quantize(Decimal("0.01")):
        raise ValueError(f"{name} {v} has more than two decimals; rates and amounts are in cents")
    return v


class Triangular(_M):
    """low ≤ mode ≤ high; low == high is a known value."""

    low: Decimal
    mode: Decimal
    high: Decimal

    @model_validator(mode="after")
    def _order(self):
        if not (self.low <= self.mode <= self.high):
            raise ValueError("needs low ≤ mode ≤ high")
        return self

    @classmethod
    def fixed(cls, v) -> Triangular:
        d = Decimal(str(v))
        return cls(low=d, mode=d, high=d)

    @property
    def mean(self) -> float:
        return float(self.low + self.mode + self.high) / 3


def _rate_tri(lo, mo, hi) -> Triangular:
    return Triangular(low=Decimal(lo), mode=Decimal(mo), high=Decimal(hi))


class Drivers(_M):
    referrals_per_month: Triangular = Field(description="referrals received per month (Poisson around it)")
    engagement_rate: Triangular = Field(description="share of referrals who engage and are served (0..1)")
    completion_rate: Triangular = Field(description="share of served members who complete (the measured outcome)")
    units_per_member: Triangular = Field(description="units a served member receives")
    cost_per_unit: Triangular = Field(description="the CBO's variable cost per unit, $")
    tcoc_pmpm: Triangular = Field(default_factory=lambda: _rate_tri(0, 0, 0),
                                  description="total cost of care of a served member, $ per month")
    tcoc_trend: Triangular = Field(default_factory=lambda: _rate_tri(0, 0, 0), description="annual TCOC trend (0.05)")
    tcoc_reduction: Triangular = Field(default_factory=lambda: _rate_tri(0, 0, 0),
                                       description="share of a served member's TCOC the service avoids")

    @model_validator(mode="after")
    def _ranges(self):
        for name in ("engagement_rate", "completion_rate", "tcoc_reduction"):
            t = getattr(self, name)
            if t.low < 0 or t.high > 1:
                raise ValueError(f"{name} is a share between 0 and 1")
        for name in ("referrals_per_month", "units_per_member", "cost_per_unit", "tcoc_pmpm"):
            if getattr(self, name).low < 0:
                raise ValueError(f"{name} must not be negative")
        return self


class TermsInputs(_M):
    """Candidate rates per model (per contract year). A model left out is not simulated."""

    fixed_price_total: Decimal | None = Field(None, ge=0, description="fixed price for the year, paid monthly")
    ffs_rate: Decimal | None = Field(None, ge=0, description="fee per unit")
    ffs_min_units: int | None = Field(None, ge=0, description="minimum volume guarantee for the year")
    ffs_max_units: int | None = Field(None, ge=0, description="volume cap for the year")
    episode_rate: Decimal | None = Field(None, ge=0, description="bundled case rate per served member")
    pmpm: Decimal | None = Field(None, ge=0, description="capitation per attributed member per month")
    attributed_members: int = Field(0, ge=0, description="members attributed to the capitation")
    p4p_base_rate: Decimal | None = Field(None, ge=0, description="P4P: FFS base fee per unit")
    p4p_bonus: Decimal = Field(Decimal("0"), ge=0, description="P4P: bonus when the completion target is met")
    p4p_penalty: Decimal = Field(Decimal("0"), ge=0, description="P4P: penalty when it is missed")
    p4p_target_percent: Decimal = Field(Decimal("60"), ge=0, le=100, description="completion rate target, percent")
    hybrid_capitation_per_month: Decimal | None = Field(None, ge=0, description="hybrid: capitation a month")
    hybrid_rate: Decimal | None = Field(None, ge=0, description="hybrid: fee per unit (paid above the capitation)")

    @model_validator(mode="after")
    def _cents(self):
        for name in ("fixed_price_total", "ffs_rate", "episode_rate", "pmpm", "p4p_base_rate", "p4p_bonus",
                     "p4p_penalty", "hybrid_capitation_per_month", "hybrid_rate"):
            v = getattr(self, name)
            if v is not None:
                _cents(v, name)
        if self.p4p_target_percent != self.p4p_target_percent.quantize(Decimal("0.01")):
            raise ValueError("p4p_target_percent has at most two decimals")
        if self.ffs_min_units is not None and self.ffs_max_units is not None and self.ffs_min_units > self.ffs_max_units:
            raise ValueError("ffs_min_units is above ffs_max_units")
        if self.pmpm is not None and not self.attributed_members:
            raise ValueError("attributed_members is needed with a pmpm")
        return self

    def models(self) -> list[str]:
        have = {"fixed_price": self.fixed_price_total, "fee_for_service": self.ffs_rate,
                "bundled": self.episode_rate, "capitation": self.pmpm, "pay_for_performance": self.p4p_base_rate,
                "hybrid_ffs_capitation": self.hybrid_capitation_per_month is not None and self.hybrid_rate}
        return [m for m in SIM_MODELS if have[m] not in (None, False)]


class Contract(_M):
    """Facts of the proposed contract the win3 check reads."""

    proposed_model: str = "fee_for_service"
    outcome_measure: str = Field("", description="which member outcome is measured (empty: none)")
    measurement_frequency_months: int = Field(3, ge=1, le=24, description="how often it is measured")
    payment_lag_days: int = Field(45, ge=0, le=365, description="days from the end of a billing month to payment")
    fixed_price_first_payment_month: int = Field(1, ge=1, le=12, description="month of the first installment")
    target_margin: Decimal = Field(Decimal("0.05"), ge=0, le=10)
    margin_convention: Literal["gross_up", "markup"] = Field(
        "gross_up", description="gross_up: the margin is a share of revenue; markup: a share of cost")
    cost_per_outcome_target: Decimal | None = Field(None, ge=0, description="the plan's ceiling per completed outcome")

    @model_validator(mode="after")
    def _margin(self):
        if self.margin_convention == "gross_up" and self.target_margin >= 1:
            raise ValueError("a gross-up target_margin is a share of revenue, below 1; for a mark-up of 100 % or "
                             "more set margin_convention: markup")
        return self

    @field_validator("proposed_model")
    @classmethod
    def _known(cls, v):
        if v not in SIM_MODELS:
            raise ValueError(f"'{v}' is not one of {', '.join(SIM_MODELS)}")
        return v


class Situation(_M):
    """The partners' situation (seed 002, "Considerations": risk tolerance, evolving methodology)."""

    stage: Literal["pilot", "scale_up"] = "pilot"
    cost_data: bool = Field(False, description="the CBO knows its fully loaded unit cost")
    volume_data: bool = Field(False, description="there is history of referrals and utilization")
    claims_experience: bool = Field(False, description="the CBO has submitted claims before")
    reserves_months: Decimal = Field(Decimal("2"), ge=0, description="months of operating costs in reserve")
    volume_certainty: Literal["low", "medium", "high"] = "low"
    outcome_data: bool = Field(False, description="a quality/outcome measure can be reported reliably")


class ModelingInputs(_M):
    version: Literal[1] = 1
    name: str = ""
    months: int = Field(12, ge=1, le=12, description="months in the contract year simulated")
    fixed_costs_per_year: Decimal = Field(Decimal("0"), ge=0, description="the CBO's fixed costs for the program")
    billing_mode: Literal["invoice", "claims"] = "invoice"
    billing_cost_per_year: Decimal | None = Field(None, ge=0, description="invoicing/claims cost (default from cost)")
    drivers: Drivers
    terms: TermsInputs
    contract: Contract = Field(default_factory=Contract)
    situation: Situation = Field(default_factory=Situation)
    cost: UnitCostInputs | None = None

    @model_validator(mode="after")
    def _some(self):
        if not self.terms.models():
            raise ValueError("give the rates of at least one payment model under terms")
        return self


def parse_inputs(text: str, file: str = "modeling inputs") -> ModelingInputs:
    """Parse the YAML text; every problem names the file and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidInput(f"{file} is not valid YAML", [Problem(str(getattr(exc, "problem", exc)), file=file,
                                                                  row=mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{file} must be a mapping", [Problem("the inputs are a mapping of sections", file=file)])
    try:
        return ModelingInputs.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"The inputs in {file} were refused", [
            Problem(e["msg"].removeprefix("Value error, ") if e["type"] != "extra_forbidden" else "unknown field",
                    field=".".join(str(x) for x in e["loc"]) or None, file=file) for e in exc.errors()]) from None


def load_inputs(path: str | Path) -> ModelingInputs:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}", [Problem(exc.strerror or str(exc), file=str(p))]) from None
    return parse_inputs(text, str(p))
