"""In a real browser, three logins close one loop: plan staff refer a member to the hub, the hub
coordinator routes it to a network CBO from the ranked suggestions, the CBO's community health
worker works it from the worklist (rows update in place) to "need resolved", and the plan sees the
closed loop with the whole timeline. A CBO never sees another CBO's referral, nor a member who has
not consented."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser


def _one(url: str, sql: str, **params):
    eng = sa.create_engine(url)
    try:
        with eng.connect() as conn:
            return conn.execute(sa.text(sql), params).first()
    finally:
        eng.dispose()


@pytest.fixture
def loop_facts(browser_database, demo_logins):
    cbo_org = _one(browser_database, "SELECT organization_id FROM user_account WHERE username = :u",
                   u=demo_logins["cbo_staff"][0])[0]
    # an Erie County member with no referral yet (the CBO serves Erie County)
    member = _one(browser_database, """
        SELECT m.id, m.first_name, m.last_name FROM member m
        WHERE m.county = 'Erie' AND NOT EXISTS (SELECT 1 FROM referral r WHERE r.member_id = m.id)
        ORDER BY m.id LIMIT 1""")
    stranger = _one(browser_database, """
        SELECT m.id FROM member m WHERE NOT EXISTS (SELECT 1 FROM member_consent c WHERE c.member_id = m.id)
        AND m.id <> :mid ORDER BY m.id LIMIT 1""", mid=member[0])
    return {"cbo_org": cbo_org, "member": member, "stranger": stranger[0]}


def test_one_referral_plan_hub_cbo_closed_loop(browser, live_server, demo_logins, loop_facts):
    member_id, first, last = loop_facts["member"]
    contexts = []

    def new_page():
        ctx = browser.new_context(base_url=live_server)
        contexts.append(ctx)
        p = ctx.new_page()
        p.set_default_timeout(15000)
        errors: list[str] = []
        p.on("pageerror", lambda e: errors.append(str(e)))
        p.on("dialog", lambda d: d.accept())  # consequential steps ask for confirmation
        p.errors = errors
        return p

    try:
        # 1. the plan refers the member to the hub, with the member's consent to share
        plan = new_page()
        sign_in(plan, demo_logins, "plan_staff")
        plan.goto(f"/members/{member_id}")
        plan.get_by_role("link", name="Refer this member").click()
        plan.get_by_label("Need").select_option("food")
        send_to = plan.get_by_label("Send to")
        hub_value = send_to.locator("option", has_text="Community care hub").first.get_attribute("value")
        send_to.select_option(hub_value)
        plan.get_by_label("Urgency").select_option("urgent")
        plan.get_by_label("Reason").fill("Positive Hunger Vital Sign; recently discharged")
        plan.get_by_label("The member consents to share their information with this organization").check()
        plan.get_by_role("button", name="Send the referral").click()
        expect(plan.locator(".flash-success")).to_contain_text("sent")
        referral_id = int(re.search(r"/referrals/(\d+)", plan.url).group(1))
        expect(plan.get_by_text("open: waiting for the hub to route it")).to_be_visible()

        # 2. the hub coordinator routes it from the console (suggestions load in place)
        hub = new_page()
        sign_in(hub, demo_logins, "hub_coordinator")
        hub.get_by_role("navigation", name="Main").get_by_role("link", name="Routing").click()
        hub.get_by_role("link", name=f"#{referral_id}", exact=True).click()
        suggestions = hub.locator("#suggestions")
        expect(suggestions).to_contain_text(f"Route referral #{referral_id}")
        expect(suggestions).to_contain_text("places left this month")
        form = suggestions.locator("form", has=hub.locator(f'button[data-route="{loop_facts["cbo_org"]}"]')).first
        form.get_by_label("The member consented to share with this CBO").check()
        form.locator("button[data-route]").click()
        expect(hub.locator(".flash-success")).to_contain_text(f"Referral #{referral_id} routed")

        # 3. the CBO works it from its worklist, rows updating in place
        cbo = new_page()
        sign_in(cbo, demo_logins, "cbo_staff")
        cbo.goto("/referrals?status=requested")
        row = cbo.locator("tr", has_text=f"{last}, {first}").first
        expect(row).to_be_visible()
        child_id = int(row.get_attribute("id").removeprefix("ref-"))
        row = cbo.locator(f"#ref-{child_id}")
        for button, shown in [("Accept", "Accepted"), ("Member contacted (phone)", "Member contacted"),
                              ("Member enrolled", "Member enrolled"), ("Service started", "Service started")]:
            row.get_by_role("button", name=button).click()
            expect(row).to_contain_text(shown)  # swapped in place: still on the worklist
            expect(cbo).to_have_url(re.compile(r"/referrals\?status=requested"))
        row.get_by_role("link", name=f"#{child_id}").click()
        resolve = cbo.locator("form", has=cbo.locator('button[data-action="resolve"]'))
        resolve.get_by_label("Note").fill("Enrolled in home-delivered meals; food secure at 30 days")
        resolve.locator('button[data-action="resolve"]').click()
        expect(cbo.locator(".flash-success")).to_contain_text("Need resolved: saved.")

        # 4. the plan sees the closed loop and every step, by organization
        plan.goto(f"/referrals/{referral_id}")
        expect(plan.get_by_text("closed: need resolved")).to_be_visible()
        timeline = plan.locator("ol.timeline")
        expect(timeline).to_contain_text("Routed to a network CBO")
        expect(timeline).to_contain_text("Member enrolled (accepted support)")
        expect(timeline).to_contain_text("Need resolved")
        plan.goto("/referrals?status=completed")
        expect(plan.locator(f"#ref-{referral_id}")).to_contain_text("closed: need resolved")

        # 5. another CBO cannot open it; the CBO cannot open a member who has not consented
        other = new_page()
        sign_in(other, demo_logins, "cbo_staff_independent")
        response = other.goto(f"/referrals/{child_id}")
        assert response.status == 404
        response = cbo.goto(f"/members/{loop_facts['stranger']}")
        assert response.status == 403
        response = cbo.goto(f"/members/{member_id}")  # consented: visible
        assert response.status == 200
        for p in (plan, hub, cbo, other):
            assert p.errors == []
    finally:
        for ctx in contexts:
            ctx.close()
