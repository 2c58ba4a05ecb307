"""The finance and MLR view: payments split over their statements' lines by MLR category and model,
in-lieu-of-services spending marked, exportable, charted; only the parties' own statements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from socialcare.payments import finance, ledger
from tests.delivery.test_service import add_contract
from tests.payments.test_ledger import meals

TERMS = """
terms:
  - id: meals
    model: fee_for_service
    authority: in_lieu_of_services
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "10.00"}
  - id: joc
    model: pre_launch
    joc_hourly_rate: "100.00"
"""


def test_allocation_adds_up_to_the_cent():
    parts = finance.allocate(D("100.00"), [(("a",), D("1")), (("b",), D("1")), (("c",), D("1"))])
    assert sum(v for _, v in parts) == D("100.00") and sorted(v for _, v in parts) == [D("33.33"), D("33.33"),
                                                                                        D("33.34")]


def test_paid_by_month_model_and_mlr_category(db, p):
    c = add_contract(db, p, TERMS, counterparty=p.cbo)
    admin = p.users["admin"]
    meals(db, p, p.members[0], date(2026, 3, 3), 30)
    ledger.add_manual_fact(db, admin, c.id, "joc_hours", "2026-03-20", "March JOC meeting", term_id="joc",
                           data={"hours": "1"})
    st = ledger.settle_contract(db, admin, c.id, "2026-03").statement
    assert st.total == D("400.00")
    ledger.act(db, admin, st.id, "approve")
    ledger.record_payment(db, admin, st.id, "200.00", "2026-04-10", "EFT 1")
    ledger.record_payment(db, admin, st.id, "200.00", "2026-05-10", "EFT 2")
    rows = finance.paid_over_time(db, admin)
    got = {(r["month"], r["mlr"], r["authority"]): r["amount"] for r in rows}
    assert got == {("2026-04", "medical", "in_lieu_of_services"): D("150.00"),
                   ("2026-04", "administrative", ""): D("50.00"),
                   ("2026-05", "medical", "in_lieu_of_services"): D("150.00"),
                   ("2026-05", "administrative", ""): D("50.00")}
    assert finance.totals_by_mlr(rows)["medical"] == D("300.00")
    assert f"2026-04,{c.id}," in finance.to_csv(rows) and "in_lieu_of_services,150.00" in finance.to_csv(rows)
    assert finance.chart_spec(rows)["mark"]["type"] == "bar"
    assert finance.paid_over_time(db, p.users["other_admin"]) == []
    assert len(finance.paid_over_time(db, p.users["cbo"])) == 4  # the CBO sees its own payments
