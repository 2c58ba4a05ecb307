"""Every route declares who may call it, and refuses everyone else.

The route walk covers every route of every domain as the app serves it, so a route added later by
any domain is checked without editing this file: a route with no authentication dependency fails
here, and so does a route made public without being added to PUBLIC_ROUTES.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from socialcare.web import deps
from socialcare.web.app import create_app, walk_routes
from tests.web.fixtures import api_headers, csrf_token

# The only routes anyone may call without signing in. Adding one is a security decision: review it.
PUBLIC_ROUTES = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),  # load balancers: says only which check failed
    ("GET", "/metrics"),  # Prometheus: SOCIALCARE_METRICS_TOKEN closes it to anyone without the token
    ("GET", "/login/totp"),  # the second step of a sign-in: needs the signed cookie of a right password
    ("POST", "/login/totp"),
    ("POST", "/login/sso"),  # single sign-on: to the organization's provider
    ("GET", "/login/oidc/callback"),  # ... and back, checked against the signed state cookie
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("POST", "/api/v1/tokens"),
}


def _calls(dependant, seen=None):
    """Every dependency callable (with its scope) in a route's dependency tree."""
    out = []
    for sub in dependant.dependencies:
        out.append((sub.call, sub.scope))
        out.extend(_calls(sub))
    return out


def _routes():
    app = create_app()
    rows = []
    for route in walk_routes(app):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        methods = sorted((route.methods or set()) - {"HEAD", "OPTIONS"})
        dependant = getattr(route, "dependant", None)
        for method in methods:
            rows.append((method, route.path, dependant, isinstance(original, APIRoute)))
    return rows


ROUTES = _routes()


def _auth_kind(dependant) -> str | None:
    if dependant is None:
        return None
    calls = {c for c, _ in _calls(dependant)}
    if deps.public in calls:
        return "public"
    if deps.api_principal in calls:
        return "api"
    if deps.page_principal in calls:
        return "page"
    return None


def test_the_walk_sees_every_domain_route():
    paths = {p for _, p, _, _ in ROUTES}
    for expected in ("/", "/directory", "/members", "/members/{member_id}", "/audit", "/api/v1/members",
                     "/api/v1/directory/services", "/api/v1/directory/organizations/{org_id}"):
        assert expected in paths


@pytest.mark.parametrize("method,path,dependant,is_api_route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_declares_its_authentication(method, path, dependant, is_api_route):
    kind = _auth_kind(dependant)
    if (method, path) in PUBLIC_ROUTES:
        assert kind in ("public", None), f"{method} {path} is listed public but requires a sign-in"
        return
    assert kind is not None, (
        f"{method} {path} declares no authentication: depend on PagePrincipal/require_page (pages), "
        "ApiPrincipal/require_api (API), or mark it public (and list it in PUBLIC_ROUTES)"
    )
    assert kind != "public", f"{method} {path} is marked public but not listed in PUBLIC_ROUTES"
    if path.startswith(("/api/", "/fhir/")):  # /fhir: the FHIR API (interop), bearer tokens like /api/v1
        assert kind == "api", f"{method} {path} is an API route but authenticates with the session cookie"
    else:
        assert kind == "page", f"{method} {path} is a page but authenticates with a bearer token"


@pytest.mark.parametrize("method,path,dependant,is_api_route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_shares_the_request_session(method, path, dependant, is_api_route):
    """``Depends(get_db)`` instead of ``DbSession`` would open a second session committed after the response."""
    if dependant is None:
        return
    for call, scope in _calls(dependant):
        if call is deps.get_db:
            assert scope == "function", f"{method} {path} uses Depends(get_db); use socialcare.web.deps.DbSession"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("method,path,dependant,is_api_route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_anonymous_requests_are_refused(client, method, path, dependant, is_api_route):
    if (method, path) in PUBLIC_ROUTES:
        return
    token = csrf_token(client)  # a valid CSRF token, so only authentication is under test
    r = client.request(method, _concrete(path), headers={"X-CSRF-Token": token}, follow_redirects=False)
    if path.startswith("/fhir/"):  # FHIR errors are OperationOutcomes
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} to an anonymous call"
        assert r.json()["resourceType"] == "OperationOutcome"
        assert r.headers.get("www-authenticate") == "Bearer"
    elif path.startswith("/api/"):
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} to an anonymous call"
        assert r.json()["error"] == "Please sign in"
        assert r.headers.get("www-authenticate") == "Bearer"
    else:
        assert r.status_code == 303, f"{method} {path} answered {r.status_code} to an anonymous visitor"
        assert r.headers["location"].startswith("/login?reason=signin")


@pytest.mark.parametrize("method,path,dependant,is_api_route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_a_bad_bearer_token_is_refused(client, method, path, dependant, is_api_route):
    if not path.startswith(("/api/", "/fhir/")) or (method, path) in PUBLIC_ROUTES:
        return
    r = client.request(method, _concrete(path), headers={"Authorization": "Bearer sc_forged"})
    assert r.status_code == 401
    body = r.json()
    assert "unknown, expired or revoked" in (body.get("detail") or body["issue"][0]["diagnostics"])


def test_a_session_cookie_does_not_open_the_api(client_factory, world):
    c = client_factory("staff_a")
    r = c.get("/api/v1/members")
    assert r.status_code == 401


def test_a_bearer_token_does_not_open_pages(client, world):
    headers = api_headers(client, "staff_a")
    r = client.get("/members", headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_check_catches_a_route_without_authentication():
    """The registry check itself can fail: a route with no auth dependency is reported."""
    from fastapi import APIRouter, FastAPI

    router = APIRouter()

    @router.get("/leaky")
    def leaky(db: deps.DbSession):
        return {}

    @router.get("/guarded")
    def guarded(principal: deps.PagePrincipal):
        return {}

    app = FastAPI()
    app.include_router(router)
    kinds = {r.path: _auth_kind(getattr(r, "dependant", None)) for r in walk_routes(app) if r.path in ("/leaky", "/guarded")}
    assert kinds == {"/leaky": None, "/guarded": "page"}
