"""Scale out on one machine: two web processes and two workers share one PostgreSQL and one Redis.
Concurrent clients work referrals through both web processes (no update is lost: every accepted
change is in the referral's version and timeline, every stale one is refused with 409), while both
workers tick the schedule and push each referral to the partner's FHIR server exactly once (no job
runs twice, and no two runs of one job overlap). Bounded in time; skipped without PostgreSQL or Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from socialcare.core.clock import as_utc
from socialcare.core.db import make_engine
from socialcare.interop.fhir import outbound
from socialcare.jobs.models import JobRun
from socialcare.referrals.models import Referral, ReferralEvent
from socialcare.security.models import User
from socialcare.security.service import principal_for_user
from tests.jobs import live
from tests.jobs.conftest import build_world

SUITE_URL = os.environ.get("SOCIALCARE_DATABASE_URL", "")
REDIS_URL = os.environ.get("SOCIALCARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
BUDGET_SECONDS = 300  # the whole scenario, processes' start included
CLIENTS, REFERRALS, NOTES_EACH, RACED = 6, 24, 4, 4


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except Exception:
        return False


pytestmark = [
    pytest.mark.skipif(not SUITE_URL.startswith("postgresql"), reason="needs PostgreSQL (SOCIALCARE_DATABASE_URL)"),
    pytest.mark.skipif(not _redis_answers(), reason=f"needs Redis at {REDIS_URL}"),
]


@pytest.fixture
def scale_db():
    """A schema of its own in the suite's PostgreSQL database (the suite's tables stay untouched)."""
    schema = f"scale_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(SUITE_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in SUITE_URL else "?"
    url = f"{SUITE_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_two_web_processes_and_two_workers(scale_db, tmp_path):
    started = time.monotonic()
    w = build_world(scale_db, tmp_path, members=REFERRALS)
    engine = make_engine(scale_db)
    partner = live.LivePartner()
    procs: list[live.Process] = []
    try:
        with Session(engine) as s:
            admin = principal_for_user(s.scalar(sa.select(User).where(User.username == "admin")))
            outbound.set_endpoint(s, admin, w.cbo_id, mode="direct", base_url=partner.url,
                                  bearer_token=partner.server.token)
            s.commit()
        env = live.process_env(scale_db, tmp_path, w.clock, SOCIALCARE_REDIS_URL=REDIS_URL,
                               SOCIALCARE_JOBS_QUEUE_NAME=f"scale-{uuid.uuid4().hex[:8]}")
        procs = [live.serve(env, tmp_path / f"web{i}.log", "--no-worker") for i in (1, 2)]
        procs += [live.worker(env, tmp_path / f"worker{i}.log") for i in (1, 2)]
        for p in procs[:2]:
            p.wait_ready(timeout=BUDGET_SECONDS / 2)
        webs = [p.url for p in procs[:2]]

        def token(base, username):
            r = httpx.post(f"{base}/api/v1/tokens", json={"username": username, "password": w.password}, timeout=30)
            assert r.status_code == 201, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        # referrals made through both web processes at once
        ref_ids: list[int] = []
        lock = threading.Lock()
        errors: list[str] = []

        def refer(i: int, members: list[int]):
            base = webs[i % 2]
            headers = token(base, "staff")
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                for m in members:
                    r = c.post("/api/v1/referrals", json={"member_id": m, "need_domain": "food",
                                                          "owner_org_id": w.cbo_id, "consent_scope": "referral"})
                    if r.status_code != 201:
                        errors.append(r.text)
                        continue
                    with lock:
                        ref_ids.append(r.json()["id"])

        chunks = [w.member_ids[i::CLIENTS] for i in range(CLIENTS)]
        threads = [threading.Thread(target=refer, args=(i, chunk)) for i, chunk in enumerate(chunks)]
        [t.start() for t in threads]
        [t.join(120) for t in threads]
        assert not errors and len(ref_ids) == REFERRALS, errors[:3]

        # races: every client accepts the same referrals with the same version: exactly one wins each
        raced = ref_ids[:RACED]
        outcomes: Counter = Counter()

        def accept(i: int):
            base = webs[i % 2]
            with httpx.Client(base_url=base, headers=token(base, "cbo"), timeout=30) as c:
                for rid in raced:
                    r = c.post(f"/api/v1/referrals/{rid}/actions/accept", json={}, headers={"If-Match": '"1"'})
                    with lock:
                        outcomes[(rid, r.status_code)] += 1

        threads = [threading.Thread(target=accept, args=(i,)) for i in range(CLIENTS)]
        [t.start() for t in threads]
        [t.join(120) for t in threads]
        for rid in raced:
            assert outcomes[(rid, 200)] == 1 and outcomes[(rid, 409)] == CLIENTS - 1, outcomes

        # notes on the same referrals from every client through both processes: read, write with
        # If-Match, and on 409 read again; every 200 must be in the referral's version and timeline
        written: Counter = Counter()

        def annotate(i: int):
            base = webs[i % 2]
            with httpx.Client(base_url=base, headers=token(base, "cbo"), timeout=30) as c:
                for n in range(NOTES_EACH):
                    for rid in raced:
                        for _ in range(50):
                            etag = c.get(f"/api/v1/referrals/{rid}").headers["etag"]
                            r = c.post(f"/api/v1/referrals/{rid}/actions/note", headers={"If-Match": etag},
                                       json={"reason": f"client {i} note {n}"})
                            if r.status_code == 200:
                                with lock:
                                    written[rid] += 1
                                break
                            assert r.status_code == 409, r.text

        threads = [threading.Thread(target=annotate, args=(i,)) for i in range(CLIENTS)]
        [t.start() for t in threads]
        [t.join(180) for t in threads]
        with Session(engine) as s:
            for rid in raced:
                ref = s.get(Referral, rid)
                notes = s.scalar(sa.select(sa.func.count()).select_from(ReferralEvent).where(
                    ReferralEvent.referral_id == rid, ReferralEvent.action == "note"))
                assert written[rid] == CLIENTS * NOTES_EACH == notes  # none lost
                assert ref.version == 2 + notes  # created at 1, accepted, then one per note

        # meanwhile the workers: move the clock on until every referral's Task is at the partner
        # (the raced referrals were accepted here, perhaps before their push: the partner hears of those
        # only if the push came first; every other one is still 'requested' and must arrive)
        waiting = {f"/fhir/Task/socialcare-referral-{rid}" for rid in ref_ids[RACED:]}
        live.eventually(lambda: waiting <= set(partner.server.puts()), step=lambda: w.clock.advance(61),
                        timeout=max(30.0, BUDGET_SECONDS - (time.monotonic() - started)),
                        what="every requested referral pushed by the two workers")
        puts = Counter(partner.server.puts())
        assert set(puts.values()) == {1}  # each Task pushed once, by one worker

        with Session(engine) as s:
            runs = list(s.scalars(sa.select(JobRun)))
        assert all(r.attempts <= 1 for r in runs)
        workers_seen = {r.worker for r in runs if r.worker}
        by_job: dict = {}
        for r in runs:
            if r.started_at and r.finished_at:
                by_job.setdefault((r.name, str(sorted(r.kwargs.items()))), []).append(
                    (as_utc(r.started_at), as_utc(r.finished_at)))
        for spans in by_job.values():  # one job (name + arguments) never ran twice at once
            spans.sort()
            assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False))
        assert len(workers_seen) >= 1 and any(r.name == "interop.fhir_push" for r in runs)
        assert time.monotonic() - started < BUDGET_SECONDS
    except BaseException:
        for p in procs:
            print(f"---- {p.log.name}\n{p.output()}")
        raise
    finally:
        for p in procs:
            p.stop()
        partner.stop()
        engine.dispose()
