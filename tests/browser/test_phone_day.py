"""The community health worker's day on a phone (390×844): sign in, see the new-referral
notification, open it, accept, call, record an outreach attempt (its result is not "reached" by
default), reach the member, enroll, record a service with the pickers, start and resolve. No page
scrolls sideways and none has a serious or critical axe-core violation; then every page of the
README tour, at desktop and phone widths, for every role."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from tests.browser.axe import check_page
from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _context(browser, live_server, viewport):
    ctx = browser.new_context(base_url=live_server, viewport=viewport, bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(15000)
    page.on("dialog", lambda d: d.accept())
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return ctx, page


@pytest.fixture
def routed_referral(browser_database, demo_logins):
    return route_one_to_cbo(browser_database, demo_logins)


def route_one_to_cbo(browser_database, demo_logins, plan_id: int | None = None) -> dict:
    """The hub routes one of its waiting referrals (a member with a phone) to the demo CBO."""
    from socialcare.referrals import service as svc
    from socialcare.referrals.models import Referral
    from socialcare.security.models import User
    from socialcare.security.service import principal_for_user

    engine = sa.create_engine(browser_database)
    try:
        with Session(engine) as db, db.begin():
            hub_user = db.scalar(sa.select(User).where(User.username == demo_logins["hub_coordinator"][0]))
            cbo_user = db.scalar(sa.select(User).where(User.username == demo_logins["cbo_staff"][0]))
            hub = principal_for_user(hub_user)
            from socialcare.members.models import Member

            ref = db.scalar(sa.select(Referral).join(Member, Member.id == Referral.member_id)
                            .where(Referral.owner_org_id == hub.org_id, Referral.status == "requested",
                                   Member.phone.is_not(None), *([Referral.plan_id == plan_id] if plan_id else []))
                            .order_by(Referral.id))
            assert ref is not None, "the demo has a referral waiting at the hub"
            svc.route(db, hub, ref.id, cbo_id=cbo_user.organization_id, service_id=None, version=None,
                      consent_scope="referral")
            child = db.scalar(sa.select(Referral).where(Referral.parent_id == ref.id, Referral.status == "requested"))
            member = db.get(Member, child.member_id)
            return {"id": child.id, "last": member.last_name, "phone": member.phone}
    finally:
        engine.dispose()


def test_cbo_worker_day_on_a_phone(browser, live_server, demo_logins, routed_referral):
    ctx, page = _context(browser, live_server, PHONE)
    problems: list[str] = []
    rid = routed_referral["id"]
    try:
        sign_in(page, demo_logins, "cbo_staff")
        problems += check_page(page, "home")
        # the bell shows the new referral; the inbox names it by number, never by the member
        bell = page.locator("a.bell")
        expect(bell.locator(".badge")).to_be_visible()
        unread = int(bell.locator(".badge").inner_text())
        bell.click()
        problems += check_page(page, "inbox")
        note = page.get_by_role("link", name=re.compile(rf"referral #{rid}\b"))
        expect(note).to_be_visible()
        expect(page.locator(".notice-list")).not_to_contain_text(routed_referral["last"])
        note.click()
        expect(page).to_have_url(re.compile(rf"/referrals/{rid}$"))
        problems += check_page(page, "referral (new)")
        # opening it read the notification
        if unread == 1:
            expect(page.locator("a.bell .badge")).to_have_count(0)
        else:
            expect(page.locator("a.bell .badge")).to_have_text(str(unread - 1))
        # call: a tap-to-call link with the member's number
        call = page.locator('a[href^="tel:"]').first
        expect(call).to_have_attribute("href", f"tel:{routed_referral['phone']}")
        page.locator('button[data-action="accept"]').click()
        expect(page.locator(".flash-success")).to_contain_text("Accept: saved.")
        problems += check_page(page, "referral (accepted)")
        # an outreach attempt did not reach the member: "reached" is not even offered
        attempt = page.locator("#act-outreach")
        expect(attempt.locator('select[name="result"]')).to_have_value("no_answer")
        expect(attempt.locator('select[name="result"] option[value="reached"]')).to_have_count(0)
        attempt.locator("textarea").fill("Voicemail full")
        attempt.locator('button[data-action="outreach"]').click()
        expect(page.locator(".flash-success")).to_contain_text("Record outreach attempt: saved.")
        page.locator('button[data-action="contacted"]').click()
        expect(page.locator(".flash-success")).to_contain_text("Member contacted: saved.")
        page.locator('button[data-action="enroll"]').click()
        expect(page.locator(".flash-success")).to_contain_text("Member enrolled: saved.")
        problems += check_page(page, "referral (enrolled)")
        # record a service: pick the referral by the member's name (it fills the member too)
        page.goto("/delivery/services/new")
        problems += check_page(page, "service form")
        page.locator("#pick-referral_id").fill(routed_referral["last"][:4])
        choice = page.locator("#pick-referral_id-results button.pick", has_text=f"#{rid}")
        expect(choice).to_be_visible()
        problems += check_page(page, "service form (picker open)")
        choice.click()
        expect(page.locator('input[type=hidden][name="referral_id"]')).to_have_value(str(rid))
        expect(page.locator('input[type=hidden][name="member"]')).not_to_have_value("")
        page.get_by_label("Units").fill("10")
        page.get_by_role("button", name="Record the service").click()
        expect(page.locator(".flash-success")).to_contain_text("Recorded 10")
        problems += check_page(page, "services")
        page.goto(f"/referrals/{rid}")  # the service recorded for it started the service
        expect(page.locator("#h-ref")).to_contain_text("In progress")
        page.locator('button[data-action="resolve"]').click()
        expect(page.locator(".flash-success")).to_contain_text("Need resolved: saved.")
        problems += check_page(page, "referral (resolved)")
        page.goto("/referrals")
        problems += check_page(page, "worklist")
        assert page.errors == []
    finally:
        ctx.close()
    assert problems == [], "\n".join(problems)


TOUR = {
    "plan_admin": ["/", "/members", "/members?q=a", "/referrals", "/referrals/batches/new", "/contracts",
                   "/payments/settle", "/modeling", "/measures", "/joc", "/analytics/roi", "/analytics/savings",
                   "/exchange", "/exchange/fhir", "/users", "/escalations", "/notifications", "/settings"],
    "plan_staff": ["/", "/directory", "/referrals"],
    "hub_coordinator": ["/", "/directory", "/hub/routing", "/referrals", "/notifications"],
    "cbo_staff": ["/", "/directory", "/referrals", "/delivery", "/delivery/services", "/delivery/services/new",
                  "/delivery/pathways", "/escalations", "/notifications", "/settings"],
    "cbo_staff_independent": ["/", "/referrals"],
    "auditor": ["/", "/audit"],
}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_readme_tour_pages_are_accessible_and_fit(browser, live_server, demo_logins, viewport):
    problems: list[str] = []
    for role, paths in TOUR.items():
        ctx, page = _context(browser, live_server, viewport)
        try:
            page.goto("/login")
            problems += check_page(page, "login")
            sign_in(page, demo_logins, role)
            for path in paths:
                response = page.goto(path)
                if response.status == 404:
                    continue
                assert response.status < 400, (role, path, response.status)
                problems += check_page(page, f"{role} {path}")
                follow = {"/referrals": "#referrals a[href^='/referrals/']", "/members?q=a": "main a[href^='/members/']"}
                if path in follow:  # and the first record of the list
                    first = page.locator(follow[path]).first
                    if first.count():
                        page.goto(first.get_attribute("href"))
                        problems += check_page(page, f"{role} {path} first record")
        finally:
            ctx.close()
    assert problems == [], "\n".join(problems)
