"""Member use cases: the roster and the member profile. Every member shown is audited
(``member.list`` for a roster row, ``member.read`` for a profile); a refused read is audited too."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session

from socialcare.core.clock import today
from socialcare.core.errors import Forbidden, InvalidInput, Problem
from socialcare.kit.codes import ProductLine
from socialcare.kit.pagination import PageResult, paginate
from socialcare.members import repository as repo
from socialcare.members.models import Member
from socialcare.members.repository import MemberFilters
from socialcare.security import access, audit
from socialcare.security.principal import Principal

NOT_VISIBLE = (
    "Member {id} is not in your organization's view: it does not exist, or it is not shared with your "
    "organization."
)


def make_filters(
    *, q: str | None = None, county: str | None = None, zip: str | None = None, product_line: str | None = None
) -> MemberFilters:
    problems: list[Problem] = []
    q, county, zip, product_line = ((v or "").strip() or None for v in (q, county, zip, product_line))
    if zip and not re.match(r"^\d{5}$", zip):
        problems.append(Problem("a zip code has five digits", field="zip"))
    if product_line and product_line not in {p.value for p in ProductLine}:
        problems.append(Problem(f"unknown product line '{product_line}'", field="product_line"))
    if q and len(q) > 100:
        problems.append(Problem("search text is at most 100 characters", field="q"))
    if problems:
        raise InvalidInput("The search was not run.", problems)
    return MemberFilters(q=q, county=county, zip=zip, product_line=product_line)


def search_members(
    session: Session, principal: Principal, f: MemberFilters, page: int = 1, page_size: int = 50
) -> PageResult[Member]:
    """The plan's roster, filtered and paged; each member on the page gets a ``member.list`` audit row."""
    principal.require("members:read")
    result = paginate(session, repo.members_select(principal, f), page, page_size)
    audit.record_member_reads(session, principal, [m.id for m in result.items], action="member.list")
    return result


def get_member(session: Session, principal: Principal, member_id: int) -> Member:
    """One member's record, if the principal's organization may see it (plan: its own members; hub or
    CBO: members shared with it). Audited either way; refused with 403 whether the member exists or
    not, so ids reveal nothing."""
    member = repo.visible_member(session, principal, member_id)
    if member is None:
        audit.record_denied(
            session, principal, "member.read", object_type="member", object_id=member_id, member_id=member_id,
            reason="not visible to this organization",
        )
        raise Forbidden(NOT_VISIBLE.format(id=member_id))
    audit.record(session, principal, "member.read", object_type="member", object_id=member.id, member_id=member.id)
    return member


def age(birth_date: date, on: date | None = None) -> int:
    on = on or today()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def condition_label(code: str) -> str:
    try:
        import simple_icd_10_cm as cm

        return cm.get_description(code)
    except Exception:  # unknown or retired code: show the code alone
        return ""


class ScopedMember:
    """A member record as the consent scope opens it (security.access.opens): a "referral" consent
    shares contact and demographics, not race, ethnicity, risk score, PCP, conditions or enrollment."""

    def __init__(self, member: Member, scope: str | None):
        self._member, self.consent_scope = member, scope

    def __getattr__(self, name: str):
        value = getattr(self._member, name)
        if name in access.FULL_RECORD_ONLY and not access.opens(self.consent_scope, name):
            return [] if isinstance(value, list) else None
        return value


def member_record(session: Session, principal: Principal, member_id: int) -> tuple[Member, ScopedMember]:
    """The member (audited read) and the record as the caller's consent scope shows it."""
    member = get_member(session, principal, member_id)
    return member, ScopedMember(member, access.consent_scope(session, principal, member.id))
