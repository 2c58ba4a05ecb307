"""Consent, Condition (Z codes), Observation and QuestionnaireResponse (screenings), Goal and Procedure
(the Task's resulting activity): kept as exchanged, tied to the member they are about, and shown
only to organizations that may see that member (consent-gated like the member record itself).

A Condition with an ICD-10-CM code is also added to the member's conditions; a Consent naming an
Organization as recipient (provision.actor) records the member's consent to share with it
(referrals.service.grant_consent), which is what opens the member to that organization.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.errors import InvalidInput
from socialcare.interop.fhir import patient_tasks, store
from socialcare.interop.fhir import referrals as fref
from socialcare.interop.fhir.base import FhirError, new_id, parse, ref_parts, to_json, with_meta
from socialcare.interop.fhir.directory import member_for_reference, visible_member
from socialcare.interop.models import FhirResource
from socialcare.members.models import MemberCondition
from socialcare.referrals import service as referrals
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role

CLINICAL = ("Consent", "Condition", "Observation", "QuestionnaireResponse", "Goal", "Procedure")
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def subject_reference(res) -> tuple[str | None, str]:
    rtype = res.get_resource_type()
    if rtype == "Consent":
        return (res.patient.reference if res.patient else None), "Consent.patient"
    if rtype == "Task":  # a Task for Patient
        return (res.for_fhir.reference if res.for_fhir else None), "Task.for"
    return (res.subject.reference if getattr(res, "subject", None) else None), f"{rtype}.subject"


def save(session: Session, principal: Principal, body: dict, fid: str | None, expected: str) -> dict:
    principal.require("referrals:read")
    res = parse(body, expected)
    reference, expression = subject_reference(res)
    if not reference:
        raise FhirError(f"A {expected} must say which patient it is about.", expression=expression)
    member = member_for_reference(session, principal, reference, expression)
    fid = fid or new_id()
    existing = store.record(session, expected, fid)
    if existing is not None and existing.member_id != member.id:
        raise FhirError(f"{expected}/{fid} is about another patient.", expression=expression, status_code=409,
                        code="conflict")
    if existing is not None:
        require_author(session, principal, existing)
    out = to_json(res)
    out["id"] = fid
    if expected == "Task":
        _check_patient_task(out, existing)
    rec = store.save(session, expected, fid, out, organization_id=principal.org_id, member_id=member.id,
                     local_type="patient-task" if expected == "Task" else None)
    if expected == "Condition" and principal.is_plan and is_plan_role(principal.role):
        # only the member's plan adds diagnoses to its member record; a partner's Condition is kept as
        # exchanged, beside the record, not in it
        _add_condition(session, member.id, res)
    if expected == "Consent":
        _grant(session, principal, member.id, res)
    audit.record(session, principal, f"fhir.{expected.lower()}.write", object_type=expected, object_id=fid,
                 member_id=member.id)
    return with_meta(out, rec.version_id, rec.last_updated)


def require_author(session: Session, principal: Principal, existing: FhirResource) -> None:
    """A kept resource is changed only by the organization that wrote it (a CBO does not rewrite the
    plan's Condition or ServiceRequest, nor the plan a CBO's Observation)."""
    if existing.organization_id is not None and existing.organization_id != principal.org_id:
        audit.record_denied(session, principal, f"fhir.{existing.resource_type.lower()}.write",
                            object_type=existing.resource_type, object_id=existing.fhir_id,
                            member_id=existing.member_id, reason="written by another organization")
        raise FhirError(f"{existing.resource_type}/{existing.fhir_id} was written by another organization; "
                        "only its author changes it.", status_code=403, code="forbidden")


def _check_patient_task(task: dict, existing: FhirResource | None) -> None:
    problems = patient_tasks.check(task)
    if problems:
        raise InvalidInput("The Task is not a valid SDOHCC Task for Patient.", problems)
    if existing is not None:
        refused = patient_tasks.check_transition(existing.body.get("status"), task["status"])
        if refused:
            raise FhirError(refused, expression="Task.status", status_code=409, code="conflict")


def _add_condition(session: Session, member_id: int, res) -> None:
    for c in (res.code.coding if res.code else []) or []:
        if c.system == ICD10 and c.code:
            code = c.code if "." in c.code or len(c.code) <= 3 else f"{c.code[:3]}.{c.code[3:]}"
            have = session.scalar(select(MemberCondition.id).where(MemberCondition.member_id == member_id,
                                                                   MemberCondition.icd10_code == code))
            if have is None:
                session.add(MemberCondition(member_id=member_id, icd10_code=code[:10]))
    session.flush()


def _grant(session: Session, principal: Principal, member_id: int, res) -> None:
    if res.status != "active" or not res.provision:
        return
    for actor in res.provision.actor or []:
        rtype, fid = ref_parts(actor.reference.reference if actor.reference else None)
        if rtype != "Organization":
            continue
        org_id = store.local_id(session, "Organization", fid, "organization")
        if org_id is not None and org_id != principal.org_id:
            referrals.grant_consent(session, principal, member_id=member_id, organization_id=org_id,
                                    scope="referral", method="written")


def read(session: Session, principal: Principal, rtype: str, fid: str) -> dict:
    rec = store.record(session, rtype, fid)
    if rec is None and rtype == "Procedure":  # a completed referral's resulting activity
        ref_id = fref.derived_procedure_referral_id(fid)
        if ref_id is not None:
            ref = referrals.get_referral(session, principal, ref_id, audit_read=False)
            visible_member(session, principal, ref.member_id, "member.read")
            return fref.procedure_to_fhir(session, ref)
    if rec is None:
        raise FhirError(f"{rtype}/{fid} is not on this server.", status_code=404, code="not-found")
    visible_member(session, principal, rec.member_id, "member.read")
    return with_meta(dict(rec.body), rec.version_id, rec.last_updated)
