"""Authority over writes: an organization changes its own objects, or those it holds a named right
over (a hub its network members' listings, a plan its own clinical records). Every refusal is audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from socialcare.core.errors import Forbidden
from socialcare.directory.models import Organization
from socialcare.interop.fhir import outbound
from socialcare.interop.models import FhirEndpoint
from socialcare.members.models import MemberCondition
from socialcare.referrals.models import Consent, Referral
from socialcare.security.models import AuditEvent
from tests.factories import make_org, make_user
from tests.web.fixtures import api_headers


@pytest.fixture
def h(client, world):
    return {k: api_headers(client, world.users[k].username) for k in ("admin_a", "staff_a", "hub", "cbo", "staff_b")}


def _share(db, world, member):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    db.add(Referral(plan_id=world.plan_a.id, requester_org_id=world.plan_a.id, owner_org_id=world.cbo.id,
                    member_id=member.id, need_domain="food", status="in-progress", requested_at=now,
                    created_at=now, updated_at=now))
    db.add(Consent(member_id=member.id, plan_id=world.plan_a.id, organization_id=world.cbo.id, scope="full",
                   granted_at=now))
    db.flush()


def _denials(db, action_prefix: str) -> int:
    return len(list(db.scalars(select(AuditEvent).where(AuditEvent.allowed.is_(False),
                                                        AuditEvent.action.like(f"{action_prefix}%")))))


# ---- FHIR endpoints ---------------------------------------------------------------------------


def test_a_hub_cannot_point_a_cbos_fhir_endpoint_at_its_own_server(db, world):
    outsider = make_org(db, "cbo", "Outside The Network")
    for org_id in (world.cbo.id, outsider.id):
        with pytest.raises(Forbidden):
            outbound.set_endpoint(db, world.users["hub"], org_id, mode="direct",
                                  base_url="https://hub.example.org/fhir", bearer_token="x")
    assert db.scalar(select(FhirEndpoint)) is None
    assert _denials(db, "exchange.fhir_endpoint") == 2
    # the hub sets its own; the plan's administrator (the referral source) sets a partner's
    outbound.set_endpoint(db, world.users["hub"], world.hub.id, mode="light", base_url=None, bearer_token=None)
    outbound.set_endpoint(db, world.users["admin_a"], world.cbo.id, mode="direct",
                          base_url="https://cbo.example.org/fhir", bearer_token=None)


def test_partner_endpoints_are_listed_to_their_own_organization(db, world):
    outbound.set_endpoint(db, world.users["admin_a"], world.cbo.id, mode="direct",
                          base_url="https://cbo.example.org/fhir", bearer_token=None)
    assert outbound.endpoints(db, world.users["hub"]) == []
    assert len(outbound.endpoints(db, world.users["admin_a"])) == 1


def test_the_web_form_refuses_a_hub_setting_another_organizations_endpoint(client_factory, world):
    from tests.web.fixtures import csrf_from

    c = client_factory(world.users["hub"].username)
    page = c.get("/exchange/fhir")
    r = c.post("/exchange/fhir/endpoints", data={"csrf_token": csrf_from(page.text), "organization_id": str(world.cbo.id),
                                                  "mode": "direct", "base_url": "https://hub.example.org/fhir"})
    assert r.status_code == 403


# ---- FHIR Organization -----------------------------------------------------------------------


def _org_body(name: str, kind: str) -> dict:
    return {"resourceType": "Organization", "name": name,
            "type": [{"coding": [{"system": "https://socialcare.example.org/CodeSystem/organization-kind",
                                  "code": kind}]}]}


def test_fhir_organization_put_cannot_rewrite_another_organization(client, db, world, h):
    body = dict(_org_body("Hijacked Plan", "community_care_hub"), id=str(world.plan_a.id))
    r = client.put(f"/fhir/Organization/{world.plan_a.id}", json=body, headers=h["hub"])
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    db.expire_all()
    assert db.get(Organization, world.plan_a.id).name == "Empire Plan A"
    assert db.get(Organization, world.plan_a.id).kind == "health_plan"


def test_fhir_organization_post_with_an_existing_name_never_overwrites(client, db, world, h):
    r = client.post("/fhir/Organization", json=_org_body("Empire Plan A", "cbo"), headers=h["hub"])
    assert r.status_code == 409
    db.expire_all()
    assert db.get(Organization, world.plan_a.id).kind == "health_plan"


def test_a_hub_edits_its_network_member_but_cannot_change_its_kind(client, db, world, h):
    ok = _org_body("Buffalo Food Collaborative", "cbo") | {"id": str(world.cbo.id),
                                                          "telecom": [{"system": "phone", "value": "716-555-0100"}]}
    assert client.put(f"/fhir/Organization/{world.cbo.id}", json=ok, headers=h["hub"]).status_code == 200
    kind = dict(ok, type=_org_body("x", "community_care_hub")["type"])
    assert client.put(f"/fhir/Organization/{world.cbo.id}", json=kind, headers=h["hub"]).status_code == 409
    db.expire_all()
    assert db.get(Organization, world.cbo.id).kind == "cbo"
    assert db.get(Organization, world.cbo.id).phone == "716-555-0100"


def test_a_plan_cannot_rewrite_a_cbo_listing(client, db, world, h):
    body = _org_body("Buffalo Food Collaborative", "cbo") | {"id": str(world.cbo.id)}
    assert client.put(f"/fhir/Organization/{world.cbo.id}", json=body, headers=h["admin_a"]).status_code == 403


def test_hsds_import_leaves_another_organizations_listing_unchanged(db, world):
    from socialcare.interop import hsds

    outsider = make_org(db, "cbo", "Outside The Network")
    make_user(db, outsider, "cbo_staff", "outsider_staff")
    payload = [{"id": "8d1c1a52-0f7a-4c52-9b0e-4a3c39b0a001", "name": "Outside The Network", "description": "mine now",
                "phones": [{"number": "1-900-555-0000"}]},
               {"id": "8d1c1a52-0f7a-4c52-9b0e-4a3c39b0a002", "name": "Empire Plan A", "description": "a hub now"}]
    result = hsds.import_hsds(db, world.users["hub"], payload)
    db.expire_all()
    assert result.organizations_updated == 0 and len(result.warnings) == 2
    assert db.get(Organization, outsider.id).phone is None
    assert db.get(Organization, world.plan_a.id).kind == "health_plan"


# ---- clinical resources ----------------------------------------------------------------------


def _condition(member_id: int, code: str) -> dict:
    return {"resourceType": "Condition", "clinicalStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
        "subject": {"reference": f"Patient/{member_id}"}}


def test_a_cbo_cannot_overwrite_the_plans_condition_nor_add_diagnoses(client, db, world, h):
    m = world.members_a[0]
    _share(db, world, m)
    r = client.put("/fhir/Condition/plan-dx", json=dict(_condition(m.id, "Z59.4"), id="plan-dx"), headers=h["staff_a"])
    assert r.status_code in (200, 201), r.text
    r = client.put("/fhir/Condition/plan-dx", json=dict(_condition(m.id, "F20.9"), id="plan-dx"), headers=h["cbo"])
    assert r.status_code == 403, r.text
    assert client.get("/fhir/Condition/plan-dx", headers=h["staff_a"]).json()["code"]["coding"][0]["code"] == "Z59.4"
    # a CBO's own Condition is kept as exchanged, but does not enter the plan's member record
    r = client.post("/fhir/Condition", json=_condition(m.id, "F20.9"), headers=h["cbo"])
    assert r.status_code == 201, r.text
    codes = set(db.scalars(select(MemberCondition.icd10_code).where(MemberCondition.member_id == m.id)))
    assert "F20.9" not in codes and "Z59.4" in codes
    assert _denials(db, "fhir.condition") == 1


def test_a_cbo_cannot_overwrite_the_plans_pending_service_request(client, db, world, h):
    m = world.members_a[0]
    _share(db, world, m)
    sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
          "category": [{"coding": [{"system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/"
                                              "SDOHCC-CodeSystemTemporaryCodes", "code": "food-insecurity"}]}],
          "code": {"text": "Medically tailored meals"}, "subject": {"reference": f"Patient/{m.id}"}}
    assert client.put("/fhir/ServiceRequest/plan-sr", json=dict(sr, id="plan-sr"), headers=h["staff_a"]).status_code in (200, 201)
    r = client.put("/fhir/ServiceRequest/plan-sr", json=dict(sr, id="plan-sr", code={"text": "nothing"}), headers=h["cbo"])
    assert r.status_code == 403, r.text
    assert client.get("/fhir/ServiceRequest/plan-sr", headers=h["staff_a"]).json()["code"]["text"] == "Medically tailored meals"
