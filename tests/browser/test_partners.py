"""In a real browser, both partners at the table: a CBO administrator invites a colleague, edits its
listing and proposes a contract change the plan accepts (the version shows both acceptances); a hub
administrator edits a network CBO's listing; a deactivated user's session and token stop at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser

CBO = "Buffalo Housing Stability Coalition"
CONTRACT = "Housing stability and care coordination (shared savings)"


def _invite(page, username: str, name: str) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    form = page.get_by_role("form", name="Invite a colleague")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Full name").fill(name)
    form.get_by_label("Role").select_option("cbo_staff")
    form.get_by_role("button", name="Invite").click()
    expect(page.locator("#one-time-link")).to_contain_text(f"invitation link for {username}")
    expect(page.locator(f'tr[data-username="{username}"]')).to_contain_text("invited")
    return page.locator("#link-url").inner_text()


def _accept_invitation(browser, live_server, link: str, username: str, password: str):
    ctx = browser.new_context(base_url=live_server)
    p = ctx.new_page()
    p.goto(link)
    p.get_by_label("New password").fill(password)
    p.get_by_label("Repeat the password").fill(password)
    p.get_by_role("button", name="Set my password").click()
    expect(p).to_have_url(re.compile(r"/login"))
    p.get_by_label("Username").fill(username)
    p.get_by_label("Password").fill(password)
    p.get_by_role("button", name="Sign in").click()
    expect(p.get_by_role("button", name="Sign out")).to_be_visible()
    return ctx, p


def test_cbo_admin_invites_edits_listing_and_the_plan_accepts_its_proposal(browser, live_server, demo_logins, page):
    sign_in(page, demo_logins, "cbo_admin")
    link = _invite(page, "housing-navigator", "Nia Navigator")
    colleague_ctx, colleague = _accept_invitation(browser, live_server, link, "housing-navigator",
                                                  "a-long-enough-password")
    colleague_ctx.close()

    # the CBO's own listing
    page.goto("/directory?show=organizations&q=Buffalo+Housing")
    page.locator("#results").get_by_role("link", name=CBO).click()
    page.get_by_role("link", name="Edit the listing").click()
    page.get_by_label("Hours").fill("Mon–Fri 8:30–18:00, Sat 10:00–14:00")
    capacity = page.get_by_label(re.compile("^Capacity per month of")).first
    capacity.fill("45")
    page.get_by_label(re.compile("^Languages of")).first.fill("en, es, ar")
    page.get_by_role("button", name="Save the listing").click()
    expect(page.get_by_text("Listing saved")).to_be_visible()
    expect(page.get_by_text("Mon–Fri 8:30–18:00, Sat 10:00–14:00")).to_be_visible()
    expect(page.locator("table.data").last).to_contain_text("en, es, ar")

    # a proposal to the plan
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contracts").click()
    page.get_by_role("link", name=CONTRACT).click()
    page.get_by_role("navigation", name="Partnership").get_by_role("link", name="Proposals").click()
    page.get_by_label("Shared vision").fill("Every member we house keeps a safe home a year later, and our "
                                            "navigators and the plan's care managers plan each move together.")
    page.get_by_label("Why (for the other party)").fill("Our navigators' words")
    page.get_by_role("button", name="Propose").click()
    expect(page.locator("#proposal-facts")).to_contain_text("open")
    proposal_url = page.url

    plan_ctx = browser.new_context(base_url=live_server)
    plan = plan_ctx.new_page()
    sign_in(plan, demo_logins, "plan_admin")
    plan.goto(proposal_url)
    expect(plan.locator("#proposed-text")).to_contain_text("keeps a safe home a year later")
    plan.get_by_label("Comment (needed to counter or decline)").fill("Agreed at the site visit")
    plan.get_by_role("button", name="Accept").click()
    expect(plan).to_have_url(re.compile(r"/versions/\d+$"))
    panel = plan.locator("#acceptances-panel")
    expect(panel).to_contain_text(f"Proposed and accepted by {CBO}")
    expect(panel).to_contain_text("cbo-admin")
    expect(panel).to_contain_text("Accepted by Lakeshore Health Plan")
    expect(panel).to_contain_text("plan-admin")
    # the CBO sees the same version with both acceptances
    page.goto(plan.url)
    expect(page.locator("#acceptances-panel")).to_contain_text("plan-admin")
    assert page.console.unexpected() == []
    plan_ctx.close()


def test_hub_admin_edits_a_network_cbos_listing(page, demo_logins):
    sign_in(page, demo_logins, "hub_admin")
    page.locator(".card-title", has_text="CBOs in your network").locator("..").get_by_role("link").click()
    page.get_by_role("link", name="Erie Home Meals Collaborative").click()
    page.get_by_role("link", name="Edit the listing").click()
    page.get_by_label("Description").fill("Medically tailored meals across Erie County; updated by the hub.")
    page.get_by_role("button", name="Save the listing").click()
    expect(page.get_by_text("Listing saved")).to_be_visible()
    expect(page.get_by_text("updated by the hub")).to_be_visible()
    # a CBO outside the hub's network: no edit
    page.goto("/directory?show=organizations&q=Buffalo+Housing")
    page.locator("#results").get_by_role("link", name=CBO).click()
    expect(page.get_by_role("link", name="Edit the listing")).to_have_count(0)
    assert page.console.unexpected() == []


def test_a_deactivated_users_session_and_token_stop_at_once(browser, live_server, demo_logins, page):
    sign_in(page, demo_logins, "cbo_admin")
    link = _invite(page, "temp-worker", "Temporary Worker")
    ctx, worker = _accept_invitation(browser, live_server, link, "temp-worker", "another-long-password")
    token = worker.request.post("/api/v1/tokens", data={"username": "temp-worker",
                                                        "password": "another-long-password"}).json()["access_token"]
    me = worker.request.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200
    worker.goto("/directory")
    expect(worker.get_by_role("heading", name="Community resource directory")).to_be_visible()

    page.goto("/users")
    page.get_by_role("button", name="Deactivate temp-worker").click()
    expect(page.get_by_text("temp-worker is deactivated")).to_be_visible()
    expect(page.locator('tr[data-username="temp-worker"]')).to_contain_text("deactivated")

    worker.reload()
    expect(worker).to_have_url(re.compile(r"/login"))
    assert worker.request.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status == 401
    # and signing in again is refused
    worker.get_by_label("Username").fill("temp-worker")
    worker.get_by_label("Password").fill("another-long-password")
    worker.get_by_role("button", name="Sign in").click()
    expect(worker.get_by_role("alert")).to_contain_text("do not match an active account")
    ctx.close()
