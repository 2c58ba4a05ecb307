"""Escalations climb the contract's pathway on an injected clock, and the hub sees its network's;
referral clocks follow the contract's timing expectations in business days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialcare.partnership import clocks, escalations, rules
from socialcare.referrals import repository as repo
from socialcare.referrals import service as svc
from socialcare.referrals.models import ReferralEvent
from tests.factories import make_user
from tests.partnership.conftest import make_live_contract

FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _refer(db, w, now, owner=None):
    ref, _ = svc.create_referral(db, w.plan_staff, svc.NewReferral(
        member_id=w.member.id, need_domain="food", owner_org_id=(owner or w.cbo).id, reason="after discharge"),
        now=now)
    return ref


def test_three_business_days_to_contact_makes_a_friday_referral_overdue_on_wednesday(db, world, plan_admin):
    w = world
    make_live_contract(db, w, plan_admin, timing=[{"milestone": "contact", "within": 3, "unit": "business_days"}])
    ref = _refer(db, w, FRIDAY)
    assert ref.contact_due_at.replace(tzinfo=UTC) == datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # Wednesday
    for not_yet in (datetime(2026, 12, 7, 12, tzinfo=UTC),  # Monday: calendar days would already be late
                    datetime(2026, 12, 8, 23, 59, tzinfo=UTC),  # Tuesday night
                    datetime(2026, 12, 9, 9, 59, tzinfo=UTC)):
        assert not clocks.overdue(ref, not_yet)["contact"]
        assert not svc.row_for(db, w.plan_staff, ref, now=not_yet).contact_overdue
    wednesday = datetime(2026, 12, 9, 10, 1, tzinfo=UTC)
    assert clocks.overdue(ref, wednesday)["contact"]
    assert svc.row_for(db, w.plan_staff, ref, now=wednesday).contact_overdue


def test_without_a_contract_the_referral_keeps_the_standard_clock(db, world):
    ref = _refer(db, world, FRIDAY)
    assert ref.contact_due_at.replace(tzinfo=UTC) == FRIDAY + timedelta(hours=120)


def test_timing_in_words_is_read_from_the_timing_workflow():
    assert rules.parse_timing("3 business days to contact") == [("contact", 3, "business_days")]
    assert rules.parse_timing("First contact within 2 business days; services start within 7 days.") == [
        ("contact", 2, "business_days"), ("service", 7, "days")]
    assert rules.add_business_days(datetime(2026, 12, 5, 15, tzinfo=UTC), 1) == datetime(2026, 12, 8, tzinfo=UTC)


def test_two_level_escalation_climbs_when_the_response_time_passes_and_the_hub_sees_it(db, world, plan_admin):
    w = world
    manager = make_user(db, w.plan, "plan_staff", username="pathway-manager")
    director = make_user(db, w.plan, "plan_staff", username="pathway-director")
    backup = make_user(db, w.plan, "plan_staff", username="pathway-backup")
    contract = make_live_contract(db, w, plan_admin, pathway=[
        {"level": 1, "contact": "Program manager", "contact_username": "pathway-manager", "respond_within_days": 2,
         "backup": "Deputy manager", "backup_username": "pathway-backup"},
        {"level": 2, "contact": "Director of care management", "contact_username": "pathway-director",
         "respond_within_days": 5},
    ])
    ref = _refer(db, w, FRIDAY)  # to a CBO of the hub's network: the plan–hub contract applies
    esc = svc.raise_escalation(db, w.cbo_user, referral_id=ref.id, category="eligibility", barrier="prior_authorization",
                               subject="Authorization stuck", now=FRIDAY)
    assert (esc.contract_id, esc.level, esc.owner_user_id) == (contract.id, 1, manager.user_id)
    assert esc.barrier == "prior_authorization"
    assert esc.respond_by.replace(tzinfo=UTC) == FRIDAY + timedelta(days=2)

    # the hub coordinator sees its network CBO's escalation; another CBO does not
    assert [e.id for e, _ in db.execute(repo.escalations_select(w.hub_user)).all()] == [esc.id]
    assert db.execute(repo.escalations_select(w.cbo2_user)).all() == []

    assert escalations.climb_overdue(db, FRIDAY + timedelta(days=1)) == []  # not yet
    climbed = escalations.climb_overdue(db, FRIDAY + timedelta(days=2, minutes=1))
    assert [e.id for e in climbed] == [esc.id]
    db.refresh(esc)
    assert (esc.level, esc.owner_user_id, esc.contact_name) == (2, director.user_id, "Director of care management")
    assert esc.respond_by.replace(tzinfo=UTC) == FRIDAY + timedelta(days=7, minutes=1)
    events = db.query(ReferralEvent).filter_by(referral_id=ref.id, action="escalation.climb").all()
    assert len(events) == 1 and "level 2" in events[0].note
    # still visible to the hub at level 2, and the top level does not climb further
    assert [e.level for e, _ in db.execute(repo.escalations_select(w.hub_user)).all()] == [2]
    assert escalations.climb_overdue(db, FRIDAY + timedelta(days=30)) == []
    db.refresh(esc)
    assert esc.level == 2
    # a deactivated level-1 contact: the next escalation goes to the backup
    from socialcare.security.models import User

    db.get(User, manager.user_id).is_active = False
    esc2 = svc.raise_escalation(db, w.cbo_user, referral_id=ref.id, category="capacity", barrier="capacity",
                                subject="No slots", now=FRIDAY)
    assert esc2.owner_user_id == backup.user_id and "backup" in esc2.contact_name
    assert {(r["barrier"], r["count"]) for r in escalations.barriers_by_month(db, [contract.id])} == {
        ("prior_authorization", 1), ("capacity", 1)}
