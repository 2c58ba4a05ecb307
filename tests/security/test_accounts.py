"""Accounts and sessions: lockout that cannot be kept up by an attacker, a per-address throttle,
token list and revocation, password change with a rule against guessable passwords, idle timeout,
sign out everywhere, HSTS behind HTTPS, CSRF tokens bound to the sign-in session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from socialcare.core.clock import utcnow
from socialcare.core.errors import InvalidInput
from socialcare.core.settings import get_settings
from socialcare.security import service
from socialcare.security.models import AuditEvent, WebSession
from socialcare.security.passwords import password_problems
from tests.factories import PASSWORD
from tests.web.fixtures import api_headers, csrf_from, login


def _count(db, action: str, username: str) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.username == username)) or 0


def test_attempts_during_a_lockout_do_not_extend_it(db, world):
    for _ in range(5):
        assert not service.authenticate(db, "staff_a", "wrong-wrong-wrong").ok
    for _ in range(10):  # an attacker keeps trying: refused unchecked, and not counted as failures
        r = service.authenticate(db, "staff_a", PASSWORD)
        assert not r.ok and r.message == service.TOO_MANY_ATTEMPTS
    assert _count(db, "login.failed", "staff_a") == 5
    assert _count(db, "login.locked", "staff_a") == 10


def test_one_address_guessing_many_usernames_is_throttled():
    throttle = service.SourceThrottle(limit=3)
    now = utcnow()
    for _ in range(3):
        assert not throttle.blocked("10.0.0.9", now)
        throttle.failed("10.0.0.9", now)
    assert throttle.blocked("10.0.0.9", now) and not throttle.blocked("10.0.0.10", now)
    assert not throttle.blocked("10.0.0.9", now + timedelta(minutes=16))


def test_api_tokens_are_listed_and_revoked(client, world):
    h1 = api_headers(client, "staff_a")
    h2 = api_headers(client, "staff_a")
    tokens = client.get("/api/v1/tokens", headers=h1).json()
    assert len(tokens) == 2 and not any(t["revoked"] for t in tokens) and "token_hash" not in tokens[0]
    other = client.get("/api/v1/tokens", headers=api_headers(client, "staff_b")).json()
    assert client.delete(f"/api/v1/tokens/{other[0]['id']}", headers=h1).status_code == 404  # not yours
    newest = max(t["id"] for t in tokens)
    assert client.delete(f"/api/v1/tokens/{newest}", headers=h1).status_code == 204
    assert client.get("/api/v1/me", headers=h2).status_code == 401  # h2 was the newest
    assert client.get("/api/v1/me", headers=h1).status_code == 200


def test_password_rule_refuses_short_common_and_personal_passwords():
    assert password_problems("short")
    assert password_problems("password1234")
    assert password_problems("aaaaaaaaaaaaaaaa")
    assert password_problems("maria.gonzalez1", "maria.gonzalez")
    assert password_problems("plum tractor velvet ocean") == []


def test_creating_an_account_with_a_guessable_password_is_refused(db, world):
    with pytest.raises(InvalidInput) as err:
        service.create_user(db, world.users["admin_a"], username="newbie", full_name="New Bie",
                            password="password1234", role="plan_staff")
    assert err.value.problems[0].field == "password"


def test_password_change_revokes_tokens_and_other_sessions(client, client_factory, db, world):
    h = api_headers(client, "staff_a")
    other_browser = client_factory("staff_a")
    r = client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "password1234"},
                    headers=h)
    assert r.status_code == 422
    r = client.post("/api/v1/me/password", json={"current_password": "nope", "new_password": "plum tractor velvet"},
                    headers=h)
    assert r.status_code == 422
    r = client.post("/api/v1/me/password", json={"current_password": PASSWORD,
                                                 "new_password": "plum tractor velvet ocean"}, headers=h)
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=h).status_code == 401
    assert other_browser.get("/referrals", follow_redirects=False).status_code == 303
    assert service.authenticate(db, "staff_a", "plum tractor velvet ocean").ok


def test_an_idle_session_ends(client_factory, db, world):
    c = client_factory("staff_a")
    assert c.get("/referrals", follow_redirects=False).status_code == 200
    row = db.scalar(select(WebSession).order_by(WebSession.id.desc()))
    row.last_seen_at = utcnow() - timedelta(seconds=get_settings().session_idle_seconds + 60)
    db.flush()
    r = c.get("/referrals", follow_redirects=False)
    assert r.status_code == 303 and "expired" in r.headers["location"]


def test_sign_out_everywhere_ends_every_browser(client_factory, world):
    a = client_factory("staff_a")
    b = client_factory("staff_a")
    page = a.get("/account/password")
    assert page.status_code == 200
    r = a.post("/logout/everywhere", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert b.get("/referrals", follow_redirects=False).status_code == 303
    assert a.get("/referrals", follow_redirects=False).status_code == 303


def test_hsts_and_secure_cookies_when_served_over_https(client, world, monkeypatch):
    assert "strict-transport-security" not in client.get("/login").headers
    monkeypatch.setattr(get_settings(), "cookie_secure", True)
    r = client.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    r = login(client, "staff_a")
    assert "secure" in r.headers["set-cookie"].lower()


def test_a_csrf_token_is_bound_to_the_sign_in_session(client_factory, world):
    c = client_factory()
    before = csrf_from(c.get("/login").text)  # taken while signed out
    assert login(c, "staff_a").status_code == 303
    r = c.post("/logout/everywhere", data={"csrf_token": before}, follow_redirects=False)
    assert r.status_code == 403
