"""The referral lifecycle, pure: FHIR Task states, who may set them, business steps, clocks, minimum necessary.

Task states and transitions follow the SDOH Clinical Care IG (HL7 FHIR SDOHCC Task for Referral
Management, ReferralTaskStateDiagram; docs/standards.md §1.2):

    (start) -> draft -> requested
    requested   -> accepted | rejected | cancelled
    accepted    -> in-progress | on-hold | cancelled | completed | failed
    in-progress -> on-hold | cancelled | completed | failed
    on-hold     -> in-progress | cancelled | completed | failed
    ANY         -> entered-in-error

The requester sets draft/requested/entered-in-error, the owner (target) sets accepted, rejected,
in-progress, on-hold, failed and completed, either may cancel.

``Task.businessStatus`` is not constrained by the IG, so the steps a CBO records inside a status
(outreach attempted, contacted, enrolled, declined, unable to contact, service started, need
resolved or not) are our local code system, BUSINESS_STATUSES. Staff act through ACTIONS: each
names the statuses it may start from, the status it leads to (or none: a step inside the status),
the business status it records and the side (requester/owner) allowed to take it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    ENTERED_IN_ERROR = "entered-in-error"


STATUS_LABELS = {
    Status.DRAFT: "Draft",
    Status.REQUESTED: "Requested",
    Status.ACCEPTED: "Accepted",
    Status.REJECTED: "Rejected",
    Status.IN_PROGRESS: "In progress",
    Status.ON_HOLD: "On hold",
    Status.COMPLETED: "Completed",
    Status.CANCELLED: "Cancelled",
    Status.FAILED: "Failed",
    Status.ENTERED_IN_ERROR: "Entered in error",
}

TERMINAL: frozenset[str] = frozenset(
    {Status.REJECTED, Status.CANCELLED, Status.COMPLETED, Status.FAILED, Status.ENTERED_IN_ERROR}
)
OPEN: frozenset[str] = frozenset({Status.REQUESTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD})

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.REQUESTED, Status.CANCELLED, Status.ENTERED_IN_ERROR}),
    Status.REQUESTED: frozenset({Status.ACCEPTED, Status.REJECTED, Status.CANCELLED, Status.ENTERED_IN_ERROR}),
    Status.ACCEPTED: frozenset(
        {Status.IN_PROGRESS, Status.ON_HOLD, Status.CANCELLED, Status.COMPLETED, Status.FAILED, Status.ENTERED_IN_ERROR}
    ),
    Status.IN_PROGRESS: frozenset(
        {Status.ON_HOLD, Status.CANCELLED, Status.COMPLETED, Status.FAILED, Status.ENTERED_IN_ERROR}
    ),
    Status.ON_HOLD: frozenset(
        {Status.IN_PROGRESS, Status.CANCELLED, Status.COMPLETED, Status.FAILED, Status.ENTERED_IN_ERROR}
    ),
    Status.REJECTED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
    Status.ENTERED_IN_ERROR: frozenset(),
}
INITIAL: frozenset[str] = frozenset({Status.DRAFT, Status.REQUESTED})


class Side(StrEnum):
    REQUESTER = "requester"
    OWNER = "owner"


# Who may set which status (IG): requester draft/requested/entered-in-error; target the rest; both cancel.
SETTERS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Side.REQUESTER}),
    Status.REQUESTED: frozenset({Side.REQUESTER}),
    Status.ENTERED_IN_ERROR: frozenset({Side.REQUESTER}),
    Status.ACCEPTED: frozenset({Side.OWNER}),
    Status.REJECTED: frozenset({Side.OWNER}),
    Status.IN_PROGRESS: frozenset({Side.OWNER}),
    Status.ON_HOLD: frozenset({Side.OWNER}),
    Status.FAILED: frozenset({Side.OWNER}),
    Status.COMPLETED: frozenset({Side.OWNER}),
    Status.CANCELLED: frozenset({Side.REQUESTER, Side.OWNER}),
}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def may_set(side: str, to_status: str) -> bool:
    return side in SETTERS.get(to_status, frozenset())


class TransitionRefused(ValueError):
    """A move the lifecycle does not allow; the message is for the user."""


def check_transition(from_status: str, to_status: str, sides: set[str] | frozenset[str]) -> None:
    if from_status in TERMINAL:
        raise TransitionRefused(f"This referral is {STATUS_LABELS[Status(from_status)].lower()}; it cannot change any more.")
    if not can_transition(from_status, to_status):
        raise TransitionRefused(
            f"A referral cannot go from {from_status} to {to_status}; from {from_status} it may go to "
            + ", ".join(sorted(TRANSITIONS[from_status]))
            + "."
        )
    if not (set(sides) & SETTERS[to_status]):
        who = " or ".join(sorted(SETTERS[to_status]))
        raise TransitionRefused(f"Only the referral's {who} may set it to {to_status}.")


# ---- business status (local code system) ---------------------------------------------------

BUSINESS_STATUS_SYSTEM = "https://socialcare.example.org/CodeSystem/referral-business-status"

BUSINESS_STATUSES: dict[str, str] = {
    "awaiting-routing": "Waiting for the hub to route it",
    "routed": "Routed to a network CBO",
    "outreach-attempted": "Outreach attempted",
    "contacted": "Member contacted",
    "enrolled": "Member enrolled (accepted support)",
    "declined": "Member declined support",
    "unable-to-contact": "Unable to contact",
    "service-started": "Service started",
    "on-hold": "On hold",
    "need-resolved": "Need resolved",
    "need-not-resolved": "Need not resolved",
    "no-capacity": "No capacity",
    "not-eligible": "Not eligible",
}

CHANNELS = {
    "phone": "Phone call",
    "text": "Text message",
    "email": "Email",
    "mail": "Letter",
    "in_person": "In person",
    "home_visit": "Home visit",
    "portal": "Portal message",
}
OUTREACH_RESULTS = {
    "reached": "Reached the member",
    "no_answer": "No answer",
    "left_message": "Left a message",
    "wrong_number": "Wrong number",
    "disconnected": "Number disconnected",
    "not_home": "Not at home",
    "refused": "Refused to talk",
}

# How many outreach attempts before "unable to contact" may be recorded (seed 002: outreach
# workflows document several attempts over different channels before closing a referral).
UNABLE_TO_CONTACT_MIN_ATTEMPTS = 3


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    side: str  # which side of the referral may take it
    from_statuses: frozenset[str]
    to_status: str | None  # None: a step inside the current status
    business_status: str | None  # recorded business status (None: leave unchanged)
    needs_reason: bool = False
    needs_channel: bool = False
    # milestones the referral must already have (e.g. enrolled needs contacted)
    requires: tuple[str, ...] = ()
    sets: tuple[str, ...] = field(default_factory=tuple)  # milestone timestamps this action fills
    hub_only: bool = False


_OPEN_WORK = frozenset({Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD})

ACTIONS: dict[str, Action] = {
    a.key: a
    for a in [
        Action("submit", "Send the referral", Side.REQUESTER, frozenset({Status.DRAFT}), Status.REQUESTED, None),
        Action("accept", "Accept", Side.OWNER, frozenset({Status.REQUESTED}), Status.ACCEPTED, None, sets=("accepted_at",)),
        Action("reject", "Reject", Side.OWNER, frozenset({Status.REQUESTED}), Status.REJECTED, None, needs_reason=True),
        Action(
            "outreach", "Record outreach attempt", Side.OWNER, frozenset({Status.ACCEPTED, Status.ON_HOLD}), None,
            "outreach-attempted", needs_channel=True, sets=("first_outreach_at",),
        ),
        Action(
            "contacted", "Member contacted", Side.OWNER, frozenset({Status.ACCEPTED, Status.ON_HOLD}), None,
            "contacted", needs_channel=True, sets=("first_outreach_at", "contacted_at"),
        ),
        Action(
            "enroll", "Member enrolled", Side.OWNER, frozenset({Status.ACCEPTED, Status.ON_HOLD}), None,
            "enrolled", requires=("contacted_at",), sets=("enrolled_at",),
        ),
        Action(
            "decline", "Member declined", Side.OWNER, frozenset({Status.ACCEPTED, Status.ON_HOLD}), Status.FAILED,
            "declined", requires=("contacted_at",), needs_reason=False,
        ),
        Action(
            "unable_to_contact", "Unable to contact", Side.OWNER, frozenset({Status.ACCEPTED, Status.ON_HOLD}),
            Status.FAILED, "unable-to-contact",
        ),
        Action(
            "start_service", "Service started", Side.OWNER, frozenset({Status.ACCEPTED, Status.ON_HOLD}),
            Status.IN_PROGRESS, "service-started", requires=("enrolled_at",), sets=("service_started_at",),
        ),
        Action("hold", "Put on hold", Side.OWNER, frozenset({Status.ACCEPTED, Status.IN_PROGRESS}), Status.ON_HOLD,
               "on-hold", needs_reason=True),
        Action("resume", "Resume", Side.OWNER, frozenset({Status.ON_HOLD}), Status.IN_PROGRESS, None,
               requires=("service_started_at",)),
        Action("resolve", "Need resolved", Side.OWNER, frozenset({Status.IN_PROGRESS, Status.ON_HOLD}),
               Status.COMPLETED, "need-resolved", requires=("service_started_at",)),
        Action("close_unresolved", "Need not resolved", Side.OWNER, frozenset({Status.IN_PROGRESS, Status.ON_HOLD}),
               Status.COMPLETED, "need-not-resolved", needs_reason=True, requires=("service_started_at",)),
        Action("fail", "Failed", Side.OWNER, _OPEN_WORK, Status.FAILED, None, needs_reason=True),
        Action("cancel", "Cancel", Side.REQUESTER, frozenset({Status.DRAFT}) | OPEN, Status.CANCELLED, None,
               needs_reason=True),
        Action("withdraw", "Cancel (owner)", Side.OWNER, OPEN - {Status.REQUESTED}, Status.CANCELLED, None,
               needs_reason=True),
        Action("entered_in_error", "Entered in error", Side.REQUESTER, frozenset(TRANSITIONS) - TERMINAL,
               Status.ENTERED_IN_ERROR, None, needs_reason=True),
        Action("route", "Route to a network CBO", Side.OWNER, frozenset({Status.ACCEPTED, Status.IN_PROGRESS}),
               Status.IN_PROGRESS, "routed", sets=("routed_at",), hub_only=True),
        Action("note", "Add a note", Side.OWNER, frozenset({Status.REQUESTED}) | _OPEN_WORK, None, None,
               needs_reason=True),
    ]
}

# Plan-side actions also include "note" (the referring plan may comment); kept separate for clarity.
REQUESTER_NOTE_STATUSES = frozenset({Status.DRAFT}) | OPEN


@dataclass(frozen=True)
class Snapshot:
    """What the rules need to know about a referral."""

    status: str
    business_status: str | None = None
    outreach_attempts: int = 0
    milestones: frozenset[str] = frozenset()  # names of milestone columns already set


@dataclass(frozen=True)
class Outcome:
    to_status: str  # unchanged status for a step
    business_status: str | None
    sets: tuple[str, ...]
    changes_status: bool


def apply(action_key: str, snap: Snapshot, sides: set[str] | frozenset[str], *, reason: str | None = None,
          channel: str | None = None) -> Outcome:
    """Validate an action against the state machine; return what it changes. Raises TransitionRefused."""
    action = ACTIONS.get(action_key)
    if action is None:
        raise TransitionRefused(f"Unknown action '{action_key}'; one of: {', '.join(ACTIONS)}.")
    if snap.status in TERMINAL:
        raise TransitionRefused(
            f"This referral is {STATUS_LABELS[Status(snap.status)].lower()}; it cannot change any more."
        )
    side_ok = action.side in sides or (action_key == "note" and Side.REQUESTER in sides)
    if not side_ok:
        raise TransitionRefused(f"Only the referral's {action.side} may '{action.label.lower()}'.")
    allowed_from = action.from_statuses
    if action_key == "note" and Side.REQUESTER in sides and Side.OWNER not in sides:
        allowed_from = REQUESTER_NOTE_STATUSES
    if snap.status not in allowed_from:
        raise TransitionRefused(
            f"'{action.label}' is not possible while the referral is {snap.status}"
            f" (possible when {', '.join(sorted(allowed_from))})."
        )
    for needed in action.requires:
        if needed not in snap.milestones:
            raise TransitionRefused(f"'{action.label}' needs {MILESTONE_LABELS[needed].lower()} first.")
    if action.needs_reason and not (reason and reason.strip()):
        raise TransitionRefused(f"'{action.label}' needs a reason.")
    if action.needs_channel and channel not in CHANNELS:
        raise TransitionRefused(f"'{action.label}' needs the channel used: one of {', '.join(CHANNELS)}.")
    if action_key == "unable_to_contact" and snap.outreach_attempts < UNABLE_TO_CONTACT_MIN_ATTEMPTS:
        raise TransitionRefused(
            f"Record at least {UNABLE_TO_CONTACT_MIN_ATTEMPTS} outreach attempts before closing as unable to contact"
            f" ({snap.outreach_attempts} so far)."
        )
    if action.to_status is not None and action.to_status != snap.status:
        check_transition(snap.status, action.to_status, {action.side})
        to_status = action.to_status
    else:
        to_status = snap.status
    sets = tuple(m for m in action.sets if m not in snap.milestones)
    if to_status in TERMINAL:
        sets = sets + ("closed_at",)
    return Outcome(
        to_status=to_status,
        business_status=action.business_status if action.business_status is not None else snap.business_status,
        sets=sets,
        changes_status=to_status != snap.status,
    )


def available_actions(snap: Snapshot, sides: set[str] | frozenset[str]) -> list[Action]:
    """Actions this side may take now (for buttons); each would pass apply() given its inputs."""
    out = []
    for key, action in ACTIONS.items():
        if key in ("note", "entered_in_error", "route"):
            continue
        try:
            apply(key, snap, sides, reason="x", channel="phone")
        except TransitionRefused:
            continue
        out.append(action)
    return out


# Business steps a partner may report without a status change (FHIR businessStatus, file rows).
STEP_ACTIONS = {"outreach-attempted": "outreach", "contacted": "contacted", "enrolled": "enroll"}


def actions_toward(snap: Snapshot, to_status: str, business: str | None, sides: set[str] | frozenset[str]) -> list[str]:
    """The actions, in order, that take a referral to ``to_status`` (and ``business``), for a partner
    that reports where a referral stands rather than each click: a FHIR Task update, a status file.

    Reporting the service under way (in-progress) or done (completed) implies the milestones before
    it (acceptance, contact, enrollment, service start); they are recorded as steps, in order, so the
    timeline and the clocks read as if each had been clicked. Each step still passes ``apply``."""
    cur = snap.status
    done = snap.milestones
    if to_status == cur:
        return [STEP_ACTIONS[business]] if business in STEP_ACTIONS and business != snap.business_status else []
    if to_status == Status.ACCEPTED:
        return ["accept"]
    if to_status == Status.REJECTED:
        return ["reject"]
    if to_status == Status.CANCELLED:
        return ["withdraw"] if Side.OWNER in sides and Side.REQUESTER not in sides else ["cancel"]
    if to_status == Status.ENTERED_IN_ERROR:
        return ["entered_in_error"]
    if to_status == Status.ON_HOLD:
        return ["hold"]
    if to_status == Status.FAILED:
        return {"declined": ["decline"], "unable-to-contact": ["unable_to_contact"]}.get(business or "", ["fail"])
    if to_status == Status.REQUESTED and cur == Status.DRAFT:
        return ["submit"]
    if to_status not in (Status.IN_PROGRESS, Status.COMPLETED):
        raise TransitionRefused(f"A referral cannot be reported back to {to_status} from {cur}.")
    steps = ["accept"] if cur == Status.REQUESTED else []
    if cur == Status.ON_HOLD and "service_started_at" in done:
        steps.append("resume")
    else:
        steps += [a for m, a in (("contacted_at", "contacted"), ("enrolled_at", "enroll"),
                                 ("service_started_at", "start_service")) if m not in done]
    if to_status == Status.COMPLETED:
        steps.append("close_unresolved" if business == "need-not-resolved" else "resolve")
    return steps


MILESTONE_LABELS = {
    "accepted_at": "Accepted",
    "routed_at": "Routed",
    "first_outreach_at": "First outreach",
    "contacted_at": "Contact with the member",
    "enrolled_at": "Enrollment",
    "service_started_at": "Service start",
    "closed_at": "Closed",
}


# ---- loop status for the referring plan ------------------------------------------------------


def loop_status(status: str, business_status: str | None) -> str:
    """The closed-loop answer the plan wants: open (with the step), closed with an outcome, or never started."""
    if status == Status.COMPLETED:
        outcome = {"need-resolved": "need resolved", "need-not-resolved": "service delivered, need not resolved"}
        return f"closed: {outcome.get(business_status or '', 'completed')}"
    if status == Status.FAILED:
        return f"closed: {BUSINESS_STATUSES.get(business_status or '', 'failed').lower()}"
    if status in (Status.REJECTED, Status.CANCELLED, Status.ENTERED_IN_ERROR):
        return f"closed: {status}"
    if business_status:
        return f"open: {BUSINESS_STATUSES.get(business_status, business_status).lower()}"
    return f"open: {status}"


# ---- timeliness ------------------------------------------------------------------------------

PRIORITIES = ("routine", "urgent", "asap", "stat")  # FHIR request-priority


@dataclass(frozen=True)
class Standard:
    outreach_hours: int  # first outreach attempt
    contact_hours: int  # successful contact with the member
    service_hours: int  # service started


# Defaults per urgency (seed 002 scope-of-work example: "first contact within 3 business days of
# referral; services start within 7 days"). A contract may set its own (contract timing terms);
# these apply where none is given. After a hospital discharge, first outreach is due within 24 h.
TIMELINESS: dict[str, Standard] = {
    "routine": Standard(outreach_hours=72, contact_hours=120, service_hours=7 * 24),
    "urgent": Standard(outreach_hours=24, contact_hours=48, service_hours=5 * 24),
    "asap": Standard(outreach_hours=8, contact_hours=24, service_hours=72),
    "stat": Standard(outreach_hours=2, contact_hours=8, service_hours=24),
}
DISCHARGE_OUTREACH_HOURS = 24


def due_times(requested_at: datetime, urgency: str, discharge_at: datetime | None = None,
              standards: dict[str, Standard] | None = None) -> dict[str, datetime]:
    std = (standards or TIMELINESS)[urgency]
    outreach = requested_at + timedelta(hours=std.outreach_hours)
    contact = requested_at + timedelta(hours=std.contact_hours)
    if discharge_at is not None:
        # the 24-hour post-discharge clock starts at discharge (or at the referral, if it came later)
        outreach = min(outreach, max(discharge_at, requested_at) + timedelta(hours=DISCHARGE_OUTREACH_HOURS))
        contact = max(contact, outreach) if contact < outreach else contact
    return {
        "outreach_due_at": outreach,
        "contact_due_at": contact,
        "service_due_at": requested_at + timedelta(hours=std.service_hours),
    }


# ---- consent and the minimum necessary -------------------------------------------------------

CONSENT_SCOPES = {
    "referral": "Share what the referral needs (contact, demographics, the need and its screening)",
    "full-record": "Share the member's social care record (all screenings, needs and referrals)",
}
CONSENT_METHODS = ("verbal", "written", "electronic")

# What a receiving organization sees of a member referred to it BEFORE the member consents: what it
# needs to reach the member and ask (HIPAA minimum necessary; the contract's data-sharing terms).
MINIMUM_NECESSARY_FIELDS: tuple[str, ...] = (
    "id", "first_name", "last_name", "phone", "preferred_language", "zip", "county",
)
# With consent the referral page adds these.
CONSENTED_FIELDS: tuple[str, ...] = MINIMUM_NECESSARY_FIELDS + (
    "plan_member_id", "birth_date", "sex", "address_1", "city", "state",
)


def member_view(member: dict, access: str) -> dict:
    """Project member fields for an access level: full (plan or consent), minimum, hidden (consent revoked)."""
    if access == "full":
        return {k: member.get(k) for k in CONSENTED_FIELDS}
    if access == "minimum":
        return {k: member.get(k) for k in MINIMUM_NECESSARY_FIELDS}
    return {"id": member.get("id"), "hidden": True}


# ---- escalations -----------------------------------------------------------------------------

ESCALATION_CATEGORIES = {
    "member_safety": "Member safety concern",
    "service_gap": "Service not available / gap",
    "capacity": "Capacity",
    "eligibility": "Eligibility or authorization",
    "data_sharing": "Data sharing or consent",
    "payment": "Payment or invoicing",
    "other": "Other",
}
ESCALATION_STATUSES = ("open", "in-progress", "resolved")
ESCALATION_TRANSITIONS = {"open": {"in-progress", "resolved"}, "in-progress": {"resolved", "open"}, "resolved": {"open"}}
