"""Escalations climb their contract's pathway on their own: every unanswered escalation whose level's
response time has passed moves to the next level (partnership.escalations.climb_overdue)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.jobs import Job
from socialcare.partnership.escalations import climb_overdue


def climb_escalations(session: Session) -> dict:
    climbed = climb_overdue(session, utcnow())
    return {"climbed": [e.id for e in climbed], "count": len(climbed)}


JOBS = [
    Job("partnership.climb_escalations", climb_escalations,
        "Move unanswered escalations to the next level of their contract's escalation pathway",
        every=timedelta(minutes=15)),
]
