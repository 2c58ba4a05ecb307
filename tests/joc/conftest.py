"""A contract with the seed funnel, a committee with the template's core team, and meetings."""

from __future__ import annotations

from datetime import date

import pytest

from socialcare.joc import service
from socialcare.measures import service as measures
from tests.measures.conftest import World, add_members, seed_funnel, world  # noqa: F401 (fixture)

MONTH = date(2026, 3, 1)


@pytest.fixture
def committee(db, world: World):  # noqa: F811
    seed_funnel(db, world, MONTH, county=lambda i: ["Erie", "Niagara", "Chautauqua"][i % 3],
                preferred_language=lambda i: "ar" if i < 3 else "en")
    contract = measures.contract_for(db, world.plan_user, world.contract.id)
    for key, target in (("outreach_rate", "80"), ("contact_rate", "55"), ("accepted_rate", "50")):
        measures.set_goal(db, world.plan_user, contract, key, target)
    c = service.create_committee(db, world.plan_user, world.contract.id, standing_time="Second Tuesday, 10:00")
    service.add_participant(db, world.plan_user, c.id, name="Dana Whitfield", role="administrative_lead",
                            organization_id=world.plan.id, title="Director, Social Care Programs")
    service.add_participant(db, world.plan_user, c.id, name="Luis Ortega", role="programmatic_lead",
                            organization_id=world.cbo.id, title="Program Manager")
    service.add_participant(db, world.plan_user, c.id, name="Dr. Amy Chen", role="medical_leadership",
                            organization_id=world.plan.id)
    return c
