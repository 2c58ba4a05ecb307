"""Referral status updates from the hub or CBO a referral was sent to: each row becomes the referral
actions that lead to its status (``rules.actions_toward``, the mapping the FHIR Task update uses),
applied through ``referrals.service.act``, so the state machine, who may set which status, the
timeline, the milestones, the hub's mirroring onto the plan's referral and the audit apply exactly
as in the web app.

Everything is checked before anything is written: the rows of each referral, in file order, are run
through the pure state machine from the referral's current state. A referral the importer may not
see is "not found" (never whose it is); one it sees but was not sent (a hub's sub-referral to a
CBO) is refused. Steps are recorded at the row's status date (``act(at=...)``): the day at 00:00
UTC, or just after the referral's previous step when that came later the same day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.core.clock import as_utc
from socialcare.core.clock import today as real_today
from socialcare.core.errors import Forbidden, InvalidInput, Problem, SocialcareError
from socialcare.interop.flatfiles import layouts
from socialcare.referrals import repository as referral_repo
from socialcare.referrals import rules
from socialcare.referrals import service as referrals
from socialcare.referrals.models import ReferralEvent
from socialcare.referrals.rules import Side, Status
from socialcare.security.principal import Principal

NEEDS_REASON = frozenset({Status.REJECTED, Status.CANCELLED, Status.ON_HOLD, Status.FAILED})
# Which business statuses may accompany a reported status. The steps themselves record the business
# status (contacted, enrolled...); the reasons a referral closes without service (no capacity, not
# eligible) are recorded nowhere else, so they go in front of the row's reason.
FITS: dict[str, frozenset[str]] = {
    Status.ACCEPTED: frozenset({"outreach-attempted", "contacted", "enrolled"}),
    Status.IN_PROGRESS: frozenset({"service-started"}),
    Status.ON_HOLD: frozenset({"on-hold"}),
    Status.COMPLETED: frozenset({"need-resolved", "need-not-resolved"}),
    Status.FAILED: frozenset({"declined", "unable-to-contact", "no-capacity", "not-eligible"}),
    Status.REJECTED: frozenset({"no-capacity", "not-eligible"}),
    Status.CANCELLED: frozenset({"no-capacity", "not-eligible"}),
}
REASON_CODES = frozenset({"no-capacity", "not-eligible"})
LIFECYCLE_EVENTS = ("status", "step", "routed")  # notes, consent and escalations do not move the clock
INVALID = "(invalid)"  # an optional code the reader reported as unreadable


def authorize(principal: Principal) -> None:
    if principal.is_plan or not principal.can("referrals:work"):
        raise Forbidden("Referral status files come from the hub or CBO the referrals were sent to; "
                        "a plan follows its referrals on the Referrals page or through FHIR.")


@dataclass
class Step:
    """One row, checked: the actions it takes, when, with what."""

    row: int
    referral_id: int
    actions: list[str]
    at: datetime
    reason: str | None
    note: str | None
    channel: str | None


def _rows(parsed: dict) -> list[dict]:
    """The rows as Python values. A cell the reader already reported as unreadable is None (or
    INVALID for an optional code), so the checks that depend on it are skipped, not repeated."""
    n = len(parsed["referral_id"])
    dates = parsed["status_date"]
    statuses = set(layouts.REFERRAL_STATUS.column("status").values or ())

    def code(value: str, allowed) -> str | None:
        return (value if value in allowed else INVALID) if value else None

    out = []
    for i in range(n):
        d, rid = dates.iloc[i], parsed["referral_id"].iloc[i]
        out.append({
            "row": i + 2,
            "referral_id": int(rid) if rid.isdigit() else None,
            "plan_member_id": parsed["plan_member_id"].iloc[i],
            "status": parsed["status"].iloc[i] if parsed["status"].iloc[i] in statuses else None,
            "status_date": None if pd.isna(d) else d.date(),
            "business_status": code(parsed["business_status"].iloc[i], rules.BUSINESS_STATUSES),
            "reason": parsed["reason"].iloc[i] or None,
            "note": parsed["note"].iloc[i] or None,
            "channel": code(parsed["channel"].iloc[i], rules.CHANNELS),
        })
    return out


def _last_steps(session: Session, ids: list[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for i in range(0, len(ids), 5000):
        out.update({rid: as_utc(at) for rid, at in session.execute(
            select(ReferralEvent.referral_id, func.max(ReferralEvent.at))
            .where(ReferralEvent.referral_id.in_(ids[i:i + 5000]), ReferralEvent.kind.in_(LIFECYCLE_EVENTS))
            .group_by(ReferralEvent.referral_id)
        ).tuples()})
    return out


def _advance(snap: rules.Snapshot, action: str, out: rules.Outcome) -> rules.Snapshot:
    """The referral after one action, as ``act`` leaves it (for checking the next one)."""
    return rules.Snapshot(status=out.to_status, business_status=out.business_status,
                          outreach_attempts=snap.outreach_attempts + (action in ("outreach", "contacted")),
                          milestones=snap.milestones | frozenset(out.sets))


def plan(session: Session, principal: Principal, parsed: dict, file: str | None = None,
         today: date | None = None) -> tuple[list[Step], list[Problem]]:
    """Every row checked (in file order, per referral, through the state machine): the steps to
    take, or the problems. Nothing is written."""
    today = today or real_today()
    rows = _rows(parsed)
    found = referral_repo.visible_with_member_ids(
        session, principal, (r["referral_id"] for r in rows if r["referral_id"] is not None))
    last = _last_steps(session, list(found))
    problems: list[Problem] = []
    steps: list[Step] = []
    state: dict[int, rules.Snapshot] = {}
    previous: dict[int, tuple[int, date, datetime]] = {}  # referral -> (row, status date, at) of its last row
    # referrals with a row whose outcome is unknown (refused, unreadable): their later rows start from
    # where that row leaves the referral, so they are checked once it is fixed
    stuck: set[int] = set()
    seen: dict[tuple, int] = {}

    def bad(r: dict, fld: str, msg: str) -> None:
        problems.append(Problem(msg, field=fld, row=r["row"], file=file))

    for r in rows:
        rid, status, business = r["referral_id"], r["status"], r["business_status"]
        if rid is None:
            continue  # the reader named the unreadable referral number
        before = len(problems)
        key = (rid, status, business, r["status_date"], r["channel"])
        if key in seen:
            bad(r, "referral_id", f"the same status change of referral {rid} is on row {seen[key]}")
            continue
        seen[key] = r["row"]
        if rid not in found:
            bad(r, "referral_id", referrals.NOT_VISIBLE.format(id=rid))
            continue
        ref, pmid = found[rid]
        sides = referrals.sides_of(principal, ref)
        if Side.OWNER not in sides:
            bad(r, "referral_id", f"referral {rid} was not sent to your organization; only the hub or CBO it "
                "was sent to reports its status")
            continue
        if r["plan_member_id"] != pmid:
            bad(r, "plan_member_id", f"{r['plan_member_id']} is not the member of referral {rid}")
        if r["status_date"] is not None:
            day = r["status_date"]
            requested = as_utc(ref.requested_at or ref.created_at)
            prev = previous.get(rid)
            if day > today:
                bad(r, "status_date", f"{day} is in the future; report a status once it happened")
            elif requested is not None and day < requested.date():
                bad(r, "status_date", f"{day} is before referral {rid} was requested ({requested.date()})")
            elif prev is not None and day < prev[1]:
                bad(r, "status_date", f"{day} is before row {prev[0]} of the same referral ({prev[1]}); "
                    "list a referral's changes in the order they happened")
            elif rid in last and day < last[rid].date():
                bad(r, "status_date", f"{day} is before referral {rid}'s last recorded step ({last[rid].date()})")
        if status in NEEDS_REASON and not r["reason"]:
            bad(r, "reason", f"a reason is required when the status is {status}")
        if business not in (None, INVALID) and status is not None and business not in FITS.get(status, frozenset()):
            fits = ", ".join(sorted(FITS.get(status, ()))) or "none"
            bad(r, "business_status", f"{business} does not go with status {status} (with {status}: {fits})")
            stuck.add(rid)
        if status is None or business == INVALID:
            stuck.add(rid)
        if rid in stuck:
            continue
        snap = state.get(rid) or referrals.snapshot(ref)
        try:
            actions = rules.actions_toward(snap, status, business, sides)
        except rules.TransitionRefused as exc:
            bad(r, "status", f"referral {rid}: {exc}")
            stuck.add(rid)
            continue
        if status == Status.ACCEPTED and business in rules.STEP_ACTIONS and rules.STEP_ACTIONS[business] not in actions \
                and actions:
            actions = [*actions, rules.STEP_ACTIONS[business]]  # "accepted, contacted": accepted, then contacted
        if not actions:
            shown = f"{snap.status} ({snap.business_status})" if snap.business_status else snap.status
            bad(r, "status", f"referral {rid} is already {shown}; this row changes nothing")
            continue
        if principal.is_hub and any(a in referrals.HUB_ROUTES_INSTEAD for a in actions):
            bad(r, "status", f"referral {rid}: the hub routes it; outreach, contact, enrollment and service "
                "are reported by the CBO it was routed to")
            stuck.add(rid)
            continue
        for action in actions:
            spec = rules.ACTIONS[action]
            if spec.needs_reason and not r["reason"] and status not in NEEDS_REASON:
                bad(r, "reason", f"'{spec.label}' needs a reason")
            if spec.needs_channel and r["channel"] is None:
                bad(r, "channel", f"'{spec.label}' is recorded with the channel used ({', '.join(rules.CHANNELS)})")
            try:
                # a missing reason or channel (already reported above) gets a stand-in so the
                # rest of the path is still checked
                out = rules.apply(action, snap, sides, reason=r["reason"] or "-",
                                  channel=r["channel"] if r["channel"] in rules.CHANNELS else "phone")
            except rules.TransitionRefused as exc:
                bad(r, "status" if rules.ACTIONS[action].to_status else "business_status", f"referral {rid}: {exc}")
                stuck.add(rid)
                break
            snap = _advance(snap, action, out)
        if rid in stuck:
            continue
        state[rid] = snap
        if len(problems) > before or r["status_date"] is None:
            continue
        # the day's start, but never before the step it follows (the timeline stays in order)
        at = max([datetime.combine(r["status_date"], time.min, tzinfo=UTC), *([last[rid]] if rid in last else []),
                  *([previous[rid][2]] if rid in previous else [])])
        previous[rid] = (r["row"], r["status_date"], at)
        reason = r["reason"]
        if business in REASON_CODES:
            reason = f"{rules.BUSINESS_STATUSES[business]}: {reason}" if reason else rules.BUSINESS_STATUSES[business]
        steps.append(Step(r["row"], rid, actions, at, reason, r["note"], r["channel"]))
    return steps, problems


def prepare(session: Session, principal: Principal, parsed: dict, file: str) -> tuple[list[Problem], list[Step]]:
    """Every problem of the file, and the steps ``apply`` takes when there is none."""
    steps, problems = plan(session, principal, parsed, file)
    return problems, steps


def apply(session: Session, principal: Principal, steps: list[Step]) -> tuple[int, int]:
    """Take each row's actions in file order. Returns (0, rows applied): rows change referrals."""
    for s in steps:
        for i, action in enumerate(s.actions):
            last = i == len(s.actions) - 1
            spec = rules.ACTIONS[action]
            try:
                referrals.act(session, principal, s.referral_id, action, version=None, at=s.at,
                              channel=s.channel if spec.needs_channel else None,
                              # the row's reason and note belong to the step it reports, not to the
                              # milestones recorded on the way there
                              reason=s.reason if (last or spec.needs_reason) else None,
                              note=s.note if last else None)
            except SocialcareError as exc:
                raise InvalidInput(f"Referral {s.referral_id} refused a change; nothing was imported.", [
                    Problem(f"referral {s.referral_id}: {exc.message}", field="status", row=s.row)]) from None
    # a referral reported on that was never attributed (made before its contract was set up) is, now
    from socialcare.contracts.attributing import attribute_missing

    attribute_missing(session, "referral", sorted({s.referral_id for s in steps}))
    return 0, len(steps)
