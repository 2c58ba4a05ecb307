"""Financial risk simulation: seeded, vectorized Monte Carlo of a contract year under each payment model.

One scenario is one contract year. Per scenario the uncertain drivers (socialcare.modeling.schemas.
Drivers) are drawn once (triangular: partners can say "between 40 and 90, most likely 60"), then:

    referrals in month m   ~ Poisson(referrals per month)
    members served in m    ~ Binomial(referrals in m, engagement rate)
    units in m             = round(members served in m × units per member)
    completions            ~ Binomial(members served in the year, completion rate)

Revenue under each model is computed in integer cents, exactly as the settlement engine
(socialcare.payments.rules.settle) would pay the same terms on the same facts, period = the year:

    fixed_price            total (installments), whatever the volume
    fee_for_service        rate × clip(units, min_units, max_units)   (caps and guarantees are annual)
    bundled                episode rate × members served (one initial episode each)
    capitation             PMPM × attributed members × months
    pay_for_performance    base rate × units, + bonus if completions / members ≥ target, else − penalty
    hybrid_ffs_capitation  Σ_months max(capitation a month, rate × units in the month)

``terms_yaml``/``settle_scenario`` write the same terms as a payments terms file and settle one
scenario with the real engine; tests/modeling/test_simulate.py checks they agree to the cent.

The CBO's cost = fixed costs + billing cost + units × cost per unit (a drawn driver); the plan's cost
is what it pays; the plan's savings = members × TCOC PMPM × 12 × (1 + trend) × reduction.
Statistics are floats (they describe a distribution; no money is paid from them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

from socialcare.modeling.schemas import MODEL_LABELS, ModelingInputs, Triangular

SERVICE_CODE = "SVC01"
YEAR = 2026


@dataclass
class Scenarios:
    n: int
    months: int
    units_m: np.ndarray  # (n, months) int64
    members_m: np.ndarray  # (n, months) int64
    completions: np.ndarray  # (n,) int64
    completion_rate: np.ndarray  # (n,) drawn probability
    units_per_member: np.ndarray
    cost_per_unit: np.ndarray
    tcoc_pmpm: np.ndarray
    tcoc_trend: np.ndarray
    tcoc_reduction: np.ndarray

    @property
    def members(self) -> np.ndarray:
        return self.members_m.sum(axis=1)

    @property
    def units(self) -> np.ndarray:
        return self.units_m.sum(axis=1)


def _tri(rng: np.random.Generator, t: Triangular, n: int) -> np.ndarray:
    lo, mo, hi = float(t.low), float(t.mode), float(t.high)
    if hi == lo:  # numpy refuses a degenerate triangle; a known value is a constant
        return np.full(n, lo)
    return rng.triangular(lo, mo, hi, n)


def draw(inputs: ModelingInputs, n: int, seed: int = 0) -> Scenarios:
    """n scenarios from ``np.random.default_rng(seed)``: the same seed gives the same scenarios."""
    if n < 1:
        raise ValueError("at least one scenario")
    rng = np.random.default_rng(seed)
    d, months = inputs.drivers, inputs.months
    lam = _tri(rng, d.referrals_per_month, n)
    engagement = _tri(rng, d.engagement_rate, n)
    completion = _tri(rng, d.completion_rate, n)
    upm = _tri(rng, d.units_per_member, n)
    cpu = _tri(rng, d.cost_per_unit, n)
    tcoc, trend, reduction = (_tri(rng, d.tcoc_pmpm, n), _tri(rng, d.tcoc_trend, n), _tri(rng, d.tcoc_reduction, n))
    referrals_m = rng.poisson(lam[:, None], (n, months))
    members_m = rng.binomial(referrals_m, engagement[:, None])
    units_m = np.rint(members_m * upm[:, None]).astype(np.int64)
    completions = rng.binomial(members_m.sum(axis=1), completion)
    return Scenarios(n, months, units_m, members_m.astype(np.int64), completions.astype(np.int64), completion, upm,
                     cpu, tcoc, trend, reduction)


def _c(v: Decimal | None) -> int:
    return int((v or Decimal(0)) * 100)


# ---- revenue (integer cents), the vectorized settlement ----------------------------------------------


def revenue_cents(inputs: ModelingInputs, model: str, units_m: np.ndarray, members: np.ndarray,
                  completions: np.ndarray) -> np.ndarray:
    t, months = inputs.terms, inputs.months
    n = units_m.shape[0]
    units = units_m.sum(axis=1)
    if model == "fixed_price":
        return np.full(n, _c(t.fixed_price_total), dtype=np.int64)
    if model == "fee_for_service":
        paid = np.clip(units, t.ffs_min_units or 0, t.ffs_max_units if t.ffs_max_units is not None else None)
        return paid * _c(t.ffs_rate)
    if model == "bundled":
        return members * _c(t.episode_rate)
    if model == "capitation":
        return np.full(n, _c(t.pmpm) * t.attributed_members * months, dtype=np.int64)
    if model == "pay_for_performance":
        base = units * _c(t.p4p_base_rate)
        target = int(t.p4p_target_percent * 100)  # hundredths of a percent, so the test is in integers
        met = np.where(members > 0, completions * 10000 >= target * members, target == 0)
        return base + np.where(met, _c(t.p4p_bonus), -_c(t.p4p_penalty))
    if model == "hybrid_ffs_capitation":
        cap = _c(t.hybrid_capitation_per_month)
        return np.maximum(units_m * _c(t.hybrid_rate), cap).sum(axis=1)
    raise ValueError(f"unknown model {model}")


def billing_cost(inputs: ModelingInputs, model: str, units: np.ndarray) -> np.ndarray:
    """Billing cost a year: fixed price and capitation are invoiced monthly; per-unit models bill the CBO's
    way (claims cost a fixed amount plus a line per unit; see socialcare.modeling.cost)."""
    if inputs.billing_cost_per_year is not None:
        return np.full(units.shape, float(inputs.billing_cost_per_year))
    b = inputs.cost.billing if inputs.cost else None
    from socialcare.modeling.cost import BillingCosts

    b = b or BillingCosts()
    mode = "invoice" if model in ("fixed_price", "capitation") else inputs.billing_mode
    if mode == "invoice":
        return np.full(units.shape, float(b.invoice_cost_per_month) * inputs.months)
    return float(b.claims_fixed_per_month) * inputs.months + float(b.claims_cost_per_line) * units


def cbo_cost(inputs: ModelingInputs, model: str, sc: Scenarios, units: np.ndarray | None = None) -> np.ndarray:
    units = sc.units if units is None else units
    return float(inputs.fixed_costs_per_year) + billing_cost(inputs, model, units) + units * sc.cost_per_unit


# ---- results ---------------------------------------------------------------------------------------


@dataclass
class ModelResult:
    model: str
    label: str
    margin_p5: float
    margin_median: float
    margin_p95: float
    margin_mean: float
    p_loss: float
    p_target_margin: float
    plan_cost_p5: float
    plan_cost_median: float
    plan_cost_p95: float
    plan_cost_cv: float
    revenue_mean: float
    cost_mean: float
    billing_cost_mean: float
    marginal_revenue_member: float
    marginal_cost_member: float
    efficiency_kept: float  # share of the cost of one avoided unit the CBO keeps
    quality_gain: float  # revenue change when 10 % more served members complete, share of revenue
    roi_median: float
    cost_per_outcome_median: float | None
    margin_p25: float
    margin_p75: float
    margin_sample: np.ndarray = field(repr=False)

    def as_dict(self) -> dict:
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()
               if k != "margin_sample"}
        return out


@dataclass
class SimulationResult:
    scenarios: int
    seed: int
    seconds: float
    models: dict[str, ModelResult]
    members_median: float
    units_median: float

    def as_dict(self) -> dict:
        return {"scenarios": self.scenarios, "seed": self.seed, "seconds": round(self.seconds, 3),
                "members_median": self.members_median, "units_median": self.units_median,
                "models": {k: v.as_dict() for k, v in self.models.items()}}


def _pct(a: np.ndarray, q) -> np.ndarray:
    return np.percentile(a, q)


def simulate(inputs: ModelingInputs, n: int = 10_000, seed: int = 0, models: list[str] | None = None,
             sample: int = 2000) -> SimulationResult:
    """Simulate ``n`` scenarios once and settle them under every model (common random numbers: the
    models are compared on the same scenarios)."""
    start = time.perf_counter()
    sc = draw(inputs, n, seed)
    members, units = sc.members, sc.units
    target = float(inputs.contract.target_margin)
    # the target margin by its convention: a share of revenue (gross_up) or of cost (markup)
    markup = inputs.contract.margin_convention == "markup"
    savings = members * sc.tcoc_pmpm * 12 * (1 + sc.tcoc_trend) * sc.tcoc_reduction
    # the marginal member, on the same scenarios: one more member served in the last month
    extra_units = np.rint(sc.units_per_member).astype(np.int64)
    units_plus = sc.units_m.copy()
    units_plus[:, -1] += extra_units
    # one unit fewer (efficiency): taken from the busiest month
    units_minus = sc.units_m.copy()
    busiest = units_minus.argmax(axis=1)
    rows = np.arange(n)
    units_minus[rows, busiest] = np.maximum(units_minus[rows, busiest] - 1, 0)
    fewer = units - units_minus.sum(axis=1)
    better = np.minimum(members, sc.completions + np.rint(0.10 * members).astype(np.int64))
    idx = np.linspace(0, n - 1, min(sample, n)).astype(int)
    out: dict[str, ModelResult] = {}
    for m in models or inputs.terms.models():
        rev_c = revenue_cents(inputs, m, sc.units_m, members, sc.completions)
        rev = rev_c / 100
        cost = cbo_cost(inputs, m, sc)
        margin = rev - cost
        p5, p25, p50, p75, p95 = _pct(margin, [5, 25, 50, 75, 95])
        c5, c50, c95 = _pct(rev, [5, 50, 95])
        mean_rev = float(rev.mean())
        cv = float(rev.std() / mean_rev) if mean_rev else 0.0
        r_done = revenue_cents(inputs, m, units_plus, members + 1, sc.completions + 1) / 100
        r_not = revenue_cents(inputs, m, units_plus, members + 1, sc.completions) / 100
        marginal_rev = sc.completion_rate * r_done + (1 - sc.completion_rate) * r_not - rev
        marginal_cost = cbo_cost(inputs, m, sc, units + extra_units) - cost
        rev_fewer = revenue_cents(inputs, m, units_minus, members, sc.completions) / 100
        saved = cost - cbo_cost(inputs, m, sc, units - fewer)
        kept = float((saved - (rev - rev_fewer)).mean() / saved.mean()) if saved.mean() else 0.0
        rev_better = revenue_cents(inputs, m, sc.units_m, members, better) / 100
        quality = float((rev_better - rev).mean() / mean_rev) if mean_rev else 0.0
        roi = np.where(rev > 0, (savings - rev) / np.where(rev > 0, rev, 1), 0.0)
        per_outcome = rev / np.maximum(sc.completions, 1)
        out[m] = ModelResult(
            m, MODEL_LABELS[m], float(p5), float(p50), float(p95), float(margin.mean()), float((margin < 0).mean()),
            float((margin >= target * (cost if markup else rev)).mean()), float(c5), float(c50), float(c95), cv, mean_rev,
            float(cost.mean()), float(billing_cost(inputs, m, units).mean()), float(marginal_rev.mean()),
            float(marginal_cost.mean()), kept, quality, float(np.median(roi)),
            float(np.median(per_outcome)) if sc.completions.any() else None, float(p25), float(p75), margin[idx])
    return SimulationResult(n, seed, time.perf_counter() - start, out, float(np.median(members)),
                            float(np.median(units)))


# ---- the same terms as a payments terms file, settled by the engine ---------------------------------


def terms_yaml(inputs: ModelingInputs, model: str) -> str:
    """The candidate terms of one model as a payments terms file (docs/payments.md)."""
    t, months = inputs.terms, inputs.months
    head = f"version: 1\ncontract: {inputs.name or 'candidate terms'} ({model})\nterms:\n"
    fee = "    fee_schedule:\n      - {{service_code: {code}, rate: \"{rate}\"{extra}}}\n"
    if model == "fixed_price":
        first = inputs.contract.fixed_price_first_payment_month if inputs.contract.fixed_price_first_payment_month \
            <= months else 1
        k = months - first + 1
        total = _c(t.fixed_price_total)
        each = total // k
        amounts = [each] * (k - 1) + [total - each * (k - 1)]
        inst = "".join(f"      - {{due: {date(YEAR, first + i, 1)}, amount: \"{a / 100:.2f}\"}}\n"
                       for i, a in enumerate(amounts))
        return head + (f"  - id: fixed\n    model: fixed_price\n    total: \"{t.fixed_price_total}\"\n"
                       f"    covered_services: [{SERVICE_CODE}]\n    installments:\n{inst}")
    if model == "fee_for_service":
        extra = "".join(f", {k}: {v}" for k, v in (("min_units", t.ffs_min_units), ("max_units", t.ffs_max_units))
                        if v is not None)
        if extra:  # the model's guarantee and cap are for the whole horizon, settled here as one period
            extra += ", limits_per: settlement_period"
        return head + "  - id: ffs\n    model: fee_for_service\n" + fee.format(code=SERVICE_CODE, rate=t.ffs_rate,
                                                                                 extra=extra)
    if model == "bundled":
        return head + (f"  - id: bundle\n    model: bundled\n    billing_code: {SERVICE_CODE}\n"
                       f"    episode_rate: \"{t.episode_rate}\"\n    episode_days: 365\n")
    if model == "capitation":
        return head + (f"  - id: cap\n    model: capitation\n    pmpm: \"{t.pmpm}\"\n"
                       f"    covered_services: [{SERVICE_CODE}]\n")
    if model == "pay_for_performance":
        bonus = f", bonus: \"{t.p4p_bonus}\"" if t.p4p_bonus else ""
        penalty = f", penalty: \"{t.p4p_penalty}\"" if t.p4p_penalty else ""
        return head + "  - id: base\n    model: fee_for_service\n" + fee.format(
            code=SERVICE_CODE, rate=t.p4p_base_rate, extra="") + (
            "  - id: p4p\n    model: pay_for_performance\n    relation: in_addition\n    base_terms: [base]\n"
            f"    metrics:\n      - {{metric: completion_rate, target: \"{t.p4p_target_percent}\"{bonus}{penalty}}}\n")
    if model == "hybrid_ffs_capitation":
        return head + ("  - id: hybrid\n    model: hybrid_ffs_capitation\n"
                       f"    capitation: {{amount_per_month: \"{t.hybrid_capitation_per_month}\"}}\n") + fee.format(
            code=SERVICE_CODE, rate=t.hybrid_rate, extra="")
    raise ValueError(model)


def settle_scenario(inputs: ModelingInputs, model: str, sc: Scenarios, i: int) -> Decimal:
    """Settle scenario ``i`` under ``model`` with the real engine; returns the statement's total paid."""
    from socialcare.payments.loader import build_facts
    from socialcare.payments.rules import Period, settle
    from socialcare.payments.schemas import parse_terms

    terms = parse_terms(terms_yaml(inputs, model), f"{model}.yaml")
    months = inputs.months
    rows = [f"M{m + 1},{SERVICE_CODE},{date(YEAR, m + 1, 1)},{int(u)}" for m, u in enumerate(sc.units_m[i]) if u > 0]
    csv = ("member_id,service_code,service_date,units\n" + "\n".join(rows) + "\n").encode()
    members, completions = int(sc.members[i]), int(sc.completions[i])
    facts_yaml = ""
    if model == "capitation":
        facts_yaml = f"member_months:\n  cap: {inputs.terms.attributed_members * months}\n"
    elif model == "bundled":
        facts_yaml = "episodes:\n" + "".join(
            f"  - {{episode_id: E{k}, member_id: P{k}, term: bundle, start: {YEAR}-01-01}}\n" for k in range(members))
        if not members:
            facts_yaml = "episodes: []\n"
    elif model == "pay_for_performance":
        value = Decimal(completions * 100) / Decimal(members) if members else Decimal(0)
        facts_yaml = f"metrics:\n  completion_rate: \"{value}\"\n"
    period = Period(date(YEAR, 1, 1), date(YEAR, months, 28 if months == 2 else 30 if months in (4, 6, 9, 11) else 31))
    facts = build_facts([("facts.yaml", facts_yaml)] if facts_yaml else [], [("services.csv", csv)] if rows else [])
    return settle(terms, facts, period).total
