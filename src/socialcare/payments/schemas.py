"""Payment terms as data: the YAML a contract's payment terms are written in (docs/payments.md).

A terms file is one contract: ``version``, who the parties are, how it bills (invoice or member
claims) and a list of ``terms``, each a payment model told apart by ``model:`` (a discriminated
union). A file with ``model:`` at the top is shorthand for one term. Money is Decimal and never a
float; amounts have cents, rates at most ``rate_decimals`` places (2 unless the terms say more).
Every model forbids unknown fields so a typo is an error that names the field.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from socialcare.core.errors import InvalidInput
from socialcare.core.money import has_at_most_cents, to_decimal
from socialcare.kit.codes import npi_valid

MLR = Literal["medical", "quality_improvement", "administrative"]
CODE_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"
ID_RE = r"^[a-z0-9][a-z0-9_-]{0,39}$"
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValueError(f"must not be a float ({value!r}); write it as text, e.g. \"8.50\"")
    try:
        d = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    if not d.is_finite():
        raise ValueError("not a finite number")
    return d


def _money(value: Any) -> Decimal:
    d = _decimal(value)
    if not has_at_most_cents(d):
        raise ValueError(f"{d} has more than two decimals; amounts are in cents")
    return d


def _nonneg(value: Any) -> Decimal:
    d = _decimal(value)
    if d < 0:
        raise ValueError("must not be negative")
    return d


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
Money = Annotated[Decimal, BeforeValidator(_money)]
PosMoney = Annotated[Decimal, BeforeValidator(_money), Field(ge=0)]
Rate = Annotated[Decimal, BeforeValidator(_nonneg)]  # places checked against rate_decimals
Percent = Annotated[Decimal, BeforeValidator(_nonneg), Field(le=100)]
Code = Annotated[str, Field(pattern=CODE_RE)]
TermId = Annotated[str, Field(pattern=ID_RE)]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _overlaps(a0: date | None, a1: date | None, b0: date | None, b1: date | None) -> bool:
    lo = max(a0 or date.min, b0 or date.min)
    hi = min(a1 or date.max, b1 or date.max)
    return lo <= hi


class _Dated(_M):
    effective_from: date | None = None
    effective_to: date | None = None

    @model_validator(mode="after")
    def _range(self):
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise TermsProblems([(("effective_to",), "effective_to is before effective_from")])
        return self

    def active_on(self, day: date) -> bool:
        return (self.effective_from is None or day >= self.effective_from) and (
            self.effective_to is None or day <= self.effective_to)


# ---- pieces ---------------------------------------------------------------------------------


class FeeLine(_Dated):
    """One row of a fee schedule: service code -> rate per unit (optionally dated)."""

    service_code: Code
    rate: Rate
    unit: str = "unit"
    description: str = ""
    modifiers: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]] = Field(default_factory=list, max_length=4)
    min_units: int | None = Field(None, ge=0, description="minimum volume guarantee per `limits_per`")
    max_units: int | None = Field(None, ge=0, description="volume cap per `limits_per`")
    limits_per: Literal["month", "quarter", "year", "settlement_period"] = Field(
        "month", description="the calendar period min_units and max_units are written for, whatever the "
        "settlement period (a quarter settled at once gets three monthly caps)")

    @model_validator(mode="after")
    def _limits(self):
        if self.min_units is not None and self.max_units is not None and self.min_units > self.max_units:
            raise TermsProblems([(("min_units",), "min_units is above max_units")])
        return self


def _check_fee_overlaps(lines: list[FeeLine]) -> None:
    problems = []
    for i, a in enumerate(lines):
        for j in range(i + 1, len(lines)):
            b = lines[j]
            if a.service_code == b.service_code and _overlaps(a.effective_from, a.effective_to,
                                                               b.effective_from, b.effective_to):
                problems.append((("fee_schedule", j, "effective_from"),
                                 f"overlapping periods: fee_schedule[{i}] also prices {a.service_code} then"))
    if problems:
        raise TermsProblems(problems)


class Installment(_M):
    due: date
    amount: PosMoney
    label: str = ""


class VolumeTarget(_M):
    """Reported, not paid on: units of some services, distinct members served, or a metric."""

    label: str
    target: Annotated[Decimal, BeforeValidator(_nonneg)]
    service_codes: list[Code] = Field(default_factory=list)
    distinct_members: bool = False
    metric: str | None = None

    @model_validator(mode="after")
    def _what(self):
        if bool(self.metric) == bool(self.service_codes):
            raise TermsProblems([(("metric",), "give either service_codes or metric")])
        return self


class MetricRule(_M):
    metric: str
    target: Dec
    direction: Literal["at_least", "at_most"] = "at_least"
    bonus: PosMoney | None = None
    bonus_percent_of_base: Percent | None = None
    penalty: PosMoney | None = None
    penalty_percent_of_base: Percent | None = None

    def met(self, value: Decimal) -> bool:
        return value >= self.target if self.direction == "at_least" else value <= self.target


class QualityMetric(_M):
    metric: str
    target: Dec
    direction: Literal["at_least", "at_most"] = "at_least"

    def met(self, value: Decimal) -> bool:
        return value >= self.target if self.direction == "at_least" else value <= self.target


class SharingBand(_M):
    """Sharing rate from min_percent (no metric met) to max_percent (all metrics_total met), linear,
    unless ``steps`` gives the rate for each number of metrics met."""

    min_percent: Percent
    max_percent: Percent
    metrics_total: int = Field(0, ge=0)
    minimum_metrics_met: int = Field(0, ge=0)
    steps: dict[int, Percent] | None = None

    @model_validator(mode="after")
    def _band(self):
        if self.max_percent < self.min_percent:
            raise TermsProblems([(("max_percent",), "max_percent is below min_percent")])
        if self.metrics_total == 0 and self.max_percent != self.min_percent and not self.steps:
            raise TermsProblems([(("metrics_total",), "metrics_total is needed when the rate moves within a band")])
        return self

    def percent(self, met: int) -> Decimal:
        if self.steps:
            eligible = [k for k in self.steps if k <= met]
            return self.steps[max(eligible)] if eligible else Decimal(0)
        if self.metrics_total == 0:
            return self.min_percent
        met = min(met, self.metrics_total)
        return self.min_percent + (self.max_percent - self.min_percent) * Decimal(met) / Decimal(self.metrics_total)


class LossSharing(_M):
    sharing_percent: Percent
    minimum_loss_rate_percent: Percent = Decimal(0)
    cap_amount: PosMoney | None = None
    cap_percent_of_projected: Percent | None = None


class HybridCapitation(_M):
    amount_per_month: PosMoney | None = None
    pmpm: Rate | None = None
    proration: Literal["whole_month", "prorated"] = Field(
        "whole_month", description="whole_month: the month's capitation is paid once, by the settlement that "
        "covers the month's first day in the term; prorated: by the days of the month each settlement covers")

    @model_validator(mode="after")
    def _one(self):
        if (self.amount_per_month is None) == (self.pmpm is None):
            raise TermsProblems([(("amount_per_month",), "give exactly one of amount_per_month or pmpm")])
        return self


class Pathway(_M):
    pathway: str
    obu: Annotated[Decimal, BeforeValidator(_nonneg)]


class Recoupment(_M):
    month: Annotated[str, Field(pattern=MONTH_RE.pattern)]
    amount: PosMoney


# ---- terms ----------------------------------------------------------------------------------


class _Term(_Dated):
    id: TermId
    name: str = ""
    notes: str = ""
    authority: Literal["", "in_lieu_of_services", "section_1115_waiver"] = Field(
        "", description="spending under an in-lieu-of-services authority or a section 1115 waiver (MLR reporting)")

    def codes(self) -> set[str]:
        """Service codes this term knows (a delivered service must be known to some term)."""
        return set()

    def refs(self) -> list[str]:
        """Other terms this one is computed from (settled first)."""
        return []

    def rates(self) -> list[tuple[tuple, Decimal]]:
        return []


class FixedPrice(_Term):
    """A total paid in scheduled installments regardless of utilization (Camden pilot)."""

    model: Literal["fixed_price"]
    mlr: MLR = "quality_improvement"
    total: PosMoney
    installments: list[Installment] = Field(min_length=1)
    volume_targets: list[VolumeTarget] = Field(default_factory=list)
    covered_services: list[Code] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sum(self):
        s = sum((i.amount for i in self.installments), Decimal(0))
        if s != self.total:
            raise TermsProblems([(("installments",), f"the installments add up to {s}, not the total {self.total}")])
        return self

    def codes(self):
        return set(self.covered_services) | {c for v in self.volume_targets for c in v.service_codes}


class FeeForService(_Term):
    """Fee schedule; optional minimum volume guarantee and cap (per settlement period, in units)."""

    model: Literal["fee_for_service"]
    mlr: MLR = "medical"
    fee_schedule: list[FeeLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _overlap(self):
        _check_fee_overlaps(self.fee_schedule)
        return self

    def codes(self):
        return {f.service_code for f in self.fee_schedule}

    def rates(self):
        return [(("fee_schedule", i, "rate"), f.rate) for i, f in enumerate(self.fee_schedule)]


class Bundled(_Term):
    """Case rate: one payment per episode; renewals paid only when approved (MARC case management)."""

    model: Literal["bundled"]
    mlr: MLR = "medical"
    billing_code: Code
    episode_rate: Rate
    episode_days: int = Field(90, ge=1)
    renewal_rate: Rate | None = None
    max_renewals: int | None = Field(None, ge=0)
    services_carved_in: list[Code] = Field(default_factory=list)
    services_carved_out: list[Code] = Field(default_factory=list)

    @model_validator(mode="after")
    def _carve(self):
        both = set(self.services_carved_in) & set(self.services_carved_out)
        if both:
            raise TermsProblems([(("services_carved_out",), f"carved both in and out: {', '.join(sorted(both))}")])
        return self

    def codes(self):
        return {self.billing_code} | set(self.services_carved_in) | set(self.services_carved_out)

    def rates(self):
        out = [(("episode_rate",), self.episode_rate)]
        if self.renewal_rate is not None:
            out.append((("renewal_rate",), self.renewal_rate))
        return out


class Capitation(_Term):
    """PMPM rate x attributed member-months (BayAging)."""

    model: Literal["capitation"]
    mlr: MLR = "medical"
    pmpm: Rate
    covered_services: list[Code] = Field(default_factory=list)

    def codes(self):
        return set(self.covered_services)

    def rates(self):
        return [(("pmpm",), self.pmpm)]


class HybridFfsCapitation(_Term):
    """WNYICC: the capitation is paid; FFS is computed monthly; only FFS above it is paid, as a supplement."""

    model: Literal["hybrid_ffs_capitation"]
    mlr: MLR = "medical"
    capitation: HybridCapitation
    fee_schedule: list[FeeLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _fees(self):
        _check_fee_overlaps(self.fee_schedule)
        for i, f in enumerate(self.fee_schedule):
            if f.min_units is not None or f.max_units is not None:
                raise TermsProblems([(("fee_schedule", i, "max_units" if f.max_units is not None else "min_units"),
                                      "min_units/max_units do not apply in a hybrid; the capitation is the floor")])
        return self

    def codes(self):
        return {f.service_code for f in self.fee_schedule}

    def rates(self):
        out = [(("fee_schedule", i, "rate"), f.rate) for i, f in enumerate(self.fee_schedule)]
        if self.capitation.pmpm is not None:
            out.append((("capitation", "pmpm"), self.capitation.pmpm))
        return out


class PayForPerformance(_Term):
    """Bonuses and penalties on metrics against targets, in addition to or net of the base payment."""

    model: Literal["pay_for_performance"]
    mlr: MLR = "quality_improvement"
    relation: Literal["in_addition", "net_of_base"] = "in_addition"
    base_terms: list[TermId] = Field(default_factory=list)
    floor_at_zero: bool = True
    metrics: list[MetricRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _base(self):
        uses_pct = any(m.bonus_percent_of_base is not None or m.penalty_percent_of_base is not None
                       for m in self.metrics)
        if (uses_pct or self.relation == "net_of_base") and not self.base_terms:
            raise TermsProblems([(("base_terms",), "base_terms is needed for percent-of-base amounts and net_of_base")])
        return self

    def refs(self):
        return list(self.base_terms)


class SharedSavings(_Term):
    """Projected minus actual TCOC, net of guaranteed payments, times a rate within a band (UHC/Camden)."""

    model: Literal["shared_savings"]
    mlr: MLR = "quality_improvement"
    guaranteed_payment: PosMoney = Decimal("0.00")
    net_of_terms: list[TermId] = Field(default_factory=list)
    sharing: SharingBand
    quality_metrics: list[QualityMetric] = Field(default_factory=list)
    minimum_savings_rate_percent: Percent = Decimal(0)
    cap_amount: PosMoney | None = None
    cap_percent_of_projected: Percent | None = None
    losses: LossSharing | None = None

    def refs(self):
        return list(self.net_of_terms)


class EscalatingPenalty(_Term):
    """Per-occurrence penalties that escalate from first_amount (BayAging: $1,000, then +5 %)."""

    model: Literal["escalating_penalty"]
    mlr: MLR = "medical"
    first_amount: PosMoney
    escalation: Literal["linear", "compound"]
    increment_percent: Percent
    share_percent: Percent = Decimal(100)
    count_by: Literal["contract", "measure"] = "contract"
    measures: list[str] = Field(default_factory=list)


class OutcomeBased(_Term):
    """Pathways Community HUB: a rate per confirmed engagement plus OBU per completed pathway x rate."""

    model: Literal["outcome_based"]
    mlr: MLR = "medical"
    engagement_rate: Rate
    obu_rate: Rate
    pathways: list[Pathway] = Field(min_length=1)
    target_engagement_percent: Percent | None = None

    @model_validator(mode="after")
    def _unique(self):
        names = [p.pathway for p in self.pathways]
        if len(set(names)) != len(names):
            raise TermsProblems([(("pathways", names.index(n, names.index(n) + 1), "pathway"), f"'{n}' is listed twice")
                                 for n in sorted({n for n in names if names.count(n) > 1})])
        return self

    def rates(self):
        return [(("engagement_rate",), self.engagement_rate), (("obu_rate",), self.obu_rate)]


class FlexFunds(_Term):
    """A per-member allowance and a program budget the CBO disburses from; requests over either are refused.
    With ``program_year_start_month`` both limits start again each program year."""

    model: Literal["flex_funds"]
    mlr: MLR = "quality_improvement"
    per_member_limit: PosMoney
    program_budget: PosMoney
    program_year_start_month: int | None = Field(None, ge=1, le=12)
    categories: list[str] = Field(default_factory=lambda: ["gift_card", "utilities", "transport_voucher", "food",
                                                             "goods"])


class PreLaunch(_Term):
    """An upfront payment (in addition, or recouped on a schedule or as a percent of each period's service
    payments, shortfalls carried until recovered or the term ends) and paid JOC time."""

    model: Literal["pre_launch"]
    mlr: MLR = "administrative"
    upfront: PosMoney = Decimal("0.00")
    upfront_due: date | None = None
    treatment: Literal["additional", "recouped"] = "additional"
    recoup_from: list[TermId] = Field(default_factory=list)
    recoupment: list[Recoupment] = Field(default_factory=list)
    recoupment_percent: Percent | None = Field(None, gt=0, description="recoup this percent of each period's "
                                               "payments under recoup_from until the upfront is recovered")
    joc_hourly_rate: Rate | None = None

    @model_validator(mode="after")
    def _recoup(self):
        if self.upfront > 0 and self.upfront_due is None:
            raise TermsProblems([(("upfront_due",), "upfront_due is needed with an upfront payment")])
        if self.recoupment_percent is not None and self.treatment != "recouped":
            raise TermsProblems([(("treatment",), "recoupment_percent needs treatment: recouped")])
        if self.treatment == "recouped":
            total = sum((r.amount for r in self.recoupment), Decimal(0))
            if self.recoupment_percent is not None:
                if self.recoupment:
                    raise TermsProblems([(("recoupment",), "give either a recoupment schedule or "
                                          "recoupment_percent, not both")])
                if not self.recoup_from:
                    raise TermsProblems([(("recoup_from",), "name the terms the upfront payment is recouped from")])
                return self
            if total != self.upfront:
                raise TermsProblems([(("recoupment",), f"the recoupment schedule adds up to {total}, not the upfront "
                                      f"{self.upfront}")])
            if not self.recoup_from:
                raise TermsProblems([(("recoup_from",), "name the terms the upfront payment is recouped from")])
            months = [r.month for r in self.recoupment]
            if len(set(months)) != len(months):
                raise TermsProblems([(("recoupment",), "a month appears twice in the recoupment schedule (overlapping "
                                      "periods)")])
        elif self.recoupment:
            raise TermsProblems([(("treatment",), "a recoupment schedule needs treatment: recouped")])
        return self

    def refs(self):
        return list(self.recoup_from)

    def rates(self):
        return [(("joc_hourly_rate",), self.joc_hourly_rate)] if self.joc_hourly_rate is not None else []


class RevenueShare(_Term):
    """A hub's subcontract with a network CBO: a percent of what the plan paid the hub under some of
    the hub's terms (a share of capitation), optionally split by the CBO's share of the network's units."""

    model: Literal["revenue_share"]
    mlr: MLR = "medical"
    percent: Percent
    of_terms: list[TermId] = Field(min_length=1, description="term ids of the hub's contract with the plan")
    split_by_units: list[Code] = Field(default_factory=list, description="split by the CBO's units of these codes "
                                       "over the whole network's")

    def codes(self):
        return set(self.split_by_units)


Term = Annotated[
    FixedPrice | FeeForService | Bundled | Capitation | HybridFfsCapitation | PayForPerformance | SharedSavings
    | EscalatingPenalty | OutcomeBased | FlexFunds | PreLaunch | RevenueShare,
    Field(discriminator="model"),
]
MODELS = ("fixed_price", "fee_for_service", "bundled", "capitation", "hybrid_ffs_capitation",
          "pay_for_performance", "shared_savings", "escalating_penalty", "outcome_based", "flex_funds", "pre_launch",
          "revenue_share")


# ---- billing --------------------------------------------------------------------------------


class Party(_M):
    name: str = Field(min_length=1, max_length=60)
    id: str = Field(min_length=2, max_length=15, pattern=r"^[A-Za-z0-9]+$")


class BillingProvider(_M):
    name: str = Field(min_length=1, max_length=60)
    npi: str
    taxonomy: str = Field(pattern=r"^[0-9]{3}[0-9A-Z]{6}X$")
    ein: str = Field(pattern=r"^\d{9}$")
    address: str = Field(min_length=1, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip: str = Field(pattern=r"^\d{9}$", description="ZIP+4 without the dash (837P wants nine digits)")
    contact_name: str = "Billing office"
    contact_phone: str | None = Field(None, pattern=r"^\d{10}$", description="the billing contact's phone; an "
                                      "837P is refused without one (never written as zeros)")

    @model_validator(mode="after")
    def _npi(self):
        if not npi_valid(self.npi):
            raise TermsProblems([(("npi",), f"{self.npi} is not a valid NPI (ten digits with a Luhn check digit)")])
        return self


class Billing(_M):
    """How the contract bills: one aggregate invoice (counts per service) or member-level claims."""

    mode: Literal["invoice", "claims"] = "invoice"
    submitter: Party | None = None
    receiver: Party | None = None
    payer: Party | None = None
    billing_provider: BillingProvider | None = None
    diagnosis: str = Field("Z5941", pattern=r"^[A-Z][0-9][0-9A-Z]{1,5}$",
                           description="default ICD-10-CM code, no dot (Z59.41 food insecurity)")
    place_of_service: str = Field("12", pattern=r"^\d{2}$")
    claim_filing: str = Field("MC", pattern=r"^[0-9A-Z]{2}$",
                              description="SBR09 claim filing indicator: MC Medicaid, 16 Medicare Advantage HMO, CI commercial")
    usage: Literal["P", "T"] = Field("T", description="ISA15: T test, P production")

    @model_validator(mode="after")
    def _claims(self):
        if self.mode == "claims":
            missing = [n for n in ("submitter", "receiver", "payer", "billing_provider") if getattr(self, n) is None]
            if missing:
                raise TermsProblems([((m,), "needed when billing by claims") for m in missing])
        return self


# ---- the contract ---------------------------------------------------------------------------


class PaymentTerms(_M):
    """A contract's payment terms: several terms combined, settled together."""

    version: Literal[1] = 1
    contract: str = ""
    plan: str = ""
    partner: str = ""
    rate_decimals: int = Field(2, ge=2, le=4, description="places a rate may have; amounts are always cents")
    contract_start: date | None = Field(None, description="facts before this day are not settled")
    contract_end: date | None = Field(None, description="facts after this day are not settled")
    billing: Billing = Field(default_factory=Billing)
    terms: list[Term] = Field(min_length=1)

    @property
    def model(self) -> str:
        """The payment model's label: the single term's model, or the models joined with '+'."""
        seen: list[str] = []
        for t in self.terms:
            if t.model not in seen:
                seen.append(t.model)
        return "+".join(seen)

    def term(self, term_id: str):
        for t in self.terms:
            if t.id == term_id:
                return t
        raise KeyError(term_id)

    def known_codes(self) -> set[str]:
        out: set[str] = set()
        for t in self.terms:
            out |= t.codes()
        return out

    @model_validator(mode="after")
    def _whole(self):
        problems: list[tuple[tuple, str]] = []
        ids = [t.id for t in self.terms]
        for i, t in enumerate(self.terms):
            if ids.count(t.id) > 1 and ids.index(t.id) != i:
                problems.append((("terms", i, "id"), f"the id '{t.id}' is used twice"))
            for j, ref in enumerate(t.refs()):
                if ref not in ids:
                    problems.append((("terms", i, _ref_field(t), j), f"no term has the id '{ref}'"))
                elif ref == t.id:
                    problems.append((("terms", i, _ref_field(t), j), "a term cannot refer to itself"))
            q = Decimal(1).scaleb(-self.rate_decimals)
            for loc, value in t.rates():
                if value != value.quantize(q):
                    problems.append((("terms", i, *loc), f"{value} has more than {self.rate_decimals} decimals "
                                     f"(the terms say rate_decimals: {self.rate_decimals})"))
        # the same service paid by two fee schedules over overlapping periods would be paid twice
        fee_terms = [(i, t) for i, t in enumerate(self.terms) if isinstance(t, FeeForService | HybridFfsCapitation)]
        for a_pos, (_i, a) in enumerate(fee_terms):
            for j, b in fee_terms[a_pos + 1:]:
                for k, fb in enumerate(b.fee_schedule):
                    for fa in a.fee_schedule:
                        if fa.service_code == fb.service_code and _overlaps(
                                _later(fa.effective_from, a.effective_from), _earlier(fa.effective_to, a.effective_to),
                                _later(fb.effective_from, b.effective_from), _earlier(fb.effective_to, b.effective_to)):
                            problems.append((("terms", j, "fee_schedule", k, "service_code"),
                                             f"{fb.service_code} is also in term '{a.id}' over an overlapping period"))
        carved = {c: t.id for t in self.terms if isinstance(t, Bundled) for c in t.services_carved_in}
        for j, b in fee_terms:
            for k, fb in enumerate(b.fee_schedule):
                if fb.service_code in carved:
                    problems.append((("terms", j, "fee_schedule", k, "service_code"),
                                     f"{fb.service_code} is carved in to the bundle '{carved[fb.service_code]}' "
                                     "and cannot also be paid fee-for-service"))
        if self.contract_start and self.contract_end and self.contract_end < self.contract_start:
            problems.append((("contract_end",), "contract_end is before contract_start"))
        if _cycle(self.terms):
            problems.append((("terms",), "terms refer to each other in a cycle"))
        if problems:
            raise TermsProblems(problems)
        return self


def _later(a: date | None, b: date | None) -> date | None:
    return max(a, b) if a and b else (a or b)


def _earlier(a: date | None, b: date | None) -> date | None:
    return min(a, b) if a and b else (a or b)


def _ref_field(t) -> str:
    return {"pay_for_performance": "base_terms", "shared_savings": "net_of_terms", "pre_launch": "recoup_from"}.get(
        t.model, "refs")


def _cycle(terms) -> bool:
    graph = {t.id: t.refs() for t in terms}
    state: dict[str, int] = {}

    def visit(n: str) -> bool:
        if state.get(n) == 1:
            return True
        if state.get(n) == 2 or n not in graph:
            return False
        state[n] = 1
        if any(visit(m) for m in graph[n]):
            return True
        state[n] = 2
        return False

    return any(visit(t.id) for t in terms)


def settlement_order(terms: PaymentTerms) -> list:
    """Terms in an order where every term comes after the terms it refers to (file order otherwise)."""
    done: list[str] = []
    by_id = {t.id: t for t in terms.terms}

    def visit(t):
        if t.id in done:
            return
        for r in t.refs():
            visit(by_id[r])
        done.append(t.id)

    for t in terms.terms:
        visit(t)
    return [by_id[i] for i in done]


class TermsProblems(ValueError):
    """Raised inside validation with exact locations; the loader turns it into Problems."""

    def __init__(self, problems: list[tuple[tuple, str]]):
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def parse_terms(text: str, file: str = "payment terms") -> PaymentTerms:
    """Parse terms YAML text (the contracts domain calls this). Raises InvalidInput naming file/line/field."""
    from socialcare.payments.loader import parse_terms_text

    return parse_terms_text(text, file)


__all__ = ["PaymentTerms", "Term", "MODELS", "parse_terms", "InvalidInput"]
