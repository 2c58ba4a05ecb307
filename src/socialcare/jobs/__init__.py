"""Background jobs: FHIR pushes and polls per partner, drop-folder pickup, clock checks, measure refresh...

A job is a plain function a domain lists in its ``jobs.py`` (``JOBS = [Job(...)]``, found like
``api.py`` and ``pages.py``). huey carries the work (an SQLite queue file in the data dir by default,
Redis when ``SOCIALCARE_REDIS_URL`` is set); the database keeps every run (``job_run``: queued,
running, succeeded, failed with its error) and the periodic schedule (``job_schedule``), and that is
where several workers agree: a run is claimed by one conditional UPDATE, a periodic slot by another,
so no job runs twice. See docs/operations.md.
"""

from socialcare.jobs.registry import Job, all_jobs, get_job

__all__ = ["Job", "all_jobs", "get_job", "enqueue"]


def enqueue(name: str, *, dedupe: bool = True, **kwargs):
    """Queue the job ``name`` with ``kwargs`` (JSON values). See ``socialcare.jobs.queue.enqueue``."""
    from socialcare.jobs.queue import enqueue as _enqueue

    return _enqueue(name, dedupe=dedupe, **kwargs)
