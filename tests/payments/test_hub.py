"""The hub in the middle: the hub's contract with the plan and its subcontract with a network CBO,
settled from the same services; the hub's view of a period; the CBO sees only its own statements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from socialcare.core.errors import Forbidden, InvalidInput, NotFound
from socialcare.payments import hub, ledger
from tests.delivery.conftest import share
from tests.delivery.test_service import add_contract
from tests.payments.test_ledger import meals

HUB_TERMS = """
terms:
  - id: post-discharge-meals
    model: hybrid_ffs_capitation
    capitation: {amount_per_month: "2000.00"}
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "10.00"}
"""
PER_MEAL = """
terms:
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "8.00"}
"""
SHARE = """
terms:
  - id: share
    model: revenue_share
    percent: 85
    of_terms: [post-discharge-meals]
    split_by_units: [S5170]
"""


@pytest.fixture
def hub_contract(db, p):
    c = add_contract(db, p, HUB_TERMS, counterparty=p.hub)
    for m in p.members:
        share(db, m, p.hub, p.plan)
    return c


def test_hub_settles_plan_and_cbo_from_the_same_services(db, p, hub_contract):
    admin, hub_user, cbo = p.users["admin"], p.users["hub"], p.users["cbo"]
    meals(db, p, p.members[0], date(2026, 3, 3), 150)
    meals(db, p, p.members[1], date(2026, 3, 9), 100)  # 250 meals: FFS $2,500 > capitation $2,000
    with pytest.raises(Forbidden):
        hub.add_subcontract(db, admin, hub_contract.id, p.cbo.id, PER_MEAL)  # the hub manages its subcontracts
    with pytest.raises(InvalidInput):
        hub.add_subcontract(db, hub_user, hub_contract.id, p.other_cbo.id, PER_MEAL)  # not in the network
    sub = hub.add_subcontract(db, hub_user, hub_contract.id, p.cbo.id, PER_MEAL)
    plan_st = ledger.settle_contract(db, admin, hub_contract.id, "2026-03").statement
    ledger.act(db, admin, plan_st.id, "approve")
    cbo_st = hub.settle_subcontract(db, hub_user, sub.id, "2026-03").statement
    assert (plan_st.total, cbo_st.total) == (D("2500.00"), D("2000.00"))  # 250 meals × $8 to the CBO
    assert (cbo_st.payer_org_id, cbo_st.payee_org_id) == (p.hub.id, p.cbo.id)
    ledger.act(db, hub_user, cbo_st.id, "approve")  # the hub approves what it pays
    view = hub.hub_view(db, hub_user, "2026-03")[0]
    assert (view["received"], view["owed"], view["margin"]) == (D("2500.00"), D("2000.00"), D("500.00"))
    assert view["not_billed"] == {"service_records": 0, "units": 0}
    meals(db, p, p.members[2], date(2026, 4, 2), 5)
    assert hub.hub_view(db, hub_user, "2026-04")[0]["not_billed"] == {"service_records": 1, "units": 5}
    # the CBO sees its own statement only; the plan does not see the hub's subcontract
    assert [s.id for s in ledger.statements(db, cbo)] == [cbo_st.id]
    with pytest.raises(NotFound):
        ledger.statement(db, admin, cbo_st.id)
    with pytest.raises(Forbidden):
        hub.hub_view(db, cbo, "2026-03")
    ledger.act(db, cbo, cbo_st.id, "dispute", "two days of meals missing")
    adj = ledger.adjust(db, hub_user, cbo_st.id, "80.00", "two days of meals")
    assert (adj.payer_org_id, adj.payee_org_id, adj.subcontract_id) == (p.hub.id, p.cbo.id, sub.id)
    assert adj.id in [s.id for s in ledger.statements(db, cbo)]


def test_share_of_capitation_needs_the_plan_statement_first(db, p, hub_contract):
    hub_user = p.users["hub"]
    meals(db, p, p.members[0], date(2026, 3, 3), 100)
    sub = hub.add_subcontract(db, hub_user, hub_contract.id, p.cbo.id, SHARE)
    with pytest.raises(InvalidInput):
        hub.settle_subcontract(db, hub_user, sub.id, "2026-03")
    ledger.settle_contract(db, p.users["admin"], hub_contract.id, "2026-03")
    st = hub.settle_subcontract(db, p.users["cbo"], sub.id, "2026-03").statement  # the CBO settles its invoice
    assert st.total == D("1700.00")  # 85 % of the $2,000 capitation × 100/100 of the network's meals
