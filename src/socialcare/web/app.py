"""The web application: pages (HTMX + Jinja2) and the JSON API under /api/v1, in one FastAPI app.

Every domain plugs itself in (kit.discovery): ``<domain>/api.py`` ``router`` is mounted under
/api/v1, ``<domain>/pages.py`` ``router`` at the root, with its optional ``NAV`` (layout links),
``home_cards(session, principal)`` (home page counts) and ``member_sections(session, principal,
member)`` (panels on the member profile).

Run it: ``uvicorn --factory socialcare.web.app:create_app``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcare import __version__ as _version
from socialcare.core.db import make_engine
from socialcare.core.settings import get_settings
from socialcare.kit.discovery import domain_modules
from socialcare.web import errors, logs, metrics
from socialcare.web.csrf import CsrfCookieMiddleware
from socialcare.web.deps import public
from socialcare.web.limits import body_limit
from socialcare.web.logs import RequestContextMiddleware
from socialcare.web.nav import collect_nav

STATIC_DIR = Path(__file__).resolve().parent / "static"

API_DESCRIPTION = """
The socialcare JSON API: the community resource directory and, for health plan staff, the member
roster. Every call needs a bearer token: `POST /api/v1/tokens` with your username and password
returns one (valid 30 days); send it as `Authorization: Bearer <token>`.

What you see is what your organization and role allow: hubs and CBOs see no member unless the
member was shared with them through a referral with consent. Every member read is audited.
Errors are `{"error": title, "detail": message, "problems": [{"file", "row", "field", "message"}]}`.
"""

# Pages may carry server-rendered SVG charts with inline style attributes, hence 'unsafe-inline'
# for styles only; scripts come from /static alone.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'"
)
# Swagger UI starts itself with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope.get("path") == "/docs" else PAGE_CSP
        settings = get_settings()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", csp.encode()),
                ):
                    if key not in present:
                        headers.append((key, value))
                if settings.cookie_secure and b"strict-transport-security" not in present:
                    headers.append((b"strict-transport-security",
                                    f"max-age={settings.hsts_max_age_seconds}; includeSubDomains".encode()))
                if not scope.get("path", "").startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))  # member data must not sit in caches
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(database_url: str | None = None) -> FastAPI:
    """``database_url`` binds this app to one database (a second server in the same process, e.g. the
    browser tests); by default the app uses the settings' database."""
    settings = get_settings()
    settings.check_production()
    if os.environ.get(logs.LOGGING_ENV) and not logs.is_configured():
        logs.configure_logging(settings)  # a web worker process of `socialcare serve --workers N`
    app = FastAPI(
        title="socialcare",
        version=_version,
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        debug=False,
        max_body_size=body_limit(),  # upload routes say more (web.limits)
    )

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public)])
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="socialcare API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    for module in domain_modules("api"):
        app.include_router(module.router, prefix="/api/v1")
    page_modules = domain_modules("pages")
    for module in page_modules:
        app.include_router(module.router, include_in_schema=False)
        for extra in getattr(module, "SCHEMA_ROUTERS", ()):  # root-mounted APIs (/fhir), documented
            app.include_router(extra)

    app.state.nav = collect_nav(page_modules)
    app.state.home_card_providers = [m.home_cards for m in page_modules if hasattr(m, "home_cards")]
    app.state.member_section_providers = [
        m.member_sections for m in page_modules if hasattr(m, "member_sections")
    ]

    if database_url:
        app.state.session_factory = sessionmaker(bind=make_engine(database_url), expire_on_commit=False)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)
    app.add_middleware(CsrfCookieMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware)
    metrics.install()
    return app


def walk_routes(app: FastAPI):
    """Every route as the app serves it (path with router prefixes, methods, dependant), including
    routes of included routers. Used by the scoping tests that check every route's authentication."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazy router inclusion: app.routes is already flat
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)
