"""No server-wide stalls on PostgreSQL: requests contending for one row end with one winner and 409s,
and the server keeps answering everyone else (``/healthz`` within a second) all along.

A real server (uvicorn in a thread) against its own database ``<testdb>_race``, created and dropped
here; skipped on SQLite (one writer at a time there, by design). Bounded in time: every request has a
timeout and the test fails rather than waits."""

from __future__ import annotations

import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.browser.conftest import _admin_url, _free_port
from tests.factories import PASSWORD, make_member, make_org, make_user

pytestmark = pytest.mark.skipif(not os.environ.get("SOCIALCARE_DATABASE_URL", "").startswith("postgresql"),
                                reason="row locks and the thread pool matter on PostgreSQL")

N = 16
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def race_server():
    import uvicorn

    from socialcare.core.migrate import upgrade
    from socialcare.referrals.models import Consent, Referral
    from socialcare.web.app import create_app

    base = os.environ["SOCIALCARE_DATABASE_URL"]
    parsed = make_url(base)
    name = f"{parsed.database}_race"
    url = parsed.set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(_admin_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    upgrade(url)
    engine = sa.create_engine(url)
    with Session(engine) as db:
        plan = make_org(db, "health_plan", "Race Plan")
        cbo = make_org(db, "cbo", "Race CBO")
        make_user(db, plan, "plan_admin", "race_plan")
        make_user(db, cbo, "cbo_staff", "race_cbo")
        member = make_member(db, plan)
        now = datetime.now(UTC)
        ref = Referral(plan_id=plan.id, requester_org_id=plan.id, owner_org_id=cbo.id, member_id=member.id,
                       need_domain="food", status="requested", requested_at=now, created_at=now, updated_at=now)
        db.add(ref)
        db.add(Consent(member_id=member.id, plan_id=plan.id, organization_id=cbo.id, scope="referral",
                       granted_at=now))
        db.commit()
        ids = {"referral": ref.id}
    engine.dispose()
    app = create_app(database_url=url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    ids["url"] = url
    yield f"http://127.0.0.1:{port}", ids
    server.should_exit = True
    thread.join(timeout=10)
    app.state.session_factory.kw["bind"].dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class HealthWatch:
    """Polls /healthz all along; records the slowest answer."""

    def __init__(self, base: str):
        self.base, self.slowest, self.failures = base, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as c:
            while not self._stop.is_set():
                t = time.monotonic()
                try:
                    ok = c.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.slowest = max(self.slowest, time.monotonic() - t)
                self.failures += 0 if ok else 1
                time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)


def _signed_in(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    page = c.get("/login")
    token = CSRF_RE.search(page.text).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert r.status_code in (200, 303), r.text
    return c


def _together(fn, n: int = N) -> list[int]:
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n), timeout=90))


def test_identical_uploads_one_winner_the_rest_409(race_server):
    base, _ = race_server
    header = ("plan_member_id,first_name,last_name,birth_date,sex,product_line,coverage_start\n")
    csv = header + "".join(f"R{i:05d},Ana,Race{i},1970-05-17,female,medicaid,2025-01-01\n" for i in range(300))
    clients = [_signed_in(base, "race_plan") for _ in range(N)]
    tokens = [CSRF_RE.search(c.get("/exchange").text).group(1) for c in clients]

    def upload(i):
        r = clients[i].post("/exchange/import", data={"layout": "member_eligibility", "csrf_token": tokens[i]},
                            files={"file": ("members.csv", csv.encode(), "text/csv")})
        return r.status_code

    with HealthWatch(base) as health:
        codes = _together(upload)
    for c in clients:
        c.close()
    assert sorted(codes) == [200] + [409] * (N - 1), codes
    assert health.failures == 0 and health.slowest < 1.0, (health.failures, health.slowest)


def test_parallel_wrong_passwords_check_only_five(race_server):
    """40 wrong passwords at once on one account: attempts are counted one after the other, so only the
    first five are checked and the rest are refused as locked out."""
    base, ids = race_server

    def attempt(i):
        with httpx.Client(base_url=base, timeout=60) as c:
            return c.post("/api/v1/tokens", json={"username": "race_plan", "password": f"wrong-{i:04d}-guess"}).status_code

    codes = _together(attempt, 40)
    assert codes == [401] * 40
    engine = sa.create_engine(ids["url"])
    with engine.connect() as conn:
        checked = conn.execute(sa.text("SELECT count(*) FROM audit_event WHERE action = 'login.failed' "
                                       "AND username = 'race_plan'")).scalar()
    engine.dispose()
    assert checked == 5


def _fhir_writes_are_async() -> bool:
    import inspect

    from socialcare.interop.fhir import api

    return inspect.iscoroutinefunction(api.put_task)


@pytest.mark.xfail(_fhir_writes_are_async(), reason="FHIR write routes still run on the event loop (issue 17 "
                   "makes them plain def)", strict=False)
def test_concurrent_fhir_task_puts_one_winner_the_rest_409(race_server):
    base, ids = race_server
    with httpx.Client(base_url=base, timeout=30) as c:
        token = c.post("/api/v1/tokens", json={"username": "race_cbo", "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    fid = str(ids["referral"])
    task = {"resourceType": "Task", "id": fid, "status": "accepted", "intent": "order",
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]}}
    clients = [httpx.Client(base_url=base, timeout=30, headers=headers) for _ in range(N)]

    def put(i):
        return clients[i].put(f"/fhir/Task/{fid}", json=task).status_code

    with HealthWatch(base) as health:
        codes = _together(put)
    for c in clients:
        c.close()
    # the racers that read the referral before the winner committed lose (409); one that reads it after
    # finds it already accepted, and its PUT changes nothing (200, idempotent): one transition in all
    assert set(codes) <= {200, 409}, codes  # 409 for a racer that lost, 200 (no change) for one that waited
    engine = sa.create_engine(ids["url"])
    with engine.connect() as conn:
        accepted = conn.execute(sa.text("SELECT count(*) FROM referral_event WHERE referral_id = :r AND action = 'accept'"),
                                {"r": ids["referral"]}).scalar()
    engine.dispose()
    assert accepted == 1
    assert health.failures == 0 and health.slowest < 1.0, (health.failures, health.slowest)

