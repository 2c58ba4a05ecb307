"""The referrals JSON API: the loop through three tokens, If-Match conflicts, idempotency, batch CSV."""

from __future__ import annotations

from tests.web.fixtures import api_headers, app, client, world  # noqa: F401  (the web world, not ours)


def test_loop_through_the_api(db, client, world):  # noqa: F811
    w = world
    plan = api_headers(client, "staff_a")
    hub = api_headers(client, "hub_coord")
    cbo = api_headers(client, "cbo_staff")
    m = w.members_a[0]
    body = {"member_id": m.id, "need_domain": "food", "owner_org_id": w.hub.id, "urgency": "urgent",
            "reason": "HVS positive", "consent_scope": "referral"}
    r = client.post("/api/v1/referrals", json=body, headers={**plan, "Idempotency-Key": "abc-1"})
    assert r.status_code == 201, r.text
    ref = r.json()
    assert r.headers["ETag"] == '"1"' and ref["status"] == "requested"
    again = client.post("/api/v1/referrals", json=body, headers={**plan, "Idempotency-Key": "abc-1"})
    assert again.status_code == 200 and again.json()["id"] == ref["id"]

    s = client.get(f"/api/v1/referrals/{ref['id']}/suggestions", headers=hub)
    assert s.status_code == 200 and s.json()[0]["cbo_id"] == w.cbo.id and s.json()[0]["reasons"]
    r = client.post(f"/api/v1/referrals/{ref['id']}/route", headers={**hub, "If-Match": '"1"'},
                    json={"cbo_id": w.cbo.id, "service_id": w.services["meals"].id, "consent_scope": "referral"})
    assert r.status_code == 200, r.text
    child_id = r.json()["sub_referral_ids"][0]

    # CBO: stale If-Match -> 409 with a clear message
    r = client.post(f"/api/v1/referrals/{child_id}/actions/accept", headers={**cbo, "If-Match": '"7"'}, json={})
    assert r.status_code == 409 and "changed by someone else" in r.json()["detail"]
    version = client.get(f"/api/v1/referrals/{child_id}", headers=cbo).headers["ETag"]
    for action, extra in [("accept", {}), ("contacted", {"channel": "phone", "result": "reached"}), ("enroll", {}),
                          ("start_service", {}), ("resolve", {})]:
        r = client.post(f"/api/v1/referrals/{child_id}/actions/{action}", headers={**cbo, "If-Match": version},
                        json=extra)
        assert r.status_code == 200, r.text
        version = r.headers["ETag"]
    plan_view = client.get(f"/api/v1/referrals/{ref['id']}", headers=plan).json()
    assert plan_view["status"] == "completed" and plan_view["loop_status"] == "closed: need resolved"
    assert {e["organization"] for e in plan_view["timeline"]} >= {w.cbo.name, w.hub.name, w.plan_a.name}
    # lifecycle refusal is a 409 too
    r = client.post(f"/api/v1/referrals/{child_id}/actions/accept", headers=cbo, json={})
    assert r.status_code == 409


def test_cbo_cannot_read_other_plans_or_unrouted(db, client, world):  # noqa: F811
    w = world
    plan = api_headers(client, "staff_a")
    cbo = api_headers(client, "cbo_staff")
    r = client.post("/api/v1/referrals", headers=plan,
                    json={"member_id": w.members_a[1].id, "need_domain": "food", "owner_org_id": w.hub.id})
    rid = r.json()["id"]
    assert client.get(f"/api/v1/referrals/{rid}", headers=cbo).status_code == 404
    assert client.get("/api/v1/referrals", headers=cbo).json()["total"] == 0
    assert client.post("/api/v1/referrals", headers=cbo, json={"member_id": w.members_a[1].id,
                                                              "need_domain": "food"}).status_code == 403


def test_batch_csv_reports_every_bad_row_and_saves_nothing(db, client, world):  # noqa: F811
    w = world
    plan = api_headers(client, "staff_a")
    good = [m.plan_member_id for m in w.members_a]
    csv_text = "plan_member_id,need_domain\n" + "\n".join([
        f"{good[0]},food", "NOPE123,food", f"{good[1]},spaceflight", f"{good[0]},food",
        f"{w.members_b[0].plan_member_id},food",
    ]) + "\n"
    r = client.post("/api/v1/referrals/batches", headers=plan,
                    json={"partner_org_id": w.cbo.id, "need_domain": "food", "csv": csv_text})
    assert r.status_code == 422
    rows = sorted((p["row"], p["field"]) for p in r.json()["problems"])
    assert rows == [(3, "plan_member_id"), (4, "need_domain"), (5, "plan_member_id"), (6, "plan_member_id")]
    assert client.get("/api/v1/referrals", headers=plan).json()["total"] == 0
    ok = "plan_member_id\n" + "\n".join(good) + "\n"
    r = client.post("/api/v1/referrals/batches", headers=plan,
                    json={"partner_org_id": w.cbo.id, "need_domain": "food", "csv": ok})
    assert r.status_code == 201 and r.json()["created"] == 3
    assert client.get("/api/v1/referrals?status=requested", headers=plan).json()["total"] == 3
    # the same list again: every member already has an open referral with this partner
    r = client.post("/api/v1/referrals/batches", headers=plan,
                    json={"partner_org_id": w.cbo.id, "need_domain": "food", "csv": ok})
    assert r.status_code == 422 and len(r.json()["problems"]) == 3


def test_consent_and_escalation_api(db, client, world):  # noqa: F811
    w = world
    plan = api_headers(client, "staff_a")
    cbo = api_headers(client, "cbo_staff")
    m = w.members_a[2]
    rid = client.post("/api/v1/referrals", headers=plan, json={"member_id": m.id, "need_domain": "food",
                                                              "owner_org_id": w.cbo.id}).json()["id"]
    ref = client.get(f"/api/v1/referrals/{rid}", headers=cbo).json()
    assert ref["member"]["access"] == "minimum" and "birth_date" not in ref["member"]["fields"]
    assert client.get(f"/api/v1/members/{m.id}", headers=cbo).status_code in (403, 404)
    c = client.post("/api/v1/consents", headers=cbo, json={"member_id": m.id, "organization_id": w.cbo.id,
                                                          "scope": "referral", "method": "verbal"})
    assert c.status_code == 201, c.text
    assert client.get(f"/api/v1/members/{m.id}", headers=cbo).status_code == 200
    assert client.get(f"/api/v1/referrals/{rid}", headers=cbo).json()["member"]["access"] == "full"
    r = client.post(f"/api/v1/consents/{c.json()['id']}/revoke", headers=plan, json={"reason": "member request"})
    assert r.status_code == 200
    assert client.get(f"/api/v1/members/{m.id}", headers=cbo).status_code in (403, 404)
    assert client.get(f"/api/v1/referrals/{rid}", headers=cbo).json()["member"]["fields"] == {
        "id": m.id, "hidden": True}
    e = client.post("/api/v1/escalations", headers=cbo, json={"referral_id": rid, "category": "capacity",
                                                             "subject": "Waitlist over 2 weeks"})
    assert e.status_code == 201, e.text
    r = client.patch(f"/api/v1/escalations/{e.json()['id']}", headers={**plan, "If-Match": '"1"'},
                     json={"status": "resolved", "resolution": "Second CBO added to the network"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = client.patch(f"/api/v1/escalations/{e.json()['id']}", headers={**plan, "If-Match": '"1"'},
                     json={"status": "open"})
    assert r.status_code == 409
