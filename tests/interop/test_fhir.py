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
    r = client.post("/fhir/Task", json={"resourceType": "Task", "status": "done", "intent": "order"}, headers=h["staff_a"])
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["Task.code"]
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
    assert r.status_code == 200, r.text
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
    assert r.status_code == 200, r.text
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
        assert client.put(f"/fhir/Organization/{ex['id']}", json=ex, headers=h["hub"]).status_code == 200
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
    assert r.status_code == 200, r.text
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
