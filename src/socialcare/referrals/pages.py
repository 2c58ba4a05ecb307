"""Referral pages: the plan's referral board, the hub's routing console, the CBO worklist (HTMX row
updates in place), a referral's page with its timeline, member-list assignment, consent, escalations,
and the member profile panel (referral history, consents) for plan staff."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, date, datetime

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.core.db import savepoint
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, Problem
from socialcare.directory.models import Organization, Service
from socialcare.kit.codes import NEED_DOMAINS, OrgKind
from socialcare.members.models import Member
from socialcare.partnership.rules import BARRIERS
from socialcare.referrals import repository as repo
from socialcare.referrals import rules, service
from socialcare.referrals.models import Escalation, Referral
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role
from socialcare.web.deps import DbSession, audit_denied, csrf_protect, require_page
from socialcare.web.limits import upload_limit
from socialcare.web.nav import NavItem
from socialcare.web.templating import env, redirect, render

router = APIRouter(tags=["referrals"])

NAV = [
    NavItem(label="Referrals", href="/referrals", permission="referrals:read", order=30),
    NavItem(label="Routing", href="/hub/routing", permission="referrals:route", order=31),
    NavItem(label="Assign members", href="/referrals/batches/new", permission="referrals:assign_batch", order=32),
    NavItem(label="Escalations", href="/escalations", permission="referrals:read", order=33),
]

env.globals["STATUS_LABELS"] = {str(k): v for k, v in rules.STATUS_LABELS.items()}
env.globals["BUSINESS_STATUSES"] = rules.BUSINESS_STATUSES
env.globals["CHANNELS"] = rules.CHANNELS
env.globals["OUTREACH_RESULTS"] = rules.OUTREACH_RESULTS
env.globals["ESCALATION_CATEGORIES"] = rules.ESCALATION_CATEGORIES
env.globals["BARRIERS"] = BARRIERS
env.globals["CONSENT_SCOPES"] = rules.CONSENT_SCOPES
env.globals["ACTION_LABELS"] = {k: a.label for k, a in rules.ACTIONS.items()}
env.filters["loop_status"] = lambda r: rules.loop_status(r.status, r.business_status)
env.filters["hours"] = lambda v: "" if v is None else (f"{v:.0f} h" if v < 72 else f"{v / 24:.1f} days")

QUICK_ACTIONS = ("accept", "outreach", "contacted", "enroll", "start_service")
ACTION_HINTS = {
    "reject": "Say why (no capacity, not eligible, outside the service area).",
    "outreach": "An attempt that did not reach the member.",
    "contacted": "You spoke with the member.",
    "enroll": "The member accepted support.",
    "decline": "The member declined support.",
    "unable_to_contact": f"After at least {rules.UNABLE_TO_CONTACT_MIN_ATTEMPTS} attempts.",
    "start_service": "The first service was delivered.",
    "resolve": "The need is resolved: closes the loop.",
    "close_unresolved": "Service delivered but the need remains: say why.",
}


SORTS = {"due": "Due first", "newest": "Newest", "oldest": "Oldest", "member": "Member name"}


def _filters(status, need_domain, urgency, overdue, q, top_level, plan_id=None, sort=None) -> repo.ReferralFilters:
    problems = []
    if sort and sort not in SORTS:
        problems.append(Problem(f"unknown sort '{sort}'", field="sort"))
    if status and status not in ("open", "closed") and status not in rules.TRANSITIONS:
        problems.append(Problem(f"unknown status '{status}'", field="status"))
    if need_domain and need_domain not in {str(d) for d in NEED_DOMAINS}:
        problems.append(Problem(f"unknown need domain '{need_domain}'", field="need_domain"))
    if urgency and urgency not in rules.PRIORITIES:
        problems.append(Problem(f"unknown urgency '{urgency}'", field="urgency"))
    if problems:
        raise InvalidInput("The list was not filtered.", problems)
    return repo.ReferralFilters(status=status or None, need_domain=need_domain or None, urgency=urgency or None,
                                overdue_only=bool(overdue), q=(q or "").strip() or None, top_level_only=top_level,
                                plan_id=plan_id or None, sort=sort or None)


@router.get("/referrals")
def referral_list(request: Request, db: DbSession,
                  principal: Principal = Depends(require_page("referrals:read")),
                  status: str | None = "open", need_domain: str | None = None, urgency: str | None = None,
                  overdue: str | None = None, q: str | None = None, page: int = 1,
                  plan_id: int | None = None, sort: str | None = None, mine: str | None = None):
    """Plan: the referral board (its referrals with their loop status). Hub/CBO: the worklist, one
    across every plan it works for (each row labelled with its plan)."""
    board = principal.is_plan
    f = _filters(status, need_domain, urgency, overdue, q, top_level=board, plan_id=plan_id, sort=sort)
    if mine and not board:
        f = dataclasses.replace(f, assigned_user_id=principal.user_id)
    now = utcnow()
    result = service.list_referrals(db, principal, f, page, 50, now)
    counts = repo.counts_by_status(db, principal, top_level_only=board)
    plan_names = {} if board else repo.plan_names(db, principal)
    from socialcare.notifications.service import unread_referral_ids
    return render(request, "referrals/list.html", {
        "result": result, "board": board, "counts": counts,
        "overdue_total": repo.overdue_count(db, principal, now, top_level_only=board),
        "filters": {"status": status or "", "need_domain": need_domain or "", "urgency": urgency or "",
                    "overdue": overdue or "", "q": q or "", "plan_id": plan_id or "", "sort": sort or "due",
                    "mine": mine or ""},
        "assignees": _assignees(db, [r.referral.id for r in result.items]),
        "plan_names": plan_names, "plan_options": [(str(k), v) for k, v in plan_names.items()],
        "sort_options": list(SORTS.items()),
        "unread_ids": unread_referral_ids(db, principal.user_id, [r.referral.id for r in result.items]),
        "status_options": [("open", "Open"), ("closed", "Closed")] + [(str(k), v) for k, v in rules.STATUS_LABELS.items()],
        "domain_options": [(str(k), v.label) for k, v in NEED_DOMAINS.items()],
        "urgency_options": [(u, u) for u in rules.PRIORITIES],
        "quick": _quick_actions,
    }, block="results")


def _assignees(db: Session, ids: list[int]) -> dict:
    from socialcare.caseload import service as caseload

    return caseload.current(db, ids)


def _quick_actions(principal: Principal, ref: Referral) -> list[rules.Action]:
    return [a for a in service.available_actions(principal, ref) if a.key in QUICK_ACTIONS]


def _render_row(request: Request, db: Session, principal: Principal, ref: Referral, message: str | None = None,
                kind: str = "success"):
    row = service.row_for(db, principal, ref)
    return render(request, "referrals/_row.html", {
        "row": row, "board": principal.is_plan, "quick": _quick_actions, "row_message": message, "row_kind": kind,
        "unread_ids": set(), "plan_names": {}, "assignees": _assignees(db, [ref.id]),
    })


@router.post("/referrals/{referral_id}/act", dependencies=[Depends(csrf_protect)])
def act(request: Request, referral_id: int, db: DbSession,
        principal: Principal = Depends(require_page("referrals:read")),
        action: str = Form(...), version: int = Form(...), reason: str | None = Form(None),
        channel: str | None = Form(None), result: str | None = Form(None), row: str | None = Form(None)):
    """One lifecycle step. From the worklist (row=1, HTMX) the row is replaced in place; a conflict shows
    the fresh row with the message instead of overwriting someone's work."""
    from socialcare.web import localization

    localization.set_for_render(principal.language, principal.time_zone)  # messages below in the user's language
    if row and request.headers.get("HX-Request") == "true":
        try:
            with savepoint(db):
                ref = service.act(db, principal, referral_id, action, version=version, reason=reason or None,
                                  channel=channel or None, result=result or None)
        except (Conflict, InvalidInput) as exc:
            ref = service.get_referral(db, principal, referral_id, audit_read=False)
            return _render_row(request, db, principal, ref, exc.message, "error")
        label = rules.ACTIONS[action].label if action in rules.ACTIONS else action
        return _render_row(request, db, principal, ref, localization.gettext("%(label)s: saved.")
                           % {"label": localization.gettext(label)})
    try:
        with savepoint(db):
            service.act(db, principal, referral_id, action, version=version, reason=reason or None,
                        channel=channel or None, result=result or None)
    except (Conflict, InvalidInput) as exc:
        # keep what was typed, say what went wrong beside the form used, and show the other change
        ref = service.get_referral(db, principal, referral_id, audit_read=False)
        ctx = _detail_context(db, principal, ref)
        ctx["typed"] = {"action": action, "reason": reason or "", "channel": channel, "result": result}
        ctx["action_error"] = {"action": action, "message": exc.message,
                               "problems": [p.message for p in getattr(exc, "problems", [])]}
        if isinstance(exc, Conflict) and version < ref.version:
            ctx["conflict"] = [e for e, _org in ctx["timeline"]
                               if e.referral_id == ref.id and (e.version or 0) > version]
        return render(request, "referrals/detail.html", ctx, status_code=409 if isinstance(exc, Conflict) else 422)
    label = rules.ACTIONS[action].label if action in rules.ACTIONS else action
    return redirect(f"/referrals/{referral_id}", flash=localization.gettext("%(label)s: saved.")
                    % {"label": localization.gettext(label)}, kind="success", request=request)


@router.get("/referrals/new")
def new_referral(request: Request, db: DbSession, member_id: int,
                 principal: Principal = Depends(require_page("referrals:create"))):
    member = db.scalar(select(Member).where(Member.id == member_id, Member.plan_id == principal.org_id)) \
        if 0 < member_id < 2**31 else None
    if member is None:
        audit_denied(db, principal, "referral.new", object_type="member", object_id=member_id,
                     reason="not a member of the plan")
        raise InvalidInput("No such member", [Problem("not a member of your plan", field="member_id")])
    from socialcare.security import audit

    audit.record(db, principal, "referral.new", object_type="member", object_id=member.id, member_id=member.id)
    partners = db.execute(select(Organization.id, Organization.name, Organization.kind)
                          .where(Organization.kind.in_([OrgKind.HUB, OrgKind.CBO])).order_by(Organization.kind.desc(),
                                                                                           Organization.name)).all()
    needs = _active_needs(db, member.id)
    contracts = service.contracts_to_name(db, principal)
    return render(request, "referrals/new.html", {
        "m": member, "partners": partners, "needs": needs, "contracts": contracts,
        "idem_key": f"form-{secrets.token_urlsafe(16)}",  # a double submit of this form creates one referral
        "domain_options": [(str(k), v.label) for k, v in NEED_DOMAINS.items()],
    })


def _active_needs(db: Session, member_id: int):
    from socialcare.screening.models import SocialNeed

    return list(db.scalars(select(SocialNeed).where(SocialNeed.member_id == member_id, SocialNeed.status == "active")))


@router.post("/referrals", dependencies=[Depends(csrf_protect)])
def create_referral(request: Request, db: DbSession,
                    principal: Principal = Depends(require_page("referrals:create")),
                    member_id: int = Form(...), need_domain: str = Form(...), owner_org_id: int = Form(...),
                    urgency: str = Form("routine"), reason: str = Form(""), discharge_at: str | None = Form(None),
                    consent_scope: str | None = Form(None), idempotency_key: str | None = Form(None),
                    contract_id: str = Form("")):
    discharge = None
    if discharge_at:
        try:
            discharge = datetime.fromisoformat(discharge_at).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput("The referral was not created.",
                               [Problem("discharge date and time as YYYY-MM-DDTHH:MM", field="discharge_at")]) from None
    ref, created = service.create_referral(db, principal, service.NewReferral(
        member_id=member_id, need_domain=need_domain, owner_org_id=owner_org_id, urgency=urgency, reason=reason,
        discharge_at=discharge, consent_scope=consent_scope or None,
        contract_id=int(contract_id) if contract_id.isdigit() else None), idempotency_key=idempotency_key or None)
    msg = f"Referral #{ref.id} sent." if created else f"Referral #{ref.id} was already sent (the form was submitted twice)."
    return redirect(f"/referrals/{ref.id}", flash=msg, kind="success", request=request)


@router.get("/referrals/{referral_id}")
def referral_page(request: Request, referral_id: int, db: DbSession,
                  principal: Principal = Depends(require_page("referrals:read"))):
    ref = service.get_referral(db, principal, referral_id)
    from socialcare.notifications.service import mark_read

    mark_read(db, principal, referral_id=ref.id)  # opening it reads its notifications
    return render(request, "referrals/detail.html", _detail_context(db, principal, ref))


def _detail_context(db: Session, principal: Principal, ref: Referral) -> dict:
    now = utcnow()
    row = service.row_for(db, principal, ref, now)
    subs = repo.children(db, ref.id) if (principal.is_plan or principal.org_id == ref.owner_org_id) else []
    parent = None
    if ref.parent_id and principal.org_id == ref.requester_org_id:
        parent = db.get(Referral, ref.parent_id)
    timeline = repo.timeline(db, [ref.id] + [c.id for c in subs])
    if row.access != "hidden":
        from socialcare.security import audit

        audit.record_member_reads(db, principal, [ref.member_id], action="referral.member")
    consents = []
    if principal.is_plan or row.access != "hidden":
        consents = [(c, name) for c, name in repo.consents_for_member(db, ref.member_id)
                    if principal.is_plan or c.organization_id == principal.org_id]
    escalations = list(db.scalars(select(Escalation).where(Escalation.referral_id.in_([ref.id] + [c.id for c in subs]),
                                                           repo.escalation_visibility(principal))))
    svc = db.get(Service, ref.service_id) if ref.service_id else None
    clocks = [
        ("First outreach", ref.outreach_due_at, ref.first_outreach_at, row.outreach_overdue),
        ("Contact with the member", ref.contact_due_at, ref.contacted_at, row.contact_overdue),
        ("Service start", ref.service_due_at, ref.service_started_at, row.service_overdue),
    ]
    recent_contacts = []
    if row.access != "hidden":  # the member communication plan: who reached this member lately
        from socialcare.partnership import clocks as contract_clocks
        from socialcare.partnership import workspace

        contract = contract_clocks.contract_for(db, ref.plan_id, ref.owner_org_id, ref.contract_id)
        recent_contacts = workspace.recent_contacts_by_others(db, principal, ref.member_id,
                                                              contract.id if contract else None, now)
    return {
        "recent_contacts": recent_contacts,
        "ref": ref, "row": row, "subs": subs, "parent": parent, "timeline": timeline, "consents": consents,
        "escalations": escalations, "service": svc, "clocks": clocks, "now": now,
        "durations": {
            "to_first_outreach": service.clock_hours(ref.requested_at, ref.first_outreach_at),
            "to_contact": service.clock_hours(ref.requested_at, ref.contacted_at),
            "to_service": service.clock_hours(ref.requested_at, ref.service_started_at),
        },
        "actions": service.available_actions(principal, ref), "hints": ACTION_HINTS,
        "can_route": principal.is_hub and ref.owner_org_id == principal.org_id and principal.can("referrals:route"),
        "can_consent": ref.status in rules.OPEN and (principal.is_plan or ref.owner_org_id == principal.org_id),
        "consent_org": ref.owner_org_id,
        "orgs": dict(db.execute(select(Organization.id, Organization.name)).all()),
        "typed": {}, "action_error": None, "conflict": None,
        **service.contract_and_loop(db, principal, ref),
        "member_key": row.member_fields.get("plan_member_id") if isinstance(row.member_fields, dict) else None,
        **_caseload_context(db, principal, ref, row.access),
    }


def _caseload_context(db: Session, principal: Principal, ref: Referral, access: str) -> dict:
    from socialcare.caseload import service as caseload

    works_it = repo.works_referral(principal, ref)
    return {
        "assignee": caseload.current(db, [ref.id]).get(ref.id),
        "staff": caseload.staff(db, principal) if works_it and ref.status in rules.OPEN else [],
        "notes": caseload.notes(db, principal, ref, access),
        "can_note": access != "hidden" and ref.status not in rules.TERMINAL,
    }


@router.post("/referrals/{referral_id}/contract", dependencies=[Depends(csrf_protect)])
def choose_contract(request: Request, referral_id: int, db: DbSession,
                    principal: Principal = Depends(require_page("contracts:write")),
                    contract_id: str = Form(""), reason: str = Form("")):
    """The plan chooses among several contracts, or moves the referral to another one, saying why (audited)."""
    from socialcare.contracts import attributing

    service.get_referral(db, principal, referral_id, audit_read=False)
    ref = attributing.reattribute(db, principal, "referral", referral_id,
                                  int(contract_id) if contract_id.isdigit() else None, reason)
    return redirect(f"/referrals/{referral_id}", flash=f"Contract saved: {ref.contract_reason}", kind="success",
                    request=request)


@router.post("/referrals/{referral_id}/needs", dependencies=[Depends(csrf_protect)])
def resolve_needs(request: Request, referral_id: int, db: DbSession,
                  principal: Principal = Depends(require_page("referrals:read")), need_id: list[str] = Form([])):
    """Which of the member's needs the resolved referral resolved, when several ride on it."""
    ids = [int(v) for v in need_id if str(v).isdigit()]
    done = service.resolve_needs(db, principal, referral_id, ids)
    return redirect(f"/referrals/{referral_id}", flash=f"{len(done)} need(s) marked resolved.", kind="success",
                    request=request)


# ---- hub routing console ---------------------------------------------------------------------


@router.get("/hub/routing")
def routing_console(request: Request, db: DbSession,
                    principal: Principal = Depends(require_page("referrals:route")), selected: int | None = None):
    """Incoming referrals waiting to be routed; picking one shows ranked network CBOs with reasons."""
    now = utcnow()
    rows = db.execute(repo.routing_queue_select(principal, now).limit(200)).all()
    access = repo.member_access_many(db, principal, [r[1].id for r in rows], now)
    from socialcare.security import audit

    audit.record_member_reads(db, principal, [r[1].id for r in rows if access[r[1].id] != "hidden"],
                              action="referral.routing_queue")
    ctx = {"rows": rows, "access": access, "selected": None, "suggestions": [], "now": now}
    if selected:
        ctx.update(_routing_context(db, principal, selected))
    return render(request, "referrals/routing.html", ctx, block="suggestions")


def _routing_context(db: Session, principal: Principal, referral_id: int) -> dict:
    ref = service.get_referral(db, principal, referral_id, audit_read=False)
    if repo.member_access(db, principal, ref.member_id) == "hidden":
        # the member withdrew consent to share with the hub: nothing of the member is shown, nor routed
        from socialcare.security import audit

        audit.record_denied(db, principal, "referral.routing", object_type="referral", object_id=ref.id,
                            member_id=ref.member_id, reason="consent to share with the hub revoked")
        raise Forbidden("The member withdrew consent to share with your organization.")
    service.audit_shown(db, principal, [(ref.member_id, "minimum")], "referral.routing")
    member = db.get(Member, ref.member_id)
    current = repo.open_child(db, ref.id)
    return {"selected": ref, "member": member, "current_child": current,
            "current_owner": db.get(Organization, current.owner_org_id) if current else None,
            "suggestions": repo.suggestions(db, principal.org_id, member, ref.need_domain, date.today())}


@router.get("/hub/routing/{referral_id}")
def routing_suggestions(request: Request, referral_id: int, db: DbSession,
                        principal: Principal = Depends(require_page("referrals:route"))):
    ctx = {"rows": [], "access": {}, "now": utcnow(), **_routing_context(db, principal, referral_id)}
    return render(request, "referrals/routing.html", ctx, block="suggestions")


@router.post("/referrals/{referral_id}/route", dependencies=[Depends(csrf_protect)])
def route(request: Request, referral_id: int, db: DbSession,
          principal: Principal = Depends(require_page("referrals:route")),
          cbo_id: int = Form(...), service_id: int | None = Form(None), version: int = Form(...),
          note: str | None = Form(None), consent: str | None = Form(None), reroute_reason: str | None = Form(None)):
    service.route(db, principal, referral_id, cbo_id=cbo_id, service_id=service_id, version=version, note=note,
                  consent_scope="referral" if consent else None, reroute_reason=reroute_reason or None)
    name = db.scalar(select(Organization.name).where(Organization.id == cbo_id))
    return redirect("/hub/routing", flash=f"Referral #{referral_id} routed to {name}.", kind="success",
                    request=request)


# ---- batch assignment ------------------------------------------------------------------------


@router.get("/referrals/batches/new")
def batch_form(request: Request, db: DbSession,
               principal: Principal = Depends(require_page("referrals:assign_batch"))):
    partners = db.execute(select(Organization.id, Organization.name).where(
        Organization.kind.in_([OrgKind.HUB, OrgKind.CBO])).order_by(Organization.name)).all()
    return render(request, "referrals/batch.html", {
        "partners": partners, "domain_options": [(str(k), v.label) for k, v in NEED_DOMAINS.items()],
        "problems": [], "result": None, "form": {},
    })


@router.post("/referrals/batches", dependencies=[Depends(csrf_protect)], max_body_size=upload_limit())
def batch_upload(request: Request, db: DbSession,
                 principal: Principal = Depends(require_page("referrals:assign_batch")),
                 partner_org_id: int = Form(...), need_domain: str = Form(...), urgency: str = Form("routine"),
                 reason: str = Form(""), file: UploadFile = File(...)):
    partners = db.execute(select(Organization.id, Organization.name).where(
        Organization.kind.in_([OrgKind.HUB, OrgKind.CBO])).order_by(Organization.name)).all()
    ctx = {"partners": partners, "domain_options": [(str(k), v.label) for k, v in NEED_DOMAINS.items()],
           "problems": [], "result": None,
           "form": {"partner_org_id": partner_org_id, "need_domain": need_domain, "urgency": urgency, "reason": reason}}
    raw = file.file.read(20_000_000)
    name = file.filename or "upload.csv"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        ctx["problems"] = [Problem("the file is not UTF-8 text (save it as CSV UTF-8)", file=name)]
        return render(request, "referrals/batch.html", ctx, status_code=422)
    try:
        with savepoint(db):
            rows = service.parse_batch_csv(text, name)
            res = service.assign_batch(db, principal, partner_org_id=partner_org_id, need_domain=need_domain,
                                       rows=rows, urgency=urgency, reason=reason, filename=name)
    except InvalidInput as exc:
        ctx["problems"] = exc.problems
        ctx["message"] = exc.message
        return render(request, "referrals/batch.html", ctx, status_code=422)
    ctx["result"] = res
    return render(request, "referrals/batch.html", ctx)


# ---- consent ---------------------------------------------------------------------------------


@router.post("/referrals/{referral_id}/consent", dependencies=[Depends(csrf_protect)])
def grant_consent(request: Request, referral_id: int, db: DbSession,
                  principal: Principal = Depends(require_page("referrals:read")),
                  organization_id: int = Form(...), scope: str = Form("referral"), method: str = Form("verbal"),
                  expires_on: str | None = Form(None)):
    ref = service.get_referral(db, principal, referral_id, audit_read=False)
    expires = None
    if expires_on:
        try:
            expires = datetime.fromisoformat(expires_on).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput("The consent was not recorded.", [Problem("a date YYYY-MM-DD", field="expires_on")]) from None
    service.grant_consent(db, principal, member_id=ref.member_id, organization_id=organization_id, scope=scope,
                          method=method, expires_at=expires, referral_id=ref.id)
    return redirect(f"/referrals/{referral_id}", flash="Consent recorded.", kind="success", request=request)


@router.post("/consents/{consent_id}/revoke", dependencies=[Depends(csrf_protect)])
def revoke_consent(request: Request, consent_id: int, db: DbSession,
                   principal: Principal = Depends(require_page("referrals:read")),
                   reason: str = Form(...), back: str = Form("/referrals")):
    service.revoke_consent(db, principal, consent_id, reason=reason)
    target = back if back.startswith("/") and not back.startswith("//") else "/referrals"
    return redirect(target, flash="Consent revoked: the organization no longer sees this member.", kind="success",
                    request=request)


# ---- escalations -----------------------------------------------------------------------------


@router.get("/escalations")
def escalations(request: Request, db: DbSession, principal: Principal = Depends(require_page("referrals:read")),
                status: str | None = "open"):
    rows = db.execute(repo.escalations_select(principal, status or None).limit(300)).all()
    from socialcare.security.models import User

    users = dict(db.execute(select(User.id, User.full_name)).all())
    staff = db.execute(select(User.id, User.full_name).where(User.organization_id == principal.org_id)
                       .order_by(User.full_name)).all() if principal.can("escalations:resolve") else []
    return render(request, "referrals/escalations.html", {"rows": rows, "users": users, "staff": staff,
                                                          "status": status or ""})


@router.post("/referrals/{referral_id}/escalations", dependencies=[Depends(csrf_protect)])
def raise_escalation(request: Request, referral_id: int, db: DbSession,
                     principal: Principal = Depends(require_page("escalations:raise")),
                     category: str = Form(...), severity: str = Form("medium"), subject: str = Form(...),
                     description: str = Form(""), barrier: str = Form("other")):
    esc = service.raise_escalation(db, principal, referral_id=referral_id, category=category, severity=severity,
                                   subject=subject, description=description, barrier=barrier or None)
    to = f"level {esc.level} ({esc.contact_name})" if esc.contact_name else "the plan"
    return redirect(f"/referrals/{referral_id}", flash=f"Escalation #{esc.id} sent to {to}.", kind="success",
                    request=request)


@router.post("/escalations/{escalation_id}", dependencies=[Depends(csrf_protect)])
def update_escalation(request: Request, escalation_id: int, db: DbSession,
                      principal: Principal = Depends(require_page("escalations:resolve")),
                      version: int = Form(...), status: str | None = Form(None), resolution: str | None = Form(None),
                      owner_user_id: str | None = Form(None)):
    service.update_escalation(db, principal, escalation_id, version=version, status=status or None,
                              resolution=resolution or None,
                              owner_user_id=int(owner_user_id) if owner_user_id else None)
    return redirect("/escalations", flash=f"Escalation #{escalation_id} updated.", kind="success", request=request)


# ---- panels for other pages --------------------------------------------------------------------


def member_sections(session: Session, principal: Principal, member) -> list[dict]:
    """Referral history and consents on the member profile (plan staff)."""
    if not (principal.is_plan and is_plan_role(principal.role) and principal.can("referrals:read")):
        return []
    history = service.member_history(session, principal, member.id)
    consents = repo.consents_for_member(session, member.id)
    tpl = env.get_template("referrals/_member_history.html")
    html = tpl.render(history=history, consents=consents, member=member, principal=principal, now=utcnow(),
                      can_create=principal.can("referrals:create"))
    return [{"title": "Referrals and consent", "html": Markup(html), "order": 20}]


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("referrals:read"):
        return []
    now = utcnow()
    board = principal.is_plan
    counts = repo.counts_by_status(session, principal, top_level_only=board)
    open_n = sum(v for k, v in counts.items() if k in rules.OPEN)
    overdue = repo.overdue_count(session, principal, now, top_level_only=board)
    cards = [
        {"title": "Open referrals", "value": f"{open_n:,}", "href": "/referrals", "order": 10,
         "note": "referral board" if board else "your worklist"},
        {"title": "Overdue referrals", "value": f"{overdue:,}", "href": "/referrals?overdue=1", "order": 11,
         "note": "past their outreach, contact or service-start clock"},
    ]
    if principal.is_hub and principal.can("referrals:route"):
        waiting = len(session.execute(repo.routing_queue_select(principal, now).limit(1000)).all())
        cards.append({"title": "Waiting for routing", "value": f"{waiting:,}", "href": "/hub/routing", "order": 12,
                      "note": "incoming referrals"})
    return cards
