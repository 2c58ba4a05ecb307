"""Account administration from the console (``socialcare users ...``).

Whoever runs the CLI on the server already holds the database, so they act as an administrator of
the organization they add an account to; the account rules (role fits the organization, password
length, unique username) and the audit trail are the same as on the web, because this calls the
same service functions in ``security.service``.
"""

from __future__ import annotations

import getpass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.core.errors import NotFound
from socialcare.directory.models import Organization
from socialcare.security import repository as repo
from socialcare.security import service
from socialcare.security.models import ApiToken, User
from socialcare.security.principal import Principal
from socialcare.security.rules import Role


def operator_principal(org: Organization) -> Principal:
    """The console operator, acting for ``org`` (audited as via='cli' under the OS user name)."""
    try:
        who = getpass.getuser()
    except Exception:  # pragma: no cover - no login name in some containers
        who = "operator"
    return Principal(
        user_id=None, username=f"cli:{who}"[:80], org_id=org.id, org_kind=org.kind,
        role=Role.PLAN_ADMIN.value,  # only used for the users:manage check: the operator may add accounts
        org_name=org.name, via="cli",
    )


def organization_by_name(session: Session, name: str) -> Organization:
    """Exact name, case-insensitive; otherwise a NotFound that lists close matches."""
    name = (name or "").strip()
    org = session.scalar(select(Organization).where(func.lower(Organization.name) == name.lower()))
    if org is not None:
        return org
    like = session.scalars(
        select(Organization.name).where(Organization.name.ilike(f"%{name}%")).order_by(Organization.name).limit(10)
    ).all()
    hint = f" Did you mean: {', '.join(like)}?" if like else " `socialcare users list` shows the organizations."
    raise NotFound(f"No organization is named '{name}'.{hint}")


def add_user(
    session: Session, *, username: str, role: str, org_name: str, password: str, full_name: str | None = None,
    email: str | None = None,
) -> User:
    org = organization_by_name(session, org_name)
    return service.create_user(
        session, operator_principal(org), username=username, full_name=full_name or username, password=password,
        role=role, email=email, organization_id=org.id,
    )


def list_users(session: Session, org_name: str | None = None) -> list[tuple[User, Organization]]:
    stmt = select(User, Organization).join(Organization, User.organization_id == Organization.id)
    if org_name:
        stmt = stmt.where(Organization.id == organization_by_name(session, org_name).id)
    return [(u, o) for u, o in session.execute(stmt.order_by(Organization.name, User.username)).all()]


def issue_token(session: Session, username: str, name: str = "cli", days: int = service.API_TOKEN_DAYS) -> tuple[str, ApiToken]:
    user = repo.user_by_username(session, username)
    if user is None:
        raise NotFound(f"No user is named '{username}'.")
    if not user.is_active:
        raise NotFound(f"The account '{username}' is deactivated.")
    return service.issue_api_token(session, user, name=name, days=days)
