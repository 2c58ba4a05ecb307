"""Sign in and out, the audit log (auditors) and the organization's accounts (plan administrators)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.orm import Session

from socialcare.core.clock import today
from socialcare.core.db import savepoint
from socialcare.core.errors import Conflict, InvalidInput, Problem
from socialcare.kit.pagination import paginate
from socialcare.security import audit, service, signin_pages
from socialcare.security import repository as repo
from socialcare.security.principal import Principal
from socialcare.security.rules import ROLE_ORG_KINDS, Role
from socialcare.web import csrf
from socialcare.web.deps import SESSION_COOKIE, DbSession, PagePrincipal, csrf_protect, public, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["security"])
router.include_router(signin_pages.router)

NAV = [
    NavItem(label="Audit log", href="/audit", permission="audit:read", order=90),
    NavItem(label="Accounts", href="/users", permission="users:manage", order=95),
    NavItem(label="Sign-in", href="/users/sign-in", permission="users:manage", order=96),
]

LOGIN_NOTICES = {
    "expired": "Your session expired, please sign in again.",
    "signin": "Please sign in to continue.",
    "signed_out": "You are signed out.",
    "password_set": "Your password is set; sign in with it.",
}


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no open redirect to another host)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/login", dependencies=[Depends(public)])
def login_page(request: Request, reason: str | None = None, next: str | None = None):
    return render(
        request, "login.html",
        {"notice": LOGIN_NOTICES.get(reason or ""), "next_url": _safe_next(next)},
    )


@router.post("/login", dependencies=[Depends(public), Depends(csrf_protect)])
def login(
    request: Request,
    db: DbSession,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
):
    result = service.authenticate(db, username, password, via="web",
                                  source=request.client.host if request.client else None)
    if not result.ok:
        return render(
            request,
            "login.html",
            {"error": result.message, "username": username, "next_url": _safe_next(next)},
            status_code=401,
        )
    return signin_pages.after_password(request, db, result.user, next)


@router.post("/logout", dependencies=[Depends(public), Depends(csrf_protect)])
def logout(request: Request, db: DbSession):
    """Public so that a browser whose session already expired can still sign out cleanly."""
    service.end_web_session(db, request.cookies.get(SESSION_COOKIE))
    csrf.rotate(request)
    response = redirect("/login?reason=signed_out", request=request)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/logout/everywhere", dependencies=[Depends(csrf_protect)])
def logout_everywhere(request: Request, db: DbSession, principal: PagePrincipal):
    """Sign out of every browser (a lost phone, a shared computer); API tokens stay unless revoked."""
    service.end_all_sessions(db, principal)
    csrf.rotate(request)
    response = redirect("/login?reason=signed_out", request=request)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password")
def password_page(request: Request, principal: PagePrincipal):
    return render(request, "security/password.html", {"problems": []})


@router.post("/account/password", dependencies=[Depends(csrf_protect)])
def password_submit(request: Request, db: DbSession, principal: PagePrincipal, current_password: str = Form(""),
                    new_password: str = Form("")):
    try:
        with savepoint(db):
            service.change_password(db, principal, current_password, new_password)
    except InvalidInput as exc:
        return render(request, "security/password.html", {"problems": [p.as_dict() for p in exc.problems]},
                      status_code=422)
    # every other browser signs in again; this one keeps signed in, with a new session
    service.end_all_sessions(db, principal)
    return signin_pages.signed_in(request, db, repo.user_by_id(db, principal.user_id), "/")


# ---- audit log -------------------------------------------------------------------------------


def _parse_date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("The filter was not applied.", [Problem("use a date like 2026-01-31", field=field)]) from None


@router.get("/audit")
def audit_log(
    request: Request,
    db: DbSession,
    principal: Principal = Depends(require_page("audit:read")),
    user: str | None = None,
    action: str | None = None,
    member_id: str | None = None,
    outcome: str | None = Query(None, description="allowed or denied"),
    date_from: str | None = None,
    date_to: str | None = None,
    page: int = 1,
):
    """Who did what, when, to which member, and whether it was allowed: read-only."""
    member = None
    if member_id:
        try:
            member = int(member_id)
        except ValueError:
            raise InvalidInput("The filter was not applied.", [Problem("a member id is a number", field="member_id")]) from None
    allowed = {"allowed": True, "denied": False}.get(outcome or "")
    stmt = repo.audit_events_select(
        principal,
        username=user,
        action=action,
        member_id=member,
        allowed=allowed,
        date_from=_parse_date(date_from, "date_from"),
        date_to=_parse_date(date_to, "date_to"),
    )
    result = paginate(db, stmt, page, 50)
    audit.record(
        db, principal, "audit.viewed", object_type="audit_log",
        detail={k: v for k, v in dict(request.query_params).items() if k != "page"} or None,
    )
    return render(
        request,
        "security/audit.html",
        {
            "result": result,
            "actions": [(a, a) for a in repo.audit_actions(db, principal)],
            "filters": {
                "user": user or "", "action": action or "", "member_id": member_id or "",
                "outcome": outcome or "", "date_from": date_from or "", "date_to": date_to or "",
            },
        },
        block="results",
    )


# ---- accounts (plan administrators) ---------------------------------------------------------


def _roles_for(principal: Principal) -> list[tuple[str, str]]:
    from socialcare.security.rules import ROLE_LABELS

    return [(r.value, ROLE_LABELS[r]) for r in Role if principal.org_kind in {k.value for k in ROLE_ORG_KINDS[r]}]


def _users_page(request: Request, db: Session, principal: Principal, form=None, problems=None, status=200,
                link: dict | None = None):
    from socialcare.security import accounts

    return render(
        request,
        "security/users.html",
        {
            "users": repo.users_of_org(db, principal.org_id),
            "invited": accounts.pending_invites(db, principal.org_id),
            "roles": _roles_for(principal),
            "form": form or {},
            "problems": problems or [],
            "link": link,
        },
        status_code=status,
    )


def _link_url(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + f"/account/password/{token}"


@router.post("/users/invite", dependencies=[Depends(csrf_protect)])
def invite_user(
    request: Request,
    db: DbSession,
    principal: Principal = Depends(require_page("users:manage")),
    username: str = Form(""),
    full_name: str = Form(""),
    email: str = Form(""),
    role: str = Form(""),
):
    """Invite a colleague: the account exists at once and signs in after the link sets its password."""
    from socialcare.security import accounts

    form = {"username": username, "full_name": full_name, "email": email, "role": role}
    try:
        with savepoint(db):
            user, token = accounts.invite(db, principal, username=username, full_name=full_name, email=email,
                                          role=role)
    except InvalidInput as exc:
        return _users_page(request, db, principal, form, [p.as_dict() for p in exc.problems], 422)
    except Conflict as exc:
        return _users_page(request, db, principal, form, [{"field": "username", "message": exc.message}], 409)
    return _users_page(request, db, principal, link={
        "kind": "invitation", "username": user.username, "url": _link_url(request, token), "days": accounts.LINK_DAYS})


@router.post("/users/{user_id}/deactivate", dependencies=[Depends(csrf_protect)])
def deactivate_user(request: Request, user_id: int, db: DbSession,
                    principal: Principal = Depends(require_page("users:manage"))):
    """Deactivate: the person's open sessions and API tokens stop working at once."""
    from socialcare.security import accounts

    user = accounts.deactivate(db, principal, user_id)
    return redirect("/users", flash=f"{user.username} is deactivated; their sessions and tokens no longer work.",
                    kind="success", request=request)


@router.post("/users/{user_id}/reactivate", dependencies=[Depends(csrf_protect)])
def reactivate_user(request: Request, user_id: int, db: DbSession,
                    principal: Principal = Depends(require_page("users:manage"))):
    from socialcare.security import accounts

    user = accounts.reactivate(db, principal, user_id)
    return redirect("/users", flash=f"{user.username} can sign in again.", kind="success", request=request)


@router.post("/users/{user_id}/reset", dependencies=[Depends(csrf_protect)])
def reset_user_password(request: Request, user_id: int, db: DbSession,
                        principal: Principal = Depends(require_page("users:manage"))):
    from socialcare.security import accounts

    user, token = accounts.reset_password(db, principal, user_id)
    return _users_page(request, db, principal, link={
        "kind": "password reset", "username": user.username, "url": _link_url(request, token),
        "days": accounts.LINK_DAYS})


@router.post("/users/{user_id}/role", dependencies=[Depends(csrf_protect)])
def change_user_role(request: Request, user_id: int, db: DbSession,
                     principal: Principal = Depends(require_page("users:manage")), role: str = Form("")):
    from socialcare.security import accounts

    user = accounts.change_role(db, principal, user_id, role)
    return redirect("/users", flash=f"{user.username} is now {role.replace('_', ' ')}.", kind="success",
                    request=request)


@router.get("/account/password/{token}", dependencies=[Depends(public)])
def password_link_page(request: Request, token: str, db: DbSession):
    """Public: the invited (or reset) person chooses a password with the one-time link."""
    from socialcare.security import accounts

    link = accounts.link_for(db, token)
    return render(request, "security/set_password.html", {"link": link, "problems": []})


@router.post("/account/password/{token}", dependencies=[Depends(public), Depends(csrf_protect)])
def password_link_save(request: Request, token: str, db: DbSession, password: str = Form(""),
                       confirm: str = Form("")):
    from socialcare.security import accounts

    try:
        with savepoint(db):
            user = accounts.set_password(db, token, password, confirm)
    except InvalidInput as exc:
        return render(request, "security/set_password.html",
                      {"link": accounts.link_for(db, token), "problems": [p.as_dict() for p in exc.problems]},
                      status_code=422)
    return redirect("/login?reason=password_set&next=/", flash=f"Password set for {user.username}; sign in.",
                    kind="success", request=request)


@router.get("/users")
def users(request: Request, db: DbSession, principal: Principal = Depends(require_page("users:manage"))):
    """The accounts of the administrator's organization, and a form to add one."""
    return _users_page(request, db, principal)


@router.post("/users", dependencies=[Depends(csrf_protect)])
def create_user(
    request: Request,
    db: DbSession,
    principal: Principal = Depends(require_page("users:manage")),
    username: str = Form(""),
    full_name: str = Form(""),
    email: str = Form(""),
    role: str = Form(""),
    password: str = Form(""),
):
    form = {"username": username, "full_name": full_name, "email": email, "role": role}
    try:
        with savepoint(db):
            user = service.create_user(
                db, principal, username=username, full_name=full_name, email=email, password=password, role=role
            )
    except InvalidInput as exc:
        return _users_page(request, db, principal, form, [p.as_dict() for p in exc.problems], 422)
    except Conflict as exc:
        return _users_page(request, db, principal, form, [{"field": "username", "message": exc.message}], 409)
    return redirect("/users", flash=f"Account {user.username} created.", kind="success", request=request)


# ---- home cards ------------------------------------------------------------------------------


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("audit:read"):
        return []
    start = datetime.combine(today(), time.min, tzinfo=UTC)
    events, denied = repo.audit_counts_since(session, principal, start)
    return [
        {"title": "Audit events today", "value": f"{events:,}", "href": f"/audit?date_from={today().isoformat()}",
         "note": "in your organization's scope", "order": 10},
        {"title": "Refused today", "value": f"{denied:,}", "href": f"/audit?outcome=denied&date_from={today().isoformat()}",
         "note": "denied sign-ins and reads", "order": 11},
    ]
