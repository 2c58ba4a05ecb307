"""Directory pages: search services and organizations by need domain, county, zip or text, and a
page for each organization (a hub's page lists its CBO network) and each service.

The pattern other domains follow: thin routes, a service call, ``render(..., block="results")``
so the filter form (HTMX) swaps only the results.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session

from socialcare.core.clock import today
from socialcare.core.db import savepoint
from socialcare.core.errors import InvalidInput
from socialcare.directory import listing, service
from socialcare.directory import repository as repo
from socialcare.kit.codes import NEED_DOMAINS, ORG_KIND_LABELS
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["directory"])

NAV = [NavItem(label="Directory", href="/directory", permission="directory:read", order=10)]

Reader = Depends(require_page("directory:read"))


@router.get("/directory")
def directory(
    request: Request,
    db: DbSession,
    principal: Principal = Reader,
    show: str = "services",
    q: str | None = None,
    need_domain: str | None = None,
    county: str | None = None,
    zip: str | None = None,
    kind: str | None = None,
    language: str | None = None,
    page: int = 1,
):
    show = "organizations" if show == "organizations" else "services"
    f = service.make_filters(
        q=q, need_domain=need_domain, county=county, zip=zip,
        kind=kind if show == "organizations" else None,
        language=language if show == "services" else None,
    )
    ctx: dict = {
        "show": show,
        "filters": {"q": q or "", "need_domain": need_domain or "", "county": county or "", "zip": zip or "",
                    "kind": kind or "", "language": language or ""},
        "need_options": [(d.value, info.label) for d, info in NEED_DOMAINS.items()],
        "county_options": [(f"{s}|{c}", f"{c}, {s}") for s, c in repo.counties(db)],
        "kind_options": [(k.value, label) for k, label in ORG_KIND_LABELS.items()],
        "zip_county": f.zip_county,
    }
    if show == "organizations":
        ctx["result"], ctx["domains"] = service.search_organizations(db, principal, f, page, 25)
    else:
        ctx["result"] = service.search_services(db, principal, f, page, 25)
    return render(request, "directory/search.html", ctx, block="results")


@router.get("/directory/organizations/{org_id}")
def organization_page(request: Request, org_id: int, db: DbSession, principal: Principal = Reader):
    detail = service.organization_detail(db, principal, org_id)
    return render(request, "directory/organization.html", {
        "d": detail, "org": detail.organization, "can_edit": listing.can_edit(db, principal, detail.organization)})


def _listing_page(request: Request, db: Session, principal: Principal, org_id: int, form=None, problems=None,
                  status=200):
    org = listing.editable_org(db, principal, org_id)
    return render(request, "directory/listing.html", {
        "org": org, "areas": form["areas"] if form else listing.areas_text(org), "form": form or {},
        "problems": problems or [], "statuses": listing.SERVICE_STATUSES}, status_code=status)


@router.get("/directory/organizations/{org_id}/listing")
def listing_page(request: Request, org_id: int, db: DbSession, principal: Principal = Reader):
    """Edit a listing: your own organization's, or (hub administrators) a network CBO's."""
    return _listing_page(request, db, principal, org_id)


@router.post("/directory/organizations/{org_id}/listing", dependencies=[Depends(csrf_protect)])
def save_listing(
    request: Request, org_id: int, db: DbSession, principal: Principal = Reader,
    description: str = Form(""), phone: str = Form(""), email: str = Form(""), website: str = Form(""),
    hours: str = Form(""), areas: str = Form(""), service_id: list[int] = Form([]),
    capacity: list[str] = Form([]), languages: list[str] = Form([]), status: list[str] = Form([]),
):
    edits = [listing.ServiceEdit(sid, cap, lang, st)
             for sid, cap, lang, st in zip(service_id, capacity, languages, status, strict=False)]
    edit = listing.ListingEdit(description=description, phone=phone, email=email, website=website, hours=hours,
                               areas=areas, services=edits)
    try:
        with savepoint(db):
            changed = listing.update_listing(db, principal, org_id, edit)
    except InvalidInput as exc:
        form = {"description": description, "phone": phone, "email": email, "website": website, "hours": hours,
                "areas": areas}
        return _listing_page(request, db, principal, org_id, form, [p.as_dict() for p in exc.problems], 422)
    note = ", ".join(changed) if changed else "nothing changed"
    return redirect(f"/directory/organizations/{org_id}", flash=f"Listing saved ({note}).", kind="success",
                    request=request)


@router.get("/directory/services/{service_id}")
def service_page(request: Request, service_id: int, db: DbSession, principal: Principal = Reader):
    svc = service.service_detail(db, principal, service_id)
    return render(request, "directory/service.html", {"s": svc})


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("directory:read"):
        return []
    c = repo.counts(session)
    cards = [
        {"title": "Community organizations", "value": f"{c['cbo']:,}", "href": "/directory?show=organizations&kind=cbo",
         "note": f"and {c['community_care_hub']:,} community care hub{'' if c['community_care_hub'] == 1 else 's'}",
         "order": 50},
        {"title": "Services in the directory", "value": f"{c['services']:,}", "href": "/directory",
         "note": "active, by need domain and area", "order": 51},
    ]
    if principal.is_hub:
        n = repo.network_size(session, principal.org_id, today())
        cards.insert(0, {"title": "CBOs in your network", "value": f"{n:,}",
                         "href": f"/directory/organizations/{principal.org_id}", "note": "today", "order": 5})
    return cards
