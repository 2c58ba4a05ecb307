"""Notifications: each referral event tells the other parties, in the inbox and by email through
SMTP (a local aiosmtpd sink); every kind reaches the sink and no email carries a member's name or
date of birth; preferences per kind (off, in-app only, daily digest); overdue once per milestone;
statements for the payments domain."""

from __future__ import annotations

import email
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from socialcare.notifications import rules
from socialcare.notifications import service as notes
from socialcare.notifications.models import Notification
from socialcare.notifications.settings import SmtpSettings
from socialcare.referrals import service as svc
from socialcare.referrals.models import Referral
from socialcare.security.models import User
from tests.web.fixtures import client_factory, csrf_from, world  # noqa: F401


class Sink:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, SmtpSettings(host="127.0.0.1", port=port, send_on_commit=False)
    finally:
        controller.stop()


def _emails(db, w):
    for key in ("admin_a", "staff_a", "hub", "cbo", "auditor_a"):
        u = w.users[key]
        db.execute(update(User).where(User.id == u.user_id).values(email=f"{u.username}@example.org"))


def _inbox(db, principal):
    return [n.kind for n in notes.inbox(db, principal).items]


def test_every_event_kind_reaches_the_sink_without_member_identifiers(db, world, smtp):  # noqa: F811
    sink, settings = smtp
    w = world
    _emails(db, w)
    member = w.members_a[0]
    staff, hub, cbo = w.users["staff_a"], w.users["hub"], w.users["cbo"]
    ref, _ = svc.create_referral(db, staff, svc.NewReferral(member_id=member.id, need_domain="food",
                                                            owner_org_id=w.hub.id, reason="HVS positive",
                                                            consent_scope="referral"))
    assert "received" in _inbox(db, hub)
    svc.route(db, hub, ref.id, cbo_id=w.cbo.id, service_id=w.services["meals"].id, version=None)
    child = db.scalar(select(Referral).where(Referral.parent_id == ref.id))
    assert _inbox(db, cbo) == ["received"]
    assert {"routed", "accepted"} <= set(_inbox(db, staff))
    svc.act(db, cbo, child.id, "accept", version=None)
    assert "accepted" in _inbox(db, hub)
    svc.raise_escalation(db, cbo, referral_id=child.id, category="other", subject="Member moved")
    assert "escalated" in _inbox(db, staff)
    # the clock: outreach due passed with no outreach
    later = datetime.now(UTC) + timedelta(days=30)
    assert notes.check_overdue(db, later) > 0
    assert notes.check_overdue(db, later) == 0  # once per milestone
    assert "overdue" in _inbox(db, cbo)
    for step in ("contacted", "enroll", "start_service", "resolve"):
        svc.act(db, cbo, child.id, step, version=None, channel="phone" if step == "contacted" else None,
                result="reached" if step == "contacted" else None)
    assert "closed" in _inbox(db, staff) and "closed" in _inbox(db, hub)
    # a second referral the CBO returns
    other, _ = svc.create_referral(db, staff, svc.NewReferral(member_id=w.members_a[1].id, need_domain="food",
                                                              owner_org_id=w.cbo.id))
    svc.act(db, cbo, other.id, "reject", version=None, reason="no capacity")
    assert "returned" in _inbox(db, staff)
    for kind in rules.STATEMENT_KINDS:
        notes.notify_statement(db, kind, org_ids={w.plan_a.id, w.cbo.id}, number="ST-2026-11-7",
                               counterpart=w.cbo.name, link="/payments", plan_id=w.plan_a.id)
    # nobody told the auditor anything
    assert _inbox(db, w.users["auditor_a"]) == []

    sent = notes.deliver_pending_email(db, settings)
    assert sent == len(sink.messages) > 0
    assert notes.deliver_pending_email(db, settings) == 0  # each email once
    subjects = [m["Subject"] for m in sink.messages]
    for kind in rules.KINDS:
        assert db.scalar(select(Notification.id).where(Notification.kind == kind, Notification.email_status == "sent")), kind
    assert any("New food referral" in s for s in subjects)
    assert any("was closed" in s for s in subjects) and any("is overdue" in s for s in subjects)
    secrets = [member.first_name, member.last_name, member.birth_date.isoformat(), member.birth_date.strftime("%m/%d/%Y"),
               member.plan_member_id, w.members_a[1].last_name]
    for m in sink.messages:
        text = m["Subject"] + "\n" + m.get_payload(decode=True).decode()
        assert "/referrals/" in text or "/payments" in text
        for s in secrets:
            assert s not in text, (s, text)


def test_preferences_off_in_app_only_and_daily_digest(db, world, smtp):  # noqa: F811
    sink, settings = smtp
    w = world
    _emails(db, w)
    cbo = w.users["cbo"]
    notes.set_preferences(db, cbo, {"received": rules.Preference(in_app=True, email=False, digest=True),
                                    "closed": rules.Preference(in_app=False, email=False, digest=False)})
    staff = w.users["staff_a"]
    refs = [svc.create_referral(db, staff, svc.NewReferral(member_id=m.id, need_domain="food",
                                                           owner_org_id=w.cbo.id))[0] for m in w.members_a[:2]]
    assert notes.deliver_pending_email(db, settings) == 0  # the CBO wants a digest
    assert notes.unread_count(db, cbo.user_id) == 2
    assert notes.send_daily_digest(db, settings) == 1
    assert len(sink.messages) == 1 and "Daily digest: 2" in sink.messages[0]["Subject"]
    svc.act(db, staff, refs[0].id, "cancel", version=None, reason="moved away")
    assert "closed" not in _inbox(db, cbo)


def test_inbox_pages_mark_read_and_worklist_new_marker(db, client_factory, world):  # noqa: F811
    w = world
    ref, _ = svc.create_referral(db, w.users["staff_a"], svc.NewReferral(
        member_id=w.members_a[0].id, need_domain="food", owner_org_id=w.cbo.id))
    cbo = client_factory("cbo_staff")
    home = cbo.get("/")
    assert 'class="badge">1<' in home.text
    work = cbo.get("/referrals")
    assert f'id="ref-{ref.id}" class="unread"' in work.text.replace("overdue unread", "unread")
    inbox = cbo.get("/notifications")
    assert f"New food referral #{ref.id}" in inbox.text and w.members_a[0].last_name not in inbox.text
    n = db.scalar(select(Notification).where(Notification.user_id == w.users["cbo"].user_id))
    r = cbo.get(f"/notifications/{n.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/referrals/{ref.id}"
    assert notes.unread_count(db, w.users["cbo"].user_id) == 0
    # another user's notification is not yours
    assert client_factory("hub_coord").get(f"/notifications/{n.id}").status_code == 404


def test_settings_page_saves_language_and_preferences(db, client_factory, world):  # noqa: F811
    cbo = client_factory("cbo_staff")
    page = cbo.get("/settings")
    assert page.status_code == 200 and "Español" in page.text
    r = cbo.post("/settings", data={"language": "es", "in_app": ["received", "overdue"], "email": ["received"],
                                    "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "Configuración guardada" in r.text
    prefs = notes.preferences(db, world.users["cbo"].user_id)
    assert prefs["received"].email and not prefs["closed"].in_app
    # a non-administrator may not change the organization's time zone
    r = cbo.post("/settings", data={"language": "en", "time_zone": "America/Chicago", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 403
