"""Fixtures for web tests: the app, a client per user, and a small two-plan world.

Import into a test folder's conftest.py with ``from tests.web.fixtures import *  # noqa: F403``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import pytest
from fastapi.testclient import TestClient

from socialcare.directory.models import HubNetworkMembership, Location, Service, ServiceArea
from socialcare.members.models import EnrollmentSpan, MemberCondition
from socialcare.web.app import create_app
from tests.factories import PASSWORD, make_member, make_org, make_user

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF field"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": "/"},
        follow_redirects=False,
    )


def csrf_token(client: TestClient) -> str:
    """The CSRF token of this client's browser (reads any page with a form)."""
    return csrf_from(client.get("/login").text)


def api_headers(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass
class World:
    plan_a: object
    plan_b: object
    hub: object
    cbo: object
    users: dict = field(default_factory=dict)  # key -> Principal
    members_a: list = field(default_factory=list)
    members_b: list = field(default_factory=list)
    services: dict = field(default_factory=dict)


@pytest.fixture
def app(db):
    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=True) as c:
        yield c


@pytest.fixture
def client_factory(app):
    clients = []

    def make(username: str | None = None) -> TestClient:
        c = TestClient(app)
        c.__enter__()
        clients.append(c)
        if username:
            r = login(c, username)
            assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def world(db) -> World:
    plan_a = make_org(db, "health_plan", "Empire Plan A")
    plan_b = make_org(db, "health_plan", "Lakeshore Plan B")
    hub = make_org(db, "community_care_hub", "Western NY Care Hub", county="Erie", state="NY")
    cbo = make_org(db, "cbo", "Buffalo Food Collaborative", city="Buffalo", county="Erie", state="NY",
                   postal_code="14201")
    other_cbo = make_org(db, "cbo", "Rochester Housing Partners", city="Rochester", county="Monroe", state="NY")
    db.add(HubNetworkMembership(hub_id=hub.id, cbo_id=cbo.id, start_date=date(2024, 1, 1)))
    db.add(HubNetworkMembership(hub_id=hub.id, cbo_id=other_cbo.id, start_date=date(2023, 1, 1),
                                end_date=date(2023, 12, 31)))  # left the network
    meals = Service(organization_id=cbo.id, name="Medically tailored meals", need_domain="food",
                    service_code="S5170-U6", unit="meal", capacity_per_month=400, languages=["en", "es"])
    pantry = Service(organization_id=cbo.id, name="Pantry delivery", need_domain="food", unit="delivery",
                     languages=["en"])
    housing = Service(organization_id=other_cbo.id, name="Housing navigation", need_domain="housing",
                      service_code="H0043", unit="15 minutes", languages=["en"])
    db.add_all([meals, pantry, housing])
    db.flush()
    db.add_all([
        ServiceArea(organization_id=cbo.id, service_id=meals.id, state="NY", county="Erie"),
        ServiceArea(organization_id=cbo.id, service_id=None, state="NY", county="Niagara"),
        ServiceArea(organization_id=other_cbo.id, service_id=housing.id, state="NY", county="Monroe"),
        Location(organization_id=cbo.id, name="Main kitchen", address_1="1 Main St", city="Buffalo", state="NY",
                 postal_code="14201", county="Erie"),
    ])
    w = World(plan_a=plan_a, plan_b=plan_b, hub=hub, cbo=cbo)
    w.services = {"meals": meals, "pantry": pantry, "housing": housing}
    w.users = {
        "admin_a": make_user(db, plan_a, "plan_admin", "admin_a"),
        "staff_a": make_user(db, plan_a, "plan_staff", "staff_a"),
        "staff_b": make_user(db, plan_b, "plan_staff", "staff_b"),
        "auditor_a": make_user(db, plan_a, "auditor", "auditor_a"),
        "auditor_b": make_user(db, plan_b, "auditor", "auditor_b"),
        "hub": make_user(db, hub, "hub_coordinator", "hub_coord"),
        "cbo": make_user(db, cbo, "cbo_staff", "cbo_staff"),
    }
    for i in range(3):
        m = make_member(db, plan_a, first_name=f"Ana{i}", last_name=f"Alpha{i}", county="Erie", zip="14201")
        w.members_a.append(m)
    db.add(EnrollmentSpan(member_id=w.members_a[0].id, product_line="medicaid", start_date=date(2024, 1, 1)))
    db.add(MemberCondition(member_id=w.members_a[0].id, icd10_code="E11.9"))
    for i in range(2):
        w.members_b.append(make_member(db, plan_b, first_name=f"Bo{i}", last_name=f"Beta{i}", county="Monroe",
                                       zip="14604", product_line="medicare_advantage"))
    db.flush()
    return w
