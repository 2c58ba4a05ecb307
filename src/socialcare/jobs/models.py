"""Every job run, and the periodic schedule the workers share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class JobRun(IdMixin, Base):
    """One run of a job. ``pending_key`` is set while the run waits and ``running_key`` while it runs;
    both are unique, so a job with the same arguments is never queued twice nor run by two workers
    at once (a unique index, not a lock, so it holds across processes and on both databases)."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_status_id", "status", "id"),)

    name: Mapped[str] = mapped_column(String(80), index=True)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued, running, succeeded, failed
    pending_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    running_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the worker that ran it
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    queued_by: Mapped[str | None] = mapped_column(String(80))  # schedule, a username, another job
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobSchedule(Base):
    """When each periodic job is next due; a worker that moves ``next_run_at`` forward (one
    conditional UPDATE) is the one that queues it."""

    __tablename__ = "job_schedule"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
