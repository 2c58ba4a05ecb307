"""Small builders for tests: organizations, users (as Principals) and members."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from socialcare.directory.models import Organization
from socialcare.members.models import Member
from socialcare.security.models import User
from socialcare.security.passwords import hash_password
from socialcare.security.principal import Principal

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"
_HASH = None


def make_org(db: Session, kind: str = "health_plan", name: str | None = None, **kw) -> Organization:
    org = Organization(kind=kind, name=name or f"{kind} {next(_seq)}", description=kw.pop("description", ""), **kw)
    db.add(org)
    db.flush()
    return org


def make_user(db: Session, org: Organization, role: str, username: str | None = None) -> Principal:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    user = User(
        username=username or f"{role}{next(_seq)}",
        full_name=f"Test {role}",
        password_hash=_HASH,
        role=role,
        organization_id=org.id,
    )
    db.add(user)
    db.flush()
    return Principal(
        user_id=user.id, username=user.username, org_id=org.id, org_kind=org.kind, role=role, org_name=org.name
    )


def make_member(db: Session, plan: Organization, **kw) -> Member:
    n = next(_seq)
    values = dict(
        plan_id=plan.id,
        plan_member_id=f"M{n:07d}",
        first_name="Ana",
        last_name=f"Rivera{n}",
        birth_date=date(1970, 5, 17),
        sex="female",
        race="white",
        ethnicity="hispanic_or_latino",
        preferred_language="es",
        zip="14201",
        county="Erie",
        state="NY",
        product_line="medicaid",
        risk_score=Decimal("1.250"),
    )
    values.update(kw)
    m = Member(**values)
    db.add(m)
    db.flush()
    return m
