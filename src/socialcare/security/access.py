"""Which members an organization may reach, and for what: the privacy boundary, defined once.

A **purpose** names what the caller is about to do with a member (read the record, screen, record a
service, record a consent, share with a hub network member, export). ``RULES`` says, for each purpose,
which facts open a member to an organization:

* a health plan's staff reach their own plan's members (``plan``) for the purposes a plan has;
* a hub or CBO reaches a member through a **referral** it holds, either *open* or *sharing* (open, or
  closed less than ``SHARE_AFTER_CLOSE_DAYS`` ago, never a draft nor one entered in error), owned by it
  or, for a hub when the rule says so, one it routed (its requester);
* and, when the rule says so, the member's **consent** to share with it: granted, unexpired, unrevoked;
* and in every case the role must hold the purpose's permission (an auditor reads the audit log, not
  member records).

From that one definition this module builds the SQL clause every query uses (``member_clause``) and
the Python check (``allows``) on facts already loaded; tests/security/test_access.py checks with
hypothesis that the two always agree. It stands below every domain: the referral and consent tables
are named here as plain tables, so no domain model is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, column, false, or_, select, table
from sqlalchemy.orm import Session

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.errors import Forbidden
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role

SHARE_AFTER_CLOSE_DAYS = 90
# referral statuses (referrals.rules.Status; tests check the two agree)
OPEN_STATUSES = ("requested", "accepted", "in-progress", "on-hold")
NEVER_SHARING = ("draft", "entered-in-error")
CONSENT_SCOPES = ("referral", "full-record")


class Purpose(StrEnum):
    READ = "read"  # see the member's record (what the consent scope opens)
    SCREEN = "screen"  # record a screening of the member
    RECORD_SERVICE = "record_service"  # record a service, episode, pathway, engagement, disbursement
    RECORD_CONSENT = "record_consent"  # record the member's consent to share with an organization
    SHARE_NETWORK = "share_network"  # a hub routes the member to one of its network CBOs
    EXPORT = "export"  # put the member in a file that leaves socialcare


@dataclass(frozen=True)
class Rule:
    permissions: tuple[str, ...]  # the role holds one of these
    plan: bool  # the member's plan (plan roles) reaches its members
    referral: str | None  # "open" | "sharing" | None (no hub/CBO access at all)
    hub_as_requester: bool  # a hub also reaches through a referral it routed
    consent: bool  # and the member's active consent to share with the organization


RULES: dict[Purpose, Rule] = {
    Purpose.READ: Rule(("referrals:read", "members:read"), True, "sharing", True, True),
    Purpose.EXPORT: Rule(("referrals:read", "members:read"), True, "sharing", True, True),
    Purpose.SCREEN: Rule(("screening:write",), True, "open", False, True),
    Purpose.RECORD_SERVICE: Rule(("delivery:write",), False, "sharing", True, True),
    Purpose.RECORD_CONSENT: Rule(("referrals:work", "referrals:route", "referrals:create"), True, "open", False, False),
    Purpose.SHARE_NETWORK: Rule(("referrals:route",), False, "open", False, True),
}

# plain tables: the access rule reads them without importing the referrals domain
REFERRAL = table("referral", column("member_id"), column("owner_org_id"), column("requester_org_id"),
                 column("status"), column("closed_at"))
CONSENT = table("member_consent", column("member_id"), column("organization_id"), column("revoked_at"),
                column("granted_at"), column("expires_at"), column("scope"))
MEMBER = table("member", column("id"), column("plan_id"))


def _role_may(principal: Principal, rule: Rule) -> bool:
    if principal.is_plan and not is_plan_role(principal.role):
        return False
    return any(principal.can(p) for p in rule.permissions)


# ---- SQL -------------------------------------------------------------------------------------


def referral_clause(rule: Rule, org_id: int, is_hub: bool, now: datetime, member_id_col) -> ColumnElement[bool]:
    holder = REFERRAL.c.owner_org_id == org_id
    if rule.hub_as_requester and is_hub:
        holder = or_(holder, REFERRAL.c.requester_org_id == org_id)
    if rule.referral == "open":
        state = REFERRAL.c.status.in_(OPEN_STATUSES)
    else:
        recent = now - timedelta(days=SHARE_AFTER_CLOSE_DAYS)
        state = and_(REFERRAL.c.status.not_in(NEVER_SHARING),
                     or_(REFERRAL.c.status.in_(OPEN_STATUSES), REFERRAL.c.closed_at >= recent))
    return select(REFERRAL.c.member_id).where(REFERRAL.c.member_id == member_id_col, holder, state).exists()


def consent_clause(org_id, member_id_col, now: datetime, scope: str | None = None) -> ColumnElement[bool]:
    """The member's active consent to share with the organization (of ``scope`` when given)."""
    stmt = select(CONSENT.c.member_id).where(
        CONSENT.c.member_id == member_id_col, CONSENT.c.organization_id == org_id,
        CONSENT.c.revoked_at.is_(None), CONSENT.c.granted_at <= now,
        or_(CONSENT.c.expires_at.is_(None), CONSENT.c.expires_at > now),
    )
    if scope is not None:
        stmt = stmt.where(CONSENT.c.scope == scope)
    return stmt.exists()


def member_clause(principal: Principal, purpose: Purpose, member_id_col, plan_id_col=None,
                  now: datetime | None = None) -> ColumnElement[bool]:
    """WHERE clause on a member id column: the members the principal may reach for ``purpose``.
    ``plan_id_col`` (the member's plan) saves a sub-query when the caller selects from member."""
    rule = RULES[purpose]
    if not _role_may(principal, rule):
        return false()
    if principal.is_plan:
        if not rule.plan:
            return false()
        if plan_id_col is not None:
            return plan_id_col == principal.org_id
        return member_id_col.in_(select(MEMBER.c.id).where(MEMBER.c.plan_id == principal.org_id))
    if rule.referral is None:
        return false()
    now = now or utcnow()
    clause = referral_clause(rule, principal.org_id, principal.is_hub, now, member_id_col)
    if rule.consent:
        clause = and_(clause, consent_clause(principal.org_id, member_id_col, now))
    return clause


def member_ids(principal: Principal, purpose: Purpose, now: datetime | None = None):
    """A SELECT of the ids of the members the principal may reach for ``purpose``."""
    return select(MEMBER.c.id).where(member_clause(principal, purpose, MEMBER.c.id, MEMBER.c.plan_id, now))


def may(session: Session, principal: Principal, purpose: Purpose, member_id: int, now: datetime | None = None) -> bool:
    if not (0 < member_id < 2**31):
        return False
    return session.scalar(select(MEMBER.c.id).where(
        MEMBER.c.id == member_id, member_clause(principal, purpose, MEMBER.c.id, MEMBER.c.plan_id, now))) is not None


def require(session: Session, principal: Principal, purpose: Purpose, member_id: int, action: str,
            now: datetime | None = None) -> None:
    """Refuse (audited, 403) unless the principal may reach the member for ``purpose``."""
    if may(session, principal, purpose, member_id, now):
        return
    exists = 0 < member_id < 2**31 and session.scalar(select(MEMBER.c.id).where(MEMBER.c.id == member_id)) is not None
    audit.record_denied(session, principal, action, object_type="member", object_id=member_id,
                        member_id=member_id if exists else None, reason=f"member not reachable for {purpose}")
    raise Forbidden(f"Member {member_id} is not shared with your organization for this ({purpose.replace('_', ' ')}).")


# ---- Python, on facts already loaded ----------------------------------------------------------


@dataclass(frozen=True)
class ReferralFact:
    owner_org_id: int | None
    requester_org_id: int | None
    status: str
    closed_at: datetime | None


@dataclass(frozen=True)
class ConsentFact:
    organization_id: int
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    scope: str = "referral"

    def active(self, now: datetime) -> bool:
        return (self.revoked_at is None and as_utc(self.granted_at) <= now
                and (self.expires_at is None or as_utc(self.expires_at) > now))


def allows(principal: Principal, purpose: Purpose, member_plan_id: int, referrals: list[ReferralFact],
           consents: list[ConsentFact], now: datetime) -> bool:
    """The same rule as ``member_clause``, on one member's referrals and consents."""
    rule = RULES[purpose]
    if not _role_may(principal, rule):
        return False
    if principal.is_plan:
        return rule.plan and member_plan_id == principal.org_id
    if rule.referral is None:
        return False
    recent = now - timedelta(days=SHARE_AFTER_CLOSE_DAYS)

    def holds(r: ReferralFact) -> bool:
        if r.owner_org_id == principal.org_id:
            return True
        return rule.hub_as_requester and principal.is_hub and r.requester_org_id == principal.org_id

    def state_ok(r: ReferralFact) -> bool:
        if rule.referral == "open":
            return r.status in OPEN_STATUSES
        return r.status not in NEVER_SHARING and (
            r.status in OPEN_STATUSES or (r.closed_at is not None and as_utc(r.closed_at) >= recent))

    if not any(holds(r) and state_ok(r) for r in referrals):
        return False
    if rule.consent:
        return any(c.organization_id == principal.org_id and c.active(now) for c in consents)
    return True


# ---- what a consent opens ----------------------------------------------------------------------


def consent_scope(session: Session, principal: Principal, member_id: int, now: datetime | None = None) -> str | None:
    """The widest active consent scope the member gave the principal's organization: "full-record",
    "referral", or None. A plan's staff see their members' whole record ("full-record")."""
    if principal.is_plan:
        return "full-record" if is_plan_role(principal.role) else None
    now = now or utcnow()
    scopes = set(session.scalars(select(CONSENT.c.scope).where(
        CONSENT.c.member_id == member_id, CONSENT.c.organization_id == principal.org_id,
        CONSENT.c.revoked_at.is_(None), CONSENT.c.granted_at <= now,
        or_(CONSENT.c.expires_at.is_(None), CONSENT.c.expires_at > now))))
    if "full-record" in scopes:
        return "full-record"
    return "referral" if scopes else None


# What each consent scope opens of the member record beyond contact and demographics (HIPAA minimum
# necessary): a "referral" consent shares what the referral needs; only a "full-record" consent (or
# the plan itself) opens the rest.
FULL_RECORD_ONLY: tuple[str, ...] = ("race", "ethnicity", "risk_score", "pcp_name", "pcp_npi", "conditions",
                                     "enrollment_spans")


def opens(scope: str | None, field: str) -> bool:
    if scope == "full-record":
        return True
    return scope == "referral" and field not in FULL_RECORD_ONLY

