"""Delivery JSON API: record services, episodes and renewals, pathways, engagements and flexible fund
disbursements; read them (org-scoped, audited); and preview a contract's settlement facts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from socialcare.delivery import repository as repo
from socialcare.delivery import rules, schemas, service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/delivery", tags=["delivery"])

Reader = Annotated[Principal, Depends(require_api("delivery:read"))]
Writer = Annotated[Principal, Depends(require_api("delivery:write"))]
Approver = Annotated[Principal, Depends(require_api("delivery:approve"))]


def _filters(organization_id: int | None = None, member_id: int | None = None, status: str | None = None,
             date_from: date | None = None, date_to: date | None = None, need_domain: str | None = None,
             service_code: str | None = None) -> repo.Filters:
    return repo.Filters(organization_id=organization_id, member_id=member_id, status=status, date_from=date_from,
                        date_to=date_to, need_domain=need_domain, service_code=service_code)


Filters = Annotated[repo.Filters, Depends(_filters)]
PageNo = Query(1, ge=1)
PageSize = Query(50, ge=1, le=200)


# ---- service records -------------------------------------------------------------------------


@router.get("/services", response_model=schemas.ServiceRecordPage, summary="Delivered services")
def list_services(db: DbSession, principal: Reader, f: Filters, page: int = PageNo, page_size: int = PageSize):
    """Plan: every service delivered to its members. Hub/CBO: its own (and a hub its network's), for members
    shared with it. status: recorded or entered-in-error. Audited per member."""
    r = service.list_services(db, principal, f, page, page_size)
    return schemas.ServiceRecordPage(items=[schemas.service_out(row[0]) for row in r.items], total=r.total,
                                     page=r.page, page_size=r.page_size)


@router.post("/services", response_model=schemas.ServiceRecordOut, status_code=201, summary="Record a service")
def record_service(body: schemas.ServiceRecordIn, db: DbSession, principal: Writer):
    """The caller's organization delivered it; the member must be shared with it. 422 lists every bad field."""
    r = service.record_service(db, principal, rules.ServiceRecordInput(**body.model_dump()))
    return schemas.service_out(r)


@router.get("/services/{record_id}", response_model=schemas.ServiceRecordOut, summary="One service record")
def get_service(record_id: int, db: DbSession, principal: Reader):
    from socialcare.security import audit

    r = repo.get_service_record(db, principal, record_id)
    audit.record(db, principal, "delivery.service.read", object_type="service_record", object_id=r.id,
                 member_id=r.member_id)
    return schemas.service_out(r)


@router.post("/services/{record_id}/void", response_model=schemas.ServiceRecordOut,
             summary="Mark a service record entered in error")
def void_service(record_id: int, body: schemas.VoidIn, db: DbSession, principal: Writer):
    return schemas.service_out(service.void_service(db, principal, record_id, body.reason))


# ---- episodes --------------------------------------------------------------------------------


@router.get("/episodes", response_model=schemas.EpisodePage, summary="Care management episodes")
def list_episodes(db: DbSession, principal: Reader, f: Filters, page: int = PageNo, page_size: int = PageSize):
    """status: active, completed, closed-early, or renewal-requested (waiting for the plan)."""
    r = service.list_episodes(db, principal, f, page, page_size)
    return schemas.EpisodePage(items=[schemas.episode_out(row[0], with_renewals=False) for row in r.items],
                               total=r.total, page=r.page, page_size=r.page_size)


@router.post("/episodes", response_model=schemas.EpisodeOut, status_code=201, summary="Open an episode")
def open_episode(body: schemas.EpisodeIn, db: DbSession, principal: Writer):
    """The period defaults to the contract's maximum (bundled term episode_days), else 90 days."""
    e = service.open_episode(db, principal, service.EpisodeInput(**body.model_dump()))
    return schemas.episode_out(e, with_renewals=False)


@router.get("/episodes/{episode_id}", response_model=schemas.EpisodeOut, summary="One episode with its renewals")
def get_episode(episode_id: int, db: DbSession, principal: Reader):
    return schemas.episode_out(service.get_episode(db, principal, episode_id))


@router.post("/episodes/{episode_id}/renewals", response_model=schemas.RenewalOut, status_code=201,
             summary="Ask the plan for a renewal period")
def request_renewal(episode_id: int, body: schemas.RenewalRequestIn, db: DbSession, principal: Writer):
    r = service.request_renewal(db, principal, episode_id, body.reason, on=body.on)
    return schemas.RenewalOut.model_validate(r, from_attributes=True)


@router.post("/episodes/{episode_id}/renewals/{renewal_id}/decision", response_model=schemas.RenewalOut,
             summary="Approve or deny a renewal (plan)")
def decide_renewal(episode_id: int, renewal_id: int, body: schemas.DecisionIn, db: DbSession, principal: Approver):
    """Only an approved renewal period is paid. A denial needs a note. 409 when already decided."""
    r = service.decide_renewal(db, principal, episode_id, renewal_id, body.approve, body.note)
    return schemas.RenewalOut.model_validate(r, from_attributes=True)


@router.post("/episodes/{episode_id}/close", response_model=schemas.EpisodeOut, summary="Close an episode")
def close_episode(episode_id: int, body: schemas.CloseIn, db: DbSession, principal: Writer):
    """Closed on or after the planned end: completed; before: closed early."""
    return schemas.episode_out(service.close_episode(db, principal, episode_id, body.actual_end, body.reason))


# ---- pathways --------------------------------------------------------------------------------


@router.get("/pathways/reference", response_model=list[schemas.PathwayDefOut],
            summary="The standard pathways and their steps")
def pathway_reference(principal: Reader):
    return [schemas.PathwayDefOut(code=p.code, name=p.name, need_domain=p.need_domain, default_obu=str(p.obu),
                                  outcome=p.outcome, steps=[schemas.StepDefOut(code=s.code, label=s.label,
                                                                               benchmark=s.benchmark)
                                                            for s in p.steps])
            for p in service.catalog().pathways]


@router.get("/pathways", response_model=schemas.PathwayPage, summary="Members' pathways")
def list_pathways(db: DbSession, principal: Reader, f: Filters, pathway_code: str | None = None,
                  page: int = PageNo, page_size: int = PageSize):
    """status: open, completed, finished-incomplete."""
    r = service.list_pathways(db, principal, f, page, page_size, pathway_code)
    cat = service.catalog()
    return schemas.PathwayPage(items=[schemas.pathway_out(row[0], cat, with_steps=False) for row in r.items],
                               total=r.total, page=r.page, page_size=r.page_size)


@router.post("/pathways", response_model=schemas.PathwayOut, status_code=201, summary="Open a pathway")
def open_pathway(body: schemas.PathwayIn, db: DbSession, principal: Writer):
    p = service.open_pathway(db, principal, body.member_id, body.pathway_code, body.opened_on,
                             referral_id=body.referral_id, note=body.note)
    return schemas.pathway_out(p, service.catalog())


@router.get("/pathways/{instance_id}", response_model=schemas.PathwayOut, summary="One pathway with its steps")
def get_pathway(instance_id: int, db: DbSession, principal: Reader):
    return schemas.pathway_out(service.get_pathway(db, principal, instance_id), service.catalog())


@router.post("/pathways/{instance_id}/steps", response_model=schemas.PathwayOut, summary="Record a step")
def record_step(instance_id: int, body: schemas.StepIn, db: DbSession, principal: Writer):
    p = service.record_step(db, principal, instance_id, body.step_code, body.completed_on, body.note)
    return schemas.pathway_out(p, service.catalog())


@router.post("/pathways/{instance_id}/complete", response_model=schemas.PathwayOut,
             summary="Confirm the outcome: the pathway is complete")
def confirm_completion(instance_id: int, body: schemas.ConfirmIn, db: DbSession, principal: Writer):
    """Confirmed by the hub for its network's pathways (a CBO outside a hub network confirms its own)."""
    p = service.confirm_completion(db, principal, instance_id, body.confirmed_on, body.note)
    return schemas.pathway_out(p, service.catalog())


@router.post("/pathways/{instance_id}/incomplete", response_model=schemas.PathwayOut,
             summary="Finish a pathway without the outcome")
def finish_incomplete(instance_id: int, body: schemas.IncompleteIn, db: DbSession, principal: Writer):
    p = service.finish_incomplete(db, principal, instance_id, body.closed_on, body.reason)
    return schemas.pathway_out(p, service.catalog())


# ---- engagements and flexible funds ----------------------------------------------------------


@router.get("/engagements", response_model=schemas.EngagementPage, summary="Confirmed engagements")
def list_engagements(db: DbSession, principal: Reader, f: Filters, page: int = PageNo, page_size: int = PageSize):
    r = service.list_engagements(db, principal, f, page, page_size)
    return schemas.EngagementPage(items=[schemas.engagement_out(row[0]) for row in r.items], total=r.total,
                                  page=r.page, page_size=r.page_size)


@router.post("/engagements", response_model=schemas.EngagementOut, status_code=201,
             summary="Record a confirmed engagement (home visit)")
def record_engagement(body: schemas.EngagementIn, db: DbSession, principal: Writer):
    return schemas.engagement_out(service.record_engagement(db, principal, body.member_id, body.engaged_on,
                                                            body.kind, body.note))


@router.get("/disbursements", response_model=schemas.DisbursementPage, summary="Flexible fund disbursements")
def list_disbursements(db: DbSession, principal: Reader, f: Filters, page: int = PageNo,
                       page_size: int = PageSize):
    """status filters by category here (gift_card, utilities, transport_voucher, food, goods)."""
    r = service.list_disbursements(db, principal, f, page, page_size)
    return schemas.DisbursementPage(items=[schemas.disbursement_out(row[0]) for row in r.items], total=r.total,
                                    page=r.page, page_size=r.page_size)


@router.post("/disbursements", response_model=schemas.DisbursementOut, status_code=201,
             summary="Record a flexible fund disbursement")
def record_disbursement(body: schemas.DisbursementIn, db: DbSession, principal: Writer):
    """Checked against the contract's flex_funds term: categories, per-member allowance, program budget."""
    d = service.record_disbursement(db, principal, service.DisbursementInput(**body.model_dump()))
    return schemas.disbursement_out(d)


# ---- settlement facts ------------------------------------------------------------------------


@router.get("/facts", response_model=schemas.FactsOut, summary="A contract's settlement facts for a period")
def facts(db: DbSession, principal: Reader, contract_id: int,
          period: str = Query(..., description="2026-05, 2026-Q2, 2026 or 2026-04-01..2026-06-30")):
    """What the payments engine would settle on: delivered units per code, episodes and renewals,
    engagements, completed pathways, disbursements, and what was left out and why."""
    from socialcare.core.errors import InvalidInput, Problem

    try:
        res = service.contract_facts(db, principal, contract_id, period)
    except ValueError as exc:
        raise InvalidInput("Unknown period", [Problem(str(exc), field="period")]) from None
    f = res.facts
    units: dict[str, int] = {}
    if f.services is not None:
        agg = f.services.group_by("service_code").aggregate([("units", "sum")])
        units = dict(zip(agg["service_code"].to_pylist(), agg["units_sum"].to_pylist(), strict=True))
    return schemas.FactsOut(
        contract_id=contract_id, period=period, organizations=res.organizations,
        service_rows=f.services.num_rows if f.services is not None else 0, units_by_code=units,
        episodes=[e.model_dump(mode="json") for e in f.other.episodes], engagements=f.other.engagements,
        pathway_completions=f.other.pathway_completions,
        disbursements=[d.model_dump(mode="json") for d in f.other.disbursements], notes=res.notes)
