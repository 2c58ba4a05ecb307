"""POST /api/v1/roi: the calculator over JSON, refused to roles without analytics:use."""

from __future__ import annotations

import pytest

from tests.factories import make_org, make_user
from tests.web.fixtures import api_headers, app, client  # noqa: F401


@pytest.fixture
def plan_staff(db):
    return make_user(db, make_org(db, "health_plan"), "plan_staff", username="analyst1")


@pytest.fixture
def cbo_staff(db):
    return make_user(db, make_org(db, "cbo"), "cbo_staff", username="cbo1")


def test_roi_over_the_api_reproduces_the_maine_figures(client, plan_staff):  # noqa: F811
    h = api_headers(client, "analyst1")
    body = {
        "intervention": "post_discharge_meals_maine",
        "members_eligible": 622,
        "horizon_months": 1,
        "categories": [
            {
                "category": "readmissions_30d",
                "per_1000_member_months": "123",
                "unit_cost": "16320",
                "effect": "0.16260162601626016",
            }
        ],
        "program_cost": {"amount": "0"},
        "one_time_costs": "43530",
        "round_events": True,
    }
    r = client.post("/api/v1/roi", json=body, headers=h)
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["gross_savings"], d["net_savings"], d["roi_net"]) == ("212160.00", "168630.00", "3.8739")
    assert d["explanation"] and d["tornado"]
    bad = client.post("/api/v1/roi", json={**body, "engagement_rate": "2"}, headers=h)
    assert bad.status_code == 422
    ev = client.get("/api/v1/roi/evidence", headers=h).json()
    assert any(i["id"] == "supportive_housing_sadowski_2009" for i in ev["interventions"])


def test_roles_without_analytics_are_refused(client, cbo_staff):  # noqa: F811
    h = api_headers(client, "cbo1")
    r = client.post("/api/v1/roi", json={"members_eligible": 1}, headers=h)
    assert r.status_code == 403
