"""Referral pages: board, worklist with in-place HTMX updates, routing console, detail, batch upload,
escalations, the member profile panel and the screening form."""

from __future__ import annotations

from sqlalchemy import select

from socialcare.referrals import service as svc
from socialcare.referrals.models import Referral
from socialcare.screening.models import Screening, SocialNeed
from tests.web.fixtures import app, client_factory, csrf_from, world  # noqa: F401


def _refer(db, w, owner=None, **kw):
    ref, _ = svc.create_referral(db, w.users["staff_a"], svc.NewReferral(
        member_id=w.members_a[0].id, need_domain="food", owner_org_id=owner or w.hub.id, reason="HVS positive", **kw))
    return ref


def test_board_worklist_and_htmx_row_update(db, client_factory, world):  # noqa: F811
    w = world
    ref = _refer(db, w, owner=w.cbo.id)
    plan = client_factory("staff_a")
    page = plan.get("/referrals")
    assert page.status_code == 200 and "Referral board" in page.text and f"#{ref.id}" in page.text
    assert "open: requested" in page.text
    cbo = client_factory("cbo_staff")
    page = cbo.get("/referrals")
    assert "Worklist" in page.text and "minimum necessary" in page.text
    token = csrf_from(page.text)
    r = cbo.post(f"/referrals/{ref.id}/act", data={"action": "accept", "version": ref.version, "row": "1",
                                                   "csrf_token": token}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<tr id="ref-{ref.id}"')
    assert "Accept: saved." in r.text and "Accepted" in r.text
    # the same stale form again: the row comes back with the conflict, nothing overwritten
    r = cbo.post(f"/referrals/{ref.id}/act", data={"action": "accept", "version": ref.version, "row": "1",
                                                   "csrf_token": token}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "changed by someone else" in r.text
    db.expire_all()
    assert db.get(Referral, ref.id).version == 2
    # HTMX filter: only the results block
    r = cbo.get("/referrals?status=accepted", headers={"HX-Request": "true"})
    assert r.text.lstrip().startswith('<div id="results"') and "<html" not in r.text


def test_routing_console_and_detail_timeline(db, client_factory, world):  # noqa: F811
    w = world
    ref = _refer(db, w, consent_scope="referral")
    hub = client_factory("hub_coord")
    page = hub.get("/hub/routing")
    assert page.status_code == 200 and f"#{ref.id}" in page.text
    part = hub.get(f"/hub/routing/{ref.id}", headers={"HX-Request": "true"})
    assert w.cbo.name in part.text and "places left this month" in part.text and "serves" in part.text
    token = csrf_from(hub.get(f"/hub/routing?selected={ref.id}").text)
    r = hub.post(f"/referrals/{ref.id}/route", data={"cbo_id": w.cbo.id, "service_id": w.services["meals"].id,
                                                     "version": ref.version, "consent": "1", "csrf_token": token},
                 follow_redirects=False)
    assert r.status_code == 303
    plan = client_factory("staff_a")
    detail = plan.get(f"/referrals/{ref.id}")
    assert detail.status_code == 200 and "Timeline" in detail.text and w.cbo.name in detail.text
    assert "Sub-referrals" in detail.text
    cbo = client_factory("cbo_staff")
    child = db.scalar(select(Referral).where(Referral.parent_id == ref.id))
    page = cbo.get(f"/referrals/{child.id}")
    assert page.status_code == 200 and "Next step" in page.text
    assert cbo.get(f"/referrals/{ref.id}").status_code == 404  # the plan's referral is the hub's, not the CBO's


def test_batch_upload_reports_every_bad_row(db, client_factory, world):  # noqa: F811
    w = world
    plan = client_factory("staff_a")
    token = csrf_from(plan.get("/referrals/batches/new").text)
    csv_text = "plan_member_id\n" + w.members_a[0].plan_member_id + "\nBAD1\nBAD2\n"
    r = plan.post("/referrals/batches", data={"partner_org_id": w.cbo.id, "need_domain": "food", "csrf_token": token},
                  files={"file": ("list.csv", csv_text.encode(), "text/csv")})
    assert r.status_code == 422 and "BAD1" in r.text and "BAD2" in r.text
    assert db.scalar(select(Referral.id).where(Referral.plan_id == w.plan_a.id)) is None
    ok = "plan_member_id\n" + "\n".join(m.plan_member_id for m in w.members_a) + "\n"
    r = plan.post("/referrals/batches", data={"partner_org_id": w.cbo.id, "need_domain": "food", "csrf_token": token},
                  files={"file": ("list.csv", ok.encode(), "text/csv")})
    assert r.status_code == 200 and "3 members assigned" in r.text


def test_escalation_pages(db, client_factory, world):  # noqa: F811
    w = world
    ref = _refer(db, w, owner=w.cbo.id)
    cbo = client_factory("cbo_staff")
    token = csrf_from(cbo.get(f"/referrals/{ref.id}").text)
    r = cbo.post(f"/referrals/{ref.id}/escalations", data={"category": "capacity", "severity": "high",
                                                           "subject": "Waitlist over two weeks", "csrf_token": token},
                 follow_redirects=False)
    assert r.status_code == 303
    plan = client_factory("staff_a")
    page = plan.get("/escalations")
    assert "Waitlist over two weeks" in page.text and "Work it" in page.text


def test_member_profile_panel_and_screening_form(db, client_factory, world):  # noqa: F811
    w = world
    m = w.members_a[1]
    plan = client_factory("staff_a")
    form = plan.get(f"/screening/new?member_id={m.id}&instrument=hunger_vital_sign")
    assert form.status_code == 200 and "88122-7" in form.text
    r = plan.post("/screening", data={"member_id": m.id, "instrument": "hunger_vital_sign", "88122-7": "LA6729-3",
                                      "88123-5": "LA28398-8", "csrf_token": csrf_from(form.text)},
                  follow_redirects=False)
    assert r.status_code == 303
    s = db.scalar(select(Screening).where(Screening.member_id == m.id))
    assert s.hvs_result == "LA19952-3" and s.positive_domains == ["food"]
    assert db.scalar(select(SocialNeed.z_code).where(SocialNeed.member_id == m.id)) == "Z59.41"
    profile = plan.get(f"/members/{m.id}")
    assert "Referral history" in profile.text and "Z59.41" in profile.text
    # a declined screening is recorded as asked-declined
    r = plan.post("/screening", data={"member_id": m.id, "instrument": "ahc_hrsn_core", "declined": "1",
                                      "csrf_token": csrf_from(form.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert db.scalar(select(Screening.data_absent_reason).where(Screening.member_id == m.id,
                                                               Screening.status == "declined")) == "asked-declined"
    # a CBO without a referral for the member may not screen them
    cbo = client_factory("cbo_staff")
    token = csrf_from(cbo.get("/referrals").text)
    r = cbo.post("/screening", data={"member_id": m.id, "instrument": "hunger_vital_sign", "88122-7": "LA6729-3",
                                     "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403
