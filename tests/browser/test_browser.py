"""In a real browser: every role signs in to its own home, the directory searches in place (HTMX),
plan staff open a member, a CBO user is refused the roster; no console errors anywhere."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HOME_CARD = {
    "plan_admin": "Members in the plan",
    "plan_staff": "Members in the plan",
    "hub_coordinator": "CBOs in your network",
    "cbo_staff": "Services in the directory",
    "auditor": "Audit events today",
}


def sign_in(page, logins, role):
    username, password = logins[role]
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.mark.parametrize("role", list(HOME_CARD))
def test_each_role_signs_in_to_its_home(page, demo_logins, role):
    sign_in(page, demo_logins, role)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".card-title", has_text=HOME_CARD[role])).to_be_visible()
    members_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Members", exact=True)
    expect(members_link).to_have_count(1 if role in ("plan_admin", "plan_staff") else 0)
    audit_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")
    expect(audit_link).to_have_count(1 if role == "auditor" else 0)
    assert page.console.unexpected() == []


def test_wrong_password_is_refused_in_the_browser(page, demo_logins):
    username, _ = demo_logins["plan_staff"]
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("definitely-wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That username and password do not match")
    assert page.console.unexpected(allow_status=(401,)) == []


def test_search_the_directory_by_need_domain_and_county(page, demo_logins):
    sign_in(page, demo_logins, "hub_coordinator")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Directory").click()
    expect(page.get_by_role("heading", name="Community resource directory")).to_be_visible()
    page.get_by_label("Need domain").select_option("food")  # HTMX: results swap in place
    expect(page).to_have_url(re.compile(r"need_domain=food"))
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_be_visible()
    tags = page.locator("#results tbody tr td:nth-child(2)").all_inner_texts()
    assert tags and all(t.strip() == "Food" for t in tags)
    county = page.get_by_label("County")
    options = [o for o in county.locator("option").all_inner_texts() if o != "Any"]
    assert options, "the demo has service areas"
    county.select_option(label=options[0])
    expect(page).to_have_url(re.compile(r"county="))
    expect(page.locator("#results")).to_be_visible()
    first = page.locator("#results tbody tr td:first-child a").first
    if first.count():
        name = first.inner_text()
        first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
    assert page.console.unexpected() == []


def test_plan_staff_open_a_member(page, demo_logins):
    sign_in(page, demo_logins, "plan_staff")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members", exact=True).click()
    expect(page.get_by_role("heading", name="Members", exact=True)).to_be_visible()
    link = page.locator("#results tbody tr td:first-child a").first
    last_first = link.inner_text()
    link.click()
    last, first = [p.strip() for p in last_first.split(",", 1)]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{first} {last}")
    expect(page.get_by_role("heading", name="Coverage and care")).to_be_visible()
    assert page.console.unexpected() == []


def test_a_cbo_user_is_refused_the_roster(page, demo_logins):
    sign_in(page, demo_logins, "cbo_staff")
    response = page.goto("/members")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("may not open this page")
    assert page.console.unexpected(allow_status=(403,)) == []


def test_an_expired_or_missing_session_returns_to_sign_in(page, demo_logins):
    page.goto("/members")
    expect(page).to_have_url(re.compile(r"/login\?reason=signin"))
    expect(page.get_by_role("status").first).to_contain_text("Please sign in to continue")
