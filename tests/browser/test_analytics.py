"""In a real browser: plan staff run the ROI calculator (the results swap in place with their SVG
charts) and the shared-savings report on the demo's claims; a CBO user is refused; no console errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_plan_staff_run_the_roi_calculator(page, demo_logins):
    sign_in(page, demo_logins, "plan_staff")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="ROI calculator").click()
    expect(page.get_by_role("heading", name="ROI calculator", level=1)).to_be_visible()
    # another intervention: the form reloads in place with its categories and typical cost
    page.get_by_label(re.compile(r"^Intervention")).select_option("post_discharge_meals_maine")
    expect(page.get_by_label("Program cost ($)")).to_have_value("69.98")
    expect(page.get_by_label("30-day readmissions", exact=True)).to_be_checked()
    page.get_by_label("Members eligible").fill("622")
    page.get_by_role("button", name="Calculate").click()
    results = page.locator("#results")
    expect(results.get_by_text("Net ROI", exact=True)).to_be_visible()
    expect(results.locator("svg").first).to_be_visible()
    assert results.locator("svg").count() == 2
    expect(page).to_have_url(re.compile(r"/analytics/roi$"))  # swapped in place, no navigation
    # an inconsistent budget is flagged prominently
    page.get_by_text("Check a budget document's figures").click()
    page.get_by_label("Stated budget ($)").fill("5000000")
    page.get_by_label("People the budget covers").fill("100000")
    page.get_by_label("Stated $ per person per week").fill("50")
    page.get_by_role("button", name="Calculate").click()
    expect(results.get_by_role("alert")).to_contain_text("do not agree")
    assert page.console.unexpected() == []


def test_plan_staff_run_the_shared_savings_report_on_the_demo_claims(page, demo_logins):
    sign_in(page, demo_logins, "plan_staff")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Shared savings").click()
    expect(page.get_by_role("heading", name="Shared savings", level=1)).to_be_visible()
    expect(page.get_by_label("Attributed zip codes")).to_have_value(re.compile("08102"))
    page.get_by_label("Guaranteed payment ($)").fill("50000")
    page.get_by_role("button", name="Run the report").click()
    results = page.locator("#results")
    expect(results.get_by_text("Projected TCOC", exact=True)).to_be_visible(timeout=60000)
    expect(results.locator("svg").first).to_be_visible()
    expect(results.get_by_role("status")).to_contain_text("Savings")
    results.get_by_text("The SQL of the contract figures").click()
    expect(results.locator("details.an-sql pre")).to_contain_text("SELECT")
    assert page.console.unexpected() == []


def test_a_cbo_user_is_refused_the_roi_calculator(page, demo_logins):
    sign_in(page, demo_logins, "cbo_staff")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="ROI calculator")).to_have_count(0)
    response = page.goto("/analytics/roi")
    assert response.status == 403
    assert page.console.unexpected(allow_status=(403,)) == []
