"""Every referral query. Each read takes the Principal and is org-scoped:

* a plan (plan roles) sees every referral for its members, sub-referrals included;
* a hub sees referrals it owns (from plans) and the sub-referrals it made (to its network CBOs);
* a CBO sees referrals it owns;
* other roles (auditor) see none.

Sharing (``shared_member_ids_select``, called by ``security.sharing.member_visibility``): a hub or
CBO sees a member's record while it holds a *sharing* referral for that member (owned by it, or for a
hub also one it routed) that is open, or closed less than SHARE_AFTER_CLOSE_DAYS ago (so the CBO can
finish its service records and invoices), AND the member's consent to share with it is granted,
unexpired and not revoked. Without consent a CBO sees only the minimum necessary on its worklist
(rules.MINIMUM_NECESSARY_FIELDS); once consent is revoked the member is hidden from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from socialcare.core.clock import utcnow
from socialcare.directory.models import HubNetworkMembership, Organization, Service, ServiceArea
from socialcare.kit.codes import OrgKind
from socialcare.members.models import Member
from socialcare.referrals import rules
from socialcare.referrals.models import Consent, Escalation, Referral, ReferralEvent
from socialcare.security import access
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role

SHARE_AFTER_CLOSE_DAYS = access.SHARE_AFTER_CLOSE_DAYS


# ---- scoping -------------------------------------------------------------------------------


def referral_visibility(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause on Referral for what the principal's organization may see."""
    if principal.is_plan:
        return Referral.plan_id == principal.org_id if is_plan_role(principal.role) else false()
    if not principal.can("referrals:read"):
        return false()
    if principal.is_hub:
        return or_(Referral.owner_org_id == principal.org_id, Referral.requester_org_id == principal.org_id)
    return Referral.owner_org_id == principal.org_id


def visible_plan_ids(principal: Principal) -> Select:
    """The plans whose referrals the principal's organization works (a hub or CBO may serve several)."""
    return select(Referral.plan_id).where(referral_visibility(principal)).distinct()


def plan_names(session: Session, principal: Principal) -> dict[int, str]:
    """Names of the plans whose referrals a hub or CBO works, by id (rows are labelled by plan)."""
    return dict(session.execute(
        select(Organization.id, Organization.name).where(Organization.kind == OrgKind.HEALTH_PLAN,
                                                         Organization.id.in_(visible_plan_ids(principal)))
        .order_by(Organization.name)).all())


def works_referral(principal: Principal, ref: Referral) -> bool:
    """The principal's organization is the one working this referral (a hub or CBO owner)."""
    return not principal.is_plan and ref.owner_org_id == principal.org_id


def same_organization(principal: Principal, org_id: int | None) -> bool:
    return org_id is not None and org_id == principal.org_id


def active_consent_clause(org_id, member_id_col, now: datetime) -> ColumnElement[bool]:
    return access.consent_clause(org_id, member_id_col, now)


def shared_member_ids_select(principal: Principal, now: datetime | None = None) -> Select:
    """SELECT of member ids shared with the principal (security.access, READ)."""
    return access.member_ids(principal, access.Purpose.READ, now)


def _facts(session: Session, member_ids: list[int]) -> tuple[dict, dict]:
    refs: dict[int, list[access.ReferralFact]] = {m: [] for m in member_ids}
    consents: dict[int, list[access.ConsentFact]] = {m: [] for m in member_ids}
    for i in range(0, len(member_ids), 5000):
        chunk = member_ids[i:i + 5000]
        for mid, owner, requester, status, closed in session.execute(select(
                Referral.member_id, Referral.owner_org_id, Referral.requester_org_id, Referral.status,
                Referral.closed_at).where(Referral.member_id.in_(chunk))):
            refs[mid].append(access.ReferralFact(owner, requester, status, closed))
        for mid, org, granted, expires, revoked, scope in session.execute(select(
                Consent.member_id, Consent.organization_id, Consent.granted_at, Consent.expires_at,
                Consent.revoked_at, Consent.scope).where(Consent.member_id.in_(chunk))
                .order_by(Consent.member_id, Consent.granted_at.desc(), Consent.id.desc())):
            consents[mid].append(access.ConsentFact(org, granted, expires, revoked, scope))
    return refs, consents


def member_access_many(session: Session, principal: Principal, member_ids: list[int],
                       now: datetime | None = None) -> dict[int, str]:
    """How much of each member the principal may see on a referral row: full | minimum | hidden.

    Plan staff: full. A hub or CBO: full while the member is shared with it (security.access READ:
    a sharing referral and an active consent); hidden once its latest consent was revoked; otherwise
    (no consent yet, or the sharing window ended) the minimum necessary for outreach."""
    if principal.is_plan:
        level = "full" if is_plan_role(principal.role) else "hidden"
        return {m: level for m in member_ids}
    now = now or utcnow()
    ids = sorted(set(member_ids))
    refs, consents = _facts(session, ids)
    plan_of = dict(session.execute(select(Member.id, Member.plan_id).where(Member.id.in_(ids))).tuples().all()) \
        if ids else {}
    out: dict[int, str] = {}
    for mid in ids:
        if access.allows(principal, access.Purpose.READ, plan_of.get(mid, -1), refs[mid], consents[mid], now):
            out[mid] = "full"
            continue
        mine = [c for c in consents[mid] if c.organization_id == principal.org_id]
        out[mid] = "hidden" if mine and mine[0].revoked_at is not None and not any(c.active(now) for c in mine) \
            else "minimum"
    return out


def member_access(session: Session, principal: Principal, member_id: int, now: datetime | None = None) -> str:
    return member_access_many(session, principal, [member_id], now)[member_id]


# ---- single referral -----------------------------------------------------------------------


def get_visible(session: Session, principal: Principal, referral_id: int) -> Referral | None:
    return session.scalar(select(Referral).where(Referral.id == referral_id, referral_visibility(principal)))


MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger number names nothing (and PostgreSQL refuses it)


def visible_with_member_ids(session: Session, principal: Principal, ids) -> dict[int, tuple[Referral, str]]:
    """The referrals among ``ids`` the principal sees, each with its member's plan member id (what
    a partner's file names to check it is talking about the right member)."""
    wanted = sorted({i for i in ids if 0 < i <= MAX_ID})
    out: dict[int, tuple[Referral, str]] = {}
    for i in range(0, len(wanted), 5000):
        for ref, pmid in session.execute(
            select(Referral, Member.plan_member_id).join(Member, Member.id == Referral.member_id)
            .where(Referral.id.in_(wanted[i:i + 5000]), referral_visibility(principal))
        ).tuples():
            out[ref.id] = (ref, pmid)
    return out


def exists(session: Session, referral_id: int) -> bool:
    return session.scalar(select(Referral.id).where(Referral.id == referral_id)) is not None


def children(session: Session, referral_id: int) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.parent_id == referral_id).order_by(Referral.id)))


def open_child(session: Session, referral_id: int) -> Referral | None:
    return session.scalar(
        select(Referral).where(Referral.parent_id == referral_id, Referral.status.in_(list(rules.OPEN)))
        .order_by(Referral.id.desc()).limit(1)
    )


def timeline(session: Session, referral_ids: list[int]) -> list[tuple[ReferralEvent, str | None]]:
    """Events of a referral and its sub-referrals (the plan sees the loop end to end), oldest first."""
    org = aliased(Organization)
    return list(
        session.execute(
            select(ReferralEvent, org.name)
            .outerjoin(org, org.id == ReferralEvent.org_id)
            .where(ReferralEvent.referral_id.in_(referral_ids))
            .order_by(ReferralEvent.at, ReferralEvent.id)
        ).all()
    )


def by_idempotency_key(session: Session, requester_org_id: int, key: str) -> Referral | None:
    return session.scalar(
        select(Referral).where(Referral.requester_org_id == requester_org_id, Referral.idempotency_key == key)
    )


# ---- clocks and overdue flags (SQL) --------------------------------------------------------


def overdue_columns(now: datetime):
    open_ = Referral.status.in_(list(rules.OPEN))
    outreach = and_(open_, Referral.first_outreach_at.is_(None), Referral.outreach_due_at < now)
    contact = and_(open_, Referral.contacted_at.is_(None), Referral.contact_due_at < now)
    service = and_(
        open_, Referral.service_started_at.is_(None), Referral.service_due_at < now,
        Referral.business_status.not_in(["declined", "unable-to-contact"]),
    )
    return {
        "outreach_overdue": outreach,
        "contact_overdue": contact,
        "service_overdue": service,
        "overdue": or_(outreach, contact, service),
    }


def _flag(expr):
    return case((expr, 1), else_=0)


# ---- lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralFilters:
    status: str | None = None  # a FHIR status, or "open" / "closed"
    need_domain: str | None = None
    urgency: str | None = None
    overdue_only: bool = False
    q: str | None = None  # member name or plan member id
    owner_org_id: int | None = None
    member_id: int | None = None
    top_level_only: bool = False  # plan board: the plan's own referrals (sub-referrals roll up)
    plan_id: int | None = None  # a hub or CBO working for several plans: one plan's referrals
    assigned_user_id: int | None = None  # "my caseload": referrals currently assigned to this user
    sort: str | None = None  # None/"due": overdue and urgent first; "newest", "oldest", "member"


def list_select(principal: Principal, f: ReferralFilters, now: datetime) -> Select:
    """Referrals the principal sees with member, owner name and overdue flags; overdue first."""
    flags = overdue_columns(now)
    owner = aliased(Organization)
    stmt = (
        select(
            Referral,
            Member,
            owner.name.label("owner_name"),
            _flag(flags["outreach_overdue"]).label("outreach_overdue"),
            _flag(flags["contact_overdue"]).label("contact_overdue"),
            _flag(flags["service_overdue"]).label("service_overdue"),
            _flag(flags["overdue"]).label("overdue"),
        )
        .join(Member, Member.id == Referral.member_id)
        .outerjoin(owner, owner.id == Referral.owner_org_id)
        .where(referral_visibility(principal))
    )
    if f.status == "open":
        stmt = stmt.where(Referral.status.in_(list(rules.OPEN)))
    elif f.status == "closed":
        stmt = stmt.where(Referral.status.in_(list(rules.TERMINAL)))
    elif f.status:
        stmt = stmt.where(Referral.status == f.status)
    if f.need_domain:
        stmt = stmt.where(Referral.need_domain == f.need_domain)
    if f.urgency:
        stmt = stmt.where(Referral.urgency == f.urgency)
    if f.overdue_only:
        stmt = stmt.where(flags["overdue"])
    if f.owner_org_id:
        stmt = stmt.where(Referral.owner_org_id == f.owner_org_id)
    if f.member_id:
        stmt = stmt.where(Referral.member_id == f.member_id)
    if f.top_level_only:
        stmt = stmt.where(Referral.parent_id.is_(None))
    if f.plan_id:
        stmt = stmt.where(Referral.plan_id == f.plan_id)
    if f.assigned_user_id:
        from socialcare.caseload.models import ReferralAssignment

        stmt = stmt.where(Referral.id.in_(select(ReferralAssignment.referral_id).where(
            ReferralAssignment.user_id == f.assigned_user_id, ReferralAssignment.ended_at.is_(None))))
    if f.q:
        for w in f.q.strip().lower().split()[:4]:
            stmt = stmt.where(
                or_(
                    func.lower(Member.last_name).like(f"%{w}%"),
                    func.lower(Member.first_name).like(f"%{w}%"),
                    func.lower(Member.plan_member_id) == w,
                    cast(Referral.id, String) == w,
                )
            )
    urgency_rank = case(
        (Referral.urgency == "stat", 0), (Referral.urgency == "asap", 1), (Referral.urgency == "urgent", 2), else_=3
    )
    open_rank = case((Referral.status.in_(list(rules.OPEN)), 0), else_=1)
    if f.sort == "newest":
        return stmt.order_by(Referral.created_at.desc(), Referral.id.desc())
    if f.sort == "oldest":
        return stmt.order_by(Referral.created_at, Referral.id)
    if f.sort == "member":
        return stmt.order_by(Member.last_name, Member.first_name, Referral.id)
    return stmt.order_by(
        open_rank, _flag(flags["overdue"]).desc(), urgency_rank,
        func.coalesce(Referral.outreach_due_at, Referral.created_at), Referral.id.desc(),
    )


def counts_by_status(session: Session, principal: Principal, top_level_only: bool = False) -> dict[str, int]:
    stmt = select(Referral.status, func.count()).where(referral_visibility(principal))
    if top_level_only:
        stmt = stmt.where(Referral.parent_id.is_(None))
    return {s: int(n) for s, n in session.execute(stmt.group_by(Referral.status))}


def overdue_count(session: Session, principal: Principal, now: datetime, top_level_only: bool = False) -> int:
    stmt = select(func.count()).select_from(Referral).where(referral_visibility(principal),
                                                           overdue_columns(now)["overdue"])
    if top_level_only:
        stmt = stmt.where(Referral.parent_id.is_(None))
    return int(session.scalar(stmt) or 0)


def routing_queue_select(principal: Principal, now: datetime) -> Select:
    """A hub's referrals waiting for routing: requested, or accepted/in progress with no open sub-referral."""
    child = aliased(Referral)
    has_open_child = (
        select(child.id).where(child.parent_id == Referral.id, child.status.in_(list(rules.OPEN))).exists()
    )
    flags = overdue_columns(now)
    return (
        select(Referral, Member, _flag(flags["overdue"]).label("overdue"))
        .join(Member, Member.id == Referral.member_id)
        .where(
            Referral.owner_org_id == principal.org_id,
            or_(
                Referral.status == rules.Status.REQUESTED,
                and_(Referral.status.in_([rules.Status.ACCEPTED, rules.Status.IN_PROGRESS]), ~has_open_child),
            ),
        )
        .order_by(_flag(flags["overdue"]).desc(), Referral.outreach_due_at, Referral.id)
    )


def member_history_select(principal: Principal, member_id: int) -> Select:
    owner = aliased(Organization)
    return (
        select(Referral, owner.name.label("owner_name"))
        .outerjoin(owner, owner.id == Referral.owner_org_id)
        .where(referral_visibility(principal), Referral.member_id == member_id, Referral.parent_id.is_(None))
        .order_by(Referral.created_at.desc(), Referral.id.desc())
    )


def consents_for_member(session: Session, member_id: int) -> list[tuple[Consent, str]]:
    return list(
        session.execute(
            select(Consent, Organization.name)
            .join(Organization, Organization.id == Consent.organization_id)
            .where(Consent.member_id == member_id)
            .order_by(Consent.granted_at.desc(), Consent.id.desc())
        ).all()
    )


# ---- routing suggestions -------------------------------------------------------------------


@dataclass
class Suggestion:
    cbo_id: int
    cbo_name: str
    service_id: int
    service_name: str
    serves_area: bool
    area_reason: str | None
    language_match: bool
    capacity: int | None
    used_this_month: int
    capacity_left: int | None
    score: int

    @property
    def reasons(self) -> list[str]:
        out = []
        out.append(self.area_reason or "does not list the member's county or zip in its service area")
        out.append("offers the member's language" if self.language_match else "does not list the member's language")
        if self.capacity is None:
            out.append("no monthly capacity limit")
        else:
            out.append(f"{self.capacity_left} of {self.capacity} places left this month")
        return out


def _month_bounds(day: date) -> tuple[datetime, datetime]:
    from datetime import UTC

    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    nxt = datetime(day.year + (day.month == 12), day.month % 12 + 1, 1, tzinfo=UTC)
    return start, nxt


def suggestions(session: Session, hub_id: int, member: Member, need_domain: str, today: date,
                limit: int = 10) -> list[Suggestion]:
    """Network CBOs (active membership today) offering a service in the need domain, ranked in SQL by:
    serves the member's zip or county (service or organization service area), offers the member's
    language, and has capacity left this month (capacity_per_month minus referrals to that service
    accepted this month)."""
    start, nxt = _month_bounds(today)
    zip5 = (member.zip or "")[:5]
    county = (member.county or "").lower()
    area_for = and_(
        ServiceArea.organization_id == Service.organization_id,
        or_(ServiceArea.service_id == Service.id, ServiceArea.service_id.is_(None)),
    )
    zip_match = select(ServiceArea.id).where(area_for, ServiceArea.postal_code == zip5).exists() if zip5 else literal(False)
    county_match = (
        select(ServiceArea.id).where(area_for, func.lower(ServiceArea.county) == county).exists()
        if county else literal(False)
    )
    used = (
        select(func.count())
        .select_from(Referral)
        .where(Referral.service_id == Service.id, Referral.accepted_at >= start, Referral.accepted_at < nxt)
        .scalar_subquery()
    )
    # languages is a JSON list; a LIKE on its text form works on both databases (codes are 2 letters)
    lang = (member.preferred_language or "en").lower()
    lang_match = func.lower(cast(Service.languages, String)).like(f'%"{lang}"%')
    zip_i, county_i, lang_i = _flag(zip_match), _flag(county_match), _flag(lang_match)
    left = Service.capacity_per_month - used
    has_capacity = case((Service.capacity_per_month.is_(None), 1), (left > 0, 1), else_=0)
    score = (case((or_(zip_i == 1, county_i == 1), 100), else_=0) + lang_i * 30 + has_capacity * 20)
    stmt = (
        select(
            Service.organization_id, Organization.name, Service.id, Service.name,
            zip_i.label("zip_match"), county_i.label("county_match"), lang_i.label("lang_match"),
            Service.capacity_per_month, used.label("used"), score.label("score"),
        )
        .join(Organization, Organization.id == Service.organization_id)
        .join(HubNetworkMembership, HubNetworkMembership.cbo_id == Service.organization_id)
        .where(
            HubNetworkMembership.hub_id == hub_id,
            HubNetworkMembership.start_date <= today,
            or_(HubNetworkMembership.end_date.is_(None), HubNetworkMembership.end_date >= today),
            Service.need_domain == need_domain,
            Service.status == "active",
        )
        .order_by(score.desc(), (Service.capacity_per_month - used).desc().nulls_first(), Organization.name, Service.id)
        .limit(limit)
    )
    out = []
    for cbo_id, cbo_name, sid, sname, zm, cm, lm, cap, n_used, sc in session.execute(stmt):
        area_reason = None
        if zm:
            area_reason = f"serves zip {zip5}"
        elif cm:
            area_reason = f"serves {member.county} county"
        out.append(Suggestion(
            cbo_id=cbo_id, cbo_name=cbo_name, service_id=sid, service_name=sname, serves_area=bool(zm or cm),
            area_reason=area_reason, language_match=bool(lm), capacity=cap, used_this_month=int(n_used or 0),
            capacity_left=None if cap is None else max(cap - int(n_used or 0), 0), score=int(sc),
        ))
    return out


def network_member(session: Session, hub_id: int, cbo_id: int, today: date) -> bool:
    return session.scalar(
        select(HubNetworkMembership.id).where(
            HubNetworkMembership.hub_id == hub_id, HubNetworkMembership.cbo_id == cbo_id,
            HubNetworkMembership.start_date <= today,
            or_(HubNetworkMembership.end_date.is_(None), HubNetworkMembership.end_date >= today),
        ).limit(1)
    ) is not None


# ---- escalations ---------------------------------------------------------------------------


def escalation_visibility(principal: Principal) -> ColumnElement[bool]:
    """The plan sees its escalations; a partner those it raised, those under its own contracts (a hub:
    its network CBOs' escalations on the referrals it routed) and those sent to one of its people."""
    if principal.is_plan:
        return Escalation.plan_id == principal.org_id if is_plan_role(principal.role) else false()
    from socialcare.contracts.models import Contract

    mine = or_(Escalation.raised_by_org_id == principal.org_id,
               Escalation.contract_id.in_(select(Contract.id).where(Contract.counterparty_id == principal.org_id)))
    if principal.user_id is not None:
        mine = or_(mine, Escalation.owner_user_id == principal.user_id)
    return mine


def escalations_select(principal: Principal, status: str | None = None) -> Select:
    raiser = aliased(Organization)
    stmt = (
        select(Escalation, raiser.name.label("raised_by_org"))
        .join(raiser, raiser.id == Escalation.raised_by_org_id)
        .where(escalation_visibility(principal))
    )
    if status == "open":
        stmt = stmt.where(Escalation.status != "resolved")
    elif status:
        stmt = stmt.where(Escalation.status == status)
    sev = case((Escalation.severity == "high", 0), (Escalation.severity == "medium", 1), else_=2)
    done = case((Escalation.status == "resolved", 1), else_=0)
    return stmt.order_by(done, sev, Escalation.created_at.desc(), Escalation.id.desc())


def holds(principal: Principal, ref: Referral) -> bool:
    """The principal's organization is the one the referral was sent to."""
    return ref.owner_org_id == principal.org_id


def plans_own(principal: Principal, ref: Referral) -> bool:
    """The principal is the member's plan."""
    return principal.is_plan and ref.plan_id == principal.org_id
