"""FastAPI dependencies every route uses. Routes and dependencies are plain ``def`` (sync).

The request owns the unit of work: ``DbSession`` opens a Session, commits when the route returns
(before the response is sent, so a failed commit is an error page, never a false "saved"), and
rolls back on any error. Services only flush.

Every route declares who may call it (tests/web/test_scoping.py fails for a route that does not):

Pages (pages.py, HTML; anonymous -> 303 to /login, expired session -> /login saying so)::

    from socialcare.web.deps import DbSession, PagePrincipal, csrf_protect, require_page

    @router.get("/referrals")
    def referrals(request: Request, db: DbSession, principal: PagePrincipal): ...

    @router.get("/referrals/new")
    def new(request: Request, db: DbSession,
            principal: Principal = Depends(require_page("referrals:create"))): ...

    @router.post("/referrals", dependencies=[Depends(csrf_protect)])   # EVERY state-changing form
    def create(request: Request, db: DbSession,
               principal: Principal = Depends(require_page("referrals:create")),
               need_domain: str = Form(...)): ...

API (api.py, JSON under /api/v1; no/bad bearer token -> 401 JSON)::

    from socialcare.web.deps import ApiPrincipal, DbSession, require_api

    @router.get("/referrals")
    def list_(db: DbSession, principal: Principal = Depends(require_api("referrals:read"))): ...

Public routes (no sign-in) must say so: ``dependencies=[Depends(public)]``.

A ``require_*`` refusal is audited (allowed=False) and answered 403. To audit a denial yourself
(e.g. a member outside the caller's scope), call ``audit_denied(db, principal, ...)``: the row
survives the rollback the error causes.

Always take the session through ``DbSession`` (never ``Depends(get_db)``): the alias fixes the
dependency scope so the whole request shares one Session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Form, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from socialcare.core import db as core_db
from socialcare.core.errors import Forbidden, Unauthorized, from_database_error
from socialcare.security import audit
from socialcare.security import service as security_service
from socialcare.security.principal import Principal
from socialcare.web import csrf

SESSION_COOKIE = "sc_session"


# ---- database --------------------------------------------------------------------------------


def get_db(request: Request) -> Iterator[Session]:
    # An app built for one database (create_app(database_url=...)) uses its own factory; otherwise
    # session_factory() is looked up per request: tests swap it for one bound to their connection.
    factory = getattr(request.app.state, "session_factory", None) or core_db.session_factory()
    session = factory()
    request.state.db = session  # the layout reads the unread-notification count through it
    try:
        core_db.limit_waits(session)
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        if session.info.get(audit.DENIALS_KEY):  # the refusal itself must stay on record
            audit.replay_denials(session)
            session.commit()
        if isinstance(exc, DBAPIError) or type(exc).__module__.startswith(("psycopg", "sqlite3")):
            translated = from_database_error(exc)
            if translated is not None:
                raise translated from exc
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]


async def form_body(request: Request) -> FormData:
    """The parsed form (the one await a page needs), so the route itself stays a plain ``def``: its
    database work runs in the thread pool, never on the event loop."""
    return await request.form()


FormBody = Annotated[FormData, Depends(form_body)]


# A refusal recorded with audit_denied survives the rollback of the failed request (see get_db).
audit_denied = audit.record_denied


# ---- who is calling --------------------------------------------------------------------------


def public() -> None:
    """Marker for routes anyone may call (sign-in page, health check, docs)."""


class LoginRequired(Exception):
    """A page needs a signed-in user; the app answers with a redirect to /login."""

    def __init__(self, reason: str = "signin"):
        super().__init__(reason)
        self.reason = reason  # "signin" or "expired"


def page_principal(request: Request, db: DbSession) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("signin")
    try:
        principal = security_service.principal_for_session(db, token)
    except security_service.SessionExpired:
        db.commit()  # keep the deletion of the expired row
        raise LoginRequired("expired") from None
    if principal is None:
        raise LoginRequired("signin")
    request.state.principal = principal
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from POST /api/v1/tokens (username and password), sent as `Authorization: Bearer <token>`.",
)

API_TOKEN_MISSING = "Send an API token: 'Authorization: Bearer <token>'. Get one from POST /api/v1/tokens."
API_TOKEN_BAD = "This API token is unknown, expired or revoked. Get a new one from POST /api/v1/tokens."


def api_principal(
    request: Request,
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized(API_TOKEN_MISSING)
    principal = security_service.principal_for_api_token(db, credentials.credentials)
    if principal is None:
        raise Unauthorized(API_TOKEN_BAD)
    request.state.principal = principal
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def _member_id_of(request: Request) -> int | None:
    raw = request.path_params.get("member_id")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _refuse(request: Request, db: Session, principal: Principal, permission: str) -> None:
    audit_denied(
        db,
        principal,
        "access.denied",
        object_type="route",
        object_id=request.url.path[:80],
        member_id=_member_id_of(request),
        reason=f"role {principal.role} lacks {permission}",
        detail={"method": request.method, "path": request.url.path, "permission": permission},
    )
    raise Forbidden(f"Your role ({principal.role.replace('_', ' ')}) may not open this page ({permission}).")


def require_page(permission: str) -> Callable[..., Principal]:
    """Dependency: a signed-in user whose role holds ``permission``; 403 page (audited) otherwise."""

    def dependency(request: Request, db: DbSession, principal: PagePrincipal) -> Principal:
        if not principal.can(permission):
            _refuse(request, db, principal, permission)
        return principal

    dependency.__name__ = f"require_page_{permission.replace(':', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def require_api(permission: str) -> Callable[..., Principal]:
    """Dependency: a bearer token whose user's role holds ``permission``; 403 JSON (audited) otherwise."""

    def dependency(request: Request, db: DbSession, principal: ApiPrincipal) -> Principal:
        if not principal.can(permission):
            _refuse(request, db, principal, permission)
        return principal

    dependency.__name__ = f"require_api_{permission.replace(':', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


# ---- CSRF ------------------------------------------------------------------------------------


class CsrfFailed(Forbidden):
    title = "This form has expired"


CSRF_MESSAGE = "This form has expired or was not sent from socialcare; reload and try again."


def csrf_protect(
    request: Request,
    csrf_token: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> None:
    """Refuse a state-changing request without the CSRF token of this browser (403)."""
    if not (csrf.is_valid(request, csrf_token) or csrf.is_valid(request, x_csrf_token)):
        raise CsrfFailed(CSRF_MESSAGE)
