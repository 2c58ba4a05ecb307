"""Screening use cases: record a screening (or the member's refusal), score it, record social needs.

Who may screen: plan staff for their plan's members; hub or CBO staff for a member with an open
referral to their organization (a CBO screening a referred member). Every screening is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.errors import Forbidden, InvalidInput, NotFound, Problem
from socialcare.members.models import Member
from socialcare.referrals import rules as referral_rules
from socialcare.referrals.models import Referral
from socialcare.screening import rules
from socialcare.screening.models import Screening, ScreeningAnswer, SocialNeed
from socialcare.security import access, audit
from socialcare.security.principal import Principal


@dataclass
class ScreeningInput:
    member_id: int
    instrument: str
    responses: dict[str, str | list[str] | None] = field(default_factory=dict)
    declined_items: list[str] = field(default_factory=list)
    declined: bool = False  # the member declined the whole screening
    referral_id: int | None = None
    screened_at: datetime | None = None
    note: str | None = None


def _member_for(session: Session, principal: Principal, member_id: int, referral_id: int | None) -> Member:
    """The member to screen (security.access SCREEN: the plan's own member, or one referred to the
    organization on an open referral with the member's consent); the referral named must be that one."""
    access.require(session, principal, access.Purpose.SCREEN, member_id, "screening.create")
    if referral_id is not None and not principal.is_plan and session.scalar(select(Referral.id).where(
            Referral.id == referral_id, Referral.member_id == member_id, Referral.owner_org_id == principal.org_id,
            Referral.status.in_(list(referral_rules.OPEN)))) is None:
        audit.record_denied(session, principal, "screening.create", object_type="referral", object_id=referral_id,
                            member_id=member_id, reason="not an open referral of the organization for this member")
        raise Forbidden(f"Referral {referral_id} is not an open referral of yours for this member.")
    member = session.get(Member, member_id)
    assert member is not None
    return member


def preferred_language(session: Session, principal: Principal, member_id: int,
                       referral_id: int | None = None) -> str | None:
    """The member's preferred language, for offering the screening in it (the member must be the
    plan's, or referred to the principal's organization)."""
    return _member_for(session, principal, member_id, referral_id).preferred_language


def submit(session: Session, principal: Principal, data: ScreeningInput, *, now: datetime | None = None) -> Screening:
    principal.require("screening:write")
    now = now or utcnow()
    try:
        inst = rules.instrument(data.instrument)
    except ValueError as exc:
        raise InvalidInput("The screening was not saved.", [Problem(str(exc), field="instrument")]) from None
    member = _member_for(session, principal, data.member_id, data.referral_id)
    screened_at = data.screened_at or now
    if as_utc(screened_at) > now:
        raise InvalidInput("The screening was not saved.", [Problem("the screening date is in the future",
                                                                    field="screened_at")])
    base = dict(
        member_id=member.id, plan_id=member.plan_id, organization_id=principal.org_id, referral_id=data.referral_id,
        instrument=inst.code, panel_loinc=inst.panel_loinc, screened_at=screened_at,
        screened_by_user_id=principal.user_id, screened_by=principal.username, note=data.note, created_at=now,
    )
    if data.declined:
        sid = session.execute(insert(Screening).values(
            **base, status="declined", data_absent_reason=rules.ASKED_DECLINED, positive_domains=[],
        ).returning(Screening.id)).scalar_one()
        audit.record(session, principal, "screening.declined", object_type="screening", object_id=sid,
                     member_id=member.id)
        return session.get(Screening, sid)  # type: ignore[return-value]
    try:
        result = rules.score(inst.code, data.responses, frozenset(data.declined_items))
    except rules.ScreeningInputError as exc:
        raise InvalidInput("The screening was not saved.",
                           [Problem(m, field=f) for f, m in exc.problems]) from None
    if all(a.answer_code is None for a in result.answers):
        raise InvalidInput("The screening was not saved.", [Problem(
            "no question was answered; record the screening as declined instead", field="responses")])
    sid = session.execute(insert(Screening).values(
        **base, status=result.status, safety_score=result.safety_score, hvs_result=result.hvs_result,
        positive_domains=result.positive_domains,
    ).returning(Screening.id)).scalar_one()
    session.execute(insert(ScreeningAnswer), [
        dict(screening_id=sid, item_loinc=a.item_loinc, answer_code=a.answer_code, value_int=a.value_int,
             positive=a.positive, domain=a.domain, data_absent_reason=a.data_absent_reason)
        for a in result.answers
    ])
    # a positive domain becomes a social need, unless the member already has that need open
    active = set(session.scalars(select(SocialNeed.domain).where(
        SocialNeed.member_id == member.id, SocialNeed.status == "active")))
    needs = [n for n in result.needs if n.domain not in active]
    if needs:
        session.execute(insert(SocialNeed), [
            dict(member_id=member.id, plan_id=member.plan_id, domain=n.domain, sdoh_category=n.sdoh_category,
                 z_code=n.z_code, status="active", source="screening", screening_id=sid, identified_at=screened_at,
                 recorded_by_org_id=principal.org_id)
            for n in needs
        ])
    audit.record(session, principal, "screening.create", object_type="screening", object_id=sid, member_id=member.id,
                 detail={"instrument": inst.code, "positive": result.positive_domains})
    return session.get(Screening, sid)  # type: ignore[return-value]


def screenings_for_member(session: Session, principal: Principal, member_id: int) -> list[Screening]:
    """A member's screenings, newest first, for whoever may see the member (audited)."""
    _readable(session, principal, member_id, "screening.list")
    rows = list(session.scalars(select(Screening).where(Screening.member_id == member_id)
                                .order_by(Screening.screened_at.desc(), Screening.id.desc())))
    audit.record(session, principal, "screening.list", object_type="member", object_id=member_id, member_id=member_id)
    return rows


def needs_for_member(session: Session, principal: Principal, member_id: int) -> list[SocialNeed]:
    _readable(session, principal, member_id, "screening.needs")
    rows = list(session.scalars(select(SocialNeed).where(SocialNeed.member_id == member_id)
                                .order_by(SocialNeed.status, SocialNeed.identified_at.desc())))
    audit.record(session, principal, "screening.needs", object_type="member", object_id=member_id, member_id=member_id)
    return rows


def _readable(session: Session, principal: Principal, member_id: int, action: str) -> None:
    """A member's screenings and needs open with the member record (security.access READ); a refusal
    is audited, and answers 404 whether the member exists or not."""
    if not access.may(session, principal, access.Purpose.READ, member_id):
        exists = 0 < member_id < 2**31 and session.get(Member, member_id) is not None
        audit.record_denied(session, principal, action, object_type="member", object_id=member_id,
                            member_id=member_id if exists else None, reason="member not in the organization's view")
        raise NotFound(f"Member {member_id} is not in your organization's view.")
