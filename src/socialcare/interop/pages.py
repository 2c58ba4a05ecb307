"""Interop pages: the organization's file imports (upload a partner file, see every past import
with its problems), and the FHIR API at /fhir (included here because pages routers are mounted at
the site root, while api.py routers go under /api/v1; ``SCHEMA_ROUTERS`` puts it in /openapi.json)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from socialcare.interop.fhir.api import router as fhir_router
from socialcare.interop.fhir.pages import router as fhir_pages_router
from socialcare.interop.flatfiles.layouts import LAYOUTS
from socialcare.interop.flatfiles.service import import_file, recent_imports
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.limits import upload_limit
from socialcare.web.nav import NavItem
from socialcare.web.templating import render

router = APIRouter(tags=["interop"])
router.include_router(fhir_pages_router)
# the FHIR API is an API: mounted at the root beside these pages, and documented in /openapi.json
SCHEMA_ROUTERS = [fhir_router]

NAV = [NavItem(label="Exchange", href="/exchange", permission="exchange:import", order=80)]

Importer = Depends(require_page("exchange:import"))


@router.get("/exchange")
def exchange_page(request: Request, db: DbSession, principal: Principal = Importer):
    return render(request, "interop/exchange.html", {
        "imports": recent_imports(db, principal), "layouts": [lay for lay in LAYOUTS.values() if lay.importable],
        "result": None,
    })


@router.post("/exchange/import", dependencies=[Depends(csrf_protect)], max_body_size=upload_limit())
def exchange_import(request: Request, db: DbSession, principal: Principal = Importer,
                    layout: str = Form(...), file: UploadFile = File(...)):
    from dataclasses import replace

    data = file.file.read()  # a plain def: this runs in the thread pool, with the database work
    result = import_file(db, replace(principal, via="web"), layout, file.filename or "upload.csv", data, via="web")
    return render(request, "interop/exchange.html", {
        "imports": recent_imports(db, principal), "layouts": [lay for lay in LAYOUTS.values() if lay.importable],
        "result": result,
    }, block="result", status_code=409 if result.status == "duplicate" else 200)  # the same file twice
