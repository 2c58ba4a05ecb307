"""Referral clock checks: which referrals' outreach, contact or service clock has run out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.jobs import Job
from socialcare.referrals.models import Referral
from socialcare.referrals.repository import overdue_columns


def clock_check(session: Session) -> dict:
    """Overdue referrals by owner organization and clock (the numbers the worklists put first)."""
    flags = overdue_columns(utcnow())
    out: dict[str, dict[str, int]] = {}
    for clock in ("outreach_overdue", "contact_overdue", "service_overdue"):
        for org_id, n in session.execute(
            select(Referral.owner_org_id, func.count()).where(flags[clock]).group_by(Referral.owner_org_id)
        ):
            out.setdefault(str(org_id), {})[clock] = int(n)
    return {"overdue_by_owner": out, "total": sum(sum(v.values()) for v in out.values())}


JOBS = [
    Job("referrals.clock_check", clock_check, "Count referrals whose outreach, contact or service clock ran out",
        every=timedelta(minutes=15)),
]
