"""Screening pages: the screening form (AHC HRSN core or Hunger Vital Sign), and the member profile
panel listing screenings and social needs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from sqlalchemy.orm import Session

from socialcare.core.errors import InvalidInput, NotFound, Problem
from socialcare.screening import rules, service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, FormBody, csrf_protect, require_page
from socialcare.web.templating import env, redirect, render

router = APIRouter(tags=["screening"])


@router.get("/screening/new")
def screening_form(request: Request, db: DbSession, member_id: int, instrument: str = "ahc_hrsn_core",
                   referral_id: int | None = None, language: str | None = None,
                   principal: Principal = Depends(require_page("screening:write"))):
    try:
        inst = rules.instrument(instrument)
    except ValueError as exc:
        raise InvalidInput("Unknown instrument", [Problem(str(exc), field="instrument")]) from None
    from socialcare.web.localization import UI_LANGUAGES

    # offered in the member's preferred language when the questions exist in it
    preferred = service.preferred_language(db, principal, member_id, referral_id)
    if language not in UI_LANGUAGES:
        language = preferred if preferred in UI_LANGUAGES else principal.language
    return render(request, "screening/form.html", {
        "inst": inst, "member_id": member_id, "referral_id": referral_id,
        "instruments": list(rules.instruments().values()), "language": language, "preferred": preferred,
    })


@router.post("/screening", dependencies=[Depends(csrf_protect)])
def screening_submit(request: Request, db: DbSession, form: FormBody,
                     principal: Principal = Depends(require_page("screening:write"))):
    try:
        member_id = int(form.get("member_id", ""))
        referral_id = int(form["referral_id"]) if form.get("referral_id") else None
    except ValueError:
        raise InvalidInput("The screening was not saved.", [Problem("bad member id", field="member_id")]) from None
    inst = rules.instrument(str(form.get("instrument", "")))
    responses: dict = {}
    declined_items = []
    for item in inst.items:
        values = [v for v in form.getlist(item.loinc) if v]
        if "declined" in values:
            declined_items.append(item.loinc)
            continue
        if values:
            responses[item.loinc] = values if item.kind == "multiple" else values[0]
    data = service.ScreeningInput(member_id=member_id, instrument=inst.code, responses=responses,
                                  declined_items=declined_items, declined=form.get("declined") == "1",
                                  referral_id=referral_id, note=str(form.get("note") or "") or None)
    s = service.submit(db, principal, data)
    if s.status == "declined":
        msg = "The member declined the screening; recorded."
    elif s.positive_domains:
        msg = "Screening saved. Positive: " + ", ".join(s.positive_domains).replace("_", " ") + "."
    else:
        msg = "Screening saved: no social need found."
    target = f"/referrals/{referral_id}" if referral_id else f"/members/{member_id}"
    return redirect(target, flash=msg, kind="success", request=request)


def member_sections(session: Session, principal: Principal, member) -> list[dict]:
    """Screenings and social needs on the member profile, for whoever may see the member."""
    try:
        screenings = service.screenings_for_member(session, principal, member.id)
        needs = service.needs_for_member(session, principal, member.id)
    except NotFound:  # not visible to this principal: no panel
        return []
    tpl = env.get_template("screening/_member.html")
    html = tpl.render(screenings=screenings[:10], needs=needs, member=member,
                      instruments=rules.instruments(), can_screen=principal.can("screening:write"))
    return [{"title": "Social needs and screenings", "html": Markup(html), "order": 15}]
