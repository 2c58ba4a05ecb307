"""Small worlds for contract tests: a plan, a hub, two CBOs, their users, and a roster builder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import insert

from socialcare.contracts import schemas, service
from socialcare.contracts.demo import full_scope_of_work
from socialcare.members.models import EnrollmentSpan, Member, MemberCondition
from tests.factories import make_org, make_user

AS_OF = date(2026, 6, 1)


@dataclass
class Parties:
    plan: object
    other_plan: object
    hub: object
    cbo: object
    other_cbo: object
    admin: object
    staff: object
    hub_user: object
    cbo_user: object
    other_cbo_user: object
    other_plan_admin: object
    auditor: object


@pytest.fixture
def parties(db) -> Parties:
    plan = make_org(db, "health_plan")
    other_plan = make_org(db, "health_plan")
    hub = make_org(db, "community_care_hub")
    cbo = make_org(db, "cbo")
    other_cbo = make_org(db, "cbo")
    return Parties(
        plan, other_plan, hub, cbo, other_cbo,
        make_user(db, plan, "plan_admin"), make_user(db, plan, "plan_staff"), make_user(db, hub, "hub_coordinator"),
        make_user(db, cbo, "cbo_staff"), make_user(db, other_cbo, "cbo_staff"), make_user(db, other_plan, "plan_admin"),
        make_user(db, plan, "auditor"),
    )


def complete_sow(today: date = AS_OF, **population) -> schemas.ScopeOfWork:
    pop = population or {"kind": "group", "op": "and", "description": "Adults in Erie",
                         "rules": [{"kind": "geography", "counties": ["Erie"]}, {"kind": "age", "min_age": 18}]}
    doc = full_scope_of_work(
        today, population=dict(pop), volume={"minimum": 1, "maximum": 3, "unit": "members"},
        prioritization={"description": "Highest risk first", "rank_by": [{"key": "risk_score"}]},
        services=[{
            "name": "Meals", "need_domain": "food", "service_code": "S5170", "unit": "meal",
            "initiation": {"identification": "plan list", "enrollment": "member accepts"},
            "provision": {"activities": ["deliver two meals a day"], "settings": ["home"]},
            "conclusion": {"max_duration": "14 days", "completion": "28 meals"},
        }],
        hub=True,
    )
    return schemas.ScopeOfWork.model_validate(doc)


def make_contract(db, parties: Parties, sow: schemas.ScopeOfWork | None = None, counterparty=None, **kw):
    data = schemas.ContractCreate(
        name=kw.pop("name", "Meals after discharge"),
        counterparty_id=(counterparty or parties.hub).id,
        start_date=kw.pop("start_date", date(2026, 1, 1)),
        end_date=kw.pop("end_date", date(2026, 12, 31)),
        payment_terms_yaml=kw.pop("payment_terms_yaml", ""),
        scope_of_work=sow if sow is not None else complete_sow(),
        **kw,
    )
    return service.create(db, parties.admin, data)


def add_members(db, plan, rows: list[dict]) -> list[int]:
    """Members with an open enrollment span; ``conditions`` lists ICD-10 codes."""
    ids = []
    for i, r in enumerate(rows):
        r = dict(r)
        conditions = r.pop("conditions", [])
        enrolled = r.pop("enrolled", True)
        values = dict(plan_id=plan.id, plan_member_id=f"T{plan.id}-{i:06d}-{len(ids)}", first_name="Test",
                      last_name=f"Member{i}", birth_date=date(1970, 1, 1), sex="female", race="white",
                      ethnicity="not_hispanic_or_latino", preferred_language="en", county="Erie", zip="14201",
                      state="NY", product_line="medicaid", risk_score=Decimal("1.000"))
        values.update(r)
        mid = db.execute(insert(Member).returning(Member.id), [values]).scalar_one()
        ids.append(mid)
        db.execute(insert(EnrollmentSpan), [dict(member_id=mid, product_line=values["product_line"],
                                                 start_date=date(2020, 1, 1),
                                                 end_date=None if enrolled else date(2025, 1, 1))])
        if conditions:
            db.execute(insert(MemberCondition), [dict(member_id=mid, icd10_code=c) for c in conditions])
    db.flush()
    return ids
