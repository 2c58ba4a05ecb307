"""A user sees only the members their organization and role allow, by page and by API; every member
read (and every refused one) is in the audit log."""

from __future__ import annotations

import sqlalchemy as sa

from socialcare.security.models import AuditEvent
from tests.web.fixtures import api_headers


def _audit(db, **where):
    stmt = sa.select(AuditEvent)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEvent, k) == v)
    return list(db.scalars(stmt.order_by(AuditEvent.id)))


def test_plan_staff_see_their_own_roster_and_each_row_is_audited(client_factory, db, world):
    c = client_factory("staff_a")
    r = c.get("/members")
    assert r.status_code == 200
    for m in world.members_a:
        assert m.last_name in r.text
    for m in world.members_b:
        assert m.last_name not in r.text
    listed = {e.member_id for e in _audit(db, action="member.list", username="staff_a")}
    assert listed == {m.id for m in world.members_a}


def test_roster_filters_and_htmx_partial(client_factory, world):
    c = client_factory("staff_a")
    r = c.get("/members", params={"q": "alpha1"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="results"')  # only the results block
    assert "Alpha1" in r.text and "Alpha0" not in r.text
    r = c.get("/members", params={"zip": "1420"})
    assert r.status_code == 422 and "a zip code has five digits" in r.text


def test_member_profile_is_audited(client_factory, db, world):
    c = client_factory("staff_a")
    m = world.members_a[0]
    r = c.get(f"/members/{m.id}")
    assert r.status_code == 200
    assert m.plan_member_id in r.text and "E11.9" in r.text and "Type 2 diabetes" in r.text
    (event,) = _audit(db, action="member.read", member_id=m.id)
    assert event.allowed and event.username == "staff_a" and event.via == "web"


def test_plan_b_cannot_read_plan_a_members_by_page_or_api(client_factory, client, db, world):
    target = world.members_a[0]
    c = client_factory("staff_b")
    r = c.get(f"/members/{target.id}")
    assert r.status_code == 403
    assert "is not in your organization" in r.text
    assert target.last_name not in r.text
    r = c.get("/members", params={"q": target.last_name}, headers={"HX-Request": "true"})
    assert "No member matches" in r.text and target.plan_member_id not in r.text
    headers = api_headers(client, "staff_b")
    r = client.get(f"/api/v1/members/{target.id}", headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "Not allowed"
    r = client.get("/api/v1/members", headers=headers, params={"page_size": 200})
    assert {i["id"] for i in r.json()["items"]} == {m.id for m in world.members_b}
    denied = _audit(db, action="member.read", member_id=target.id, allowed=False)
    assert [e.via for e in denied] == ["web", "api"]
    assert all(e.username == "staff_b" for e in denied)


def test_a_missing_member_is_refused_like_a_hidden_one(client_factory, world):
    c = client_factory("staff_a")
    r = c.get("/members/987654")
    assert r.status_code == 403  # the same answer as another plan's member: ids reveal nothing


def test_cbo_and_hub_users_see_no_member(client_factory, client, db, world):
    target = world.members_a[0]
    for key in ("cbo", "hub"):
        username = world.users[key].username
        c = client_factory(username)
        r = c.get("/members")
        assert r.status_code == 403 and "may not open this page" in r.text
        r = c.get(f"/members/{target.id}")
        assert r.status_code == 403 and target.last_name not in r.text
        headers = api_headers(client, username)
        assert client.get("/api/v1/members", headers=headers).status_code == 403
        assert client.get(f"/api/v1/members/{target.id}", headers=headers).status_code == 403
        refused = _audit(db, username=username, allowed=False)
        assert {e.action for e in refused} == {"access.denied", "member.read"}
        assert any(e.member_id == target.id for e in refused)


def test_a_shared_member_is_visible_to_the_cbo_and_audited(client_factory, db, world):
    """Sharing (referral + consent) is decided in security.access; when it shares a member, the CBO
    can open that member's profile, and only that one."""
    from datetime import UTC, datetime

    from socialcare.referrals.models import Consent, Referral

    shared = world.members_a[1]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    db.add(Referral(plan_id=world.plan_a.id, requester_org_id=world.plan_a.id, owner_org_id=world.cbo.id,
                    member_id=shared.id, need_domain="food", status="in-progress", requested_at=now,
                    created_at=now, updated_at=now))
    db.add(Consent(member_id=shared.id, plan_id=world.plan_a.id, organization_id=world.cbo.id, scope="referral",
                   granted_at=now))
    db.flush()
    c = client_factory("cbo_staff")
    assert c.get(f"/members/{shared.id}").status_code == 200
    assert c.get(f"/members/{world.members_a[0].id}").status_code == 403
    assert c.get("/members").status_code == 403  # still no roster
    (event,) = _audit(db, action="member.read", member_id=shared.id)
    assert event.allowed and event.username == "cbo_staff"


def test_an_auditor_cannot_open_the_roster(client_factory, client, world):
    c = client_factory("auditor_a")
    assert c.get("/members").status_code == 403
    assert c.get(f"/members/{world.members_a[0].id}").status_code == 403
    headers = api_headers(client, "auditor_a")
    assert client.get("/api/v1/members", headers=headers).status_code == 403


def test_members_api_lists_filters_and_audits(client, db, world):
    headers = api_headers(client, "staff_a")
    r = client.get("/api/v1/members", headers=headers, params={"county": "Erie", "page_size": 2})
    body = r.json()
    assert r.status_code == 200 and body["total"] == 3 and len(body["items"]) == 2 and body["page_size"] == 2
    m = world.members_a[0]
    r = client.get(f"/api/v1/members/{m.id}", headers=headers)
    detail = r.json()
    assert detail["plan_member_id"] == m.plan_member_id
    assert detail["risk_score"] == "1.250"  # exact decimal, never a float
    assert detail["conditions"][0]["icd10_code"] == "E11.9"
    assert _audit(db, action="member.read", member_id=m.id, via="api")
    assert len(_audit(db, action="member.list", via="api")) == 2


def test_roster_pages_through_a_large_plan(client_factory, db, world):
    from tests.factories import make_member

    for i in range(55):
        make_member(db, world.plan_a, last_name=f"Zed{i:03d}")
    c = client_factory("staff_a")
    r = c.get("/members")
    assert "1–50 of 58 members" in r.text and 'rel="next"' in r.text
    r = c.get("/members", params={"page": 2})
    assert "51–58 of 58 members" in r.text and "Zed054" in r.text and 'rel="prev"' in r.text
