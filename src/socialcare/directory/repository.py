"""Directory queries: organizations and services by need domain, county, zip or free text.

The community resource directory is shared by every organization in the partnership (directory:read
for all roles); it holds no member data, so reads are not scoped by organization.

"Serves a county or zip" means: a service area of the service names that county or zip (a service
with no area of its own takes its organization's areas), or the organization has a location there
(services are offered at their organization's locations, HSDS service_at_location); a zip also matches the county it lies
in (zip -> county from the ``zipcodes`` package), since CBOs mostly declare counties.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from socialcare.core.clock import today
from socialcare.directory.models import HubNetworkMembership, Location, Organization, Service, ServiceArea
from socialcare.security.models import User
from socialcare.security.principal import Principal


@dataclass(frozen=True)
class DirectoryFilters:
    q: str | None = None
    need_domain: str | None = None
    county: str | None = None  # "Erie" or "Erie County"
    state: str | None = None  # two letters
    zip: str | None = None  # five digits
    kind: str | None = None  # organizations only: kit.codes.OrgKind
    language: str | None = None  # services only: ISO 639-1
    zip_county: tuple[str, str] | None = None  # (state, county) the zip lies in, filled by the service


def county_key(value: str) -> str:
    v = value.strip().lower()
    return v[: -len(" county")] if v.endswith(" county") else v


def _county_match(col, county: str) -> ColumnElement[bool]:
    key = county_key(county)
    return func.lower(col).in_([key, f"{key} county"])


def _area_match(f: DirectoryFilters) -> ColumnElement[bool] | None:
    """Condition on ServiceArea for the county/zip filters (None when neither is given)."""
    conds = []
    if f.county:
        c = _county_match(ServiceArea.county, f.county)
        if f.state:
            c = and_(c, ServiceArea.state == f.state.upper())
        conds.append(c)
    if f.zip:
        z = [ServiceArea.postal_code == f.zip]
        if f.zip_county:
            st, cty = f.zip_county
            z.append(and_(ServiceArea.state == st, _county_match(ServiceArea.county, cty)))
        conds.append(or_(*z))
    if not conds:
        return None
    return and_(*conds)


def _location_match(f: DirectoryFilters) -> ColumnElement[bool] | None:
    conds = []
    if f.county:
        conds.append(_county_match(Location.county, f.county))
    if f.zip:
        conds.append(Location.postal_code == f.zip)
    return and_(*conds) if conds else None


def _text_match(q: str, *cols) -> ColumnElement[bool]:
    like = f"%{q.strip().lower()}%"
    return or_(*[func.lower(c).like(like) for c in cols])


def organizations_select(f: DirectoryFilters) -> Select:
    stmt = select(Organization)
    if f.kind:
        stmt = stmt.where(Organization.kind == f.kind)
    if f.q:
        stmt = stmt.where(_text_match(f.q, Organization.name, Organization.description, Organization.city))
    if f.need_domain:
        stmt = stmt.where(
            exists().where(
                Service.organization_id == Organization.id,
                Service.need_domain == f.need_domain,
                Service.status == "active",
            )
        )
    area = _area_match(f)
    if area is not None:
        where_any = [exists().where(ServiceArea.organization_id == Organization.id, area)]
        loc = _location_match(f)
        if loc is not None:
            where_any.append(exists().where(Location.organization_id == Organization.id, loc))
        stmt = stmt.where(or_(*where_any))
    return stmt.order_by(Organization.name, Organization.id)


def services_select(f: DirectoryFilters, organization_id: int | None = None) -> Select:
    stmt = select(Service).join(Organization, Organization.id == Service.organization_id)
    stmt = stmt.options(selectinload(Service.organization))
    if organization_id is not None:
        stmt = stmt.where(Service.organization_id == organization_id)
    if f.need_domain:
        stmt = stmt.where(Service.need_domain == f.need_domain)
    if f.q:
        stmt = stmt.where(
            _text_match(f.q, Service.name, Service.description, Organization.name, Service.service_code)
        )
    if f.language:
        # languages is a JSON list; a LIKE on its text works on SQLite and PostgreSQL alike
        from sqlalchemy import String, cast

        stmt = stmt.where(cast(Service.languages, String).like(f'%"{f.language.lower()}"%'))
    area = _area_match(f)
    if area is not None:
        own_area = exists().where(ServiceArea.service_id == Service.id, area)
        # the organization's areas stand for a service that declares none of its own
        sa_own = ServiceArea.__table__.alias("sa_own")
        org_area = and_(
            ~exists().where(sa_own.c.service_id == Service.id),
            exists().where(
                ServiceArea.service_id.is_(None), ServiceArea.organization_id == Service.organization_id, area
            ),
        )
        where_any = [own_area, org_area]
        loc = _location_match(f)
        if loc is not None:
            where_any.append(exists().where(Location.organization_id == Service.organization_id, loc))
        stmt = stmt.where(or_(*where_any))
    return stmt.order_by(Service.name, Organization.name, Service.id)


def need_domains_by_org(session: Session, org_ids: list[int]) -> dict[int, list[str]]:
    if not org_ids:
        return {}
    rows = session.execute(
        select(Service.organization_id, Service.need_domain)
        .where(Service.organization_id.in_(org_ids), Service.status == "active")
        .distinct()
        .order_by(Service.organization_id, Service.need_domain)
    )
    out: dict[int, list[str]] = {}
    for org_id, domain in rows:
        out.setdefault(org_id, []).append(domain)
    return out


def organization(session: Session, org_id: int) -> Organization | None:
    return session.scalar(
        select(Organization)
        .where(Organization.id == org_id)
        .options(
            selectinload(Organization.services),
            selectinload(Organization.locations),
            selectinload(Organization.service_areas),
        )
    )


def service(session: Session, service_id: int) -> Service | None:
    return session.scalar(
        select(Service)
        .where(Service.id == service_id)
        .options(
            selectinload(Service.organization).selectinload(Organization.locations),
            selectinload(Service.service_areas),
        )
    )


def _active_on(on: date) -> ColumnElement[bool]:
    return and_(
        HubNetworkMembership.start_date <= on,
        or_(HubNetworkMembership.end_date.is_(None), HubNetworkMembership.end_date >= on),
    )


def hub_network(session: Session, hub_id: int, on: date) -> list[Organization]:
    """The CBOs in a hub's network on a date."""
    return list(
        session.scalars(
            select(Organization)
            .join(HubNetworkMembership, HubNetworkMembership.cbo_id == Organization.id)
            .where(HubNetworkMembership.hub_id == hub_id, _active_on(on))
            .distinct()
            .order_by(Organization.name)
        )
    )


def hubs_of(session: Session, cbo_id: int, on: date) -> list[Organization]:
    return list(
        session.scalars(
            select(Organization)
            .join(HubNetworkMembership, HubNetworkMembership.hub_id == Organization.id)
            .where(HubNetworkMembership.cbo_id == cbo_id, _active_on(on))
            .distinct()
            .order_by(Organization.name)
        )
    )


def in_network(session: Session, hub_id: int, cbo_id: int, on: date) -> bool:
    return session.scalar(select(HubNetworkMembership.id).where(
        HubNetworkMembership.hub_id == hub_id, HubNetworkMembership.cbo_id == cbo_id, _active_on(on)).limit(1)
    ) is not None


def has_accounts(session: Session, org_id: int) -> bool:
    return session.scalar(select(User.id).where(User.organization_id == org_id).limit(1)) is not None


def network_size(session: Session, hub_id: int, on: date) -> int:
    return session.scalar(
        select(func.count(func.distinct(HubNetworkMembership.cbo_id))).where(
            HubNetworkMembership.hub_id == hub_id, _active_on(on)
        )
    ) or 0


def counties(session: Session) -> list[tuple[str, str]]:
    """(state, county) pairs named by any service area, for the search form."""
    rows = session.execute(
        select(ServiceArea.state, ServiceArea.county)
        .where(ServiceArea.county.is_not(None))
        .distinct()
        .order_by(ServiceArea.state, ServiceArea.county)
    )
    return [(s, c) for s, c in rows]


def counts(session: Session) -> dict[str, int]:
    by_kind = dict(session.execute(select(Organization.kind, func.count()).group_by(Organization.kind)).all())
    services = session.scalar(select(func.count()).select_from(Service).where(Service.status == "active")) or 0
    return {
        "cbo": int(by_kind.get("cbo", 0)),
        "community_care_hub": int(by_kind.get("community_care_hub", 0)),
        "health_plan": int(by_kind.get("health_plan", 0)),
        "services": int(services),
    }


def listing_relation(session: Session, principal: Principal, org: Organization) -> str | None:
    """'own' (the principal's organization), 'network' (a CBO in the principal's hub network today) or None."""
    if org.id == principal.org_id:
        return "own"
    if principal.is_hub and org.kind == "cbo":
        on = today()
        found = session.scalar(select(HubNetworkMembership.id).where(
            HubNetworkMembership.hub_id == principal.org_id, HubNetworkMembership.cbo_id == org.id,
            _active_on(on)).limit(1))
        if found is not None:
            return "network"
    return None
