"""The FHIR SDOH Clinical Care API: IG examples in and back out with the same meaning, the referral
lifecycle through FHIR, scoping, and OperationOutcome errors naming the element."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from socialcare.directory.models import Organization
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral
from tests.factories import make_user
from tests.interop.conftest import FHIR_DIR
from tests.web.fixtures import api_headers

FJ = "application/fhir+json"


def example(name: str) -> dict:
    return json.loads((FHIR_DIR / f"{name}.json").read_text())


def codes(cc_list) -> set:
    out = set()
    for cc in cc_list if isinstance(cc_list, list) else [cc_list]:
        for c in (cc or {}).get("coding", []):
            out.add((c.get("system"), c.get("code")))
    return out


@pytest.fixture
def h(client, world):
    return {k: api_headers(client, world.users[k].username) for k in ("admin_a", "staff_a", "hub", "cbo", "staff_b")}


def test_errors_are_operation_outcomes(client, world, h):
    r = client.get("/fhir/Organization")
    assert r.status_code == 401 and r.json()["resourceType"] == "OperationOutcome"
    bad = {"resourceType": "Task", "intent": "order", "authoredOn": "yesterday"}
    r = client.post("/fhir/Task", json=bad, headers=h["staff_a"])
    assert r.status_code == 422 and r.headers["content-type"].startswith(FJ)
    exprs = [e for i in r.json()["issue"] for e in i.get("expression", [])]
    assert "Task.authoredOn" in exprs
    r = client.post("/fhir/Task", json={"resourceType": "Task", "status": "requested", "intent": "order"},
                    headers=h["staff_a"])
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["Task.code"]
    r = client.post("/fhir/Task", json={"resourceType": "Task", "status": "done", "intent": "order"}, headers=h["staff_a"])
    assert r.status_code == 422 and ["Task.status"] in [i.get("expression") for i in r.json()["issue"]]
    r = client.get("/fhir/Patient/999999", headers=h["cbo"])
    assert r.status_code == 403 and r.json()["issue"][0]["code"] == "forbidden"


def test_directory_reads_and_searches(client, world, h):
    r = client.get("/fhir/HealthcareService", params={"service-category": "food-insecurity"}, headers=h["cbo"])
    b = r.json()
    assert r.status_code == 200 and b["resourceType"] == "Bundle" and b["total"] == 2
    svc = next(e["resource"] for e in b["entry"] if e["resource"]["name"] == "Medically tailored meals")
    assert svc["providedBy"]["reference"] == f"Organization/{world.cbo.id}"
    assert svc["category"][0]["coding"][0]["code"] == "food-insecurity"
    org = client.get(f"/fhir/Organization/{world.cbo.id}", headers=h["cbo"]).json()
    assert org["name"] == "Buffalo Food Collaborative"
    locs = client.get("/fhir/Location", params={"organization": f"Organization/{world.cbo.id}"}, headers=h["cbo"]).json()
    assert locs["entry"][0]["resource"]["address"]["postalCode"] == "14201"
    assert client.get("/fhir/metadata", headers=h["cbo"]).json()["fhirVersion"] == "4.0.1"


def test_patient_is_scoped_and_audited(client, world, h):
    m = world.members_a[0]
    r = client.get(f"/fhir/Patient/{m.id}", headers=h["staff_a"])
    assert r.status_code == 200 and r.json()["identifier"][0]["value"] == m.plan_member_id
    assert client.get(f"/fhir/Patient/{m.id}", headers=h["staff_b"]).status_code == 403
    assert client.get(f"/fhir/Patient/{m.id}", headers=h["cbo"]).status_code == 403  # not shared yet
    found = client.get("/fhir/Patient", params={"identifier": m.plan_member_id}, headers=h["staff_b"]).json()
    assert found["total"] == 0


@pytest.mark.parametrize("name", ["Organization-SDOHCC-OrganizationClinicExample",
                                  "Organization-SDOHCC-OrganizationCoordinationPlatformExample",
                                  "Organization-SDOHCC-OrganizationPayerExample"])
def test_organization_examples_round_trip(client, world, h, name):
    ex = example(name)
    r = client.put(f"/fhir/Organization/{ex['id']}", json=ex, headers=h["hub"])
    assert r.status_code == 201, r.text  # update as create
    back = client.get(f"/fhir/Organization/{ex['id']}", headers=h["cbo"]).json()
    assert back["id"] == ex["id"] and back["name"] == ex["name"]
    assert codes(ex.get("type", [])) <= codes(back.get("type", []))  # ours may add the socialcare kind
    assert all(i in back.get("identifier", []) for i in ex.get("identifier", []))
    assert back.get("address") == ex.get("address")
    org = world  # the directory row exists under the example's name
    assert client.get("/fhir/Organization", params={"name": ex["name"]}, headers=h["cbo"]).json()["total"] == 1
    del org


def test_patient_example_round_trip(client, world, h, db):
    ex = example("Patient-pat-53234")
    r = client.put("/fhir/Patient/pat-53234", json=ex, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    back = client.get("/fhir/Patient/pat-53234", headers=h["staff_a"]).json()
    for k in ("name", "gender", "birthDate", "address", "extension"):
        assert back.get(k) == ex.get(k), k
    assert {i["value"] for i in ex["identifier"]} <= {i["value"] for i in back["identifier"]}
    # the plan's roster has the member; another plan does not see it
    assert client.get("/fhir/Patient/pat-53234", headers=h["staff_b"]).status_code == 403


def _setup_ig_world(client, db, world, h):
    """The IG examples' cast on this server: the patient (plan A's member), the organizations."""
    client.put("/fhir/Patient/pat-53234", json=example("Patient-pat-53234"), headers=h["staff_a"])
    for name in ("Organization-SDOHCC-OrganizationClinicExample",
                 "Organization-SDOHCC-OrganizationCoordinationPlatformExample"):
        ex = example(name)
        assert client.put(f"/fhir/Organization/{ex['id']}", json=ex, headers=h["hub"]).status_code in (200, 201)
    cp = db.scalar(select(Organization).where(Organization.name == "ABC Coordination Platform"))
    cp.kind = "community_care_hub"
    from datetime import date

    from socialcare.directory.models import HubNetworkMembership

    db.add(HubNetworkMembership(hub_id=cp.id, cbo_id=world.cbo.id, start_date=date(2020, 1, 1)))
    db.flush()
    cp_user = make_user(db, cp, "hub_coordinator", "cp_coord")
    return {"cp": api_headers(client, cp_user.username)}


@pytest.mark.parametrize("task_name,sr_name", [
    ("Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample",
     "ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"),
    ("Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample",
     "ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"),
])
def test_ig_task_and_service_request_examples_post_and_read_back(client, db, world, h, task_name, sr_name):
    more = _setup_ig_world(client, db, world, h)
    sr = example(sr_name)
    r = client.put(f"/fhir/ServiceRequest/{sr['id']}", json=sr, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    task = example(task_name)
    sent = copy.deepcopy(task)
    sent["status"] = "requested"  # the source sends it; the target moves it on
    sent.pop("output", None)
    r = client.put(f"/fhir/Task/{task['id']}", json=sent, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    ref = db.scalar(select(Referral).where(Referral.id == db.scalar(
        select(Referral.id).order_by(Referral.id.desc()))))
    assert (ref.status, ref.need_domain) == ("requested", "food")
    # the target (the coordination platform) accepts, and for the completed example completes
    target = {k: v for k, v in task.items() if k != "meta"}
    r = client.put(f"/fhir/Task/{task['id']}", json=dict(target, status="accepted", output=None) if "output" in target
                   else target, headers=more["cp"])
    assert r.status_code == 200, r.text
    if task["status"] == "completed":
        # a hub routes rather than serving itself, so the platform completes through the CBO it routed to
        db.expire_all()  # the requests above changed the referral in their own sessions
        routed = referrals.route(db, world_principal(db, "cp_coord"), ref.id, cbo_id=world.cbo.id, service_id=None,
                                 version=None, consent_scope="referral")
        child = db.scalar(select(Referral).where(Referral.parent_id == routed.id))
        for action, kw in (("accept", {}), ("contacted", {"channel": "phone"}), ("enroll", {}),
                           ("start_service", {}), ("resolve", {})):
            referrals.act(db, world.users["cbo"], child.id, action, version=None, **kw)
        r = client.put(f"/fhir/Task/{task['id']}", json=target, headers=more["cp"])
        assert r.status_code == 200, r.text
    back = client.get(f"/fhir/Task/{task['id']}", headers=h["staff_a"]).json()
    assert back["status"] == task["status"]
    for k in ("focus", "for", "requester", "owner", "intent"):
        assert back[k] == task[k], k
    assert codes(back["code"]) == codes(task["code"])
    assert back.get("output") == task.get("output")
    sr_back = client.get(f"/fhir/ServiceRequest/{sr['id']}", headers=h["staff_a"]).json()
    assert codes(sr_back["category"]) == codes(sr["category"]) and codes(sr_back["code"]) == codes(sr["code"])
    assert sr_back["subject"] == sr["subject"]


def world_principal(db, username):
    from socialcare.security.models import User
    from socialcare.security.service import principal_for_user

    return principal_for_user(db.scalar(select(User).where(User.username == username)), via="fhir")


def test_referral_lifecycle_through_fhir(client, db, world, h):
    """A plan's system refers through FHIR; the CBO accepts through FHIR and works it; the plan polls."""
    m = world.members_a[1]
    consent = {"resourceType": "Consent", "status": "active",
               "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
               "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IDSCL"}]}],
               "patient": {"reference": f"Patient/{m.id}"}, "dateTime": "2025-03-01",
               "organization": [{"reference": f"Organization/{world.plan_a.id}"}],
               "sourceAttachment": {"contentType": "application/pdf", "title": "signed"},
               "provision": {"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                                                           "reference": {"reference": f"Organization/{world.cbo.id}"}}]}}
    r = client.post("/fhir/Consent", json=consent, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
          "category": [{"coding": [{"system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes", "code": "food-insecurity"}]}],
          "code": {"text": "Medically tailored meals"}, "subject": {"reference": f"Patient/{m.id}"},
          "supportingInfo": [{"reference": f"Consent/{r.json()['id']}"}]}
    r = client.post("/fhir/ServiceRequest", json=sr, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    task = {"resourceType": "Task", "status": "requested", "intent": "order", "priority": "urgent",
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "focus": {"reference": f"ServiceRequest/{r.json()['id']}"}, "for": {"reference": f"Patient/{m.id}"},
            "authoredOn": "2025-03-01T10:00:00Z", "requester": {"reference": f"Organization/{world.plan_a.id}"},
            "owner": {"reference": f"Organization/{world.cbo.id}"}}
    r = client.post("/fhir/Task", json=task, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert r.json()["meta"]["versionId"] == "1"
    # the CBO polls for its new work and now sees the patient (referral + consent)
    inbox = client.get("/fhir/Task", params={"owner": f"Organization/{world.cbo.id}", "status": "requested",
                                             "_include": "Task:focus"}, headers=h["cbo"]).json()
    assert [e["resource"]["id"] for e in inbox["entry"] if e["search"]["mode"] == "match"] == [tid]
    assert any(e["resource"]["resourceType"] == "ServiceRequest" for e in inbox["entry"])
    assert client.get(f"/fhir/Patient/{m.id}", headers=h["cbo"]).status_code == 200
    # the requester may not accept its own referral
    r = client.put(f"/fhir/Task/{tid}", json=dict(task, id=tid, status="accepted"), headers=h["staff_a"])
    assert r.status_code == 409 and r.json()["resourceType"] == "OperationOutcome"
    # a stale version is refused
    r = client.put(f"/fhir/Task/{tid}", json=dict(task, id=tid, status="accepted"),
                   headers={**h["cbo"], "If-Match": 'W/"7"'})
    assert r.status_code == 412
    r = client.put(f"/fhir/Task/{tid}", json=dict(task, id=tid, status="accepted"), headers={**h["cbo"], "If-Match": 'W/"1"'})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    r = client.put(f"/fhir/Task/{tid}", json=dict(task, id=tid, status="in-progress"), headers=h["cbo"])
    assert r.status_code == 200 and r.json()["businessStatus"]["coding"][0]["code"] == "service-started"
    done = dict(task, id=tid, status="completed", output=[{
        "type": {"coding": [{"system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes", "code": "resulting-activity"}]},
        "valueReference": {"reference": "Procedure/p1"}}])
    r = client.put(f"/fhir/Task/{tid}", json=done, headers=h["cbo"])
    assert r.status_code == 200, r.text
    polled = client.get("/fhir/Task", params={"requester": f"Organization/{world.plan_a.id}",
                                              "_lastUpdated": "gt2000-01-01T00:00:00Z"}, headers=h["staff_a"]).json()
    t = polled["entry"][0]["resource"]
    assert (t["status"], t["businessStatus"]["coding"][0]["code"]) == ("completed", "need-resolved")
    assert t["output"][0]["valueReference"]["reference"] == "Procedure/p1"
    # going back is refused by the state machine
    r = client.put(f"/fhir/Task/{tid}", json=dict(task, id=tid, status="accepted"), headers=h["cbo"])
    assert r.status_code == 409


CLINICAL_EXAMPLES = [
    "Condition-SDOHCC-ConditionFoodInsecurityExample", "Condition-SDOHCC-ConditionHomelessExample",
    "Condition-SDOHCC-ConditionUnemployedExample", "Condition-SDOHCC-ConditionAsserterDeviceExample",
    "Consent-SDOHCC-ConsentInformationDisclosureExample",
    "Procedure-SDOHCC-ProcedureFoodPantryApplicationAssistanceExample",
    "Procedure-SDOHCC-ProcedureProvisionOfFoodExample",
    "Procedure-SDOHCC-ProcedureSummerFoodProgramApplicationAssistanceExample",
    "QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample",
    "QuestionnaireResponse-SDOHCC-QuestionnaireResponsePRAPAREExample",
    "Goal-SDOHCC-GoalFoodSecurityExample",
    "Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example",
]


@pytest.mark.parametrize("name", CLINICAL_EXAMPLES)
def test_clinical_examples_round_trip(client, db, world, h, name):
    _setup_ig_world(client, db, world, h)
    ex = example(name)
    rtype = ex["resourceType"]
    r = client.put(f"/fhir/{rtype}/{ex['id']}", json=ex, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    back = client.get(f"/fhir/{rtype}/{ex['id']}", headers=h["staff_a"]).json()
    for k in ("status", "clinicalStatus", "verificationStatus", "category", "code", "subject", "patient",
              "basedOn", "reasonReference", "item", "provision", "lifecycleStatus", "valueCodeableConcept"):
        assert back.get(k) == ex.get(k), k
    # another plan sees none of it; the patient search finds it for the plan
    assert client.get(f"/fhir/{rtype}/{ex['id']}", headers=h["staff_b"]).status_code == 403
    found = client.get(f"/fhir/{rtype}", params={"patient": "Patient/pat-53234"}, headers=h["staff_a"]).json()
    assert ex["id"] in [e["resource"]["id"] for e in found["entry"]]
    if name == "Condition-SDOHCC-ConditionFoodInsecurityExample":
        from socialcare.members.models import MemberCondition

        assert "Z59.4" in {c.icd10_code for c in db.scalars(select(MemberCondition))}


def _consent_for(patient_ref: str, payer: str, *actors: str) -> dict:
    """A Consent (IDSCL, signed PDF) naming each actor Organization as a recipient."""
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IDSCL"}]}],
            "patient": {"reference": patient_ref}, "dateTime": "2025-03-01",
            "organization": [{"reference": payer}],
            "sourceAttachment": {"contentType": "application/pdf", "title": "signed"},
            "provision": {"type": "permit", "actor": [
                {"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                      "code": "IRCP"}]}, "reference": {"reference": a}} for a in actors]}}


def _refer_to_platform(client, world, h, more, parent_name: str) -> dict:
    """The plan refers the IG's patient to the coordination platform (the IG's referral Task), with
    the member's consent to share with the platform and the clinic; the platform accepts."""
    consent = _consent_for("Patient/pat-53234", f"Organization/{world.plan_a.id}",
                           "Organization/SDOHCC-OrganizationCoordinationPlatformExample",
                           "Organization/SDOHCC-OrganizationClinicExample")
    assert client.post("/fhir/Consent", json=consent, headers=h["staff_a"]).status_code == 201
    parent_sr = example("ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample")
    assert client.put(f"/fhir/ServiceRequest/{parent_sr['id']}", json=parent_sr, headers=h["staff_a"]).status_code == 201
    parent = {k: v for k, v in example(parent_name).items() if k != "output"}
    r = client.put(f"/fhir/Task/{parent['id']}", json=dict(parent, status="requested"), headers=h["staff_a"])
    assert r.status_code == 201, r.text
    r = client.put(f"/fhir/Task/{parent['id']}", json=dict(parent, status="accepted"), headers=more["cp"])
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    return parent


@pytest.mark.parametrize("parent_name,sub_name", [
    ("Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample",
     "Task-SDOHCC-TaskReferralManagementOrderSubtaskAcceptedExample"),
    ("Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample",
     "Task-SDOHCC-TaskReferralManagementOrderSubtaskCompletedExample"),
])
def test_ig_subtask_examples_round_trip(client, db, world, h, parent_name, sub_name):
    """The coordination platform's sub-referral (Task.partOf) to a network organization, as in the IG:
    the plan refers to the platform, the platform accepts and sub-refers with its own ServiceRequest
    (basedOn the original), the organization accepts (and completes with a Procedure output)."""
    more = _setup_ig_world(client, db, world, h)
    clinic = db.scalar(select(Organization).where(Organization.name == "Better Health Clinic"))
    cp = db.scalar(select(Organization).where(Organization.name == "ABC Coordination Platform"))
    from datetime import date

    from socialcare.directory.models import HubNetworkMembership

    db.add(HubNetworkMembership(hub_id=cp.id, cbo_id=clinic.id, start_date=date(2020, 1, 1)))
    db.flush()
    clinic_h = api_headers(client, make_user(db, clinic, "cbo_staff", "clinic_staff").username)
    parent = _refer_to_platform(client, world, h, more, parent_name)

    sub = example(sub_name)
    sub_sr = example("ServiceRequest-SDOHCC-ServiceRequestSubreferralSummerFoodProgramExample")
    r = client.put(f"/fhir/ServiceRequest/{sub_sr['id']}", json=sub_sr, headers=more["cp"])
    assert r.status_code == 201, r.text
    sent = {k: v for k, v in sub.items() if k != "output"}
    r = client.put(f"/fhir/Task/{sub['id']}", json=dict(sent, status="requested"), headers=more["cp"])
    assert r.status_code == 201, r.text
    child = db.scalar(select(Referral).where(Referral.owner_org_id == clinic.id))
    assert child is not None and child.parent_id is not None and child.status == "requested"
    # the clinic finds its new work by polling, then moves it as the example shows
    inbox = client.get("/fhir/Task", params={"owner": "Organization/SDOHCC-OrganizationClinicExample",
                                             "status": "requested"}, headers=clinic_h).json()
    assert [e["resource"]["id"] for e in inbox["entry"]] == [sub["id"]]
    r = client.put(f"/fhir/Task/{sub['id']}", json=sub, headers=clinic_h)
    assert r.status_code == 200, r.text

    back = client.get(f"/fhir/Task/{sub['id']}", headers=more["cp"]).json()
    assert back["status"] == sub["status"]
    for k in ("partOf", "focus", "for", "requester", "owner", "intent", "code"):
        assert back[k] == sub[k], k
    assert back.get("output") == sub.get("output")
    sr_back = client.get(f"/fhir/ServiceRequest/{sub_sr['id']}", headers=more["cp"]).json()
    for k in ("basedOn", "category", "code", "subject", "reasonReference"):
        assert sr_back[k] == sub_sr[k], k
    # the plan's Task carries the sub-referral's progress: completed when the clinic completes
    plan_view = client.get(f"/fhir/Task/{parent['id']}", headers=h["staff_a"]).json()
    assert plan_view["status"] == ("completed" if sub["status"] == "completed" else "in-progress")
    sub_search = client.get("/fhir/Task", params={"part-of": f"Task/{parent['id']}"}, headers=more["cp"]).json()
    assert [e["resource"]["id"] for e in sub_search["entry"]] == [sub["id"]]


def test_completed_referral_has_a_procedure_as_resulting_activity(client, db, world, h):
    """A referral closed in the web app (no FHIR output sent) still answers Task.output with the
    resulting activity: a Procedure derived from the referral and the services delivered."""
    from datetime import date as _date

    from socialcare.delivery import rules as delivery_rules
    from socialcare.delivery import service as delivery

    m = world.members_a[2]
    ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=m.id, need_domain="food", owner_org_id=world.cbo.id, reason="Hunger Vital Sign positive",
        consent_scope="referral"))
    cbo = world.users["cbo"]
    for action, kw in (("accept", {}), ("contacted", {"channel": "phone"}), ("enroll", {}), ("start_service", {})):
        referrals.act(db, cbo, ref.id, action, version=None, **kw)
    svc = world.services["meals"]
    delivery.record_service(db, cbo, delivery_rules.ServiceRecordInput(
        member_id=m.id, service_id=svc.id, service_date=_date.today(), units=10, referral_id=ref.id,
        service_code="S5170-U6", place_of_service="12"))
    referrals.act(db, cbo, ref.id, "resolve", version=None, note="Food secure at 30 days")
    db.flush()
    task = client.get(f"/fhir/Task/{ref.id}", headers=h["staff_a"]).json()
    assert task["status"] == "completed"
    out = task["output"][0]
    assert out["type"]["coding"][0]["code"] == "resulting-activity"
    assert out["valueReference"]["reference"] == f"Procedure/referral-{ref.id}"
    proc = client.get(f"/fhir/Procedure/referral-{ref.id}", headers=h["staff_a"]).json()
    assert proc["status"] == "completed" and proc["basedOn"] == [{"reference": f"ServiceRequest/{ref.id}"}]
    assert {"system": "urn:oid:2.16.840.1.113883.6.285", "code": "S5170"} in proc["code"]["coding"]
    assert proc["subject"] == {"reference": f"Patient/{m.id}"}
    assert proc["performer"][0]["actor"] == {"reference": f"Organization/{world.cbo.id}"}
    assert ("http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes",
            "food-insecurity") in codes(proc["category"])
    found = client.get("/fhir/Procedure", params={"patient": f"Patient/{m.id}"}, headers=h["cbo"]).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [f"referral-{ref.id}"]
    # another plan neither reads it nor finds it; an open referral has no resulting activity
    assert client.get(f"/fhir/Procedure/referral-{ref.id}", headers=h["staff_b"]).status_code in (403, 404)
    assert client.get("/fhir/Procedure", headers=h["staff_b"]).json()["total"] == 0
    open_ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=m.id, need_domain="housing", owner_org_id=world.cbo.id, consent_scope="referral"))
    db.flush()
    assert client.get(f"/fhir/Procedure/referral-{open_ref.id}", headers=h["staff_a"]).status_code == 404


PATIENT_TASKS = ["Task-SDOHCC-TaskPatientInformationRequestCompletedExample",
                 "Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample",
                 "Task-SDOHCC-TaskPatientReviewInformationCompletedExample",
                 "Task-SDOHCC-TaskPatientRiskQuestionnaireCompletedExample"]


@pytest.mark.parametrize("name", PATIENT_TASKS)
def test_ig_task_for_patient_examples_round_trip(client, db, world, h, name):
    """What the plan asks of the member themselves (SDOHCC Task for Patient): kept with its meaning,
    tied to the member, seen only by those who may see the member."""
    _setup_ig_world(client, db, world, h)
    ex = example(name)
    r = client.put(f"/fhir/Task/{ex['id']}", json=ex, headers=h["staff_a"])
    assert r.status_code == 201, r.text
    back = client.get(f"/fhir/Task/{ex['id']}", headers=h["staff_a"]).json()
    for k in ("status", "intent", "priority", "code", "description", "focus", "for", "owner", "requester",
              "input", "output"):
        assert back.get(k) == ex.get(k), k
    from socialcare.interop.fhir.base import parse_instant

    assert parse_instant(back["authoredOn"]) == parse_instant(ex["authoredOn"])  # same instant, FHIR's spelling
    assert client.get(f"/fhir/Task/{ex['id']}", headers=h["staff_b"]).status_code == 403
    found = client.get("/fhir/Task", params={"patient": "Patient/pat-53234"}, headers=h["staff_a"]).json()
    assert ex["id"] in [e["resource"]["id"] for e in found["entry"]]
    assert client.get("/fhir/Task", params={"patient": "Patient/pat-53234", "status": "ready"},
                      headers=h["staff_a"]).json()["total"] == 0
    # a completed Task for Patient cannot start again; it never becomes a referral
    r = client.put(f"/fhir/Task/{ex['id']}", json=dict(ex, status="in-progress"), headers=h["staff_a"])
    assert r.status_code == 409 and r.json()["issue"][0]["expression"] == ["Task.status"]
    from socialcare.interop.fhir import store

    member_id = store.local_id(db, "Patient", "pat-53234", "member")
    assert member_id is not None
    assert db.scalars(select(Referral.id).where(Referral.member_id == member_id)).all() == []


@pytest.mark.parametrize("change,invariant", [
    (lambda t: t.pop("description"), "SDOH-Task-7"),
    (lambda t: t.update(input=[]), "SDOH-Task-4"),
    (lambda t: t.update(priority="stat"), "priority"),
    (lambda t: t.update(status="requested"), "status"),
    (lambda t: t.update(owner={"reference": "Organization/SDOHCC-OrganizationClinicExample"}), "owner"),
])
def test_task_for_patient_invariants_name_the_element(client, db, world, h, change, invariant):
    _setup_ig_world(client, db, world, h)
    bad = example("Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample")
    change(bad)
    r = client.put(f"/fhir/Task/{bad['id']}", json=bad, headers=h["staff_a"])
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"
    assert any(invariant in i["diagnostics"] or any(invariant in e for e in i.get("expression", []))
               for i in r.json()["issue"]), r.json()


def test_questionnaire_task_needs_exactly_one_questionnaire():
    from socialcare.interop.fhir import patient_tasks

    ok = example("Task-SDOHCC-TaskPatientRiskQuestionnaireCompletedExample")
    assert patient_tasks.check(ok) == []
    two = copy.deepcopy(ok)
    two["input"].append({"type": {"coding": [{"code": "questionnaire-url"}]}, "valueUrl": "https://x.example/q"})
    assert "SDOH-Task-1" in patient_tasks.check(two)[0].message
    wrong_out = copy.deepcopy(ok)
    wrong_out["output"][0]["type"]["coding"][0]["code"] = "questionnaire-pdf-completed"
    assert any("SDOH-Task-5/6" in p.message for p in patient_tasks.check(wrong_out))
    assert patient_tasks.check_transition("ready", "in-progress") is None
    assert patient_tasks.check_transition("in-progress", "ready") is not None
    assert patient_tasks.check_transition("completed", "entered-in-error") is None


def test_ig_garden_program_subreferral_service_request_round_trips(client, db, world, h):
    more = _setup_ig_world(client, db, world, h)
    _refer_to_platform(client, world, h, more, "Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample")
    sr = example("ServiceRequest-SDOHCC-ServiceRequestSubreferralGardenProgramExample")
    r = client.put(f"/fhir/ServiceRequest/{sr['id']}", json=sr, headers=more["cp"])
    assert r.status_code == 201, r.text
    back = client.get(f"/fhir/ServiceRequest/{sr['id']}", headers=more["cp"]).json()
    for k in ("status", "intent", "basedOn", "category", "code", "subject", "reasonReference"):
        assert back[k] == sr[k], k
    assert client.get(f"/fhir/ServiceRequest/{sr['id']}", headers=h["staff_b"]).status_code == 403
