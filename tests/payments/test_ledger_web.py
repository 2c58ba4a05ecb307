"""The ledger in the browser (HTML pages) and over the API: settle from the contract's page, approve as
the plan, dispute as the hub, adjust, pay; other parties see none of it."""

from __future__ import annotations

import re
from datetime import date

import pytest

from socialcare.contracts.models import Contract, ContractVersion
from socialcare.delivery.models import ServiceRecord
from tests.web.fixtures import api_headers, csrf_from

TERMS = """
terms:
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "10.00"}
"""


@pytest.fixture
def contract(db, world):
    c = Contract(plan_id=world.plan_a.id, counterparty_id=world.hub.id, name="Meals after discharge",
                 phase="implementation", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    db.add(c)
    db.flush()
    db.add(ContractVersion(contract_id=c.id, version=1, effective_date=c.start_date, start_date=c.start_date,
                           end_date=c.end_date, payment_terms_yaml=TERMS))
    for i, m in enumerate(world.members_a):
        db.add(ServiceRecord(plan_id=world.plan_a.id, member_id=m.id, organization_id=world.cbo.id,
                             service_id=world.services["meals"].id, need_domain="food", service_code="S5170-U6",
                             hcpcs="S5170", modifiers="U6", service_date=date(2026, 3, 3 + i), units=10 + i))
    db.flush()
    return c


def _post(c, page_url: str, url: str, data: dict):
    page = c.get(page_url)
    return c.post(url, data={"csrf_token": csrf_from(page.text), **data}, follow_redirects=True)


def test_settle_approve_dispute_adjust_and_pay_from_the_pages(client_factory, world, contract):
    plan = client_factory("admin_a")
    page = plan.get(f"/contracts/{contract.id}")
    assert f'action="/contracts/{contract.id}/statements"' in page.text
    r = _post(plan, f"/contracts/{contract.id}", f"/contracts/{contract.id}/statements", {"period": "2026-03"})
    assert r.status_code == 200 and "$330.00" in r.text and "33 meals × $10.00" in r.text
    sid = int(re.search(r"Statement #(\d+)", r.text)[1])
    url = f"/payments/statements/{sid}"
    r = _post(plan, url, f"{url}/action", {"action": "approve"})
    assert "Approved" in r.text

    hub = client_factory("hub_coord")
    assert str(sid) in hub.get("/payments/statements").text
    r = _post(hub, url, f"{url}/action", {"action": "dispute", "note": "two deliveries missing"})
    assert "Disputed" in r.text and "two deliveries missing" in r.text

    r = _post(plan, url, f"{url}/adjust", {"amount": "20.00", "reason": "two deliveries missing", "mlr": "medical"})
    aid = int(re.search(r"Statement #(\d+)", r.text)[1])
    assert aid != sid and f"statement #{sid}" in r.text
    assert "Adjusted" in plan.get(url).text
    r = _post(plan, url, f"{url}/payments", {"amount": "330.00", "paid_on": "2026-04-15", "reference": "EFT 77"})
    assert "Paid" in r.text and "ref EFT 77" in r.text
    csv = plan.get(f"{url}/invoice.csv")
    assert csv.status_code == 200 and "TOTAL for 2026-03,,,330.00" in csv.text
    pdf = plan.get(f"{url}/invoice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    fin = plan.get("/payments/finance")
    assert fin.status_code == 200 and "<svg" in fin.text and "$330.00" in fin.text
    assert "2026-04" in plan.get("/payments/finance.csv").text

    for who in ("staff_b", "cbo_staff"):  # another plan; the hub's network CBO is not a party
        other = client_factory(who)
        assert other.get(url).status_code == 404
        assert not re.search(rf"#{sid}\b", other.get("/payments/statements").text)


def test_the_api_settles_and_moves_a_statement(client, world, contract):
    plan = api_headers(client, "admin_a")
    r = client.post(f"/api/v1/payments/contracts/{contract.id}/settle", json={"period": "2026-03"}, headers=plan)
    assert r.status_code == 201, r.text
    st = r.json()
    assert st["total"] == "330.00" and st["status"] == "draft" and len(st["facts_sha256"]) == 64
    r = client.post(f"/api/v1/payments/statements/{st['id']}/actions", json={"action": "approve"}, headers=plan)
    assert r.json()["status"] == "approved"
    hub = api_headers(client, "hub_coord")
    r = client.post(f"/api/v1/payments/statements/{st['id']}/actions", json={"action": "invoice"}, headers=hub)
    assert r.json()["status"] == "invoiced"
    r = client.post(f"/api/v1/payments/statements/{st['id']}/payments",
                    json={"amount": "100.00", "paid_on": "2026-04-01", "reference": "CHK 1"}, headers=plan)
    assert (r.json()["status"], r.json()["paid"]) == ("partially_paid", "100.00")
    other = api_headers(client, "staff_b")
    assert client.get(f"/api/v1/payments/statements/{st['id']}", headers=other).status_code == 404
    r = client.get(f"/api/v1/contracts/{contract.id}/renewal-review", headers=plan)
    assert r.status_code == 200, r.text
    assert r.json()["payments"]["paid_total"] == "100.00" and r.json()["payments"]["available"]
