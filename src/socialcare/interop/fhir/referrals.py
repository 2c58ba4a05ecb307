"""ServiceRequest + Task for Referral Management <-> socialcare referrals.

Every change goes through the referrals service (referrals/service.py), so the IG's state machine,
who may set which status, the compare-and-set version check, the timeline and the audit apply to
FHIR exactly as to the web app. Task.meta.versionId is the referral's version (If-Match on PUT).

- POST ServiceRequest: kept until a Task points at it (the IG's source creates both).
- POST Task (status requested or draft, focus -> that ServiceRequest, for -> Patient, owner ->
  Organization): the plan's referral (``create_referral``). With ``partOf`` -> a Task the caller's
  hub owns: the hub's sub-referral to a network CBO (``route``).
- PUT Task: the new status / businessStatus becomes the referral actions that lead there
  (``act``), e.g. an owner setting ``completed`` after ``in-progress`` is "need resolved".
- A completed referral's Task.output names its resulting activity: the Procedure the target sent,
  or else ``Procedure/referral-<id>``, which socialcare derives from the referral and the services
  delivered under it (``procedure_to_fhir``), so a loop closed in the web app closes in FHIR too.
"""

from __future__ import annotations

import copy

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.errors import Conflict
from socialcare.interop.fhir import store
from socialcare.interop.fhir.base import (
    TEMP_CODES,
    FhirError,
    instant,
    new_id,
    parse,
    ref_parts,
    to_json,
    with_meta,
)
from socialcare.interop.fhir.directory import member_for_reference, sdoh_category_domains
from socialcare.kit.codes import NEED_DOMAINS
from socialcare.referrals import rules
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral
from socialcare.security.principal import Principal

TASK_PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement"
SR_PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest"
PROCEDURE_PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Procedure"
PROCEDURE_PREFIX = "referral-"  # Procedure/referral-<id>: the resulting activity of a completed referral
HCPCS = "urn:oid:2.16.840.1.113883.6.285"  # HCPCS Level II in US Core Procedure Codes
SNOMED = "http://snomed.info/sct"
SOCIAL_SERVICE = {"system": SNOMED, "code": "410606002", "display": "Social service procedure"}
TASK_CODE = {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                         "display": "Fulfill the focal request"}]}
SR_STATUS = {"draft": "draft", "requested": "active", "accepted": "active", "in-progress": "active",
             "on-hold": "on-hold", "completed": "completed", "rejected": "revoked", "cancelled": "revoked",
             "failed": "revoked", "entered-in-error": "entered-in-error"}
# statuses the IG forbids on this profile
NOT_ALLOWED = {"ready", "received"}


def _org_ref(session: Session, org_id: int | None) -> dict | None:
    if org_id is None:
        return None
    return {"reference": f"Organization/{store.fhir_id(session, 'Organization', 'organization', org_id)}"}


def task_id(session: Session, ref: Referral) -> str:
    return store.fhir_id(session, "Task", "referral", ref.id)


def sr_id(session: Session, ref: Referral) -> str:
    return store.fhir_id(session, "ServiceRequest", "referral", ref.id)


def task_to_fhir(session: Session, ref: Referral) -> dict:
    fid = task_id(session, ref)
    rec = store.record(session, "Task", fid)
    raw = copy.deepcopy(rec.body) if rec else {}
    built = {
        "resourceType": "Task", "id": fid, "status": ref.status, "intent": "order", "code": TASK_CODE,
        "priority": ref.urgency,
        "focus": {"reference": f"ServiceRequest/{sr_id(session, ref)}"},
        "for": {"reference": f"Patient/{store.fhir_id(session, 'Patient', 'member', ref.member_id)}"},
        "authoredOn": instant(ref.requested_at or ref.created_at), "lastModified": instant(ref.updated_at),
        "requester": _org_ref(session, ref.requester_org_id), "owner": _org_ref(session, ref.owner_org_id),
        "partOf": [{"reference": f"Task/{store.fhir_id(session, 'Task', 'referral', ref.parent_id)}"}]
        if ref.parent_id else None,
        "businessStatus": {"coding": [{"system": rules.BUSINESS_STATUS_SYSTEM, "code": ref.business_status,
                                       "display": rules.BUSINESS_STATUSES.get(ref.business_status, ref.business_status)}]}
        if ref.business_status else None,
        "statusReason": {"text": ref.status_reason} if ref.status_reason and ref.status in (
            "rejected", "cancelled", "on-hold", "failed") else None,
    }
    out = raw
    for k, v in built.items():
        if v is None:
            continue
        # references the client sent (its own ids, a PractitionerRole requester) keep their meaning
        if k in ("focus", "for", "requester", "partOf") and raw.get(k):
            continue
        if k == "owner" and raw.get("owner") and store.local_id(
                session, "Organization", ref_parts(raw["owner"].get("reference"))[1], "organization") == ref.owner_org_id:
            continue
        out[k] = v
    if ref.status == "completed" and not out.get("output"):
        out["output"] = [{"type": {"coding": [{"system": TEMP_CODES, "code": "resulting-activity",
                                               "display": "Resulting Activity"}]},
                          "valueReference": {"reference": f"Procedure/{PROCEDURE_PREFIX}{ref.id}"}}]
    return to_json(with_meta(out, ref.version, ref.updated_at, TASK_PROFILE))


def sr_to_fhir(session: Session, ref: Referral) -> dict:
    fid = sr_id(session, ref)
    rec = store.record(session, "ServiceRequest", fid)
    raw = copy.deepcopy(rec.body) if rec else {}
    info = NEED_DOMAINS.get(ref.need_domain)
    built = {
        "resourceType": "ServiceRequest", "id": fid, "status": SR_STATUS.get(ref.status, "active"), "intent": "order",
        "category": [{"coding": [{"system": TEMP_CODES, "code": info.sdoh_category, "display": info.label}]}] if info else None,
        "code": {"text": ref.service.name if ref.service else (info.label if info else ref.need_domain)},
        "subject": {"reference": f"Patient/{store.fhir_id(session, 'Patient', 'member', ref.member_id)}"},
        "authoredOn": instant(ref.requested_at or ref.created_at), "priority": ref.urgency,
        "requester": _org_ref(session, ref.requester_org_id),
        "performer": [_org_ref(session, ref.owner_org_id)] if ref.owner_org_id else None,
        "note": [{"text": ref.reason}] if ref.reason else None,
    }
    out = raw
    for k, v in built.items():
        if v is None or (k in ("category", "code", "subject", "requester", "performer", "note") and raw.get(k)):
            continue
        out[k] = v
    return to_json(with_meta(out, ref.version, ref.updated_at, SR_PROFILE))


def derived_procedure_referral_id(fid: str) -> int | None:
    """The referral a ``Procedure/referral-<id>`` stands for (None for any other id)."""
    rest = fid.removeprefix(PROCEDURE_PREFIX)
    return int(rest) if fid.startswith(PROCEDURE_PREFIX) and rest.isdigit() else None


def procedure_to_fhir(session: Session, ref: Referral) -> dict:
    """The resulting activity of a completed referral (SDOHCC Procedure): what was asked for (the
    ServiceRequest's code), what was delivered (the HCPCS codes of its service records, its own and
    its sub-referrals'), by whom and when. Derived on read, so it never disagrees with the referral."""
    from socialcare.delivery.models import ServiceRecord
    from socialcare.referrals import repository as referral_repo

    if ref.status != "completed":
        raise FhirError(f"Referral {ref.id} is {ref.status}: only a completed referral has a resulting activity.",
                        status_code=404, code="not-found")
    done = [c for c in referral_repo.children(session, ref.id) if c.status == "completed"]
    performer_ref = done[-1] if done else ref  # a hub's referral was performed by the CBO it routed to
    ids = [ref.id, *(c.id for c in done)]
    records = session.scalars(select(ServiceRecord).where(
        ServiceRecord.referral_id.in_(ids), ServiceRecord.status == "recorded").order_by(ServiceRecord.service_date))
    records = list(records)
    sr = sr_to_fhir(session, ref)
    info = NEED_DOMAINS.get(ref.need_domain)
    codings = list((sr.get("code") or {}).get("coding") or [])
    for code in dict.fromkeys(r.hcpcs for r in records if r.hcpcs):
        codings.append({"system": HCPCS, "code": code})
    service = performer_ref.service or ref.service
    text = service.name if service else (sr.get("code") or {}).get("text") or (info.label if info else ref.need_domain)
    start = performer_ref.service_started_at or ref.service_started_at
    if records and (start is None or records[0].service_date < start.date()):
        start_text = records[0].service_date.isoformat()
    else:
        start_text = instant(start) if start else None
    body = {
        "resourceType": "Procedure", "id": f"{PROCEDURE_PREFIX}{ref.id}", "status": "completed",
        "basedOn": [{"reference": f"ServiceRequest/{sr['id']}"}],
        "category": {"coding": [SOCIAL_SERVICE, *([{"system": TEMP_CODES, "code": info.sdoh_category,
                                                      "display": info.label}] if info else [])]},
        "code": {"coding": codings, "text": text} if codings else {"text": text},
        "subject": dict(sr["subject"]),
        "performedPeriod": {k: v for k, v in (("start", start_text), ("end", instant(ref.closed_at))) if v},
        "performer": [{"actor": _org_ref(session, performer_ref.owner_org_id)}] if performer_ref.owner_org_id else None,
        "outcome": {"text": rules.BUSINESS_STATUSES.get(ref.business_status or "", "Completed")},
        "note": [{"text": ref.status_reason}] if ref.status_reason else None,
    }
    return to_json(with_meta({k: v for k, v in body.items() if v is not None}, ref.version, ref.updated_at,
                             PROCEDURE_PROFILE))


# ---- create --------------------------------------------------------------------------------


def create_service_request(session: Session, principal: Principal, body: dict, fid: str | None = None) -> dict:
    principal.require("referrals:read")
    res = parse(body, "ServiceRequest")
    member = member_for_reference(session, principal, res.subject.reference if res.subject else None,
                                  "ServiceRequest.subject")
    if not _need_domain(res):
        raise FhirError("The ServiceRequest needs an SDOH category (SDOHCC-ValueSetSDOHCategory).",
                        expression="ServiceRequest.category")
    fid = fid or new_id()
    existing = store.record(session, "ServiceRequest", fid)
    if existing is not None and existing.local_id is not None:
        raise Conflict(f"ServiceRequest/{fid} already belongs to a referral; change the referral through its Task.")
    if existing is not None:
        from socialcare.interop.fhir.clinical import require_author  # clinical imports this module

        require_author(session, principal, existing)
    body = to_json(res)
    body["id"] = fid
    rec = store.save(session, "ServiceRequest", fid, body, organization_id=principal.org_id, member_id=member.id)
    return with_meta(body, rec.version_id, rec.last_updated, SR_PROFILE)


def _need_domain(sr) -> str | None:
    for cc in sr.category or []:
        for c in cc.coding or []:
            domains = sdoh_category_domains(c.code or "")
            if domains:
                return domains[0]
    return None


def _focus(session: Session, task) -> tuple[str, object, object]:
    rtype, fid = ref_parts(task.focus.reference if task.focus else None)
    if rtype != "ServiceRequest":
        raise FhirError("Task.focus must reference the ServiceRequest the referral fulfils.", expression="Task.focus")
    rec = store.record(session, "ServiceRequest", fid)
    if rec is None:
        raise FhirError(f"ServiceRequest/{fid} is not on this server: POST it first.", expression="Task.focus",
                        code="not-found")
    return fid, rec, parse(rec.body, "ServiceRequest")


def create_task(session: Session, principal: Principal, body: dict, fid: str | None = None) -> Referral:
    task = parse(body, "Task")
    if task.intent != "order":
        raise FhirError("A referral Task has intent 'order'.", expression="Task.intent")
    codes = [(c.system, c.code) for c in (task.code.coding if task.code else []) or []]
    if ("http://hl7.org/fhir/CodeSystem/task-code", "fulfill") not in codes:
        raise FhirError("A referral Task has code task-code#fulfill.", expression="Task.code")
    if task.status not in ("requested", "draft"):
        raise FhirError("A new referral Task starts as 'requested' (or 'draft'); the referral target moves it on.",
                        expression="Task.status")
    assigned = fid is None
    fid = fid or new_id()
    if store.record(session, "Task", fid) is not None:
        raise Conflict(f"Task/{fid} already exists; PUT to change it.")
    sr_fid, sr_rec, sr = _focus(session, task)
    member = member_for_reference(session, principal, task.for_fhir.reference if task.for_fhir else None, "Task.for")
    owner_type, owner_fid = ref_parts(task.owner.reference if task.owner else None)
    owner_id = store.local_id(session, "Organization", owner_fid, "organization") if owner_type == "Organization" else None
    if owner_id is None:
        raise FhirError("Task.owner must be an Organization on this server (the hub or CBO asked).",
                        expression="Task.owner")
    domain = _need_domain(sr)
    reason = "; ".join(n.text for n in sr.note or [] if n.text) or (task.description or "") or (
        sr.code.text if sr.code and sr.code.text else ", ".join(c.display or c.code for c in (sr.code.coding if sr.code else []) or []))
    # the IG carries the member's consent to share as ServiceRequest.supportingInfo -> Consent
    consent = any(ref_parts(s.reference)[0] == "Consent" for s in sr.supportingInfo or [])
    if task.partOf:
        ref = _create_subtask(session, principal, task, owner_id, consent)
    else:
        data = referrals.NewReferral(
            member_id=member.id, need_domain=domain, owner_org_id=owner_id, reason=reason[:4000],
            urgency=task.priority or (sr.priority if sr.priority else "routine"), submit=task.status == "requested",
            consent_scope="referral" if consent else None, consent_method="written",
        )
        ref, _created = referrals.create_referral(session, principal, data, idempotency_key=f"fhir:Task/{fid}")
    if assigned and store.record(session, "Task", str(ref.id)) is None:
        fid = str(ref.id)  # a Task we name carries the referral's number, as the web app shows it
    stored = to_json(task)
    stored["id"] = fid
    store.save(session, "Task", fid, stored, organization_id=principal.org_id, member_id=member.id,
               local_type="referral", local_id=ref.id)
    store.save(session, "ServiceRequest", sr_fid, sr_rec.body, member_id=member.id, local_type="referral",
               local_id=ref.id)
    return ref


def _create_subtask(session: Session, principal: Principal, task, cbo_id: int, consent: bool) -> Referral:
    """A coordination platform's sub-referral (Task.partOf): the hub routes its referral to a CBO."""
    ptype, pfid = ref_parts(task.partOf[0].reference)
    parent_id = store.local_id(session, "Task", pfid, "referral") if ptype == "Task" else None
    if parent_id is None:
        raise FhirError("Task.partOf must reference a referral Task on this server.", expression="Task.partOf")
    parent = referrals.route(session, principal, parent_id, cbo_id=cbo_id, service_id=None, version=None,
                             note=task.description, consent_scope="referral" if consent else None)
    return session.scalar(select(Referral).where(Referral.parent_id == parent.id).order_by(Referral.id.desc()))


# ---- update: status changes become referral actions ----------------------------------------

def update_task(session: Session, principal: Principal, fid: str, body: dict, if_match: int | None) -> Referral:
    task = parse(body, "Task")
    ref_id = store.local_id(session, "Task", fid, "referral")
    if ref_id is None:
        raise FhirError(f"Task/{fid} is not a referral on this server; POST a new Task to refer.",
                        status_code=404, code="not-found")
    ref = referrals.get_referral(session, principal, ref_id, audit_read=False)
    if task.status in NOT_ALLOWED:
        raise FhirError("The SDOHCC referral Task does not use 'ready' or 'received'.", expression="Task.status")
    if if_match is not None and if_match != ref.version:
        raise FhirError(f"Task/{fid} is at version {ref.version}, not {if_match}; read it again.",
                        status_code=412, code="conflict")
    business = next((c.code for c in (task.businessStatus.coding if task.businessStatus else []) or []
                     if c.system == rules.BUSINESS_STATUS_SYSTEM), None)
    if business and business not in rules.BUSINESS_STATUSES:
        raise FhirError(f"Unknown businessStatus '{business}' in {rules.BUSINESS_STATUS_SYSTEM}.",
                        expression="Task.businessStatus")
    reason = task.statusReason.text if task.statusReason and task.statusReason.text else None
    note = "; ".join(n.text for n in task.note or [] if n.text) or None
    sides = referrals.sides_of(principal, ref)
    try:
        planned = rules.actions_toward(referrals.snapshot(ref), task.status, business, sides)
    except rules.TransitionRefused as exc:
        raise Conflict(str(exc)) from None
    for action in planned:
        channel = "portal" if rules.ACTIONS[action].needs_channel else None
        ref = referrals.act(session, principal, ref.id, action, version=None, channel=channel,
                            reason=reason or (note if rules.ACTIONS[action].needs_reason else None) or
                            (f"Set to {task.status} via FHIR" if rules.ACTIONS[action].needs_reason else None),
                            note=note)
    rec = store.record(session, "Task", fid)
    kept = copy.deepcopy(rec.body) if rec else {"resourceType": "Task", "id": fid}
    incoming = to_json(task)
    for k in ("output", "note", "input", "statusReason", "businessStatus"):
        if k in incoming:
            kept[k] = incoming[k]
    store.save(session, "Task", fid, kept, member_id=ref.member_id, local_type="referral", local_id=ref.id)
    return ref
