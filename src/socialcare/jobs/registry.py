"""What jobs exist: each domain's ``jobs.py`` exports ``JOBS``, a list of ``Job``.

A job's function is a plain function. With ``session=True`` (the default) the runner opens the unit
of work and calls ``func(session, **kwargs)``: a service that flushes, and the job commits. Jobs that
talk to other servers take ``session=False`` and open one short transaction per step themselves, so
a slow partner never holds a transaction open. A function may return a dict: kept as the run's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from functools import lru_cache

from socialcare.kit.discovery import domain_modules


@dataclass(frozen=True)
class Job:
    name: str  # "<domain>.<what>", e.g. "interop.fhir_push"
    func: Callable[..., dict | None]
    description: str
    session: bool = True
    every: timedelta | None = None  # periodic: queued by the schedule this often
    at: time | None = None  # with every=1 day: the UTC time of day it is due
    timeout: timedelta = timedelta(minutes=30)  # a run still 'running' after this is marked failed
    enabled: Callable[[], bool] | None = None  # periodic jobs that depend on a setting (the drop folder)

    def is_enabled(self) -> bool:
        return self.enabled is None or bool(self.enabled())

    def key(self, kwargs: dict) -> str:
        """Identifies 'the same job': name and arguments."""
        args = ",".join(f"{k}={kwargs[k]}" for k in sorted(kwargs))
        return f"{self.name}({args})"[:200]


@lru_cache
def _registry() -> dict[str, Job]:
    jobs: dict[str, Job] = {}
    for module in domain_modules("jobs"):
        for job in getattr(module, "JOBS", []):
            if job.name in jobs:
                raise RuntimeError(f"{module.__name__}: the job name '{job.name}' is already taken")
            jobs[job.name] = job
    return jobs


def all_jobs() -> list[Job]:
    return sorted(_registry().values(), key=lambda j: j.name)


def get_job(name: str) -> Job | None:
    return _registry().get(name)
