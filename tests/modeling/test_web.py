"""The payment models page and API; the CBO-scoping rule of the unit cost (a CBO user costs their own
organization's services only, refusals are audited)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from socialcare.security.models import AuditEvent
from tests.web.fixtures import api_headers, csrf_from

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "modeling"
COST = {"expected_units_per_year": "24000", "low_units_per_year": "12000", "staff_role": "kitchen",
        "staff_minutes": "6", "staff_wage": "20", "materials_per_unit": "3.10", "overhead_rate": "0.15",
        "billing_mode": "invoice"}


def test_plan_staff_compare_page_with_charts(client_factory, world):
    c = client_factory("staff_a")
    page = c.get("/modeling")
    assert page.status_code == 200 and "Payment models" in page.text
    assert page.text.count("<svg") >= 2 and "Win3 check" in page.text and "Financial risk to CBO" in page.text
    r = c.post("/modeling", data={"csrf_token": csrf_from(page.text), "inputs_yaml": (EXAMPLES / "pilot.yaml").read_text(),
                                  "scenarios": "1000", "seed": "3"}, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    assert '<div id="results">' in r.text and "<html" not in r.text and "pilot projects" in r.text
    bad = c.post("/modeling", data={"csrf_token": csrf_from(page.text), "inputs_yaml": "drivers: {}\nterms: {}\n",
                                    "scenarios": "1000", "seed": "3"})
    assert bad.status_code == 422 and "drivers.referrals_per_month" in bad.text


def test_auditor_cannot_use_modeling(client_factory, world):
    c = client_factory("auditor_a")
    assert c.get("/modeling", follow_redirects=False).status_code == 403


def test_api_compare_is_reproducible(client, world):
    h = api_headers(client, "staff_a")
    body = {"inputs_yaml": (EXAMPLES / "meals_scale_up.yaml").read_text(), "scenarios": 2000, "seed": 9}
    a = client.post("/api/v1/modeling/compare", json=body, headers=h)
    b = client.post("/api/v1/modeling/compare", json=body, headers=h)
    assert a.status_code == 200, a.text
    da, db_ = a.json(), b.json()
    da["simulation"].pop("seconds"), db_["simulation"].pop("seconds")
    assert da == db_
    assert set(da["simulation"]["models"]) == {"fixed_price", "fee_for_service", "bundled", "capitation",
                                               "pay_for_performance", "hybrid_ffs_capitation"}
    assert len(da["summary"]) == 7 and {v["party"] for v in da["win3"]["verdicts"]} == {"member", "plan", "cbo"}
    r = client.post("/api/v1/modeling/compare", json={**body, "inputs_yaml": "terms: {}\n"}, headers=h)
    assert r.status_code == 422


def test_cbo_user_costs_own_services_only(client_factory, client, world, db):
    c = client_factory("cbo_staff")
    page = c.get("/modeling/cost")
    assert page.status_code == 200
    assert "Medically tailored meals" in page.text and "Housing navigation" not in page.text
    own = world.services["meals"].id
    r = c.post("/modeling/cost", data={"csrf_token": csrf_from(page.text), "service_id": str(own), **COST})
    assert r.status_code == 200, r.text
    assert "Medically tailored meals" in r.text and "Break-even" in r.text
    other = world.services["housing"].id
    r = c.post("/modeling/cost", data={"csrf_token": csrf_from(page.text), "service_id": str(other), **COST})
    assert r.status_code == 403
    r = c.post("/modeling/cost", data={"csrf_token": csrf_from(page.text), "service_id": "", **COST})
    assert r.status_code == 403
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "modeling.cost",
                                                 AuditEvent.allowed.is_(False))).all()
    assert {d.object_id for d in denied} >= {str(other)}
    # the API applies the same rule
    h = api_headers(client, "cbo_staff")
    body = {"inputs": {"expected_units_per_year": "1000", "materials_per_unit": "2.00"}}
    assert client.post("/api/v1/modeling/cost", json={**body, "service_id": other}, headers=h).status_code == 403
    ok = client.post("/api/v1/modeling/cost", json={**body, "service_id": own}, headers=h)
    assert ok.status_code == 200, ok.text
    assert ok.json()["service"]["name"] == "Medically tailored meals"


def test_plan_user_may_cost_any_service(client_factory, world):
    c = client_factory("admin_a")
    page = c.get("/modeling/cost")
    assert "Housing navigation" in page.text and "Medically tailored meals" in page.text
    r = c.post("/modeling/cost", data={"csrf_token": csrf_from(page.text),
                                       "service_id": str(world.services["housing"].id), **COST})
    assert r.status_code == 200 and "$8.59" not in r.text  # not the meals example: its own inputs
    assert "Housing navigation" in r.text


def test_bad_cost_inputs_are_refused_naming_the_field(client_factory, world):
    c = client_factory("admin_a")
    page = c.get("/modeling/cost")
    r = c.post("/modeling/cost", data={"csrf_token": csrf_from(page.text), "service_id": "",
                                       **{**COST, "overhead_rate": "-1"}})
    assert r.status_code == 422 and "overhead_rate" in r.text


def test_cost_page_and_api_show_the_margin_convention(client_factory, client, world):
    c = client_factory("admin_a")
    page = c.get("/modeling/cost")
    assert 'name="margin_convention"' in page.text
    r = c.post("/modeling/cost", data={"csrf_token": csrf_from(page.text), "service_id": "", **COST,
                                       "target_margin": "0.10", "margin_convention": "markup"})
    assert r.status_code == 200, r.text
    assert "as a mark-up on cost: price = cost × (1 + 0.1)" in r.text
    h = api_headers(client, "admin_a")
    body = {"inputs": {"expected_units_per_year": "1000", "materials_per_unit": "2.00", "target_margin": "0.2",
                       "margin_convention": "gross_up"}}
    d = client.post("/api/v1/modeling/cost", json=body, headers=h).json()
    assert d["margin"]["convention"] == "gross_up" and "/ (1 − 0.2)" in d["break_even"]["fee_for_service"]["formula"]
