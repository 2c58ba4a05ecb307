"""Picker queries: each limited to what the principal may see (members of its plan, or of its
referrals unless consent was revoked; its referrals; its services; directory organizations)."""

from __future__ import annotations

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.directory.models import Organization, Service
from socialcare.members.models import Member
from socialcare.referrals import repository as ref_repo
from socialcare.referrals.models import Referral
from socialcare.security.principal import Principal

LIMIT = 10


def _member_match(words: list[str]):
    return and_(*[or_(func.lower(Member.last_name).like(f"{w}%"), func.lower(Member.first_name).like(f"{w}%"),
                      func.lower(Member.plan_member_id) == w) for w in words])


def _visible(session: Session, principal: Principal, member_ids: list[int]) -> dict[int, str]:
    if principal.is_plan:
        return {m: "full" for m in member_ids}
    return ref_repo.member_access_many(session, principal, member_ids, utcnow())


def members(session: Session, principal: Principal, words: list[str]) -> list[Member]:
    stmt = select(Member).where(_member_match(words))
    if principal.is_plan:
        stmt = stmt.where(Member.plan_id == principal.org_id)
    else:  # a hub or CBO sees the members of its referrals, never one whose consent was revoked
        stmt = stmt.where(Member.id.in_(select(Referral.member_id).where(ref_repo.referral_visibility(principal))))
    found = list(session.scalars(stmt.order_by(Member.last_name, Member.first_name, Member.id).limit(LIMIT * 2)))
    access = _visible(session, principal, [m.id for m in found])
    return [m for m in found if access.get(m.id) != "hidden"][:LIMIT]


def referrals(session: Session, principal: Principal, words: list[str]) -> list:
    conds = [or_(func.lower(Member.last_name).like(f"{w}%"), func.lower(Member.first_name).like(f"{w}%"),
                 func.lower(Member.plan_member_id) == w, cast(Referral.id, String) == w.lstrip("#"))
             for w in words]
    found = session.execute(select(Referral, Member).join(Member, Member.id == Referral.member_id)
                            .where(ref_repo.referral_visibility(principal), *conds)
                            .order_by(Referral.id.desc()).limit(LIMIT * 2)).all()
    access = _visible(session, principal, [r.Member.id for r in found])
    return [r for r in found if access.get(r.Member.id) != "hidden"][:LIMIT]


def services(session: Session, principal: Principal, words: list[str], own: bool = True) -> list:
    stmt = select(Service, Organization.name).join(Organization, Organization.id == Service.organization_id) \
        .where(Service.status == "active")
    if own:
        stmt = stmt.where(Service.organization_id == principal.org_id)
    for w in words:
        stmt = stmt.where(or_(func.lower(Service.name).like(f"%{w}%"), func.lower(Service.service_code).like(f"{w}%")))
    return list(session.execute(stmt.order_by(Service.name, Service.id).limit(LIMIT)).all())


def organizations(session: Session, words: list[str], kind: str | None = None) -> list:
    stmt = select(Organization.id, Organization.name, Organization.kind, Organization.city)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    for w in words:
        stmt = stmt.where(func.lower(Organization.name).like(f"%{w}%"))
    return list(session.execute(stmt.order_by(Organization.name).limit(LIMIT)).all())
