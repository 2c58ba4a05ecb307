"""Prometheus metrics at /metrics (prometheus-client).

Request latency by route template (so /referrals/17 and /referrals/18 are one series) is measured in
the process that served the request. What every process should agree on is read from the database
when scraped: the job queue by status, failed job runs by job, and FHIR partner errors (pushes
waiting after an error or given up, partners whose last poll failed).
"""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.types import Scope

log = logging.getLogger("socialcare.metrics")

REQUEST_LATENCY = Histogram(
    "socialcare_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return path
    raw = scope.get("path", "")
    return "/static" if raw.startswith("/static/") else "unmatched"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(method, route, f"{status // 100}xx").observe(seconds)


class DatabaseCollector:
    """Gauges computed at scrape time from the shared database and queue."""

    def describe(self):
        return []  # nothing read at registration (there may be no database yet)

    def collect(self):
        from sqlalchemy import func, select

        from socialcare.core.db import unit_of_work
        from socialcare.interop.models import FhirEndpoint, FhirOutbound
        from socialcare.jobs import queue
        from socialcare.jobs import repository as jobs_repo

        runs = GaugeMetricFamily("socialcare_job_runs", "Job runs in the database by job and status",
                                 labels=["job", "status"])
        depth = GaugeMetricFamily("socialcare_job_queue_depth", "Job runs waiting for a worker")
        failed = GaugeMetricFamily("socialcare_job_failures", "Failed job runs kept in the database, by job",
                                   labels=["job"])
        partner = GaugeMetricFamily("socialcare_fhir_partner_errors",
                                    "FHIR Direct partner errors: pushes retrying or failed, last poll failed",
                                    labels=["organization_id", "kind"])
        try:
            with unit_of_work() as session:
                waiting = 0
                for name, status, n in jobs_repo.counts_by_name_status(session):
                    runs.add_metric([name, status], n)
                    if status == "failed":
                        failed.add_metric([name], n)
                    if status == "queued":
                        waiting += n
                depth.add_metric([], waiting)
                rows = session.execute(
                    select(FhirEndpoint.organization_id, FhirOutbound.status, func.count())
                    .join(FhirEndpoint, FhirEndpoint.id == FhirOutbound.endpoint_id)
                    .where((FhirOutbound.status == "failed")
                           | ((FhirOutbound.status == "pending") & FhirOutbound.last_error.is_not(None)))
                    .group_by(FhirEndpoint.organization_id, FhirOutbound.status))
                for org_id, status, n in rows:
                    partner.add_metric([str(org_id), "push_failed" if status == "failed" else "push_retrying"], n)
                for org_id in session.scalars(select(FhirEndpoint.organization_id).where(
                        FhirEndpoint.last_poll_error.is_not(None))):
                    partner.add_metric([str(org_id), "poll_failed"], 1)
        except Exception:  # a scrape must answer even when the database does not
            log.exception("metrics from the database could not be read")
        yield runs
        yield depth
        yield failed
        yield partner
        backend = GaugeMetricFamily("socialcare_job_backend_pending", "Messages waiting in the huey queue",
                                    labels=["backend"])
        try:
            backend.add_metric([queue.backend_name()], queue.queue_depth())
        except Exception:
            log.exception("the job queue could not be read")
        yield backend


_collector: DatabaseCollector | None = None


def install() -> None:
    global _collector
    if _collector is None:
        _collector = DatabaseCollector()
        REGISTRY.register(_collector)


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
