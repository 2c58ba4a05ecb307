"""Which members an organization may see (read): ``security.access`` with the READ purpose.

Plans see their own members. A hub or CBO sees a member only while that member is shared with it
(a sharing referral AND the member's unexpired, unrevoked consent to share with it); revoking
consent hides the member everywhere at once. Other purposes: ``security.access.Purpose``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from socialcare.security import access
from socialcare.security.principal import Principal


def shared_member_ids(principal: Principal):
    """A SELECT of member ids the principal may read."""
    return access.member_ids(principal, access.Purpose.READ)


def member_visibility(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause on Member for what the principal may see."""
    from socialcare.members.models import Member

    return access.member_clause(principal, access.Purpose.READ, Member.id, Member.plan_id)
