"""Queries of the settings page: the user's language and email, the organization's time zone."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialcare.directory.models import Organization
from socialcare.security.models import User
from socialcare.security.principal import Principal


def own_settings(session: Session, principal: Principal) -> dict:
    zone = session.scalar(select(Organization.time_zone).where(Organization.id == principal.org_id))
    email = session.scalar(select(User.email).where(User.id == principal.user_id)) if principal.user_id else None
    return {"time_zone": zone or "UTC", "email": email}


def set_language(session: Session, principal: Principal, language: str) -> None:
    if principal.user_id:
        session.execute(update(User).where(User.id == principal.user_id).values(language=language))


def set_time_zone(session: Session, principal: Principal, zone: str) -> None:
    session.execute(update(Organization).where(Organization.id == principal.org_id).values(time_zone=zone))
