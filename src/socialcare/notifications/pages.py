"""The inbox (new and read notifications), opening one, and each user's settings: notification
preferences per kind, the interface language and (for administrators) the organization's time zone."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from socialcare.core.errors import Forbidden, InvalidInput, Problem
from socialcare.notifications import repository, rules, service
from socialcare.web import localization
from socialcare.web.deps import DbSession, PagePrincipal, csrf_protect
from socialcare.web.localization import _
from socialcare.web.templating import env, redirect, render

router = APIRouter(tags=["notifications"])

env.globals["NOTIFICATION_KINDS"] = rules.KINDS


@router.get("/notifications")
def inbox(request: Request, db: DbSession, principal: PagePrincipal, unread: str | None = None, page: int = 1):
    result = service.inbox(db, principal, unread_only=bool(unread), page=page)
    return render(request, "notifications/inbox.html", {"result": result, "unread_only": bool(unread)})


@router.get("/notifications/{notification_id}")
def open_one(request: Request, notification_id: int, db: DbSession, principal: PagePrincipal):
    n = service.open_notification(db, principal, notification_id)
    if n.referral_id is not None:
        service.mark_read(db, principal, referral_id=n.referral_id)
    return redirect(n.link if n.link.startswith("/") else "/notifications")


@router.post("/notifications/read", dependencies=[Depends(csrf_protect)])
def read_all(request: Request, db: DbSession, principal: PagePrincipal):
    count = service.mark_read(db, principal, all_=True)
    return redirect("/notifications", flash=_("%(n)s notification(s) marked read.") % {"n": count}, kind="success",
                    request=request)


@router.get("/settings")
def settings_page(request: Request, db: DbSession, principal: PagePrincipal):
    own = repository.own_settings(db, principal)
    return render(request, "notifications/settings.html", {
        "prefs": service.preferences(db, principal.user_id) if principal.user_id else {},
        "time_zone": own["time_zone"], "zones": localization.TIME_ZONES,
        "can_set_zone": principal.role.endswith("admin"),
        "has_email": bool(own["email"]), "email": own["email"],
    })


@router.post("/settings", dependencies=[Depends(csrf_protect)])
def save_settings(request: Request, db: DbSession, principal: PagePrincipal,
                  language: str = Form("en"), time_zone: str | None = Form(None),
                  in_app: list[str] = Form([]), email: list[str] = Form([]), digest: list[str] = Form([])):
    """Checkboxes named in_app / email / digest, each valued with a kind."""
    problems = []
    zone = time_zone
    if language not in localization.UI_LANGUAGES:
        problems.append(Problem(_("choose a language from the list"), field="language"))
    if zone is not None and zone != "":
        if not principal.role.endswith("admin"):
            raise Forbidden(_("Only an administrator sets the organization's time zone."))
        if not localization.valid_time_zone(str(zone)):
            problems.append(Problem(_("not a time zone"), field="time_zone"))
    if problems:
        raise InvalidInput(_("The settings were not saved."), problems)
    choices = {k: rules.Preference(in_app=k in in_app, email=k in email, digest=k in digest) for k in rules.KINDS}
    service.set_preferences(db, principal, choices)
    repository.set_language(db, principal, language)
    if zone:
        repository.set_time_zone(db, principal, str(zone))
    with localization.use(language):
        msg = localization.gettext("Settings saved.")
    return redirect("/settings", flash=msg, kind="success", request=request)


def home_cards(session, principal):
    n = service.unread_count(session, principal.user_id)
    return [{"title": _("New notifications"), "value": n, "href": "/notifications?unread=1",
             "note": _("referrals received, routed, overdue, closed…"), "order": 1}] if principal.user_id else []
