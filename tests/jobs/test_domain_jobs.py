"""The jobs each domain lists, run as a worker runs them."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from socialcare.core.clock import utcnow
from socialcare.core.settings import get_settings
from socialcare.jobs import queue
from socialcare.jobs.models import JobRun
from socialcare.referrals import service as referrals


def _run(db, name, **kwargs) -> JobRun:
    run_id = queue.enqueue(name, queued_by="test", dedupe=False, **kwargs)
    queue.execute(run_id)
    db.expire_all()
    return db.get(JobRun, run_id)


def test_clock_check_counts_overdue_referrals_by_owner(db, world):
    ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=world.members_a[0].id, need_domain="food", owner_org_id=world.cbo.id, urgency="urgent",
        consent_scope="referral"))
    db.execute(ref.__table__.update().where(ref.__table__.c.id == ref.id).values(
        outreach_due_at=utcnow() - timedelta(hours=1)))
    run = _run(db, "referrals.clock_check")
    assert run.status == "succeeded", run.error
    assert run.result["overdue_by_owner"][str(world.cbo.id)]["outreach_overdue"] == 1


def test_measure_refresh_runs_for_the_last_month(db, world):
    run = _run(db, "measures.refresh")
    assert run.status == "succeeded", run.error
    assert len(run.result["month"]) == 7 and isinstance(run.result["contracts"], dict)


def test_drop_folder_pickup_imports_settled_files_as_its_user(db, world, tmp_path, monkeypatch):
    folder = tmp_path / "drop"
    folder.mkdir()
    monkeypatch.setenv("SOCIALCARE_DROP_FOLDER", str(folder))
    monkeypatch.setenv("SOCIALCARE_DROP_FOLDER_USER", "cbo_staff")
    get_settings.cache_clear()
    try:
        settled, fresh = folder / "notes.csv", folder / "service_record_new.csv"
        settled.write_text("a,b\n1,2\n")
        old = time.time() - 120
        os.utime(settled, (old, old))
        fresh.write_text("still uploading")
        run = _run(db, "interop.drop_folder")
        assert run.status == "succeeded", run.error
        [outcome] = run.result["files"]
        assert outcome["file"] == "notes.csv" and outcome["status"] == "rejected"
        assert (folder / "rejected" / "notes.csv").exists() and fresh.exists()  # the fresh one waits
    finally:
        get_settings.cache_clear()


def test_drop_folder_job_is_off_until_configured():
    from socialcare.jobs.registry import get_job

    assert not get_job("interop.drop_folder").is_enabled()
