"""Measures JSON API: definitions, a contract's monthly scorecard and funnel, P4P metric values, goals,
reporting submissions. Outside the plan, strata cells under 11 are suppressed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from socialcare.core.errors import InvalidInput, Problem
from socialcare.measures import rules
from socialcare.measures import service as svc
from socialcare.measures.definitions import MEASURES
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/measures", tags=["measures"])

Reader = Annotated[Principal, Depends(require_api("measures:read"))]
GoalSetter = Annotated[Principal, Depends(require_api("contracts:write"))]
MONTH = Query(None, description="month of assignment, YYYY-MM (default: the latest month with the contract's work)", pattern=r"^\d{4}-\d{2}$")


def _month(month: str | None, db=None, contract=None):
    try:
        return rules.parse_month(month) if month else svc.default_month(db, contract)
    except ValueError as exc:
        raise InvalidInput(str(exc), [Problem(str(exc), field="month")]) from None


class GoalIn(BaseModel):
    target: str = Field(description="percent from 0 to 100 (or days for reassessment_days), as text")
    note: str = ""


class SubmissionIn(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    submitted_at: datetime | None = None
    via: str = "api"
    note: str = ""


@router.get("/definitions", summary="Every measure: key (as P4P terms name it), label, numerator, denominator")
def definitions(principal: Reader):
    return [{"key": d.key, "label": d.label, "kind": d.kind, "numerator": d.numerator,
             "denominator": d.denominator, "group": d.group, "direction": d.direction} for d in MEASURES.values()]


@router.get("/contracts/{contract_id}/scorecard", summary="A contract's scorecard for a month")
def scorecard(contract_id: int, db: DbSession, principal: Reader, month: str | None = MONTH,
              partner_org_id: int | None = Query(None, description="only this partner's referrals (hub network)")):
    contract = svc.contract_for(db, principal, contract_id)
    card = svc.scorecard(db, principal, contract, _month(month, db, contract), partner_org_id=partner_org_id)
    return svc.for_viewer(card, principal, contract)


@router.get("/contracts/{contract_id}/funnel", summary="The engagement funnel by month of assignment")
def funnel(contract_id: int, db: DbSession, principal: Reader,
           first: str = Query(..., pattern=r"^\d{4}-\d{2}$"), last: str = Query(..., pattern=r"^\d{4}-\d{2}$")):
    contract = svc.contract_for(db, principal, contract_id)
    from socialcare.measures import engine

    by_month = engine.funnel_by_month(db, svc.scope_for(contract), _month(first), _month(last))
    return [{"month": m.strftime("%Y-%m"), "counts": c,
             "rates": {k: rules.Rate(c[n], c[d]).as_dict() for k, n, d in
                       (("outreach_rate", "outreached", "assigned"), ("contact_rate", "contacted", "outreached"),
                        ("accepted_rate", "accepted", "contacted"))}}
            for m, c in by_month.items()]


@router.get("/contracts/{contract_id}/metrics", summary="The month's values as pay-for-performance terms read them")
def metrics(contract_id: int, db: DbSession, principal: Reader, month: str | None = MONTH):
    contract = svc.contract_for(db, principal, contract_id)  # both parties: the partner is paid on these
    return {k: str(v) for k, v in svc.metric_values(db, contract.id, _month(month, db, contract)).items()}


@router.put("/contracts/{contract_id}/goals/{measure}", summary="Set a contract's goal for a measure (plan)")
def put_goal(contract_id: int, measure: str, db: DbSession, principal: GoalSetter, body: GoalIn = Body(...)):
    contract = svc.contract_for(db, principal, contract_id)
    g = svc.set_goal(db, principal, contract, measure, body.target, body.note)
    return {"measure": g.measure, "target": f"{g.target.normalize():f}", "direction": g.direction}


@router.post("/contracts/{contract_id}/submissions", summary="Record the partner's data submission for a month")
def post_submission(contract_id: int, db: DbSession, principal: Reader, body: SubmissionIn = Body(...)):
    contract = svc.contract_for(db, principal, contract_id)
    row = svc.record_submission(db, principal, contract, _month(body.month), body.submitted_at, body.via, body.note)
    return {"month": row.period.strftime("%Y-%m"), "due_on": row.due_on.isoformat(),
            "submitted_at": row.submitted_at.isoformat(), "on_time": row.submitted_at.date() <= row.due_on}
