"""Rendering pages: one shared Jinja2 environment for every domain.

    from socialcare.web.templating import render, redirect

    @router.get("/things")
    def things(request: Request, principal: PagePrincipal, db: DbSession, q: str = ""):
        return render(request, "things/list.html", {"rows": ...}, block="results")

``render`` gives every template ``principal``, ``nav`` (items this role may see), ``csrf_token``,
``flashes`` and the code labels. With ``block="results"`` an HTMX request (``HX-Request`` header,
not a boosted navigation) gets only that ``{% block results %}`` of the template; a normal request
gets the full page, so one template serves both.

``redirect(url, flash="Saved", kind="success")`` answers a form POST (303) and shows the message
on the next page (a signed cookie read once).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from socialcare.core.money import fmt_usd
from socialcare.core.settings import get_settings
from socialcare.kit.codes import NEED_DOMAINS, ORG_KIND_LABELS, PRODUCT_LINE_LABELS
from socialcare.security.rules import ROLE_LABELS
from socialcare.web import localization
from socialcare.web.csrf import CSRF_FIELD, CSRF_HEADER, csrf_token
from socialcare.web.nav import visible_nav

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
FLASH_COOKIE = "sc_flash"

templates = Jinja2Blocks(directory=str(TEMPLATES_DIR))
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True
env.add_extension("jinja2.ext.i18n")
env.install_gettext_callables(  # type: ignore[attr-defined]
    localization.gettext, localization.ngettext, newstyle=True,
    pgettext=localization.pgettext, npgettext=localization.npgettext,
)

NEED_DOMAIN_LABELS = {str(k): v.label for k, v in NEED_DOMAINS.items()}


def _label(mapping: dict, value: Any) -> str:
    if value is None:
        return ""
    for k, v in mapping.items():
        if str(k) == str(value):
            return v
    return str(value).replace("_", " ").capitalize()


env.filters["usd"] = fmt_usd
env.filters["need_label"] = lambda v: _label(NEED_DOMAIN_LABELS, v)
env.filters["org_kind_label"] = lambda v: _label(ORG_KIND_LABELS, v)
env.filters["role_label"] = lambda v: _label(ROLE_LABELS, v)
env.filters["product_line_label"] = lambda v: _label(PRODUCT_LINE_LABELS, v)
env.filters["thousands"] = lambda v: "" if v is None else f"{v:,}"
# every time shown is in the organization's zone, named (web/localization.py)
env.filters["date"] = localization.format_date
env.filters["datetime"] = localization.format_datetime
env.filters["language_name"] = localization.language_name
env.globals["UI_LANGUAGES"] = localization.UI_LANGUAGES
env.globals["NEED_DOMAIN_LABELS"] = NEED_DOMAIN_LABELS
env.globals["ORG_KIND_LABELS"] = {str(k): v for k, v in ORG_KIND_LABELS.items()}
env.globals["PRODUCT_LINE_LABELS"] = {str(k): v for k, v in PRODUCT_LINE_LABELS.items()}
env.globals["ROLE_LABELS"] = {str(k): v for k, v in ROLE_LABELS.items()}


def url_with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one): pagers, sort links."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + ("?" + query if query else "")


env.globals["url_with"] = url_with


def _flash_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt="flash")


def is_htmx(request: Request) -> bool:
    """A partial update by HTMX (a boosted link or form wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def read_flashes(request: Request) -> list[dict]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        data = _flash_serializer().loads(raw)
    except BadSignature:
        return []
    return [f for f in data if isinstance(f, dict) and "message" in f][:5]


def set_flash(response: Response, message: str, kind: str = "info") -> Response:
    """Show ``message`` once on the next rendered page. kind: info, success, warning, error."""
    value = _flash_serializer().dumps([{"message": message, "kind": kind}])
    response.set_cookie(
        FLASH_COOKIE, value, httponly=True, samesite="lax", secure=get_settings().cookie_secure, path="/"
    )
    return response


def redirect(url: str, flash: str | None = None, kind: str = "info", request: Request | None = None) -> Response:
    """303 after a form POST. For an HTMX request, answer with HX-Redirect so the whole page changes."""
    if request is not None and request.headers.get("HX-Request") == "true":
        response: Response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, flash, kind)
    return response


def base_context(request: Request) -> dict[str, Any]:
    principal = getattr(request.state, "principal", None)
    nav_items = getattr(request.app.state, "nav", [])
    token = csrf_token(request)
    localization.set_for_render(getattr(principal, "language", None), getattr(principal, "time_zone", None))
    return {
        "request": request,
        "principal": principal,
        "nav": visible_nav(nav_items, principal),
        "current_path": request.url.path,
        "csrf_token": token,
        "csrf_field": Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'),
        "hx_headers": json.dumps({CSRF_HEADER: token}),
        "flashes": read_flashes(request),
        "is_htmx": is_htmx(request),
        "unread_notifications": lambda: _unread(request, principal),
        "ui_language": localization.current_language(),
    }


def _unread(request: Request, principal: Any) -> int:
    db = getattr(request.state, "db", None)
    if db is None or principal is None or not getattr(principal, "user_id", None):
        return 0
    from socialcare.notifications.service import unread_count

    return unread_count(db, principal.user_id)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    ctx = base_context(request)
    ctx.update(context or {})
    if "language" in ctx or "time_zone" in ctx:  # a member-facing screen in the member's language
        principal = ctx.get("principal")
        localization.set_for_render(ctx.get("language") or getattr(principal, "language", None),
                                    ctx.get("time_zone") or getattr(principal, "time_zone", None))
        ctx["ui_language"] = localization.current_language()
    if block and is_htmx(request):
        response = templates.TemplateResponse(
            request, name, ctx, status_code=status_code, headers=headers, block_name=block
        )
    else:
        response = templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
    if ctx["flashes"] and not (block and is_htmx(request)):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
