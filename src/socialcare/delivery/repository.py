"""Every delivery query. Reads take the Principal and are org-scoped:

* a plan (plan roles) sees everything delivered to its members, by any organization;
* a hub sees what it delivered and what its network CBOs delivered, for members shared with it;
* a CBO sees only what it delivered, for members still shared with it (``member_visibility``:
  a sharing referral and the member's consent), so revoking consent hides its records too;
* other roles (auditor) see none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from socialcare.core.errors import NotFound
from socialcare.core.money import cents
from socialcare.delivery.models import (
    CareEpisode,
    Engagement,
    EpisodeRenewal,
    FlexFundDisbursement,
    PathwayInstance,
    ServiceRecord,
)
from socialcare.directory.models import HubNetworkMembership, Organization, Service
from socialcare.kit.pagination import PageResult, paginate
from socialcare.members.models import Member
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role
from socialcare.security.sharing import member_visibility

# ---- scoping -------------------------------------------------------------------------------


def network_cbo_ids(hub_id: int, on: date | None = None) -> Select:
    """CBOs in the hub's network (on a day, or ever when ``on`` is None)."""
    stmt = select(HubNetworkMembership.cbo_id).where(HubNetworkMembership.hub_id == hub_id)
    if on is not None:
        stmt = stmt.where(HubNetworkMembership.start_date <= on,
                          or_(HubNetworkMembership.end_date.is_(None), HubNetworkMembership.end_date >= on))
    return stmt


def hubs_of(session: Session, cbo_id: int, on: date) -> list[int]:
    return list(session.scalars(select(HubNetworkMembership.hub_id).where(
        HubNetworkMembership.cbo_id == cbo_id, HubNetworkMembership.start_date <= on,
        or_(HubNetworkMembership.end_date.is_(None), HubNetworkMembership.end_date >= on))))


def visibility(principal: Principal, model) -> ColumnElement[bool]:
    """WHERE clause on a delivery table (any with plan_id, organization_id, member_id)."""
    if principal.is_plan:
        return model.plan_id == principal.org_id if is_plan_role(principal.role) else false()
    if not principal.can("delivery:read"):
        return false()
    shared = model.member_id.in_(select(Member.id).where(member_visibility(principal)))
    if principal.is_hub:
        return and_(or_(model.organization_id == principal.org_id,
                        model.organization_id.in_(network_cbo_ids(principal.org_id))), shared)
    return and_(model.organization_id == principal.org_id, shared)


def visible_member(session: Session, principal: Principal, member_id: int) -> Member | None:
    return session.scalar(select(Member).where(Member.id == member_id, member_visibility(principal)))


# ---- filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    organization_id: int | None = None
    member_id: int | None = None
    need_domain: str | None = None
    service_code: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None  # member name or plan member id


def _member_text(q: str) -> ColumnElement[bool]:
    like = f"%{q.strip().lower()}%"
    return or_(func.lower(Member.last_name).like(like), func.lower(Member.first_name).like(like),
               func.lower(Member.plan_member_id).like(like))


def _apply(stmt: Select, model, f: Filters, date_col) -> Select:
    if f.organization_id:
        stmt = stmt.where(model.organization_id == f.organization_id)
    if f.member_id:
        stmt = stmt.where(model.member_id == f.member_id)
    if f.date_from:
        stmt = stmt.where(date_col >= f.date_from)
    if f.date_to:
        stmt = stmt.where(date_col <= f.date_to)
    if f.q:
        stmt = stmt.where(_member_text(f.q))
    return stmt


# ---- service records -------------------------------------------------------------------------


def service_records(session: Session, principal: Principal, f: Filters, page: int, page_size: int) -> PageResult:
    stmt = (
        select(ServiceRecord, Member, Organization.name, Service.name)
        .join(Member, Member.id == ServiceRecord.member_id)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .join(Service, Service.id == ServiceRecord.service_id)
        .where(visibility(principal, ServiceRecord))
    )
    stmt = _apply(stmt, ServiceRecord, f, ServiceRecord.service_date)
    if f.need_domain:
        stmt = stmt.where(ServiceRecord.need_domain == f.need_domain)
    if f.service_code:
        code = f.service_code.strip().upper()
        stmt = stmt.where(or_(ServiceRecord.service_code == code, ServiceRecord.hcpcs == code))
    if f.status:
        stmt = stmt.where(ServiceRecord.status == f.status)
    stmt = stmt.order_by(ServiceRecord.service_date.desc(), ServiceRecord.id.desc())
    return paginate(session, stmt, page, page_size, scalars=False)


def service_totals(session: Session, principal: Principal, f: Filters) -> list[tuple[str, str, int, int, int]]:
    """(code, unit, records, units, members) for the filtered, recorded services: the list's summary."""
    stmt = (
        select(func.coalesce(ServiceRecord.service_code, ""), Service.unit, func.count(),
               func.coalesce(func.sum(ServiceRecord.units), 0), func.count(func.distinct(ServiceRecord.member_id)))
        .join(Service, Service.id == ServiceRecord.service_id)
        .join(Member, Member.id == ServiceRecord.member_id)
        .where(visibility(principal, ServiceRecord), ServiceRecord.status == "recorded")
        .group_by(ServiceRecord.service_code, Service.unit)
        .order_by(func.count().desc())
    )
    stmt = _apply(stmt, ServiceRecord, f, ServiceRecord.service_date)
    if f.need_domain:
        stmt = stmt.where(ServiceRecord.need_domain == f.need_domain)
    return [tuple(r) for r in session.execute(stmt)]


def get_service_record(session: Session, principal: Principal, record_id: int) -> ServiceRecord:
    r = session.scalar(select(ServiceRecord).where(ServiceRecord.id == record_id,
                                                   visibility(principal, ServiceRecord))
                       .options(selectinload(ServiceRecord.member), selectinload(ServiceRecord.service)))
    if r is None:
        raise NotFound(f"No service record {record_id} that you can see.")
    return r


def delivering_organizations(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """Organizations whose deliveries the principal may see (filter options)."""
    if principal.is_plan:
        ids = select(ServiceRecord.organization_id).where(visibility(principal, ServiceRecord)).distinct()
        stmt = select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    elif principal.is_hub:
        stmt = select(Organization.id, Organization.name).where(or_(
            Organization.id == principal.org_id, Organization.id.in_(network_cbo_ids(principal.org_id))))
    else:
        stmt = select(Organization.id, Organization.name).where(Organization.id == principal.org_id)
    return [tuple(r) for r in session.execute(stmt.order_by(Organization.name))]


def org_services(session: Session, org_id: int) -> list[Service]:
    return list(session.scalars(select(Service).where(Service.organization_id == org_id, Service.status == "active")
                                .order_by(Service.name)))


# ---- episodes --------------------------------------------------------------------------------


def episodes(session: Session, principal: Principal, f: Filters, page: int, page_size: int) -> PageResult:
    pending = (select(func.count()).where(EpisodeRenewal.episode_id == CareEpisode.id,
                                          EpisodeRenewal.status == "requested").scalar_subquery())
    stmt = (
        select(CareEpisode, Member, Organization.name, pending.label("pending"))
        .join(Member, Member.id == CareEpisode.member_id)
        .join(Organization, Organization.id == CareEpisode.organization_id)
        .where(visibility(principal, CareEpisode))
    )
    stmt = _apply(stmt, CareEpisode, f, CareEpisode.start_date)
    if f.status == "renewal-requested":
        stmt = stmt.where(pending > 0)
    elif f.status:
        stmt = stmt.where(CareEpisode.status == f.status)
    stmt = stmt.order_by(CareEpisode.start_date.desc(), CareEpisode.id.desc())
    return paginate(session, stmt, page, page_size, scalars=False)


def get_episode(session: Session, principal: Principal, episode_id: int, *, for_update: bool = False) -> CareEpisode:
    stmt = (select(CareEpisode).where(CareEpisode.id == episode_id, visibility(principal, CareEpisode))
            .options(selectinload(CareEpisode.renewals), selectinload(CareEpisode.member),
                     selectinload(CareEpisode.organization)))
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=CareEpisode)
    e = session.scalar(stmt)
    if e is None:
        raise NotFound(f"No care episode {episode_id} that you can see.")
    return e


def latest_episode_end(session: Session, member_id: int, org_id: int, billing_code: str | None,
                       program: str) -> date | None:
    """The last paid day of the member's previous episodes of the same kind with this organization."""
    same = CareEpisode.billing_code == billing_code if billing_code else CareEpisode.program == program
    return session.scalar(select(func.max(CareEpisode.planned_end)).where(
        CareEpisode.member_id == member_id, CareEpisode.organization_id == org_id, same))


# ---- pathways --------------------------------------------------------------------------------


def pathways(session: Session, principal: Principal, f: Filters, page: int, page_size: int,
             pathway_code: str | None = None) -> PageResult:
    stmt = (
        select(PathwayInstance, Member, Organization.name)
        .join(Member, Member.id == PathwayInstance.member_id)
        .join(Organization, Organization.id == PathwayInstance.organization_id)
        .where(visibility(principal, PathwayInstance))
    )
    stmt = _apply(stmt, PathwayInstance, f, PathwayInstance.opened_on)
    if f.status:
        stmt = stmt.where(PathwayInstance.status == f.status)
    if pathway_code:
        stmt = stmt.where(PathwayInstance.pathway_code == pathway_code)
    stmt = stmt.order_by(PathwayInstance.opened_on.desc(), PathwayInstance.id.desc())
    return paginate(session, stmt, page, page_size, scalars=False)


def get_pathway(session: Session, principal: Principal, instance_id: int) -> PathwayInstance:
    p = session.scalar(select(PathwayInstance).where(PathwayInstance.id == instance_id,
                                                     visibility(principal, PathwayInstance))
                       .options(selectinload(PathwayInstance.steps), selectinload(PathwayInstance.member),
                                selectinload(PathwayInstance.organization)))
    if p is None:
        raise NotFound(f"No pathway {instance_id} that you can see.")
    return p


def open_pathway_exists(session: Session, member_id: int, org_id: int, code: str) -> bool:
    return session.scalar(select(func.count()).where(
        PathwayInstance.member_id == member_id, PathwayInstance.organization_id == org_id,
        PathwayInstance.pathway_code == code, PathwayInstance.status == "open")) > 0


# ---- engagements and disbursements -----------------------------------------------------------


def engagements(session: Session, principal: Principal, f: Filters, page: int, page_size: int) -> PageResult:
    stmt = (select(Engagement, Member, Organization.name)
            .join(Member, Member.id == Engagement.member_id)
            .join(Organization, Organization.id == Engagement.organization_id)
            .where(visibility(principal, Engagement)))
    stmt = _apply(stmt, Engagement, f, Engagement.engaged_on).order_by(Engagement.engaged_on.desc(),
                                                                       Engagement.id.desc())
    return paginate(session, stmt, page, page_size, scalars=False)


def disbursements(session: Session, principal: Principal, f: Filters, page: int, page_size: int) -> PageResult:
    stmt = (select(FlexFundDisbursement, Member, Organization.name)
            .join(Member, Member.id == FlexFundDisbursement.member_id)
            .join(Organization, Organization.id == FlexFundDisbursement.organization_id)
            .where(visibility(principal, FlexFundDisbursement)))
    if f.status:  # category
        stmt = stmt.where(FlexFundDisbursement.category == f.status)
    stmt = _apply(stmt, FlexFundDisbursement, f, FlexFundDisbursement.disbursed_on).order_by(
        FlexFundDisbursement.disbursed_on.desc(), FlexFundDisbursement.id.desc())
    return paginate(session, stmt, page, page_size, scalars=False)


def disbursed_totals(session: Session, contract_id: int, term_id: str, member_id: int,
                     start: date | None, end: date | None) -> tuple[Decimal, Decimal]:
    """(used by the member, used by the program) under one contract's flex_funds term."""
    base = [FlexFundDisbursement.contract_id == contract_id, FlexFundDisbursement.term_id == term_id]
    if start:
        base.append(FlexFundDisbursement.disbursed_on >= start)
    if end:
        base.append(FlexFundDisbursement.disbursed_on <= end)
    total = func.coalesce(func.sum(FlexFundDisbursement.amount), 0)
    program = session.scalar(select(total).where(*base))
    member = session.scalar(select(total).where(*base, FlexFundDisbursement.member_id == member_id))
    return cents(str(member or 0)), cents(str(program or 0))


def open_referrals_held(session: Session, principal: Principal, plan_member_id: str | None = None,
                        limit: int = 200) -> list[tuple[int, str, str, str]]:
    """The open referrals the organization holds (to pick the one a service answers): (id, member name,
    plan member id, need), newest first; one member's when ``plan_member_id`` is given."""
    from socialcare.referrals.models import Referral

    q = (select(Referral.id, Member.first_name, Member.last_name, Member.plan_member_id, Referral.need_domain)
         .join(Member, Member.id == Referral.member_id)
         .where(Referral.owner_org_id == principal.org_id,
                Referral.status.in_(["requested", "accepted", "in-progress", "on-hold"]))
         .order_by(Referral.id.desc()).limit(limit))
    if plan_member_id:
        q = q.where(Member.plan_member_id == plan_member_id.strip())
    return [(i, f"{last}, {first}", pmid, need) for i, first, last, pmid, need in session.execute(q)]
