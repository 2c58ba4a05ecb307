"""A partner edits its own directory listing (description, contact, hours, service areas and, per
service, capacity, languages and status); a hub's administrator edits its network CBOs' listings.

Who may edit which listing is decided here: the organization's own administrator (``listing:edit``),
a hub administrator for a CBO in its network today (``listing:network``), or a plan administrator
(``directory:write``). Every save is audited with the fields that changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from socialcare.core.errors import Forbidden, InvalidInput, NotFound, Problem
from socialcare.directory import repository as repo
from socialcare.directory.models import Organization, Service, ServiceArea
from socialcare.security import audit
from socialcare.security.principal import Principal

SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
_LANG = re.compile(r"^[a-z]{2}$")
_ZIP = re.compile(r"^\d{5}$")


def can_edit(session: Session, principal: Principal, org: Organization) -> bool:
    relation = repo.listing_relation(session, principal, org)
    if relation == "own" and principal.can("listing:edit"):
        return True
    if principal.is_plan and principal.can("directory:write"):
        return True
    return relation == "network" and principal.can("listing:network")


def editable_org(session: Session, principal: Principal, org_id: int) -> Organization:
    org = repo.organization(session, org_id)
    if org is None:
        raise NotFound(f"There is no organization {org_id} in the directory.")
    if not can_edit(session, principal, org):
        raise Forbidden("You may edit your own organization's listing (and, for a hub, its network CBOs').")
    return org


@dataclass
class ServiceEdit:
    service_id: int
    capacity_per_month: str = ""
    languages: str = ""  # "en, es"
    status: str = "active"
    description: str | None = None


@dataclass
class ListingEdit:
    description: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    hours: str = ""
    areas: str = ""  # one per line: "Erie, NY" (county) or "14201" (zip)
    services: list[ServiceEdit] = field(default_factory=list)


def areas_text(org: Organization) -> str:
    return "\n".join(f"{a.county}, {a.state}" if a.county else f"{a.postal_code}" for a in org.service_areas)


def _parse_areas(text: str, default_state: str) -> tuple[list[dict], list[Problem]]:
    rows, problems = [], []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if _ZIP.match(line):
            rows.append({"state": default_state, "county": None, "postal_code": line})
            continue
        name, _, state = line.partition(",")
        name = re.sub(r"\s+county$", "", name.strip(), flags=re.I)
        state = (state.strip() or default_state).upper()
        if not name or not re.match(r"^[A-Z]{2}$", state):
            problems.append(Problem(f"line {n}: write a county as 'Erie, NY' or a five-digit zip", field="areas"))
            continue
        rows.append({"state": state, "county": name, "postal_code": None})
    return rows, problems


def update_listing(session: Session, principal: Principal, org_id: int, edit: ListingEdit) -> list[str]:
    """Validate everything, then save; returns the names of the fields that changed."""
    org = editable_org(session, principal, org_id)
    problems: list[Problem] = []
    if edit.email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", edit.email.strip()):
        problems.append(Problem("not an email address", field="email"))
    if edit.website and not re.match(r"^https?://", edit.website.strip()):
        problems.append(Problem("a website starts with https://", field="website"))
    areas, area_problems = _parse_areas(edit.areas, org.state or "NY")
    problems += area_problems
    services = {s.id: s for s in org.services}
    cleaned: list[tuple[Service, int | None, list[str], str, str | None]] = []
    for e in edit.services:
        svc = services.get(e.service_id)
        if svc is None:
            problems.append(Problem(f"service {e.service_id} is not this organization's", field="services"))
            continue
        cap = None
        if (e.capacity_per_month or "").strip():
            try:
                cap = int(e.capacity_per_month)
                if cap < 0:
                    raise ValueError
            except ValueError:
                problems.append(Problem(f"{svc.name}: capacity is a whole number of 0 or more",
                                        field=f"capacity_{svc.id}"))
        langs = [x.strip().lower() for x in re.split(r"[,\s]+", e.languages or "") if x.strip()]
        bad = [x for x in langs if not _LANG.match(x)]
        if bad:
            problems.append(Problem(f"{svc.name}: languages are two-letter codes such as en, es ({', '.join(bad)})",
                                    field=f"languages_{svc.id}"))
        if e.status not in SERVICE_STATUSES:
            problems.append(Problem(f"{svc.name}: status is one of {', '.join(SERVICE_STATUSES)}",
                                    field=f"status_{svc.id}"))
        cleaned.append((svc, cap, langs, e.status, e.description))
    if problems:
        raise InvalidInput("The listing was not saved.", problems)
    changed: list[str] = []
    for name in ("description", "phone", "email", "website", "hours"):
        value = (getattr(edit, name) or "").strip()
        old = getattr(org, name) or ""
        if value != old:
            setattr(org, name, value if name == "description" else (value or None))
            changed.append(name)
    if sorted((a["state"], a["county"] or "", a["postal_code"] or "") for a in areas) != sorted(
            (a.state, a.county or "", a.postal_code or "") for a in org.service_areas):
        session.execute(delete(ServiceArea).where(ServiceArea.organization_id == org.id,
                                                  ServiceArea.service_id.is_(None)))
        if areas:
            session.execute(insert(ServiceArea), [dict(organization_id=org.id, service_id=None, **a) for a in areas])
        session.expire(org, ["service_areas"])
        changed.append("service areas")
    for svc, cap, langs, status, description in cleaned:
        if svc.capacity_per_month != cap:
            svc.capacity_per_month = cap
            changed.append(f"{svc.name}: capacity")
        if list(svc.languages or []) != langs:
            svc.languages = langs
            changed.append(f"{svc.name}: languages")
        if svc.status != status:
            svc.status = status
            changed.append(f"{svc.name}: status")
        if description is not None and description.strip() != (svc.description or ""):
            svc.description = description.strip()
            changed.append(f"{svc.name}: description")
    audit.record(session, principal, "directory.listing.update", object_type="organization", object_id=org.id,
                 detail={"changed": changed, "on_behalf": repo.listing_relation(session, principal, org) != "own"})
    session.flush()
    return changed
