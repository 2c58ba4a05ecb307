# ci-args: --referrals 200
"""Benchmark: the FHIR Direct exchange with a CBO's own server, N open referrals (default 2,000).

    .venv/bin/python bench/bench_fhir_direct.py                      # SQLite file in a temp dir
    .venv/bin/python bench/bench_fhir_direct.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Builds a migrated database with a plan, a CBO with a direct FHIR endpoint and N referrals to it, and
an in-process partner server (an httpx MockTransport keeping Tasks in a dict, so the figures are
socialcare's own work, not a network's). Times one sync pass that queues and pushes every referral
as a Task (one transaction per push, as the job runs), then the CBO accepting all of them on its
server and one pass polling them back through the referral state machine.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta

import httpx
from common import fresh_database
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from socialcare.core import db as core_db
from socialcare.core.clock import utcnow
from socialcare.directory.models import Organization
from socialcare.interop.fhir import outbound
from socialcare.members.models import Member
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral
from socialcare.security.principal import Principal


def partner_transport(tasks: dict) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        tid = request.url.path.rsplit("/", 1)[-1]
        if request.method == "PUT":
            tasks[tid] = json.loads(request.content)
            return httpx.Response(201, json=tasks[tid])
        if tid in tasks:
            return httpx.Response(200, json=tasks[tid])
        return httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})

    return httpx.MockTransport(handle)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--referrals", type=int, default=2000)
    ap.add_argument("--url", default=None, help="database URL (its schema is dropped and rebuilt)")
    args = ap.parse_args()
    n = args.referrals
    url, engine = fresh_database(args.url, "fhir")
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    core_db.set_session_factory(factory)  # the job's unit_of_work() uses this database

    t0 = time.perf_counter()
    with factory.begin() as s:
        plan = Organization(kind="health_plan", name="Bench Plan", description="")
        cbo = Organization(kind="cbo", name="Bench Meals CBO", description="")
        s.add_all([plan, cbo])
        s.flush()
        staff = Principal(user_id=None, username="bench", org_id=plan.id, org_kind="health_plan", role="plan_staff")
        admin = Principal(user_id=None, username="bench", org_id=plan.id, org_kind="health_plan", role="plan_admin")
        members = [Member(plan_id=plan.id, plan_member_id=f"B{i:07d}", first_name="Ana", last_name=f"Bench{i}",
                          birth_date=date(1960, 1, 1) + timedelta(days=i % 9000), sex="female",
                          product_line="medicaid", preferred_language="en") for i in range(n)]
        s.add_all(members)
        s.flush()
        for m in members:
            referrals.create_referral(s, staff, referrals.NewReferral(
                member_id=m.id, need_domain="food", owner_org_id=cbo.id, consent_scope="referral"))
        outbound.set_endpoint(s, admin, cbo.id, mode="direct", base_url="https://partner.bench/fhir",
                              bearer_token="bench")
    print(f"{n:,} referrals to a direct CBO set up in {time.perf_counter() - t0:.1f}s ({url.split(':')[0]})")

    tasks: dict = {}
    now = utcnow()
    with httpx.Client(transport=partner_transport(tasks)) as client:
        t0 = time.perf_counter()
        report = outbound.sync(client, now=now, poll_every=timedelta(days=1))
        t_push = time.perf_counter() - t0
        assert report.queued == report.sent == len(tasks) == n, report
        print(f"queue + push {n:,} Tasks:      {t_push:.2f}s  ({n / t_push:,.0f} referrals/s)")

        for task in tasks.values():
            task["status"] = "accepted"
        t0 = time.perf_counter()
        report = outbound.sync(client, now=now + timedelta(days=2), poll_every=timedelta(days=1))
        t_poll = time.perf_counter() - t0
        changed = sum(len(p.changed) for p in report.polled)
        assert changed == n and report.queued == 0, report
        print(f"poll back {n:,} acceptances:   {t_poll:.2f}s  ({n / t_poll:,.0f} referrals/s)")

    with factory() as s:
        accepted = s.scalar(select(func.count()).select_from(Referral).where(Referral.status == "accepted"))
    assert accepted == n
    core_db.set_session_factory(None)
    engine.dispose()


if __name__ == "__main__":
    main()
