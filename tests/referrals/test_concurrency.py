"""Two staff on the same referral at the same time, and a retried create, on PostgreSQL with real
concurrent transactions (each worker its own connection and commit)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker

from socialcare.core.errors import Conflict
from socialcare.referrals import service as svc
from socialcare.referrals.models import Referral, ReferralEvent
from tests.conftest import is_postgres
from tests.factories import make_member, make_org, make_user

pytestmark = pytest.mark.skipif(
    not is_postgres(),
    reason="concurrency needs real concurrent transactions: SQLite serializes writers with a database lock; "
           "run with SOCIALCARE_DATABASE_URL=postgresql+psycopg://...",
)


@pytest.fixture
def committed(engine):
    """Committed rows (the workers use their own connections), removed afterwards."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s:
        plan = make_org(s, "health_plan", name=f"concurrency plan {uuid.uuid4().hex[:8]}")
        cbo = make_org(s, "cbo", name=f"concurrency cbo {uuid.uuid4().hex[:8]}")
        plan_user = make_user(s, plan, "plan_staff")
        cbo_users = [make_user(s, cbo, "cbo_staff") for _ in range(2)]
        member = make_member(s, plan)
        s.commit()
    yield factory, plan, cbo, plan_user, cbo_users, member
    # The audit log is append-only, so the organizations, users and member stay (named "concurrency ...");
    # the referrals go.
    with factory() as s:
        ids = select(Referral.id).where(Referral.plan_id == plan.id)
        s.execute(delete(ReferralEvent).where(ReferralEvent.referral_id.in_(ids)))
        s.execute(delete(Referral).where(Referral.plan_id == plan.id))
        s.commit()


def _run_together(fns):
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def runner(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_same_version_exactly_one_wins(committed):
    factory, plan, cbo, plan_user, (u1, u2), member = committed
    with factory() as s:
        ref, _ = svc.create_referral(s, plan_user, svc.NewReferral(member_id=member.id, need_domain="food",
                                                                   owner_org_id=cbo.id))
        s.commit()
        rid, version = ref.id, ref.version

    def worker(user, action, **kw):
        def go():
            with factory() as s:
                r = svc.act(s, user, rid, action, version=version, **kw)
                s.commit()
                return r.version
        return go

    results = _run_together([worker(u1, "accept"), worker(u2, "reject", reason="no capacity")])
    conflicts = [r for r in results if isinstance(r, Conflict)]
    wins = [r for r in results if isinstance(r, int)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    assert "changed by someone else" in conflicts[0].message
    with factory() as s:
        ref = s.get(Referral, rid)
        assert ref.version == version + 1
        assert s.scalar(select(func.count()).select_from(ReferralEvent).where(ReferralEvent.referral_id == rid)) == 2


def test_many_workers_same_version(committed):
    factory, plan, cbo, plan_user, users, member = committed
    with factory() as s:
        ref, _ = svc.create_referral(s, plan_user, svc.NewReferral(member_id=member.id, need_domain="food",
                                                                   owner_org_id=cbo.id))
        ref = svc.act(s, users[0], ref.id, "accept", version=ref.version)
        s.commit()
        rid, version = ref.id, ref.version

    def note(i):
        def go():
            with factory() as s:
                svc.act(s, users[i % 2], rid, "outreach", version=version, channel="phone", result="no_answer")
                s.commit()
                return True
        return go

    results = _run_together([note(i) for i in range(8)])
    assert sum(r is True for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not True)
    with factory() as s:
        assert s.get(Referral, rid).outreach_attempts == 1


def test_same_idempotency_key_concurrently_creates_one(committed):
    factory, plan, cbo, plan_user, _users, member = committed

    def create():
        with factory() as s:
            ref, created = svc.create_referral(
                s, plan_user, svc.NewReferral(member_id=member.id, need_domain="food", owner_org_id=cbo.id),
                idempotency_key="same-key-42")
            s.commit()
            return ref.id, created

    results = _run_together([create for _ in range(6)])
    assert not any(isinstance(r, Exception) for r in results), results
    assert len({r[0] for r in results}) == 1
    assert sum(r[1] for r in results) == 1
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Referral).where(
            Referral.idempotency_key == "same-key-42", Referral.plan_id == plan.id)) == 1
