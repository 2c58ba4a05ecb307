"""CSRF protection for every state-changing form.

A random per-browser seed lives in the ``sc_csrf`` cookie (HttpOnly, SameSite=Lax); the token a form
carries is HMAC(secret_key, seed), so a page on another site can neither read nor forge it. The seed
is rotated at sign-in and sign-out (no fixation). Forms send it as the hidden field ``csrf_token``;
HTMX sends it as the ``X-CSRF-Token`` header (base.html sets ``hx-headers`` on <body>).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcare.core.settings import get_settings

CSRF_COOKIE = "sc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def new_seed() -> str:
    return secrets.token_urlsafe(32)


SESSION_COOKIE = "sc_session"  # web.deps.SESSION_COOKIE


def token_for(seed: str, session: str | None = None) -> str:
    """HMAC of the browser's seed AND its sign-in session: a token taken from one session (or before
    signing in) is worth nothing in another."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"csrf:{seed}:{session or ''}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token to put in a form rendered for this request."""
    seed = request.scope.get("state", {}).get("csrf_seed")
    if not seed:  # outside the middleware (unit tests of a template)
        seed = new_seed()
        request.scope.setdefault("state", {})["csrf_seed"] = seed
    return token_for(seed, request.cookies.get(SESSION_COOKIE))


def rotate(request: Request) -> None:
    """New seed at sign-in/sign-out; the middleware sends the new cookie with the response."""
    request.scope.setdefault("state", {})["csrf_seed"] = new_seed()


def is_valid(request: Request, token: str | None) -> bool:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not token:
        return False
    return hmac.compare_digest(token_for(seed, request.cookies.get(SESSION_COOKIE)), token)


class CsrfCookieMiddleware:
    """Gives every browser a CSRF seed cookie, and re-sends it when rotated."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _cookie(scope, CSRF_COOKIE)
        state = scope.setdefault("state", {})
        state["csrf_seed"] = incoming or new_seed()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and state.get("csrf_seed") != incoming:
                settings = get_settings()
                parts = [f"{CSRF_COOKIE}={state['csrf_seed']}", "Path=/", "HttpOnly", "SameSite=Lax"]
                if settings.cookie_secure:
                    parts.append("Secure")
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", "; ".join(parts).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as no cookie
                return None
            if name in jar:
                return jar[name].value
    return None
