"""Case conferencing: sessions smaller and more frequent than the JOC (seed 002's HOW: "case
conferencing"), with attendees, a case list either party builds from its referrals under the
contract, discussion notes in which member identities are replaced by "Case N", and follow-ups that
become action items on the contract's joint operating committee.

Each party sees a case's member only under that referral's consent (``referrals.repository``'s access
rules): the plan sees its member; a partner sees the member of a referral it holds with consent.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.contracts import repository as contract_repo
from socialcare.contracts.models import Contract
from socialcare.core.clock import today, utcnow
from socialcare.core.errors import Conflict, InvalidInput, NotFound, Problem
from socialcare.members.models import Member
from socialcare.partnership import rules
from socialcare.partnership.models import CaseConference, ConferenceCase
from socialcare.partnership.proposals import side_of
from socialcare.referrals import repository as referral_repo
from socialcare.referrals.models import Referral
from socialcare.security import audit
from socialcare.security.principal import Principal


def _contract(session: Session, principal: Principal, contract_id: int, write: bool = False) -> Contract:
    principal.require("partnership:write" if write else "contracts:read")
    c = contract_repo.get_contract(session, principal, contract_id)
    if write:
        side_of(principal, c)
    return c


def sessions(session: Session, principal: Principal, contract_id: int) -> list[CaseConference]:
    c = _contract(session, principal, contract_id)
    return list(session.scalars(select(CaseConference).where(CaseConference.contract_id == c.id)
                                .order_by(CaseConference.held_on.desc(), CaseConference.id.desc())))


def get(session: Session, principal: Principal, contract_id: int, conference_id: int) -> CaseConference:
    c = _contract(session, principal, contract_id)
    conf = session.scalar(select(CaseConference).where(CaseConference.id == conference_id,
                                                       CaseConference.contract_id == c.id))
    if conf is None:
        raise NotFound(f"Contract {contract_id} has no case conference {conference_id}.")
    return conf


def create(session: Session, principal: Principal, contract_id: int, *, held_on: date, title: str = "",
           attendees: list[str] | None = None) -> CaseConference:
    c = _contract(session, principal, contract_id, write=True)
    conf = CaseConference(contract_id=c.id, held_on=held_on, title=(title or f"Case conference {held_on}")[:200],
                          attendees=[a.strip() for a in attendees or [] if a.strip()], notes="", status="planned",
                          created_by=principal.username, created_at=utcnow())
    session.add(conf)
    session.flush()
    audit.record(session, principal, "partnership.conference.create", object_type="contract", object_id=c.id,
                 detail={"conference": conf.id})
    return conf


def _referral_in_contract(session: Session, principal: Principal, c: Contract, referral_id: int) -> Referral:
    ref = session.scalar(select(Referral).where(Referral.id == referral_id,
                                                referral_repo.referral_visibility(principal)))
    if ref is None:
        raise InvalidInput("The case was not added.", [Problem(f"referral {referral_id} is not one you hold",
                                                                field="referral_id")])
    partner = c.counterparty_id
    under_contract = ref.plan_id == c.plan_id and (
        ref.contract_id == c.id or partner in (ref.owner_org_id, ref.requester_org_id))
    if not under_contract:
        raise InvalidInput("The case was not added.", [Problem("the referral is not one under this contract",
                                                                field="referral_id")])
    return ref


def add_case(session: Session, principal: Principal, contract_id: int, conference_id: int,
             referral_id: int) -> ConferenceCase:
    """Either side puts one of its referrals on the case list."""
    c = _contract(session, principal, contract_id, write=True)
    conf = get(session, principal, contract_id, conference_id)
    _referral_in_contract(session, principal, c, referral_id)
    if any(k.referral_id == referral_id for k in conf.cases):
        raise Conflict(f"Referral {referral_id} is already on the case list.")
    position = (session.scalar(select(func.max(ConferenceCase.position))
                               .where(ConferenceCase.conference_id == conf.id)) or 0) + 1
    case = ConferenceCase(conference_id=conf.id, referral_id=referral_id, position=position,
                          added_by_org_id=principal.org_id, added_by=principal.username, discussion="", follow_up="",
                          follow_up_owner="")
    session.add(case)
    session.flush()
    session.expire(conf, ["cases"])
    audit.record(session, principal, "partnership.conference.case", object_type="referral", object_id=referral_id,
                 detail={"conference": conf.id})
    return case


def case_list(session: Session, principal: Principal, conf: CaseConference) -> list[dict]:
    """The cases with what this viewer may see of each member (the referral's consent decides)."""
    refs = {r.id: r for r in session.scalars(select(Referral).where(
        Referral.id.in_([k.referral_id for k in conf.cases])))}
    members = {m.id: m for m in session.scalars(select(Member).where(
        Member.id.in_([r.member_id for r in refs.values()])))}
    access = referral_repo.member_access_many(session, principal, [r.member_id for r in refs.values()], utcnow())
    visible = set(session.scalars(select(Referral.id).where(Referral.id.in_(list(refs)),
                                                            referral_repo.referral_visibility(principal))))
    out, shown = [], []
    for k in conf.cases:
        ref = refs.get(k.referral_id)
        member = members.get(ref.member_id) if ref else None
        level = access.get(ref.member_id, "hidden") if ref and ref.id in visible else "hidden"
        name = f"{member.first_name} {member.last_name}" if member and level != "hidden" else None
        if name:
            shown.append(member.id)
        out.append({"case": k, "label": f"Case {k.position}", "name": name, "referral": ref,
                    "need_domain": ref.need_domain if ref else ""})
    if shown:
        audit.record_member_reads(session, principal, shown, action="partnership.conference.read")
    return out


def _identities(session: Session, conf: CaseConference) -> list[tuple[str, list[str]]]:
    refs = dict(session.execute(select(Referral.id, Referral.member_id).where(
        Referral.id.in_([k.referral_id for k in conf.cases]))).all())
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(list(refs.values()))))}
    out = []
    for k in conf.cases:
        m = members.get(refs.get(k.referral_id))
        if m is not None:
            out.append((f"Case {k.position}", [m.first_name, m.last_name, m.plan_member_id]))
    return out


def save_notes(session: Session, principal: Principal, contract_id: int, conference_id: int, *, notes: str,
               attendees: list[str] | None = None, held: bool = False,
               discussions: dict[int, str] | None = None) -> CaseConference:
    """Discussion notes, with every listed member's name and id replaced by their case label."""
    _contract(session, principal, contract_id, write=True)
    conf = get(session, principal, contract_id, conference_id)
    people = _identities(session, conf)
    conf.notes = rules.hide_identities(notes, people)
    for k in conf.cases:
        if discussions and k.id in discussions:
            k.discussion = rules.hide_identities(discussions[k.id], people)
    if attendees is not None:
        conf.attendees = [a.strip() for a in attendees if a.strip()]
    if held:
        conf.status = "held"
    audit.record(session, principal, "partnership.conference.notes", object_type="contract", object_id=contract_id,
                 detail={"conference": conf.id})
    session.flush()
    return conf


def add_follow_up(session: Session, principal: Principal, contract_id: int, conference_id: int, case_id: int, *,
                  text: str, owner_name: str, owner_side: str = "partner", due_on: date | None = None) -> int:
    """A follow-up on a case becomes an action item on the contract's JOC (its next meeting's agenda)."""
    from socialcare.joc.models import ActionItem, Committee, Meeting

    c = _contract(session, principal, contract_id, write=True)
    conf = get(session, principal, contract_id, conference_id)
    case = next((k for k in conf.cases if k.id == case_id), None)
    if case is None:
        raise NotFound(f"Case {case_id} is not on this session's list.")
    problems = []
    if not (text or "").strip():
        problems.append(Problem("say what is to be done", field="text"))
    if not (owner_name or "").strip():
        problems.append(Problem("name who does it", field="owner_name"))
    if owner_side not in rules.PARTIES:
        problems.append(Problem("the owner is the plan, the partner or both", field="owner_side"))
    if problems:
        raise InvalidInput("The follow-up was not saved.", problems)
    committee = session.scalar(select(Committee).where(Committee.contract_id == c.id))
    meeting = session.scalar(select(Meeting).where(Meeting.committee_id == committee.id)
                             .order_by(Meeting.month.desc()).limit(1)) if committee else None
    if committee is None or meeting is None:
        raise Conflict("This contract has no joint operating committee meeting yet to carry the action item.")
    text = rules.hide_identities(text.strip(), _identities(session, conf))
    item = ActionItem(committee_id=committee.id, opened_meeting_id=meeting.id,
                      description=f"{text} (case conference {conf.held_on}, Case {case.position})",
                      owner_name=owner_name.strip()[:200], owner_side=owner_side,
                      due_on=due_on or today(), status="open", closing_note="")
    session.add(item)
    session.flush()
    case.follow_up, case.follow_up_owner, case.follow_up_due, case.action_item_id = (
        text, owner_name.strip()[:200], item.due_on, item.id)
    audit.record(session, principal, "partnership.conference.follow_up", object_type="contract", object_id=c.id,
                 detail={"conference": conf.id, "action_item": item.id})
    session.flush()
    return item.id
