"""JOC use cases: committees, meetings with the template's agenda, the frozen scorecard, the member
story check, decisions, action items that carry over, escalations since the last meeting.

Who sees what: the plan and the contract's counterparty (hub or CBO) are the committee. Both read
every meeting; only the plan's own staff see strata cells under 11 and the plan's internal notes;
a partner sees the escalations its own organization raised. Writes need ``joc:write``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from socialcare.contracts.models import Contract
from socialcare.core.clock import today, utcnow
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from socialcare.directory.models import Organization
from socialcare.joc import rules
from socialcare.joc.models import ActionItem, Committee, Decision, Meeting, Participant
from socialcare.measures import rules as mrules
from socialcare.measures import service as measures
from socialcare.members.models import Member
from socialcare.referrals.models import Escalation, Referral
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.sharing import member_visibility

# ---- access ---------------------------------------------------------------------------------------------


def _party(session: Session, principal: Principal, contract_id: int) -> Contract:
    return measures.contract_for(session, principal, contract_id)


def _require_write(principal: Principal) -> None:
    if not principal.can("joc:write"):
        raise Forbidden(f"Your role ({principal.role.replace('_', ' ')}) may read JOC meetings but not change them.")


def is_plan_side(principal: Principal, contract: Contract) -> bool:
    return measures.sees_full_counts(principal, contract)


def committees(session: Session, principal: Principal) -> list[tuple[Committee, Contract]]:
    contracts = {c.id: c for c in measures.contracts_visible(session, principal)}
    if not contracts:
        return []
    rows = session.scalars(select(Committee).where(Committee.contract_id.in_(contracts)).order_by(Committee.name))
    return [(c, contracts[c.contract_id]) for c in rows]


def committee(session: Session, principal: Principal, committee_id: int) -> tuple[Committee, Contract]:
    c = session.get(Committee, committee_id)
    if c is None:
        raise NotFound(f"No joint operating committee {committee_id}.")
    return c, _party(session, principal, c.contract_id)


def meeting(session: Session, principal: Principal, meeting_id: int) -> tuple[Meeting, Committee, Contract]:
    m = session.get(Meeting, meeting_id)
    if m is None:
        raise NotFound(f"No JOC meeting {meeting_id}.")
    c = m.committee
    contract = _party(session, principal, c.contract_id)
    audit.record(session, principal, "joc.meeting_read", object_type="joc_meeting", object_id=m.id)
    return m, c, contract


# ---- committees -------------------------------------------------------------------------------------------


def create_committee(session: Session, principal: Principal, contract_id: int, *, name: str | None = None,
                     cadence: str = "monthly", standing_time: str = "", location: str = "",
                     purpose: str = "") -> Committee:
    _require_write(principal)
    contract = _party(session, principal, contract_id)
    if cadence not in rules.CADENCES:
        raise InvalidInput("The committee was not created.",
                           [Problem(f"cadence must be one of {', '.join(rules.CADENCES)}", field="cadence")])
    if session.scalar(select(Committee.id).where(Committee.contract_id == contract.id)):
        raise Conflict(f"The contract '{contract.name}' already has a joint operating committee.")
    c = Committee(contract_id=contract.id, name=name or f"JOC: {contract.name}", cadence=cadence,
                  standing_time=standing_time, location=location,
                  purpose=purpose or "Review data, raise and resolve issues, and celebrate successes.")
    session.add(c)
    session.flush()
    audit.record(session, principal, "joc.committee_created", object_type="joc_committee", object_id=c.id)
    return c


def add_participant(session: Session, principal: Principal, committee_id: int, *, name: str, role: str,
                    organization_id: int, title: str = "", email: str = "") -> Participant:
    _require_write(principal)
    c, contract = committee(session, principal, committee_id)
    problems = []
    if not name.strip():
        problems.append(Problem("a participant needs a name", field="name"))
    if role not in rules.PARTICIPANT_ROLES:
        problems.append(Problem(f"role must be one of {', '.join(rules.PARTICIPANT_ROLES)}", field="role"))
    if organization_id not in (contract.plan_id, contract.counterparty_id):
        problems.append(Problem("a participant belongs to the plan or the partner", field="organization_id"))
    if problems:
        raise InvalidInput("The participant was not added.", problems)
    p = Participant(committee_id=c.id, organization_id=organization_id, name=name.strip(), title=title,
                    email=email, role=role, core=rules.PARTICIPANT_ROLES[role][1])
    session.add(p)
    session.flush()
    return p


# ---- meetings -----------------------------------------------------------------------------------------------


def create_meeting(session: Session, principal: Principal, committee_id: int, month: date | str,
                   held_on: date | None = None, as_of: datetime | None = None) -> Meeting:
    """A meeting for a month of data; the month's scorecard is computed and frozen into it."""
    _require_write(principal)
    c, contract = committee(session, principal, committee_id)
    month = mrules.parse_month(month)
    if session.scalar(select(Meeting.id).where(Meeting.committee_id == c.id, Meeting.month == month)):
        raise Conflict(f"{c.name} already has a meeting for {mrules.month_label(month)}.")
    m = Meeting(committee_id=c.id, month=month, held_on=held_on or (mrules.month_end(month) + timedelta(days=14)),
                status="planned", created_by=principal.username, process_notes={}, attendee_ids=[])
    session.add(m)
    session.flush()
    freeze_scorecard(session, principal, m, contract, as_of=as_of)
    audit.record(session, principal, "joc.meeting_created", object_type="joc_meeting", object_id=m.id)
    return m


def freeze_scorecard(session: Session, principal: Principal, m: Meeting, contract: Contract,
                     as_of: datetime | None = None) -> None:
    """Compute the month's scorecard (full counts) and keep it with the meeting as presented."""
    if m.status == "sent":
        raise Conflict("The notes of this meeting were sent; its scorecard is final.")
    # what the data said when the meeting was held (or now, for a meeting still to come)
    as_of = as_of or min(utcnow(), datetime.combine(m.held_on, datetime.min.time()).replace(tzinfo=UTC))
    m.scorecard = measures.scorecard(session, principal, contract, m.month, as_of=as_of)
    m.scorecard_frozen_at = as_of
    session.flush()


def _check_version(m: Meeting, version: int | None) -> None:
    if version is not None and version != m.version:
        raise Conflict("Someone else saved this meeting since you opened it; reload to see their changes.")
    m.version += 1


def save_story(session: Session, principal: Principal, meeting_id: int, *, story: str, title: str = "",
               presenter: str = "", consent: bool = False, consent_method: str | None = None,
               consent_on: date | None = None, member_id: int | None = None,
               version: int | None = None) -> list[rules.StoryFinding]:
    """Save the member story, only with the member's consent and only when it carries no identifier.

    When the member is given (someone the user's organization may see), the story is also checked
    against that member's name, plan member id, birth date and phone. Raises InvalidInput listing
    every finding; nothing is saved until it passes.
    """
    _require_write(principal)
    m, _c, _contract = meeting(session, principal, meeting_id)
    problems = []
    if not story.strip():
        problems.append(Problem("write the member story", field="member_story"))
    if not consent:
        problems.append(Problem("the member's consent to share the story is needed before it is saved",
                                field="story_consent"))
    if consent and consent_method not in rules.CONSENT_METHODS:
        problems.append(Problem(f"say how consent was given: {', '.join(rules.CONSENT_METHODS)}",
                                field="story_consent_method"))
    member = None
    if member_id is not None:
        member = session.scalar(select(Member).where(Member.id == member_id, member_visibility(principal)))
        if member is None:
            problems.append(Problem(f"no member {member_id} that you may see", field="story_member_id"))
        else:
            audit.record_member_reads(session, principal, [member.id], action="joc.story_check")
    findings = rules.check_member_story(
        f"{title}\n{story}",
        first_name=member.first_name if member else None, last_name=member.last_name if member else None,
        member_id=member.plan_member_id if member else None, birth_date=member.birth_date if member else None,
        phone=member.phone if member else None,
    )
    problems += [Problem(f.message, field="member_story") for f in findings]
    if problems:
        raise InvalidInput("The member story was not saved.", problems)
    _check_version(m, version)
    m.story_title, m.member_story, m.story_presenter = title.strip(), story.strip(), presenter.strip()
    m.story_consent, m.story_consent_method = True, consent_method
    m.story_consent_on = consent_on or today()
    m.story_member_id = member.id if member else None
    m.story_checked_at = utcnow()
    session.flush()
    return findings


def save_notes(session: Session, principal: Principal, meeting_id: int, *, data_notes: str | None = None,
               process_notes: dict[str, str] | None = None, plan_updates: str | None = None,
               partner_updates: str | None = None, plan_only_notes: str | None = None,
               attendee_ids: list[int] | None = None, status: str | None = None,
               version: int | None = None) -> Meeting:
    _require_write(principal)
    m, c, contract = meeting(session, principal, meeting_id)
    problems = []
    if process_notes:
        unknown = set(process_notes) - rules.PROCESS_QUESTION_KEYS
        if unknown:
            problems.append(Problem(f"unknown question(s): {', '.join(sorted(unknown))}", field="process_notes"))
    if plan_only_notes is not None and not is_plan_side(principal, contract):
        problems.append(Problem("only the plan writes its internal notes", field="plan_only_notes"))
    if status is not None and status not in rules.MEETING_STATUSES:
        problems.append(Problem(f"status must be one of {', '.join(rules.MEETING_STATUSES)}", field="status"))
    if attendee_ids is not None:
        known = {p.id for p in c.participants}
        if set(attendee_ids) - known:
            problems.append(Problem("attendees must be the committee's participants", field="attendee_ids"))
    if problems:
        raise InvalidInput("The meeting notes were not saved.", problems)
    _check_version(m, version)
    if data_notes is not None:
        m.data_notes = data_notes
    if process_notes is not None:
        m.process_notes = {**(m.process_notes or {}), **{k: v for k, v in process_notes.items()}}
    if plan_updates is not None:
        m.plan_updates = plan_updates
    if partner_updates is not None:
        m.partner_updates = partner_updates
    if plan_only_notes is not None:
        m.plan_only_notes = plan_only_notes
    if attendee_ids is not None:
        m.attendee_ids = sorted(set(attendee_ids))
    if status is not None:
        m.status = status
    session.flush()
    return m


def add_decision(session: Session, principal: Principal, meeting_id: int, text: str) -> Decision:
    _require_write(principal)
    m, _c, _contract = meeting(session, principal, meeting_id)
    if not text.strip():
        raise InvalidInput("The decision was not saved.", [Problem("write the decision", field="text")])
    d = Decision(meeting_id=m.id, text=text.strip(), recorded_by=principal.username)
    session.add(d)
    session.flush()
    return d


def add_action_item(session: Session, principal: Principal, meeting_id: int, *, description: str, owner_name: str,
                    due_on: date | None, owner_side: str = "plan") -> ActionItem:
    _require_write(principal)
    m, c, _contract = meeting(session, principal, meeting_id)
    problems = []
    if not description.strip():
        problems.append(Problem("describe the action", field="description"))
    if not owner_name.strip():
        problems.append(Problem("an action item needs an owner", field="owner_name"))
    if due_on is None:
        problems.append(Problem("an action item needs a due date", field="due_on"))
    if owner_side not in ("plan", "partner", "both"):
        problems.append(Problem("owner side is plan, partner or both", field="owner_side"))
    if problems:
        raise InvalidInput("The action item was not saved.", problems)
    item = ActionItem(committee_id=c.id, opened_meeting_id=m.id, description=description.strip(),
                      owner_name=owner_name.strip(), owner_side=owner_side, due_on=due_on, status="open")
    session.add(item)
    session.flush()
    return item


def close_action_item(session: Session, principal: Principal, meeting_id: int, item_id: int, *,
                      status: str = "done", note: str = "") -> ActionItem:
    """Close an item at a meeting (it stops carrying over to later meetings)."""
    _require_write(principal)
    m, c, _contract = meeting(session, principal, meeting_id)
    item = session.get(ActionItem, item_id)
    if item is None or item.committee_id != c.id:
        raise NotFound(f"No action item {item_id} on this committee.")
    if status not in ("done", "dropped", "open"):
        raise InvalidInput("The action item was not changed.", [Problem("status is done, dropped or open",
                                                                         field="status")])
    if status == "open":
        item.status, item.closed_meeting_id, item.closed_at, item.closing_note = "open", None, None, ""
    else:
        item.status, item.closed_meeting_id, item.closed_at, item.closing_note = status, m.id, utcnow(), note
    session.flush()
    return item


# ---- the agenda as presented -----------------------------------------------------------------------------------


@dataclass
class Agenda:
    meeting: Meeting
    committee: Committee
    contract: Contract
    plan_side: bool
    scorecard: dict | None
    participants: list[dict]
    carried_over: list[ActionItem]
    opened_here: list[ActionItem]
    decisions: list[Decision]
    escalations: list[dict]
    previous: Meeting | None
    next: Meeting | None
    process_sections: list[dict] = field(default_factory=list)


def previous_meeting(session: Session, m: Meeting) -> Meeting | None:
    return session.scalar(select(Meeting).where(Meeting.committee_id == m.committee_id, Meeting.month < m.month)
                          .order_by(Meeting.month.desc()).limit(1))


def next_meeting(session: Session, m: Meeting) -> Meeting | None:
    return session.scalar(select(Meeting).where(Meeting.committee_id == m.committee_id, Meeting.month > m.month)
                          .order_by(Meeting.month).limit(1))


def _action_items(session: Session, m: Meeting) -> tuple[list[ActionItem], list[ActionItem]]:
    """Items opened at earlier meetings still open at this one (or closed at it), and items opened here."""
    opened = select(Meeting.id).where(Meeting.committee_id == m.committee_id, Meeting.month < m.month)
    closed_later_or_here = select(Meeting.id).where(Meeting.committee_id == m.committee_id, Meeting.month >= m.month)
    carried = session.scalars(
        select(ActionItem).where(
            ActionItem.opened_meeting_id.in_(opened),
            or_(ActionItem.closed_meeting_id.is_(None), ActionItem.closed_meeting_id.in_(closed_later_or_here)),
        ).order_by(ActionItem.due_on, ActionItem.id)
    ).all()
    here = session.scalars(select(ActionItem).where(ActionItem.opened_meeting_id == m.id).order_by(ActionItem.id)).all()
    return list(carried), list(here)


def escalations_since_last(session: Session, principal: Principal, m: Meeting, contract: Contract) -> list[dict]:
    """Escalations about this partnership opened after the previous meeting and up to this one."""
    prev = previous_meeting(session, m)
    since = prev.held_on if prev else contract.start_date
    start = datetime.combine(since, datetime.min.time()).replace(tzinfo=UTC)
    end = datetime.combine(m.held_on + timedelta(days=1), datetime.min.time()).replace(tzinfo=UTC)
    if prev is not None:
        start = datetime.combine(since + timedelta(days=1), datetime.min.time()).replace(tzinfo=UTC)
    e = Escalation
    about = or_(e.raised_by_org_id == contract.counterparty_id,
                e.referral_id.in_(select(Referral.id).where(Referral.contract_id == contract.id)))
    stmt = select(e, Organization.name).join(Organization, Organization.id == e.raised_by_org_id).where(
        e.plan_id == contract.plan_id, about, e.created_at >= start, e.created_at < end)
    if not is_plan_side(principal, contract):
        stmt = stmt.where(e.raised_by_org_id == principal.org_id)
    rows = session.execute(stmt.order_by(e.created_at)).all()
    return [{"id": x.id, "category": x.category, "severity": x.severity, "subject": x.subject,
             "status": x.status, "raised_by": org, "opened": x.created_at, "resolved": x.resolved_at}
            for x, org in rows]


def agenda(session: Session, principal: Principal, meeting_id: int) -> Agenda:
    m, c, contract = meeting(session, principal, meeting_id)
    plan_side = is_plan_side(principal, contract)
    card = None
    if m.scorecard:
        card = m.scorecard if plan_side else measures.shareable(m.scorecard)
    present = set(m.attendee_ids or [])
    orgs = {contract.plan_id: contract.plan.name, contract.counterparty_id: contract.counterparty.name}
    participants = [
        {"id": p.id, "name": p.name, "title": p.title, "email": p.email, "role": rules.PARTICIPANT_ROLES[p.role][0],
         "core": p.core, "organization": orgs.get(p.organization_id, ""), "present": p.id in present}
        for p in c.participants if p.active
    ]
    carried, here = _action_items(session, m)
    sections = [
        {"key": key, "label": label,
         "questions": [{"key": q, "text": text, "note": (m.process_notes or {}).get(q, "")} for q, text in qs]}
        for key, label, qs in rules.PROCESS_QUESTIONS
    ]
    return Agenda(
        meeting=m, committee=c, contract=contract, plan_side=plan_side, scorecard=card, participants=participants,
        carried_over=carried, opened_here=here, decisions=list(m.decisions),
        escalations=escalations_since_last(session, principal, m, contract),
        previous=previous_meeting(session, m), next=next_meeting(session, m), process_sections=sections,
    )


def mark_sent(session: Session, principal: Principal, meeting_id: int) -> Meeting:
    _require_write(principal)
    m, _c, _contract = meeting(session, principal, meeting_id)
    m.status = "sent"
    m.report_sent_at = utcnow()
    m.report_sent_by = principal.username
    session.flush()
    return m


def meeting_for_month(session: Session, principal: Principal, contract_id: int, month: date | str) -> Meeting:
    contract = _party(session, principal, contract_id)
    month = mrules.parse_month(month)
    m = session.scalar(select(Meeting).join(Committee, Committee.id == Meeting.committee_id)
                       .where(Committee.contract_id == contract.id, Meeting.month == month))
    if m is None:
        raise NotFound(f"No JOC meeting for {contract.name} in {mrules.month_label(month)}.")
    return m


