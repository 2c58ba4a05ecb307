"""In a real browser: plan staff open the payment models page (its SVG charts render), run another
comparison in place; a CBO user costs one of their own services and sees only their services; no
console errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser
PILOT = (Path(__file__).resolve().parents[2] / "examples" / "modeling" / "pilot.yaml").read_text()


def test_plan_staff_compare_payment_models(page, demo_logins):
    sign_in(page, demo_logins, "plan_staff")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Payment models").click()
    expect(page.get_by_role("heading", name="Payment models", level=1)).to_be_visible()
    results = page.locator("#results")
    expect(results.locator("figure.chart svg").first).to_be_visible()
    assert results.locator("figure.chart svg").count() == 2
    box = results.locator("figure.chart svg").first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    expect(results.get_by_text("Financial risk to CBO")).to_be_visible()
    expect(results.get_by_role("heading", name=re.compile("Win3 check"))).to_be_visible()
    # another set of inputs: the results swap in place
    page.get_by_label(re.compile(r"^Inputs")).fill(PILOT)
    page.get_by_label("Scenarios", exact=True).fill("2000")
    page.get_by_role("button", name="Compare models").click()
    expect(results.get_by_text("pilot projects", exact=False)).to_be_visible()
    expect(results.locator("figure.chart svg").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/modeling$"))
    assert page.console.unexpected() == []


def test_cbo_user_costs_their_own_service(page, demo_logins):
    sign_in(page, demo_logins, "cbo_staff")
    page.goto("/modeling/cost")
    expect(page.get_by_role("heading", name="Fully loaded unit cost", level=1)).to_be_visible()
    options = page.get_by_label("Service", exact=True).locator("option")
    assert options.count() >= 1
    page.get_by_role("button", name="Compute cost").click()
    expect(page.locator("#results").get_by_text("Break-even rate per payment model")).to_be_visible()
    assert page.console.unexpected() == []
