"""Directory API shapes (HSDS-like: organization, service, location, service area)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from socialcare.kit.codes import NEED_DOMAINS, NeedDomain


def need_label(code: str) -> str:
    try:
        return NEED_DOMAINS[NeedDomain(code)].label
    except ValueError:
        return code


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrganizationRef(_Out):
    id: int
    name: str
    kind: str


class LocationOut(_Out):
    id: int
    name: str
    location_type: str
    address_1: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    county: str | None


class ServiceAreaOut(_Out):
    state: str
    county: str | None
    postal_code: str | None


class OrganizationSummary(_Out):
    id: int
    name: str
    kind: str = Field(description="health_plan, community_care_hub or cbo")
    city: str | None
    state: str | None
    county: str | None
    postal_code: str | None
    phone: str | None
    website: str | None
    need_domains: list[str] = Field(default_factory=list, description="need domains of its active services")


class ServiceSummary(_Out):
    id: int
    name: str
    organization_id: int
    organization_name: str
    need_domain: str
    need_domain_label: str
    service_code: str | None = Field(description="HCPCS/CPT code with modifiers, e.g. S5170-U6")
    unit: str
    capacity_per_month: int | None
    languages: list[str]
    status: str


class ServiceDetail(ServiceSummary):
    description: str
    eligibility_description: str | None
    minimum_age: int | None
    maximum_age: int | None
    service_areas: list[ServiceAreaOut]
    locations: list[LocationOut]


class OrganizationDetail(OrganizationSummary):
    description: str
    npi: str | None
    email: str | None
    address_1: str | None
    locations: list[LocationOut]
    service_areas: list[ServiceAreaOut]
    services: list[ServiceSummary]
    network: list[OrganizationRef] = Field(description="for a hub: the CBOs in its network today")
    hubs: list[OrganizationRef] = Field(description="for a CBO: the hubs whose network it is in today")


class OrganizationPage(BaseModel):
    items: list[OrganizationSummary]
    total: int
    page: int
    page_size: int


class ServicePage(BaseModel):
    items: list[ServiceSummary]
    total: int
    page: int
    page_size: int


def service_summary(s) -> ServiceSummary:
    return ServiceSummary(
        id=s.id, name=s.name, organization_id=s.organization_id, organization_name=s.organization.name,
        need_domain=s.need_domain, need_domain_label=need_label(s.need_domain), service_code=s.service_code,
        unit=s.unit, capacity_per_month=s.capacity_per_month, languages=list(s.languages or []), status=s.status,
    )


def service_detail(s) -> ServiceDetail:
    return ServiceDetail(
        **service_summary(s).model_dump(),
        description=s.description or "",
        eligibility_description=s.eligibility_description,
        minimum_age=s.minimum_age,
        maximum_age=s.maximum_age,
        service_areas=[ServiceAreaOut.model_validate(a) for a in s.service_areas],
        locations=[LocationOut.model_validate(loc) for loc in s.organization.locations],
    )


def organization_summary(o, need_domains: list[str] | None = None) -> OrganizationSummary:
    return OrganizationSummary(
        id=o.id, name=o.name, kind=o.kind, city=o.city, state=o.state, county=o.county,
        postal_code=o.postal_code, phone=o.phone, website=o.website, need_domains=need_domains or [],
    )


def organization_detail(d) -> OrganizationDetail:
    o = d.organization
    active = sorted({s.need_domain for s in o.services if s.status == "active"})
    return OrganizationDetail(
        **organization_summary(o, active).model_dump(),
        description=o.description or "",
        npi=o.npi,
        email=o.email,
        address_1=o.address_1,
        locations=[LocationOut.model_validate(loc) for loc in o.locations],
        service_areas=[ServiceAreaOut.model_validate(a) for a in o.service_areas],
        services=[service_summary(s) for s in o.services],
        network=[OrganizationRef.model_validate(x) for x in d.network],
        hubs=[OrganizationRef.model_validate(x) for x in d.hubs],
    )
