"""Queries for users, web sessions, API tokens and the audit log. Reads of the audit log are scoped
to what the auditor's organization may see."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.core.db import serialize
from socialcare.directory.models import Organization
from socialcare.members.models import Member
from socialcare.security.models import ApiToken, AuditEvent, User, WebSession
from socialcare.security.principal import Principal


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_of_own_org(session: Session, actor: Principal, user_id: int) -> User | None:
    """An account of the actor's own organization (administrators manage only those)."""
    user = session.get(User, user_id)
    return user if user is not None and user.organization_id == actor.org_id else None


def users_of_org(session: Session, org_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.organization_id == org_id).order_by(User.username)))


def lock_username(session: Session, username: str) -> None:
    """Serialize sign-in attempts on one username until the transaction ends, so concurrent attempts
    are counted one after the other (PostgreSQL: an advisory lock; SQLite: the write lock, taken now)."""
    serialize(session, "login:" + username.lower())


def recent_failed_logins(session: Session, username: str, since: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "login.failed",
            func.lower(AuditEvent.username) == username.strip().lower(),
            AuditEvent.at >= since,
        )
    ) or 0


def web_session_by_hash(session: Session, token_hash: str) -> WebSession | None:
    return session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))


def delete_web_session(session: Session, token_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


def delete_expired_sessions(session: Session, user_id: int) -> None:
    """Housekeeping at sign-in: a user's stale rows go, so the table does not grow forever."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id, WebSession.expires_at < utcnow()))


def delete_user_sessions(session: Session, user_id: int | None) -> int:
    return session.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount or 0


def revoke_user_tokens(session: Session, user_id: int | None) -> int:
    return session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
                           .values(revoked=True)).rowcount or 0


def tokens_of_user(session: Session, user_id: int | None) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def api_token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def touch_api_token(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


# ---- audit log -------------------------------------------------------------------------------


def audit_scope(principal: Principal):
    """Events an auditor may read: those of their own organization's users, and for a plan's
    auditor every event about that plan's members (whoever did it: a hub or CBO reading a shared
    member included)."""
    own = AuditEvent.organization_id == principal.org_id
    if principal.is_plan:
        plan_members = select(Member.id).where(Member.plan_id == principal.org_id)
        return or_(own, AuditEvent.member_id.in_(plan_members))
    return own


def audit_events_select(
    principal: Principal,
    *,
    username: str | None = None,
    action: str | None = None,
    member_id: int | None = None,
    allowed: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select:
    stmt = select(AuditEvent).where(audit_scope(principal))
    if username:
        stmt = stmt.where(func.lower(AuditEvent.username) == username.strip().lower())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action.strip()))
    if member_id is not None:
        stmt = stmt.where(AuditEvent.member_id == member_id)
    if allowed is not None:
        stmt = stmt.where(AuditEvent.allowed == allowed)
    if date_from:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to:
        stmt = stmt.where(AuditEvent.at < datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC))
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_actions(session: Session, principal: Principal) -> list[str]:
    return list(
        session.scalars(select(AuditEvent.action).where(audit_scope(principal)).distinct().order_by(AuditEvent.action))
    )


def audit_counts_since(session: Session, principal: Principal, since: datetime) -> tuple[int, int]:
    """(events, denied events) in scope since ``since``."""
    row = session.execute(
        select(func.count(), func.count().filter(AuditEvent.allowed.is_(False))).where(
            and_(audit_scope(principal), AuditEvent.at >= since)
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def organization(session: Session, org_id: int) -> Organization | None:
    return session.get(Organization, org_id)


def org_sign_in(session: Session, org_id: int):
    from socialcare.security.models import OrgSignIn

    return session.scalar(select(OrgSignIn).where(OrgSignIn.organization_id == org_id))
