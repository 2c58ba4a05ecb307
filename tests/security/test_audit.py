"""The audit log is append-only, enforced by the database itself."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from socialcare.security import audit
from socialcare.security.models import AuditEvent
from tests.factories import make_org, make_user


def test_audit_rows_cannot_be_changed_or_deleted(db):
    plan = make_org(db)
    p = make_user(db, plan, "plan_staff")
    audit.record(db, p, "member.read", object_type="member", object_id=1, member_id=1)
    db.flush()
    row = db.scalars(sa.select(AuditEvent).where(AuditEvent.username == p.username)).one()
    assert row.allowed and row.member_id == 1 and row.organization_id == plan.id
    with pytest.raises(DatabaseError, match="append-only"):
        with db.begin_nested():
            db.execute(sa.update(AuditEvent).where(AuditEvent.id == row.id).values(allowed=False))
    with pytest.raises(DatabaseError, match="append-only"):
        with db.begin_nested():
            db.execute(sa.delete(AuditEvent).where(AuditEvent.id == row.id))
