"""Search-as-you-type pickers (HTMX): members, referrals, services and organizations, each limited
to what the signed-in user may see. A form holds ``{{ picker(...) }}`` (templates/_pickers.html): a
text box whose typing asks ``/pick/<kind>?q=…`` and a hidden field the chosen row fills (app.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import String, and_, cast, func, or_, select

from socialcare.core.clock import utcnow
from socialcare.directory.models import Organization, Service
from socialcare.members.models import Member
from socialcare.web.deps import DbSession, PagePrincipal
from socialcare.web.templating import render

router = APIRouter(tags=["pickers"])
LIMIT = 10


def _words(q: str | None) -> list[str]:
    return [w for w in (q or "").strip().lower().split()[:4] if w]


def _q(request: Request, q: str | None, target: str) -> str:
    """The typed text: ``q``, or the search box's own field (HTMX sends it as ``<target>__q``)."""
    return q if q is not None else request.query_params.get(f"{target}__q", "")


def _member_match(words: list[str]):
    return and_(*[or_(func.lower(Member.last_name).like(f"{w}%"), func.lower(Member.first_name).like(f"{w}%"),
                      func.lower(Member.plan_member_id) == w) for w in words])


@router.get("/pick/members")
def pick_members(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                 target: str = "member"):
    from socialcare.referrals import repository as ref_repo
    from socialcare.referrals.models import Referral
    from socialcare.security import audit

    q = _q(request, q, target)
    words = _words(q)
    rows: list = []
    if words:
        stmt = select(Member).where(_member_match(words))
        if principal.is_plan:
            stmt = stmt.where(Member.plan_id == principal.org_id)
        else:  # a hub or CBO sees the members of its referrals, never one whose consent was revoked
            stmt = stmt.where(Member.id.in_(select(Referral.member_id).where(ref_repo.referral_visibility(principal))))
        members = list(db.scalars(stmt.order_by(Member.last_name, Member.first_name, Member.id).limit(LIMIT * 2)))
        access = ({m.id: "full" for m in members} if principal.is_plan
                  else ref_repo.member_access_many(db, principal, [m.id for m in members], utcnow()))
        members = [m for m in members if access.get(m.id) != "hidden"][:LIMIT]
        audit.record_member_reads(db, principal, [m.id for m in members], action="picker.members")
        rows = [{"value": m.plan_member_id, "label": f"{m.last_name}, {m.first_name} · {m.plan_member_id}",
                 "note": f"{m.zip or ''} {m.county or ''}".strip()} for m in members]
    return render(request, "_pick_results.html", {"rows": rows, "q": q or "", "target": target})


@router.get("/pick/referrals")
def pick_referrals(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                   target: str = "referral_id"):
    from socialcare.referrals import repository as ref_repo
    from socialcare.referrals import rules as ref_rules
    from socialcare.referrals.models import Referral
    from socialcare.security import audit

    q = _q(request, q, target)
    words = _words(q)
    rows: list = []
    if words:
        conds = [or_(func.lower(Member.last_name).like(f"{w}%"), func.lower(Member.first_name).like(f"{w}%"),
                     func.lower(Member.plan_member_id) == w, cast(Referral.id, String) == w.lstrip("#"))
                 for w in words]
        found = db.execute(select(Referral, Member).join(Member, Member.id == Referral.member_id)
                           .where(ref_repo.referral_visibility(principal), *conds)
                           .order_by(Referral.id.desc()).limit(LIMIT * 2)).all()
        access = ({r.Member.id: "full" for r in found} if principal.is_plan
                  else ref_repo.member_access_many(db, principal, [r.Member.id for r in found], utcnow()))
        found = [r for r in found if access.get(r.Member.id) != "hidden"][:LIMIT]
        audit.record_member_reads(db, principal, [r.Member.id for r in found], action="picker.referrals")
        rows = [{"value": str(r.Referral.id),
                 "label": f"#{r.Referral.id} · {r.Member.last_name}, {r.Member.first_name}",
                 "note": f"{r.Referral.need_domain} · {ref_rules.STATUS_LABELS.get(r.Referral.status, r.Referral.status)}",
                 "also": {"member": r.Member.plan_member_id}} for r in found]
    return render(request, "_pick_results.html", {"rows": rows, "q": q or "", "target": target})


@router.get("/pick/services")
def pick_services(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                  target: str = "service_id", own: int = 1):
    q = _q(request, q, target)
    words = _words(q)
    stmt = select(Service, Organization.name).join(Organization, Organization.id == Service.organization_id) \
        .where(Service.status == "active")
    if own:
        stmt = stmt.where(Service.organization_id == principal.org_id)
    for w in words:
        stmt = stmt.where(or_(func.lower(Service.name).like(f"%{w}%"), func.lower(Service.service_code).like(f"{w}%")))
    found = db.execute(stmt.order_by(Service.name, Service.id).limit(LIMIT)).all()
    rows = [{"value": str(s.id), "label": s.name + (f" ({s.service_code}, per {s.unit})" if s.service_code else ""),
             "note": org} for s, org in found]
    return render(request, "_pick_results.html", {"rows": rows, "q": q or "", "target": target})


@router.get("/pick/organizations")
def pick_organizations(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                       target: str = "organization_id", kind: str | None = None):
    q = _q(request, q, target)
    words = _words(q)
    stmt = select(Organization.id, Organization.name, Organization.kind, Organization.city)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    for w in words:
        stmt = stmt.where(func.lower(Organization.name).like(f"%{w}%"))
    found = db.execute(stmt.order_by(Organization.name).limit(LIMIT)).all() if words else []
    rows = [{"value": str(o.id), "label": o.name, "note": f"{o.kind.replace('_', ' ')} · {o.city or ''}"}
            for o in found]
    return render(request, "_pick_results.html", {"rows": rows, "q": q or "", "target": target})
