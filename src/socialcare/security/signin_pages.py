"""The steps of signing in after the password, and single sign-on: the TOTP step (and enrolment),
"Sign in with your organization" (OpenID Connect), and the organization's sign-in settings page.
Mounted by security/pages.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from socialcare.core.errors import InvalidInput, Unauthorized
from socialcare.core.settings import get_settings
from socialcare.security import repository as repo
from socialcare.security import service, sso, totp
from socialcare.security.models import User
from socialcare.security.principal import Principal
from socialcare.security.rules import ROLE_LABELS, Role
from socialcare.web import csrf
from socialcare.web.deps import SESSION_COOKIE, DbSession, csrf_protect, public, require_page
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["security"])

PENDING_COOKIE = "sc_signin"  # a password checked, the second factor not yet (5 minutes)
OIDC_COOKIE = "sc_oidc"  # state, nonce and PKCE verifier while the browser is at the provider (10 minutes)
PENDING_MAX_AGE = 300
OIDC_MAX_AGE = 600
WRONG_CODE = "That code is not right (or was used already). Enter the 6 digits your authenticator app shows now."


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=f"socialcare.{salt}")


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _cookie(response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=get_settings().cookie_secure, path="/")


def signed_in(request: Request, db, user: User, next_url: str):
    """Start the browser session and go where the person was headed."""
    token = service.start_web_session(db, user, request.headers.get("user-agent"))
    csrf.rotate(request)
    response = redirect(_safe_next(next_url), request=request)
    settings = get_settings()
    _cookie(response, SESSION_COOKIE, token, settings.session_max_age_seconds)
    response.delete_cookie(PENDING_COOKIE, path="/")
    response.delete_cookie(OIDC_COOKIE, path="/")
    return response


def after_password(request: Request, db, user: User, next_url: str):
    """The password was right: the second factor if one is needed, else signed in."""
    if not totp.required(db, user):
        return signed_in(request, db, user, next_url)
    response = redirect("/login/totp", request=request)
    _cookie(response, PENDING_COOKIE, _serializer("totp").dumps({"u": user.id, "next": _safe_next(next_url)}),
            PENDING_MAX_AGE)
    return response


def _pending_user(request: Request, db) -> tuple[User | None, str]:
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return None, "/"
    try:
        data = _serializer("totp").loads(raw, max_age=PENDING_MAX_AGE)
    except BadSignature:
        return None, "/"
    user = repo.user_by_id(db, int(data.get("u", 0)))
    if user is None or not user.is_active:
        return None, "/"
    return user, _safe_next(data.get("next"))


def _totp_page(request: Request, db, user: User, error: str | None = None, status_code: int = 200):
    context: dict = {"error": error, "enrol": not totp.enrolled(db, user)}
    if context["enrol"]:
        secret, uri = totp.enrolment(db, user)
        context.update(secret=secret, otpauth_uri=uri, qr=totp.qr_data_uri(uri))
    return render(request, "security/totp.html", context, status_code=status_code)


@router.get("/login/totp", dependencies=[Depends(public)])
def totp_page(request: Request, db: DbSession):
    user, _ = _pending_user(request, db)
    if user is None:
        return RedirectResponse("/login?reason=signin", status_code=303)
    return _totp_page(request, db, user)


@router.post("/login/totp", dependencies=[Depends(public), Depends(csrf_protect)])
def totp_submit(request: Request, db: DbSession, code: str = Form("")):
    user, next_url = _pending_user(request, db)
    if user is None:
        return RedirectResponse("/login?reason=signin", status_code=303)
    if repo.recent_failed_logins(db, user.username, service.utcnow() - service.LOCKOUT_WINDOW) \
            >= service.MAX_FAILED_LOGINS:
        return _totp_page(request, db, user, service.TOO_MANY_ATTEMPTS, 401)
    if not totp.verify(db, user, code):
        service._audit_failure(db, user.username, "web", "wrong second factor (TOTP) code", user=user)
        db.commit()  # the failure counts towards the lockout whatever happens next
        return _totp_page(request, db, user, WRONG_CODE, 401)
    return signed_in(request, db, user, next_url)


# ---- single sign-on -------------------------------------------------------------------------------


@router.post("/login/sso", dependencies=[Depends(public), Depends(csrf_protect)])
def sso_start(request: Request, db: DbSession, email: str = Form(""), next: str = Form("/")):
    cfg = sso.config_for_email(db, email)
    if not sso.is_configured(cfg):
        return render(request, "login.html", {"sso_error": "No organization signs in with that email's domain "
                                              "through single sign-on. Use your username and password.",
                                              "email": email, "next_url": _safe_next(next)}, status_code=404)
    url, pending = sso.start(cfg, login_hint=email.strip() or None)
    response = RedirectResponse(url, status_code=303)
    _cookie(response, OIDC_COOKIE, _serializer("oidc").dumps({**pending, "next": _safe_next(next)}), OIDC_MAX_AGE)
    return response


@router.get(sso.CALLBACK_PATH, dependencies=[Depends(public)])
def sso_callback(request: Request, db: DbSession):
    try:
        pending = _serializer("oidc").loads(request.cookies.get(OIDC_COOKIE, ""), max_age=OIDC_MAX_AGE)
    except BadSignature:
        pending = None
    cfg = sso.sign_in_settings(db, int(pending["org"])) if pending else None
    if pending is None or not sso.is_configured(cfg):
        return render(request, "login.html", {"sso_error": "This sign-in took too long or was not started here; "
                                              "start again.", "next_url": "/"}, status_code=401)
    try:
        login = sso.finish(db, cfg, pending, dict(request.query_params))
    except Unauthorized as exc:
        db.commit()  # keep the audit row of the refusal
        return render(request, "login.html", {"sso_error": str(exc), "next_url": "/"}, status_code=401)
    return signed_in(request, db, login.user, pending.get("next", "/"))


# ---- the organization's sign-in settings ------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [p.strip() for chunk in (text or "").splitlines() for p in chunk.split(",") if p.strip()]


def _role_map(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in _lines(text):
        value, _, role = item.partition("=")
        if value.strip() and role.strip():
            out[value.strip()] = role.strip()
    return out


@router.get("/users/sign-in")
def sign_in_settings_page(request: Request, db: DbSession, principal: Principal = Depends(require_page("users:manage"))):
    cfg = sso.sign_in_settings(db, principal.org_id)
    return render(request, "security/sign_in.html", {"cfg": cfg, "roles": ROLE_LABELS, "problems": None,
                                                      "callback": sso.redirect_uri()})


@router.post("/users/sign-in", dependencies=[Depends(csrf_protect)])
def sign_in_settings_save(
    request: Request, db: DbSession, principal: Principal = Depends(require_page("users:manage")),
    oidc_discovery_url: str = Form(""), oidc_client_id: str = Form(""), oidc_client_secret: str = Form(""),
    allowed_email_domains: str = Form(""), role_claim: str = Form("groups"), role_map: str = Form(""),
    passwords_allowed: bool = Form(False), require_totp: bool = Form(False),
    idle_timeout_minutes: str = Form(""), absolute_lifetime_hours: str = Form(""),
):
    def number(v: str) -> int | None:
        return int(v) if v.strip().isdigit() else None

    try:
        sso.set_sign_in(
            db, principal,
            oidc_discovery_url=oidc_discovery_url.strip() or None, oidc_client_id=oidc_client_id.strip() or None,
            oidc_client_secret=oidc_client_secret or None,
            allowed_email_domains=_lines(allowed_email_domains), role_claim=role_claim.strip() or "groups",
            role_map=_role_map(role_map), passwords_allowed=passwords_allowed, require_totp=require_totp,
            idle_timeout_minutes=number(idle_timeout_minutes), absolute_lifetime_hours=number(absolute_lifetime_hours),
        )
    except InvalidInput as exc:
        return render(request, "security/sign_in.html", {"cfg": sso.sign_in_settings(db, principal.org_id),
                      "roles": ROLE_LABELS, "problems": exc.problems, "callback": sso.redirect_uri()},
                      status_code=422)
    return redirect("/users/sign-in", flash="Sign-in settings saved.", request=request)


__all__ = ["router", "after_password", "signed_in", "Role"]
