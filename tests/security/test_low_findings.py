"""Low findings: escalations stay within the plans an organization works with; a batch reveals no
other plan's member ids; a plan's cancel ends the hub's sub-referral."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from socialcare.core.errors import InvalidInput
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral


def test_a_cbo_cannot_raise_an_escalation_into_an_unrelated_plans_queue(db, world):
    with pytest.raises(InvalidInput) as err:
        referrals.raise_escalation(db, world.users["cbo"], referral_id=None, category="service_gap",
                                   subject="hello", plan_id=world.plan_b.id)
    assert err.value.problems[0].field == "plan_id"


def test_batch_assignment_does_not_reveal_another_plans_member_ids(db, world):
    theirs, unknown = world.members_b[0].id, 2_000_000
    messages = []
    for mid in (theirs, unknown):
        with pytest.raises(InvalidInput) as err:
            referrals.assign_batch(db, world.users["staff_a"], partner_org_id=world.cbo.id, need_domain="food",
                                   member_ids=[mid])
        messages.append(err.value.problems[0].message.replace(str(mid), "N"))
    assert messages[0] == messages[1]


def test_identical_batches_assign_each_member_once(db, world):
    ids = [m.id for m in world.members_a]
    referrals.assign_batch(db, world.users["staff_a"], partner_org_id=world.cbo.id, need_domain="food", member_ids=ids)
    with pytest.raises(InvalidInput):
        referrals.assign_batch(db, world.users["staff_a"], partner_org_id=world.cbo.id, need_domain="food",
                               member_ids=ids)
    n = len(list(db.scalars(select(Referral.id).where(Referral.member_id.in_(ids)))))
    assert n == len(ids)


def test_a_plan_cancel_closes_the_hubs_sub_referral(db, world):
    m = world.members_a[0]
    ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=m.id, need_domain="food", owner_org_id=world.hub.id, reason="meals", urgency="routine",
        consent_scope="referral"))
    referrals.route(db, world.users["hub"], ref.id, cbo_id=world.cbo.id, service_id=None, version=None, note=None,
                    consent_scope="referral")
    child = db.scalar(select(Referral).where(Referral.parent_id == ref.id))
    assert child.status == "requested"
    db.refresh(ref)
    referrals.act(db, world.users["staff_a"], ref.id, "cancel", version=None, reason="member moved away")
    db.refresh(child)
    assert child.status == "cancelled" and child.closed_at is not None
