"""Assign referrals to staff, and the note thread a referral's referrer and receivers share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from socialcare.caseload.models import ReferralAssignment, ReferralNote
from socialcare.core.clock import as_utc, utcnow
from socialcare.core.errors import Forbidden, InvalidInput, NotFound, Problem
from socialcare.referrals import repository as ref_repo
from socialcare.referrals.models import Referral, ReferralEvent
from socialcare.security import audit
from socialcare.security.models import User
from socialcare.security.principal import Principal

NOTE_MAX = 2000


def staff(session: Session, principal: Principal) -> list[tuple[int, str, str]]:
    """The active users of the principal's organization who may work referrals: (id, username, name)."""
    from socialcare.caseload import repository

    return repository.staff(session, principal)


def current(session: Session, referral_ids: list[int]) -> dict[int, tuple[int, str]]:
    """referral id -> (user id, username) of its current assignee."""
    if not referral_ids:
        return {}
    rows = session.execute(select(ReferralAssignment.referral_id, User.id, User.username)
                           .join(User, User.id == ReferralAssignment.user_id)
                           .where(ReferralAssignment.referral_id.in_(referral_ids),
                                  ReferralAssignment.ended_at.is_(None))).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def assign(session: Session, principal: Principal, ref: Referral, *, user_id: int, reason: str | None = None,
           now: datetime | None = None) -> bool:
    """Give the referral to one of the organization's staff. Taking an unassigned referral needs no
    reason; taking it from someone (or giving it to someone else) does. Returns False when nothing
    changed (already theirs)."""
    if not ref_repo.works_referral(principal, ref):
        raise Forbidden("Only the organization working the referral assigns it to its staff.")
    if principal.org_kind not in ("cbo", "community_care_hub") or not principal.can("referrals:read"):
        raise Forbidden("Your role may not assign referrals.")
    now = now or utcnow()
    users = {u[0]: u for u in staff(session, principal)}
    if user_id not in users:
        raise InvalidInput("The referral was not assigned.",
                           [Problem("choose a colleague of your organization", field="user_id")])
    held = current(session, [ref.id]).get(ref.id)
    if held and held[0] == user_id:
        return False
    reason = (reason or "").strip() or None
    if held and not reason:
        raise InvalidInput("The referral was not reassigned.",
                           [Problem(f"it is {held[1]}'s: say why it moves", field="reason")])
    session.execute(update(ReferralAssignment).where(ReferralAssignment.referral_id == ref.id,
                                                     ReferralAssignment.ended_at.is_(None)).values(ended_at=now))
    session.execute(insert(ReferralAssignment).values(
        referral_id=ref.id, organization_id=principal.org_id, user_id=user_id, assigned_by_user_id=principal.user_id,
        assigned_by=principal.username, reason=reason, assigned_at=now))
    who = users[user_id][1]
    session.execute(insert(ReferralEvent).values(
        referral_id=ref.id, at=now, kind="note", action="assign", user_id=principal.user_id,
        username=principal.username, org_id=principal.org_id,
        note=f"Assigned to {who}" + (f" (was {held[1]}): {reason}" if held else ""),
        detail={"user_id": user_id, "previous_user_id": held[0] if held else None}))
    audit.record(session, principal, "referral.assign", object_type="referral", object_id=ref.id,
                 member_id=ref.member_id, detail={"user_id": user_id, "previous": held[0] if held else None})
    return True


def thread_root(ref: Referral) -> int:
    return ref.parent_id or ref.id


def notes(session: Session, principal: Principal, ref: Referral, access: str) -> list[ReferralNote]:
    """The chain's thread as this organization may read it: nothing once the member's consent to
    share with it was revoked; a receiver whose referral closed reads the notes up to its closing."""
    if access == "hidden":
        return []
    q = select(ReferralNote).where(ReferralNote.thread_id == thread_root(ref)).order_by(ReferralNote.at, ReferralNote.id)
    if ref_repo.works_referral(principal, ref) and ref.closed_at is not None:
        q = q.where(ReferralNote.at <= as_utc(ref.closed_at))
    return list(session.scalars(q))


def add_note(session: Session, principal: Principal, ref: Referral, body: str, access: str,
             now: datetime | None = None) -> ReferralNote:
    body = (body or "").strip()
    if access == "hidden":
        raise Forbidden("The member revoked consent to share with your organization.")
    if not body or len(body) > NOTE_MAX:
        raise InvalidInput("The note was not added.", [Problem(f"write 1 to {NOTE_MAX} characters", field="body")])
    note = ReferralNote(thread_id=thread_root(ref), referral_id=ref.id, organization_id=principal.org_id,
                        user_id=principal.user_id, username=principal.username, body=body, at=now or utcnow())
    session.add(note)
    session.flush()
    audit.record(session, principal, "referral.note", object_type="referral", object_id=ref.id, member_id=ref.member_id)
    return note


def note_in_error(session: Session, principal: Principal, note_id: int, now: datetime | None = None) -> ReferralNote:
    """The author marks their own note entered in error: it stays in the thread, struck through."""
    note = session.get(ReferralNote, note_id)
    if note is None or not ref_repo.same_organization(principal, note.organization_id):
        raise NotFound(f"Note {note_id} is not one of your organization's.")
    if note.user_id != principal.user_id:
        raise Forbidden("Only the author marks a note entered in error.")
    note.entered_in_error_at = now or utcnow()
    session.flush()
    return note
