"""The FHIR API driven by FHIR client libraries nobody on this project wrote (fhirpy, and the SMART
on FHIR ``fhirclient``), against the app served by uvicorn on its own database: the IG's closed
loop, fetch-all of a 500-Task search, a poller that misses nothing while it changes what it reads,
and conditional create. Every resource the server returns is checked against the official FHIR R4
JSON schema (tests/fixtures/fhir-r4-schema) and parsed by fhir.resources."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

fhirpy = pytest.importorskip("fhirpy")
fhirclient = pytest.importorskip("fhirclient")
jsonschema = pytest.importorskip("jsonschema")

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-r4-schema" / "fhir.schema.json"
TEMP = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
BULK = 500
POLLED = 120
# a loaded CI machine may take longer than httpx's default 5 seconds for a page of 90 Tasks
HTTP = httpx.Client(timeout=120)


@pytest.fixture(scope="module")
def schema_check():
    schema = json.loads(SCHEMA_FILE.read_text())
    # The R4 schema was generated for 4.0.0; the 4.0.1 technical correction left its fhirVersion enum
    # one short. 4.0.1 is R4's version string, so it is added here (the fixture stays as published).
    enum = schema["definitions"]["CapabilityStatement"]["properties"]["fhirVersion"]["enum"]
    enum.append("4.0.1")
    validators: dict[str, jsonschema.Draft6Validator] = {}

    def check(resource: dict) -> None:
        from fhir.resources.R4B import get_fhir_model_class

        rtype = resource["resourceType"]
        if rtype not in validators:
            validators[rtype] = jsonschema.Draft6Validator(
                {"$ref": f"#/definitions/{rtype}", "definitions": schema["definitions"]})
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
                  for e in validators[rtype].iter_errors(resource)]
        assert not errors, (rtype, resource.get("id"), errors[:5])
        get_fhir_model_class(rtype).model_validate(resource)
        if rtype == "Bundle":
            for e in resource.get("entry", []):
                check(e["resource"])

    return check


# ---- a server on its own database ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def database():
    base = os.environ.get("SOCIALCARE_DATABASE_URL", "")
    if base.startswith("postgresql"):
        parsed = make_url(base)
        name = f"{parsed.database}_fhirclients"
        admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield parsed.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        tmp = Path(tempfile.mkdtemp(prefix="socialcare-fhirclients-"))
        yield f"sqlite:///{tmp / 'fhir.db'}"
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Live:
    base: str
    tokens: dict[str, str]
    plan: int
    cbo: int
    cbo2: int
    members: list[int]


def _seed(url: str) -> dict:
    from socialcare.core.migrate import upgrade
    from socialcare.referrals.models import Referral
    from tests.factories import make_member, make_org, make_user

    upgrade(url)
    engine = sa.create_engine(url)
    with Session(engine) as db:
        plan = make_org(db, "health_plan", "Client Test Plan")
        cbo = make_org(db, "cbo", "Client Test Pantry", county="Erie", state="NY")
        cbo2 = make_org(db, "cbo", "Client Test Shelter", county="Erie", state="NY")
        make_user(db, plan, "plan_staff", "ct_plan")
        make_user(db, cbo, "cbo_staff", "ct_cbo")
        make_user(db, cbo2, "cbo_staff", "ct_cbo2")
        members = [make_member(db, plan, first_name=f"Cli{i}", last_name=f"Ent{i}") for i in range(3)]
        db.flush()
        t0 = datetime(2026, 11, 1, tzinfo=UTC)
        rows = [dict(plan_id=plan.id, requester_org_id=plan.id, owner_org_id=owner, member_id=members[i % 3].id,
                     need_domain="food", reason=f"bulk {i}", status="requested", source="fhir",
                     created_at=t0 + timedelta(minutes=i), requested_at=t0 + timedelta(minutes=i),
                     updated_at=t0 + timedelta(minutes=i % 7))  # many share an updated_at: order must not
                for owner, n in ((cbo.id, BULK), (cbo2.id, POLLED)) for i in range(n)]
        db.execute(sa.insert(Referral), rows)
        db.commit()
        out = {"plan": plan.id, "cbo": cbo.id, "cbo2": cbo2.id, "members": [m.id for m in members]}
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def live(database):
    import uvicorn

    from socialcare.web.app import create_app
    from tests.factories import PASSWORD

    ids = _seed(database)
    app = create_app(database_url=database)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    root = f"http://127.0.0.1:{port}"
    tokens = {}
    for user in ("ct_plan", "ct_cbo", "ct_cbo2"):
        r = HTTP.post(f"{root}/api/v1/tokens", json={"username": user, "password": PASSWORD})
        assert r.status_code == 201, r.text
        tokens[user] = r.json()["access_token"]
    yield Live(f"{root}/fhir", tokens, **ids)
    server.should_exit = True
    thread.join(timeout=10)


def _fhirpy(live: Live, user: str):
    return fhirpy.SyncFHIRClient(live.base, authorization=f"Bearer {live.tokens[user]}")


def _smart(live: Live, user: str):
    from fhirclient import client

    smart = client.FHIRClient(settings={"app_id": "socialcare-tests", "api_base": live.base})
    smart.server.session.headers["Authorization"] = f"Bearer {live.tokens[user]}"
    return smart


# ---- the tests ----------------------------------------------------------------------------------------


def test_capability_statement_reads_in_both_clients(live, schema_check):
    from fhirclient.models.capabilitystatement import CapabilityStatement

    raw = HTTP.get(f"{live.base}/metadata").json()
    schema_check(raw)
    cs = CapabilityStatement(raw)  # fhirclient's strict R4 parser
    assert cs.fhirVersion == "4.0.1"
    assert {r.type for r in cs.rest[0].resource} >= {"Task", "Patient", "Observation"}


def test_fetch_all_of_a_500_task_search_with_fhirpy(live, schema_check):
    c = _fhirpy(live, "ct_cbo")
    tasks = c.resources("Task").search(owner=f"Organization/{live.cbo}").limit(60).fetch_all()
    ids = [t.id for t in tasks]
    assert len(ids) == BULK and len(set(ids)) == BULK
    for t in tasks:
        schema_check(t.serialize())
    assert c.resources("Task").search(owner=f"Organization/{live.cbo}").count() == BULK


def test_fetch_all_of_a_500_task_search_with_fhirclient(live):
    from fhirclient.models.task import Task

    smart = _smart(live, "ct_cbo")
    search = Task.where(struct={"owner": f"Organization/{live.cbo}", "_count": "70"})
    ids = [t.id for t in search.perform_resources_iter(smart.server)]
    assert len(ids) == BULK and len(set(ids)) == BULK


def test_a_poller_misses_nothing_while_it_accepts_what_it_reads(live, schema_check):
    """cbo2 polls requested Tasks 25 at a time and accepts each as it reads it (fhirpy save = PUT):
    every Task is seen once, none is skipped by the pages shifting under the poller."""
    c = _fhirpy(live, "ct_cbo2")
    seen: list[str] = []
    url_params = {"owner": f"Organization/{live.cbo2}", "status": "requested", "_count": "25"}
    bundle = HTTP.get(f"{live.base}/Task", params=url_params,
                       headers={"Authorization": f"Bearer {live.tokens['ct_cbo2']}"}).json()
    while True:
        schema_check(bundle)
        for e in bundle.get("entry", []):
            task = c.resource("Task", **e["resource"])
            seen.append(task.id)
            task["status"] = "accepted"
            task.save()
            assert task["status"] == "accepted"
        nxt = next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None)
        if not nxt:
            break
        bundle = HTTP.get(nxt, headers={"Authorization": f"Bearer {live.tokens['ct_cbo2']}"}).json()
    assert len(seen) == POLLED and len(set(seen)) == POLLED
    assert c.resources("Task").search(owner=f"Organization/{live.cbo2}", status="requested").count() == 0


def test_last_updated_poll_across_pages_and_offsets_misses_nothing(live):
    """The IG poller: Task?_lastUpdated=gt<last poll>, paged; with _offset paging too."""
    c = _fhirpy(live, "ct_cbo")
    since = "gt2026-11-01T00:00:30+00:00"  # excludes the Tasks updated at exactly 00:00Z
    expected = {t.id for t in c.resources("Task").search(owner=f"Organization/{live.cbo}").limit(500).fetch_all()
                if t["meta"]["lastUpdated"] > "2026-11-01T00:00:30Z"}
    by_links = {t.id for t in c.resources("Task").search(owner=f"Organization/{live.cbo}", _lastUpdated=since)
                .limit(33).fetch_all()}
    assert by_links == expected and len(expected) < BULK
    by_offset = set()
    for offset in range(0, BULK, 90):
        page = HTTP.get(f"{live.base}/Task", params={"owner": f"Organization/{live.cbo}", "_lastUpdated": since,
                                                      "_count": 90, "_offset": offset},
                         headers={"Authorization": f"Bearer {live.tokens['ct_cbo']}"}).json()
        by_offset |= {e["resource"]["id"] for e in page.get("entry", [])}
    assert by_offset == expected


def _closed_loop_resources(live: Live, member: int, tag: str) -> tuple[dict, dict, dict]:
    consent = {"resourceType": "Consent", "status": "active",
               "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                     "code": "patient-privacy"}]},
               "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                         "code": "IDSCL"}]}],
               "patient": {"reference": f"Patient/{member}"}, "dateTime": "2026-12-01",
               "organization": [{"reference": f"Organization/{live.plan}"}],
               "sourceAttachment": {"contentType": "application/pdf", "title": "signed"},
               "provision": {"type": "permit", "actor": [{
                   "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                        "code": "IRCP"}]},
                   "reference": {"reference": f"Organization/{live.cbo}"}}]}}
    sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
          "category": [{"coding": [{"system": TEMP, "code": "food-insecurity"}]}],
          "code": {"text": f"Meals ({tag})"}, "subject": {"reference": f"Patient/{member}"}}
    task = {"resourceType": "Task", "status": "requested", "intent": "order", "priority": "routine",
            "identifier": [{"system": "urn:example:client-tests", "value": tag}],
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "for": {"reference": f"Patient/{member}"}, "authoredOn": "2026-12-01T09:00:00-05:00",
            "requester": {"reference": f"Organization/{live.plan}"},
            "owner": {"reference": f"Organization/{live.cbo}"}}
    return consent, sr, task


def test_closed_loop_with_fhirpy(live, schema_check):
    plan, cbo = _fhirpy(live, "ct_plan"), _fhirpy(live, "ct_cbo")
    consent, sr, task = _closed_loop_resources(live, live.members[0], "loop-fhirpy")
    consent = plan.resource("Consent", **consent)
    consent.save()
    sr["supportingInfo"] = [{"reference": f"Consent/{consent.id}"}]
    sr = plan.resource("ServiceRequest", **sr)
    sr.save()
    task = plan.resource("Task", **dict(task, focus={"reference": f"ServiceRequest/{sr.id}"}))
    task.save()
    assert task["meta"]["versionId"] == "1"
    # the CBO finds it by identifier, reads the patient it was shared, and works the referral
    found = cbo.resources("Task").search(identifier="urn:example:client-tests|loop-fhirpy").fetch_all()
    assert [t.id for t in found] == [task.id]
    patient = cbo.reference("Patient", str(live.members[0])).to_resource()
    schema_check(patient.serialize())
    work = found[0]
    for status in ("accepted", "in-progress"):
        work["status"] = status
        work.save()
        schema_check(work.serialize())
    work["status"] = "completed"
    work["output"] = [{"type": {"coding": [{"system": TEMP, "code": "resulting-activity"}]},
                       "valueReference": {"reference": f"Procedure/referral-{task.id}"}}]
    work.save()
    back = plan.reference("Task", task.id).to_resource()
    schema_check(back.serialize())
    assert back["status"] == "completed" and back["businessStatus"]["coding"][0]["code"] == "need-resolved"
    proc = plan.reference("Procedure", f"referral-{task.id}").to_resource()
    schema_check(proc.serialize())
    assert proc["status"] == "completed"
    v1 = HTTP.get(f"{live.base}/Task/{task.id}/_history/1", headers={"Authorization": f"Bearer {live.tokens['ct_plan']}"})
    assert v1.status_code == 200 and v1.json()["status"] == "requested"
    schema_check(v1.json())


def test_closed_loop_with_fhirclient(live, schema_check):
    from fhirclient.models.consent import Consent
    from fhirclient.models.servicerequest import ServiceRequest
    from fhirclient.models.task import Task

    plan, cbo = _smart(live, "ct_plan"), _smart(live, "ct_cbo")
    consent, sr, task = _closed_loop_resources(live, live.members[1], "loop-fhirclient")
    created = Consent(consent).create(plan.server)
    sr["supportingInfo"] = [{"reference": f"Consent/{created['id']}"}]
    sr_created = ServiceRequest(sr).create(plan.server)
    t = Task(dict(task, focus={"reference": f"ServiceRequest/{sr_created['id']}"})).create(plan.server)
    schema_check(t)
    mine = Task.where(struct={"owner": f"Organization/{live.cbo}", "identifier": "loop-fhirclient"})
    [work] = list(mine.perform_resources_iter(cbo.server))
    for status in ("accepted", "in-progress", "completed"):
        work.status = status
        work.update(cbo.server)
        work = Task.read(work.id, cbo.server)
        assert work.status == status
        schema_check(work.as_json())
    back = Task.read(t["id"], plan.server)
    assert back.status == "completed" and back.businessStatus.coding[0].code == "need-resolved"


def test_conditional_create_with_fhirpy_and_if_none_exist(live, schema_check):
    c = _fhirpy(live, "ct_plan")
    obs = {"resourceType": "Observation", "status": "final",
           "identifier": [{"system": "urn:example:hvs", "value": "hvs-1"}],
           "code": {"coding": [{"system": "http://loinc.org", "code": "88122-7"}]},
           "subject": {"reference": f"Patient/{live.members[2]}"}, "valueString": "Often true"}
    first, created = c.resources("Observation").search(identifier="urn:example:hvs|hvs-1").get_or_create(
        c.resource("Observation", **obs))
    again, created_again = c.resources("Observation").search(identifier="urn:example:hvs|hvs-1").get_or_create(
        c.resource("Observation", **obs))
    assert (created, created_again) == (True, False) and first.id == again.id
    r = HTTP.post(f"{live.base}/Observation", json=obs, headers={
        "Authorization": f"Bearer {live.tokens['ct_plan']}", "If-None-Exist": "identifier=urn:example:hvs|hvs-1",
        "Content-Type": "application/fhir+json"})
    assert r.status_code == 200 and r.json()["id"] == first.id
    schema_check(r.json())
    assert c.resources("Observation").search(patient=f"Patient/{live.members[2]}").count() == 1


def test_errors_parse_as_operation_outcomes_in_fhirpy(live):
    from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

    c = _fhirpy(live, "ct_plan")
    with pytest.raises(ResourceNotFound):
        c.reference("Spaceship", "1").to_resource()
    with pytest.raises(OperationOutcome):
        c.resource("Observation", status="bogus", code={"text": "x"},
                   subject={"reference": f"Patient/{live.members[0]}"}).save()
