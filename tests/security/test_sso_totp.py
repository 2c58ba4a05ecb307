"""Single sign-on against a real OpenID provider (oidc-provider on Node, started here), the TOTP second
factor for password users when the organization requires it, and the organization's session limits."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from socialcare.core import clock
from socialcare.security import sso
from socialcare.security.models import AuditEvent, OrgSignIn, User, UserIdentity
from tests.factories import PASSWORD
from tests.oidc.provider import OpenIdProvider
from tests.web.fixtures import csrf_from, login

CALLBACK = "http://127.0.0.1:8000/login/oidc/callback"  # the default public_url
CLIENT = {"client_id": "socialcare", "client_secret": "a-long-client-secret-for-the-tests-0123456789",
          "redirect_uris": [CALLBACK], "grant_types": ["authorization_code"], "response_types": ["code"]}
ACCOUNTS = {
    "ana": {"password": "ana-pw", "claims": {"email": "ana@plan-a.example.org", "email_verified": True,
                                            "name": "Ana Admin", "groups": ["everyone", "sc-admins"]}},
    "sam": {"password": "sam-pw", "claims": {"email": "Sam@plan-a.example.org", "email_verified": True,
                                            "name": "Sam Staff", "groups": ["everyone", "sc-staff"]}},
    "eve": {"password": "eve-pw", "claims": {"email": "eve@elsewhere.example.com", "email_verified": True,
                                            "groups": ["sc-admins"]}},
    "nog": {"password": "nog-pw", "claims": {"email": "nog@plan-a.example.org", "email_verified": True,
                                            "groups": ["everyone"]}},
}


@pytest.fixture(scope="module")
def provider():
    p = OpenIdProvider([CLIENT], ACCOUNTS)
    yield p
    p.stop()


@pytest.fixture
def sso_org(db, world, provider):
    db.add(OrgSignIn(organization_id=world.plan_a.id, oidc_discovery_url=provider.discovery_url,
                     oidc_client_id=CLIENT["client_id"], oidc_client_secret=CLIENT["client_secret"],
                     allowed_email_domains=["plan-a.example.org"], role_claim="groups",
                     role_map={"sc-admins": "plan_admin", "sc-staff": "plan_staff"},
                     passwords_allowed=True, require_totp=False))
    db.flush()
    return world.plan_a


def _sso(client, provider, email, login_as, password):
    page = client.get("/login")
    r = client.post("/login/sso", data={"email": email, "next": "/members", "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(provider.issuer)
    back = provider.sign_in(r.headers["location"], login_as, password, stop_at=CALLBACK)
    return client.get(back.removeprefix("http://127.0.0.1:8000"), follow_redirects=False)


def test_openid_sign_in_creates_the_account_with_the_mapped_role(db, client_factory, provider, sso_org):
    c = client_factory()
    r = _sso(c, provider, "sam@plan-a.example.org", "sam", "sam-pw")
    assert r.status_code == 303 and r.headers["location"] == "/members", r.text
    user = db.scalar(select(User).where(User.email == "sam@plan-a.example.org"))
    assert (user.role, user.organization_id, user.username, user.full_name) == (
        "plan_staff", sso_org.id, "sam@plan-a.example.org", "Sam Staff")
    ident = db.scalar(select(UserIdentity).where(UserIdentity.user_id == user.id))
    assert (ident.issuer, ident.subject) == (provider.issuer, "sam")
    assert c.get("/members").status_code == 200  # signed in, as plan staff
    assert c.get("/users").status_code == 403  # ...who does not manage accounts
    # no password works for an account made by single sign-on
    assert login(client_factory(), "sam@plan-a.example.org", sso.UNUSABLE_PASSWORD).status_code == 401

    # the claims decide the role at every sign-in: an administrator lands as one
    c2 = client_factory()
    assert _sso(c2, provider, "ana@plan-a.example.org", "ana", "ana-pw").status_code == 303
    ana = db.scalar(select(User).where(User.email == "ana@plan-a.example.org"))
    assert ana.role == "plan_admin" and c2.get("/users").status_code == 200


def test_openid_sign_in_refuses_other_domains_and_unmapped_roles(db, client_factory, provider, sso_org):
    # an email domain the organization does not sign in with finds no provider at all
    c = client_factory()
    page = c.get("/login")
    r = c.post("/login/sso", data={"email": "eve@elsewhere.example.com", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 404 and "single sign-on" in r.text
    # a person of the right domain whose groups map to no role is refused, and the refusal audited
    r = _sso(c, provider, "nog@plan-a.example.org", "nog", "nog-pw")
    assert r.status_code == 401 and "no socialcare role" in r.text
    assert db.scalar(select(User).where(User.email == "nog@plan-a.example.org")) is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "login.failed", AuditEvent.via == "sso"))
    # the provider vouching for another domain through this organization's client is refused too
    r = _sso(c, provider, "ana@plan-a.example.org", "eve", "eve-pw")
    assert r.status_code == 401 and "elsewhere.example.com" in r.text


def test_a_forged_callback_is_refused(client_factory, provider, sso_org):
    c = client_factory()
    page = c.get("/login")
    r = c.post("/login/sso", data={"email": "sam@plan-a.example.org", "csrf_token": csrf_from(page.text)},
               follow_redirects=False)
    back = provider.sign_in(r.headers["location"], "sam", "sam-pw", stop_at=CALLBACK)
    forged = back.replace("state=", "state=x")
    assert c.get(forged.removeprefix("http://127.0.0.1:8000"), follow_redirects=False).status_code == 401
    assert client_factory().get(back.removeprefix("http://127.0.0.1:8000")).status_code == 401  # another browser


def _require_totp(db, org):
    db.add(OrgSignIn(organization_id=org.id, allowed_email_domains=[], role_claim="groups", role_map={},
                     passwords_allowed=True, require_totp=True))
    db.flush()


def test_password_user_cannot_sign_in_without_the_authenticator_code(db, world, client_factory):
    _require_totp(db, world.plan_a)
    c = client_factory()
    r = login(c, "staff_a")
    assert r.status_code == 303 and r.headers["location"] == "/login/totp"
    assert c.get("/members", follow_redirects=False).status_code == 303  # not signed in yet
    # enrolment: the QR code and the key of an otpauth:// URI
    page = c.get("/login/totp")
    assert 'src="data:image/svg+xml' in page.text and "otpauth://totp/socialcare:staff_a" in page.text
    secret = page.text.split('id="totp-secret">', 1)[1].split("<", 1)[0]
    r = c.post("/login/totp", data={"code": "000000", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 401 and "not right" in r.text
    code = pyotp.TOTP(secret).now()
    r = c.post("/login/totp", data={"code": code, "csrf_token": csrf_from(r.text)}, follow_redirects=False)
    assert r.status_code == 303 and c.get("/members").status_code == 200

    # next time: the code is asked (no new QR code), and a code is good once
    c2 = client_factory()
    assert login(c2, "staff_a").headers["location"] == "/login/totp"
    page = c2.get("/login/totp")
    assert "otpauth://" not in page.text
    assert c2.post("/login/totp", data={"code": code, "csrf_token": csrf_from(page.text)}).status_code == 401
    # without the password step first, the code page sends back to the sign-in page
    assert client_factory().get("/login/totp", follow_redirects=False).headers["location"].startswith("/login")
    # nor does the API hand out a token for the password alone
    api = client_factory()
    r = api.post("/api/v1/tokens", json={"username": "staff_a", "password": PASSWORD})
    assert r.status_code == 401 and "totp_code" in r.text
    later = clock.utcnow() + timedelta(seconds=60)  # the next code: each is good once
    clock.set_clock(lambda: later)
    try:
        r = api.post("/api/v1/tokens", json={"username": "staff_a", "password": PASSWORD,
                                             "totp_code": pyotp.TOTP(secret).at(later)})
        assert r.status_code == 201, r.text
    finally:
        clock.set_clock(None)

    # a lost phone: the operator resets it, and the next sign-in enrols a new authenticator
    from typer.testing import CliRunner

    from socialcare.cli.main import app as cli

    assert CliRunner().invoke(cli, ["users", "reset-totp", "staff_a"]).exit_code == 0
    c3 = client_factory()
    assert login(c3, "staff_a").headers["location"] == "/login/totp"
    assert "otpauth://totp/socialcare:staff_a" in c3.get("/login/totp").text


def test_organization_idle_timeout_and_absolute_lifetime(db, world, client_factory):
    db.add(OrgSignIn(organization_id=world.plan_a.id, allowed_email_domains=[], role_claim="groups", role_map={},
                     passwords_allowed=True, require_totp=False, idle_timeout_minutes=15,
                     absolute_lifetime_hours=2))
    db.flush()
    start = clock.utcnow()
    now = {"t": start}
    clock.set_clock(lambda: now["t"])
    try:
        c = client_factory("staff_a")
        for minutes in (10, 20, 30):  # active every 10 minutes: stays signed in
            now["t"] = start + timedelta(minutes=minutes)
            assert c.get("/members", follow_redirects=False).status_code == 200
        now["t"] = start + timedelta(minutes=46)  # 16 minutes idle
        r = c.get("/members", follow_redirects=False)
        assert r.status_code == 303 and "expired" in r.headers["location"]

        c = client_factory("staff_a")
        for minutes in range(10, 121, 10):
            now["t"] = start + timedelta(minutes=46 + minutes)
            r = c.get("/members", follow_redirects=False)
        assert r.status_code == 303 and "expired" in r.headers["location"]  # two hours at most
    finally:
        clock.set_clock(None)


def test_administrator_sets_sign_in_on_the_page(db, world, client_factory, provider):
    admin = client_factory("admin_a")
    page = admin.get("/users/sign-in")
    assert page.status_code == 200 and sso.CALLBACK_PATH in page.text
    r = admin.post("/users/sign-in", data={
        "csrf_token": csrf_from(page.text), "oidc_discovery_url": provider.discovery_url,
        "oidc_client_id": "socialcare", "oidc_client_secret": "s3cret", "allowed_email_domains": "Plan-A.example.org",
        "role_claim": "groups", "role_map": "sc-admins=plan_admin\nsc-staff=plan_staff", "passwords_allowed": "true",
        "require_totp": "true", "idle_timeout_minutes": "20", "absolute_lifetime_hours": ""}, follow_redirects=False)
    assert r.status_code == 303, r.text
    cfg = db.scalar(select(OrgSignIn).where(OrgSignIn.organization_id == world.plan_a.id))
    assert (cfg.allowed_email_domains, cfg.role_map, cfg.require_totp, cfg.idle_timeout_minutes,
            cfg.absolute_lifetime_hours, cfg.oidc_client_secret) == (
        ["plan-a.example.org"], {"sc-admins": "plan_admin", "sc-staff": "plan_staff"}, True, 20, None, "s3cret")
    page = admin.get("/users/sign-in")
    assert "s3cret" not in page.text  # the secret is never shown back
    r = admin.post("/users/sign-in", data={"csrf_token": csrf_from(page.text), "role_map": "x=superuser"})
    assert r.status_code == 422 and "superuser" in r.text
    assert client_factory("staff_b").get("/users/sign-in").status_code == 403
