"""The whole referral lifecycle through FHIR alone, from a second process: an external referral
source (examples/fhir/referral_source.py, a plan's care management system) refers a member to a
CBO over HTTP against the live server, while the CBO's community health worker works the referral
in the web app; the source follows it by the IG's polling query to completed and reads the
resulting Procedure."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in
from tests.browser.test_referral_loop import _one

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "fhir" / "referral_source.py"


class Source:
    """The second process, its JSON lines read as they come."""

    def __init__(self, args: list[str]):
        self.proc = subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None and self.events.empty():
                    break
                continue
            self.seen.append(event)
            if event["event"] == "error":
                raise AssertionError(f"the referral source failed: {event['message']}")
            if predicate(event):
                return event
        raise AssertionError(f"not seen in time; the source said {self.seen}; stderr: {self._stderr()}")

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()[-2000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def test_external_source_refers_through_fhir_while_the_cbo_works_it_in_the_web_app(
        browser, live_server, browser_database, demo_logins):
    cbo_user = demo_logins["cbo_staff_independent"][0]
    cbo_name = _one(browser_database, """SELECT o.name FROM organization o JOIN user_account u
                    ON u.organization_id = o.id WHERE u.username = :u""", u=cbo_user)[0]
    plan_user, plan_password = demo_logins["plan_staff"]
    plan_name = _one(browser_database, """SELECT o.name FROM organization o JOIN user_account u
                     ON u.organization_id = o.id WHERE u.username = :u""", u=plan_user)[0]
    member_id, plan_member_id, first, last = _one(browser_database, """
        SELECT m.id, m.plan_member_id, m.first_name, m.last_name FROM member m
        WHERE NOT EXISTS (SELECT 1 FROM referral r WHERE r.member_id = m.id)
        AND m.plan_id = (SELECT organization_id FROM user_account WHERE username = :u)
        ORDER BY m.id DESC LIMIT 1""", u=plan_user)
    source = Source(["--server", live_server, "--username", plan_user, "--password", plan_password,
                     "--member-id", plan_member_id, "--from", plan_name, "--to", cbo_name,
                     "--category", "housing-instability", "--service", "Eviction prevention",
                     "--reason", "Behind on rent; eviction notice received", "--priority", "urgent",
                     "--poll-seconds", "0.5", "--timeout", "120"])
    ctx = browser.new_context(base_url=live_server)
    try:
        created = source.wait_for(lambda e: e["event"] == "created")
        assert created["owner"] == cbo_name and created["status"] == "requested"
        task_id = created["task"]

        cbo = ctx.new_page()
        cbo.on("dialog", lambda d: d.accept())  # consequential steps ask for confirmation
        cbo.set_default_timeout(15000)
        errors: list[str] = []
        cbo.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(cbo, demo_logins, "cbo_staff_independent")
        cbo.goto("/referrals?status=requested")
        row = cbo.locator(f"#ref-{task_id}")
        expect(row).to_contain_text(f"{last}, {first}")  # consented through FHIR: the CBO sees the name
        row.get_by_role("button", name="Accept").click()
        expect(row).to_contain_text("Accepted")
        # the source sees the acceptance by polling before the CBO goes on
        source.wait_for(lambda e: e["event"] == "status" and e["status"] == "accepted")
        for button, shown in [("Member contacted (phone)", "Member contacted"), ("Member enrolled", "Member enrolled"),
                              ("Service started", "Service started")]:
            row.get_by_role("button", name=button).click()
            expect(row).to_contain_text(shown)
        source.wait_for(lambda e: e["event"] == "status" and e["status"] == "in-progress")
        row.get_by_role("link", name=f"#{task_id}").click()
        resolve = cbo.locator("form", has=cbo.locator('button[data-action="resolve"]'))
        resolve.get_by_label("Note").fill("Rent arrears paid; eviction stopped")
        resolve.locator('button[data-action="resolve"]').click()
        expect(cbo.locator(".flash-success")).to_contain_text("Need resolved: saved.")
        assert errors == []

        done = source.wait_for(lambda e: e["event"] in ("completed", "ended", "timeout"))
        assert done["event"] == "completed", done
        assert done["procedure"] == f"referral-{task_id}" and done["procedure_status"] == "completed"
        assert done["code"]["text"] == "Eviction prevention"
        assert done["based_on"] == [{"reference": f"ServiceRequest/{created['service_request']}"}]
        assert source.proc.wait(timeout=30) == 0
        statuses = [(e["status"], e["business_status"]) for e in source.seen if e["event"] == "status"]
        assert statuses[0] == ("accepted", None) and statuses[-1] == ("completed", "need-resolved")
        assert ("in-progress", "service-started") in statuses
        # the Task is the referral the web app shows, under the same number
        assert _one(browser_database, "SELECT member_id FROM referral WHERE id = :i", i=int(task_id))[0] == member_id
    finally:
        source.stop()
        ctx.close()


def test_fhir_connections_page_from_the_exchange_page(page, demo_logins):
    sign_in(page, demo_logins, "plan_admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exchange").click()
    page.get_by_role("link", name="FHIR connections").click()
    expect(page.get_by_role("heading", name="FHIR connections")).to_be_visible()
    expect(page.locator(".purpose")).to_contain_text("Direct")
    expect(page.get_by_label("FHIR base URL (Direct)")).to_be_visible()  # the administrator may set one
    assert page.console.unexpected() == []
