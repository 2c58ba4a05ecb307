"""JOC JSON API: committees, a meeting's agenda (as the caller's organization may see it), preparing a
meeting, the member story, decisions and action items, and the follow-up report as PDF."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from socialcare.joc import report, service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/joc", tags=["joc"])

Reader = Annotated[Principal, Depends(require_api("joc:read"))]
Writer = Annotated[Principal, Depends(require_api("joc:write"))]


class MeetingIn(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="month of data, YYYY-MM")
    held_on: date | None = None


class StoryIn(BaseModel):
    story: str
    title: str = ""
    presenter: str = ""
    consent: bool = False
    consent_method: str | None = None
    consent_on: date | None = None
    member_id: int | None = Field(None, description="checked against this member's record (not stored in the text)")


class ActionIn(BaseModel):
    description: str
    owner_name: str
    owner_side: str = "plan"
    due_on: date


class DecisionIn(BaseModel):
    text: str


def _item(i) -> dict:
    return {"id": i.id, "description": i.description, "owner_name": i.owner_name, "owner_side": i.owner_side,
            "due_on": i.due_on.isoformat(), "status": i.status, "closing_note": i.closing_note}


@router.get("/committees", summary="The committees of the contracts your organization is party to")
def committees(db: DbSession, principal: Reader):
    return [{"id": c.id, "name": c.name, "contract_id": contract.id, "contract": contract.name,
             "cadence": c.cadence, "standing_time": c.standing_time,
             "meetings": [{"id": m.id, "month": m.month.strftime("%Y-%m"), "held_on": m.held_on.isoformat(),
                           "status": m.status} for m in c.meetings]}
            for c, contract in service.committees(db, principal)]


@router.get("/meetings/{meeting_id}", summary="A meeting's agenda as your organization may see it")
def get_meeting(meeting_id: int, db: DbSession, principal: Reader):
    a = service.agenda(db, principal, meeting_id)
    m = a.meeting
    out = {
        "id": m.id, "committee": a.committee.name, "contract_id": a.contract.id, "month": m.month.strftime("%Y-%m"),
        "held_on": m.held_on.isoformat(), "status": m.status, "version": m.version,
        "participants": a.participants,
        "member_story": {"title": m.story_title, "story": m.member_story, "presenter": m.story_presenter,
                         "consent": m.story_consent, "consent_method": m.story_consent_method},
        "scorecard": a.scorecard,
        "data_notes": m.data_notes,
        "process_improvements": a.process_sections,
        "organizational_updates": {"plan": m.plan_updates, "partner": m.partner_updates},
        "decisions": [d.text for d in a.decisions],
        "action_items": {"carried_over": [_item(i) for i in a.carried_over],
                         "opened": [_item(i) for i in a.opened_here]},
        "escalations_since_last_meeting": [{**e, "opened": e["opened"].isoformat(),
                                            "resolved": e["resolved"].isoformat() if e["resolved"] else None}
                                           for e in a.escalations],
    }
    if a.plan_side:
        out["plan_only_notes"] = m.plan_only_notes
    return out


@router.post("/committees/{committee_id}/meetings", status_code=201, summary="Prepare a meeting (freezes the scorecard)")
def post_meeting(committee_id: int, db: DbSession, principal: Writer, body: MeetingIn = Body(...)):
    m = service.create_meeting(db, principal, committee_id, body.month, body.held_on)
    return {"id": m.id, "month": m.month.strftime("%Y-%m"), "held_on": m.held_on.isoformat()}


@router.put("/meetings/{meeting_id}/story", summary="Save the member story (consent needed; checked for identifiers)")
def put_story(meeting_id: int, db: DbSession, principal: Writer, body: StoryIn = Body(...)):
    service.save_story(db, principal, meeting_id, **body.model_dump())
    return {"saved": True}


@router.post("/meetings/{meeting_id}/decisions", status_code=201, summary="Record a decision")
def post_decision(meeting_id: int, db: DbSession, principal: Writer, body: DecisionIn = Body(...)):
    d = service.add_decision(db, principal, meeting_id, body.text)
    return {"id": d.id, "text": d.text}


@router.post("/meetings/{meeting_id}/action-items", status_code=201, summary="Add an action item")
def post_action(meeting_id: int, db: DbSession, principal: Writer, body: ActionIn = Body(...)):
    return _item(service.add_action_item(db, principal, meeting_id, **body.model_dump()))


@router.get("/meetings/{meeting_id}/report.pdf", summary="The follow-up report (notes and scorecard) as PDF",
            response_class=Response)
def get_report(meeting_id: int, db: DbSession, principal: Reader):
    name = report.filename(db, principal, meeting_id, "pdf")
    return Response(report.report_pdf(db, principal, meeting_id), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
