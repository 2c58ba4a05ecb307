"""In a real browser: a plan user and the partner CBO's user open the same JOC meeting; each sees only
what their organization may see (the plan's internal notes and small cells stay with the plan)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser

CONTRACT = "Medically tailored meals (fee-for-service)"  # the demo's contract with the CBO user's organization


def _open_latest_meeting(page) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="JOC").click()
    expect(page.get_by_role("heading", name="Joint operating committees")).to_be_visible()
    row = page.locator("tbody tr", has_text=CONTRACT)
    row.locator("td").last.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/joc/meetings/\d+$"))
    expect(page.get_by_role("heading", name="1. Member story")).to_be_visible()
    return page.url


def test_plan_and_cbo_open_the_same_meeting(browser, live_server, demo_logins):
    plan_ctx = browser.new_context(base_url=live_server)
    plan = plan_ctx.new_page()
    sign_in(plan, demo_logins, "plan_admin")
    url = _open_latest_meeting(plan)
    expect(plan.locator("#viewer-scope")).to_contain_text("Plan view")
    expect(plan.get_by_label("The plan's internal notes")).to_have_value(re.compile("rate amendment"))
    expect(plan.locator(".scorecard svg").first).to_be_visible()  # server-drawn charts
    expect(plan.get_by_role("button", name="Check and save the story")).to_be_visible()

    cbo_ctx = browser.new_context(base_url=live_server)
    cbo = cbo_ctx.new_page()
    sign_in(cbo, demo_logins, "cbo_staff")
    assert _open_latest_meeting(cbo) == url  # the same meeting
    expect(cbo.locator("#viewer-scope")).to_contain_text("Partner view")
    expect(cbo.get_by_text("Two community health workers joined")).to_be_visible()
    expect(cbo.locator("body")).not_to_contain_text("rate amendment")
    expect(cbo.get_by_label("The plan's internal notes")).to_have_count(0)
    expect(cbo.get_by_role("button", name="Check and save the story")).to_have_count(0)  # CBO staff read only
    expect(cbo.locator(".scorecard svg").first).to_be_visible()

    # the independent CBO is not on this committee
    other_ctx = browser.new_context(base_url=live_server)
    other = other_ctx.new_page()
    sign_in(other, demo_logins, "cbo_staff_independent")
    response = other.goto(url)
    assert response.status == 404
    for ctx in (plan_ctx, cbo_ctx, other_ctx):
        ctx.close()


def test_report_pdf_downloads_for_the_cbo(browser, live_server, demo_logins):
    ctx = browser.new_context(base_url=live_server)
    page = ctx.new_page()
    sign_in(page, demo_logins, "cbo_staff")
    url = _open_latest_meeting(page)
    response = page.request.get(url + "/report.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    ctx.close()
