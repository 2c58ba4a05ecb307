"""Caseload actions on a referral's page: assign (to me, or to a colleague with a reason), and the
note thread (add a note; the author marks their note entered in error)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from socialcare.caseload import service
from socialcare.referrals import repository as ref_repo
from socialcare.referrals import service as ref_service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.localization import gettext, set_for_render
from socialcare.web.templating import redirect

router = APIRouter(tags=["caseload"])


@router.post("/referrals/{referral_id}/assign", dependencies=[Depends(csrf_protect)])
def assign(request: Request, referral_id: int, db: DbSession,
           principal: Principal = Depends(require_page("referrals:read")),
           user_id: int = Form(...), reason: str | None = Form(None), back: str | None = Form(None)):
    set_for_render(principal.language, principal.time_zone)
    ref = ref_service.get_referral(db, principal, referral_id, audit_read=False)
    changed = service.assign(db, principal, ref, user_id=user_id, reason=reason)
    target = back if back in ("/referrals", "/referrals?mine=1") else f"/referrals/{referral_id}"
    return redirect(target, flash=gettext("Assigned.") if changed else gettext("Already assigned."),
                    kind="success", request=request)


@router.post("/referrals/{referral_id}/notes", dependencies=[Depends(csrf_protect)])
def add_note(request: Request, referral_id: int, db: DbSession,
             principal: Principal = Depends(require_page("referrals:read")), body: str = Form("")):
    set_for_render(principal.language, principal.time_zone)
    ref = ref_service.get_referral(db, principal, referral_id, audit_read=False)
    access = ref_repo.member_access(db, principal, ref.member_id)
    service.add_note(db, principal, ref, body, access)
    return redirect(f"/referrals/{referral_id}#h-notes", flash=gettext("Note added."), kind="success", request=request)


@router.post("/referrals/{referral_id}/notes/{note_id}/error", dependencies=[Depends(csrf_protect)])
def note_in_error(request: Request, referral_id: int, note_id: int, db: DbSession,
                  principal: Principal = Depends(require_page("referrals:read"))):
    set_for_render(principal.language, principal.time_zone)
    ref_service.get_referral(db, principal, referral_id, audit_read=False)
    service.note_in_error(db, principal, note_id)
    return redirect(f"/referrals/{referral_id}#h-notes", flash=gettext("Note marked entered in error."),
                    kind="success", request=request)
