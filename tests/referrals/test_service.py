"""Referral use cases against the database: the closed loop, scoping, consent, conflicts, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from socialcare.core.clock import as_utc
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from socialcare.members import service as member_service
from socialcare.members.models import Member
from socialcare.referrals import repository as repo
from socialcare.referrals import service as svc
from socialcare.referrals.models import Referral, ReferralEvent
from socialcare.security.models import AuditEvent
from socialcare.security.sharing import member_visibility

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _new(w, **kw):
    data = dict(member_id=w.member.id, need_domain="food", owner_org_id=w.hub.id, reason="Positive HVS screen",
                urgency="urgent")
    data.update(kw)
    return svc.NewReferral(**data)


def _visible_members(db, principal):
    return set(db.scalars(select(Member.id).where(member_visibility(principal))))


def test_closed_loop_plan_hub_cbo(db, world):
    w = world
    ref, created = svc.create_referral(db, w.plan_staff, _new(w, consent_scope="referral"), now=T0)
    assert created and ref.status == "requested" and ref.business_status == "awaiting-routing"
    assert ref.outreach_due_at is not None
    # the hub sees it in its routing queue, with ranked suggestions
    queue = db.execute(repo.routing_queue_select(w.hub_user, T0)).all()
    assert [r[0].id for r in queue] == [ref.id]
    sugg = repo.suggestions(db, w.hub.id, w.member, "food", T0.date())
    assert [s.cbo_id for s in sugg] == [w.cbo.id, w.cbo2.id]  # Erie county + Spanish first
    assert sugg[0].serves_area and sugg[0].language_match and sugg[0].capacity_left == 2
    assert not sugg[1].serves_area and not sugg[1].language_match
    # route -> sub-referral owned by the CBO
    t1 = T0 + timedelta(hours=1)
    parent = svc.route(db, w.hub_user, ref.id, cbo_id=w.cbo.id, service_id=w.food.id, version=ref.version,
                       consent_scope="referral", now=t1)
    assert parent.status == "in-progress" and parent.business_status == "routed"
    child = repo.open_child(db, parent.id)
    assert child is not None and child.owner_org_id == w.cbo.id and child.parent_id == parent.id
    assert child.outreach_due_at == parent.outreach_due_at  # the clock runs from the plan's request
    # the CBO works it
    steps = [("accept", {}), ("outreach", {"channel": "phone", "result": "no_answer"}),
             ("contacted", {"channel": "phone", "result": "reached"}), ("enroll", {}), ("start_service", {}),
             ("resolve", {})]
    for i, (action, kw) in enumerate(steps, start=2):
        child = svc.act(db, w.cbo_user, child.id, action, version=child.version, now=T0 + timedelta(hours=i), **kw)
    assert child.status == "completed" and child.business_status == "need-resolved"
    db.expire_all()
    parent = db.get(Referral, ref.id)
    assert parent.status == "completed" and parent.business_status == "need-resolved"
    assert parent.first_outreach_at is not None and parent.contacted_at is not None
    assert parent.enrolled_at is not None and parent.service_started_at is not None and parent.closed_at is not None
    assert parent.outreach_attempts == 2
    # the plan sees the whole timeline, each event attributed
    events = repo.timeline(db, [parent.id, child.id])
    assert all(e.username and e.at for e, _org in events)
    actions = [e.action for e, _ in events]
    assert actions[0] == "create" and "route" in actions and "resolve" in actions and "sub:resolve" in actions


def test_cbo_cannot_see_another_cbos_referral_or_member(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id, consent_scope="referral"), now=T0)
    with pytest.raises(NotFound):
        svc.get_referral(db, w.cbo2_user, ref.id)
    assert w.member.id not in _visible_members(db, w.cbo2_user)
    assert w.member.id in _visible_members(db, w.cbo_user)
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "referral.read", AuditEvent.allowed.is_(False)))
    assert denied.first() is not None


def test_without_consent_minimum_necessary_and_revoke_hides(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id), now=T0)
    # no consent: the CBO has the referral but not the member record; only the minimum necessary
    assert svc.get_referral(db, w.cbo_user, ref.id).id == ref.id
    assert w.member.id not in _visible_members(db, w.cbo_user)
    assert repo.member_access(db, w.cbo_user, w.member.id) == "minimum"
    with pytest.raises(Forbidden):
        member_service.get_member(db, w.cbo_user, w.member.id)
    # the CBO records the consent the member gave at outreach
    consent = svc.grant_consent(db, w.cbo_user, member_id=w.member.id, organization_id=w.cbo.id, scope="referral")
    assert w.member.id in _visible_members(db, w.cbo_user)
    assert repo.member_access(db, w.cbo_user, w.member.id) == "full"
    assert member_service.get_member(db, w.cbo_user, w.member.id).id == w.member.id
    # the member withdraws it: hidden from then on, the referral shows no member details
    svc.revoke_consent(db, w.plan_staff, consent.id, reason="member asked by phone")
    assert w.member.id not in _visible_members(db, w.cbo_user)
    assert repo.member_access(db, w.cbo_user, w.member.id) == "hidden"
    with pytest.raises(Conflict):
        svc.revoke_consent(db, w.plan_staff, consent.id, reason="again")
    kinds = db.scalars(select(ReferralEvent.action).where(ReferralEvent.referral_id == ref.id)).all()
    assert "consent.grant" in kinds and "consent.revoke" in kinds


def test_expired_consent_does_not_share(db, world):
    w = world
    svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id), now=T0)
    svc.grant_consent(db, w.plan_staff, member_id=w.member.id, organization_id=w.cbo.id, scope="referral",
                      expires_at=datetime.now(UTC) + timedelta(days=1))
    assert w.member.id in _visible_members(db, w.cbo_user)
    later = datetime.now(UTC) + timedelta(days=2)
    assert w.member.id not in set(db.scalars(repo.shared_member_ids_select(w.cbo_user, now=later)))


def test_outsider_cannot_record_consent_or_screen(db, world):
    w = world
    with pytest.raises(Forbidden):
        svc.grant_consent(db, w.outsider_user, member_id=w.member.id, organization_id=w.outsider.id, scope="referral")


def test_no_jump_from_requested_to_completed(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id), now=T0)
    with pytest.raises(Conflict, match="not possible while the referral is requested"):
        svc.act(db, w.cbo_user, ref.id, "resolve", version=ref.version)
    with pytest.raises(Conflict):
        svc.act(db, w.plan_staff, ref.id, "accept", version=ref.version)  # the plan is not the target


def test_stale_version_conflict(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id), now=T0)
    v = ref.version
    svc.act(db, w.cbo_user, ref.id, "accept", version=v)
    with pytest.raises(Conflict, match="changed by someone else"):
        svc.act(db, w.cbo_user, ref.id, "reject", version=v, reason="no capacity")


def test_idempotency_key(db, world):
    w = world
    a, c1 = svc.create_referral(db, w.plan_staff, _new(w), idempotency_key="k-1")
    b, c2 = svc.create_referral(db, w.plan_staff, _new(w), idempotency_key="k-1")
    assert c1 and not c2 and a.id == b.id
    with pytest.raises(Conflict, match="different request"):
        svc.create_referral(db, w.plan_staff, _new(w, urgency="routine"), idempotency_key="k-1")
    n = db.scalar(select(Referral.id).where(Referral.idempotency_key == "k-1").with_only_columns(
        Referral.id.label("n")).order_by(None))
    assert n == a.id


def test_create_validation_reports_every_field(db, world):
    w = world
    with pytest.raises(InvalidInput) as e:
        svc.create_referral(db, w.plan_staff, _new(w, member_id=w.other_plan_member.id, need_domain="spaceflight",
                                                   urgency="whenever", owner_org_id=w.plan.id))
    assert {p.field for p in e.value.problems} == {"member_id", "need_domain", "urgency", "owner_org_id"}


def test_reroute_after_rejection_and_explicit_reroute(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w), now=T0)
    parent = svc.route(db, w.hub_user, ref.id, cbo_id=w.cbo.id, service_id=w.food.id, version=None, now=T0)
    child = repo.open_child(db, parent.id)
    svc.act(db, w.cbo_user, child.id, "reject", version=child.version, reason="no capacity this week")
    db.expire_all()
    parent = db.get(Referral, ref.id)
    assert parent.status == "in-progress" and parent.business_status == "awaiting-routing"
    assert [r[0].id for r in db.execute(repo.routing_queue_select(w.hub_user, T0)).all()] == [ref.id]
    parent = svc.route(db, w.hub_user, ref.id, cbo_id=w.cbo2.id, service_id=w.food2.id, version=parent.version)
    child2 = repo.open_child(db, parent.id)
    assert child2.owner_org_id == w.cbo2.id
    with pytest.raises(Conflict, match="already routed"):
        svc.route(db, w.hub_user, ref.id, cbo_id=w.cbo.id, service_id=None, version=parent.version)
    parent = svc.route(db, w.hub_user, ref.id, cbo_id=w.cbo.id, service_id=None, version=parent.version,
                       reroute_reason="member moved to Erie county")
    db.expire_all()
    assert db.get(Referral, child2.id).status == "cancelled"
    assert repo.open_child(db, ref.id).owner_org_id == w.cbo.id


def test_route_refuses_cbo_outside_network(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w), now=T0)
    with pytest.raises(InvalidInput):
        svc.route(db, w.hub_user, ref.id, cbo_id=w.outsider.id, service_id=None, version=None)


def test_capacity_counts_referrals_accepted_this_month(db, world):
    w = world
    now = datetime.now(UTC)
    for _ in range(2):
        r, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id, service_id=w.food.id))
        svc.act(db, w.cbo_user, r.id, "accept", version=r.version, now=now)
    sugg = repo.suggestions(db, w.hub.id, w.member, "food", now.date())
    first = next(s for s in sugg if s.cbo_id == w.cbo.id)
    assert first.capacity_left == 0 and first.used_this_month == 2


def test_unable_to_contact_after_three_attempts(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id))
    ref = svc.act(db, w.cbo_user, ref.id, "accept", version=ref.version)
    for _ in range(2):
        ref = svc.act(db, w.cbo_user, ref.id, "outreach", version=ref.version, channel="phone", result="no_answer")
    with pytest.raises(Conflict, match="at least 3"):
        svc.act(db, w.cbo_user, ref.id, "unable_to_contact", version=ref.version)
    ref = svc.act(db, w.cbo_user, ref.id, "outreach", version=ref.version, channel="text", result="no_answer")
    ref = svc.act(db, w.cbo_user, ref.id, "unable_to_contact", version=ref.version)
    assert ref.status == "failed" and ref.business_status == "unable-to-contact" and ref.closed_at is not None


def test_overdue_flags_in_sql(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id, urgency="stat"), now=T0)
    late = T0 + timedelta(hours=3)
    rows = db.execute(repo.list_select(w.cbo_user, repo.ReferralFilters(overdue_only=True), late)).all()
    assert [r[0].id for r in rows] == [ref.id] and rows[0].outreach_overdue == 1 and rows[0].contact_overdue == 0
    ref = svc.act(db, w.cbo_user, ref.id, "accept", version=ref.version, now=late)
    svc.act(db, w.cbo_user, ref.id, "outreach", version=ref.version, channel="phone", result="left_message",
            now=late)
    rows = db.execute(repo.list_select(w.cbo_user, repo.ReferralFilters(), late)).all()
    assert rows[0].outreach_overdue == 0


def test_discharge_24h_clock(db, world):
    w = world
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id, urgency="routine",
                                                        discharge_at=T0), now=T0 + timedelta(hours=1))
    assert as_utc(ref.outreach_due_at) == T0 + timedelta(hours=25)


def test_escalation_to_designated_contact(db, world):
    w = world
    from tests.factories import make_user

    contact = make_user(db, w.plan, "plan_staff")
    svc.set_designated_contact(db, w.plan_staff, user_id=contact.user_id)
    ref, _ = svc.create_referral(db, w.plan_staff, _new(w, owner_org_id=w.cbo.id))
    esc = svc.raise_escalation(db, w.cbo_user, referral_id=ref.id, category="member_safety", severity="high",
                               subject="Member reports no heat", description="Elderly member, no heat since Monday")
    assert esc.owner_user_id == contact.user_id and esc.status == "open" and esc.plan_id == w.plan.id
    with pytest.raises(Forbidden):
        svc.update_escalation(db, w.cbo_user, esc.id, version=esc.version, status="resolved", resolution="x")
    with pytest.raises(InvalidInput):
        svc.update_escalation(db, w.plan_staff, esc.id, version=esc.version, status="resolved")
    esc = svc.update_escalation(db, w.plan_staff, esc.id, version=esc.version, status="in-progress")
    esc = svc.update_escalation(db, w.plan_staff, esc.id, version=esc.version, status="resolved",
                                resolution="Emergency heating assistance arranged")
    assert esc.status == "resolved" and esc.resolved_at is not None
    listed = db.execute(repo.escalations_select(w.cbo_user)).all()
    assert [e.id for e, _ in listed] == [esc.id]
    assert db.execute(repo.escalations_select(w.cbo2_user)).all() == []
