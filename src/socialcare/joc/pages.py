"""Joint operating committee pages: the committees you sit on, each committee's cadence, participants
and meetings, and the meeting page that follows the seed's template agenda (member story, data
presentation, process improvements, organizational updates, decisions, action items, escalations),
with the follow-up report as HTML and PDF."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from socialcare.core.errors import InvalidInput, Problem
from socialcare.joc import report, rules, service
from socialcare.measures import charts
from socialcare.measures import service as measures
from socialcare.measures.definitions import STRATA_DIMENSIONS
from socialcare.referrals.rules import ESCALATION_CATEGORIES
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["joc"])

NAV = [NavItem(label="JOC", href="/joc", permission="joc:read", order=65)]

Reader = Depends(require_page("joc:read"))
Writer = Depends(require_page("joc:write"))


def _date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date (YYYY-MM-DD).", [Problem("not a date", field=field)]) from None


@router.get("/joc")
def joc_home(request: Request, db: DbSession, principal: Principal = Reader):
    rows = service.committees(db, principal)
    with_committee = {c.contract_id for c, _ in rows}
    free = [c for c in measures.contracts_visible(db, principal) if c.id not in with_committee]
    return render(request, "joc/index.html", {"rows": rows, "free_contracts": free, "cadences": rules.CADENCES})


@router.post("/joc/committees", dependencies=[Depends(csrf_protect)])
def create_committee(request: Request, db: DbSession, principal: Principal = Writer, contract_id: int = Form(0),
                     cadence: str = Form("monthly"), standing_time: str = Form(""), location: str = Form("")):
    c = service.create_committee(db, principal, contract_id, cadence=cadence, standing_time=standing_time,
                                 location=location)
    return redirect(f"/joc/committees/{c.id}", flash="Committee created.", kind="success", request=request)


@router.get("/joc/committees/{committee_id}")
def committee_page(request: Request, committee_id: int, db: DbSession, principal: Principal = Reader):
    c, contract = service.committee(db, principal, committee_id)
    return render(request, "joc/committee.html", {
        "c": c, "contract": contract, "roles": rules.PARTICIPANT_ROLES, "cadences": rules.CADENCES,
        "statuses": rules.MEETING_STATUSES, "default_month": measures.default_month(db, contract).strftime("%Y-%m"),
        "orgs": [(contract.plan_id, contract.plan.name), (contract.counterparty_id, contract.counterparty.name)],
    })


@router.post("/joc/committees/{committee_id}/participants", dependencies=[Depends(csrf_protect)])
def add_participant(request: Request, committee_id: int, db: DbSession, principal: Principal = Writer,
                    name: str = Form(""), role: str = Form(""), organization_id: int = Form(0),
                    title: str = Form(""), email: str = Form("")):
    service.add_participant(db, principal, committee_id, name=name, role=role, organization_id=organization_id,
                            title=title, email=email)
    return redirect(f"/joc/committees/{committee_id}", flash=f"{name} added.", kind="success", request=request)


@router.post("/joc/committees/{committee_id}/meetings", dependencies=[Depends(csrf_protect)])
def create_meeting(request: Request, committee_id: int, db: DbSession, principal: Principal = Writer,
                   month: str = Form(""), held_on: str = Form("")):
    m = service.create_meeting(db, principal, committee_id, month, _date(held_on, "held_on"))
    return redirect(f"/joc/meetings/{m.id}", flash="Meeting prepared: the month's scorecard is frozen into it.",
                    kind="success", request=request)


def _meeting_context(db: Session, principal: Principal, meeting_id: int, **extra) -> dict:
    a = service.agenda(db, principal, meeting_id)
    card = a.scorecard
    return {
        "a": a, "m": a.meeting, "card": card, "charts": charts.render_all(card) if card else {},
        "strata": measures.strata_rates(card) if card else [], "strata_dimensions": STRATA_DIMENSIONS,
        "can_write": principal.can("joc:write"), "guidance": rules.STORY_GUIDANCE,
        "consent_methods": rules.CONSENT_METHODS, "statuses": rules.MEETING_STATUSES,
        "escalation_labels": ESCALATION_CATEGORIES, "agenda_sections": rules.AGENDA,
        "story_problems": [], "story_form": {}, **extra,
    }


@router.get("/joc/meetings/{meeting_id}")
def meeting_page(request: Request, meeting_id: int, db: DbSession, principal: Principal = Reader):
    return render(request, "joc/meeting.html", _meeting_context(db, principal, meeting_id))


@router.post("/joc/meetings/{meeting_id}/story", dependencies=[Depends(csrf_protect)])
def save_story(request: Request, meeting_id: int, db: DbSession, principal: Principal = Writer,
               story: str = Form(""), title: str = Form(""), presenter: str = Form(""), consent: str = Form(""),
               consent_method: str = Form(""), consent_on: str = Form(""), member_id: str = Form(""),
               version: int | None = Form(None)):
    form = dict(story=story, title=title, presenter=presenter, consent=consent, consent_method=consent_method,
                consent_on=consent_on, member_id=member_id)
    try:
        service.save_story(db, principal, meeting_id, story=story, title=title, presenter=presenter,
                           consent=consent == "yes", consent_method=consent_method or None,
                           consent_on=_date(consent_on, "story_consent_on"),
                           member_id=int(member_id) if member_id.strip().isdigit() else None, version=version)
    except InvalidInput as exc:
        db.rollback()
        ctx = _meeting_context(db, principal, meeting_id, story_problems=exc.problems, story_form=form)
        return render(request, "joc/meeting.html", ctx, status_code=422)
    return redirect(f"/joc/meetings/{meeting_id}#member-story", flash="Member story saved: it passed the check.",
                    kind="success", request=request)


@router.post("/joc/meetings/{meeting_id}/notes", dependencies=[Depends(csrf_protect)])
def save_notes(
    request: Request, meeting_id: int, db: DbSession, principal: Principal = Writer,
    data_notes: str | None = Form(None), plan_updates: str | None = Form(None),
    partner_updates: str | None = Form(None), plan_only_notes: str | None = Form(None),
    status: str | None = Form(None), attendance: str = Form(""), attendee: list[int] = Form([]),
    version: int | None = Form(None),
    # the template's process-improvement questions (rules.PROCESS_QUESTIONS)
    q_who_assigns: str | None = Form(None), q_how_engaged: str | None = Form(None),
    q_communication: str | None = Form(None), q_higher_engagement: str | None = Form(None),
    q_marketing: str | None = Form(None), q_bottlenecks: str | None = Form(None),
    q_escalation_pathway: str | None = Form(None), q_progress: str | None = Form(None),
    q_unexpected_outcomes: str | None = Form(None),
):
    answers = {k.removeprefix("q_"): v for k, v in locals().items() if k.startswith("q_") and v is not None}
    service.save_notes(db, principal, meeting_id, data_notes=data_notes, process_notes=answers or None,
                       plan_updates=plan_updates, partner_updates=partner_updates, plan_only_notes=plan_only_notes,
                       status=status or None, attendee_ids=attendee if attendance == "1" else None, version=version)
    return redirect(f"/joc/meetings/{meeting_id}", flash="Meeting notes saved.", kind="success", request=request)


@router.post("/joc/meetings/{meeting_id}/decisions", dependencies=[Depends(csrf_protect)])
def add_decision(request: Request, meeting_id: int, db: DbSession, principal: Principal = Writer,
                 text: str = Form("")):
    service.add_decision(db, principal, meeting_id, text)
    return redirect(f"/joc/meetings/{meeting_id}#decisions", flash="Decision recorded.", kind="success",
                    request=request)


@router.post("/joc/meetings/{meeting_id}/actions", dependencies=[Depends(csrf_protect)])
def add_action(request: Request, meeting_id: int, db: DbSession, principal: Principal = Writer,
               description: str = Form(""), owner_name: str = Form(""), owner_side: str = Form("plan"),
               due_on: str = Form("")):
    service.add_action_item(db, principal, meeting_id, description=description, owner_name=owner_name,
                            owner_side=owner_side, due_on=_date(due_on, "due_on"))
    return redirect(f"/joc/meetings/{meeting_id}#actions", flash="Action item added.", kind="success",
                    request=request)


@router.post("/joc/meetings/{meeting_id}/actions/{item_id}", dependencies=[Depends(csrf_protect)])
def close_action(request: Request, meeting_id: int, item_id: int, db: DbSession, principal: Principal = Writer,
                 status: str = Form("done"), note: str = Form("")):
    service.close_action_item(db, principal, meeting_id, item_id, status=status, note=note)
    return redirect(f"/joc/meetings/{meeting_id}#actions", flash="Action item updated.", kind="success",
                    request=request)


@router.post("/joc/meetings/{meeting_id}/scorecard", dependencies=[Depends(csrf_protect)])
def refreeze(request: Request, meeting_id: int, db: DbSession, principal: Principal = Writer):
    m, _c, contract = service.meeting(db, principal, meeting_id)
    service.freeze_scorecard(db, principal, m, contract)
    return redirect(f"/joc/meetings/{meeting_id}#data", flash="Scorecard recomputed and frozen again.",
                    kind="success", request=request)


@router.post("/joc/meetings/{meeting_id}/sent", dependencies=[Depends(csrf_protect)])
def mark_sent(request: Request, meeting_id: int, db: DbSession, principal: Principal = Writer):
    service.mark_sent(db, principal, meeting_id)
    return redirect(f"/joc/meetings/{meeting_id}", flash="Marked as sent to the core team and those absent.",
                    kind="success", request=request)


@router.get("/joc/meetings/{meeting_id}/report.html")
def report_html(request: Request, meeting_id: int, db: DbSession, principal: Principal = Reader):
    name = report.filename(db, principal, meeting_id, "html")
    return HTMLResponse(report.report_html(db, principal, meeting_id),
                        headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/joc/meetings/{meeting_id}/report.pdf")
def report_pdf(request: Request, meeting_id: int, db: DbSession, principal: Principal = Reader):
    name = report.filename(db, principal, meeting_id, "pdf")
    return Response(report.report_pdf(db, principal, meeting_id), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("joc:read"):
        return []
    rows = service.committees(session, principal)
    if not rows:
        return []
    return [{"title": "Joint operating committees", "value": f"{len(rows):,}", "href": "/joc",
             "note": "meetings, scorecards, action items", "order": 61}]
