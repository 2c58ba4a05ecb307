"""Caseload queries scoped to the principal's organization."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.security.models import User
from socialcare.security.principal import Principal


def staff(session: Session, principal: Principal) -> list[tuple[int, str, str]]:
    """The active users of the principal's organization who may work referrals: (id, username, name)."""
    return list(session.execute(select(User.id, User.username, User.full_name)
                                .where(User.organization_id == principal.org_id, User.is_active.is_(True),
                                       User.role != "auditor").order_by(User.full_name)).all())
