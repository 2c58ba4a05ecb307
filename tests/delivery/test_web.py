"""Delivery pages and API: forms with CSRF, HTMX fragments, plan approval, scoping over HTTP."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from socialcare.core.clock import today
from socialcare.delivery import service
from socialcare.delivery.models import CareEpisode, ServiceRecord
from tests.web.fixtures import api_headers, csrf_from


def test_cbo_records_a_service_through_the_form(db, p, client_factory):
    c = client_factory(p.users["cbo"].username)
    page = c.get(f"/delivery/services/new?member={p.members[0].plan_member_id}")
    assert page.status_code == 200 and "Record a service" in page.text
    token = csrf_from(page.text)
    form = {"member": p.members[0].plan_member_id, "service_id": str(p.services["meals"].id),
            "service_date": today().isoformat(), "units": "14", "place_of_service": "12"}
    assert c.post("/delivery/services", data=form, follow_redirects=False).status_code == 403  # no CSRF token
    r = c.post("/delivery/services", data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    rec = db.scalar(select(ServiceRecord))
    assert (rec.units, rec.service_code, rec.member_id) == (14, "S5170-U6", p.members[0].id)
    listing = c.get("/delivery/services")
    assert "S5170-U6" in listing.text and p.members[0].last_name in listing.text
    # a bad form comes back with every problem and keeps what was typed
    bad = c.post("/delivery/services", data={**form, "units": "0", "service_date": (today() + timedelta(days=2))
                                             .isoformat(), "csrf_token": token}, follow_redirects=False)
    assert bad.status_code == 422 and "units must be at least 1" in bad.text and "in the future" in bad.text


def test_cbo_cannot_record_for_an_unshared_member(db, p, client_factory):
    c = client_factory(p.users["cbo"].username)
    token = csrf_from(c.get("/delivery/services/new").text)
    r = c.post("/delivery/services", data={"member": p.unshared.plan_member_id, "service_id": str(
        p.services["meals"].id), "service_date": today().isoformat(), "units": "1", "csrf_token": token},
        follow_redirects=False)
    assert r.status_code == 422 and "no member" in r.text
    assert db.scalar(select(ServiceRecord)) is None


def test_plan_approves_a_renewal_in_place(db, p, client_factory):
    cbo = p.users["cbo"]
    e = service.open_episode(db, cbo, service.EpisodeInput(member_id=p.members[0].id,
                                                           start_date=today() - timedelta(days=60)))
    r = service.request_renewal(db, cbo, e.id, "still searching for housing")
    c = client_factory(p.users["staff"].username)
    page = c.get(f"/delivery/episodes/{e.id}")
    assert page.status_code == 200 and "Approve" in page.text
    resp = c.post(f"/delivery/episodes/{e.id}/renewals/{r.id}/decision",
                  data={"decision": "approve", "note": "", "csrf_token": csrf_from(page.text)},
                  headers={"HX-Request": "true"})
    assert resp.status_code == 200 and 'id="renewals"' in resp.text and "<html" not in resp.text
    assert "approved by" in resp.text
    db.expire_all()
    assert db.get(CareEpisode, e.id).planned_end == r.period_end
    # the CBO cannot reach the decision route at all
    cc = client_factory(cbo.username)
    token = csrf_from(cc.get(f"/delivery/episodes/{e.id}").text)
    assert cc.post(f"/delivery/episodes/{e.id}/renewals/{r.id}/decision",
                   data={"decision": "approve", "csrf_token": token}, follow_redirects=False).status_code == 403


def test_pathway_step_by_htmx_and_pages_render(db, p, client_factory):
    cbo = p.users["cbo"]
    inst = service.open_pathway(db, cbo, p.members[0].id, "food_security", today() - timedelta(days=5))
    c = client_factory(cbo.username)
    page = c.get(f"/delivery/pathways/{inst.id}")
    assert "Record: Risk assessment" in page.text
    resp = c.post(f"/delivery/pathways/{inst.id}/steps", data={"step_code": "assessed", "completed_on": (
        today() - timedelta(days=4)).isoformat(), "csrf_token": csrf_from(page.text)}, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "Record: Prioritize and refer" in resp.text
    for url in ("/delivery", "/delivery/episodes", "/delivery/pathways", "/delivery/pathways/reference",
                "/delivery/engagements", "/delivery/funds", "/delivery/funds/new", "/delivery/pathways/new",
                "/delivery/episodes/new", f"/members/{p.members[0].id}"):
        assert c.get(url).status_code == 200, url
    assert "Services delivered" in c.get(f"/members/{p.members[0].id}").text


def test_other_cbo_and_auditor_are_kept_out(db, p, client_factory):
    service.record_service(db, p.users["cbo"], service.rules.ServiceRecordInput(
        member_id=p.members[0].id, service_id=p.services["meals"].id, service_date=today(), units=3))
    inst = service.open_pathway(db, p.users["cbo"], p.members[0].id, "housing", today())
    other = client_factory(p.users["other_cbo"].username)
    assert p.members[0].last_name not in other.get("/delivery/services").text
    assert other.get(f"/delivery/pathways/{inst.id}").status_code == 404
    auditor = client_factory(p.users["auditor"].username)
    assert auditor.get("/delivery/services").status_code == 403


def test_api_round_trip(db, p, client_factory):
    c = client_factory()
    h = api_headers(c, p.users["cbo"].username)
    body = {"member_id": p.members[0].id, "service_id": p.services["meals"].id,
            "service_date": today().isoformat(), "units": 2}
    r = c.post("/api/v1/delivery/services", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["service_code"] == "S5170-U6"
    r = c.post("/api/v1/delivery/services", json={**body, "units": -1, "place_of_service": "77"}, headers=h)
    assert r.status_code == 422 and {x["field"] for x in r.json()["problems"]} == {"units", "place_of_service"}
    r = c.post("/api/v1/delivery/services", json={**body, "member_id": p.unshared.id}, headers=h)
    assert r.status_code == 403
    e = c.post("/api/v1/delivery/episodes", json={"member_id": p.members[1].id, "start_date": (
        today() - timedelta(days=10)).isoformat()}, headers=h)
    assert e.status_code == 201 and e.json()["period_days"] == 90
    ren = c.post(f"/api/v1/delivery/episodes/{e.json()['id']}/renewals", json={"reason": "more time"}, headers=h)
    assert ren.status_code == 201
    plan_h = api_headers(c, p.users["admin"].username)
    d = c.post(f"/api/v1/delivery/episodes/{e.json()['id']}/renewals/{ren.json()['id']}/decision",
               json={"approve": False, "note": "goals met"}, headers=plan_h)
    assert d.status_code == 200 and d.json()["status"] == "denied"
    assert c.post(f"/api/v1/delivery/episodes/{e.json()['id']}/renewals/{ren.json()['id']}/decision",
                  json={"approve": True}, headers=h).status_code == 403
    assert c.get("/api/v1/delivery/services", headers=plan_h).json()["total"] == 1
    assert len(c.get("/api/v1/delivery/pathways/reference", headers=h).json()) == 21
    f = c.post("/api/v1/delivery/disbursements", json={"member_id": p.members[0].id, "category": "food",
                                                      "amount": 12.5, "disbursed_on": today().isoformat()}, headers=h)
    assert f.status_code == 422  # a float amount is refused
