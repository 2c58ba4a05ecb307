"""In a real browser: the plan settles the hub's contract from the contract's page and approves the
statement, the hub disputes it, the plan adjusts and pays; the network CBO and an independent CBO
see none of it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser

CONTRACT = "Post-discharge home-delivered meals (hybrid)"  # the plan's contract with the demo hub


def test_settle_approve_dispute_adjust_and_pay(browser, live_server, demo_logins):
    plan_ctx = browser.new_context(base_url=live_server)
    plan = plan_ctx.new_page()
    sign_in(plan, demo_logins, "plan_admin")
    plan.goto("/contracts")
    plan.get_by_role("link", name=CONTRACT).first.click()
    plan.get_by_role("button", name="Settle", exact=True).click()
    expect(plan).to_have_url(re.compile(r"/payments/statements/\d+$"))
    expect(plan.locator("#statement-status")).to_have_text("Draft")
    expect(plan.locator("body")).to_contain_text("capitation")
    url = plan.url
    plan.get_by_role("button", name="Approve").click()
    expect(plan.locator("#statement-status")).to_have_text("Approved")

    hub_ctx = browser.new_context(base_url=live_server)
    hub = hub_ctx.new_page()
    sign_in(hub, demo_logins, "hub_coordinator")
    hub.goto(url)
    expect(hub.get_by_role("button", name="Approve")).to_have_count(0)  # the plan approves, not the hub
    hub.get_by_label("Why is it disputed?").fill("Meals delivered on the 30th are missing")
    hub.get_by_role("button", name="Dispute").click()
    expect(hub.locator("#statement-status")).to_have_text("Disputed")

    plan.goto(url)
    plan.get_by_text("Adjust (a new statement referencing this one)").click()
    plan.get_by_label("Amount (negative to take back)").fill("97.50")
    plan.get_by_label("Why").fill("Meals delivered on the 30th")
    plan.get_by_role("button", name="Store the adjustment").click()
    expect(plan.locator("body")).to_contain_text("An adjustment statement")
    expect(plan.locator("#statement-total")).to_have_text("$97.50")
    plan.goto(url)
    expect(plan.locator("#statement-status")).to_have_text("Adjusted")
    plan.get_by_label("Reference").fill("EFT 2026-0001")
    plan.get_by_role("button", name="Record a payment").click()
    expect(plan.locator("#statement-status")).to_have_text("Paid")
    expect(plan.locator("#statement-history")).to_contain_text("EFT 2026-0001")

    hub.goto("/payments/statements")
    expect(hub.locator("#statements")).to_contain_text("Paid")
    for role in ("cbo_staff", "cbo_staff_independent"):  # not parties to the plan's contract with the hub
        ctx = browser.new_context(base_url=live_server)
        other = ctx.new_page()
        sign_in(other, demo_logins, role)
        assert other.goto(url).status == 404
        other.goto("/payments/statements")
        expect(other.locator("#statements")).to_contain_text("No statements yet.")
        ctx.close()
    for ctx in (plan_ctx, hub_ctx):
        ctx.close()
