"""In a real browser, the daily work of one referral lands in its contract's numbers: the plan refers a
member to the hub (the referral shows the contract it counts under and why), the hub routes it to a
network CBO, the CBO records a service from the referral page (picking the referral: it moves to in
progress), resolves it, the member's need is resolved, and the contract's scorecard and a JOC meeting
prepared for the month count the member."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser


def _db(url: str, sql: str, **params):
    eng = sa.create_engine(url)
    try:
        with eng.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return result.first() if result.returns_rows else None
    finally:
        eng.dispose()


@pytest.fixture
def facts(browser_database, demo_logins):
    cbo_org = _db(browser_database, "SELECT organization_id FROM user_account WHERE username = :u",
                  u=demo_logins["cbo_staff"][0])[0]
    contract = _db(browser_database, "SELECT id, name FROM contract WHERE payment_model = 'hybrid_ffs_capitation'")
    # a Medicare Advantage or D-SNP member in Erie County (the meals contract's population) with no referral
    member = _db(browser_database, """
        SELECT m.id, m.first_name, m.last_name, m.plan_member_id FROM member m
        WHERE m.county = 'Erie' AND m.product_line IN ('medicare_advantage', 'dual_special_needs')
          AND EXISTS (SELECT 1 FROM enrollment_span e WHERE e.member_id = m.id AND e.end_date IS NULL)
          AND NOT EXISTS (SELECT 1 FROM referral r WHERE r.member_id = m.id)
          AND NOT EXISTS (SELECT 1 FROM social_need n WHERE n.member_id = m.id AND n.status = 'active')
        ORDER BY m.id LIMIT 1""")
    assert member is not None, "the demo has an eligible member to refer"
    plan_id = _db(browser_database, "SELECT plan_id FROM member WHERE id = :m", m=member[0])[0]
    _db(browser_database, """
        INSERT INTO social_need (member_id, plan_id, domain, sdoh_category, z_code, status, source, identified_at)
        VALUES (:m, :p, 'food', 'food-insecurity', 'Z59.41', 'active', 'screening', :at)""",
        m=member[0], p=plan_id, at=datetime.now(UTC).replace(tzinfo=None))
    return {"cbo_org": cbo_org, "contract": contract, "member": member}


def _served(page) -> int:
    return int(page.locator('[data-measure="members-served"]').first.inner_text().replace(",", ""))


def test_plan_hub_cbo_service_need_scorecard_and_joc(browser, live_server, demo_logins, facts, browser_database):
    member_id, first, last, pmid = facts["member"]
    contract_id, contract_name = facts["contract"]
    month = datetime.now(UTC).strftime("%Y-%m")
    contexts = []

    def new_page():
        ctx = browser.new_context(base_url=live_server)
        contexts.append(ctx)
        p = ctx.new_page()
        p.set_default_timeout(15000)
        errors: list[str] = []
        p.on("pageerror", lambda e: errors.append(str(e)))
        p.errors = errors
        return p

    try:
        # 0. the contract's scorecard for this month, before
        admin = new_page()
        sign_in(admin, demo_logins, "plan_admin")
        admin.goto(f"/measures/contracts/{contract_id}?month={month}")
        before = _served(admin)

        # 1. the plan refers the member to the hub; the referral says which contract it counts under, and why
        plan = new_page()
        sign_in(plan, demo_logins, "plan_staff")
        plan.goto(f"/members/{member_id}")
        plan.get_by_role("link", name="Refer this member").click()
        plan.get_by_label("Need").select_option("food")
        send_to = plan.get_by_label("Send to")
        send_to.select_option(send_to.locator("option", has_text="Community care hub").first.get_attribute("value"))
        plan.get_by_label("Reason").fill("Discharged yesterday; no food at home")
        plan.get_by_label("The member consents to share their information with this organization").check()
        plan.get_by_role("button", name="Send the referral").click()
        expect(plan.locator(".flash-success")).to_contain_text("sent")
        referral_id = int(re.search(r"/referrals/(\d+)", plan.url).group(1))
        panel = plan.locator("section", has=plan.get_by_role("heading", name="Contract"))
        expect(panel).to_contain_text(contract_name)
        expect(panel).to_contain_text(f"contract {contract_id} v")
        expect(panel).to_contain_text("within term, eligible")

        # 2. the hub routes it to the network CBO
        hub = new_page()
        sign_in(hub, demo_logins, "hub_coordinator")
        hub.goto(f"/hub/routing?selected={referral_id}")
        suggestions = hub.locator("#suggestions")
        expect(suggestions).to_contain_text(f"Route referral #{referral_id}")
        form = suggestions.locator("form", has=hub.locator(f'button[data-route="{facts["cbo_org"]}"]')).first
        form.get_by_label("The member consented to share with this CBO").check()
        form.locator("button[data-route]").click()
        expect(hub.locator(".flash-success")).to_contain_text(f"Referral #{referral_id} routed")

        # 3. the CBO accepts, reaches and enrolls the member, then records a service from the referral page
        cbo = new_page()
        sign_in(cbo, demo_logins, "cbo_staff")
        cbo.goto("/referrals?status=requested")
        row = cbo.locator("tr", has_text=f"{last}, {first}").first
        child_id = int(row.get_attribute("id").removeprefix("ref-"))
        row = cbo.locator(f"#ref-{child_id}")
        for button, shown in [("Accept", "Accepted"), ("Member contacted (phone)", "Member contacted"),
                              ("Member enrolled", "Member enrolled")]:
            row.get_by_role("button", name=button).click()
            expect(row).to_contain_text(shown)
        cbo.goto(f"/referrals/{child_id}")
        cbo.get_by_role("link", name="Record a service for this referral").click()
        expect(cbo.get_by_label("The referral this service answers (it moves to in progress)")).to_have_value(
            str(child_id))
        svc = cbo.get_by_label("Service", exact=True)
        svc.select_option(svc.locator("option", has_text="S5170").first.get_attribute("value"))
        cbo.get_by_label("Units").fill("2")
        cbo.get_by_role("button", name="Record the service").click()
        expect(cbo.locator(".flash-success")).to_contain_text("Recorded 2")
        cbo.goto(f"/referrals/{child_id}")
        expect(cbo.locator("#h-ref")).to_contain_text(re.compile("in progress", re.I))
        resolve = cbo.locator("form", has=cbo.locator('button[data-action="resolve"]'))
        resolve.get_by_label("Note").fill("Two weeks of meals delivered; food secure")
        resolve.locator('button[data-action="resolve"]').click()
        expect(cbo.locator(".flash-success")).to_contain_text("Need resolved: saved.")

        # 4. the plan's referral closed the loop, and the member's need is resolved
        plan.goto(f"/referrals/{referral_id}")
        expect(plan.get_by_text("closed: need resolved")).to_be_visible()
        status = _db(browser_database, "SELECT status FROM social_need WHERE member_id = :m AND domain = 'food'",
                     m=member_id)[0]
        assert status == "resolved"
        rec = _db(browser_database, "SELECT contract_id, contract_reason FROM service_record WHERE referral_id = :r",
                  r=child_id)
        assert rec[0] == contract_id and "as its referral" in rec[1]

        # 5. the contract's scorecard counts the member; a JOC meeting prepared for the month shows it
        admin.goto(f"/measures/contracts/{contract_id}?month={month}")
        after = _served(admin)
        assert after == before + 1
        admin.goto("/joc")
        admin.get_by_role("link", name=re.compile(re.escape(contract_name))).first.click()
        admin.get_by_label("Month of data").fill(month)  # the demo's meetings are for past months
        admin.get_by_role("button", name="Prepare the meeting (freezes the month's scorecard)").click()
        expect(admin.locator('[data-measure="members-served"]').first).to_have_text(f"{after:,}")
        for p in (admin, plan, hub, cbo):
            assert p.errors == []
    finally:
        for ctx in contexts:
            ctx.close()
