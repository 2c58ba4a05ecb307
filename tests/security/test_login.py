"""Signing in and out: a wrong password, an expired session or a missing CSRF token each get a clear refusal."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from socialcare.core.clock import utcnow
from socialcare.security.models import AuditEvent, User, WebSession
from socialcare.security.service import hash_token
from socialcare.web.deps import SESSION_COOKIE
from tests.web.fixtures import csrf_from, csrf_token, login


def _events(db, action, username=None):
    stmt = sa.select(AuditEvent).where(AuditEvent.action == action)
    if username:
        stmt = stmt.where(AuditEvent.username == username)
    return list(db.scalars(stmt))


def test_sign_in_starts_a_server_side_session_with_a_safe_cookie(client, db, world):
    r = login(client, "staff_a")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    row = db.scalar(sa.select(WebSession).where(WebSession.token_hash == hash_token(token)))
    assert row is not None and row.user_id == world.users["staff_a"].user_id
    home = client.get("/")
    assert home.status_code == 200 and "Empire Plan A" in home.text
    assert _events(db, "login.succeeded", "staff_a")


def test_wrong_password_is_refused_clearly_and_audited(client, db, world):
    r = login(client, "staff_a", "not-the-password")
    assert r.status_code == 401
    assert "That username and password do not match" in r.text
    assert SESSION_COOKIE not in r.cookies
    (event,) = _events(db, "login.failed", "staff_a")
    assert event.allowed is False and event.reason == "wrong password"
    assert event.organization_id == world.plan_a.id
    # an unknown username gets the same words (no hint which usernames exist)
    r = login(client, "nobody-here", "whatever-password")
    assert r.status_code == 401 and "That username and password do not match" in r.text


def test_repeated_failures_lock_the_username_for_a_while(client, world):
    for _ in range(5):
        assert login(client, "staff_a", "bad-password").status_code == 401
    r = login(client, "staff_a")  # right password, but locked
    assert r.status_code == 401 and "Too many failed sign-ins" in r.text


def test_a_deactivated_account_cannot_sign_in(client, db, world):
    db.execute(sa.update(User).where(User.username == "staff_a").values(is_active=False))
    db.flush()
    assert login(client, "staff_a").status_code == 401


def test_expired_session_sends_the_user_back_to_sign_in_saying_so(client, db, world):
    login(client, "staff_a")
    db.execute(sa.update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.flush()
    r = client.get("/members?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?reason=expired&next=%2Fmembers%3Fq%3Dx"
    page = client.get(r.headers["location"])
    assert "Your session expired, please sign in again" in page.text
    assert db.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0  # the stale row is gone


def test_htmx_requests_are_redirected_with_hx_redirect(client, world):
    r = client.get("/directory", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 200 and r.headers["HX-Redirect"].startswith("/login?reason=signin")


def test_missing_or_wrong_csrf_token_is_refused(client, db, world):
    client.get("/login")
    r = client.post("/login", data={"username": "staff_a", "password": "correct-horse-battery"})
    assert r.status_code == 403
    assert "This form has expired or was not sent from socialcare; reload and try again" in r.text
    r = client.post("/login", data={"username": "staff_a", "password": "correct-horse-battery", "csrf_token": "0" * 64})
    assert r.status_code == 403
    assert not _events(db, "login.succeeded", "staff_a")


def test_a_token_from_another_browser_is_refused(client_factory, world):
    attacker = client_factory()
    victim = client_factory("staff_a")
    stolen = csrf_token(attacker)
    r = victim.post("/logout", data={"csrf_token": stolen})
    assert r.status_code == 403
    assert victim.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_the_csrf_seed_rotates_at_sign_in(client, world):
    before = csrf_token(client)
    login(client, "staff_a")
    after = csrf_from(client.get("/").text)
    assert before != after


def test_sign_out_deletes_the_session(client, db, world):
    login(client, "staff_a")
    token = client.cookies.get(SESSION_COOKIE)
    r = client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?reason=signed_out"
    assert db.scalar(sa.select(WebSession).where(WebSession.token_hash == hash_token(token))) is None
    client.cookies.set(SESSION_COOKIE, token)  # replaying the old cookie does not work
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login?reason=signin")


def test_next_only_redirects_within_the_site(client, world):
    page = client.get("/login?next=https://evil.example/x")
    r = client.post(
        "/login",
        data={"username": "staff_a", "password": "correct-horse-battery", "csrf_token": csrf_from(page.text),
              "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_api_token_exchange(client, db, world):
    r = client.post("/api/v1/tokens", json={"username": "staff_a", "password": "wrong-one"})
    assert r.status_code == 401 and r.json()["detail"].startswith("That username and password do not match")
    assert _events(db, "login.failed", "staff_a")[0].via == "api"
    r = client.post("/api/v1/tokens", json={"username": "staff_a", "password": "correct-horse-battery"})
    assert r.status_code == 201
    token = r.json()["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == "staff_a" and "members:read" in me["permissions"]
    from socialcare.security.models import ApiToken

    db.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.flush()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_htmx_sends_the_token_in_a_header(client, world):
    login(client, "staff_a")
    home = client.get("/").text
    assert 'hx-headers="{&#34;X-CSRF-Token&#34;' in home  # base.html puts it on <body>
    token = csrf_from(home)
    r = client.post("/logout", headers={"X-CSRF-Token": token, "HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 200 and r.headers["HX-Redirect"] == "/login?reason=signed_out"
