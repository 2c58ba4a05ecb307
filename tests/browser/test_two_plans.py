"""One inbox across plans: the demo's second plan (Medicare Advantage) refers to the same hub and to
an independent CBO. The hub and the shared CBO see both plans' referrals in one worklist, each row
labelled with its plan; each plan's users see none of the other's referrals or members (pages, JSON
API, FHIR)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in
from tests.browser.test_phone_day import route_one_to_cbo

pytestmark = pytest.mark.browser


def _rows(url: str, sql: str, **params):
    eng = sa.create_engine(url)
    try:
        with eng.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        eng.dispose()


@pytest.fixture
def plans(browser_database, demo_logins):
    (ma_id,), = _rows(browser_database, "SELECT id FROM organization WHERE name = 'Great Lakes Medicare Advantage'")
    (lake_id,), = _rows(browser_database, "SELECT organization_id FROM user_account WHERE username = :u",
                        u=demo_logins["plan_staff"][0])
    (cbo_org,), = _rows(browser_database, "SELECT organization_id FROM user_account WHERE username = :u",
                        u=demo_logins["cbo_staff"][0])

    def one(plan_id, owner):
        r = _rows(browser_database, """SELECT r.id, r.member_id, m.last_name FROM referral r JOIN member m ON m.id = r.member_id
                  WHERE r.plan_id = :p AND r.owner_org_id = :o ORDER BY r.id LIMIT 1""", p=plan_id, o=owner)
        return r[0] if r else None

    if one(lake_id, cbo_org) is None:
        route_one_to_cbo(browser_database, demo_logins, plan_id=lake_id)
    return {"ma": ma_id, "lake": lake_id, "ma_at_cbo": one(ma_id, cbo_org), "lake_at_cbo": one(lake_id, cbo_org),
            "ma_top": _rows(browser_database, "SELECT id, member_id FROM referral WHERE plan_id = :p AND parent_id IS NULL "
                            "ORDER BY id LIMIT 1", p=ma_id)[0],
            "lake_top": _rows(browser_database, "SELECT id, member_id FROM referral WHERE plan_id = :p AND parent_id IS NULL "
                              "ORDER BY id LIMIT 1", p=lake_id)[0]}


def _new_page(browser, live_server):
    ctx = browser.new_context(base_url=live_server)
    page = ctx.new_page()
    page.set_default_timeout(15000)
    return ctx, page


def test_shared_cbo_and_hub_work_both_plans_each_plan_sees_only_its_own(browser, live_server, demo_logins, plans):
    assert plans["ma_at_cbo"] and plans["lake_at_cbo"], "the shared CBO has referrals from both plans"
    contexts = []
    try:
        # the shared CBO: one worklist, rows labelled by plan, a plan filter
        ctx, cbo = _new_page(browser, live_server)
        contexts.append(ctx)
        sign_in(cbo, demo_logins, "cbo_staff")
        cbo.goto("/referrals?status=open&sort=newest")
        expect(cbo.locator(f"#ref-{plans['ma_at_cbo'][0]}")).to_contain_text("Great Lakes Medicare Advantage")
        cbo.goto("/referrals?status=open")
        expect(cbo.get_by_label("Health plan")).to_be_visible()
        cbo.goto(f"/referrals?status=&plan_id={plans['ma']}")
        expect(cbo.locator(f"#ref-{plans['ma_at_cbo'][0]}")).to_be_visible()
        expect(cbo.locator(f"#ref-{plans['lake_at_cbo'][0]}")).to_have_count(0)
        cbo.goto(f"/referrals?status=&plan_id={plans['lake']}")
        expect(cbo.locator(f"#ref-{plans['lake_at_cbo'][0]}")).to_be_visible()
        # the hub too
        ctx, hub = _new_page(browser, live_server)
        contexts.append(ctx)
        sign_in(hub, demo_logins, "hub_coordinator")
        hub.goto("/referrals?status=")
        expect(hub.get_by_label("Health plan")).to_be_visible()
        expect(hub.locator(".plan-label", has_text="Great Lakes Medicare Advantage").first).to_be_visible()
        expect(hub.locator(".plan-label", has_text="Lakeshore Health Plan").first).to_be_visible()

        # each plan sees none of the other's: pages, API, FHIR
        for login, own, other in (("ma_staff", plans["ma_top"], plans["lake_top"]),
                                  ("plan_staff", plans["lake_top"], plans["ma_top"])):
            ctx, page = _new_page(browser, live_server)
            contexts.append(ctx)
            sign_in(page, demo_logins, login)
            assert page.goto(f"/referrals/{own[0]}").status == 200
            assert page.goto(f"/referrals/{other[0]}").status == 404
            assert page.goto(f"/members/{other[1]}").status in (403, 404)
            page.goto("/referrals?status=")
            expect(page.locator(f"#ref-{other[0]}")).to_have_count(0)
            token = page.request.post("/api/v1/tokens", data={"username": demo_logins[login][0],
                                                              "password": demo_logins[login][1]}).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            assert page.request.get(f"/api/v1/referrals/{own[0]}", headers=auth).status == 200
            assert page.request.get(f"/api/v1/referrals/{other[0]}", headers=auth).status == 404
            listed = page.request.get("/api/v1/referrals?status=&page_size=200", headers=auth).json()
            assert all(item["id"] != other[0] for item in listed["items"])
            assert page.request.get(f"/api/v1/members/{other[1]}", headers=auth).status in (403, 404)
            assert page.request.get(f"/fhir/Task/{other[0]}", headers=auth).status in (403, 404)
            assert page.request.get(f"/fhir/Patient/{other[1]}", headers=auth).status in (403, 404)
            assert page.request.get(f"/fhir/Task/{own[0]}", headers=auth).status == 200
    finally:
        for c in contexts:
            c.close()
