"""Member queries. Every one goes through ``member_visibility(principal)`` (security.sharing): a plan
sees its own members, a hub or CBO only members shared with it (referral + consent)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from socialcare.members.models import Member
from socialcare.security.principal import Principal
from socialcare.security.sharing import member_visibility


@dataclass(frozen=True)
class MemberFilters:
    q: str | None = None  # name or plan member id
    county: str | None = None
    zip: str | None = None
    product_line: str | None = None


def members_select(principal: Principal, f: MemberFilters) -> Select:
    stmt = select(Member).where(member_visibility(principal))
    if f.q:
        words = f.q.strip().lower().split()
        for w in words[:4]:
            like = f"%{w}%"
            stmt = stmt.where(
                or_(
                    func.lower(Member.last_name).like(like),
                    func.lower(Member.first_name).like(like),
                    func.lower(Member.plan_member_id) == w,
                )
            )
    if f.county:
        stmt = stmt.where(func.lower(Member.county) == f.county.strip().lower())
    if f.zip:
        stmt = stmt.where(Member.zip == f.zip)
    if f.product_line:
        stmt = stmt.where(Member.product_line == f.product_line)
    return stmt.order_by(Member.last_name, Member.first_name, Member.id)


def visible_member(session: Session, principal: Principal, member_id: int) -> Member | None:
    return session.scalar(
        select(Member)
        .where(Member.id == member_id, member_visibility(principal))
        .options(selectinload(Member.enrollment_spans), selectinload(Member.conditions))
    )


def count_visible(session: Session, principal: Principal) -> int:
    return session.scalar(select(func.count()).select_from(Member).where(member_visibility(principal))) or 0


def counts_by_product_line(session: Session, principal: Principal) -> dict[str, int]:
    rows = session.execute(
        select(Member.product_line, func.count()).where(member_visibility(principal)).group_by(Member.product_line)
    )
    return {pl: int(n) for pl, n in rows}


def visible_counties(session: Session, principal: Principal) -> list[str]:
    return list(
        session.scalars(
            select(Member.county)
            .where(member_visibility(principal), Member.county.is_not(None))
            .distinct()
            .order_by(Member.county)
        )
    )
