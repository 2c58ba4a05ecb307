"""The partnership ledger: settle a contract from the platform's records into stored statements, carry
state from one period to the next, approve, bill, pay, dispute and adjust; only the two parties see it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from socialcare.delivery import rules as drules
from socialcare.delivery import service as delivery
from socialcare.payments import ledger
from socialcare.payments.models import StatementLine
from socialcare.payments.service import contract_payments
from socialcare.security.models import AuditEvent
from tests.delivery.conftest import TODAY, share
from tests.delivery.test_service import add_contract

TERMS = """
terms:
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "10.00", max_units: 100}
  - id: start-up
    model: pre_launch
    upfront: "1500.00"
    upfront_due: 2026-03-01
    treatment: recouped
    recoup_from: [meals]
    recoupment_percent: 50
  - id: penalties
    model: escalating_penalty
    first_amount: "100.00"
    escalation: linear
    increment_percent: 50
"""


def meals(db, p, member, day, units):
    return delivery.record_service(db, p.users["cbo"], drules.ServiceRecordInput(
        member_id=member.id, service_id=p.services["meals"].id, service_date=day, units=units), today=TODAY)


@pytest.fixture
def c(db, p):
    contract = add_contract(db, p, TERMS, counterparty=p.hub)
    for m in p.members:
        share(db, m, p.hub, p.plan)
    return contract


def amounts(db, st):
    return {ln.component: ln.amount for ln in db.scalars(select(StatementLine).where(
        StatementLine.statement_id == st.id, StatementLine.paid))}


def test_three_months_from_the_records_carry_recoupment_caps_and_penalties(db, p, c):
    admin, m0, m1 = p.users["admin"], p.members[0], p.members[1]
    meals(db, p, m0, date(2026, 3, 3), 80)   # March: 80 meals = $800; recoup 50 % = 400 (balance 1,100)
    meals(db, p, m1, date(2026, 3, 20), 40)  # 120 meals over the cap of 100 a month
    ledger.add_manual_fact(db, admin, c.id, "penalty_occurrence", "2026-03-09", "State notice 2026-114",
                           term_id="penalties")
    mar = ledger.settle_contract(db, admin, c.id, "2026-03").statement
    assert mar.status == "draft" and mar.kind == "settlement"
    assert amounts(db, mar) == {"fee: S5170": D("1000.00"), "upfront payment": D("1500.00"),
                                "recoupment": D("-500.00"), "penalty occurrence 1": D("-100.00")}
    assert mar.total == D("1900.00") and mar.carry["recoupment"]["start-up"]["balance"] == "1000.00"
    assert mar.inputs["counts"]["units"] == {"S5170": 120} and mar.inputs["counts"]["members_billed"] == 2
    from socialcare.measures.engine import members_served  # the scorecard's count for the same month

    assert mar.inputs["counts"]["members_served"] == members_served(db, c.id, date(2026, 3, 1), date(2026, 3, 31))
    assert len(mar.facts_sha256) == 64 and len(mar.terms_sha256) == 64
    ledger.act(db, admin, mar.id, "approve")

    meals(db, p, m0, date(2026, 4, 2), 20)  # April: a slow month, $200, recoup 100
    ledger.add_manual_fact(db, admin, c.id, "penalty_occurrence", "2026-04-15", "State notice 2026-150",
                           term_id="penalties")
    apr = ledger.settle_contract(db, admin, c.id, "2026-04").statement
    assert amounts(db, apr) == {"fee: S5170": D("200.00"), "recoupment": D("-100.00"),
                                "penalty occurrence 2": D("-150.00")}  # the count carried: not a first again
    meals(db, p, m0, date(2026, 5, 2), 100)
    may = ledger.settle_contract(db, admin, c.id, "2026-05").statement
    assert amounts(db, may)["recoupment"] == D("-500.00")
    assert may.carry["recoupment"]["start-up"]["balance"] == "400.00"
    assert may.inputs["carried_from"] == apr.id


def test_lifecycle_approve_bill_pay_in_parts_and_close(db, p, c):
    admin, hub = p.users["admin"], p.users["hub"]
    meals(db, p, p.members[0], date(2026, 3, 3), 50)
    st = ledger.settle_contract(db, hub, c.id, "2026-03").statement  # the hub settles its own invoice
    with pytest.raises(Forbidden):
        ledger.act(db, hub, st.id, "approve")  # only the plan approves
    with pytest.raises(Forbidden):
        ledger.act(db, p.users["staff"], st.id, "approve")  # plan staff read, the administrator approves
    ledger.act(db, admin, st.id, "approve")
    with pytest.raises(Conflict):
        ledger.act(db, hub, st.id, "submit_claims")  # this contract bills by invoice
    ledger.act(db, hub, st.id, "invoice")
    assert st.total == D("1750.00")  # 500 + 1,500 upfront − 250 recouped
    ledger.record_payment(db, admin, st.id, "1000.00", "2026-04-10", "EFT 0001")
    assert st.status == "partially_paid"
    with pytest.raises(InvalidInput):
        ledger.record_payment(db, admin, st.id, "900.00", "2026-04-20", "EFT 0002")  # more than owed
    ledger.record_payment(db, admin, st.id, "750.00", "2026-04-20", "EFT 0002")
    assert st.status == "paid"
    ledger.act(db, admin, st.id, "close")
    _, paid = ledger.statement(db, admin, st.id)
    assert paid == D("1750.00") and st.status == "closed"
    actions = [e.action for e in st.events]
    assert actions == ["created", "approve", "invoice", "payment", "payment", "close"]
    audited = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "payment_statement")))
    assert {"payments.statement.approve", "payments.statement.payment", "payments.statement.close"} <= audited
    summary = contract_payments(db, admin, c)
    assert summary["paid_total"] == "1750.00" and summary["outstanding"] == "0.00"
    assert summary["by_status"]["closed"]["count"] == 1


def test_dispute_then_adjustment_statement_references_the_first(db, p, c):
    admin, hub = p.users["admin"], p.users["hub"]
    meals(db, p, p.members[0], date(2026, 3, 3), 10)
    st = ledger.settle_contract(db, admin, c.id, "2026-03").statement
    ledger.act(db, admin, st.id, "approve")
    with pytest.raises(InvalidInput):
        ledger.act(db, hub, st.id, "dispute", "")  # a dispute says why
    with pytest.raises(Forbidden):
        ledger.act(db, admin, st.id, "dispute", "the plan cannot dispute its own approval")
    ledger.act(db, hub, st.id, "dispute", "12 meals delivered on March 28 are missing")
    adj = ledger.adjust(db, admin, st.id, "120.00", "March 28 meals missing from the records")
    assert (adj.kind, adj.adjusts_id, adj.total, adj.status) == ("adjustment", st.id, D("120.00"), "draft")
    assert st.status == "adjusted"
    ledger.act(db, admin, adj.id, "approve")
    assert [ln.amount for ln in st.lines] == [ln.amount for ln in db.get(type(st), st.id).lines]  # never edited


def test_resettling_an_approved_period_yields_the_difference(db, p, c):
    admin = p.users["admin"]
    meals(db, p, p.members[0], date(2026, 3, 3), 10)
    first = ledger.settle_contract(db, admin, c.id, "2026-03").statement
    again = ledger.settle_contract(db, admin, c.id, "2026-03")  # a draft is replaced
    assert again.superseded == [first.id] and first.status == "superseded"
    ledger.act(db, admin, again.statement.id, "approve")
    with pytest.raises(Conflict):
        ledger.settle_contract(db, admin, c.id, "2026-03")  # nothing changed
    meals(db, p, p.members[1], date(2026, 3, 28), 12)  # recorded late
    adj = ledger.settle_contract(db, admin, c.id, "2026-03").statement
    assert adj.kind == "adjustment" and adj.adjusts_id == again.statement.id
    assert amounts(db, adj) == {"fee: S5170 (change)": D("120.00"), "recoupment (change)": D("-60.00")}


def test_contract_ending_mid_month_is_clipped(db, p):
    c = add_contract(db, p, TERMS.replace("max_units: 100", "min_units: 62"), counterparty=p.hub,
                     end=date(2026, 3, 15))
    for m in p.members:
        share(db, m, p.hub, p.plan)
    meals(db, p, p.members[0], date(2026, 3, 3), 10)
    meals(db, p, p.members[0], date(2026, 3, 20), 30)  # after the end: not paid
    st = ledger.settle_contract(db, p.users["admin"], c.id, "2026-03").statement
    got = amounts(db, st)
    assert got["fee: S5170"] == D("100.00") and got["minimum volume: S5170"] == D("200.00")  # 62 × 15/31 = 30


def test_only_the_two_parties_see_statements(db, p, c):
    meals(db, p, p.members[0], date(2026, 3, 3), 10)
    st = ledger.settle_contract(db, p.users["admin"], c.id, "2026-03").statement
    for who in ("other_admin", "other_cbo", "cbo"):  # the network CBO is not a party to the hub's contract
        with pytest.raises((NotFound, Forbidden)):
            ledger.statement(db, p.users[who], st.id)
        assert ledger.statements(db, p.users[who]) == []
    assert [s.id for s in ledger.statements(db, p.users["hub"])] == [st.id]
    assert ledger.statement(db, p.users["auditor"], st.id)[0].id == st.id
    with pytest.raises(Forbidden):
        ledger.act(db, p.users["auditor"], st.id, "approve")


def test_manual_facts_need_who_and_why(db, p, c):
    with pytest.raises(InvalidInput) as exc:
        ledger.add_manual_fact(db, p.users["admin"], c.id, "metric", "2026-03-01", "", data={"metric": "x"})
    assert {pr.field for pr in exc.value.problems} == {"reason", "value"}
    f = ledger.add_manual_fact(db, p.users["admin"], c.id, "adjustment", "2026-03-31", "Q1 data reconciliation",
                               amount="-25.00")
    assert f.entered_by == p.users["admin"].username
    st = ledger.settle_contract(db, p.users["admin"], c.id, "2026-03").statement
    assert amounts(db, st)["manual adjustment"] == D("-25.00")
