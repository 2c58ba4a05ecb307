"""Referral use cases: create, act (every lifecycle step), route, consent, batches, escalations.

Services flush, never commit (the request/CLI owns the unit of work). Every change:

* is validated by the pure state machine (referrals/rules.py);
* is a compare-and-set ``UPDATE referral ... WHERE id = :id AND version = :seen`` so two staff acting
  on the same referral cannot overwrite each other: the second gets Conflict (HTTP 409);
* appends a referral_event row (who, which organization, when, from/to status, step, channel, result);
* is mirrored from a hub's sub-referral onto the plan's referral, so the plan sees the closed loop;
* is audited with the member it concerns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from socialcare.contracts import attributing
from socialcare.core.clock import as_utc, utcnow
from socialcare.core.db import savepoint, serialize
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from socialcare.directory.models import Organization, Service
from socialcare.kit.codes import NEED_DOMAINS, NeedDomain, OrgKind
from socialcare.members.models import Member
from socialcare.notifications import service as notifications
from socialcare.referrals import repository as repo
from socialcare.referrals import rules
from socialcare.referrals.models import (
    Consent,
    Escalation,
    EscalationContact,
    Referral,
    ReferralBatch,
    ReferralEvent,
)
from socialcare.referrals.rules import Side, Status
from socialcare.security import access, audit
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role

NOT_VISIBLE = "Referral {id} is not in your organization's view: it does not exist, or it is not yours."
CONFLICT = (
    "Referral {id} was changed by someone else (now version {current}, you had version {seen}). "
    "Reload it to see the latest status, then try again."
)

_DOMAINS = {d.value for d in NeedDomain}


# ---- reading -------------------------------------------------------------------------------


def get_referral(session: Session, principal: Principal, referral_id: int, *, audit_read: bool = True) -> Referral:
    principal.require("referrals:read")
    ref = repo.get_visible(session, principal, referral_id)
    if ref is None:
        audit.record_denied(session, principal, "referral.read", object_type="referral", object_id=referral_id,
                            reason="not visible to the organization")
        raise NotFound(NOT_VISIBLE.format(id=referral_id))
    if audit_read:
        audit.record(session, principal, "referral.read", object_type="referral", object_id=ref.id,
                     member_id=ref.member_id)
    return ref


def sides_of(principal: Principal, ref: Referral) -> set[str]:
    sides: set[str] = set()
    if ref.requester_org_id == principal.org_id and principal.can("referrals:create" if principal.is_plan else "referrals:route"):
        sides.add(Side.REQUESTER)
    if ref.owner_org_id == principal.org_id and principal.can("referrals:work"):
        sides.add(Side.OWNER)
    return sides


def snapshot(ref: Referral) -> rules.Snapshot:
    milestones = frozenset(m for m in rules.MILESTONE_LABELS if getattr(ref, m) is not None)
    return rules.Snapshot(status=ref.status, business_status=ref.business_status,
                          outreach_attempts=ref.outreach_attempts or 0, milestones=milestones)


# A hub routes instead of doing the outreach itself (it may still hold, cancel, close): the CBO it
# routes to records these steps.
HUB_ROUTES_INSTEAD = frozenset({"outreach", "contacted", "enroll", "decline", "unable_to_contact", "start_service"})


def available_actions(principal: Principal, ref: Referral) -> list[rules.Action]:
    actions = rules.available_actions(snapshot(ref), sides_of(principal, ref))
    if principal.is_hub and ref.owner_org_id == principal.org_id:
        actions = [a for a in actions if a.key not in HUB_ROUTES_INSTEAD]
    return actions


# ---- events --------------------------------------------------------------------------------


def _event(session: Session, principal: Principal | None, ref_id: int, at: datetime, *, kind: str,
           action: str | None = None, from_status: str | None = None, to_status: str | None = None,
           business_step: str | None = None, channel: str | None = None, result: str | None = None,
           note: str | None = None, detail: dict | None = None, version: int | None = None) -> None:
    session.execute(insert(ReferralEvent).values(
        referral_id=ref_id, at=at, kind=kind, action=action, from_status=from_status, to_status=to_status,
        business_step=business_step, channel=channel, result=result, note=note, detail=detail,
        user_id=principal.user_id if principal else None, username=principal.username if principal else "system",
        org_id=principal.org_id if principal else None, version=version,
    ))
    notifications.on_referral_event(session, principal, ref_id, action=action, event_kind=kind, to_status=to_status,
                                    detail=detail, now=at)


def _cas(session: Session, ref: Referral, seen_version: int, values: dict) -> int:
    """Compare-and-set: update only if nobody changed the referral since ``seen_version``."""
    new_version = seen_version + 1
    res = session.execute(
        update(Referral)
        .where(Referral.id == ref.id, Referral.version == seen_version)
        .values(**values, version=new_version)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        current = session.scalar(select(Referral.version).where(Referral.id == ref.id))
        raise Conflict(CONFLICT.format(id=ref.id, current=current, seen=seen_version))
    # the row now holds exactly these values: set them on the object instead of reloading it
    for key, value in {**values, "version": new_version}.items():
        set_committed_value(ref, key, value)
    return new_version


# ---- create --------------------------------------------------------------------------------


@dataclass
class NewReferral:
    member_id: int
    need_domain: str
    owner_org_id: int | None = None
    service_id: int | None = None
    reason: str = ""
    urgency: str = "routine"
    discharge_at: datetime | None = None
    social_need_id: int | None = None
    submit: bool = True  # False keeps it as a draft
    consent_scope: str | None = None  # record the member's consent to share with the owner at once
    consent_method: str = "verbal"
    consent_expires_at: datetime | None = None
    contract_id: int | None = None  # the user's choice when several contracts could cover it

    def fingerprint(self) -> str:
        body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _validate_new(session: Session, principal: Principal, data: NewReferral) -> tuple[Member, Organization | None]:
    problems: list[Problem] = []
    if data.need_domain not in _DOMAINS:
        problems.append(Problem(f"unknown need domain '{data.need_domain}'", field="need_domain"))
    if data.urgency not in rules.PRIORITIES:
        problems.append(Problem(f"urgency is one of {', '.join(rules.PRIORITIES)}", field="urgency"))
    if data.consent_scope and data.consent_scope not in rules.CONSENT_SCOPES:
        problems.append(Problem(f"consent scope is one of {', '.join(rules.CONSENT_SCOPES)}", field="consent_scope"))
    if data.consent_scope and data.consent_method not in rules.CONSENT_METHODS:
        problems.append(Problem(f"consent method is one of {', '.join(rules.CONSENT_METHODS)}", field="consent_method"))
    if len(data.reason or "") > 4000:
        problems.append(Problem("the reason is at most 4,000 characters", field="reason"))
    member = session.get(Member, data.member_id)
    if member is None or member.plan_id != principal.org_id:
        problems.append(Problem(f"member {data.member_id} is not a member of your plan", field="member_id"))
    owner = None
    if data.owner_org_id is not None:
        owner = session.get(Organization, data.owner_org_id)
        if owner is None or owner.kind not in (OrgKind.HUB, OrgKind.CBO):
            problems.append(Problem("a referral goes to a community care hub or a CBO", field="owner_org_id"))
    if data.service_id is not None:
        svc = session.get(Service, data.service_id)
        if svc is None or (owner is not None and svc.organization_id != owner.id):
            problems.append(Problem("the service is not one the receiving organization offers", field="service_id"))
        elif svc.need_domain != data.need_domain:
            problems.append(Problem(f"the service is for {svc.need_domain}, not {data.need_domain}", field="service_id"))
    if data.submit and owner is None:
        problems.append(Problem("choose the hub or CBO the referral goes to", field="owner_org_id"))
    if data.consent_scope and owner is None:
        problems.append(Problem("consent is recorded for the receiving organization; choose it", field="owner_org_id"))
    if problems:
        raise InvalidInput("The referral was not created.", problems)
    assert member is not None
    return member, owner


def create_referral(session: Session, principal: Principal, data: NewReferral, *,
                    idempotency_key: str | None = None, now: datetime | None = None) -> tuple[Referral, bool]:
    """A plan's referral of one member, for one need, to a hub or CBO. Returns (referral, created).

    With an idempotency key, sending the same request again returns the first referral (created=False);
    the same key with a different request is a Conflict. Safe under concurrency: the unique index
    (requester, key) decides, the loser reads the winner's row."""
    principal.require("referrals:create")
    if not principal.is_plan:
        raise Forbidden("Referrals are created by the member's plan; a hub routes them with sub-referrals.")
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 100):
        raise InvalidInput("Bad Idempotency-Key", [Problem("1 to 100 characters", field="Idempotency-Key")])
    fingerprint = data.fingerprint()
    if idempotency_key:
        existing = repo.by_idempotency_key(session, principal.org_id, idempotency_key)
        if existing is not None:
            return _replay(existing, fingerprint), False
    member, owner = _validate_new(session, principal, data)
    now = now or utcnow()
    status = Status.REQUESTED if data.submit else Status.DRAFT
    from socialcare.partnership import clocks

    dues = {}
    if data.submit:  # the contract's timing expectations drive the clocks (partnership/clocks.py)
        dues = clocks.due_times_for(session, plan_id=member.plan_id, owner_org_id=owner.id if owner else None,
                                    requested_at=now, urgency=data.urgency, discharge_at=data.discharge_at)
    values = dict(
        plan_id=member.plan_id, requester_org_id=principal.org_id, owner_org_id=owner.id if owner else None,
        member_id=member.id, need_domain=data.need_domain, service_id=data.service_id,
        social_need_id=data.social_need_id, reason=data.reason or "", urgency=data.urgency,
        discharge_at=data.discharge_at, status=status, version=1, idempotency_key=idempotency_key,
        request_hash=fingerprint if idempotency_key else None, source="staff",
        created_by_user_id=principal.user_id, created_by=principal.username, created_at=now, updated_at=now,
        requested_at=now if data.submit else None,
        business_status="awaiting-routing" if owner is not None and owner.kind == OrgKind.HUB and data.submit else None,
        outreach_attempts=0, **dues,
    )
    try:
        with savepoint(session):
            ref_id = session.execute(insert(Referral).values(**values).returning(Referral.id)).scalar_one()
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = repo.by_idempotency_key(session, principal.org_id, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, fingerprint), False
    _event(session, principal, ref_id, now, kind="status", action="create", to_status=status,
           note=data.reason or None, version=1,
           detail={"owner_org_id": values["owner_org_id"], "urgency": data.urgency, "need_domain": data.need_domain})
    if data.consent_scope and owner is not None:
        _insert_consent(session, principal, member, owner.id, data.consent_scope, data.consent_method, now,
                        data.consent_expires_at, ref_id)
    audit.record(session, principal, "referral.create", object_type="referral", object_id=ref_id,
                 member_id=member.id, detail={"owner_org_id": values["owner_org_id"], "need_domain": data.need_domain})
    ref = session.get(Referral, ref_id)
    assert ref is not None
    attributing.attribute_one(session, "referral", ref, contract_id=data.contract_id, source=principal.username)
    if data.contract_id is not None and "does not cover" in (ref.contract_reason or ""):
        # a person's choice is checked, never forced: nothing is saved
        raise InvalidInput("The referral was not created.", [Problem(
            ref.contract_reason.split("(", 1)[-1].rstrip(")"), field="contract_id")])
    if data.submit and ref.contract_id is not None:  # the attributed contract's timing, when it has one
        for field, due in clocks.due_times_for(
                session, plan_id=member.plan_id, owner_org_id=ref.owner_org_id, requested_at=now,
                urgency=data.urgency, discharge_at=data.discharge_at, contract_id=ref.contract_id).items():
            setattr(ref, field, due)
        session.flush()
    return ref, True


def _replay(existing: Referral, fingerprint: str) -> Referral:
    if existing.request_hash and existing.request_hash != fingerprint:
        raise Conflict(
            f"This Idempotency-Key was already used for referral {existing.id} with a different request; "
            "use a new key for a new referral."
        )
    return existing


# ---- act: every lifecycle step -------------------------------------------------------------


def act(session: Session, principal: Principal, referral_id: int, action: str, *, version: int | None,
        reason: str | None = None, channel: str | None = None, result: str | None = None,
        note: str | None = None, now: datetime | None = None, at: datetime | None = None,
        need_ids: list[int] | None = None) -> Referral:
    """Take one action (rules.ACTIONS) on a referral the principal's organization is party to.

    ``version`` is the version the user saw (If-Match); None means "the current one" (CLI, jobs).
    ``at`` is when the step really happened, if earlier than now (a partner's status file reports
    last week's contact today): the event, the milestones and closed_at take it, so the clocks and
    timeliness measures count from then; ``updated_at`` stays the time of recording, so partners
    polling for changes (FHIR ``_lastUpdated``) still see this one. Default: now."""
    if action == "route":
        raise InvalidInput("Routing needs a CBO", [Problem("use the route action with a CBO", field="action")])
    principal.require("referrals:read")
    ref = get_referral(session, principal, referral_id, audit_read=False)
    sides = sides_of(principal, ref)
    if not sides:
        raise Forbidden("Your role may not change this referral.")
    if principal.is_hub and Side.OWNER in sides and action in HUB_ROUTES_INSTEAD:
        raise InvalidInput("The hub routes this referral",
                           [Problem("route it to a network CBO; the CBO records outreach and services",
                                    field="action")])
    seen = ref.version if version is None else version
    if seen != ref.version:
        raise Conflict(CONFLICT.format(id=ref.id, current=ref.version, seen=seen))
    if result is not None and result not in rules.OUTREACH_RESULTS:
        raise InvalidInput("Unknown outreach result",
                           [Problem(f"one of {', '.join(rules.OUTREACH_RESULTS)}", field="result")])
    try:
        outcome = rules.apply(action, snapshot(ref), sides, reason=reason or note, channel=channel)
    except rules.TransitionRefused as exc:
        raise Conflict(str(exc)) from None
    now = now or utcnow()
    at = at or now
    values: dict = {"updated_at": now}
    if outcome.changes_status:
        values["status"] = outcome.to_status
    if outcome.business_status != ref.business_status:
        values["business_status"] = outcome.business_status
    for m in outcome.sets:
        values[m] = at
    if action in ("outreach", "contacted"):
        values["outreach_attempts"] = (ref.outreach_attempts or 0) + 1
    if reason and outcome.changes_status:
        values["status_reason"] = reason
    from_status, member_id, parent_id = ref.status, ref.member_id, ref.parent_id
    new_version = _cas(session, ref, seen, values)
    _event(session, principal, ref.id, at, kind="status" if outcome.changes_status else ("note" if action == "note" else "step"),
           action=action, from_status=from_status, to_status=outcome.to_status if outcome.changes_status else None,
           business_step=rules.ACTIONS[action].business_status, channel=channel, result=result,
           note="; ".join(dict.fromkeys(t for t in (reason, note) if t)) or None,  # both kept when both given
           version=new_version)
    if parent_id is not None and action != "note":
        _mirror_to_parent(session, principal, parent_id, ref.id, action, outcome, values, now, at)
    if outcome.changes_status and outcome.to_status in (Status.CANCELLED, Status.ENTERED_IN_ERROR):
        _close_children(session, principal, ref.id, outcome.to_status, now)
    if action == "resolve":
        resolve_needs(session, principal, ref.id, need_ids, at=at)
    audit.record(session, principal, f"referral.{action}", object_type="referral", object_id=ref.id,
                 member_id=member_id, detail={"from": from_status, "to": outcome.to_status, "version": new_version})
    return ref


def _close_children(session: Session, principal: Principal, parent_id: int, status: str, now: datetime) -> None:
    """The requester cancelled (or voided) a referral a hub had routed on: the open sub-referral ends
    with it, so the CBO stops working it (and stops seeing the member once the sharing window ends)."""
    for child in session.scalars(select(Referral).where(Referral.parent_id == parent_id,
                                                        Referral.status.in_(list(rules.OPEN)))).all():
        from_status = child.status
        version = _cas(session, child, child.version, {
            "status": status, "updated_at": now, "closed_at": now,
            "status_reason": f"Referral #{parent_id} was {status.replace('-', ' ')} by its requester"})
        _event(session, principal, child.id, now, kind="status", action="cancel", from_status=from_status,
               to_status=status, note=f"Referral #{parent_id} was {status.replace('-', ' ')} by its requester",
               version=version)


_MIRRORED = ("accepted_at", "first_outreach_at", "contacted_at", "enrolled_at", "service_started_at")


def _mirror_to_parent(session: Session, principal: Principal, parent_id: int, child_id: int, action: str,
                      outcome: rules.Outcome, child_values: dict, now: datetime, at: datetime) -> None:
    """Carry a sub-referral's progress up to the plan's referral (the hub's task mirrors its CBO's).
    ``at``: when the child's step happened (see ``act``); ``now``: when it was recorded."""
    parent = session.get(Referral, parent_id)
    if parent is None or parent.status in rules.TERMINAL:
        return
    values: dict = {"updated_at": now}
    for m in _MIRRORED:
        if m in child_values and getattr(parent, m) is None and m != "accepted_at":
            values[m] = child_values[m]
    if child_values.get("outreach_attempts") is not None:
        values["outreach_attempts"] = (parent.outreach_attempts or 0) + 1
    to_status = parent.status
    business = parent.business_status
    if outcome.to_status in (Status.COMPLETED, Status.FAILED):
        to_status, business = outcome.to_status, outcome.business_status
        values["closed_at"] = at
        values["status_reason"] = child_values.get("status_reason")
    elif outcome.to_status in (Status.REJECTED, Status.CANCELLED, Status.ENTERED_IN_ERROR):
        business = "awaiting-routing"  # back to the hub's routing queue; the plan's referral stays open
    elif action == "accept":
        business = "routed"
    elif outcome.business_status:
        business = outcome.business_status
    if to_status != parent.status:
        if not rules.can_transition(parent.status, to_status):
            return  # e.g. the plan put it on hold meanwhile: leave the parent for staff to settle
        values["status"] = to_status
    if business != parent.business_status:
        values["business_status"] = business
    from_status = parent.status
    new_version = _cas(session, parent, parent.version, values)
    _event(session, principal, parent.id, at, kind="status" if to_status != from_status else "step",
           action=f"sub:{action}", from_status=from_status if to_status != from_status else None,
           to_status=to_status if to_status != from_status else None, business_step=business,
           note=f"From sub-referral #{child_id}", detail={"sub_referral_id": child_id}, version=new_version)


# ---- the member's needs follow the loop ------------------------------------------------------


def needs_of(session: Session, ref: Referral) -> list:
    """The member's needs this referral answers: the need it was made for (its own, or its parent's), else
    the member's active needs in the referral's domain."""
    from socialcare.screening.models import SocialNeed

    need_id = ref.social_need_id
    if need_id is None and ref.parent_id is not None:
        need_id = session.scalar(select(Referral.social_need_id).where(Referral.id == ref.parent_id))
    if need_id is not None:
        need = session.get(SocialNeed, need_id)
        return [need] if need is not None else []
    return list(session.scalars(select(SocialNeed).where(
        SocialNeed.member_id == ref.member_id, SocialNeed.domain == ref.need_domain,
        SocialNeed.status == "active").order_by(SocialNeed.identified_at, SocialNeed.id)))


def needs_to_ask(session: Session, principal: Principal, referral_id: int) -> list:
    """Active needs a resolved referral may have resolved when it rides on several: the page asks which."""
    ref = get_referral(session, principal, referral_id, audit_read=False)
    if ref.business_status != "need-resolved":
        return []
    needs = [n for n in needs_of(session, ref) if n.status == "active"]
    return needs if len(needs) > 1 else []


def resolve_needs(session: Session, principal: Principal, referral_id: int, need_ids: list[int] | None = None, *,
                  at: datetime | None = None) -> list[int]:
    """Resolving a referral resolves the member's need. One need: resolved at once. Several (no need named on
    the referral, several active in its domain): only those the user picked (``need_ids``); none picked, the
    page asks. Returns the ids resolved."""
    from socialcare.screening.models import SocialNeed

    ref = get_referral(session, principal, referral_id, audit_read=False)
    needs = [n for n in needs_of(session, ref) if n.status == "active"]
    if need_ids is not None:
        wanted = set(need_ids)
        unknown = wanted - {n.id for n in needs}
        if unknown:
            raise InvalidInput("Unknown need", [Problem(f"need {sorted(unknown)[0]} is not an active need this "
                                                        "referral answers", field="need_ids")])
        needs = [n for n in needs if n.id in wanted]
    elif len(needs) > 1:
        return []
    at = at or utcnow()
    done = []
    for n in needs:
        session.execute(update(SocialNeed).where(SocialNeed.id == n.id, SocialNeed.status == "active")
                        .values(status="resolved", resolved_at=at))
        done.append(n.id)
    if done:
        audit.record(session, principal, "need.resolve", object_type="referral", object_id=ref.id,
                     member_id=ref.member_id, detail={"needs": done})
    return done


# ---- the referral page: its contract, and the loop into delivery -----------------------------


def contract_and_loop(session: Session, principal: Principal, ref: Referral) -> dict:
    """What the referral page shows about the contract it counts under (and, for the plan, the contracts it may
    choose from), the needs to ask about, and whether the viewer records services for it."""
    from socialcare.contracts import attributing
    from socialcare.contracts import repository as contracts_repo

    holder = repo.holds(principal, ref)
    can_choose = principal.can("contracts:write") and repo.plans_own(principal, ref)
    return {
        "contract": contracts_repo.contract_by_id(session, ref.contract_id) if ref.contract_id else None,
        "contract_choices": list(attributing.candidates_for(session, "referral", ref).candidates) if can_choose else [],
        "can_choose_contract": can_choose,
        "needs_to_ask": needs_to_ask(session, principal, ref.id) if principal.is_plan or holder else [],
        "can_record_service": holder and principal.can("delivery:write") and not principal.is_plan
        and ref.status in (Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD),
    }


def contracts_to_name(session: Session, principal: Principal) -> list:
    """The plan's launched contracts a referral may be named under (the rule still checks the choice)."""
    from socialcare.contracts import repository as contracts_repo

    return contracts_repo.launched_contracts(session, principal) if principal.is_plan else []


# ---- routing (hub) ---------------------------------------------------------------------------


def route(session: Session, principal: Principal, referral_id: int, *, cbo_id: int, service_id: int | None,
          version: int | None, note: str | None = None, consent_scope: str | None = None,
          reroute_reason: str | None = None, today: date | None = None, now: datetime | None = None) -> Referral:
    """A hub routes its referral to a network CBO: a sub-referral (FHIR partOf) owned by the CBO.

    If an open sub-referral exists, routing again needs ``reroute_reason`` and cancels it first."""
    principal.require("referrals:route")
    ref = get_referral(session, principal, referral_id, audit_read=False)
    if ref.owner_org_id != principal.org_id or not principal.is_hub:
        raise Forbidden("Only the hub that owns this referral may route it.")
    seen = ref.version if version is None else version
    if seen != ref.version:
        raise Conflict(CONFLICT.format(id=ref.id, current=ref.version, seen=seen))
    now = now or utcnow()
    today = today or now.date()
    problems: list[Problem] = []
    cbo = session.get(Organization, cbo_id)
    if cbo is None or cbo.kind != OrgKind.CBO or not repo.network_member(session, principal.org_id, cbo_id, today):
        problems.append(Problem("the CBO is not in your network today", field="cbo_id"))
    svc = session.get(Service, service_id) if service_id else None
    if service_id and (svc is None or svc.organization_id != cbo_id):
        problems.append(Problem("the service is not one this CBO offers", field="service_id"))
    elif svc is not None and svc.need_domain != ref.need_domain:
        problems.append(Problem(f"the service is for {svc.need_domain}, not {ref.need_domain}", field="service_id"))
    if consent_scope and consent_scope not in rules.CONSENT_SCOPES:
        problems.append(Problem(f"consent scope is one of {', '.join(rules.CONSENT_SCOPES)}", field="consent_scope"))
    if problems:
        raise InvalidInput("The referral was not routed.", problems)
    current_child = repo.open_child(session, ref.id)
    if current_child is not None:
        if not (reroute_reason and reroute_reason.strip()):
            raise Conflict(
                f"Referral {ref.id} is already routed (sub-referral #{current_child.id}); give a reason to re-route it."
            )
        act(session, principal, current_child.id, "cancel", version=current_child.version,
            reason=f"Re-routed: {reroute_reason}", now=now)
        session.refresh(ref)
        seen = ref.version
    # a requested referral is accepted by routing it (two steps on the timeline)
    if ref.status == Status.REQUESTED:
        ref = act(session, principal, ref.id, "accept", version=seen, now=now)
        seen = ref.version
    try:
        outcome = rules.apply("route", snapshot(ref), sides_of(principal, ref))
    except rules.TransitionRefused as exc:
        raise Conflict(str(exc)) from None
    child_values = dict(
        plan_id=ref.plan_id, requester_org_id=principal.org_id, owner_org_id=cbo_id, parent_id=ref.id,
        member_id=ref.member_id, need_domain=ref.need_domain, service_id=service_id,
        social_need_id=ref.social_need_id, reason=ref.reason, urgency=ref.urgency,
        discharge_at=ref.discharge_at, status=Status.REQUESTED, version=1, source="routing",
        created_by_user_id=principal.user_id, created_by=principal.username, created_at=now, updated_at=now,
        requested_at=now, outreach_due_at=ref.outreach_due_at, contact_due_at=ref.contact_due_at,
        service_due_at=ref.service_due_at, outreach_attempts=0,
    )
    attributing.annotate(session, "referral", [child_values])  # the hub's contract, as its parent's
    child_id = session.execute(insert(Referral).values(**child_values).returning(Referral.id)).scalar_one()
    _event(session, principal, child_id, now, kind="status", action="create", to_status=Status.REQUESTED,
           note=note, version=1, detail={"parent_id": ref.id, "owner_org_id": cbo_id})
    values = {"updated_at": now, "status": outcome.to_status, "business_status": "routed"}
    if ref.routed_at is None:
        values["routed_at"] = now
    from_status = ref.status
    new_version = _cas(session, ref, seen, values)
    _event(session, principal, ref.id, now, kind="routed", action="route", from_status=from_status,
           to_status=outcome.to_status if outcome.to_status != from_status else None, business_step="routed",
           note=note, version=new_version,
           detail={"sub_referral_id": child_id, "cbo_id": cbo_id, "cbo_name": cbo.name if cbo else None,
                   "service_id": service_id, "rerouted": current_child is not None})
    if consent_scope:
        member = session.get(Member, ref.member_id)
        assert member is not None
        _insert_consent(session, principal, member, cbo_id, consent_scope, "verbal", now, None, child_id)
    audit.record(session, principal, "referral.route", object_type="referral", object_id=ref.id,
                 member_id=ref.member_id, detail={"cbo_id": cbo_id, "sub_referral_id": child_id})
    session.refresh(ref)
    return ref


# ---- consent -------------------------------------------------------------------------------


def _insert_consent(session: Session, principal: Principal, member: Member, org_id: int, scope: str,
                    method: str, now: datetime, expires_at: datetime | None, referral_id: int | None) -> int:
    cid = session.execute(insert(Consent).values(
        member_id=member.id, plan_id=member.plan_id, organization_id=org_id, scope=scope, method=method,
        granted_at=now, expires_at=expires_at, recorded_by_user_id=principal.user_id,
        recorded_by=principal.username, recorded_by_org_id=principal.org_id, referral_id=referral_id,
    ).returning(Consent.id)).scalar_one()
    for rid in _open_referral_ids(session, member.id, org_id):
        _event(session, principal, rid, now, kind="consent", action="consent.grant",
               note=f"Consent to share ({scope}) recorded", detail={"consent_id": cid, "organization_id": org_id})
    audit.record(session, principal, "consent.grant", object_type="consent", object_id=cid, member_id=member.id,
                 detail={"organization_id": org_id, "scope": scope})
    return cid


def _open_referral_ids(session: Session, member_id: int, org_id: int) -> list[int]:
    return list(session.scalars(select(Referral.id).where(
        Referral.member_id == member_id, Referral.owner_org_id == org_id, Referral.status.in_(list(rules.OPEN)))))


def _may_record_for(session: Session, principal: Principal, member: Member, org_id: int) -> bool:
    """Who records a member's consent to share with an organization: the member's plan; the
    organization itself on an open referral it holds (consent given at outreach); a hub for a CBO it
    routed the member to (an open sub-referral it requested). Nobody else."""
    if not access.may(session, principal, access.Purpose.RECORD_CONSENT, member.id):
        return False
    if principal.is_plan or org_id == principal.org_id:
        return True
    return principal.is_hub and session.scalar(select(func.count()).select_from(Referral).where(
        Referral.member_id == member.id, Referral.requester_org_id == principal.org_id,
        Referral.owner_org_id == org_id, Referral.status.in_(list(rules.OPEN)))) > 0


def grant_consent(session: Session, principal: Principal, *, member_id: int, organization_id: int, scope: str,
                  method: str = "verbal", expires_at: datetime | None = None, referral_id: int | None = None,
                  now: datetime | None = None) -> Consent:
    """Record the member's consent to share with an organization (who recorded it, when, scope, expiry)."""
    now = now or utcnow()
    problems: list[Problem] = []
    if scope not in rules.CONSENT_SCOPES:
        problems.append(Problem(f"scope is one of {', '.join(rules.CONSENT_SCOPES)}", field="scope"))
    if method not in rules.CONSENT_METHODS:
        problems.append(Problem(f"method is one of {', '.join(rules.CONSENT_METHODS)}", field="method"))
    if expires_at is not None and as_utc(expires_at) <= now:
        problems.append(Problem("the expiry date is in the past", field="expires_at"))
    org = session.get(Organization, organization_id)
    if org is None or org.kind not in (OrgKind.HUB, OrgKind.CBO):
        problems.append(Problem("consent is given for a hub or a CBO", field="organization_id"))
    if problems:
        raise InvalidInput("The consent was not recorded.", problems)
    member = session.get(Member, member_id)
    if member is not None and referral_id is not None and session.scalar(select(Referral.id).where(
            Referral.id == referral_id, Referral.member_id == member_id,
            or_(Referral.owner_org_id == organization_id, Referral.requester_org_id == organization_id))) is None:
        raise InvalidInput("The consent was not recorded.", [Problem(
            "the referral is not this member's referral to that organization", field="referral_id")])
    if member is None or not _may_record_for(session, principal, member, organization_id):
        audit.record_denied(session, principal, "consent.grant", object_type="member", object_id=member_id,
                            member_id=member_id, reason="no open referral or not the member's plan")
        raise Forbidden("You may record consent only for your plan's members, or for a member referred to you.")
    cid = _insert_consent(session, principal, member, organization_id, scope, method, now, expires_at, referral_id)
    consent = session.get(Consent, cid)
    assert consent is not None
    return consent


def revoke_consent(session: Session, principal: Principal, consent_id: int, *, reason: str,
                   now: datetime | None = None) -> Consent:
    """The member withdrew consent: from now on the organization no longer sees the member."""
    now = now or utcnow()
    consent = session.get(Consent, consent_id)
    allowed = consent is not None and (
        (principal.is_plan and is_plan_role(principal.role) and consent.plan_id == principal.org_id)
        or consent.organization_id == principal.org_id
    )
    if not allowed:
        audit.record_denied(session, principal, "consent.revoke", object_type="consent", object_id=consent_id,
                            reason="not the member's plan or the consent's organization")
        raise NotFound(f"Consent {consent_id} is not in your organization's view.")
    assert consent is not None
    if not (reason and reason.strip()):
        raise InvalidInput("The consent was not revoked.", [Problem("say why (e.g. the member asked)", field="reason")])
    if consent.revoked_at is not None:
        raise Conflict(f"Consent {consent_id} was already revoked on {consent.revoked_at:%Y-%m-%d}.")
    consent.revoked_at = now
    consent.revoked_by_user_id = principal.user_id
    consent.revoked_by = principal.username
    consent.revoke_reason = reason
    session.flush()
    for rid in _open_referral_ids(session, consent.member_id, consent.organization_id):
        _event(session, principal, rid, now, kind="consent", action="consent.revoke",
               note=f"Consent to share revoked: {reason}", detail={"consent_id": consent.id})
    audit.record(session, principal, "consent.revoke", object_type="consent", object_id=consent.id,
                 member_id=consent.member_id, detail={"organization_id": consent.organization_id})
    return consent


# ---- batch assignment ----------------------------------------------------------------------

BATCH_COLUMNS = ("plan_member_id", "member_id", "need_domain", "urgency", "reason")


@dataclass
class BatchResult:
    batch_id: int
    created: int
    referral_ids: list[int]


def parse_batch_csv(text: str, filename: str = "upload.csv") -> list[dict]:
    """Rows of a member list CSV: a plan_member_id or member_id column, optional need_domain, urgency, reason."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not ({"plan_member_id", "member_id"} & set(headers)):
        raise InvalidInput("The member list was not assigned.", [Problem(
            "the file needs a plan_member_id (or member_id) column", file=filename, row=1)])
    unknown = [h for h in headers if h and h not in BATCH_COLUMNS]
    if unknown:
        raise InvalidInput("The member list was not assigned.", [Problem(
            f"unknown column(s) {', '.join(unknown)}; expected {', '.join(BATCH_COLUMNS)}", file=filename, row=1)])
    rows = []
    for raw in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k})
    return rows


def assign_batch(session: Session, principal: Principal, *, partner_org_id: int, need_domain: str,
                 rows: list[dict] | None = None, member_ids: list[int] | None = None, service_id: int | None = None,
                 urgency: str = "routine", reason: str = "", contract_id: int | None = None,
                 contract_month: date | None = None, filename: str | None = None,
                 now: datetime | None = None) -> BatchResult:
    """Assign a batch of members to a partner at once: one referral per member, all or nothing.

    Every row is checked first (unknown member, another plan's member, duplicate in the file, an open
    referral for the same need already with this partner, bad need domain or urgency); any problem
    rejects the whole file with a report of every bad row. Then referrals and their events are inserted
    in bulk (no per-row ORM objects)."""
    principal.require("referrals:assign_batch")
    if not principal.is_plan:
        raise Forbidden("Only a plan assigns its members to a partner.")
    now = now or utcnow()
    file = filename or "member list"
    problems: list[Problem] = []
    partner = session.get(Organization, partner_org_id)
    if partner is None or partner.kind not in (OrgKind.HUB, OrgKind.CBO):
        problems.append(Problem("the partner must be a community care hub or a CBO", field="partner_org_id"))
    if need_domain not in _DOMAINS:
        problems.append(Problem(f"unknown need domain '{need_domain}'", field="need_domain"))
    if urgency not in rules.PRIORITIES:
        problems.append(Problem(f"urgency is one of {', '.join(rules.PRIORITIES)}", field="urgency"))
    if service_id is not None:
        svc = session.get(Service, service_id)
        if svc is None or svc.organization_id != partner_org_id:
            problems.append(Problem("the service is not one the partner offers", field="service_id"))
    if problems:
        raise InvalidInput("The member list was not assigned.", problems)

    if rows is None:
        rows = [{"member_id": str(m)} for m in (member_ids or [])]
    if not rows:
        raise InvalidInput("The member list was not assigned.", [Problem("the list has no members", file=file)])
    # Resolve all identifiers in two set queries.
    plan_ids = {r.get("plan_member_id") for r in rows if r.get("plan_member_id")}
    raw_ids = {r.get("member_id") for r in rows if r.get("member_id") and not r.get("plan_member_id")}
    int_ids = {int(x) for x in raw_ids if x.isdigit()}
    by_pmid: dict[str, int] = {}
    for chunk in _chunks(sorted(plan_ids), 5000):
        by_pmid.update(dict(session.execute(select(Member.plan_member_id, Member.id).where(
            Member.plan_id == principal.org_id, Member.plan_member_id.in_(chunk))).all()))
    plan_of: dict[int, int] = {}
    for chunk in _chunks(sorted(int_ids), 5000):
        # only the plan's own members: another plan's member id reads as unknown (nothing is revealed)
        plan_of.update(dict(session.execute(select(Member.id, Member.plan_id).where(
            Member.id.in_(chunk), Member.plan_id == principal.org_id)).all()))

    resolved: list[tuple[int, int, str, str, str]] = []  # (row, member id, domain, urgency, reason)
    seen: dict[tuple[int, str], int] = {}
    for i, r in enumerate(rows, start=2):  # row 1 is the header
        mid: int | None = None
        if r.get("plan_member_id"):
            mid = by_pmid.get(r["plan_member_id"])
            if mid is None:
                problems.append(Problem(f"unknown plan member id '{r['plan_member_id']}'", field="plan_member_id",
                                        row=i, file=file))
        elif r.get("member_id"):
            raw = r["member_id"]
            if not raw.isdigit() or int(raw) not in plan_of:
                problems.append(Problem(f"unknown member id '{raw}'", field="member_id", row=i, file=file))
            elif plan_of[int(raw)] != principal.org_id:
                problems.append(Problem(f"member {raw} is not a member of your plan", field="member_id", row=i,
                                        file=file))
            else:
                mid = int(raw)
        else:
            problems.append(Problem("no member identifier", field="plan_member_id", row=i, file=file))
        domain = r.get("need_domain") or need_domain
        if domain not in _DOMAINS:
            problems.append(Problem(f"unknown need domain '{domain}'", field="need_domain", row=i, file=file))
        urg = r.get("urgency") or urgency
        if urg not in rules.PRIORITIES:
            problems.append(Problem(f"urgency is one of {', '.join(rules.PRIORITIES)}", field="urgency", row=i,
                                    file=file))
        if mid is not None:
            key = (mid, domain)
            if key in seen:
                problems.append(Problem(f"duplicate of row {seen[key]}", field="plan_member_id", row=i, file=file))
            else:
                seen[key] = i
                resolved.append((i, mid, domain, urg, r.get("reason") or reason))
    # members who already have an open referral for the same need with this partner; the same list
    # sent twice at once waits here for the first, then finds its referrals open (all or nothing)
    serialize(session, f"referral-batch:{principal.org_id}:{partner_org_id}")
    open_pairs: set[tuple[int, str]] = set()
    ids = sorted({m for _r, m, _d, _u, _x in resolved})
    for chunk in _chunks(ids, 5000):
        open_pairs |= set(session.execute(select(Referral.member_id, Referral.need_domain).where(
            Referral.member_id.in_(chunk), Referral.owner_org_id == partner_org_id,
            Referral.status.in_(list(rules.OPEN)))).all())
    for row_no, mid, domain, _u, _x in resolved:
        if (mid, domain) in open_pairs:
            problems.append(Problem(f"member already has an open {domain} referral with this partner",
                                    field="plan_member_id", row=row_no, file=file))
    if problems:
        problems.sort(key=lambda p: (p.row or 0))
        raise InvalidInput(f"The member list was not assigned: {len(problems)} problem(s); nothing was saved.",
                           problems)

    assert partner is not None
    batch_id = session.execute(insert(ReferralBatch).values(
        requester_org_id=principal.org_id, partner_org_id=partner_org_id, contract_id=contract_id,
        need_domain=need_domain, service_id=service_id, contract_month=contract_month, filename=filename,
        row_count=len(resolved), created_by_user_id=principal.user_id, created_by=principal.username, created_at=now,
    ).returning(ReferralBatch.id)).scalar_one()
    is_hub = partner.kind == OrgKind.HUB
    from socialcare.partnership import clocks

    batch_contract = clocks.contract_for(session, principal.org_id, partner_org_id, contract_id)
    timing = clocks.expectations(session, batch_contract) if batch_contract is not None else []
    referral_rows = []
    for _row, mid, domain, urg, why in resolved:
        referral_rows.append(dict(
            plan_id=principal.org_id, requester_org_id=principal.org_id, owner_org_id=partner_org_id,
            member_id=mid, need_domain=domain, service_id=service_id, batch_id=batch_id, contract_id=contract_id,
            reason=why, urgency=urg, status=Status.REQUESTED, business_status="awaiting-routing" if is_hub else None,
            version=1, source="batch", created_by_user_id=principal.user_id, created_by=principal.username,
            created_at=now, updated_at=now, requested_at=now, outreach_attempts=0,
            **clocks.due_times(now, urg, None, timing),
        ))
    attributing.annotate(session, "referral", referral_rows, source="the contract's member list" if contract_id
                         else f"member list {filename or batch_id}")
    new_ids: list[int] = []
    for chunk in _chunks(referral_rows, 2000):
        new_ids.extend(session.scalars(insert(Referral).returning(Referral.id), chunk).all())
    event_rows = [dict(referral_id=rid, at=now, kind="status", action="create", to_status=Status.REQUESTED,
                       note=f"Assigned in batch #{batch_id}", user_id=principal.user_id, username=principal.username,
                       org_id=principal.org_id, version=1, detail={"batch_id": batch_id}) for rid in new_ids]
    for chunk in _chunks(event_rows, 5000):
        session.execute(insert(ReferralEvent), chunk)
    audit.record_member_reads(session, principal, [m for _r, m, _d, _u, _x in resolved], action="referral.batch_assign")
    audit.record(session, principal, "referral.batch", object_type="referral_batch", object_id=batch_id,
                 detail={"partner_org_id": partner_org_id, "count": len(new_ids)})
    return BatchResult(batch_id=batch_id, created=len(new_ids), referral_ids=new_ids)


def selection_need(session: Session, contract) -> tuple[str, int | None]:
    """The need and service a contract's member list is referred for: the scope of work's first service's
    need, and the counterparty's active service for it (None: the hub routes)."""
    from socialcare.contracts.models import ContractVersion

    covered = session.scalar(select(ContractVersion.services_covered).where(
        ContractVersion.contract_id == contract.id, ContractVersion.version == contract.current_version)) or []
    domain = next((s.get("need_domain") for s in covered if s.get("need_domain")), None)
    q = select(Service).where(Service.organization_id == contract.counterparty_id, Service.status == "active")
    if domain:
        q = q.where(Service.need_domain == domain)
    svc = session.scalar(q.order_by(Service.id).limit(1))
    domain = domain or (svc.need_domain if svc is not None else NeedDomain.CARE_MANAGEMENT.value)
    return domain, svc.id if svc is not None else None


def open_referrals_for_need(session: Session, plan_id: int, member_ids: list[int], need_domain: str) -> dict[int, int]:
    """member id -> an open referral of theirs for this need (with any partner): assigning again would
    send the member twice."""
    out: dict[int, int] = {}
    for chunk in _chunks(sorted(set(member_ids)), 5000):
        for mid, rid in session.execute(select(Referral.member_id, func.min(Referral.id)).where(
                Referral.plan_id == plan_id, Referral.member_id.in_(chunk), Referral.need_domain == need_domain,
                Referral.parent_id.is_(None), Referral.status.in_(list(rules.OPEN)))
                .group_by(Referral.member_id)):
            out[mid] = rid
    return out


def assign_batch_from_selection(session: Session, principal: Principal, *, contract, member_ids: list[int]) -> str:
    """The contracts domain hands a contract's prioritized member list to the partner (contracts.service).
    Members who already have an open referral for the same need are skipped (the caller names them)."""
    domain, service_id = selection_need(session, contract)
    skip = open_referrals_for_need(session, contract.plan_id, member_ids, domain)
    todo = [m for m in member_ids if m not in skip]
    if not todo:
        return f"no referral created: all {len(member_ids):,} members already have an open {domain} referral"
    today = utcnow().date()
    result = assign_batch(session, principal, partner_org_id=contract.counterparty_id, need_domain=domain,
                          member_ids=todo, service_id=service_id,
                          contract_id=contract.id, contract_month=today.replace(day=1),
                          filename=f"contract {contract.id} member list",
                          reason=f"Assigned under contract '{contract.name}'")
    note = f"{result.created:,} referrals created in batch #{result.batch_id}"
    if skip:
        note += f"; {len(skip):,} members skipped (already an open {domain.replace('_', ' ')} referral)"
    return note


def _chunks(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


# ---- escalations ---------------------------------------------------------------------------


def designated_contact(session: Session, plan_id: int, partner_org_id: int) -> int | None:
    rows = dict(session.execute(select(EscalationContact.partner_org_id, EscalationContact.user_id).where(
        EscalationContact.plan_id == plan_id,
        (EscalationContact.partner_org_id == partner_org_id) | EscalationContact.partner_org_id.is_(None))).all())
    return rows.get(partner_org_id) or rows.get(None)


def set_designated_contact(session: Session, principal: Principal, *, user_id: int,
                           partner_org_id: int | None = None) -> None:
    principal.require("escalations:resolve")
    from socialcare.security.models import User

    user = session.get(User, user_id)
    if user is None or user.organization_id != principal.org_id:
        raise InvalidInput("Not saved", [Problem("the contact must be a user of your plan", field="user_id")])
    row = session.scalar(select(EscalationContact).where(EscalationContact.plan_id == principal.org_id,
                                                          EscalationContact.partner_org_id.is_(partner_org_id)
                                                          if partner_org_id is None else
                                                          EscalationContact.partner_org_id == partner_org_id))
    if row is None:
        session.add(EscalationContact(plan_id=principal.org_id, partner_org_id=partner_org_id, user_id=user_id))
    else:
        row.user_id = user_id
    session.flush()


def _works_with(session: Session, org_id: int, plan_id: int) -> bool:
    return session.scalar(select(Referral.id).where(
        Referral.plan_id == plan_id, or_(Referral.owner_org_id == org_id, Referral.requester_org_id == org_id)
    ).limit(1)) is not None


def raise_escalation(session: Session, principal: Principal, *, referral_id: int | None, category: str,
                     subject: str, description: str = "", severity: str = "medium", plan_id: int | None = None,
                     barrier: str | None = None, now: datetime | None = None) -> Escalation:
    """CBO or hub staff raise an issue: it goes to the contract's level-1 escalation contact (or backup),
    else to the plan's designated contact (owner); it records the barrier it reports."""
    from socialcare.partnership import escalations as pathways
    from socialcare.partnership.rules import BARRIERS

    principal.require("escalations:raise")
    now = now or utcnow()
    problems: list[Problem] = []
    if category not in rules.ESCALATION_CATEGORIES:
        problems.append(Problem(f"category is one of {', '.join(rules.ESCALATION_CATEGORIES)}", field="category"))
    if severity not in ("low", "medium", "high"):
        problems.append(Problem("severity is low, medium or high", field="severity"))
    if barrier is not None and barrier not in BARRIERS:
        problems.append(Problem(f"barrier is one of {', '.join(BARRIERS)}", field="barrier"))
    if not (subject or "").strip():
        problems.append(Problem("give a subject", field="subject"))
    elif len(subject) > 200:
        problems.append(Problem("the subject is at most 200 characters", field="subject"))
    member_id = None
    ref = None
    if referral_id is not None:
        ref = get_referral(session, principal, referral_id, audit_read=False)
        plan_id, member_id = ref.plan_id, ref.member_id
    elif plan_id is None:
        problems.append(Problem("name the referral (or the plan) this is about", field="referral_id"))
    elif not _works_with(session, principal.org_id, plan_id):
        # a plan the organization has never worked with: its queue is none of the organization's business
        problems.append(Problem("your organization has no referral from this plan", field="plan_id"))
    if problems:
        raise InvalidInput("The escalation was not raised.", problems)
    assert plan_id is not None
    owner = designated_contact(session, plan_id, principal.org_id)
    esc = Escalation(plan_id=plan_id, referral_id=referral_id, raised_by_org_id=principal.org_id,
                     raised_by_user_id=principal.user_id, raised_by=principal.username, owner_user_id=owner,
                     category=category, severity=severity, subject=subject.strip(), description=description or "",
                     status="open", version=1, created_at=now, updated_at=now, level=1, barrier=barrier or "other")
    session.add(esc)
    session.flush()
    pathways.route_new(session, esc, ref, now)
    if referral_id is not None:
        to = f"level {esc.level}: {esc.contact_name}" if esc.contact_name else "the plan"
        _event(session, principal, referral_id, now, kind="escalation", action="escalation.raise",
               note=f"Escalated to {to}: {subject}",
               detail={"escalation_id": esc.id, "category": category, "barrier": esc.barrier, "level": esc.level})
    audit.record(session, principal, "escalation.raise", object_type="escalation", object_id=esc.id,
                 member_id=member_id)
    return esc


def update_escalation(session: Session, principal: Principal, escalation_id: int, *, version: int | None,
                      status: str | None = None, resolution: str | None = None, owner_user_id: int | None = None,
                      now: datetime | None = None) -> Escalation:
    """The plan's contact works the escalation: take it (in-progress), reassign, resolve with a resolution."""
    principal.require("escalations:resolve")
    now = now or utcnow()
    esc = session.scalar(select(Escalation).where(Escalation.id == escalation_id,
                                                  repo.escalation_visibility(principal)))
    if esc is None:
        raise NotFound(f"Escalation {escalation_id} is not in your organization's view.")
    seen = esc.version if version is None else version
    values: dict = {"updated_at": now}
    problems: list[Problem] = []
    if status is not None and status != esc.status:
        if status not in rules.ESCALATION_TRANSITIONS.get(esc.status, set()):
            problems.append(Problem(f"an escalation cannot go from {esc.status} to {status}", field="status"))
        values["status"] = status
        if status == "resolved":
            if not (resolution and resolution.strip()):
                problems.append(Problem("say how it was resolved", field="resolution"))
            values.update(resolution=resolution, resolved_at=now, resolved_by=principal.username)
        elif esc.status == "resolved":
            values.update(resolved_at=None)
    if owner_user_id is not None:
        from socialcare.security.models import User

        user = session.get(User, owner_user_id)
        if user is None or user.organization_id != principal.org_id:
            problems.append(Problem("the owner must be a user of your plan", field="owner_user_id"))
        values["owner_user_id"] = owner_user_id
    if problems:
        raise InvalidInput("The escalation was not updated.", problems)
    res = session.execute(update(Escalation).where(Escalation.id == esc.id, Escalation.version == seen)
                          .values(**values, version=seen + 1).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict(f"Escalation {esc.id} was changed by someone else; reload it and try again.")
    session.expire(esc)
    if esc.referral_id is not None and status is not None:
        _event(session, principal, esc.referral_id, now, kind="escalation", action=f"escalation.{status}",
               note=resolution if status == "resolved" else f"Escalation {status}", detail={"escalation_id": esc.id})
    audit.record(session, principal, "escalation.update", object_type="escalation", object_id=esc.id,
                 detail={"status": status})
    session.refresh(esc)
    return esc


def need_label(domain: str) -> str:
    try:
        return NEED_DOMAINS[NeedDomain(domain)].label
    except ValueError:
        return domain


# ---- lists for pages and the API -----------------------------------------------------------


@dataclass
class ReferralRow:
    referral: Referral
    member: Member
    owner_name: str | None
    access: str  # full | minimum | hidden
    outreach_overdue: bool
    contact_overdue: bool
    service_overdue: bool

    @property
    def overdue(self) -> bool:
        return self.outreach_overdue or self.contact_overdue or self.service_overdue

    @property
    def member_fields(self) -> dict:
        return rules.member_view({c: getattr(self.member, c, None) for c in rules.CONSENTED_FIELDS}, self.access)

    @property
    def loop_status(self) -> str:
        return rules.loop_status(self.referral.status, self.referral.business_status)


def list_referrals(session: Session, principal: Principal, f: repo.ReferralFilters, page: int = 1,
                   page_size: int = 50, now: datetime | None = None):
    """A page of the principal's referrals (worklist or board), overdue first. Members shown are audited."""
    from socialcare.kit.pagination import paginate

    principal.require("referrals:read")
    now = now or utcnow()
    result = paginate(session, repo.list_select(principal, f, now), page, page_size, scalars=False)
    access = repo.member_access_many(session, principal, [r[1].id for r in result.items], now)
    rows = [ReferralRow(referral=r[0], member=r[1], owner_name=r.owner_name, access=access[r[1].id],
                        outreach_overdue=bool(r.outreach_overdue), contact_overdue=bool(r.contact_overdue),
                        service_overdue=bool(r.service_overdue)) for r in result.items]
    shown = [r.member.id for r in rows if r.access != "hidden"]
    audit.record_member_reads(session, principal, shown, action="referral.list")
    result.items = rows
    return result


def row_for(session: Session, principal: Principal, ref: Referral, now: datetime | None = None) -> ReferralRow:
    now = now or utcnow()
    member = session.get(Member, ref.member_id)
    assert member is not None
    owner = session.get(Organization, ref.owner_org_id) if ref.owner_org_id else None

    def due(at, done):
        return ref.status in rules.OPEN and done is None and at is not None and as_utc(at) < now

    return ReferralRow(
        referral=ref, member=member, owner_name=owner.name if owner else None,
        access=repo.member_access(session, principal, ref.member_id, now),
        outreach_overdue=due(ref.outreach_due_at, ref.first_outreach_at),
        contact_overdue=due(ref.contact_due_at, ref.contacted_at),
        service_overdue=due(ref.service_due_at, ref.service_started_at)
        and ref.business_status not in ("declined", "unable-to-contact"),
    )


def member_history(session: Session, principal: Principal, member_id: int) -> list[tuple[Referral, str | None]]:
    """A member's referrals for plan staff (top-level; sub-referrals roll up), newest first. Audited."""
    principal.require("referrals:read")
    rows = list(session.execute(repo.member_history_select(principal, member_id)).all())
    audit.record(session, principal, "referral.history", object_type="member", object_id=member_id,
                 member_id=member_id)
    return [(r[0], r[1]) for r in rows]


def clock_hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((as_utc(end) - as_utc(start)).total_seconds() / 3600, 1)  # type: ignore[operator]


def consents_visible(session: Session, principal: Principal, member_id: int) -> list[Consent]:
    """A member's consents for the member's plan, or those naming the caller's organization (audited)."""
    rows = [c for c, _name in repo.consents_for_member(session, member_id)
            if (principal.is_plan and is_plan_role(principal.role) and c.plan_id == principal.org_id)
            or c.organization_id == principal.org_id]
    if rows:
        audit.record(session, principal, "consent.list", object_type="member", object_id=member_id,
                     member_id=member_id)
    else:
        exists = 0 < member_id < 2**31 and session.get(Member, member_id) is not None
        audit.record_denied(session, principal, "consent.list", object_type="member", object_id=member_id,
                            member_id=member_id if exists else None, reason="no consent the organization may see")
    return rows


def audit_shown(session: Session, principal: Principal, shown: list[tuple[int, str]], action: str) -> None:
    """One audit row per member shown (hidden members are not shown, so not read)."""
    audit.record_member_reads(session, principal, sorted({m for m, level in shown if level != "hidden"}),
                              action=action)
