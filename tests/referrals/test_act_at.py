"""``act(at=...)``: a step reported after it happened (a partner's status file) is dated when it
happened, while the referral's updated_at says when it was recorded (what polling partners see)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from socialcare.core.clock import as_utc
from socialcare.referrals import repository as repo
from socialcare.referrals import service as svc
from socialcare.referrals.models import ReferralEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _events(db, ref_id):
    return [(e.action, as_utc(e.at)) for e in db.scalars(
        select(ReferralEvent).where(ReferralEvent.referral_id == ref_id, ReferralEvent.kind != "consent")
        .order_by(ReferralEvent.id))]


def test_without_at_everything_is_dated_now(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, svc.NewReferral(member_id=w.member.id, need_domain="food",
                                                                    owner_org_id=w.cbo.id), now=T0)
    t1 = T0 + timedelta(hours=1)
    ref = svc.act(db, w.cbo_user, ref.id, "accept", version=None, now=t1)
    assert as_utc(ref.accepted_at) == as_utc(ref.updated_at) == t1
    assert _events(db, ref.id)[-1] == ("accept", t1)


def test_a_late_report_is_dated_when_it_happened_and_stamped_when_recorded(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, svc.NewReferral(member_id=w.member.id, need_domain="food",
                                                                    owner_org_id=w.hub.id), now=T0)
    parent = svc.route(db, w.hub_user, ref.id, cbo_id=w.cbo.id, service_id=w.food.id, version=None,
                       now=T0 + timedelta(minutes=5))
    child = repo.open_child(db, parent.id)
    happened, recorded = T0 + timedelta(days=1), T0 + timedelta(days=8)
    child = svc.act(db, w.cbo_user, child.id, "accept", version=None, now=recorded, at=happened)
    child = svc.act(db, w.cbo_user, child.id, "contacted", version=None, channel="phone", now=recorded,
                    at=happened + timedelta(hours=2))
    assert as_utc(child.accepted_at) == happened
    assert as_utc(child.contacted_at) == as_utc(child.first_outreach_at) == happened + timedelta(hours=2)
    assert as_utc(child.updated_at) == recorded
    assert _events(db, child.id)[-2:] == [("accept", happened), ("contacted", happened + timedelta(hours=2))]
    # the plan's referral mirrors the milestone at the same moment, and is stamped when recorded
    db.refresh(parent)
    assert as_utc(parent.contacted_at) == happened + timedelta(hours=2)
    assert as_utc(parent.updated_at) == recorded
    assert _events(db, parent.id)[-1] == ("sub:contacted", happened + timedelta(hours=2))
