"""A small partnership: a plan, a hub with two network CBOs, an independent CBO, members and services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from socialcare.directory.models import HubNetworkMembership, Organization, Service, ServiceArea
from socialcare.members.models import Member
from socialcare.security.principal import Principal
from tests.factories import make_member, make_org, make_user


@dataclass
class World:
    plan: Organization
    hub: Organization
    cbo: Organization
    cbo2: Organization
    outsider: Organization
    plan_staff: Principal
    hub_user: Principal
    cbo_user: Principal
    cbo2_user: Principal
    outsider_user: Principal
    member: Member
    food: Service
    food2: Service
    other_plan_member: Member


@pytest.fixture
def world(db) -> World:
    plan = make_org(db, "health_plan")
    other_plan = make_org(db, "health_plan")
    hub = make_org(db, "community_care_hub")
    cbo = make_org(db, "cbo", county="Erie")
    cbo2 = make_org(db, "cbo", county="Niagara")
    outsider = make_org(db, "cbo")
    for c in (cbo, cbo2):
        db.add(HubNetworkMembership(hub_id=hub.id, cbo_id=c.id, start_date=date(2020, 1, 1)))
    food = Service(organization_id=cbo.id, name="Medically tailored meals", need_domain="food",
                   service_code="S5170-U6", unit="meal", capacity_per_month=2, languages=["en", "es"])
    food2 = Service(organization_id=cbo2.id, name="Pantry delivery", need_domain="food", unit="box",
                    capacity_per_month=50, languages=["en"])
    db.add_all([food, food2])
    db.flush()
    db.add_all([ServiceArea(organization_id=cbo.id, service_id=None, state="NY", county="Erie"),
                ServiceArea(organization_id=cbo2.id, service_id=food2.id, state="NY", county="Niagara")])
    db.flush()
    return World(
        plan=plan, hub=hub, cbo=cbo, cbo2=cbo2, outsider=outsider,
        plan_staff=make_user(db, plan, "plan_staff"), hub_user=make_user(db, hub, "hub_coordinator"),
        cbo_user=make_user(db, cbo, "cbo_staff"), cbo2_user=make_user(db, cbo2, "cbo_staff"),
        outsider_user=make_user(db, outsider, "cbo_staff"),
        member=make_member(db, plan, phone="716-555-0101", address_1="12 Elm St"), food=food, food2=food2,
        other_plan_member=make_member(db, other_plan),
    )
