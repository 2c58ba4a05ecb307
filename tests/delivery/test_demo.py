"""The demo's delivery: realistic content for every delivery page, consistent with the referrals and
with the delivery rules (steps in order, renewals after the first period, nothing after the demo's today)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from socialcare.demo.builder import build_demo

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('delivery-demo') / 'demo.db'}"
    result = build_demo(url, seed=11, members=1500, as_of=AS_OF, progress=False)
    engine = sa.create_engine(url)
    yield engine, result
    engine.dispose()


def q(engine, sql):
    with engine.connect() as c:
        return c.execute(sa.text(sql)).all()


def test_every_kind_of_delivery_is_there(demo):
    engine, result = demo
    made = result["state"]["delivery"]
    assert made["service_records"] > 100 and made["episodes"] > 5 and made["pathways_completed"] > 0
    assert made["engagements"] > 0 and made["disbursements"] > 0
    statuses = {r[0] for r in q(engine, "select distinct status from care_episode_renewal")}
    assert statuses == {"requested", "approved", "denied"}
    assert {r[0] for r in q(engine, "select distinct status from pathway_instance")} >= {"open", "completed"}


def test_delivery_follows_the_referrals_and_the_calendar(demo):
    engine, _ = demo
    # every service record belongs to a referral its organization holds for that member, after service start
    assert q(engine, """select count(*) from service_record s join referral r on r.id = s.referral_id
                        where r.owner_org_id != s.organization_id or r.member_id != s.member_id
                           or s.service_date < date(r.service_started_at)""")[0][0] == 0
    for table, col in (("service_record", "service_date"), ("engagement", "engaged_on"),
                       ("pathway_step", "completed_on"), ("flex_fund_disbursement", "disbursed_on")):
        assert q(engine, f"select count(*) from {table} where {col} > '{AS_OF.isoformat()}'")[0][0] == 0, table
    # an approved renewal starts the day after the first 90-day period and moves the planned end
    bad = q(engine, """select count(*) from care_episode_renewal r join care_episode e on e.id = r.episode_id
                       where r.period_start != date(e.start_date, '+90 days')
                          or (r.status = 'approved' and e.planned_end != r.period_end)""")
    assert bad[0][0] == 0
    # a completed pathway has all six steps, confirmed by the hub coordinator
    rows = q(engine, """select p.id, count(s.id), p.confirmed_by from pathway_instance p
                        join pathway_step s on s.instance_id = p.id where p.status = 'completed'
                        group by p.id, p.confirmed_by""")
    assert rows and all(n == 6 and who == "hub-coordinator" for _, n, who in rows)
