"""Organization, Location, HealthcareService and Patient <-> socialcare.

Directory resources are readable by every partner (directory:read); Patient is a member record:
read only through ``member_visibility`` (a plan its own members, a hub or CBO members shared with it
by referral and consent), every read audited.
"""

from __future__ import annotations

import copy
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.core.errors import Forbidden, InvalidInput, Problem
from socialcare.directory import service as directory_service
from socialcare.directory.models import Location, Organization, Service
from socialcare.interop.fhir import store
from socialcare.interop.fhir.base import TEMP_CODES, FhirError, parse, to_json, with_meta
from socialcare.kit.codes import NEED_DOMAINS, OrgKind
from socialcare.members.models import Member
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role
from socialcare.security.sharing import member_visibility

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
ORG_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/organization-type"
ORG_KIND_SYSTEM = "https://socialcare.example.org/CodeSystem/organization-kind"
MEMBER_ID_SYSTEM = "https://socialcare.example.org/plan/{plan_id}/member-id"
KIND_TO_TYPE = {OrgKind.HEALTH_PLAN: ("pay", "Payer"), OrgKind.HUB: ("cg", "Community Group"),
                OrgKind.CBO: ("cg", "Community Group")}
SEX_TO_GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def _merge(raw: dict | None, built: dict) -> dict:
    """The kept JSON with socialcare's current values on top: what we model wins, the rest survives."""
    out = copy.deepcopy(raw) if raw else {}
    out.update({k: v for k, v in built.items() if v not in (None, [], {})})
    return out


def _address(line, city, state, postal, county=None) -> list[dict]:
    if not any((line, city, state, postal)):
        return []
    a = {"line": [line] if line else None, "city": city, "state": state, "postalCode": postal, "district": county}
    return [{k: v for k, v in a.items() if v}]


# ---- Organization --------------------------------------------------------------------------


def organization_to_fhir(session: Session, org: Organization) -> dict:
    fid = store.fhir_id(session, "Organization", "organization", org.id)
    rec = store.record(session, "Organization", fid)
    code, display = KIND_TO_TYPE.get(org.kind, ("other", "Other"))
    built = {
        "resourceType": "Organization", "id": fid, "active": True, "name": org.name,
        "identifier": [i for i in (
            {"system": NPI_SYSTEM, "value": org.npi} if org.npi else None,
            {"system": TIN_SYSTEM, "value": org.tax_id} if org.tax_id else None,
        ) if i],
        "type": [{"coding": [{"system": ORG_KIND_SYSTEM, "code": org.kind},
                             {"system": ORG_TYPE_SYSTEM, "code": code, "display": display}]}],
        "telecom": [t for t in (
            {"system": "phone", "value": org.phone} if org.phone else None,
            {"system": "email", "value": org.email} if org.email else None,
            {"system": "url", "value": org.website} if org.website else None,
        ) if t],
        "address": _address(org.address_1, org.city, org.state, org.postal_code, org.county),
    }
    if rec is not None:  # an organization that came from outside: its own identifiers and types stay
        raw = rec.body
        built = {k: v for k, v in built.items() if k not in ("type", "identifier", "telecom", "address")
                 or not raw.get(k)}
        return to_json(with_meta(_merge(raw, built), rec.version_id, rec.last_updated))
    return to_json(with_meta(built, 1, org.updated_at, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"))


def organization_from_fhir(session: Session, principal: Principal, body: dict, fid: str | None) -> Organization:
    """Add or update a directory organization from a FHIR Organization (directory:write)."""
    principal.require("directory:write")
    res = parse(body, "Organization")
    if not res.name:
        raise FhirError("An organization needs a name.", expression="Organization.name")
    kind = None
    for cc in res.type or []:
        for c in cc.coding or []:
            if c.system == ORG_KIND_SYSTEM and c.code in {k.value for k in OrgKind}:
                kind = c.code
            elif c.system == ORG_TYPE_SYSTEM and c.code == "pay" and kind is None:
                kind = OrgKind.HEALTH_PLAN.value
    npi = next((i.value for i in res.identifier or [] if i.system == NPI_SYSTEM), None)
    addr = (res.address or [None])[0]
    phone = next((t.value for t in res.telecom or [] if t.system == "phone"), None)
    local = store.local_id(session, "Organization", fid, "organization") if fid else None
    org = session.get(Organization, local) if local else None
    if org is None:
        # a create never overwrites: the same name is the same organization, changed only by whoever may
        same = session.scalar(select(Organization).where(Organization.name == res.name[:200]))
        if same is not None and fid is None:
            raise FhirError(f"Organization '{res.name}' already exists as Organization/"
                            f"{store.fhir_id(session, 'Organization', 'organization', same.id)}; PUT to change it.",
                            status_code=409, code="duplicate")
        org = same
    values = dict(
        name=res.name[:200], npi=npi if npi and len(npi) == 10 else None, phone=(phone or None) and phone[:30],
        address_1=(addr.line[0][:200] if addr and addr.line else None) if addr else None,
        city=addr.city if addr else None, state=addr.state if addr and addr.state and len(addr.state) == 2 else None,
        postal_code=(addr.postalCode[:10] if addr and addr.postalCode else None),
    )
    existed = org is not None
    if org is None:
        org = Organization(kind=kind or OrgKind.CBO.value, description="", **values)
        session.add(org)
    else:
        rec = store.for_local(session, "Organization", "organization", org.id)
        directory_service.require_edit_organization(
            session, principal, org, "fhir.organization.write",
            listed_by_principal=rec is not None and rec.organization_id == principal.org_id)
        if kind and kind != org.kind:
            raise FhirError(f"{org.name} is a {org.kind.replace('_', ' ')}; an organization's kind does not "
                            "change through FHIR.", expression="Organization.type", status_code=409,
                            code="business-rule")
        if values["name"] != org.name and session.scalar(select(Organization.id).where(
                Organization.name == values["name"], Organization.id != org.id)) is not None:
            raise FhirError(f"Another organization is named '{res.name}'.", expression="Organization.name",
                            status_code=409, code="duplicate")
        for k, v in values.items():
            if v is not None:
                setattr(org, k, v)
    session.flush()
    fid = fid or str(org.id)
    # kept (with a new version) on every write, also under our own id: versionId, ETag and vread
    store.save(session, "Organization", fid, dict(body, id=fid), organization_id=principal.org_id,
               local_type="organization", local_id=org.id, served_before=existed)
    audit.record(session, principal, "fhir.organization.write", object_type="organization", object_id=org.id)
    return org


def search_organizations(session: Session, *, name: str | None, identifier: str | None, ids: list[int] | None,
                         limit: int, name_exact: str | None = None) -> tuple[list[Organization], int]:
    stmt = select(Organization)
    if name:
        stmt = stmt.where(func.lower(Organization.name).like(f"%{name.lower()}%"))
    if name_exact:  # FHIR's :exact modifier: the whole name, case and accents included
        stmt = stmt.where(Organization.name == name_exact)
    if identifier:
        stmt = stmt.where(Organization.npi == identifier.split("|")[-1])
    if ids is not None:
        stmt = stmt.where(Organization.id.in_(ids))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(Organization.id).limit(limit))), total


# ---- Location and HealthcareService ----------------------------------------------------------


def location_to_fhir(session: Session, loc: Location) -> dict:
    pos = {"latitude": loc.latitude, "longitude": loc.longitude} if loc.latitude is not None and loc.longitude is not None else None
    built = {
        "resourceType": "Location", "id": str(loc.id), "status": "active", "name": loc.name, "mode": "instance",
        "address": (_address(loc.address_1, loc.city, loc.state, loc.postal_code, loc.county) or [None])[0],
        "position": pos,
        "managingOrganization": {"reference": f"Organization/{store.fhir_id(session, 'Organization', 'organization', loc.organization_id)}"},
    }
    return to_json(with_meta({k: v for k, v in built.items() if v is not None}, 1, None,
                             "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Location"))


def service_to_fhir(session: Session, svc: Service) -> dict:
    info = NEED_DOMAINS.get(svc.need_domain)
    org_ref = f"Organization/{store.fhir_id(session, 'Organization', 'organization', svc.organization_id)}"
    built = {
        "resourceType": "HealthcareService", "id": str(svc.id), "active": svc.status == "active",
        "providedBy": {"reference": org_ref}, "name": svc.name, "comment": svc.description or None,
        "category": [{"coding": [{"system": TEMP_CODES, "code": info.sdoh_category, "display": info.label}]}] if info else None,
        "type": [{"coding": [{"system": "https://socialcare.example.org/CodeSystem/need-domain", "code": svc.need_domain}],
                  "text": info.label if info else svc.need_domain}],
        "specialty": [{"coding": [{"system": "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
                                   "code": svc.service_code}]}] if svc.service_code else None,
        "communication": [{"coding": [{"system": "urn:ietf:bcp:47", "code": c}]} for c in svc.languages or []] or None,
        "location": [{"reference": f"Location/{loc.id}"} for loc in svc.organization.locations] or None,
        "eligibility": [{"comment": svc.eligibility_description}] if svc.eligibility_description else None,
    }
    return to_json(with_meta({k: v for k, v in built.items() if v is not None}, 1, svc.updated_at,
                             "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-HealthcareService"))


def sdoh_category_domains(code: str) -> list[str]:
    return [d.value for d, info in NEED_DOMAINS.items() if info.sdoh_category == code or d.value == code]


# ---- Patient ---------------------------------------------------------------------------------


def patient_to_fhir(session: Session, member: Member) -> dict:
    fid = store.fhir_id(session, "Patient", "member", member.id)
    rec = store.record(session, "Patient", fid)
    built = {
        "resourceType": "Patient", "id": fid, "active": True,
        "identifier": [{"use": "usual", "system": MEMBER_ID_SYSTEM.format(plan_id=member.plan_id),
                        "value": member.plan_member_id,
                        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB",
                                             "display": "Member Number"}]}}],
        "name": [{"family": member.last_name, "given": [member.first_name]}],
        "gender": SEX_TO_GENDER.get(member.sex, "unknown"), "birthDate": member.birth_date.isoformat(),
        "telecom": [{"system": "phone", "value": member.phone}] if member.phone else [],
        "address": _address(member.address_1, member.city, member.state, member.zip, member.county),
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": member.preferred_language}]}}],
    }
    if rec is not None:
        raw = rec.body
        ours = built["identifier"][0]
        built["identifier"] = [*(raw.get("identifier") or []), ours] if not any(
            i.get("value") == member.plan_member_id for i in raw.get("identifier") or []) else raw["identifier"]
        for k in ("name", "telecom", "address", "communication"):
            if raw.get(k):
                built.pop(k)
        return to_json(with_meta(_merge(raw, built), rec.version_id, rec.last_updated))
    return to_json(with_meta(built, 1, member.updated_at, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"))


def visible_member(session: Session, principal: Principal, member_id: int | None, action: str = "member.read") -> Member:
    member = session.scalar(select(Member).where(Member.id == member_id, member_visibility(principal))) if member_id else None
    if member is None:
        audit.record_denied(session, principal, action, object_type="member", object_id=member_id, member_id=member_id,
                            reason="not visible to this organization (FHIR)")
        raise Forbidden("This patient is not in your organization's view: it does not exist, or it is not shared "
                        "with your organization (referral and consent).")
    audit.record(session, principal, action, object_type="member", object_id=member.id, member_id=member.id)
    return member


def member_for_reference(session: Session, principal: Principal, reference: str | None, expression: str) -> Member:
    from socialcare.interop.fhir.base import ref_parts

    rtype, fid = ref_parts(reference)
    if rtype != "Patient":
        raise FhirError("Must reference a Patient.", expression=expression)
    return visible_member(session, principal, store.local_id(session, "Patient", fid, "member"), "member.read")


def patient_from_fhir(session: Session, principal: Principal, body: dict, fid: str | None,
                      product_line: str = "medicaid") -> Member:
    """A plan adds or updates one of its members from a FHIR Patient (members are the plan's roster)."""
    if not (principal.is_plan and is_plan_role(principal.role)):
        raise Forbidden("Only a health plan adds patients (members) to its roster.")
    res = parse(body, "Patient")
    problems = []
    if not res.birthDate:
        problems.append(Problem("a member needs a birth date", field="Patient.birthDate"))
    name = (res.name or [None])[0]
    if not name or not name.family or not name.given:
        problems.append(Problem("a member needs a family and a given name", field="Patient.name"))
    if problems:
        raise InvalidInput("The Patient was not saved.", problems)
    ours = MEMBER_ID_SYSTEM.format(plan_id=principal.org_id)
    idents = res.identifier or []
    pmid = next((i.value for i in idents if i.system == ours), None) or next(
        (i.value for i in idents if i.value), None) or fid
    if not pmid:
        raise FhirError("Give the plan's member id as an identifier.", expression="Patient.identifier")
    local = store.local_id(session, "Patient", fid, "member") if fid else None
    member = session.get(Member, local) if local else None
    if member is not None and member.plan_id != principal.org_id:
        raise Forbidden("This patient belongs to another plan.")
    if member is None:
        member = session.scalar(select(Member).where(Member.plan_id == principal.org_id,
                                                     Member.plan_member_id == pmid[:40]))
    addr = (res.address or [None])[0]
    phone = next((t.value for t in res.telecom or [] if t.system == "phone"), None)
    values = dict(
        first_name=name.given[0][:100], last_name=name.family[:100],
        birth_date=res.birthDate if isinstance(res.birthDate, date) else date.fromisoformat(str(res.birthDate)),
        sex=res.gender if res.gender in SEX_TO_GENDER else "unknown",
        address_1=(addr.line[0][:200] if addr and addr.line else None), city=addr.city if addr else None,
        state=addr.state if addr and addr.state and len(addr.state) == 2 else None,
        zip=(addr.postalCode[:5] if addr and addr.postalCode else None), phone=(phone or None) and phone[:30],
    )
    existed = member is not None
    if member is None:
        member = Member(plan_id=principal.org_id, plan_member_id=pmid[:40], product_line=product_line,
                        preferred_language="en", **values)
        session.add(member)
    else:
        for k, v in values.items():
            if v is not None:
                setattr(member, k, v)
    session.flush()
    fid = fid or str(member.id)
    store.save(session, "Patient", fid, dict(body, id=fid), member_id=member.id, local_type="member",
               local_id=member.id, served_before=existed)
    audit.record(session, principal, "fhir.patient.write", object_type="member", object_id=member.id,
                 member_id=member.id)
    return member
