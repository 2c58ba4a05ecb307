"""An organization administrator manages its own people: invite a colleague, deactivate (their web
sessions and API tokens stop working at once), reactivate, and reset a password. Plan, hub and CBO
administrators alike (``users:manage``), each for its own organization only; every step is audited.

An invitation or a reset is a one-time link (``/account/password/<token>``) valid for a few days; the
administrator sees it once and passes it on. Until it is used the account has no usable password.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.errors import Conflict, InvalidInput, NotFound, Problem
from socialcare.security import audit
from socialcare.security import repository as repo
from socialcare.security.models import AccountLink, ApiToken, User, WebSession
from socialcare.security.passwords import hash_password
from socialcare.security.principal import Principal
from socialcare.security.service import create_user, hash_token, principal_for_user

LINK_DAYS = 7
MIN_PASSWORD = 12


def _own_user(session: Session, actor: Principal, user_id: int) -> User:
    actor.require("users:manage")
    user = repo.user_of_own_org(session, actor, user_id)
    if user is None:
        raise NotFound(f"Your organization has no account {user_id}.")
    return user


def _unusable_password() -> str:
    # nobody knows this password: the account signs in only after the link sets one
    return hash_password(secrets.token_urlsafe(32))


def _new_link(session: Session, actor: Principal, user: User, kind: str) -> str:
    session.execute(update(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))
                    .values(used_at=utcnow()))  # an older link stops working
    token = secrets.token_urlsafe(32)
    session.add(AccountLink(token_hash=hash_token(token), user_id=user.id, kind=kind, created_by=actor.username,
                            created_at=utcnow(), expires_at=utcnow() + timedelta(days=LINK_DAYS)))
    session.flush()
    return token


def end_all_access(session: Session, user_id: int) -> tuple[int, int]:
    """Every web session of the user ends and every API token is revoked: (sessions, tokens)."""
    sessions = session.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount
    tokens = session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
                             .values(revoked=True)).rowcount
    return sessions or 0, tokens or 0


def invite(session: Session, actor: Principal, *, username: str, full_name: str, role: str,
           email: str | None = None) -> tuple[User, str]:
    """A new account in the administrator's organization, signed in only after the invitation link
    sets its password. Returns (user, token)."""
    user = create_user(session, actor, username=username, full_name=full_name, role=role, email=email,
                       password=secrets.token_urlsafe(16))
    user.password_hash = _unusable_password()
    token = _new_link(session, actor, user, "invite")
    audit.record(session, actor, "user.invited", object_type="user", object_id=user.id, detail={"role": role})
    return user, token


def deactivate(session: Session, actor: Principal, user_id: int) -> User:
    user = _own_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict("You cannot deactivate your own account; ask another administrator.")
    user.is_active = False
    sessions, tokens = end_all_access(session, user.id)
    session.execute(update(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))
                    .values(used_at=utcnow()))
    audit.record(session, actor, "user.deactivated", object_type="user", object_id=user.id,
                 detail={"sessions_ended": sessions, "tokens_revoked": tokens})
    session.flush()
    return user


def reactivate(session: Session, actor: Principal, user_id: int) -> User:
    user = _own_user(session, actor, user_id)
    user.is_active = True
    audit.record(session, actor, "user.reactivated", object_type="user", object_id=user.id)
    session.flush()
    return user


def reset_password(session: Session, actor: Principal, user_id: int) -> tuple[User, str]:
    """The old password stops working and the person's sessions and tokens end; the link sets a new one."""
    user = _own_user(session, actor, user_id)
    if not user.is_active:
        raise Conflict(f"{user.username} is deactivated; reactivate the account first.")
    user.password_hash = _unusable_password()
    end_all_access(session, user.id)
    token = _new_link(session, actor, user, "reset")
    audit.record(session, actor, "user.password_reset", object_type="user", object_id=user.id)
    return user, token


def change_role(session: Session, actor: Principal, user_id: int, role: str) -> User:
    from socialcare.security.rules import Role, role_fits_org

    user = _own_user(session, actor, user_id)
    if role not in {r.value for r in Role} or not role_fits_org(role, user.organization.kind):
        raise InvalidInput("The role was not changed.", [Problem(f"'{role}' does not fit your organization", field="role")])
    if user.id == actor.user_id:
        raise Conflict("You cannot change your own role.")
    before, user.role = user.role, role
    end_all_access(session, user.id)  # the new role applies at the next sign-in
    audit.record(session, actor, "user.role_changed", object_type="user", object_id=user.id,
                 detail={"from": before, "to": role})
    session.flush()
    return user


def link_for(session: Session, token: str) -> AccountLink:
    link = session.scalar(select(AccountLink).where(AccountLink.token_hash == hash_token(token or "")))
    if link is None or link.used_at is not None or as_utc(link.expires_at) <= utcnow() or not link.user.is_active:
        raise NotFound("This link is unknown, used or expired; ask your administrator for a new one.")
    return link


def set_password(session: Session, token: str, password: str, confirm: str) -> User:
    link = link_for(session, token)
    problems = []
    if len(password or "") < MIN_PASSWORD:
        problems.append(Problem(f"a password needs at least {MIN_PASSWORD} characters", field="password"))
    if password != confirm:
        problems.append(Problem("the two passwords differ", field="confirm"))
    if problems:
        raise InvalidInput("The password was not set.", problems)
    user = link.user
    user.password_hash = hash_password(password)
    link.used_at = utcnow()
    audit.record(session, principal_for_user(user, "web"), f"user.{link.kind}_accepted", object_type="user",
                 object_id=user.id)
    session.flush()
    return user


def pending_invites(session: Session, org_id: int) -> set[int]:
    """Accounts of the organization whose invitation is not used yet."""
    return set(session.scalars(
        select(AccountLink.user_id).join(User, User.id == AccountLink.user_id)
        .where(User.organization_id == org_id, AccountLink.kind == "invite", AccountLink.used_at.is_(None),
               AccountLink.expires_at > utcnow())))
