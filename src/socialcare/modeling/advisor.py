"""The advisor: models that fit the partners' situation and a path to evolve them, citing the guide.

Every rule quotes seed 002_9f9b125fbb7ccb6a.txt ("A Health Plan's Guide to Paying CBOs for Social
Care"): Considerations (risk tolerance, evolving payment methodology), the model sections and the
Conclusion. The suggestion comes with the simulated figures of the suggested models when they
are among the simulated terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socialcare.modeling.schemas import MODEL_LABELS, ModelingInputs, Situation
from socialcare.modeling.simulate import SimulationResult

SEED = "002_9f9b125fbb7ccb6a.txt"
QUOTES = {
    "pilot": ("Fixed price contracts are particularly well-suited to pilot projects or grant-funded projects. [...] "
              "Much of the time and cost of a pilot is in up-front infrastructure development [...] which is hard "
              "to recoup in a volume-based arrangement (FFS or bundled payment)."),
    "invoice": ("If a CBO doesn't have experience submitting claims, it can be helpful to allow the CBO to submit "
                "for payment via invoice rather than individualized claims by member because of the risk of denied "
                "claims and extended reimbursement cycles."),
    "risk": ("CBOs and CCHs [...] may be less able than traditional health care payers or providers to take on "
             "downside risk due to smaller organizational budgets, limited reserves, and tighter finances. Carrying "
             "risk also must be based on sufficient volume of service population in order to safely spread the "
             "risk."),
    "capitation": ("Capitation is relatively easy to administer from a payment standpoint [...] but requires data "
                   "and experience for both parties to understand the likely volume, cost and value of the "
                   "services."),
    "conclusion": ("While capitation may ultimately be the best payment model for a particular contract, the "
                   "parties may need to start with a fixed payment or bundled payment structure in order for the "
                   "parties to gain greater understanding and data before an appropriate capitation arrangement "
                   "can be developed."),
    "evolve": ("Over time as experience, financial stability and trust increases, other payment methods can be "
               "established."),
}


@dataclass
class Advice:
    suggested: list[str]
    path: list[str]
    reasons: list[tuple[str, str]]  # (reason, quote key)
    figures: dict[str, dict] = field(default_factory=dict)

    def quotes(self) -> list[tuple[str, str]]:
        return [(reason, QUOTES[key]) for reason, key in self.reasons]

    def as_dict(self) -> dict:
        return {"suggested": self.suggested, "path": self.path, "source": SEED,
                "reasons": [{"reason": r, "guide": q} for r, q in self.quotes()], "figures": self.figures}


def advise(s: Situation, sim: SimulationResult | None = None) -> Advice:
    reasons: list[tuple[str, str]] = []
    low_reserves = s.reserves_months < 3
    if s.stage == "pilot" or not (s.cost_data and s.volume_data):
        suggested = ["fixed_price"]
        reasons.append(("a pilot, or cost and volume not yet known: a fixed price funds the set-up and the staff",
                        "pilot"))
        path = ["fixed_price", "fee_for_service (invoices)", "fee_for_service (claims)", "capitation"]
    elif s.volume_certainty == "high" and s.reserves_months >= 6 and s.claims_experience:
        suggested = ["capitation", "hybrid_ffs_capitation"]
        reasons.append(("volume is well known and the CBO has reserves and claims experience: capitation gives "
                        "both sides certainty", "capitation"))
        path = ["hybrid_ffs_capitation", "capitation", "capitation + pay_for_performance"]
    elif low_reserves or s.volume_certainty == "low":
        suggested = ["fee_for_service", "hybrid_ffs_capitation"]
        reasons.append(("small reserves or uncertain volume: keep the downside risk off the CBO (a volume-based "
                        "fee, or a capitation floor with fees above it)", "risk"))
        path = ["fee_for_service (invoices)", "hybrid_ffs_capitation", "capitation"]
    else:
        suggested = ["bundled", "fee_for_service"]
        reasons.append(("cost and volume are known, risk can be shared gradually", "conclusion"))
        path = ["fee_for_service", "bundled", "capitation"]
    if not s.claims_experience:
        reasons.append(("no claims experience: bill by invoice first", "invoice"))
    if s.outcome_data and s.stage == "scale_up" and "pay_for_performance" not in suggested:
        suggested.append("pay_for_performance")
        reasons.append(("an outcome can be reported reliably: add a performance bonus once trust is built",
                        "evolve"))
    reasons.append(("evolve the model as data and trust grow", "conclusion"))
    advice = Advice(suggested, path, reasons)
    if sim is not None:
        for m in suggested:
            if m in sim.models:
                r = sim.models[m]
                advice.figures[m] = {"label": MODEL_LABELS[m], "margin_median": round(r.margin_median, 2),
                                     "margin_p5": round(r.margin_p5, 2), "p_loss": round(r.p_loss, 4),
                                     "plan_cost_median": round(r.plan_cost_median, 2),
                                     "plan_cost_cv": round(r.plan_cost_cv, 4)}
    return advice


def advise_inputs(inputs: ModelingInputs, sim: SimulationResult | None) -> Advice:
    return advise(inputs.situation, sim)
