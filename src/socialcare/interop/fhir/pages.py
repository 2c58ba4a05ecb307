"""FHIR connections page: which partners exchange referrals over FHIR and how (the IG's Direct:
their own server, which we push to and poll; Light: their app polls ours), and the push queue, so a
coordinator sees at once a partner server that is down or refusing what we send."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.db import savepoint
from socialcare.core.errors import InvalidInput
from socialcare.directory.models import Organization
from socialcare.interop.fhir import outbound
from socialcare.kit.codes import OrgKind
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["interop"])
Viewer = Depends(require_page("exchange:import"))
Editor = Depends(require_page("directory:write"))


def _page(request: Request, db: Session, principal: Principal, form=None, problems=None, status: int = 200):
    partners = db.execute(select(Organization.id, Organization.name).where(
        Organization.kind.in_([OrgKind.CBO, OrgKind.HUB])).order_by(Organization.name)).all()
    return render(request, "interop/fhir_connections.html", {
        "endpoints": outbound.endpoints(db, principal), "queue": outbound.queue_for(db, principal) if principal.can(
            "referrals:read") else [], "partners": partners, "may_edit": principal.can("directory:write"),
        "form": form or {"mode": "direct"}, "problems": problems or [], "max_attempts": outbound.MAX_ATTEMPTS,
    }, status_code=status)


@router.get("/exchange/fhir")
def fhir_connections(request: Request, db: DbSession, principal: Principal = Viewer):
    return _page(request, db, principal)


@router.post("/exchange/fhir/endpoints", dependencies=[Depends(csrf_protect)])
def save_endpoint(request: Request, db: DbSession, principal: Principal = Editor, organization_id: str = Form(""),
                  mode: str = Form("direct"), base_url: str = Form(""), bearer_token: str = Form("")):
    form = {"organization_id": organization_id, "mode": mode, "base_url": base_url}
    try:
        with savepoint(db):
            ep = outbound.set_endpoint(db, principal, int(organization_id) if organization_id.isdigit() else -1,
                                       mode=mode, base_url=base_url or None,
                                       bearer_token=bearer_token if bearer_token else None)
    except InvalidInput as exc:
        return _page(request, db, principal, form, [p.as_dict() for p in exc.problems], 422)
    return redirect("/exchange/fhir", flash=f"{ep.organization.name}: FHIR exchange is {ep.mode}.", kind="success",
                    request=request)


@router.post("/exchange/fhir/outbound/{item_id}/retry", dependencies=[Depends(csrf_protect)])
def retry_push(item_id: int, request: Request, db: DbSession, principal: Principal = Editor):
    item = outbound.retry(db, principal, item_id)
    return redirect("/exchange/fhir", flash=f"Push #{item.id} will be sent again on the next sync.", kind="success",
                    request=request)
