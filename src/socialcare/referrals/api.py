"""Referrals JSON API: create (Idempotency-Key), list, read with timeline, act (If-Match), route,
routing suggestions, batch assignment, consent, escalations.

Optimistic concurrency: every referral response carries ``ETag: "<version>"``; send it back as
``If-Match`` (or ``version`` in the body) with an action. A stale version answers 409 Conflict with a
message saying who must reload. Creating with the same ``Idempotency-Key`` twice returns the first
referral (200) instead of creating another (201).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from socialcare.core.errors import InvalidInput, Problem
from socialcare.referrals import repository as repo
from socialcare.referrals import schemas, service
from socialcare.referrals.models import Escalation, Referral
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api
from socialcare.web.limits import upload_limit

router = APIRouter(tags=["referrals"])


def _version(if_match: str | None, body_version: int | None) -> int | None:
    if if_match:
        m = re.search(r"(\d+)", if_match)
        if not m:
            raise InvalidInput("Bad If-Match", [Problem('send the version as If-Match: "3"', field="If-Match")])
        return int(m.group(1))
    return body_version


def _out(db, principal: Principal, ref: Referral, *, detail: bool = False):
    row = service.row_for(db, principal, ref)
    data = {c: getattr(ref, c) for c in schemas.ReferralOut.model_fields if hasattr(ref, c) and c != "member"}
    data.update(
        loop_status=row.loop_status, owner_name=row.owner_name, overdue=row.overdue,
        member=schemas.MemberOut(id=ref.member_id, access=row.access, fields=row.member_fields),
        sub_referral_ids=[c.id for c in repo.children(db, ref.id)] if principal.org_id != ref.owner_org_id
        or principal.is_hub else [],
        actions=[a.key for a in service.available_actions(principal, ref)],
    )
    if not detail:
        return schemas.ReferralOut(**data)
    ids = [ref.id] + (data["sub_referral_ids"] or [])
    events = [
        schemas.EventOut(id=e.id, referral_id=e.referral_id, at=e.at, kind=e.kind, action=e.action,
                         from_status=e.from_status, to_status=e.to_status, business_step=e.business_step,
                         channel=e.channel, result=e.result, note=e.note, username=e.username, organization=org,
                         version=e.version)
        for e, org in repo.timeline(db, ids)
    ]
    return schemas.ReferralDetail(**data, timeline=events)


def _etag(response: Response, ref: Referral) -> None:
    response.headers["ETag"] = f'"{ref.version}"'


@router.get("/referrals", response_model=schemas.ReferralPage, summary="Referrals your organization sees")
def list_referrals(
    db: DbSession,
    principal: Annotated[Principal, Depends(require_api("referrals:read"))],
    status: str | None = Query(None, description="a FHIR Task status, or open / closed"),
    need_domain: str | None = None,
    urgency: str | None = None,
    overdue: bool = False,
    q: str | None = None,
    member_id: int | None = None,
    top_level: bool = Query(False, description="the plan's own referrals only (sub-referrals roll up)"),
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=200),
):
    """Plan: every referral for its members; hub: owned or routed by it; CBO: owned by it. Overdue first."""
    f = repo.ReferralFilters(status=status, need_domain=need_domain, urgency=urgency, overdue_only=overdue, q=q,
                             member_id=member_id, top_level_only=top_level)
    result = service.list_referrals(db, principal, f, page, page_size)
    items = []
    for row in result.items:
        ref = row.referral
        data = {c: getattr(ref, c) for c in schemas.ReferralOut.model_fields if hasattr(ref, c) and c != "member"}
        data.update(loop_status=row.loop_status, owner_name=row.owner_name, overdue=row.overdue,
                    member=schemas.MemberOut(id=ref.member_id, access=row.access, fields=row.member_fields))
        items.append(schemas.ReferralOut(**data))
    return schemas.ReferralPage(items=items, total=result.total, page=result.page, page_size=result.page_size)


@router.post("/referrals", response_model=schemas.ReferralOut, status_code=201, summary="Refer a member",
             responses={200: {"description": "replay of an Idempotency-Key: the first referral"},
                        409: {"description": "Idempotency-Key reused with a different request"}})
def create_referral(
    body: schemas.ReferralIn,
    response: Response,
    db: DbSession,
    principal: Annotated[Principal, Depends(require_api("referrals:create"))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
):
    ref, created = service.create_referral(db, principal, service.NewReferral(**body.model_dump()),
                                           idempotency_key=idempotency_key)
    if not created:
        response.status_code = 200
    _etag(response, ref)
    return _out(db, principal, ref)


@router.get("/referrals/routing-queue", response_model=list[schemas.ReferralOut],
            summary="A hub's referrals waiting to be routed")
def routing_queue(db: DbSession, principal: Annotated[Principal, Depends(require_api("referrals:route"))]):
    from socialcare.core.clock import utcnow

    rows = db.execute(repo.routing_queue_select(principal, utcnow()).limit(200)).all()
    out = [_out(db, principal, r[0]) for r in rows]
    service.audit_shown(db, principal, [(o.member.id, o.member.access) for o in out], "referral.routing_queue")
    return out


@router.get("/referrals/{referral_id}", response_model=schemas.ReferralDetail, summary="One referral and its timeline")
def get_referral(referral_id: int, response: Response, db: DbSession,
                 principal: Annotated[Principal, Depends(require_api("referrals:read"))]):
    ref = service.get_referral(db, principal, referral_id)
    _etag(response, ref)
    return _out(db, principal, ref, detail=True)


@router.post("/referrals/{referral_id}/actions/{action}", response_model=schemas.ReferralOut,
             summary="Take a lifecycle action",
             responses={409: {"description": "stale version, or a move the lifecycle does not allow"}})
def act(referral_id: int, action: str, body: schemas.ActionIn, response: Response, db: DbSession,
        principal: Annotated[Principal, Depends(require_api("referrals:read"))],
        if_match: Annotated[str | None, Header(alias="If-Match")] = None):
    """Actions: submit, accept, reject, outreach, contacted, enroll, decline, unable_to_contact,
    start_service, hold, resume, resolve, close_unresolved, fail, cancel, withdraw, entered_in_error, note.
    Send the version you saw as If-Match."""
    ref = service.act(db, principal, referral_id, action, version=_version(if_match, body.version),
                      reason=body.reason, channel=body.channel, result=body.result, note=body.note)
    _etag(response, ref)
    return _out(db, principal, ref)


@router.get("/referrals/{referral_id}/suggestions", response_model=list[schemas.SuggestionOut],
            summary="Ranked network CBOs for routing")
def suggestions(referral_id: int, db: DbSession,
                principal: Annotated[Principal, Depends(require_api("referrals:route"))]):
    ref = service.get_referral(db, principal, referral_id, audit_read=False)
    member = ref.member
    return [schemas.SuggestionOut(**{k: getattr(s, k) for k in schemas.SuggestionOut.model_fields})
            for s in repo.suggestions(db, principal.org_id, member, ref.need_domain, date.today())]


@router.post("/referrals/{referral_id}/route", response_model=schemas.ReferralOut,
             summary="Route a hub's referral to a network CBO (a sub-referral)")
def route(referral_id: int, body: schemas.RouteIn, response: Response, db: DbSession,
          principal: Annotated[Principal, Depends(require_api("referrals:route"))],
          if_match: Annotated[str | None, Header(alias="If-Match")] = None):
    ref = service.route(db, principal, referral_id, cbo_id=body.cbo_id, service_id=body.service_id,
                        version=_version(if_match, body.version), note=body.note, consent_scope=body.consent_scope,
                        reroute_reason=body.reroute_reason)
    _etag(response, ref)
    return _out(db, principal, ref)


@router.post("/referrals/batches", response_model=schemas.BatchOut, status_code=201,
             summary="Assign a list of members to a partner (all rows or none)", max_body_size=upload_limit())
def assign_batch(body: schemas.BatchIn, db: DbSession,
                 principal: Annotated[Principal, Depends(require_api("referrals:assign_batch"))]):
    rows = service.parse_batch_csv(body.csv, "csv") if body.csv else None
    month = None
    if body.contract_month:
        if not re.fullmatch(r"\d{4}-\d{2}", body.contract_month):
            raise InvalidInput("Bad month", [Problem("YYYY-MM", field="contract_month")])
        month = date(int(body.contract_month[:4]), int(body.contract_month[5:]), 1)
    res = service.assign_batch(db, principal, partner_org_id=body.partner_org_id, need_domain=body.need_domain,
                               rows=rows, member_ids=body.member_ids, service_id=body.service_id,
                               urgency=body.urgency, reason=body.reason, contract_id=body.contract_id,
                               contract_month=month, filename="csv" if body.csv else None)
    return schemas.BatchOut(batch_id=res.batch_id, created=res.created)


# ---- consent -------------------------------------------------------------------------------


@router.post("/consents", response_model=schemas.ConsentOut, status_code=201, tags=["consent"],
             summary="Record a member's consent to share with an organization")
def grant_consent(body: schemas.ConsentIn, db: DbSession,
                  principal: Annotated[Principal, Depends(require_api("referrals:read"))]):
    c = service.grant_consent(db, principal, **body.model_dump())
    return schemas.ConsentOut.model_validate(c)


@router.post("/consents/{consent_id}/revoke", response_model=schemas.ConsentOut, tags=["consent"],
             summary="Revoke a consent: the organization no longer sees the member")
def revoke_consent(consent_id: int, body: schemas.RevokeIn, db: DbSession,
                   principal: Annotated[Principal, Depends(require_api("referrals:read"))]):
    return schemas.ConsentOut.model_validate(service.revoke_consent(db, principal, consent_id, reason=body.reason))


@router.get("/consents", response_model=list[schemas.ConsentOut], tags=["consent"],
            summary="A member's consents (plan staff, or the organization they name)")
def list_consents(member_id: int, db: DbSession,
                  principal: Annotated[Principal, Depends(require_api("referrals:read"))]):
    return [schemas.ConsentOut.model_validate(c) for c in service.consents_visible(db, principal, member_id)]


# ---- escalations ---------------------------------------------------------------------------


@router.get("/escalations", response_model=list[schemas.EscalationOut], tags=["escalations"],
            summary="Escalations raised by your organization, or to your plan")
def list_escalations(db: DbSession, principal: Annotated[Principal, Depends(require_api("referrals:read"))],
                     status: str | None = Query(None, description="open, in-progress, resolved")):
    return [schemas.EscalationOut.model_validate(e) for e, _ in db.execute(
        repo.escalations_select(principal, status).limit(500)).all()]


@router.post("/escalations", response_model=schemas.EscalationOut, status_code=201, tags=["escalations"],
             summary="Raise an escalation to the plan's designated contact")
def raise_escalation(body: schemas.EscalationIn, db: DbSession,
                     principal: Annotated[Principal, Depends(require_api("escalations:raise"))]):
    return schemas.EscalationOut.model_validate(service.raise_escalation(db, principal, **body.model_dump()))


@router.patch("/escalations/{escalation_id}", response_model=schemas.EscalationOut, tags=["escalations"],
              summary="Work an escalation: take it, reassign, resolve")
def update_escalation(escalation_id: int, body: schemas.EscalationUpdate, response: Response, db: DbSession,
                      principal: Annotated[Principal, Depends(require_api("escalations:resolve"))],
                      if_match: Annotated[str | None, Header(alias="If-Match")] = None):
    esc: Escalation = service.update_escalation(
        db, principal, escalation_id, version=_version(if_match, body.version), status=body.status,
        resolution=body.resolution, owner_user_id=body.owner_user_id)
    response.headers["ETag"] = f'"{esc.version}"'
    return schemas.EscalationOut.model_validate(esc)

