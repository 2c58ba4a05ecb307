"""Direct mode against partners whose servers misbehave: a malformed answer is that partner's poll
problem only, Retry-After is honoured, and a 307 (a partner that moved its server) is followed."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from socialcare.core.clock import as_utc, utcnow
from socialcare.interop.fhir import outbound
from socialcare.interop.models import FhirEndpoint, FhirOutbound
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral
from tests.factories import make_org

A = "https://a.example.org/fhir"
B = "https://b.example.org/fhir"


class Partners:
    """Two partners' servers in one transport; ``mode[host]`` says how each misbehaves."""

    def __init__(self):
        self.tasks: dict[tuple[str, str], dict] = {}
        self.mode: dict[str, str] = {}
        self.log: list[tuple[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, tid = request.url.host, request.url.path.rsplit("/", 1)[-1]
        self.log.append((request.method, str(request.url)))
        mode = self.mode.get(host, "ok")
        if mode == "moved" and host == "a.example.org":
            return httpx.Response(307, headers={"Location": f"https://a2.example.org/fhir/Task/{tid}"})
        if mode == "busy":
            return httpx.Response(503, headers={"Retry-After": "600"}, text="busy")
        if request.method == "PUT":
            import json

            body = json.loads(request.content)
            self.tasks[(host, tid)] = body
            return httpx.Response(201, json=body)
        if mode == "html":
            return httpx.Response(200, text="<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"})
        if mode == "array":
            return httpx.Response(200, json=[{"resourceType": "Task"}])
        return httpx.Response(200, json=self.tasks[(host, tid)])

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


@pytest.fixture
def setup(db, world):
    cbo2 = make_org(db, "cbo", "Second Partner CBO", county="Erie", state="NY")
    outbound.set_endpoint(db, world.users["admin_a"], world.cbo.id, mode="direct", base_url=A, bearer_token="t")
    outbound.set_endpoint(db, world.users["admin_a"], cbo2.id, mode="direct", base_url=B, bearer_token="t")
    refs = []
    for owner in (world.cbo, cbo2):
        ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
            member_id=world.members_a[0].id, need_domain="food", owner_org_id=owner.id, consent_scope="referral"))
        refs.append(ref)
    db.flush()
    return Partners(), refs


@pytest.mark.parametrize("mode,message", [("html", "not JSON"), ("array", "JSON list")])
def test_a_malformed_poll_answer_is_that_partners_problem_only(db, world, setup, mode, message):
    partners, (ref_a, ref_b) = setup
    client = partners.client()
    t0 = utcnow()
    assert outbound.sync(client, now=t0).sent == 2
    for host, ref in (("a.example.org", ref_a), ("b.example.org", ref_b)):
        partners.tasks[(host, f"socialcare-referral-{ref.id}")]["status"] = "accepted"
    partners.mode["a.example.org"] = mode
    report = outbound.sync(client, now=t0 + timedelta(minutes=20))  # no exception escapes
    db.expire_all()
    assert db.get(Referral, ref_b.id).status == "accepted"  # the other partner's change went through
    assert db.get(Referral, ref_a.id).status == "requested"
    ep_a = db.scalar(select(FhirEndpoint).where(FhirEndpoint.base_url == A))
    assert message in ep_a.last_poll_error
    assert any(message in e for p in report.polled for e in p.errors)


def test_retry_after_is_honoured_on_push_and_poll(db, world, setup):
    partners, (ref_a, _ref_b) = setup
    client = partners.client()
    t0 = utcnow()
    partners.mode["a.example.org"] = "busy"
    outbound.sync(client, now=t0)
    db.expire_all()
    row = db.scalar(select(FhirOutbound).where(FhirOutbound.referral_id == ref_a.id))
    assert row.status == "pending" and as_utc(row.next_attempt_at) == t0 + timedelta(seconds=600)  # not 1 minute
    partners.mode.clear()
    assert outbound.sync(client, now=t0 + timedelta(minutes=2)).sent == 0
    assert outbound.sync(client, now=t0 + timedelta(minutes=11)).sent == 1
    # a busy partner asked to be polled later: the poll stops and waits as asked
    partners.mode["a.example.org"] = "busy"
    t1 = t0 + timedelta(minutes=40)
    outbound.sync(client, now=t1)
    db.expire_all()
    ep_a = db.scalar(select(FhirEndpoint).where(FhirEndpoint.base_url == A))
    assert as_utc(ep_a.last_polled_at) == t1 + timedelta(seconds=600) and "HTTP 503" in ep_a.last_poll_error


def test_a_307_is_followed_with_the_same_put(db, world, setup):
    partners, (ref_a, _ref_b) = setup
    partners.mode["a.example.org"] = "moved"
    report = outbound.sync(partners.client(), now=utcnow())
    assert report.sent == 2 and report.failed == 0
    assert ("a2.example.org", f"socialcare-referral-{ref_a.id}") in partners.tasks
    assert partners.tasks[("a2.example.org", f"socialcare-referral-{ref_a.id}")]["status"] == "requested"
