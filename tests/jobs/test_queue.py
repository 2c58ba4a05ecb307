"""The job queue's rules, in-process: a run is queued once, claimed once, its failure kept with the
error and retried from the Jobs page; the schedule queues each periodic job once per slot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from socialcare.core.clock import utcnow
from socialcare.jobs import queue, registry
from socialcare.jobs.models import JobRun, JobSchedule
from socialcare.jobs.registry import Job
from tests.web.fixtures import csrf_from

CALLS: list[dict] = []


def _ok(session, n: int = 0):
    CALLS.append({"n": n})
    return {"doubled": n * 2}


def _boom():
    raise RuntimeError("the partner's server said no")


@pytest.fixture(autouse=True)
def test_jobs(monkeypatch):
    CALLS.clear()
    jobs = registry._registry()
    monkeypatch.setitem(jobs, "test.ok", Job("test.ok", _ok, "adds"))
    monkeypatch.setitem(jobs, "test.boom", Job("test.boom", _boom, "fails", session=False))
    monkeypatch.setitem(jobs, "test.tick", Job("test.tick", _ok, "periodic", every=timedelta(minutes=10)))


def _run(db, run_id) -> JobRun:
    db.expire_all()
    return db.get(JobRun, run_id)


def test_a_run_is_queued_once_and_runs_once(db):
    first = queue.enqueue("test.ok", n=2)
    assert queue.enqueue("test.ok", n=2) is None  # the same job, waiting already
    other = queue.enqueue("test.ok", n=3)
    assert other and other != first
    assert queue.execute(first) == "succeeded"
    assert queue.execute(first) is None  # a second delivery of the message does nothing
    run = _run(db, first)
    assert (run.status, run.attempts, run.result, run.pending_key, run.running_key) == (
        "succeeded", 1, {"doubled": 4}, None, None)
    assert CALLS == [{"n": 2}]
    assert queue.enqueue("test.ok", n=2)  # once run, it may be queued again


def test_a_job_running_elsewhere_is_not_started_twice(db):
    first, second = queue.enqueue("test.ok", n=1), queue.enqueue("test.ok", n=1, dedupe=False)
    db.execute(JobRun.__table__.update().where(JobRun.id == first).values(
        status="running", running_key=registry.get_job("test.ok").key({"n": 1}), started_at=utcnow()))
    assert queue.execute(second) is None
    assert _run(db, second).status == "queued" and CALLS == []


def test_failure_is_kept_with_its_error_and_retried_from_the_jobs_page(db, world, client_factory):
    run_id = queue.enqueue("test.boom")
    assert queue.execute(run_id) == "failed"
    run = _run(db, run_id)
    assert run.status == "failed" and run.error.startswith("RuntimeError: the partner's server said no")

    admin = client_factory("admin_a")
    page = admin.get("/jobs?status=failed")
    assert page.status_code == 200 and "the partner&#39;s server said no" in page.text
    r = admin.post(f"/jobs/runs/{run_id}/retry", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    again = db.scalars(select(JobRun).where(JobRun.name == "test.boom", JobRun.status == "queued")).all()
    assert len(again) == 1 and again[0].queued_by == "admin_a"
    assert client_factory("staff_a").get("/jobs").status_code == 403  # administrators only


def test_the_schedule_queues_a_periodic_job_once_per_slot(db, monkeypatch):
    monkeypatch.setattr(queue, "all_jobs", lambda: [registry.get_job("test.tick")])  # only the test's job
    now = utcnow()
    assert "test.tick" in queue.tick(now)
    assert "test.tick" not in queue.tick(now)  # another worker ticking at the same moment
    assert "test.tick" not in queue.tick(now + timedelta(minutes=9))
    assert "test.tick" in queue.tick(now + timedelta(minutes=10))
    # a schedule that fell far behind runs once, then keeps its rhythm from now
    assert "test.tick" in queue.tick(now + timedelta(hours=5))
    row = db.get(JobSchedule, "test.tick")
    db.refresh(row)
    assert row.next_run_at.replace(tzinfo=None) > (now + timedelta(hours=5)).replace(tzinfo=None)


def test_a_run_left_running_by_a_dead_worker_is_marked_failed(db):
    run_id = queue.enqueue("test.ok", n=9)
    db.execute(JobRun.__table__.update().where(JobRun.id == run_id).values(
        status="running", running_key="x", started_at=utcnow() - timedelta(hours=1), worker="gone:1"))
    assert queue.sweep() == 1
    run = _run(db, run_id)
    assert run.status == "failed" and "gone:1" in run.error and run.running_key is None


def test_every_domain_job_is_registered():
    names = {j.name for j in registry.all_jobs()}
    assert {"interop.fhir_dispatch", "interop.fhir_push", "interop.fhir_poll", "interop.drop_folder",
            "referrals.clock_check", "measures.refresh"} <= names
