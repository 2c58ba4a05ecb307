"""Append-only audit log: who, when, what action, which object, which member, allowed or denied."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from socialcare.security.models import AuditEvent
from socialcare.security.principal import Principal


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object = None,
    member_id: int | None = None,
    allowed: bool = True,
    detail: dict | None = None,
    reason: str | None = None,
) -> None:
    session.execute(
        insert(AuditEvent).values(
            user_id=principal.user_id if principal else None,
            username=principal.username if principal else None,
            organization_id=principal.org_id if principal else None,
            via=principal.via if principal else None,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            member_id=member_id,
            allowed=allowed,
            detail=detail,
            reason=reason,
        )
    )


def record_member_reads(
    session: Session, principal: Principal, member_ids: Iterable[int], action: str = "member.read"
) -> None:
    """One audit row per member whose record was shown (a list page audits each row it shows)."""
    rows = [
        dict(
            user_id=principal.user_id,
            username=principal.username,
            organization_id=principal.org_id,
            via=principal.via,
            action=action,
            object_type="member",
            object_id=str(mid),
            member_id=mid,
            allowed=True,
        )
        for mid in member_ids
    ]
    if rows:
        session.execute(insert(AuditEvent), rows)


DENIALS_KEY = "socialcare.audit.denials"


def record_denied(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object = None,
    member_id: int | None = None,
    reason: str | None = None,
    detail: dict | None = None,
) -> None:
    """A refused attempt (allowed=False). A refusal usually ends in an error that rolls the request
    back, so the row is also kept on the session; the request's unit of work (web.deps.get_db)
    writes it again after the rollback: a denial is never lost."""
    row = dict(
        user_id=principal.user_id if principal else None,
        username=principal.username if principal else None,
        organization_id=principal.org_id if principal else None,
        via=principal.via if principal else None,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        member_id=member_id,
        allowed=False,
        detail=detail,
        reason=reason,
    )
    session.execute(insert(AuditEvent), [row])
    session.info.setdefault(DENIALS_KEY, []).append(row)


def replay_denials(session: Session) -> None:
    """After a rollback: write again the refusals recorded in the failed transaction."""
    rows = session.info.pop(DENIALS_KEY, None)
    if rows:
        session.execute(insert(AuditEvent), rows)
