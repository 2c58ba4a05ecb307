"""Measure pages: the contracts you are party to, and each contract's monthly scorecard (funnel with goals,
trend, SNS-E, timeliness, strata) with server-rendered charts. The plan sets goals here."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session

from socialcare.core.errors import InvalidInput
from socialcare.measures import charts, rules
from socialcare.measures import service as svc
from socialcare.measures.definitions import MEASURES, STRATA_DIMENSIONS
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["measures"])

NAV = [NavItem(label="Measures", href="/measures", permission="measures:read", order=60)]

Reader = Depends(require_page("measures:read"))
GoalSetter = Depends(require_page("contracts:write"))


def _month(value: str | None, db: Session | None = None, contract=None) -> date:
    if not value:
        return svc.default_month(db, contract)
    try:
        return rules.parse_month(value)
    except ValueError as exc:
        from socialcare.core.errors import Problem

        raise InvalidInput(str(exc), [Problem(str(exc), field="month")]) from None


def month_options(contract, last: date) -> list[tuple[str, str]]:
    months = rules.months_between(contract.start_date.replace(day=1), max(last, contract.start_date))
    return [(m.strftime("%Y-%m"), rules.month_label(m)) for m in reversed(months[-24:])]


@router.get("/measures")
def measures_home(request: Request, db: DbSession, principal: Principal = Reader):
    contracts = svc.contracts_visible(db, principal)
    return render(request, "measures/index.html", {"contracts": contracts, "month": svc.default_month(),
                                                   "definitions": MEASURES})


@router.get("/measures/contracts/{contract_id}")
def scorecard_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader,
                   month: str | None = None, partner_org_id: str | None = None):
    contract = svc.contract_for(db, principal, contract_id)
    m = _month(month, db, contract)
    partner = int(partner_org_id) if partner_org_id and partner_org_id.isdigit() else None
    card = svc.for_viewer(svc.scorecard(db, principal, contract, m, partner_org_id=partner), principal, contract)
    return render(request, "measures/scorecard.html", {
        "contract": contract, "card": card, "charts": charts.render_all(card), "strata": svc.strata_rates(card),
        "strata_dimensions": STRATA_DIMENSIONS, "month": m.strftime("%Y-%m"),
        "months": month_options(contract, max(m, svc.default_month())),
        "goals": svc.goals_for(db, contract.id), "definitions": MEASURES,
        "can_set_goals": principal.can("contracts:write") and svc.sees_full_counts(principal, contract),
        "problems": [],
    }, block="scorecard")


@router.post("/measures/contracts/{contract_id}/goals", dependencies=[Depends(csrf_protect)])
def set_goal(request: Request, contract_id: int, db: DbSession, principal: Principal = GoalSetter,
             measure: str = Form(""), target: str = Form(""), month: str = Form("")):
    contract = svc.contract_for(db, principal, contract_id)
    svc.set_goal(db, principal, contract, measure, target)
    label = MEASURES[measure].label
    return redirect(f"/measures/contracts/{contract_id}?month={month}", flash=f"Goal for {label.lower()} saved.",
                    kind="success", request=request)


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("measures:read"):
        return []
    n = len(svc.contracts_visible(session, principal))
    if not n:
        return []
    return [{"title": "Contract scorecards", "value": f"{n:,}", "href": "/measures",
             "note": "funnel, SNS-E, timeliness, equity", "order": 60}]
