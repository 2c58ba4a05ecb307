"""Notifications on the worker: overdue clocks raise their notification, pending emails go out, and
each morning the daily digests (notifications.service)."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy.orm import Session

from socialcare.jobs import Job
from socialcare.notifications import service


def overdue(session: Session) -> dict:
    return {"raised": service.check_overdue(session)}


def email(session: Session) -> dict:
    return {"sent": service.deliver_pending_email(session)}


def digest(session: Session) -> dict:
    return {"sent": service.send_daily_digest(session)}


JOBS = [
    Job("notifications.overdue", overdue, "Raise an overdue notification for each referral clock that ran out",
        every=timedelta(minutes=15)),
    Job("notifications.email", email, "Send pending notification emails (SMTP settings)",
        every=timedelta(minutes=1)),
    Job("notifications.digest", digest, "Send each user's daily digest of notifications",
        every=timedelta(days=1), at=time(11, 0)),
]
