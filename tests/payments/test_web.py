"""The payments page (plan and hub users paste or upload terms and facts) and the JSON API."""

from __future__ import annotations

from decimal import Decimal as D

from tests.payments.helpers import EXAMPLES
from tests.web.fixtures import api_headers, csrf_from


def test_plan_admin_settles_on_the_page(client_factory, world):
    c = client_factory("admin_a")
    page = c.get("/payments/settle")
    assert page.status_code == 200 and "Payments" in page.text and "escalating_penalty" in page.text
    r = c.post("/payments/settle", data={
        "csrf_token": csrf_from(page.text), "terms_yaml": (EXAMPLES / "hybrid_ffs_capitation.yaml").read_text(),
        "period": "2025-04", "output": "invoice"},
        files={"services_file": ("meals.csv", (EXAMPLES / "hybrid_ffs_capitation.services.csv").read_bytes(),
                                 "text/csv")})
    assert r.status_code == 200, r.text
    assert "$23,400.00" in r.text and "supplemental payment" in r.text and "Invoice (CSV)" in r.text


def test_hub_coordinator_sees_problems_naming_file_row_field(client_factory, world):
    c = client_factory("hub_coord")
    page = c.get("/payments/settle")
    r = c.post("/payments/settle", data={
        "csrf_token": csrf_from(page.text), "terms_yaml": (EXAMPLES / "fee_for_service.yaml").read_text(),
        "services_csv": "member_id,service_code,service_date,units\nM1,S5170,2025-03-01,-4\n", "period": "2025-03"})
    assert r.status_code == 422
    assert "services.csv, row 2, field &#39;units&#39;: units must not be negative" in r.text
    assert "Total paid" not in r.text


def test_cbo_staff_cannot_open_the_page(client_factory, world):
    c = client_factory("cbo_staff")
    assert c.get("/payments/settle", follow_redirects=False).status_code == 403


def test_api_settles_and_returns_the_statement(client, world):
    headers = api_headers(client, "staff_a")
    body = {"terms_yaml": (EXAMPLES / "outcome_based.yaml").read_text(),
            "facts_yaml": (EXAMPLES / "outcome_based.facts.yaml").read_text(), "period": "2025-Q1"}
    r = client.post("/api/v1/payments/settle", json=body, headers=headers)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["totals"]["paid"] == "120000.00" and data["lines"][0]["formula"] == "400 engagements × $150.00"
    assert sum(D(x["amount"]) for x in data["lines"] if x["status"] == "paid") == D("120000.00")


def test_api_837p_output(client, world):
    headers = api_headers(client, "admin_a")
    body = {"terms_yaml": (EXAMPLES / "fee_for_service_claims.yaml").read_text(),
            "facts_yaml": (EXAMPLES / "fee_for_service.members.yaml").read_text(),
            "services_csv": (EXAMPLES / "fee_for_service.services.csv").read_text(), "period": "2025-03",
            "output": "x12_837p"}
    r = client.post("/api/v1/payments/settle", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["x12_837p"].startswith("ISA*00*")


def test_api_bad_terms_answer_422_with_problems(client, world):
    headers = api_headers(client, "hub_coord")
    body = {"terms_yaml": (EXAMPLES / "fee_for_service.yaml").read_text().replace('"9.75"', '"9.7512"'),
            "period": "2025-03"}
    r = client.post("/api/v1/payments/settle", json=body, headers=headers)
    assert r.status_code == 422
    [p] = r.json()["problems"]
    assert (p["file"], p["row"], p["field"]) == ("terms", 14, "terms[0].fee_schedule[0].rate")
