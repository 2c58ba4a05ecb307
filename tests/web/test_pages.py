"""Role-aware navigation and home pages, error pages (never a traceback), the audit log and accounts."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.testclient import TestClient

from socialcare.directory.models import Organization
from socialcare.security.models import AuditEvent, User
from socialcare.web.deps import PagePrincipal
from tests.web.fixtures import csrf_from, login

NAV_RE = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


def _nav(html: str) -> list[str]:
    return re.findall(r">([^<]+)</a></li>", NAV_RE.search(html).group(1))


@pytest.mark.parametrize(
    "user,expected",
    [
        ("admin_a", ["Home", "Directory", "Members", "Accounts"]),
        ("staff_a", ["Home", "Directory", "Members"]),
        ("hub_coord", ["Home", "Directory"]),
        ("cbo_staff", ["Home", "Directory"]),
        ("auditor_a", ["Home", "Directory", "Audit log"]),
    ],
)
def test_navigation_follows_the_role(client_factory, world, user, expected):
    nav = _nav(client_factory(user).get("/").text)
    # other domains add their own items; ours must be there exactly for the roles that hold them
    for label in ("Home", "Directory", "Members", "Audit log", "Accounts"):
        assert (label in nav) == (label in expected), (user, nav)


def _cards(html: str) -> dict[str, str]:
    titles = re.findall(r'<p class="card-title">([^<]+)</p>', html)
    values = re.findall(r'<p class="card-value">(?:<a [^>]+>)?([^<]+)', html)
    return dict(zip(titles, values, strict=True))


def test_home_pages_show_live_counts_per_role(client_factory, db, world):
    staff = _cards(client_factory("staff_a").get("/").text)
    assert staff["Members in the plan"] == "3"
    # the directory is shared by all: count what the database holds (other suites may have
    # committed organizations that cannot be rolled back, e.g. PostgreSQL concurrency tests)
    cbos = db.scalar(sa.select(sa.func.count()).select_from(Organization).where(Organization.kind == "cbo"))
    assert staff["Community organizations"] == f"{cbos:,}"
    hub = _cards(client_factory("hub_coord").get("/").text)
    assert hub["CBOs in your network"] == "1"
    assert "Members in the plan" not in hub
    cbo = _cards(client_factory("cbo_staff").get("/").text)
    assert "Members in the plan" not in cbo and "CBOs in your network" not in cbo
    auditor = client_factory("auditor_a")
    before = int(_cards(auditor.get("/").text)["Audit events today"])
    assert before >= 1  # staff_a's sign-in and roster reads are in plan A's scope
    # live: a new sign-in by a plan A user shows at once
    login(TestClient(auditor.app), "staff_a")
    assert int(_cards(auditor.get("/").text)["Audit events today"]) > before


def test_every_page_has_a_title_and_a_purpose(client_factory, world):
    c = client_factory("admin_a")
    for url in ("/", "/directory", "/members", f"/members/{world.members_a[0].id}", "/users",
                f"/directory/organizations/{world.cbo.id}", f"/directory/services/{world.services['meals'].id}",
                "/exchange", "/exchange/fhir"):
        html = c.get(url).text
        assert re.search(r"<title>[^<]+ · socialcare</title>", html), url
        purpose = re.search(r'<p class="purpose">([^<]+)</p>', html)
        assert purpose and len(purpose.group(1)) > 30, url


def test_unknown_page_gets_a_friendly_404(client_factory, world):
    r = client_factory("staff_a").get("/no/such/page")
    assert r.status_code == 404 and "Page not found" in r.text and "<!doctype html>" in r.text


def test_api_errors_are_json_problems(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "Page not found"


def test_a_crash_shows_a_generic_page_never_a_traceback(app, world, caplog):
    router = APIRouter()

    @router.get("/boom")
    def boom(principal: PagePrincipal):
        raise RuntimeError("secret internals")

    @router.get("/api/v1/boom")
    def boom_api(principal: PagePrincipal):
        raise RuntimeError("secret internals")

    app.include_router(router)
    c = TestClient(app, raise_server_exceptions=False)
    login(c, "staff_a")
    r = c.get("/boom")
    assert r.status_code == 500
    assert "Something went wrong; the error was logged" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text
    assert "secret internals" in caplog.text  # logged server-side
    r = c.get("/api/v1/boom")
    assert r.status_code == 500 and r.json()["error"] == "Server error" and "secret" not in r.text


def test_security_headers(client):
    r = client.get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


def test_static_assets_are_served_locally(client):
    r = client.get("/static/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:2000]
    assert client.get("/static/app.css").status_code == 200
    docs = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_openapi_documents_the_apis_not_the_pages(client):
    """The JSON API and the FHIR API are documented; HTML pages are not."""
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/members" in paths and "/api/v1/directory/services" in paths and "/api/v1/tokens" in paths
    assert "/fhir/Task" in paths and "/fhir/metadata" in paths
    assert not [p for p in paths if not p.startswith(("/api/v1/", "/fhir/"))]


def test_auditor_reads_the_audit_log_of_their_scope_only(client_factory, db, world):
    staff = client_factory("staff_a")
    staff.get(f"/members/{world.members_a[0].id}")
    client_factory("staff_b").get(f"/members/{world.members_a[1].id}")  # refused, about a plan A member
    a = client_factory("auditor_a")
    r = a.get("/audit", params={"action": "member.read"})
    assert r.status_code == 200
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", r.text, re.S)
    users = {re.findall(r"<td>([^<]*)</td>", row)[1] for row in rows}
    assert users == {"staff_a", "staff_b"}  # plan B's refused attempt on plan A's member is in A's scope
    r = a.get("/audit", params={"outcome": "denied", "action": "member.read"}, headers={"HX-Request": "true"})
    assert r.text.lstrip().startswith('<div id="results"') and "staff_b" in r.text and "staff_a" not in r.text
    b = client_factory("auditor_b")
    r = b.get("/audit", params={"action": "member.read"})
    assert "staff_b" in r.text and "staff_a" not in r.text
    assert a.get("/audit", params={"date_from": "yesterday"}).status_code == 422
    assert db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.viewed")).first() is not None


def test_only_auditors_open_the_audit_log(client_factory, world):
    assert client_factory("staff_a").get("/audit").status_code == 403
    assert client_factory("admin_a").get("/audit").status_code == 403


def test_plan_admin_adds_an_account(client_factory, db, world):
    c = client_factory("admin_a")
    token = csrf_from(c.get("/users").text)
    form = {"username": "new.staff", "full_name": "New Staff", "email": "", "role": "plan_staff",
            "password": "long-enough-password", "csrf_token": token}
    r = c.post("/users", data=form)
    assert r.status_code == 200 and "Account new.staff created." in r.text
    user = db.scalar(sa.select(User).where(User.username == "new.staff"))
    assert user.organization_id == world.plan_a.id and user.role == "plan_staff"
    r = c.post("/users", data={**form, "username": "bad name", "role": "cbo_staff", "password": "short"})
    assert r.status_code == 422
    assert "does not fit" in r.text and "at least 12 characters" in r.text and "username" in r.text
    r = c.post("/users", data=form)
    assert r.status_code == 409 and "is taken" in r.text
    staff = client_factory("staff_a")
    r = staff.post("/users", data={**form, "username": "sneaky", "csrf_token": csrf_from(staff.get("/").text)})
    assert r.status_code == 403 and "may not open this page" in r.text
