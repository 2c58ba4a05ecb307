"""Directory JSON API: search organizations and services by need domain, county, zip or text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from socialcare.directory import schemas, service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/directory", tags=["directory"])

Reader = Annotated[Principal, Depends(require_api("directory:read"))]

Q = Query(None, description="free text in name, description, organization or service code")
NEED = Query(None, description="need domain code, e.g. food, housing, transportation")
COUNTY = Query(None, description="county served, e.g. Erie (with or without 'County')")
STATE = Query(None, description="two-letter state for the county, e.g. NY")
ZIP = Query(None, description="five-digit zip served (also matches services covering its county)")


@router.get("/organizations", response_model=schemas.OrganizationPage, summary="Search organizations")
def list_organizations(
    db: DbSession,
    principal: Reader,
    q: str | None = Q,
    need_domain: str | None = NEED,
    county: str | None = COUNTY,
    state: str | None = STATE,
    zip: str | None = ZIP,
    kind: str | None = Query(None, description="health_plan, community_care_hub or cbo"),
    page: int = Query(1, ge=1),
    page_size: int = Query(25, ge=1, le=200),
):
    f = service.make_filters(q=q, need_domain=need_domain, county=county, state=state, zip=zip, kind=kind)
    result, domains = service.search_organizations(db, principal, f, page, page_size)
    return schemas.OrganizationPage(
        items=[schemas.organization_summary(o, domains.get(o.id)) for o in result.items],
        total=result.total, page=result.page, page_size=result.page_size,
    )


@router.get("/organizations/{org_id}", response_model=schemas.OrganizationDetail, summary="One organization")
def get_organization(org_id: int, db: DbSession, principal: Reader):
    return schemas.organization_detail(service.organization_detail(db, principal, org_id))


@router.get("/services", response_model=schemas.ServicePage, summary="Search services")
def list_services(
    db: DbSession,
    principal: Reader,
    q: str | None = Q,
    need_domain: str | None = NEED,
    county: str | None = COUNTY,
    state: str | None = STATE,
    zip: str | None = ZIP,
    language: str | None = Query(None, description="ISO 639-1 language offered, e.g. es"),
    page: int = Query(1, ge=1),
    page_size: int = Query(25, ge=1, le=200),
):
    f = service.make_filters(q=q, need_domain=need_domain, county=county, state=state, zip=zip, language=language)
    result = service.search_services(db, principal, f, page, page_size)
    return schemas.ServicePage(
        items=[schemas.service_summary(s) for s in result.items],
        total=result.total, page=result.page, page_size=result.page_size,
    )


@router.get("/services/{service_id}", response_model=schemas.ServiceDetail, summary="One service")
def get_service(service_id: int, db: DbSession, principal: Reader):
    return schemas.service_detail(service.service_detail(db, principal, service_id))
