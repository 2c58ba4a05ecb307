"""What the page, the API and the CLI share: run a comparison, draw its charts, and the CBO-scoping
rule for unit costs.

The scoping rule: a CBO user computes the fully loaded cost of their OWN organization's services
only (a CBO's costs are its own business; seed 002 asks the CBO to know its "fully loaded" cost,
not its neighbours'). They pick from their organization's directory services; any other service is
refused (403, audited). Plan and hub users may cost any active service (they price contracts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.errors import Forbidden, NotFound
from socialcare.directory.models import Organization, Service
from socialcare.modeling.advisor import Advice, advise
from socialcare.modeling.cost import UnitCostInputs, UnitCostResult, unit_cost
from socialcare.modeling.schemas import MODEL_LABELS, ModelingInputs
from socialcare.modeling.simulate import SimulationResult, simulate
from socialcare.modeling.summary import SummaryRow, summary_table
from socialcare.modeling.win3 import Verdict, win3
from socialcare.security import audit
from socialcare.security.principal import Principal

MAX_SCENARIOS = 200_000


@dataclass
class Comparison:
    inputs: ModelingInputs
    sim: SimulationResult
    summary: list[SummaryRow]
    verdicts: list[Verdict]
    advice: Advice

    def as_dict(self) -> dict:
        from socialcare.modeling.summary import as_dicts

        return {"simulation": self.sim.as_dict(), "summary": as_dicts(self.summary),
                "win3": {"model": self.inputs.contract.proposed_model if self.inputs.contract.proposed_model
                         in self.sim.models else None,
                         "verdicts": [v.__dict__ for v in self.verdicts]},
                "advice": self.advice.as_dict()}


def compare(inputs: ModelingInputs, scenarios: int = 10_000, seed: int = 0) -> Comparison:
    scenarios = max(1, min(int(scenarios), MAX_SCENARIOS))
    sim = simulate(inputs, scenarios, seed)
    proposed = inputs.contract.proposed_model
    verdicts = win3(inputs, sim, proposed) if proposed in sim.models else []
    return Comparison(inputs, sim, summary_table(inputs, sim), verdicts, advise(inputs.situation, sim))


# ---- charts (Altair, rendered to SVG on the server) ------------------------------------------------


def margin_chart(sim: SimulationResult, width: int = 560) -> str:
    """The CBO's margin per model: a box of the 5th-95th percentiles over the simulated scenarios."""
    import altair as alt
    import vl_convert as vlc

    # percentiles of ALL scenarios (not a sample): whiskers 5th-95th, box 25th-75th, tick the median
    df = pd.DataFrame([{"model": MODEL_LABELS[m], "p5": r.margin_p5, "p25": r.margin_p25, "median": r.margin_median,
                        "p75": r.margin_p75, "p95": r.margin_p95} for m, r in sim.models.items()])
    order = [MODEL_LABELS[m] for m in sim.models]
    y = alt.Y("model:N", title=None, sort=order, axis=alt.Axis(labelLimit=280))
    base = alt.Chart(df)
    whisker = base.mark_rule().encode(y=y, x=alt.X("p5:Q", title="CBO margin for the year ($), 5th-95th percentile",
                                                    axis=alt.Axis(format="$,.0f")), x2="p95:Q")
    box = base.mark_bar(size=16).encode(y=y, x="p25:Q", x2="p75:Q", color=alt.Color("model:N", legend=None),
                                        tooltip=[alt.Tooltip(c, format="$,.0f") for c in ("p5", "p25", "median",
                                                                                          "p75", "p95")])
    tick = base.mark_tick(color="black", thickness=2, size=18).encode(y=y, x="median:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#b00020", strokeDash=[4, 3]).encode(x="x:Q")
    box = whisker + box + tick
    chart = (box + zero).properties(width=width, height=40 * len(sim.models),
                                    title="Distribution of the CBO's margin per payment model")
    return vlc.vegalite_to_svg(chart.to_json())


def margin_histogram(sim: SimulationResult, width: int = 170) -> str:
    """Small multiples: a histogram of the margin per model (the shape a box hides)."""
    import altair as alt
    import vl_convert as vlc

    rows = []
    for m, r in sim.models.items():
        counts, edges = np.histogram(r.margin_sample, bins=30)
        rows += [{"model": MODEL_LABELS[m], "from": float(a), "to": float(b), "share": float(c) / max(len(
            r.margin_sample), 1)} for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]
    chart = alt.Chart(pd.DataFrame(rows)).mark_rect().encode(
        x=alt.X("from:Q", title="margin ($)", axis=alt.Axis(format="$,.0s")), x2="to:Q",
        y=alt.Y("share:Q", title="share of scenarios", axis=alt.Axis(format=".0%")),
        color=alt.condition("datum.to <= 0", alt.value("#b00020"), alt.value("#2e7d32")),
    ).properties(width=width, height=110).facet(facet=alt.Facet("model:N", title=None), columns=3).properties(
        title="Margin distribution per model (red: a loss)")
    return vlc.vegalite_to_svg(chart.to_json())


# ---- unit cost, scoped ----------------------------------------------------------------------------


def own_only(principal: Principal) -> bool:
    """CBO staff (also a hub's own CBO staff) cost their organization's services only."""
    return principal.is_cbo or principal.role == "cbo_staff"


def services_for_cost(session: Session, principal: Principal) -> list[Service]:
    """The services the principal may cost: a CBO user's own organization's, others' any active one."""
    q = select(Service).join(Organization, Organization.id == Service.organization_id).where(
        Service.status == "active").order_by(Organization.name, Service.name)
    if own_only(principal):
        q = q.where(Service.organization_id == principal.org_id)
    return list(session.scalars(q.limit(500)))


def cost_for_service(session: Session, principal: Principal, service_id: int | None,
                     inputs: UnitCostInputs) -> tuple[Service | None, UnitCostResult]:
    principal.require("modeling:use")
    svc = None
    if service_id is not None:
        svc = session.get(Service, service_id)
        if svc is None:
            raise NotFound(f"no service {service_id}")
    if own_only(principal) and (svc is None or svc.organization_id != principal.org_id):
        audit.record_denied(session, principal, "modeling.cost", object_type="service", object_id=service_id,
                            reason="a CBO user may cost only their own organization's services")
        raise Forbidden("A CBO user may compute the cost of their own organization's services only")
    if svc is not None:
        inputs = inputs.model_copy(update={"service": svc.name, "unit": svc.unit or inputs.unit})
    result = unit_cost(inputs)
    audit.record(session, principal, "modeling.cost", object_type="service", object_id=service_id)
    return svc, result
