"""The FHIR R4 API at /fhir (HL7 FHIR SDOH Clinical Care IG, STU 2.x and 3.0 content): read, vread,
search (paged), create (also conditional, ``If-None-Exist``) and update (``If-Match``), with the same
bearer tokens and scoping as /api/v1. Responses are application/fhir+json; every error, including
an unknown type or an unsupported interaction, is an OperationOutcome naming the element.

Routes are plain ``def``: their database work runs in the thread pool, never on the event loop.
Mounted at the site root by interop/pages.py (listed in /openapi.json).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.orm import Session

from socialcare.core.errors import NotFound
from socialcare.directory.models import Location, Organization, Service
from socialcare.interop.fhir import clinical, directory, patient_tasks, search, searches, store
from socialcare.interop.fhir import referrals as fref
from socialcare.interop.fhir.base import FHIR_JSON, FhirError, FhirRoute, fhir_response, to_json
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, api_principal, public

router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute)


def fhir_principal(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
    return replace(principal, via="fhir")


Who = Annotated[Principal, Depends(fhir_principal)]


async def _body(request: Request, principal: Who) -> dict:
    """The JSON body (read on the event loop; the route's database work then runs in a thread).
    Depends on the principal so an anonymous call is refused before its body is looked at."""
    try:
        return json.loads(await request.body())
    except ValueError:
        raise FhirError("The body is not JSON.") from None


Body = Annotated[dict, Depends(_body)]


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


def _etag(resource: dict) -> dict:
    return {"ETag": f'W/"{resource["meta"]["versionId"]}"',
            "Last-Modified": resource["meta"].get("lastUpdated", "")} if resource.get("meta") else {}


def _location(resource: dict, request: Request) -> str:
    return (f"{str(request.base_url).rstrip('/')}/fhir/{resource['resourceType']}/{resource['id']}"
            f"/_history/{resource['meta']['versionId']}")


def _written(db: Session, resource: dict, request: Request, created: bool) -> object:
    """The answer to a create or update: the resource, its ETag, and (create) its versioned Location."""
    store.keep_version(db, resource)
    headers = _etag(resource)
    if created:
        headers["Location"] = _location(resource, request)
    else:
        headers["Content-Location"] = _location(resource, request)
    return fhir_response(resource, 201 if created else 200, headers)


def _check_version(current: dict | None, if_match: str | None, rtype: str, fid: str) -> None:
    """If-Match on an update: the client's versionId must be the current one."""
    wanted = _version(if_match)
    if wanted is None:
        return
    have = int((current or {}).get("meta", {}).get("versionId", 0))
    if current is None or have != wanted:
        raise FhirError(f"{rtype}/{fid} is at version {have}, not {wanted}: read it again.", status_code=412,
                        code="conflict", expression="If-Match")


def _current(db: Session, principal: Principal, rtype: str, fid: str) -> dict | None:
    try:
        return read_resource(db, principal, rtype, fid)
    except NotFound:
        return None
    except FhirError as exc:
        if exc.status_code == 404:
            return None
        raise


# ---- read --------------------------------------------------------------------------------------


def _dir_reader(principal: Principal) -> None:
    principal.require("directory:read")


def _referral(db, principal: Principal, rtype: str, fid: str):
    from socialcare.referrals import service as referrals

    ref_id = store.local_id(db, rtype, fid, "referral")
    if ref_id is None:
        raise NotFound(f"{rtype}/{fid} is not a referral on this server.")
    return referrals.get_referral(db, principal, ref_id)


def _is_patient_task(db, fid: str) -> bool:
    rec = store.record(db, "Task", fid)
    return rec is not None and rec.local_type == "patient-task"


def read_resource(db: Session, principal: Principal, rtype: str, fid: str) -> dict:
    """The current version of ``rtype/fid`` as this principal may see it."""
    if rtype == "Organization":
        _dir_reader(principal)
        org = db.get(Organization, store.local_id(db, "Organization", fid, "organization") or -1)
        if org is None:
            raise NotFound(f"Organization/{fid} is not on this server.")
        return directory.organization_to_fhir(db, org)
    if rtype in ("Location", "HealthcareService"):
        _dir_reader(principal)
        row = db.get(Location if rtype == "Location" else Service, int(fid)) if fid.isdigit() else None
        if row is None:
            raise NotFound(f"{rtype}/{fid} is not on this server.")
        return directory.location_to_fhir(db, row) if rtype == "Location" else directory.service_to_fhir(db, row)
    if rtype == "Patient":
        member = directory.visible_member(db, principal, store.local_id(db, "Patient", fid, "member"))
        return directory.patient_to_fhir(db, member)
    if rtype == "Task":
        if _is_patient_task(db, fid):
            return clinical.read(db, principal, "Task", fid)
        return fref.task_to_fhir(db, _referral(db, principal, "Task", fid))
    if rtype == "ServiceRequest":
        if store.local_id(db, "ServiceRequest", fid, "referral") is None:
            # posted, not yet the focus of a Task: its author may read it
            if store.record(db, "ServiceRequest", fid) is None:
                raise NotFound(f"ServiceRequest/{fid} is not on this server.")
            return clinical.read(db, principal, "ServiceRequest", fid)
        return fref.sr_to_fhir(db, _referral(db, principal, "ServiceRequest", fid))
    return clinical.read(db, principal, rtype, fid)


READABLE = ("Organization", "Location", "HealthcareService", "Patient", "Task", "ServiceRequest", *clinical.CLINICAL)


def _read_routes(rtype: str) -> None:
    def read(fid: str, db: DbSession, principal: Who):
        resource = read_resource(db, principal, rtype, fid)
        return fhir_response(resource, headers=_etag(resource))

    def vread(fid: str, vid: str, db: DbSession, principal: Who):
        current = read_resource(db, principal, rtype, fid)  # who may read it, and the current version
        if vid == current["meta"]["versionId"]:
            return fhir_response(current, headers=_etag(current))
        kept = store.version(db, rtype, fid, int(vid)) if vid.isdigit() else None
        if kept is None:
            raise FhirError(f"{rtype}/{fid} has no version {vid} on this server.", status_code=404, code="not-found")
        return fhir_response(kept, headers=_etag(kept))

    router.add_api_route(f"/{rtype}/{{fid}}", read, methods=["GET"], name=f"read_{rtype}")
    router.add_api_route(f"/{rtype}/{{fid}}/_history/{{vid}}", vread, methods=["GET"], name=f"vread_{rtype}")


# ---- search ------------------------------------------------------------------------------------


def run_search(db: Session, principal: Principal, rtype: str, q: search.Query) -> search.Page:
    if rtype in ("Organization", "Location", "HealthcareService"):
        _dir_reader(principal)
    return search.run(db, searches.SEARCHES[rtype](db, principal, q), q)


def _search_route(rtype: str) -> None:
    def search_type(request: Request, db: DbSession, principal: Who):
        q = search.parse_query(request.query_params.multi_items(), searches.SPECS[rtype], rtype,
                               searches.INCLUDES.get(rtype, ()), is_strict=search.strict(request))
        page = run_search(db, principal, rtype, q)
        includes = searches.task_includes(db, page.rows) if q.includes else []
        return fhir_response(search.bundle(request, q, page, includes))

    router.add_api_route(f"/{rtype}", search_type, methods=["GET"], name=f"search_{rtype}")


def _conditional(db: Session, principal: Principal, rtype: str, if_none_exist: str | None,
                 request: Request | None = None) -> dict | None:
    """``If-None-Exist: identifier=x|y`` (or the same criteria in the POST's query string, as some
    clients send them): the one resource it finds (then nothing is created), None when it finds
    none; more than one is 412, as FHIR says."""
    from_query = False
    if not if_none_exist and request is not None and request.url.query:
        if_none_exist, from_query = request.url.query, True
    if not if_none_exist:
        return None
    pairs = parse_qsl(if_none_exist.lstrip("?"), keep_blank_values=True)
    q = search.parse_query(pairs, searches.SPECS.get(rtype, {}), rtype, is_strict=True)
    if not q.criteria:
        if from_query:  # only result parameters (e.g. _format=json): a plain create
            return None
        raise FhirError("If-None-Exist names no search criteria.", expression="If-None-Exist")
    q.count = 2
    page = run_search(db, principal, rtype, q)
    if page.total > 1:
        raise FhirError(f"If-None-Exist matches {page.total} {rtype} resources; it must match at most one.",
                        status_code=412, code="duplicate", expression="If-None-Exist")
    return page.resources[0] if page.resources else None


# ---- metadata ----------------------------------------------------------------------------------


@router.get("/metadata", dependencies=[Depends(public)])
def capability(request: Request):
    from socialcare.interop.fhir.capability import capability_statement

    return fhir_response(capability_statement(str(request.base_url).rstrip("/") + "/fhir", router))


# ---- writes --------------------------------------------------------------------------------------

IfMatch = Annotated[str | None, Header()]
IfNoneExist = Annotated[str | None, Header()]


@router.post("/Organization")
def create_organization(request: Request, db: DbSession, principal: Who, body: Body,
                        if_none_exist: IfNoneExist = None):
    found = _conditional(db, principal, "Organization", if_none_exist, request)
    if found:
        return fhir_response(found, 200, _etag(found))
    org = directory.organization_from_fhir(db, principal, body, None)
    return _written(db, directory.organization_to_fhir(db, org), request, True)


@router.put("/Organization/{fid}")
def put_organization(fid: str, request: Request, db: DbSession, principal: Who, body: Body, if_match: IfMatch = None):
    _same_id(body, fid, "Organization")
    current = _current(db, principal, "Organization", fid)
    _check_version(current, if_match, "Organization", fid)
    org = directory.organization_from_fhir(db, principal, body, fid)
    return _written(db, directory.organization_to_fhir(db, org), request, current is None)


@router.post("/Patient")
def create_patient(request: Request, db: DbSession, principal: Who, body: Body, if_none_exist: IfNoneExist = None):
    found = _conditional(db, principal, "Patient", if_none_exist, request)
    if found:
        return fhir_response(found, 200, _etag(found))
    member = directory.patient_from_fhir(db, principal, body, None)
    return _written(db, directory.patient_to_fhir(db, member), request, True)


@router.put("/Patient/{fid}")
def put_patient(fid: str, request: Request, db: DbSession, principal: Who, body: Body, if_match: IfMatch = None):
    _same_id(body, fid, "Patient")
    current = _current(db, principal, "Patient", fid) if store.local_id(db, "Patient", fid, "member") else None
    _check_version(current, if_match, "Patient", fid)
    member = directory.patient_from_fhir(db, principal, body, fid)
    return _written(db, directory.patient_to_fhir(db, member), request, current is None)


@router.post("/Task")
def create_task(request: Request, db: DbSession, principal: Who, body: Body, if_none_exist: IfNoneExist = None):
    found = _conditional(db, principal, "Task", if_none_exist, request)
    if found:
        return fhir_response(found, 200, _etag(found))
    if patient_tasks.is_patient_task(body):
        return _written(db, clinical.save(db, principal, body, None, "Task"), request, True)
    ref = fref.create_task(db, principal, body)
    return _written(db, fref.task_to_fhir(db, ref), request, True)


@router.put("/Task/{fid}")
def put_task(fid: str, request: Request, db: DbSession, principal: Who, body: Body, if_match: IfMatch = None):
    _same_id(body, fid, "Task")
    if patient_tasks.is_patient_task(body):
        if store.local_id(db, "Task", fid, "referral") is not None:
            raise FhirError(f"Task/{fid} is a referral, not a Task for Patient.", expression="Task.code",
                            status_code=409, code="conflict")
        current = _current(db, principal, "Task", fid) if store.record(db, "Task", fid) else None
        _check_version(current, if_match, "Task", fid)
        return _written(db, clinical.save(db, principal, body, fid, "Task"), request, current is None)
    if _is_patient_task(db, fid):
        raise FhirError(f"Task/{fid} is a Task for Patient; it cannot become a referral.", expression="Task.code",
                        status_code=409, code="conflict")
    if store.local_id(db, "Task", fid, "referral") is None:
        if _version(if_match) is not None:
            raise FhirError(f"Task/{fid} does not exist yet: If-Match cannot match.", status_code=412,
                            code="conflict", expression="If-Match")
        ref = fref.create_task(db, principal, body, fid)  # update-as-create with the client's id
        return _written(db, fref.task_to_fhir(db, ref), request, True)
    ref = fref.update_task(db, principal, fid, body, _version(if_match))
    return _written(db, fref.task_to_fhir(db, ref), request, False)


@router.post("/ServiceRequest")
def create_service_request(request: Request, db: DbSession, principal: Who, body: Body,
                           if_none_exist: IfNoneExist = None):
    if if_none_exist:
        raise FhirError("Conditional create is not supported on ServiceRequest (it has no search).",
                        expression="If-None-Exist", code="not-supported")
    return _written(db, fref.create_service_request(db, principal, body), request, True)


@router.put("/ServiceRequest/{fid}")
def put_service_request(fid: str, request: Request, db: DbSession, principal: Who, body: Body,
                        if_match: IfMatch = None):
    _same_id(body, fid, "ServiceRequest")
    current = _current(db, principal, "ServiceRequest", fid) if store.record(db, "ServiceRequest", fid) else None
    _check_version(current, if_match, "ServiceRequest", fid)
    return _written(db, fref.create_service_request(db, principal, body, fid), request, current is None)


def _clinical_writes(rtype: str) -> None:
    def create(request: Request, db: DbSession, principal: Who, body: Body, if_none_exist: IfNoneExist = None):
        found = _conditional(db, principal, rtype, if_none_exist, request)
        if found:
            return fhir_response(found, 200, _etag(found))
        return _written(db, clinical.save(db, principal, body, None, rtype), request, True)

    def put(fid: str, request: Request, db: DbSession, principal: Who, body: Body, if_match: IfMatch = None):
        _same_id(body, fid, rtype)
        current = _current(db, principal, rtype, fid) if store.record(db, rtype, fid) else None
        _check_version(current, if_match, rtype, fid)
        return _written(db, clinical.save(db, principal, body, fid, rtype), request, current is None)

    router.add_api_route(f"/{rtype}", create, methods=["POST"], name=f"create_{rtype}")
    router.add_api_route(f"/{rtype}/{{fid}}", put, methods=["PUT"], name=f"put_{rtype}")


for _rtype in clinical.CLINICAL:
    _clinical_writes(_rtype)
for _rtype in READABLE:
    _read_routes(_rtype)
for _rtype in searches.SPECS:
    _search_route(_rtype)


# ---- everything else under /fhir: an OperationOutcome, never the HTML error page -----------------

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def _not_here(request: Request, principal: Who):
    path = request.url.path.split("/fhir", 1)[-1].strip("/")
    rtype = path.split("/")[0] if path else ""
    if not rtype:
        raise FhirError(f"{request.method} on the base (batch, transaction, history, search-system) is not "
                        "supported: use each resource type's interactions (see /fhir/metadata).",
                        status_code=405, code="not-supported")
    if rtype in READABLE:
        raise FhirError(f"{request.method} /fhir/{path} is not supported on {rtype} (see /fhir/metadata).",
                        status_code=405, code="not-supported")
    raise FhirError(f"'{rtype}' is not a resource type this server supports (see /fhir/metadata).",
                    status_code=404, code="not-supported")


router.add_api_route("/{rest:path}", _not_here, methods=ALL_METHODS, include_in_schema=False, name="fhir_other")
router.add_api_route("", _not_here, methods=ALL_METHODS, include_in_schema=False, name="fhir_base")

__all__ = ["router", "FHIR_JSON", "to_json"]
