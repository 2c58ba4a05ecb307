"""Every response that carries member data writes an audit row for each member in it: walk the JSON
routes that return members, as each role, and compare the members in the response with the audit rows
the request wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from socialcare.referrals.models import Consent, Referral
from socialcare.security.models import AuditEvent
from tests.web.fixtures import api_headers


def _members_in(body, member_ids: set[int]) -> set[int]:
    """Member ids named in a JSON response (member_id fields, member objects)."""
    found: set[int] = set()

    def walk(x, key=None):
        if isinstance(x, dict):
            if key == "member" and isinstance(x.get("id"), int) and not x.get("fields", {}).get("hidden"):
                if x.get("access") != "hidden":
                    found.add(x["id"])
            for k, v in x.items():
                if k == "member_id" and isinstance(v, int):
                    found.add(v)
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)

    walk(body)
    return found & member_ids


@pytest.fixture
def shared(db, world):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    refs = []
    for m, org in ((world.members_a[0], world.cbo), (world.members_a[1], world.hub)):
        r = Referral(plan_id=world.plan_a.id, requester_org_id=world.plan_a.id, owner_org_id=org.id, member_id=m.id,
                     need_domain="food", status="requested" if org is world.hub else "in-progress",
                     requested_at=now, created_at=now, updated_at=now)
        db.add(r)
        db.add(Consent(member_id=m.id, plan_id=world.plan_a.id, organization_id=org.id, scope="referral",
                       granted_at=now))
        refs.append(r)
    db.flush()
    return refs


def test_every_member_in_a_response_is_audited(client, db, world, shared):
    member_ids = {m.id for m in world.members_a + world.members_b}
    cbo_ref, hub_ref = shared
    m0 = world.members_a[0].id
    walks = {
        "staff_a": ["/api/v1/referrals", f"/api/v1/referrals/{cbo_ref.id}", f"/api/v1/members/{m0}",
                    "/api/v1/members", f"/api/v1/screenings?member_id={m0}", f"/api/v1/screenings/needs?member_id={m0}",
                    f"/api/v1/consents?member_id={m0}", "/api/v1/delivery/services"],
        "cbo_staff": ["/api/v1/referrals", f"/api/v1/referrals/{cbo_ref.id}", f"/api/v1/members/{m0}",
                      f"/api/v1/screenings/needs?member_id={m0}", f"/api/v1/consents?member_id={m0}",
                      "/api/v1/delivery/services"],
        "hub_coord": ["/api/v1/referrals", "/api/v1/referrals/routing-queue", f"/api/v1/referrals/{hub_ref.id}"],
    }
    gaps = []
    for username, paths in walks.items():
        h = api_headers(client, username)
        for path in paths:
            before = db.scalar(select(func.max(AuditEvent.id))) or 0
            r = client.get(path, headers=h)
            assert r.status_code < 500, (username, path)
            if r.status_code != 200:
                continue
            shown = _members_in(r.json(), member_ids)
            audited = set(db.scalars(select(AuditEvent.member_id).where(
                AuditEvent.id > before, AuditEvent.member_id.is_not(None), AuditEvent.allowed.is_(True))))
            if shown - audited:
                gaps.append((username, path, sorted(shown - audited)))
    assert gaps == []


def test_refusals_are_audited(client, db, world, shared):
    h = api_headers(client, "cbo_staff")
    other = world.members_a[2].id
    for path in (f"/api/v1/members/{other}", f"/api/v1/screenings/needs?member_id={other}",
                 f"/api/v1/screenings?member_id={other}", f"/api/v1/consents?member_id={other}"):
        before = db.scalar(select(func.max(AuditEvent.id))) or 0
        client.get(path, headers=h)
        denied = db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.id > before, AuditEvent.allowed.is_(False)))
        assert denied >= 1, path

