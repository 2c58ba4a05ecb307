"""Direct mode: socialcare as the referral source toward a CBO's own FHIR server. The referral is
pushed as a Task (retried with backoff when the partner's server is down, never duplicated), the
partner works it on its server, and polling brings every change back through the state machine."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from socialcare.core.clock import utcnow
from socialcare.core.errors import InvalidInput
from socialcare.interop.fhir import outbound
from socialcare.interop.models import FhirOutbound
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral, ReferralEvent
from tests.interop.partner_server import PartnerServer

BASE = "https://fhir.cbo.example.org/fhir"
OURS = "http://127.0.0.1:8000/fhir"  # the default public_url


@pytest.fixture
def partner(db, world):
    server = PartnerServer()
    outbound.set_endpoint(db, world.users["admin_a"], world.cbo.id, mode="direct", base_url=BASE,
                          bearer_token=server.token)
    return server


def _refer(db, world, member_index=0, need="food"):
    ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=world.members_a[member_index].id, need_domain=need, owner_org_id=world.cbo.id,
        reason="Positive Hunger Vital Sign", urgency="urgent", consent_scope="referral"))
    db.flush()
    return ref


def _rows(db, ref_id) -> list[FhirOutbound]:
    db.expire_all()
    return list(db.scalars(select(FhirOutbound).where(FhirOutbound.referral_id == ref_id).order_by(FhirOutbound.id)))


def test_backoff_doubles_from_a_minute_to_six_hours():
    assert [outbound.backoff(n) for n in (1, 2, 3, 9)] == [timedelta(minutes=m) for m in (1, 2, 4, 256)]
    assert outbound.backoff(10) == outbound.backoff(30) == timedelta(hours=6)


def test_endpoint_needs_a_url_and_a_directory_writer(db, world):
    with pytest.raises(InvalidInput) as err:
        outbound.set_endpoint(db, world.users["admin_a"], world.cbo.id, mode="direct", base_url="fhir.cbo",
                              bearer_token=None)
    assert err.value.problems[0].field == "base_url"
    from socialcare.core.errors import Forbidden

    with pytest.raises(Forbidden):
        outbound.set_endpoint(db, world.users["staff_a"], world.cbo.id, mode="light", base_url=None, bearer_token=None)


def test_referral_is_pushed_retried_and_worked_on_the_partner_server(db, world, partner):
    ref = _refer(db, world)
    t0 = utcnow()
    client = partner.client()
    partner.fail_next = [503, "drop"]

    report = outbound.sync(client, now=t0)
    assert (report.queued, report.sent, report.retrying) == (1, 0, 1)
    [row] = _rows(db, ref.id)
    assert (row.status, row.attempts, row.http_status) == ("pending", 1, 503)
    assert "down for maintenance" in row.last_error
    assert outbound.sync(client, now=t0 + timedelta(seconds=30)).sent == 0  # not due before its backoff
    report = outbound.sync(client, now=t0 + timedelta(seconds=61))
    [row] = _rows(db, ref.id)
    assert (row.status, row.attempts, row.http_status) == ("pending", 2, None) and "ConnectError" in row.last_error
    assert outbound.sync(client, now=t0 + timedelta(minutes=4)).sent == 1
    [row] = _rows(db, ref.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)

    task = partner.tasks[f"socialcare-referral-{ref.id}"]
    assert task["status"] == "requested" and task["priority"] == "urgent"
    assert task["focus"] == {"reference": f"{OURS}/ServiceRequest/{ref.id}"}
    assert task["for"] == {"reference": f"{OURS}/Patient/{world.members_a[0].id}"}
    assert task["owner"] == {"reference": f"{OURS}/Organization/{world.cbo.id}"}
    assert {"system": f"{OURS}/Task", "value": str(ref.id)} in task["identifier"]
    m = world.members_a[0]
    assert all(v not in str(task) for v in (m.first_name, m.last_name, m.plan_member_id))  # no member details copied
    assert all(auth == f"Bearer {partner.token}" for m, _, auth in partner.log if auth != "dropped")

    # the CBO accepts on its own server; the next poll brings it back as the CBO's change
    task["status"] = "accepted"
    report = outbound.sync(client, now=t0 + timedelta(minutes=20))
    assert report.polled[0].changed == [(ref.id, "requested", "accepted")] and report.queued == 0
    db.expire_all()
    ref = db.get(Referral, ref.id)
    assert ref.status == "accepted" and ref.accepted_at is not None
    event = db.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == ref.id)
                       .order_by(ReferralEvent.id.desc())).first()
    assert event.action == "accept" and event.username == "fhir:fhir.cbo.example.org" and event.org_id == world.cbo.id

    # it completes there with its Procedure; ours closes the loop and points at the partner's Procedure
    task.update(status="completed", output=[{
        "type": {"coding": [{"system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes",
                             "code": "resulting-activity"}]},
        "valueReference": {"reference": "Procedure/meals-77"}}])
    outbound.sync(client, now=t0 + timedelta(minutes=40))
    db.expire_all()
    ref = db.get(Referral, ref.id)
    assert (ref.status, ref.business_status) == ("completed", "need-resolved")
    from socialcare.interop.fhir import referrals as fref

    ours = fref.task_to_fhir(db, ref)
    assert ours["output"][0]["valueReference"]["reference"] == f"{BASE}/Procedure/meals-77"
    # nothing more to tell the partner, nothing more to poll: three tries of one PUT, no other request
    log = len(partner.log)
    outbound.sync(client, now=t0 + timedelta(hours=2))
    assert len(partner.log) == log and len(partner.puts()) == 3


def test_partner_refusal_fails_at_once_and_a_cancellation_waits_its_turn(db, world, partner):
    ref = _refer(db, world)
    client = partner.client()
    partner.fail_next = [422]
    t0 = utcnow()
    report = outbound.sync(client, now=t0)
    assert report.failed == 1
    [row] = _rows(db, ref.id)
    assert (row.status, row.attempts, row.http_status) == ("failed", 1, 422)
    assert row.last_error == "HTTP 422: the Task is not acceptable here (Task.owner)"
    # the plan cancels; the cancellation is queued but never overtakes the referral it cancels
    referrals.act(db, world.users["staff_a"], ref.id, "cancel", version=None, reason="Member moved away")
    db.flush()
    assert outbound.sync(client, now=t0 + timedelta(minutes=1)).queued == 1
    assert [r.status for r in _rows(db, ref.id)] == ["failed", "pending"] and partner.tasks == {}
    # the partner fixed its server; the failed push is retried, then the cancellation follows
    outbound.retry(db, world.users["admin_a"], row.id)
    db.flush()
    report = outbound.sync(client, now=t0 + timedelta(minutes=2))
    assert report.sent == 2 and [r.status for r in _rows(db, ref.id)] == ["sent", "sent"]
    assert partner.tasks[f"socialcare-referral-{ref.id}"]["status"] == "cancelled"
    assert partner.puts() == [f"/fhir/Task/socialcare-referral-{ref.id}"] * 3  # refused, retried, cancelled


def test_gives_up_after_max_attempts(db, world, partner):
    ref = _refer(db, world)
    client = partner.client()
    partner.fail_next = [503] * outbound.MAX_ATTEMPTS
    now = utcnow()
    for _ in range(outbound.MAX_ATTEMPTS):
        outbound.sync(client, now=now)
        now += outbound.BACKOFF_CAP
    [row] = _rows(db, ref.id)
    assert (row.status, row.attempts) == ("failed", outbound.MAX_ATTEMPTS)


def test_light_partner_is_never_pushed_and_a_closed_referral_is_not_polled(db, world, partner):
    outbound.set_endpoint(db, world.users["admin_a"], world.cbo.id, mode="light", base_url=None, bearer_token=None)
    ref = _refer(db, world)
    assert outbound.sync(partner.client()).queued == 0 and _rows(db, ref.id) == []
    # back to direct: pushed; the plan cancels; the partner's late "accepted" changes nothing here
    outbound.set_endpoint(db, world.users["admin_a"], world.cbo.id, mode="direct", base_url=BASE, bearer_token=None)
    client = partner.client()
    t0 = utcnow()
    outbound.sync(client, now=t0)
    assert _rows(db, ref.id)[0].status == "sent"
    referrals.act(db, world.users["staff_a"], ref.id, "cancel", version=None, reason="Duplicate referral")
    db.flush()
    partner.tasks[f"socialcare-referral-{ref.id}"]["status"] = "accepted"
    report = outbound.sync(client, now=t0 + timedelta(minutes=30))
    assert report.sent == 1  # the cancellation went out
    db.expire_all()
    assert db.get(Referral, ref.id).status == "cancelled"


def test_partner_poll_errors_are_kept_on_the_endpoint(db, world, partner):
    ref = _refer(db, world)
    client = partner.client()
    t0 = utcnow()
    outbound.sync(client, now=t0)
    other = _refer(db, world, member_index=1)
    outbound.sync(client, now=t0 + timedelta(minutes=1))
    partner.tasks.pop(f"socialcare-referral-{ref.id}")  # the partner lost one
    partner.tasks[f"socialcare-referral-{other.id}"]["status"] = "on-hold"  # not a move from requested
    report = outbound.sync(client, now=t0 + timedelta(minutes=16))
    errors = report.polled[0].errors
    assert "HTTP 404" in errors[0] and f"referral {other.id}: the partner's on-hold was not applied" in errors[1]
    ep = outbound.endpoints(db)[0]
    assert f"referral {ref.id}" in ep.last_poll_error and ep.last_polled_at is not None
    db.expire_all()
    assert db.get(Referral, other.id).status == "requested"


def test_hub_sub_referral_to_a_direct_cbo_is_pushed_with_part_of(db, world, partner):
    ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=world.members_a[1].id, need_domain="food", owner_org_id=world.hub.id, consent_scope="referral"))
    parent = referrals.route(db, world.users["hub"], ref.id, cbo_id=world.cbo.id, service_id=None, version=None,
                             consent_scope="referral")
    child = db.scalar(select(Referral).where(Referral.parent_id == parent.id))
    db.flush()
    outbound.sync(partner.client())
    task = partner.tasks[f"socialcare-referral-{child.id}"]
    assert task["partOf"] == [{"reference": f"{OURS}/Task/{ref.id}"}]
    assert task["requester"] == {"reference": f"{OURS}/Organization/{world.hub.id}"}
    assert f"socialcare-referral-{ref.id}" not in partner.tasks  # the hub's own referral stays here


@pytest.fixture
def live_partner():
    """The partner's server on a real port (uvicorn in a thread), for the command-line job."""
    import socket
    import threading
    import time

    import uvicorn

    server = PartnerServer()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the partner server did not start"
        time.sleep(0.05)
    server.url = f"http://127.0.0.1:{port}/fhir"
    yield server
    uv.should_exit = True
    thread.join(timeout=10)


def test_command_line_job_pushes_to_a_live_partner_server(db, world, live_partner):
    from typer.testing import CliRunner

    from socialcare.cli.main import app

    run = CliRunner()
    res = run.invoke(app, ["exchange", "fhir-endpoint", "Buffalo Food Collaborative", "--as", "admin_a",
                           "--mode", "direct", "--url", live_partner.url, "--token", live_partner.token],
                     env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    ref = _refer(db, world)
    live_partner.fail_next = [503]
    res = run.invoke(app, ["exchange", "fhir-sync", "--once"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "queued 1, sent 0, retrying 1" in res.output, res.output
    db.execute(FhirOutbound.__table__.update().values(next_attempt_at=utcnow()))  # skip the minute's wait
    res = run.invoke(app, ["exchange", "fhir-sync", "--once"], env={"COLUMNS": "200"})
    assert "sent 1" in res.output, res.output
    assert live_partner.tasks[f"socialcare-referral-{ref.id}"]["status"] == "requested"
    res = run.invoke(app, ["exchange", "fhir-endpoints"], env={"COLUMNS": "200"})
    assert "Buffalo Food Collaborative" in res.output and live_partner.url in res.output, res.output
    assert "partner-secret" not in res.output  # the token is never shown


def test_fhir_connections_page(db, world, partner, client_factory):
    ref = _refer(db, world)
    partner.fail_next = [422]
    outbound.sync(partner.client())
    admin = client_factory("admin_a")
    page = admin.get("/exchange/fhir")
    assert page.status_code == 200
    assert "Buffalo Food Collaborative" in page.text and BASE in page.text
    assert f"#{ref.id}" in page.text and "the Task is not acceptable here" in page.text
    assert partner.token not in page.text
    from tests.web.fixtures import csrf_from

    [row] = _rows(db, ref.id)
    r = admin.post(f"/exchange/fhir/outbound/{row.id}/retry", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "will be sent again" in r.text
    assert _rows(db, ref.id)[0].status == "pending"
    # another plan sees the partner list but not this plan's referral pushes, and may not retry them
    other = client_factory("staff_b")
    page_b = other.get("/exchange/fhir")
    assert page_b.status_code == 200 and not re.search(rf"#{ref.id}\b", page_b.text) and "Send again" not in page_b.text
    r = other.post(f"/exchange/fhir/outbound/{row.id}/retry", data={"csrf_token": csrf_from(page_b.text)})
    assert r.status_code == 403
    # a bad URL is named on the form, nothing saved
    r = admin.post("/exchange/fhir/endpoints", data={"csrf_token": csrf_from(page.text), "organization_id": str(world.cbo.id),
                                                     "mode": "direct", "base_url": "not a url"})
    assert r.status_code == 422 and "base_url" in r.text
    assert outbound.endpoints(db)[0].base_url == BASE
