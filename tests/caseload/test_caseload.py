"""Caseload: a CBO worker takes a referral (no reason needed), a colleague takes it over only with a
reason, "my caseload" lists what is mine; the note thread is read by the plan that referred and the
CBO that received (through the hub's routing), and the author can mark a note entered in error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from socialcare.caseload import service as caseload
from socialcare.core.errors import Forbidden, InvalidInput
from socialcare.referrals import service as svc
from socialcare.referrals.models import Referral
from tests.factories import make_user
from tests.web.fixtures import csrf_from


def test_assign_to_me_reassign_with_reason_and_my_caseload(db, client_factory, world):
    w = world
    ref, _ = svc.create_referral(db, w.users["staff_a"], svc.NewReferral(
        member_id=w.members_a[0].id, need_domain="food", owner_org_id=w.cbo.id))
    other, _ = svc.create_referral(db, w.users["staff_a"], svc.NewReferral(
        member_id=w.members_a[1].id, need_domain="food", owner_org_id=w.cbo.id))
    colleague = make_user(db, w.cbo, "cbo_staff", "cbo_colleague")
    cbo = client_factory("cbo_staff")
    page = cbo.get(f"/referrals/{ref.id}")
    assert "Nobody is assigned yet." in page.text and "Assign to me" in page.text
    r = cbo.post(f"/referrals/{ref.id}/assign", data={"user_id": w.users["cbo"].user_id,
                                                      "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "Assigned to <strong>cbo_staff</strong>" in r.text
    mine = cbo.get("/referrals?mine=1&status=open").text
    assert f'id="ref-{ref.id}"' in mine and f'id="ref-{other.id}"' not in mine
    # taking it over needs a reason; the plan may not assign the CBO's staff
    with pytest.raises(InvalidInput):
        caseload.assign(db, colleague, ref, user_id=colleague.user_id)
    assert caseload.assign(db, colleague, ref, user_id=colleague.user_id, reason="Covering while on leave")
    assert caseload.current(db, [ref.id])[ref.id][1] == "cbo_colleague"
    with pytest.raises(Forbidden):
        caseload.assign(db, w.users["staff_a"], ref, user_id=w.users["staff_a"].user_id)
    with pytest.raises(InvalidInput):  # not a colleague
        caseload.assign(db, colleague, ref, user_id=w.users["hub"].user_id, reason="x")
    timeline = cbo.get(f"/referrals/{ref.id}").text
    assert "Assigned to cbo_colleague (was cbo_staff): Covering while on leave" in timeline


def test_note_thread_is_shared_by_referrer_and_receiver(db, client_factory, world):
    w = world
    ref, _ = svc.create_referral(db, w.users["staff_a"], svc.NewReferral(
        member_id=w.members_a[0].id, need_domain="food", owner_org_id=w.hub.id, consent_scope="referral"))
    svc.route(db, w.users["hub"], ref.id, cbo_id=w.cbo.id, service_id=None, version=None, consent_scope="referral")
    child = db.scalar(select(Referral).where(Referral.parent_id == ref.id))
    cbo = client_factory("cbo_staff")
    page = cbo.get(f"/referrals/{child.id}")
    r = cbo.post(f"/referrals/{child.id}/notes", data={"body": "Prefers calls after 5 pm",
                                                       "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "Prefers calls after 5 pm" in r.text
    plan = client_factory("staff_a")
    plan_page = plan.get(f"/referrals/{ref.id}").text
    assert "Prefers calls after 5 pm" in plan_page
    r = plan.post(f"/referrals/{ref.id}/notes", data={"body": "Thanks: member confirmed",
                                                      "csrf_token": csrf_from(plan_page)})
    assert "Thanks: member confirmed" in cbo.get(f"/referrals/{child.id}").text
    # the author marks their note entered in error: it stays, struck through
    note = caseload.notes(db, w.users["cbo"], child, "full")[0]
    with pytest.raises(Forbidden):
        caseload.note_in_error(db, make_user(db, w.cbo, "cbo_staff", "cbo_other"), note.id)
    r = cbo.post(f"/referrals/{child.id}/notes/{note.id}/error", data={"csrf_token": csrf_from(page.text)})
    assert "<s>Prefers calls after 5 pm</s>" in r.text
    # consent revoked: the CBO no longer reads the thread
    assert caseload.notes(db, w.users["cbo"], child, "hidden") == []
