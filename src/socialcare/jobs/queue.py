"""huey carries job runs between processes; the database decides who runs what.

``enqueue`` writes a ``job_run`` row (its own short transaction) and puts its id on the huey queue.
A worker's ``execute(run_id)`` claims the row with one conditional UPDATE (queued -> running, and the
unique ``running_key``): a message delivered twice, or two workers racing, run it once. ``tick``
queues the periodic jobs that are due, each slot claimed by one conditional UPDATE of
``job_schedule``, so any number of workers may tick.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import datetime, timedelta
from functools import lru_cache

from huey import RedisHuey, SqliteHuey
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.db import savepoint, unit_of_work
from socialcare.core.errors import NotFound
from socialcare.core.settings import get_settings
from socialcare.jobs.models import JobRun, JobSchedule
from socialcare.jobs.registry import Job, all_jobs, get_job

log = logging.getLogger("socialcare.jobs")
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"[:120]


@lru_cache
def get_huey():
    """The queue: Redis when SOCIALCARE_REDIS_URL is set, else an SQLite file beside the database."""
    settings = get_settings()
    if settings.redis_url:
        huey = RedisHuey(settings.jobs_queue_name, url=settings.redis_url, utc=True)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(settings.jobs_queue_name, filename=str((settings.data_dir / "jobs-queue.db").resolve()), utc=True)

    @huey.task(name="socialcare.execute")
    def execute_task(run_id: int) -> None:
        execute(run_id)

    huey.socialcare_execute = execute_task
    return huey


def backend_name() -> str:
    return "redis" if get_settings().redis_url else "sqlite"


def ping() -> None:
    """Raises when the queue cannot be reached (readiness)."""
    huey = get_huey()
    if get_settings().redis_url:
        huey.storage.conn.ping()
    else:
        huey.pending_count()


def queue_depth() -> int:
    return get_huey().pending_count()


# ---- queueing ------------------------------------------------------------------------------------


def enqueue(name: str, *, dedupe: bool = True, queued_by: str | None = None, **kwargs) -> int | None:
    """Queue a run of ``name``. With ``dedupe`` (default) nothing is added when the same job with the
    same arguments is already waiting; returns the run's id, or None when it was already queued."""
    job = get_job(name)
    if job is None:
        raise NotFound(f"There is no job '{name}'.")
    try:
        with unit_of_work() as session:
            run_id = session.execute(insert(JobRun).values(
                name=name, kwargs=kwargs, status="queued", attempts=0, queued_at=utcnow(),
                pending_key=job.key(kwargs) if dedupe else None, queued_by=(queued_by or "")[:80] or None,
            ).returning(JobRun.id)).scalar_one()
    except sa_exc.IntegrityError:
        return None  # the same run is already waiting
    get_huey().socialcare_execute(run_id)
    return run_id


def retry(session: Session, run_id: int, *, by: str) -> int:
    """Queue a failed run again (the Jobs page's Retry): a new run with the same arguments."""
    run = session.get(JobRun, run_id)
    if run is None or run.status != "failed":
        raise NotFound(f"Job run #{run_id} is not a failed run.")
    new_id = enqueue(run.name, queued_by=by, **(run.kwargs or {}))
    return new_id or run_id


def requeue_waiting(older_than: timedelta = timedelta(minutes=2)) -> int:
    """Send the queue a message again for runs still waiting after ``older_than`` (the queue was lost:
    Redis restarted without persistence, the SQLite queue file was removed). Safe: a run is claimed once."""
    cutoff = utcnow() - older_than
    with unit_of_work() as session:
        ids = list(session.scalars(select(JobRun.id).where(JobRun.status == "queued", JobRun.queued_at < cutoff)))
    for run_id in ids:
        get_huey().socialcare_execute(run_id)
    return len(ids)


# ---- running ---------------------------------------------------------------------------------------


def _claim(run_id: int) -> JobRun | None:
    now = utcnow()
    with unit_of_work() as session:
        run = session.get(JobRun, run_id)
        if run is None or run.status != "queued":
            return None
        job = get_job(run.name)
        key = job.key(run.kwargs or {}) if job else run.name
        try:
            with savepoint(session):
                claimed = session.execute(
                    update(JobRun).where(JobRun.id == run_id, JobRun.status == "queued").values(
                        status="running", pending_key=None, running_key=key, started_at=now, worker=WORKER_ID,
                        attempts=JobRun.attempts + 1)
                ).rowcount
        except sa_exc.IntegrityError:
            claimed = -1
    if claimed == -1:
        # the same job is running elsewhere: this run waits for the next turn (queued again shortly)
        get_huey().socialcare_execute.schedule((run_id,), delay=_retry_delay())
        return None
    if not claimed:
        return None  # another worker claimed it first
    with unit_of_work() as session:
        return session.get(JobRun, run_id)


def _retry_delay() -> float:
    return max(get_settings().jobs_tick_seconds, 1.0)


def _finish(run_id: int, status: str, *, result: dict | None = None, error: str | None = None) -> None:
    with unit_of_work() as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            status=status, running_key=None, finished_at=utcnow(), result=result, error=error))


def execute(run_id: int) -> str | None:
    """Run one queued run (in a worker). Returns its final status, None if it was not ours to run."""
    run = _claim(run_id)
    if run is None:
        return None
    job = get_job(run.name)
    try:
        if job is None:
            raise NotFound(f"There is no job '{run.name}' in this version of socialcare.")
        if job.session:
            with unit_of_work() as session:
                result = job.func(session, **(run.kwargs or {}))
        else:
            result = job.func(**(run.kwargs or {}))
    except Exception as exc:  # a job's failure is recorded on its run, never kills the worker
        log.warning("job %s #%s failed: %s", run.name, run_id, exc)
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        tb = traceback.format_exc(limit=8)
        _finish(run_id, "failed", error=f"{error}\n\n{tb}"[:8000])
        return "failed"
    _finish(run_id, "succeeded", result=_jsonable(result))
    return "succeeded"


def _jsonable(value) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"result": value}
    import json

    return json.loads(json.dumps(value, default=str))


# ---- the schedule ----------------------------------------------------------------------------------


def _first_due(job: Job, now: datetime) -> datetime:
    if job.at is not None:
        due = now.replace(hour=job.at.hour, minute=job.at.minute, second=0, microsecond=0)
        return due if due > now else due + timedelta(days=1)
    return now


def _next_after(job: Job, due: datetime, now: datetime) -> datetime:
    assert job.every is not None
    nxt = due + job.every
    if nxt <= now:  # the workers were down for a while: one run now, then on the rhythm from now
        steps = int((now - due) / job.every) + 1
        nxt = due + job.every * steps
    return nxt


def tick(now: datetime | None = None) -> list[str]:
    """Queue every periodic job that is due. Safe to call from any number of workers at once."""
    now = now or utcnow()
    queued = []
    periodic = [j for j in all_jobs() if j.every is not None and j.is_enabled()]
    with unit_of_work() as session:
        have = {s.name: s for s in session.scalars(select(JobSchedule))}
        for job in periodic:
            if job.name not in have:
                try:
                    with savepoint(session):
                        session.add(JobSchedule(name=job.name, next_run_at=_first_due(job, now)))
                        session.flush()
                except sa_exc.IntegrityError:
                    pass
    for job in periodic:
        with unit_of_work() as session:
            row = session.get(JobSchedule, job.name)
            if row is None or as_utc(row.next_run_at) > now:
                continue
            won = session.execute(
                update(JobSchedule).where(JobSchedule.name == job.name, JobSchedule.next_run_at == row.next_run_at)
                .values(next_run_at=_next_after(job, as_utc(row.next_run_at), now), last_queued_at=now)
            ).rowcount
        if won:
            enqueue(job.name, queued_by="schedule")
            queued.append(job.name)
    sweep(now)
    return queued


def sweep(now: datetime | None = None) -> int:
    """Runs left 'running' past their job's timeout (a worker that died) are marked failed."""
    now = now or utcnow()
    n = 0
    with unit_of_work() as session:
        for run in session.scalars(select(JobRun).where(JobRun.status == "running")):
            job = get_job(run.name)
            timeout = job.timeout if job else timedelta(minutes=30)
            if run.started_at and as_utc(run.started_at) + timeout < now:
                run.status, run.running_key, run.finished_at = "failed", None, now
                run.error = f"The worker {run.worker} stopped answering: the run did not finish within {timeout}."
                n += 1
    return n
