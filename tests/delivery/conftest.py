"""A small partnership for delivery tests: a plan (and another plan), a hub with a network CBO, an
independent CBO, their services, users, and members shared with the CBOs through a referral and consent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from socialcare.directory.models import HubNetworkMembership, Service
from socialcare.referrals.models import Consent, Referral
from tests.factories import make_member, make_org, make_user
from tests.web.fixtures import *  # noqa: F403

TODAY = date(2026, 6, 15)


@dataclass
class Partnership:
    plan: object
    other_plan: object
    hub: object
    cbo: object
    other_cbo: object
    users: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    members: list = field(default_factory=list)  # shared with cbo
    other_members: list = field(default_factory=list)  # shared with other_cbo only
    unshared: object = None
    referrals: dict = field(default_factory=dict)


def share(db, member, org, plan, *, status="in-progress", consent=True) -> Referral:
    """Share a member with an organization: a referral it owns and the member's consent."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    r = Referral(plan_id=plan.id, requester_org_id=plan.id, owner_org_id=org.id, member_id=member.id,
                 need_domain="food", status=status, requested_at=now, created_at=now, updated_at=now)
    db.add(r)
    if consent:
        db.add(Consent(member_id=member.id, plan_id=plan.id, organization_id=org.id, scope="referral",
                       granted_at=now))
    db.flush()
    return r


@pytest.fixture
def p(db) -> Partnership:
    plan = make_org(db, "health_plan", "Great Lakes Health Plan")
    other_plan = make_org(db, "health_plan", "Other Plan")
    hub = make_org(db, "community_care_hub", "Western NY Care Hub")
    cbo = make_org(db, "cbo", "Buffalo Meals Collaborative")
    other_cbo = make_org(db, "cbo", "Niagara Housing Partners")
    db.add(HubNetworkMembership(hub_id=hub.id, cbo_id=cbo.id, start_date=date(2024, 1, 1)))
    meals = Service(organization_id=cbo.id, name="Medically tailored meals", need_domain="food",
                    service_code="S5170-U6", unit="meal", languages=["en"])
    cm = Service(organization_id=cbo.id, name="Community care management", need_domain="care_management",
                 service_code="T1016", unit="15 minutes", languages=["en"])
    pantry = Service(organization_id=cbo.id, name="Pantry delivery", need_domain="food", unit="delivery",
                     languages=["en"])
    housing = Service(organization_id=other_cbo.id, name="Housing navigation", need_domain="housing",
                      service_code="H0043", unit="day", languages=["en"])
    db.add_all([meals, cm, pantry, housing])
    db.flush()
    w = Partnership(plan, other_plan, hub, cbo, other_cbo)
    w.services = {"meals": meals, "cm": cm, "pantry": pantry, "housing": housing}
    w.users = {
        "admin": make_user(db, plan, "plan_admin"),
        "staff": make_user(db, plan, "plan_staff"),
        "other_admin": make_user(db, other_plan, "plan_admin"),
        "hub": make_user(db, hub, "hub_coordinator"),
        "cbo": make_user(db, cbo, "cbo_staff"),
        "other_cbo": make_user(db, other_cbo, "cbo_staff"),
        "auditor": make_user(db, plan, "auditor"),
    }
    for i in range(3):
        m = make_member(db, plan, first_name=f"Ana{i}", last_name=f"Alpha{i}")
        w.referrals[m.id] = share(db, m, cbo, plan)
        w.members.append(m)
    om = make_member(db, plan, first_name="Olu", last_name="Other")
    share(db, om, other_cbo, plan)
    w.other_members.append(om)
    w.unshared = make_member(db, plan, first_name="Una", last_name="Unshared")
    return w
