"""The referral state machine (FHIR SDOHCC Task states, who sets them, business steps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.referrals import rules
from socialcare.referrals.rules import Side, Snapshot, Status, TransitionRefused

ALL = list(rules.TRANSITIONS)
SIDES = [frozenset({Side.REQUESTER}), frozenset({Side.OWNER}), frozenset({Side.REQUESTER, Side.OWNER})]


def test_ig_edges():
    assert rules.can_transition("requested", "accepted")
    assert not rules.can_transition("requested", "completed")
    assert not rules.can_transition("requested", "in-progress")
    assert rules.can_transition("accepted", "completed")
    assert rules.can_transition("on-hold", "in-progress")
    for s in ALL:
        if s not in rules.TERMINAL:
            assert rules.can_transition(s, "entered-in-error")


def test_who_sets_what():
    assert rules.may_set(Side.REQUESTER, "requested") and not rules.may_set(Side.OWNER, "requested")
    assert rules.may_set(Side.OWNER, "completed") and not rules.may_set(Side.REQUESTER, "completed")
    assert rules.may_set(Side.OWNER, "cancelled") and rules.may_set(Side.REQUESTER, "cancelled")
    with pytest.raises(TransitionRefused, match="owner"):
        rules.check_transition("requested", "accepted", {Side.REQUESTER})


def test_every_action_is_an_ig_edge_set_by_its_side():
    for a in rules.ACTIONS.values():
        for s in a.from_statuses:
            if a.to_status is not None and a.to_status != s:
                assert rules.can_transition(s, a.to_status), (a.key, s)
                assert rules.may_set(a.side, a.to_status), a.key
        for b in [a.business_status] if a.business_status else []:
            assert b in rules.BUSINESS_STATUSES


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(list(rules.ACTIONS)), st.sampled_from(SIDES)), max_size=25))
def test_random_action_sequences_stay_on_ig_paths(steps):
    snap = Snapshot(status=Status.REQUESTED)
    path = [snap.status]
    for action, sides in steps:
        before = snap
        try:
            out = rules.apply(action, snap, sides, reason="because", channel="phone")
        except TransitionRefused:
            continue
        if before.status in rules.TERMINAL:
            pytest.fail("a terminal referral changed")
        if out.changes_status:
            assert rules.can_transition(before.status, out.to_status)
        milestones = before.milestones | set(out.sets)
        attempts = before.outreach_attempts + (action in ("outreach", "contacted"))
        snap = Snapshot(out.to_status, out.business_status, attempts, frozenset(milestones))
        path.append(snap.status)
        if out.to_status == Status.COMPLETED:
            # completion only after a service started (never straight from requested)
            assert "service_started_at" in snap.milestones
            assert Status.ACCEPTED in path
    assert path[0] == Status.REQUESTED


@given(st.sampled_from(sorted(rules.TERMINAL)), st.sampled_from(list(rules.ACTIONS)), st.sampled_from(SIDES))
def test_terminal_states_are_final(status, action, sides):
    with pytest.raises(TransitionRefused):
        rules.apply(action, Snapshot(status=status), sides, reason="x", channel="phone")


def test_requested_cannot_jump_to_completed():
    snap = Snapshot(status=Status.REQUESTED)
    for action in ("resolve", "close_unresolved", "start_service"):
        with pytest.raises(TransitionRefused):
            rules.apply(action, snap, {Side.OWNER}, reason="x")


def test_enroll_needs_contact_and_unable_to_contact_needs_attempts():
    snap = Snapshot(status=Status.ACCEPTED, milestones=frozenset({"accepted_at"}))
    with pytest.raises(TransitionRefused, match="contact"):
        rules.apply("enroll", snap, {Side.OWNER})
    with pytest.raises(TransitionRefused, match="at least 3"):
        rules.apply("unable_to_contact", Snapshot(Status.ACCEPTED, outreach_attempts=2), {Side.OWNER})
    out = rules.apply("unable_to_contact", Snapshot(Status.ACCEPTED, outreach_attempts=3), {Side.OWNER})
    assert out.to_status == Status.FAILED and out.business_status == "unable-to-contact" and "closed_at" in out.sets


def test_outreach_needs_channel_and_reject_a_reason():
    with pytest.raises(TransitionRefused, match="channel"):
        rules.apply("outreach", Snapshot(Status.ACCEPTED), {Side.OWNER})
    with pytest.raises(TransitionRefused, match="reason"):
        rules.apply("reject", Snapshot(Status.REQUESTED), {Side.OWNER})


def test_requester_cannot_accept_owner_cannot_mark_entered_in_error():
    with pytest.raises(TransitionRefused):
        rules.apply("accept", Snapshot(Status.REQUESTED), {Side.REQUESTER})
    with pytest.raises(TransitionRefused):
        rules.apply("entered_in_error", Snapshot(Status.ACCEPTED), {Side.OWNER}, reason="x")


def test_available_actions_for_a_new_referral():
    keys = {a.key for a in rules.available_actions(Snapshot(Status.REQUESTED), {Side.OWNER})}
    assert keys == {"accept", "reject"}


def test_due_times_and_discharge_clock():
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    d = rules.due_times(t0, "routine")
    assert d["outreach_due_at"] == t0 + timedelta(hours=72)
    discharged = rules.due_times(t0, "routine", discharge_at=t0 - timedelta(hours=2))
    assert discharged["outreach_due_at"] == t0 + timedelta(hours=24)
    assert rules.due_times(t0, "stat")["outreach_due_at"] == t0 + timedelta(hours=2)


def test_minimum_necessary_view():
    m = {"id": 1, "first_name": "Ana", "last_name": "R", "phone": "555", "preferred_language": "es", "zip": "14201",
         "county": "Erie", "birth_date": "1970-01-01", "address_1": "1 Main St", "plan_member_id": "M1"}
    minimum = rules.member_view(m, "minimum")
    assert set(minimum) == set(rules.MINIMUM_NECESSARY_FIELDS)
    assert "birth_date" not in minimum and "address_1" not in minimum
    assert rules.member_view(m, "full")["birth_date"] == "1970-01-01"
    assert rules.member_view(m, "hidden") == {"id": 1, "hidden": True}


def test_loop_status():
    assert rules.loop_status("completed", "need-resolved") == "closed: need resolved"
    assert rules.loop_status("failed", "unable-to-contact") == "closed: unable to contact"
    assert rules.loop_status("in-progress", "service-started").startswith("open")


def _run(snap: Snapshot, actions: list[str], sides) -> Snapshot:
    for key in actions:
        out = rules.apply(key, snap, sides, reason="reported by the partner", channel="portal")
        snap = Snapshot(status=out.to_status, business_status=out.business_status,
                        outreach_attempts=snap.outreach_attempts + (key in ("outreach", "contacted")),
                        milestones=snap.milestones | frozenset(out.sets))
    return snap


def test_reported_completion_records_every_implied_step_in_order():
    """A partner reporting 'completed' on a referral it never accepted (a FHIR PUT, a status file)
    gets the whole path on the timeline: accept, contact, enroll, start, resolve."""
    snap = Snapshot(status=Status.REQUESTED)
    steps = rules.actions_toward(snap, "completed", None, {Side.OWNER})
    assert steps == ["accept", "contacted", "enroll", "start_service", "resolve"]
    end = _run(snap, steps, {Side.OWNER})
    assert (end.status, end.business_status) == ("completed", "need-resolved")
    assert {"accepted_at", "contacted_at", "enrolled_at", "service_started_at", "closed_at"} <= end.milestones
    assert rules.actions_toward(end, "completed", None, {Side.OWNER}) == []  # reported twice: nothing to do
    assert rules.actions_toward(snap, "failed", "declined", {Side.OWNER}) == ["decline"]
    assert rules.actions_toward(snap, "cancelled", None, {Side.OWNER}) == ["withdraw"]
    assert rules.actions_toward(snap, "cancelled", None, {Side.REQUESTER}) == ["cancel"]


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(list(rules.ACTIONS)), st.sampled_from(SIDES)), max_size=12),
       st.sampled_from(ALL), st.sampled_from([None, *rules.BUSINESS_STATUSES]), st.sampled_from(SIDES))
def test_actions_toward_reach_the_reported_status_or_are_refused(history, to_status, business, sides):
    """Whatever state a referral is in, the planned actions either take it exactly to the reported
    status or are refused by the state machine: a report never lands the referral somewhere else."""
    snap = Snapshot(status=Status.REQUESTED)
    for key, who in history:  # any reachable state
        try:
            snap = _run(snap, [key], who)
        except TransitionRefused:
            pass
    try:
        end = _run(snap, rules.actions_toward(snap, to_status, business, sides), sides)
    except TransitionRefused:
        return
    assert end.status == to_status
