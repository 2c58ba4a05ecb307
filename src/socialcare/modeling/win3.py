"""The win3 check of a proposed contract: a win for the member, the plan and the CBO.

Each party is green, amber or red with the reason (thresholds below, documented in docs/modeling.md):

* member: is a member outcome measured, and how often? green: named and measured at least every
  3 months; amber: measured less often (up to yearly) or only outputs; red: nothing measured.
* plan: the median ROI ((savings − payment) / payment) and the cost per completed outcome. green:
  median ROI ≥ 0 (and within the cost-per-outcome target when one is given); red: the plan loses
  more than ``PLAN_RED_ROI`` (50 %) of what it pays, unless a cost-per-outcome target is given and
  met (the plan then buys outcomes at a price it chose, not savings); amber otherwise. Without a
  target, a loss beyond the threshold is red: nothing else justifies it.
* CBO: does the payment cover the fully loaded cost with the target margin in most scenarios, and
  can the CBO carry the cash flow? green: target margin met in ≥ 80 % of scenarios, first payment
  within 2 months, ≤ 20 % of revenue at risk; red: a loss in more than half the scenarios;
  amber otherwise. Seed 002 (Considerations: risk tolerance): CBOs "may be less able ... to take on
  downside risk due to smaller organizational budgets, limited reserves, and tighter finances".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from socialcare.kit.numbers import usd
from socialcare.modeling.schemas import ModelingInputs
from socialcare.modeling.simulate import SimulationResult

PLAN_RED_ROI = -0.5  # median ROI below this (the plan loses over half of what it pays) is red


@dataclass(frozen=True)
class Verdict:
    party: str
    status: str  # green | amber | red
    reason: str
    figures: dict


def months_to_first_payment(inputs: ModelingInputs, model: str) -> float:
    """Fixed price: the first installment's month. Others bill the first month at its end and are
    paid ``payment_lag_days`` later (capitation paid in the month)."""
    c = inputs.contract
    if model == "fixed_price":
        return float(c.fixed_price_first_payment_month - 1)
    if model == "capitation":
        return 0.0
    return 1 + c.payment_lag_days / 30


def revenue_at_risk(inputs: ModelingInputs, model: str, sim: SimulationResult) -> float:
    """Share of revenue that depends on volume or performance: 1 − (guaranteed revenue / mean revenue)."""
    t, r = inputs.terms, sim.models[model]
    if r.revenue_mean <= 0:
        return 1.0
    guaranteed = {
        "fixed_price": float(t.fixed_price_total or 0), "capitation": r.revenue_mean,
        "fee_for_service": float((t.ffs_min_units or 0) * (t.ffs_rate or 0)), "bundled": 0.0,
        "pay_for_performance": 0.0,
        "hybrid_ffs_capitation": float((t.hybrid_capitation_per_month or 0) * inputs.months),
    }[model]
    return max(0.0, 1 - min(guaranteed, r.revenue_mean) / r.revenue_mean)


def win3(inputs: ModelingInputs, sim: SimulationResult, model: str | None = None) -> list[Verdict]:
    model = model or inputs.contract.proposed_model
    if model not in sim.models:
        raise KeyError(model)
    c, r = inputs.contract, sim.models[model]
    out = []
    # member
    if not c.outcome_measure:
        out.append(Verdict("member", "red", "no member outcome is measured: the contract pays for activity only",
                           {}))
    elif c.measurement_frequency_months <= 3:
        out.append(Verdict("member", "green", f"'{c.outcome_measure}' is measured every "
                           f"{c.measurement_frequency_months} month(s)", {"frequency_months":
                                                                          c.measurement_frequency_months}))
    else:
        out.append(Verdict("member", "amber", f"'{c.outcome_measure}' is measured only every "
                           f"{c.measurement_frequency_months} months: too rarely to correct course",
                           {"frequency_months": c.measurement_frequency_months}))
    # plan
    cpo = r.cost_per_outcome_median
    target = c.cost_per_outcome_target
    met = target is not None and cpo is not None and cpo <= float(target)
    cpo_text = "no outcomes completed" if cpo is None else f"${cpo:,.0f} per completed outcome"
    if c.cost_per_outcome_target is not None:
        cpo_text += f" (target {usd(c.cost_per_outcome_target)})"
    figures = {"roi_median": round(r.roi_median, 4), "cost_per_outcome_median": cpo,
               "plan_cost_median": round(r.plan_cost_median, 2)}
    if r.roi_median >= 0 and (target is None or met):
        out.append(Verdict("plan", "green", f"median ROI {r.roi_median:.0%}; {cpo_text}", figures))
    elif r.roi_median >= PLAN_RED_ROI or met:
        out.append(Verdict("plan", "amber", f"median ROI {r.roi_median:.0%}; {cpo_text}", figures))
    else:
        out.append(Verdict("plan", "red", f"median ROI {r.roi_median:.0%}: the plan loses more than "
                           f"{-PLAN_RED_ROI:.0%} of what it pays; {cpo_text}", figures))
    # CBO
    first = months_to_first_payment(inputs, model)
    at_risk = revenue_at_risk(inputs, model, sim)
    figures = {"p_target_margin": round(r.p_target_margin, 4), "p_loss": round(r.p_loss, 4),
               "months_to_first_payment": round(first, 1), "revenue_at_risk": round(at_risk, 4)}
    on = "on cost (mark-up)" if c.margin_convention == "markup" else "on revenue"
    covers = (f"the target margin of {c.target_margin:.0%} {on} is met in {r.p_target_margin:.0%} of scenarios, a loss "
              f"in {r.p_loss:.0%}")
    cash = f"first payment after {first:.1f} months; {at_risk:.0%} of revenue at risk"
    problems = []
    if first > 2:
        problems.append("cash flow: the first payment comes late")
    if at_risk > 0.2:
        problems.append("much of the revenue depends on volume or performance")
    if r.p_loss > 0.5:
        out.append(Verdict("cbo", "red", f"the payment does not cover the fully loaded cost: {covers}; {cash}",
                           figures))
    elif r.p_target_margin >= 0.8 and not problems:
        out.append(Verdict("cbo", "green", f"{covers}; {cash}", figures))
    else:
        why = "; ".join(problems + (["the margin is not reached in most scenarios"] if r.p_target_margin < 0.8
                                    else []))
        out.append(Verdict("cbo", "amber", f"{covers}; {cash} ({why})", figures))
    assert all(not (isinstance(v, float) and math.isnan(v)) for x in out for v in x.figures.values())
    return out
