"""Settlement facts from delivery records, checked against hand-computed numbers and settled by the
payments engine: the statement a plan would pay for May 2026."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from socialcare.core.errors import Forbidden
from socialcare.delivery import rules, service
from socialcare.payments.rules import settle
from socialcare.payments.schemas import parse_terms
from tests.delivery.conftest import TODAY, share
from tests.delivery.test_service import add_contract

TERMS = """
terms:
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "9.75"}
  - id: case-management
    model: bundled
    billing_code: T1016
    episode_rate: "675.00"
    renewal_rate: "500.00"
    episode_days: 90
    max_renewals: 1
  - id: hub
    model: outcome_based
    engagement_rate: "150.00"
    obu_rate: "60.00"
    pathways:
      - {pathway: food security, obu: 2}
      - {pathway: housing, obu: 4}
  - id: flex
    model: flex_funds
    per_member_limit: "100.00"
    program_budget: "1000.00"
"""


def _svc(p, m, day, units, svc="meals", **kw):
    return rules.ServiceRecordInput(member_id=m.id, service_id=p.services[svc].id, service_date=day, units=units,
                                    **kw)


def _pathway(db, p, user, m, code, opened, confirm_on):
    inst = service.open_pathway(db, user, m.id, code, opened, today=TODAY)
    pdef = service.catalog().get(code)
    for i, s in enumerate(pdef.steps[1:-1], 1):
        service.record_step(db, user, inst.id, s.code, date(opened.year, opened.month, opened.day + i), today=TODAY)
    return service.confirm_completion(db, p.users["hub"], inst.id, confirm_on, today=TODAY)


@pytest.fixture
def may(db, p):
    """A month of delivery by the hub's network CBO under the hub's contract with the plan."""
    contract = add_contract(db, p, TERMS, counterparty=p.hub)
    cbo, m0, m1, m2 = p.users["cbo"], *p.members
    for m in p.members:
        share(db, m, p.hub, p.plan)
    # services: 14 + 10 meals in May; April's and the voided record are not paid; pantry has no code
    service.record_service(db, cbo, _svc(p, m0, date(2026, 5, 3), 14), today=TODAY)
    service.record_service(db, cbo, _svc(p, m1, date(2026, 5, 10), 10, place_of_service="10"), today=TODAY)
    service.record_service(db, cbo, _svc(p, m0, date(2026, 4, 30), 4), today=TODAY)
    v = service.record_service(db, cbo, _svc(p, m2, date(2026, 5, 5), 7), today=TODAY)
    service.void_service(db, cbo, v.id, "entered for the wrong member")
    service.record_service(db, cbo, _svc(p, m2, date(2026, 5, 6), 1, svc="pantry"), today=TODAY)
    # another CBO, not in the hub's network: never part of the hub's facts
    service.record_service(db, p.users["other_cbo"], _svc(p, p.other_members[0], date(2026, 5, 6), 3,
                                                          svc="housing"), today=TODAY)
    # episodes: m0 from Feb 1 (90 days: through May 1), renewal from May 2 approved; m1 opens May 15;
    # m2 from Feb 10 with a renewal from May 11 still pending (not in the facts until decided)
    e0 = service.open_episode(db, cbo, service.EpisodeInput(member_id=m0.id, start_date=date(2026, 2, 1),
                                                            service_id=p.services["cm"].id), today=TODAY)
    r0 = service.request_renewal(db, cbo, e0.id, "housing search continues", on=date(2026, 4, 20))
    service.decide_renewal(db, p.users["admin"], e0.id, r0.id, True)
    service.open_episode(db, cbo, service.EpisodeInput(member_id=m1.id, start_date=date(2026, 5, 15),
                                                       service_id=p.services["cm"].id), today=TODAY)
    e2 = service.open_episode(db, cbo, service.EpisodeInput(member_id=m2.id, start_date=date(2026, 2, 10),
                                                            service_id=p.services["cm"].id), today=TODAY)
    service.request_renewal(db, cbo, e2.id, "needs more time", on=date(2026, 5, 1))
    # engagements: three home visits in May, one in April
    for m, d in ((m0, 2), (m1, 12), (m2, 20)):
        service.record_engagement(db, cbo, m.id, date(2026, 5, d), today=TODAY)
    service.record_engagement(db, cbo, m0.id, date(2026, 4, 28), today=TODAY)
    # pathways: food security and housing completed in May; employment completed but not paid by these terms
    _pathway(db, p, cbo, m0, "food_security", date(2026, 4, 1), date(2026, 5, 20))
    _pathway(db, p, cbo, m1, "housing", date(2026, 3, 1), date(2026, 5, 25))
    _pathway(db, p, cbo, m2, "employment", date(2026, 3, 1), date(2026, 5, 26))
    _pathway(db, p, cbo, m2, "food_security", date(2026, 3, 1), date(2026, 4, 26))  # April: not May's
    # flexible funds: 40 + 25 in May, 30 in April (counts toward the allowance, paid in April)
    for m, amt, d in ((m0, "30.00", date(2026, 4, 2)), (m0, "40.00", date(2026, 5, 2)), (m1, "25.00",
                                                                                        date(2026, 5, 3))):
        service.record_disbursement(db, cbo, service.DisbursementInput(member_id=m.id, category="utilities",
                                                                       amount=amt, disbursed_on=d), today=TODAY)
    return contract


def test_facts_for_the_month(db, p, may):
    terms = parse_terms(TERMS)
    res = service.settlement_facts(db, p.users["admin"], plan_id=p.plan.id, counterparty_id=p.hub.id, terms=terms,
                                   period="2026-05")
    f = res.facts
    assert res.organizations == sorted([p.hub.id, p.cbo.id])
    t = f.services
    assert t.num_rows == 2
    assert sorted(t["units"].to_pylist()) == [10, 14]
    assert set(t["service_code"].to_pylist()) == {"S5170"} and set(t["modifiers"].to_pylist()) == {"U6"}
    assert sorted(t["place_of_service"].to_pylist()) == ["10", "12"]
    ids = {m.plan_member_id for m in p.members}
    assert set(t["member_id"].to_pylist()) <= ids
    kinds = sorted((e.kind, e.start, e.approved) for e in f.other.episodes)
    assert kinds == [("initial", date(2026, 2, 1), None), ("initial", date(2026, 2, 10), None),
                     ("initial", date(2026, 5, 15), None), ("renewal", date(2026, 5, 2), True)]
    assert f.other.engagements == {"hub": 3}
    assert f.other.pathway_completions == {"hub": {"food security": 1, "housing": 1}}
    assert [(d.amount, d.date) for d in f.other.disbursements] == [
        (Decimal("30.00"), date(2026, 4, 2)), (Decimal("40.00"), date(2026, 5, 2)), (Decimal("25.00"),
                                                                                    date(2026, 5, 3))]
    assert any("Employment" in n for n in res.notes)
    assert any("(no code)" in n for n in res.notes)


def test_settled_statement_matches_hand_computed_total(db, p, may):
    terms = parse_terms(TERMS)
    res = service.contract_facts(db, p.users["admin"], may.id, "2026-05")
    st = settle(terms, res.facts, "2026-05")
    by = st.by_term()
    assert by["meals"] == Decimal("234.00")  # (14 + 10) meals x $9.75
    assert by["case-management"] == Decimal("1175.00")  # m1's episode $675 + m0's approved renewal $500
    assert by["hub"] == Decimal("810.00")  # 3 engagements x $150 + (2 + 4) OBU x $60
    assert by["flex"] == Decimal("65.00")  # May's disbursements
    assert st.total == Decimal("2284.00")


def test_facts_are_for_the_plan_or_the_counterparty(db, p, may):
    terms = parse_terms(TERMS)
    for who in ("other_admin", "cbo", "other_cbo"):
        with pytest.raises(Forbidden):
            service.settlement_facts(db, p.users[who], plan_id=p.plan.id, counterparty_id=p.hub.id, terms=terms,
                                     period="2026-05")
    res = service.settlement_facts(db, p.users["hub"], plan_id=p.plan.id, counterparty_id=p.hub.id, terms=terms,
                                   period="2026-05")
    assert res.facts.other.engagements == {"hub": 3}


def test_contract_volume_for_renewal_review(db, p, may):
    v = service.contract_volume(db, p.users["admin"], may)
    assert v["service_records"] == 4 and v["units"] == 29 and v["members_served"] == 3  # voided one left out
    assert v["pathways_completed"] == 4 and v["episodes"] == 3
