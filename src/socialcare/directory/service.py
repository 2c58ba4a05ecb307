"""Directory use cases: validated search filters, organization and service details."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from socialcare.core.clock import today
from socialcare.core.errors import Forbidden, InvalidInput, NotFound, Problem
from socialcare.directory import repository as repo
from socialcare.directory.models import Organization, Service
from socialcare.directory.repository import DirectoryFilters
from socialcare.kit.codes import NeedDomain, OrgKind
from socialcare.kit.pagination import PageResult, paginate
from socialcare.security import audit
from socialcare.security.principal import Principal

_ZIP = re.compile(r"^\d{5}$")


def zip_county(zip_code: str) -> tuple[str, str] | None:
    """(state, county without the word County) for a US zip, None when unknown."""
    try:
        import zipcodes

        found = zipcodes.matching(zip_code)
    except (ValueError, TypeError):
        return None
    if not found or not found[0].get("county"):
        return None
    county = found[0]["county"]
    return found[0]["state"], county[: -len(" County")] if county.endswith(" County") else county


def make_filters(
    *,
    q: str | None = None,
    need_domain: str | None = None,
    county: str | None = None,
    state: str | None = None,
    zip: str | None = None,
    kind: str | None = None,
    language: str | None = None,
) -> DirectoryFilters:
    """Clean and check search input; every bad field is reported at once (InvalidInput)."""
    problems: list[Problem] = []

    def clean(v: str | None) -> str | None:
        v = (v or "").strip()
        return v or None

    q, need_domain, county, state, zip, kind, language = map(clean, (q, need_domain, county, state, zip, kind, language))
    if need_domain and need_domain not in {d.value for d in NeedDomain}:
        problems.append(Problem(f"unknown need domain '{need_domain}'", field="need_domain"))
    if kind and kind not in {k.value for k in OrgKind}:
        problems.append(Problem(f"unknown organization kind '{kind}'", field="kind"))
    if zip:
        zip = zip[:5] if re.match(r"^\d{5}-\d{4}$", zip) else zip
        if not _ZIP.match(zip):
            problems.append(Problem("a zip code has five digits", field="zip"))
    if state and not re.match(r"^[A-Za-z]{2}$", state):
        problems.append(Problem("a state is two letters, e.g. NY", field="state"))
    if county and "|" in county:  # the form sends "NY|Erie"
        state_part, county = county.split("|", 1)
        state = state or state_part
    if language and not re.match(r"^[A-Za-z]{2}$", language):
        problems.append(Problem("a language is a two-letter code, e.g. es", field="language"))
    if q and len(q) > 200:
        problems.append(Problem("search text is at most 200 characters", field="q"))
    if problems:
        raise InvalidInput("The search was not run.", problems)
    f = DirectoryFilters(q=q, need_domain=need_domain, county=county, state=state and state.upper(), zip=zip,
                         kind=kind, language=language)
    if zip:
        f = replace(f, zip_county=zip_county(zip))
    return f


@dataclass
class OrganizationDetail:
    organization: Organization
    network: list[Organization]  # a hub's CBOs today
    hubs: list[Organization]  # the hubs a CBO belongs to today


def search_organizations(
    session: Session, principal: Principal, f: DirectoryFilters, page: int = 1, page_size: int = 25
) -> tuple[PageResult[Organization], dict[int, list[str]]]:
    principal.require("directory:read")
    result = paginate(session, repo.organizations_select(f), page, page_size)
    return result, repo.need_domains_by_org(session, [o.id for o in result.items])


def search_services(
    session: Session, principal: Principal, f: DirectoryFilters, page: int = 1, page_size: int = 25
) -> PageResult[Service]:
    principal.require("directory:read")
    return paginate(session, repo.services_select(f), page, page_size)


def may_edit_organization(session: Session, principal: Principal, org: Organization, *,
                          listed_by_principal: bool = False) -> bool:
    """Whose listing is it: an organization edits its own; a hub edits its current network members'
    (CBOs); the organization that brought a listing in from outside (FHIR, HSDS) keeps it up to date
    while no one of that organization has an account. Nobody else, whatever their role."""
    if not principal.can("directory:write"):
        return False
    if org.id == principal.org_id:
        return True
    if principal.is_hub and org.kind == OrgKind.CBO and repo.in_network(session, principal.org_id, org.id, today()):
        return True
    return listed_by_principal and org.kind != OrgKind.HEALTH_PLAN and not repo.has_accounts(session, org.id)


def require_edit_organization(session: Session, principal: Principal, org: Organization, action: str, *,
                              listed_by_principal: bool = False) -> None:
    if not may_edit_organization(session, principal, org, listed_by_principal=listed_by_principal):
        audit.record_denied(session, principal, action, object_type="organization", object_id=org.id,
                            reason="not the organization's own listing nor a network member's")
        raise Forbidden(f"{org.name} is not your organization's listing (nor a network member's); "
                        "only that organization may change it.")


def organization_detail(session: Session, principal: Principal, org_id: int) -> OrganizationDetail:
    principal.require("directory:read")
    org = repo.organization(session, org_id)
    if org is None:
        raise NotFound(f"There is no organization {org_id} in the directory.")
    on = today()
    network = repo.hub_network(session, org.id, on) if org.kind == OrgKind.HUB else []
    hubs = repo.hubs_of(session, org.id, on) if org.kind == OrgKind.CBO else []
    return OrganizationDetail(org, network, hubs)


def service_detail(session: Session, principal: Principal, service_id: int) -> Service:
    principal.require("directory:read")
    svc = repo.service(session, service_id)
    if svc is None:
        raise NotFound(f"There is no service {service_id} in the directory.")
    return svc
