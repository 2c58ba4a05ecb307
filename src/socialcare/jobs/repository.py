"""Queries for the Jobs page, the CLI and the metrics."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.jobs.models import JobRun, JobSchedule

STATUSES = ("queued", "running", "failed", "succeeded")


def runs(session: Session, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[JobRun]:
    q = select(JobRun).order_by(JobRun.id.desc()).limit(limit).offset(offset)
    if status:
        q = q.where(JobRun.status == status)
    return list(session.scalars(q))


def counts_by_status(session: Session) -> dict[str, int]:
    got = dict(session.execute(select(JobRun.status, func.count()).group_by(JobRun.status)).all())
    return {s: int(got.get(s, 0)) for s in STATUSES}


def counts_by_name_status(session: Session) -> list[tuple[str, str, int]]:
    return [(n, s, int(c)) for n, s, c in session.execute(
        select(JobRun.name, JobRun.status, func.count()).group_by(JobRun.name, JobRun.status))]


def schedule(session: Session) -> dict[str, JobSchedule]:
    return {s.name: s for s in session.scalars(select(JobSchedule))}
