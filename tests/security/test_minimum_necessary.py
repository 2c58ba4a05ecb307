"""Minimum necessary: what a hub or CBO sees of a member follows the sharing window and the consent's
scope; auditors of hubs and CBOs read no member record; every member shown or refused is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from socialcare.core.clock import utcnow
from socialcare.core.errors import Forbidden, InvalidInput
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Consent, Referral
from socialcare.security.models import AuditEvent
from tests.factories import make_user
from tests.web.fixtures import api_headers


def _share(db, world, member, org, *, status="in-progress", closed_at=None, scope="referral", requester=None):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ref = Referral(plan_id=world.plan_a.id, requester_org_id=requester or world.plan_a.id, owner_org_id=org.id,
                   member_id=member.id, need_domain="food", status=status, requested_at=now, closed_at=closed_at,
                   created_at=now, updated_at=now)
    db.add(ref)
    consent = Consent(member_id=member.id, plan_id=world.plan_a.id, organization_id=org.id, scope=scope,
                      granted_at=now)
    db.add(consent)
    db.flush()
    return ref, consent


def _audits(db, action: str, member_id: int, allowed: bool = True) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.member_id == member_id, AuditEvent.allowed.is_(allowed))) or 0


def test_referral_rows_stop_showing_identifiers_after_sharing_ended(client, db, world):
    m = world.members_a[0]
    ref, _ = _share(db, world, m, world.cbo, status="completed", closed_at=utcnow() - timedelta(days=120))
    h = api_headers(client, "cbo_staff")
    body = client.get(f"/api/v1/referrals/{ref.id}", headers=h).json()
    assert body["member"]["access"] == "minimum"
    for field in ("birth_date", "address_1", "plan_member_id", "sex"):
        assert field not in body["member"]["fields"]
    assert client.get(f"/api/v1/members/{m.id}", headers=h).status_code == 403


def test_a_referral_consent_does_not_open_the_full_record(client, db, world):
    m = world.members_a[0]  # has a condition and an enrollment span
    m.race, m.risk_score, m.pcp_name = "white", 1.5, "Dr. Water"
    _, consent = _share(db, world, m, world.cbo, scope="referral")
    h = api_headers(client, "cbo_staff")
    rec = client.get(f"/api/v1/members/{m.id}", headers=h).json()
    assert rec["first_name"] == m.first_name
    assert rec["race"] is None and rec["ethnicity"] is None and rec["risk_score"] is None
    assert rec["pcp_name"] is None and rec["conditions"] == [] and rec["enrollment_spans"] == []
    consent.scope = "full-record"
    db.flush()
    rec = client.get(f"/api/v1/members/{m.id}", headers=h).json()
    assert rec["race"] == "white" and rec["conditions"]


@pytest.mark.parametrize("kind", ["hub", "cbo"])
def test_hub_and_cbo_auditors_read_no_member_record(client, db, world, kind):
    org = world.hub if kind == "hub" else world.cbo
    m = world.members_a[0]
    _share(db, world, m, org)
    make_user(db, org, "auditor", f"auditor_{kind}")
    h = api_headers(client, f"auditor_{kind}")
    assert client.get(f"/api/v1/members/{m.id}", headers=h).status_code == 403


def test_the_routing_console_stops_showing_a_member_once_consent_is_revoked(client_factory, db, world):
    m = world.members_a[0]
    ref, consent = _share(db, world, m, world.hub, status="requested")
    c = client_factory("hub_coord")
    assert c.get(f"/hub/routing/{ref.id}").status_code == 200
    assert _audits(db, "referral.routing", m.id) == 1
    consent.revoked_at = utcnow()
    db.flush()
    page = c.get("/hub/routing")
    assert m.last_name not in page.text
    assert c.get(f"/hub/routing/{ref.id}").status_code == 403
    assert _audits(db, "referral.routing", m.id, allowed=False) == 1


def test_the_routing_queue_api_audits_each_member_shown(client, db, world):
    m = world.members_a[1]
    _share(db, world, m, world.hub, status="requested")
    r = client.get("/api/v1/referrals/routing-queue", headers=api_headers(client, "hub_coord"))
    assert r.status_code == 200 and len(r.json()) == 1
    assert _audits(db, "referral.routing_queue", m.id) == 1


def test_needs_and_consents_reads_and_refusals_are_audited(client, db, world):
    m = world.members_a[0]
    _share(db, world, m, world.cbo)
    h = api_headers(client, "cbo_staff")
    assert client.get("/api/v1/screenings/needs", params={"member_id": m.id}, headers=h).status_code == 200
    assert _audits(db, "screening.needs", m.id) == 1
    other = world.members_a[2]
    assert client.get("/api/v1/screenings/needs", params={"member_id": other.id}, headers=h).status_code == 404
    assert _audits(db, "screening.needs", other.id, allowed=False) == 1
    assert client.get("/api/v1/consents", params={"member_id": m.id}, headers=h).status_code == 200
    assert _audits(db, "consent.list", m.id) == 1
    assert client.get("/api/v1/consents", params={"member_id": other.id}, headers=h).json() == []
    assert _audits(db, "consent.list", other.id, allowed=False) == 1


def test_new_referral_form_audits_the_member_shown(client_factory, db, world):
    c = client_factory("staff_a")
    m = world.members_a[0]
    assert c.get(f"/referrals/new?member_id={m.id}").status_code == 200
    assert _audits(db, "referral.new", m.id) == 1
    assert c.get(f"/referrals/new?member_id={world.members_b[0].id}").status_code == 422


def test_a_consent_names_a_referral_of_that_member_and_organization(db, world):
    m, other = world.members_a[0], world.members_a[1]
    ref, _ = _share(db, world, m, world.cbo)
    other_ref, _ = _share(db, world, other, world.cbo)
    with pytest.raises(InvalidInput):
        referrals.grant_consent(db, world.users["cbo"], member_id=m.id, organization_id=world.cbo.id,
                                scope="referral", referral_id=other_ref.id)
    referrals.grant_consent(db, world.users["cbo"], member_id=m.id, organization_id=world.cbo.id, scope="referral",
                            referral_id=ref.id)
    # a CBO records consent for itself only, never for another organization
    with pytest.raises(Forbidden):
        referrals.grant_consent(db, world.users["cbo"], member_id=m.id, organization_id=world.hub.id,
                                scope="referral")
