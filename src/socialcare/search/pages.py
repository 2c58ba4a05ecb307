"""Search-as-you-type pickers (HTMX): members, referrals, services and organizations, each limited
to what the signed-in user may see. A form holds ``{{ picker(...) }}`` (templates/_pickers.html): a
text box whose typing asks ``/pick/<kind>?q=…`` and a hidden field the chosen row fills (app.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from socialcare.search import repository as repo
from socialcare.security import audit
from socialcare.web.deps import DbSession, PagePrincipal
from socialcare.web.templating import render

router = APIRouter(tags=["pickers"])


def _words(q: str | None) -> list[str]:
    return [w for w in (q or "").strip().lower().split()[:4] if w]


def _q(request: Request, q: str | None, target: str) -> str:
    """The typed text: ``q``, or the search box's own field (HTMX sends it as ``<target>__q``)."""
    return q if q is not None else request.query_params.get(f"{target}__q", "")


def _answer(request: Request, rows: list[dict], q: str, target: str):
    return render(request, "_pick_results.html", {"rows": rows, "q": q, "target": target})


@router.get("/pick/members")
def pick_members(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                 target: str = "member"):
    q = _q(request, q, target)
    words = _words(q)
    found = repo.members(db, principal, words) if words else []
    audit.record_member_reads(db, principal, [m.id for m in found], action="picker.members")
    rows = [{"value": m.plan_member_id, "label": f"{m.last_name}, {m.first_name} · {m.plan_member_id}",
             "note": f"{m.zip or ''} {m.county or ''}".strip()} for m in found]
    return _answer(request, rows, q, target)


@router.get("/pick/referrals")
def pick_referrals(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                   target: str = "referral_id"):
    from socialcare.referrals.rules import STATUS_LABELS

    q = _q(request, q, target)
    words = _words(q)
    found = repo.referrals(db, principal, words) if words else []
    audit.record_member_reads(db, principal, [r.Member.id for r in found], action="picker.referrals")
    rows = [{"value": str(r.Referral.id), "label": f"#{r.Referral.id} · {r.Member.last_name}, {r.Member.first_name}",
             "note": STATUS_LABELS.get(r.Referral.status, r.Referral.status),
             "also": {"member": r.Member.plan_member_id}} for r in found]
    return _answer(request, rows, q, target)


@router.get("/pick/services")
def pick_services(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                  target: str = "service_id", own: int = 1):
    q = _q(request, q, target)
    rows = [{"value": str(s.id), "label": s.name + (f" ({s.service_code}, per {s.unit})" if s.service_code else ""),
             "note": org} for s, org in repo.services(db, principal, _words(q), bool(own))]
    return _answer(request, rows, q, target)


@router.get("/pick/organizations")
def pick_organizations(request: Request, db: DbSession, principal: PagePrincipal, q: str | None = None,
                       target: str = "organization_id", kind: str | None = None):
    q = _q(request, q, target)
    words = _words(q)
    found = repo.organizations(db, words, kind) if words else []
    rows = [{"value": str(o.id), "label": o.name, "note": f"{o.kind.replace('_', ' ')} · {o.city or ''}"}
            for o in found]
    return _answer(request, rows, q, target)
