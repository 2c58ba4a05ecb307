"""In the demo, every contract's numbers agree: the scorecard's members served, the renewal review's volume,
the JOC meeting's frozen scorecard and the settlement facts' member count are one number for one period,
because they all read the work attributed to the contract. Launched contracts have referrals, services
and measures for each of their last three months; contracts not yet launched have no work at all."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.contracts import service as contracts
from socialcare.contracts.models import Contract
from socialcare.core.clock import today
from socialcare.delivery import service as delivery
from socialcare.delivery.models import ServiceRecord
from socialcare.demo.builder import build_demo
from socialcare.joc import service as joc
from socialcare.measures import engine
from socialcare.measures import rules as mrules
from socialcare.measures import service as measures
from socialcare.referrals.models import Referral
from socialcare.security import repository as security_repo
from socialcare.security.service import principal_for_user

LAUNCHED = ("fixed_price", "fee_for_service", "hybrid", "outcome_based")
NOT_LAUNCHED = ("bundled", "capitation", "shared_savings")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('agree') / 'demo.db'}"
    result = build_demo(url, seed=7, members=3000, as_of=today(), progress=False)
    engine_ = sa.create_engine(url)
    with Session(engine_) as s:
        yield s, result["state"]
    engine_.dispose()


def _month_end(m: date) -> date:
    return m.replace(day=calendar.monthrange(m.year, m.month)[1])


def test_scorecard_renewal_review_joc_and_settlement_facts_agree_for_all_seven(demo):
    s, state = demo
    plan = principal_for_user(security_repo.user_by_username(s, "plan-admin"), via="test")
    ids = state["contract_ids"]
    assert set(ids) == set(LAUNCHED) | set(NOT_LAUNCHED)
    for key, cid in ids.items():
        c = s.get(Contract, cid)
        month = measures.default_month(s, c)
        card = measures.scorecard(s, plan, c, month)
        served_month = card["volume"]["month"]["members_served"]
        served_to_date = card["volume"]["to_date"]["members_served"]
        review = contracts.renewal_review(s, plan, cid, on=min(_month_end(month), c.end_date))
        facts = delivery.contract_facts(s, plan, cid, month.strftime("%Y-%m"))
        if key in NOT_LAUNCHED:
            # not launched: nothing may count under it, and every view says so alike
            assert served_month == served_to_date == review.volume["members_served"] == facts.member_count == 0
            for model in (Referral, ServiceRecord):
                assert s.scalar(select(func.count()).where(model.contract_id == cid)) == 0, key
            continue
        meeting = joc.meeting_for_month(s, plan, cid, month)
        frozen = meeting.scorecard["volume"]
        assert served_month > 0, key
        assert frozen["month"]["members_served"] == served_month, key
        assert facts.member_count == served_month, key
        # settling the month from its page stores a statement counting the same members served
        from socialcare.payments import ledger

        statement = ledger.settle_contract(s, plan, cid, month.strftime("%Y-%m")).statement
        assert statement.inputs["counts"]["members_served"] == served_month, key
        assert review.volume["members_served"] == served_to_date == frozen["to_date"]["members_served"], key
        assert review.measures["available"] and review.measures["month"] == month.strftime("%Y-%m"), key
        # each of the last three months has attributed referrals and work, and a funnel
        m = month
        for _k in range(3):
            scope = measures.scope_for(c)
            assert engine.funnel_counts(s, scope, m)["assigned"] > 0, (key, m)
            assert engine.members_served(s, cid, max(m, c.start_date), min(_month_end(m), c.end_date)) > 0, (key, m)
            m = mrules.parse_month(m - timedelta(days=1))


def test_every_demo_record_of_a_launched_contract_says_why(demo):
    s, state = demo
    for cid in (state["contract_ids"][k] for k in LAUNCHED):
        reasons = s.scalars(select(ServiceRecord.contract_reason).where(ServiceRecord.contract_id == cid)).all()
        assert reasons and all(r.startswith(f"contract {cid} v") and "within term" in r for r in reasons)
