"""Which members an organization outside the plan may see.

Plans see their own members. A hub or CBO sees a member only while that member is shared with
it: the referrals domain defines sharing (an active referral to the organization AND the
member's unexpired, unrevoked consent to share with it). This module is the one place every
member query asks, so revoking consent hides the member everywhere at once.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select

from socialcare.security.principal import Principal


def shared_member_ids(principal: Principal):
    """A SELECT of member ids shared with the principal's (non-plan) organization."""
    try:
        from socialcare.referrals.repository import shared_member_ids_select
    except ImportError:  # referrals domain not installed: nothing is shared
        from socialcare.members.models import Member

        return select(Member.id).where(false())
    return shared_member_ids_select(principal)


def member_visibility(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause on Member for what the principal may see."""
    from socialcare.members.models import Member
    from socialcare.security.rules import is_plan_role

    if principal.is_plan:
        if is_plan_role(principal.role):
            return Member.plan_id == principal.org_id
        return false()  # e.g. a plan auditor reads the audit log, not the roster
    return Member.id.in_(shared_member_ids(principal))
