"""The FHIR R4 API at /fhir (HL7 FHIR SDOH Clinical Care IG, STU 2.x and 3.0 content): read, search,
create and update, with the same bearer tokens and scoping as /api/v1. Responses are
application/fhir+json; errors are OperationOutcomes naming the element.

Mounted at the site root by interop/pages.py (pages routers are mounted without a prefix).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import selectinload

from socialcare.core.errors import NotFound
from socialcare.directory.models import Location, Organization, Service
from socialcare.interop.fhir import clinical, directory, patient_tasks, store
from socialcare.interop.fhir import referrals as fref
from socialcare.interop.fhir.base import (
    FHIR_JSON,
    FhirError,
    FhirRoute,
    bundle,
    fhir_response,
    parse_instant,
    ref_parts,
    to_json,
)
from socialcare.members.models import Member
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.sharing import member_visibility
from socialcare.web.deps import DbSession, api_principal

router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute)


def fhir_principal(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
    return replace(principal, via="fhir")


Who = Annotated[Principal, Depends(fhir_principal)]
COUNT = Query(50, alias="_count", ge=1, le=500)


async def _body(request: Request) -> dict:
    import json

    try:
        return json.loads(await request.body())
    except ValueError:
        raise FhirError("The body is not JSON.") from None


def _same_id(body: dict, fid: str, rtype: str) -> None:
    """An update names its resource twice (URL and body); the two must agree."""
    if body.get("id") not in (None, fid):
        raise FhirError("The id in the body differs from the URL.", expression=f"{rtype}.id")


def _version(if_match: str | None) -> int | None:
    if not if_match:
        return None
    v = if_match.strip().removeprefix("W/").strip('"')
    if not v.isdigit():
        raise FhirError("If-Match is W/\"<versionId>\".", expression="If-Match")
    return int(v)


def _created(resource: dict, request: Request) -> object:
    loc = f"{str(request.base_url).rstrip('/')}/fhir/{resource['resourceType']}/{resource['id']}"
    return fhir_response(resource, 201, {"Location": loc, "ETag": f'W/"{resource["meta"]["versionId"]}"'})


# ---- metadata ----------------------------------------------------------------------------------


@router.get("/metadata")
def capability(request: Request, principal: Who):
    from socialcare.interop.fhir.capability import capability_statement

    return fhir_response(capability_statement(str(request.base_url).rstrip("/") + "/fhir"))


# ---- directory -----------------------------------------------------------------------------------


def _dir_reader(principal: Principal) -> None:
    principal.require("directory:read")


@router.get("/Organization/{fid}")
def read_organization(fid: str, db: DbSession, principal: Who):
    _dir_reader(principal)
    org = db.get(Organization, store.local_id(db, "Organization", fid, "organization") or -1)
    if org is None:
        raise NotFound(f"Organization/{fid} is not on this server.")
    return fhir_response(directory.organization_to_fhir(db, org))


@router.get("/Organization")
def search_organization(request: Request, db: DbSession, principal: Who, name: str | None = None,
                        name_exact: str | None = Query(None, alias="name:exact"),
                        identifier: str | None = None, _id: str | None = Query(None, alias="_id"),
                        count: int = COUNT):
    _dir_reader(principal)
    ids = None
    if _id:
        ids = [i for i in (store.local_id(db, "Organization", x, "organization") for x in _id.split(",")) if i]
    orgs, total = directory.search_organizations(db, name=name, identifier=identifier, ids=ids, limit=count,
                                                 name_exact=name_exact)
    return fhir_response(bundle([directory.organization_to_fhir(db, o) for o in orgs], request, total))


@router.post("/Organization")
async def create_organization(request: Request, db: DbSession, principal: Who):
    org = directory.organization_from_fhir(db, principal, await _body(request), None)
    return _created(directory.organization_to_fhir(db, org), request)


@router.put("/Organization/{fid}")
async def put_organization(fid: str, request: Request, db: DbSession, principal: Who):
    body = await _body(request)
    _same_id(body, fid, "Organization")
    org = directory.organization_from_fhir(db, principal, body, fid)
    return fhir_response(directory.organization_to_fhir(db, org))


@router.get("/Location/{fid}")
def read_location(fid: str, db: DbSession, principal: Who):
    _dir_reader(principal)
    loc = db.get(Location, int(fid)) if fid.isdigit() else None
    if loc is None:
        raise NotFound(f"Location/{fid} is not on this server.")
    return fhir_response(directory.location_to_fhir(db, loc))


@router.get("/Location")
def search_location(request: Request, db: DbSession, principal: Who, organization: str | None = None,
                    address_postalcode: str | None = Query(None, alias="address-postalcode"),
                    name: str | None = None, count: int = COUNT):
    _dir_reader(principal)
    stmt = select(Location)
    if organization:
        stmt = stmt.where(Location.organization_id == store.local_for_param(db, "Organization", organization,
                                                                            "organization"))
    if address_postalcode:
        stmt = stmt.where(Location.postal_code == address_postalcode)
    if name:
        stmt = stmt.where(func.lower(Location.name).like(f"%{name.lower()}%"))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    locs = db.scalars(stmt.order_by(Location.id).limit(count)).all()
    return fhir_response(bundle([directory.location_to_fhir(db, x) for x in locs], request, total))


@router.get("/HealthcareService/{fid}")
def read_service(fid: str, db: DbSession, principal: Who):
    _dir_reader(principal)
    svc = db.get(Service, int(fid)) if fid.isdigit() else None
    if svc is None:
        raise NotFound(f"HealthcareService/{fid} is not on this server.")
    return fhir_response(directory.service_to_fhir(db, svc))


@router.get("/HealthcareService")
def search_service(request: Request, db: DbSession, principal: Who, organization: str | None = None,
                   service_category: str | None = Query(None, alias="service-category"), name: str | None = None,
                   count: int = COUNT):
    _dir_reader(principal)
    stmt = select(Service).options(selectinload(Service.organization).selectinload(Organization.locations))
    if organization:
        stmt = stmt.where(Service.organization_id == store.local_for_param(db, "Organization", organization,
                                                                           "organization"))
    if service_category:
        code = service_category.split("|")[-1]
        stmt = stmt.where(Service.need_domain.in_(directory.sdoh_category_domains(code) or [code]))
    if name:
        stmt = stmt.where(func.lower(Service.name).like(f"%{name.lower()}%"))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    svcs = db.scalars(stmt.order_by(Service.id).limit(count)).all()
    return fhir_response(bundle([directory.service_to_fhir(db, s) for s in svcs], request, total))


# ---- Patient (scoped, consent-gated, audited) -----------------------------------------------------


@router.get("/Patient/{fid}")
def read_patient(fid: str, db: DbSession, principal: Who):
    member = directory.visible_member(db, principal, store.local_id(db, "Patient", fid, "member"))
    return fhir_response(directory.patient_to_fhir(db, member))


@router.get("/Patient")
def search_patient(request: Request, db: DbSession, principal: Who, identifier: str | None = None,
                   family: str | None = None, name: str | None = None, birthdate: str | None = None,
                   _id: str | None = Query(None, alias="_id"), count: int = COUNT):
    stmt = select(Member).where(member_visibility(principal))
    if identifier:
        stmt = stmt.where(Member.plan_member_id == identifier.split("|")[-1])
    if family:
        stmt = stmt.where(func.lower(Member.last_name) == family.lower())
    if name:
        stmt = stmt.where(or_(func.lower(Member.last_name).like(f"%{name.lower()}%"),
                              func.lower(Member.first_name).like(f"%{name.lower()}%")))
    if birthdate:
        stmt = stmt.where(Member.birth_date == birthdate)
    if _id:
        stmt = stmt.where(Member.id.in_([store.local_id(db, "Patient", x, "member") or -1 for x in _id.split(",")]))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    members = db.scalars(stmt.order_by(Member.id).limit(count)).all()
    audit.record_member_reads(db, principal, [m.id for m in members], action="member.list")
    return fhir_response(bundle([directory.patient_to_fhir(db, m) for m in members], request, total))


@router.post("/Patient")
async def create_patient(request: Request, db: DbSession, principal: Who):
    member = directory.patient_from_fhir(db, principal, await _body(request), None)
    return _created(directory.patient_to_fhir(db, member), request)


@router.put("/Patient/{fid}")
async def put_patient(fid: str, request: Request, db: DbSession, principal: Who):
    body = await _body(request)
    _same_id(body, fid, "Patient")
    member = directory.patient_from_fhir(db, principal, body, fid)
    return fhir_response(directory.patient_to_fhir(db, member))


# ---- ServiceRequest and Task (referrals) ----------------------------------------------------------


def _referral(db, principal: Principal, rtype: str, fid: str):
    from socialcare.referrals import service as referrals

    ref_id = store.local_id(db, rtype, fid, "referral")
    if ref_id is None:
        raise NotFound(f"{rtype}/{fid} is not a referral on this server.")
    return referrals.get_referral(db, principal, ref_id)


def _is_patient_task(db, fid: str) -> bool:
    rec = store.record(db, "Task", fid)
    return rec is not None and rec.local_type == "patient-task"


@router.get("/Task/{fid}")
def read_task(fid: str, db: DbSession, principal: Who):
    if _is_patient_task(db, fid):
        return fhir_response(clinical.read(db, principal, "Task", fid))
    ref = _referral(db, principal, "Task", fid)
    return fhir_response(fref.task_to_fhir(db, ref), headers={"ETag": f'W/"{ref.version}"'})


@router.post("/Task")
async def create_task(request: Request, db: DbSession, principal: Who):
    body = await _body(request)
    if patient_tasks.is_patient_task(body):
        return _created(clinical.save(db, principal, body, None, "Task"), request)
    ref = fref.create_task(db, principal, body)
    return _created(fref.task_to_fhir(db, ref), request)


@router.put("/Task/{fid}")
async def put_task(fid: str, request: Request, db: DbSession, principal: Who,
                   if_match: Annotated[str | None, Header()] = None):
    body = await _body(request)
    _same_id(body, fid, "Task")
    if patient_tasks.is_patient_task(body):
        if store.local_id(db, "Task", fid, "referral") is not None:
            raise FhirError(f"Task/{fid} is a referral, not a Task for Patient.", expression="Task.code",
                            status_code=409, code="conflict")
        new = store.record(db, "Task", fid) is None
        saved = clinical.save(db, principal, body, fid, "Task")
        return _created(saved, request) if new else fhir_response(saved)
    if _is_patient_task(db, fid):
        raise FhirError(f"Task/{fid} is a Task for Patient; it cannot become a referral.", expression="Task.code",
                        status_code=409, code="conflict")
    if store.local_id(db, "Task", fid, "referral") is None:
        ref = fref.create_task(db, principal, body, fid)  # update-as-create with the client's id
        return _created(fref.task_to_fhir(db, ref), request)
    ref = fref.update_task(db, principal, fid, body, _version(if_match))
    return fhir_response(fref.task_to_fhir(db, ref), headers={"ETag": f'W/"{ref.version}"'})


@router.get("/Task")
def search_task(
    request: Request, db: DbSession, principal: Who,
    owner: str | None = None, requester: str | None = None, status: str | None = None,
    owner_missing: str | None = Query(None, alias="owner:missing"),
    last_updated: list[str] = Query([], alias="_lastUpdated"),
    patient: str | None = None, subject: str | None = None, part_of: str | None = Query(None, alias="part-of"),
    include: list[str] = Query([], alias="_include"), count: int = COUNT,
):
    """The IG's polling queries: Task?owner=...&_lastUpdated=gt..., Task?requester=...,
    Task?owner:missing=true&status=requested, with _include=Task:focus."""
    from socialcare.referrals.models import Referral
    from socialcare.referrals.repository import referral_visibility

    principal.require("referrals:read")
    stmt = select(Referral).where(referral_visibility(principal))

    def org_id(value: str) -> int:
        return store.local_for_param(db, "Organization", value, "organization")

    if owner:
        stmt = stmt.where(Referral.owner_org_id == org_id(owner))
    if owner_missing == "true":
        stmt = stmt.where(Referral.owner_org_id.is_(None))
    elif owner_missing == "false":
        stmt = stmt.where(Referral.owner_org_id.is_not(None))
    if requester:
        stmt = stmt.where(Referral.requester_org_id == org_id(requester))
    if status:
        stmt = stmt.where(Referral.status.in_(status.split(",")))
    for p in patient, subject:
        if p:
            stmt = stmt.where(Referral.member_id == store.local_for_param(db, "Patient", p, "member"))
    if part_of:
        stmt = stmt.where(Referral.parent_id == store.local_for_param(db, "Task", part_of, "referral"))
    for lu in last_updated:
        prefix, value = (lu[:2], lu[2:]) if lu[:2] in ("gt", "ge", "lt", "le", "eq") else ("eq", lu)
        try:
            when = parse_instant(value)
        except ValueError:
            raise FhirError("_lastUpdated is an instant, e.g. gt2025-03-01T00:00:00Z.", expression="_lastUpdated") from None
        col = Referral.updated_at
        stmt = stmt.where({"gt": col > when, "ge": col >= when, "lt": col < when, "le": col <= when,
                           "eq": col == when}[prefix])
    if owner_missing not in (None, "true", "false"):
        stmt = stmt.where(false())
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    refs = db.scalars(stmt.order_by(Referral.updated_at, Referral.id).limit(count)).all()
    audit.record(db, principal, "fhir.task.search", object_type="referral", detail={"count": len(refs)})
    includes = [fref.sr_to_fhir(db, r) for r in refs] if any(i in ("Task:focus", "Task:focus:ServiceRequest")
                                                             for i in include) else []
    tasks = [fref.task_to_fhir(db, r) for r in refs]
    about = patient or subject or (owner if owner and ref_parts(owner)[0] == "Patient" else None)
    if about and not (requester or part_of or owner_missing):  # and the member's Tasks for Patient
        theirs, n = clinical.search(db, principal, "Task", about, 500 if status else count)
        if status:  # one member's Tasks for Patient are few: filter here, count what is left
            theirs = [t for t in theirs if t.get("status") in status.split(",")]
            n = len(theirs)
        tasks += theirs[:count]
        total += n
    return fhir_response(bundle(tasks, request, total, includes))


@router.get("/ServiceRequest/{fid}")
def read_service_request(fid: str, db: DbSession, principal: Who):
    ref_id = store.local_id(db, "ServiceRequest", fid, "referral")
    if ref_id is None:  # posted, not yet the focus of a Task: its author may read it
        return fhir_response(clinical_like_read(db, principal, "ServiceRequest", fid))
    return fhir_response(fref.sr_to_fhir(db, _referral(db, principal, "ServiceRequest", fid)))


def clinical_like_read(db, principal: Principal, rtype: str, fid: str) -> dict:
    rec = store.record(db, rtype, fid)
    if rec is None:
        raise NotFound(f"{rtype}/{fid} is not on this server.")
    return clinical.read(db, principal, rtype, fid)


@router.post("/ServiceRequest")
async def create_service_request(request: Request, db: DbSession, principal: Who):
    return _created(fref.create_service_request(db, principal, await _body(request)), request)


@router.put("/ServiceRequest/{fid}")
async def put_service_request(fid: str, request: Request, db: DbSession, principal: Who):
    body = await _body(request)
    _same_id(body, fid, "ServiceRequest")
    return _created(fref.create_service_request(db, principal, body, fid), request)


# ---- clinical resources ---------------------------------------------------------------------------


def _clinical_routes(rtype: str) -> None:
    async def create(request: Request, db: DbSession, principal: Who):
        return _created(clinical.save(db, principal, await _body(request), None, rtype), request)

    async def put(fid: str, request: Request, db: DbSession, principal: Who):
        body = await _body(request)
        _same_id(body, fid, rtype)
        return fhir_response(clinical.save(db, principal, body, fid, rtype))

    def read(fid: str, db: DbSession, principal: Who):
        return fhir_response(clinical.read(db, principal, rtype, fid))

    def search(request: Request, db: DbSession, principal: Who, patient: str | None = None,
               subject: str | None = None, count: int = COUNT):
        items, total = clinical.search(db, principal, rtype, patient or subject, count)
        return fhir_response(bundle(items, request, total))

    router.add_api_route(f"/{rtype}", create, methods=["POST"], name=f"create_{rtype}")
    router.add_api_route(f"/{rtype}/{{fid}}", put, methods=["PUT"], name=f"put_{rtype}")
    router.add_api_route(f"/{rtype}/{{fid}}", read, methods=["GET"], name=f"read_{rtype}")
    router.add_api_route(f"/{rtype}", search, methods=["GET"], name=f"search_{rtype}")


for _rtype in clinical.CLINICAL:
    _clinical_routes(_rtype)

__all__ = ["router", "FHIR_JSON", "to_json"]
