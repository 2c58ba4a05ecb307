"""FHIR protocol behaviour other people's clients rely on: paging, search parameters and modifiers,
dates in UTC, versions and conditional create, OperationOutcome everywhere, content types,
required bindings, and a CapabilityStatement that matches the routes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import update

from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral
from tests.web.fixtures import api_headers

FJ = "application/fhir+json"
TEMP = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"


class _Tokens(dict):
    """A bearer token per world user, signed in on first use (signing in is slow by design)."""

    def __init__(self, client, world):
        super().__init__()
        self.client, self.world = client, world

    def __missing__(self, key):
        self[key] = api_headers(self.client, self.world.users[key].username)
        return self[key]


@pytest.fixture
def h(client, world):
    return _Tokens(client, world)


def _refer(db, world, n: int, owner=None, member=None) -> list[Referral]:
    out = []
    for i in range(n):
        ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
            member_id=(member or world.members_a[i % 3]).id, need_domain="food",
            owner_org_id=(owner or world.cbo).id, reason=f"r{i}", consent_scope="referral"))
        out.append(ref)
    db.flush()
    return out


def _ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _link(bundle: dict, rel: str) -> str | None:
    return next((lk["url"] for lk in bundle["link"] if lk["relation"] == rel), None)


def _get(client, url: str, headers: dict) -> dict:
    p = urlparse(url)
    r = client.get(p.path, params=parse_qs(p.query), headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


# ---- paging -------------------------------------------------------------------------------------


def test_search_pages_with_next_and_previous_links(client, db, world, h):
    refs = _refer(db, world, 7)
    first = client.get("/fhir/Task", params={"owner": f"Organization/{world.cbo.id}", "_count": 3},
                       headers=h["cbo"]).json()
    assert first["total"] == 7 and len(_ids(first)) == 3 and _link(first, "previous") is None
    seen, page, pages = _ids(first), first, [first]
    while _link(page, "next"):
        page = _get(client, _link(page, "next"), h["cbo"])
        seen += _ids(page)
        pages.append(page)
    assert sorted(seen) == sorted(str(r.id) for r in refs) and len(seen) == 7  # each exactly once
    assert [len(_ids(p)) for p in pages] == [3, 3, 1]
    back = _get(client, _link(pages[1], "previous"), h["cbo"])
    assert _ids(back) == _ids(first)


def test_count_zero_and_summary_count_give_the_total_only_and_count_is_capped(client, db, world, h):
    _refer(db, world, 4)
    for params in ({"_count": 0}, {"_summary": "count"}):
        b = client.get("/fhir/Task", params=params, headers=h["cbo"]).json()
        assert b["total"] == 4 and "entry" not in b, params
    b = client.get("/fhir/Task", params={"_count": 100000}, headers=h["cbo"]).json()
    assert len(_ids(b)) == 4 and "_count=500" in _link(b, "self")


def test_a_poller_that_accepts_what_it_reads_misses_nothing(client, db, world, h):
    """A CBO polls its new work two at a time and accepts each Task as it reads it: with offset
    paging the accepted ones would drop out and shift the rest past the next page."""
    refs = _refer(db, world, 7)
    seen = []
    page = client.get("/fhir/Task", params={"owner": f"Organization/{world.cbo.id}", "status": "requested",
                                            "_count": 2}, headers=h["cbo"]).json()
    while True:
        for e in page.get("entry", []):
            t = e["resource"]
            seen.append(t["id"])
            r = client.put(f"/fhir/Task/{t['id']}", json=dict(t, status="accepted"), headers=h["cbo"])
            assert r.status_code == 200, r.text
        if not _link(page, "next"):
            break
        page = _get(client, _link(page, "next"), h["cbo"])
    assert sorted(seen) == sorted(str(r.id) for r in refs)


# ---- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value,found", [
    ("gt2026-12-03T09:30:00-05:00", True), ("gt2026-12-03T10:30:00-05:00", False),
    ("lt2026-12-03T15:30:00+01:00", False), ("lt2026-12-03T17:30+01:00", True),
    ("eq2026-12-03", True), ("2026-12-03", True), ("eq2026-12-04", False), ("eq2026-12", True), ("eq2026", True),
    ("ge2026-12-03T15:00:00Z", True), ("gt2026-12-03T15:00:00Z", False), ("eq2026-12-03T15:00", True),
    ("le2026-12-02", False), ("ne2026-12-03", False), ("sa2026-12-02", True), ("eb2026-12-04", True),
    ("eq2026-12-03T15:00:00.000Z", True),
])
def test_last_updated_at_any_precision_and_offset(client, db, world, h, value, found):
    ref = _refer(db, world, 1)[0]
    db.execute(update(Referral).where(Referral.id == ref.id).values(
        updated_at=datetime(2026, 12, 3, 15, 0, 0, tzinfo=UTC)))
    db.flush()
    b = client.get("/fhir/Task", params={"_lastUpdated": value}, headers=h["cbo"]).json()
    assert (_ids(b) == [str(ref.id)]) is found, (value, b.get("total"))


def test_a_bad_date_is_an_operation_outcome(client, world, h):
    r = client.get("/fhir/Task", params={"_lastUpdated": "gtyesterday"}, headers=h["cbo"])
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["_lastUpdated"]


# ---- parameters, OR values, modifiers ---------------------------------------------------------------


def test_comma_separated_values_are_or(client, db, world, h):
    a = _refer(db, world, 1)[0]
    b = _refer(db, world, 1, owner=world.hub)[0]
    found = client.get("/fhir/Task", params={"owner": f"Organization/{world.cbo.id},Organization/{world.hub.id}"},
                       headers=h["staff_a"]).json()
    assert sorted(_ids(found)) == sorted([str(a.id), str(b.id)])
    both = client.get("/fhir/Task", params={"_id": f"{a.id},{b.id}"}, headers=h["staff_a"]).json()
    assert both["total"] == 2


def test_task_search_parameters_are_honoured(client, db, world, h):
    refs = _refer(db, world, 3)
    referrals.act(db, world.users["cbo"], refs[0].id, "accept", version=None)
    db.flush()

    def ids(**params):
        return sorted(_ids(client.get("/fhir/Task", params=params, headers=h["staff_a"]).json()))

    all_ids = sorted(str(r.id) for r in refs)
    assert ids(_id=str(refs[1].id)) == [str(refs[1].id)]
    assert ids(**{"status:not": "requested"}) == [str(refs[0].id)]
    assert ids(status="requested") == sorted(str(r.id) for r in refs[1:])
    assert ids(code="http://hl7.org/fhir/CodeSystem/task-code|fulfill") == all_ids
    assert ids(code="make-contact") == []
    assert ids(focus=f"ServiceRequest/{refs[2].id}") == [str(refs[2].id)]
    assert ids(patient=f"Patient/{world.members_a[0].id}") == [str(refs[0].id)]
    assert ids(**{"owner:missing": "false"}) == all_ids


def test_task_identifier_search(client, db, world, h):
    m = world.members_a[0]
    sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
          "category": [{"coding": [{"system": TEMP, "code": "food-insecurity"}]}],
          "code": {"text": "Meals"}, "subject": {"reference": f"Patient/{m.id}"}}
    sr_id = client.post("/fhir/ServiceRequest", json=sr, headers=h["staff_a"]).json()["id"]
    task = {"resourceType": "Task", "status": "requested", "intent": "order",
            "identifier": [{"system": "urn:example:ehr", "value": "T-42"}],
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "focus": {"reference": f"ServiceRequest/{sr_id}"}, "for": {"reference": f"Patient/{m.id}"},
            "authoredOn": "2026-12-01T10:00:00Z", "requester": {"reference": f"Organization/{world.plan_a.id}"},
            "owner": {"reference": f"Organization/{world.cbo.id}"}}
    tid = client.post("/fhir/Task", json=task, headers=h["staff_a"]).json()["id"]
    _refer(db, world, 2)
    for value in ("T-42", "urn:example:ehr|T-42"):
        b = client.get("/fhir/Task", params={"identifier": value}, headers=h["staff_a"]).json()
        assert _ids(b) == [tid], value
    assert client.get("/fhir/Task", params={"identifier": "urn:other|T-42"}, headers=h["staff_a"]).json()["total"] == 0


def test_patient_and_organization_parameters(client, db, world, h):
    a0 = world.members_a[0]

    def total(path, **params):
        r = client.get(path, params=params, headers=h["staff_a"])
        assert r.status_code == 200, r.text
        return r.json()["total"]

    assert total("/fhir/Patient", gender="female") == 3
    assert total("/fhir/Patient", gender="male") == 0
    assert total("/fhir/Patient", **{"gender:not": "male"}) == 3
    assert total("/fhir/Patient", birthdate="ge1970-01-01") == 3
    assert total("/fhir/Patient", birthdate="1970-05-17") == 3
    assert total("/fhir/Patient", birthdate="lt1970-05") == 0
    assert total("/fhir/Patient", birthdate="eq1970") == 3
    assert total("/fhir/Patient", **{"family:exact": a0.last_name}) == 1
    assert total("/fhir/Patient", **{"family:exact": a0.last_name.lower()}) == 0
    assert total("/fhir/Patient", family="alpha") == 3  # starts with, any case
    assert total("/fhir/Patient", _id=str(a0.id)) == 1
    assert total("/fhir/Organization", **{"name:contains": "food"}) == 1
    assert total("/fhir/Organization", name="Food") == 0  # FHIR's default is "starts with"
    assert total("/fhir/Organization", name="buffalo") == 1


def test_unknown_parameters_are_refused_when_strict_and_listed_as_ignored_when_lenient(client, db, world, h):
    _refer(db, world, 2)
    r = client.get("/fhir/Task", params={"colour": "red", "status": "requested"}, headers=h["cbo"])
    assert r.status_code == 200 and r.json()["total"] == 2
    self_link = _link(r.json(), "self")
    assert "colour" not in self_link and "status=requested" in self_link
    r = client.get("/fhir/Task", params={"colour": "red"}, headers={**h["cbo"], "Prefer": "handling=strict"})
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["code"] == "not-supported" and r.json()["issue"][0]["expression"] == ["colour"]
    r = client.get("/fhir/Patient", params={"family:sounds-like": "x"}, headers={**h["cbo"], "Prefer": "handling=strict"})
    assert r.status_code == 400


# ---- status and businessStatus together -----------------------------------------------------------


def test_status_and_business_status_in_one_update_are_both_applied(client, db, world, h):
    ref = _refer(db, world, 1)[0]
    task = client.get(f"/fhir/Task/{ref.id}", headers=h["cbo"]).json()
    bs = {"coding": [{"system": "https://socialcare.example.org/CodeSystem/referral-business-status",
                      "code": "contacted"}]}
    r = client.put(f"/fhir/Task/{ref.id}", json=dict(task, status="accepted", businessStatus=bs), headers=h["cbo"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["businessStatus"]["coding"][0]["code"]) == ("accepted", "contacted")
    db.expire_all()
    stored = db.get(Referral, ref.id)
    assert (stored.status, stored.business_status) == ("accepted", "contacted") and stored.contacted_at
    enrolled = dict(bs, coding=[dict(bs["coding"][0], code="enrolled")])
    r = client.put(f"/fhir/Task/{ref.id}", json=dict(r.json(), businessStatus=enrolled), headers=h["cbo"])
    assert r.json()["businessStatus"]["coding"][0]["code"] == "enrolled"


# ---- versions -------------------------------------------------------------------------------------


def _observation(member_id: int, value: str = "Often true") -> dict:
    return {"resourceType": "Observation", "status": "final",
            "identifier": [{"system": "urn:example:screening", "value": f"obs-{member_id}"}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "88122-7"}]},
            "subject": {"reference": f"Patient/{member_id}"}, "valueString": value}


def test_every_written_resource_is_versioned(client, db, world, h):
    m = world.members_a[0]
    r = client.post("/fhir/Observation", json=_observation(m.id), headers=h["staff_a"])
    assert r.status_code == 201 and r.headers["content-type"].startswith(FJ)
    oid = r.json()["id"]
    assert r.headers["ETag"] == 'W/"1"' and r.headers["Location"].endswith(f"/fhir/Observation/{oid}/_history/1")
    got = client.get(f"/fhir/Observation/{oid}", headers=h["staff_a"])
    assert got.headers["ETag"] == 'W/"1"'
    changed = dict(got.json(), valueString="Sometimes true")
    r = client.put(f"/fhir/Observation/{oid}", json=changed, headers={**h["staff_a"], "If-Match": 'W/"1"'})
    assert r.status_code == 200 and r.json()["meta"]["versionId"] == "2" and r.headers["ETag"] == 'W/"2"'
    stale = client.put(f"/fhir/Observation/{oid}", json=changed, headers={**h["staff_a"], "If-Match": 'W/"1"'})
    assert stale.status_code == 412 and stale.json()["resourceType"] == "OperationOutcome"
    v1 = client.get(f"/fhir/Observation/{oid}/_history/1", headers=h["staff_a"])
    assert v1.status_code == 200 and v1.json()["valueString"] == "Often true"
    assert client.get(f"/fhir/Observation/{oid}/_history/2", headers=h["staff_a"]).json()["valueString"] == "Sometimes true"
    missing = client.get(f"/fhir/Observation/{oid}/_history/9", headers=h["staff_a"])
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Observation/{oid}/_history/1", headers=h["staff_b"]).status_code == 403


def test_organization_and_patient_versions_move_on_each_write(client, world, h):
    org = {"resourceType": "Organization", "name": "Versioned Pantry", "active": True}
    r = client.post("/fhir/Organization", json=org, headers=h["hub"])
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    assert r.json()["meta"]["versionId"] == "1" and "/_history/1" in r.headers["Location"]
    r = client.put(f"/fhir/Organization/{oid}", json=dict(org, id=oid, active=False), headers={
        **h["hub"], "If-Match": 'W/"1"'})
    assert r.status_code == 200 and r.json()["meta"]["versionId"] == "2"
    r = client.put(f"/fhir/Organization/{oid}", json=dict(org, id=oid), headers={**h["hub"], "If-Match": 'W/"1"'})
    assert r.status_code == 412
    m = world.members_a[0]
    p = client.get(f"/fhir/Patient/{m.id}", headers=h["staff_a"]).json()
    r = client.put(f"/fhir/Patient/{m.id}", json=dict(p, gender="female"), headers={
        **h["staff_a"], "If-Match": f'W/"{p["meta"]["versionId"]}"'})
    assert r.status_code == 200 and int(r.json()["meta"]["versionId"]) == int(p["meta"]["versionId"]) + 1


def test_referral_task_vread_and_versioned_location(client, db, world, h):
    ref = _refer(db, world, 1)[0]
    task = client.get(f"/fhir/Task/{ref.id}", headers=h["cbo"]).json()
    r = client.put(f"/fhir/Task/{ref.id}", json=dict(task, status="accepted"), headers={
        **h["cbo"], "If-Match": f'W/"{task["meta"]["versionId"]}"'})
    assert r.status_code == 200
    v = r.json()["meta"]["versionId"]
    assert r.headers["Content-Location"].endswith(f"/fhir/Task/{ref.id}/_history/{v}")
    assert client.get(f"/fhir/Task/{ref.id}/_history/{v}", headers=h["cbo"]).json()["status"] == "accepted"


def test_if_none_exist_creates_once(client, world, h):
    m = world.members_a[1]
    headers = {**h["staff_a"], "If-None-Exist": f"identifier=urn:example:screening|obs-{m.id}"}
    first = client.post("/fhir/Observation", json=_observation(m.id), headers=headers)
    again = client.post("/fhir/Observation", json=_observation(m.id), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    found = client.get("/fhir/Observation", params={"patient": f"Patient/{m.id}"}, headers=h["staff_a"]).json()
    assert found["total"] == 1
    bad = client.post("/fhir/Observation", json=_observation(m.id), headers={**h["staff_a"], "If-None-Exist": "x=1"})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


# ---- errors, content types, bindings, metadata --------------------------------------------------------


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/fhir/Spaceship", 404), ("GET", "/fhir/Spaceship/1", 404), ("DELETE", "/fhir/Task/1", 405),
    ("PATCH", "/fhir/Task/1", 405), ("POST", "/fhir", 405), ("GET", "/fhir/ServiceRequest", 405),
    ("DELETE", "/fhir/Observation/1", 405),
])
def test_every_error_under_fhir_is_an_operation_outcome(client, world, h, method, path, status):
    r = client.request(method, path, headers=h["staff_a"], json={"resourceType": "Bundle"} if method != "GET" else None)
    assert r.status_code == status and r.headers["content-type"].startswith(FJ)
    assert r.json()["resourceType"] == "OperationOutcome"


def test_xml_is_refused_with_415_and_406(client, world, h):
    xml = '<Observation xmlns="http://hl7.org/fhir"><status value="final"/></Observation>'
    r = client.post("/fhir/Observation", content=xml, headers={**h["staff_a"], "Content-Type": "application/fhir+xml"})
    assert r.status_code == 415 and r.json()["resourceType"] == "OperationOutcome"
    r = client.get("/fhir/Patient", headers={**h["staff_a"], "Accept": "application/fhir+xml"})
    assert r.status_code == 406 and r.headers["content-type"].startswith(FJ)
    r = client.get("/fhir/Patient", params={"_format": "xml"}, headers=h["staff_a"])
    assert r.status_code == 406
    ok = client.get("/fhir/Patient", headers={**h["staff_a"], "Accept": "application/fhir+json, application/json;q=0.9"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(FJ)


def test_required_bindings_are_checked(client, world, h):
    bad = dict(_observation(world.members_a[0].id), status="bogus")
    r = client.post("/fhir/Observation", json=bad, headers=h["staff_a"])
    assert r.status_code == 422
    assert ["Observation.status"] in [i.get("expression") for i in r.json()["issue"]]
    assert client.get("/fhir/Observation", headers=h["staff_a"]).json()["total"] == 0


def test_metadata_is_open_and_matches_the_routes(client):
    r = client.get("/fhir/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith(FJ)
    cs = r.json()
    res = {x["type"]: x for x in cs["rest"][0]["resource"]}
    sr = {i["code"] for i in res["ServiceRequest"]["interaction"]}
    assert "search-type" not in sr and {"read", "vread", "create", "update"} <= sr
    task_params = {p["name"] for p in res["Task"]["searchParam"]}
    assert {"_id", "identifier", "focus", "code", "status", "owner", "_lastUpdated"} <= task_params
    assert {"gender", "birthdate", "family"} <= {p["name"] for p in res["Patient"]["searchParam"]}
    # what is advertised is served: each resource's interactions answer (401 without a token, not 404/405)
    for rtype, r_ in res.items():
        for code in (i["code"] for i in r_["interaction"]):
            method, path = {"read": ("GET", f"/fhir/{rtype}/1"), "vread": ("GET", f"/fhir/{rtype}/1/_history/1"),
                            "search-type": ("GET", f"/fhir/{rtype}"), "create": ("POST", f"/fhir/{rtype}"),
                            "update": ("PUT", f"/fhir/{rtype}/1")}[code]
            assert client.request(method, path).status_code == 401, (method, path)


def test_fhir_is_in_openapi_and_its_routes_are_sync(app, client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/fhir/Task" in paths and "/fhir/Task/{fid}" in paths and "/fhir/metadata" in paths
    from socialcare.web.app import walk_routes

    for route in walk_routes(app):
        if route.path.startswith(("/fhir", "/exchange")) and hasattr(route, "endpoint"):
            assert not asyncio.iscoroutinefunction(route.endpoint), route.path
