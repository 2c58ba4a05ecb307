"""Worlds for measure tests: a plan, a CBO partner, a contract, and bulk builders for members,
referrals with their milestones, and screenings with answers (set-based inserts, like the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from socialcare.contracts.models import Contract
from socialcare.members.models import EnrollmentSpan, Member
from socialcare.referrals.models import Referral, ReferralBatch
from socialcare.screening.models import Screening, ScreeningAnswer
from tests.factories import make_org, make_user


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class World:
    plan: object
    cbo: object
    other_cbo: object
    other_plan: object
    contract: Contract
    plan_user: object
    cbo_user: object
    other_cbo_user: object
    hub: object = None


@pytest.fixture
def world(db) -> World:
    plan = make_org(db, "health_plan", name="Lakeshore Health Plan")
    cbo = make_org(db, "cbo", name="Westside Food Pantry")
    other_cbo = make_org(db, "cbo", name="Other CBO")
    other_plan = make_org(db, "health_plan", name="Other Plan")
    contract = Contract(plan_id=plan.id, counterparty_id=cbo.id, name="Medically tailored meals", phase="active",
                        start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    db.add(contract)
    db.flush()
    return World(plan, cbo, other_cbo, other_plan, contract, make_user(db, plan, "plan_admin"),
                 make_user(db, cbo, "cbo_staff"), make_user(db, other_cbo, "cbo_staff"))


_counter = [0]


def add_members(db, plan, n: int, **overrides) -> list[int]:
    """n members in one INSERT; returns their ids."""
    _counter[0] += 1
    tag = f"T{_counter[0]}"
    rows = []
    for i in range(n):
        row = dict(plan_id=plan.id, plan_member_id=f"{tag}-{i:06d}", first_name="Pat", last_name=f"Doe{i}",
                   birth_date=date(1970, 1, 1), sex="female", race="white", ethnicity="not_hispanic_or_latino",
                   preferred_language="en", county="Erie", state="NY", product_line="medicaid")
        row.update({k: (v(i) if callable(v) else v) for k, v in overrides.items()})
        rows.append(row)
    db.execute(insert(Member), rows)
    ids = db.execute(select(Member.id).where(Member.plan_member_id.like(f"{tag}-%")).order_by(Member.id)).scalars()
    return list(ids)


def add_referrals(db, world: World, member_ids: list[int], *, month: date, steps: list[str],
                  need_domain: str = "food", owner_id: int | None = None, status: str | None = None,
                  batch: bool = True, requested: datetime | None = None, **extra) -> None:
    """One referral per member assigned in ``month``, with the milestones named in steps set."""
    batch_id = None
    if batch:
        b = ReferralBatch(requester_org_id=world.plan.id, partner_org_id=owner_id or world.cbo.id,
                          contract_id=world.contract.id, need_domain=need_domain, contract_month=month,
                          row_count=len(member_ids))
        db.add(b)
        db.flush()
        batch_id = b.id
    asked = requested or at(month + timedelta(days=2))
    milestone = {"outreached": "first_outreach_at", "contacted": "contacted_at", "accepted": "enrolled_at",
                 "service_started": "service_started_at"}
    rows = []
    for mid in member_ids:
        row = dict(plan_id=world.plan.id, requester_org_id=world.plan.id, owner_org_id=owner_id or world.cbo.id,
                   member_id=mid, need_domain=need_domain, batch_id=batch_id, contract_id=world.contract.id,
                   status=status or ("completed" if "completed" in steps else "accepted"), requested_at=asked,
                   created_at=asked, updated_at=asked, source="batch",
                   outreach_due_at=asked + timedelta(hours=72), contact_due_at=asked + timedelta(hours=120),
                   service_due_at=asked + timedelta(days=7))
        for i, s in enumerate(steps):
            if s in milestone:
                row[milestone[s]] = asked + timedelta(days=1 + i)
        if "completed" in steps:
            row["business_status"] = "need-resolved"
            row["closed_at"] = asked + timedelta(days=20)
        row.update(extra)
        rows.append(row)
    if rows:
        db.execute(insert(Referral), rows)


def seed_funnel(db, world: World, month: date, assigned=2069, outreached=1642, contacted=866, accepted=420,
                **member_overrides) -> list[int]:
    """The seed's sample scorecard (002, "Data presentation: Sample score card") as referrals."""
    ids = add_members(db, world.plan, assigned, **member_overrides)
    a = ids[:accepted]
    c = ids[accepted:contacted]
    o = ids[contacted:outreached]
    rest = ids[outreached:]
    add_referrals(db, world, a, month=month, steps=["outreached", "contacted", "accepted"])
    add_referrals(db, world, c, month=month, steps=["outreached", "contacted"])
    add_referrals(db, world, o, month=month, steps=["outreached"])
    add_referrals(db, world, rest, month=month, steps=[])
    return ids


def add_screening(db, plan, member_id: int, day: date, answers: list[tuple[str, bool]], status="completed",
                  org_id: int | None = None) -> int:
    """A screening on ``day`` with (domain, positive) answers."""
    s = Screening(member_id=member_id, plan_id=plan.id, organization_id=org_id or plan.id,
                  instrument="ahc_hrsn_core", panel_loinc="96777-8", status=status, screened_at=at(day),
                  positive_domains=[d for d, p in answers if p])
    db.add(s)
    db.flush()
    codes = {"food": "88122-7", "housing": "71802-3", "transportation": "93030-5"}
    if answers:
        db.execute(insert(ScreeningAnswer), [
            dict(screening_id=s.id, item_loinc=codes.get(d, "96779-4"), answer_code="LA33-6" if p else "LA32-8",
                 positive=p, domain=d) for d, p in answers])
    return s.id


def add_span(db, member_id: int, start: date, end: date | None, product_line="medicaid"):
    db.add(EnrollmentSpan(member_id=member_id, product_line=product_line, start_date=start, end_date=end))
    db.flush()
