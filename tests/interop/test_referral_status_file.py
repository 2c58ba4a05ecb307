"""Referral status files from the hub or CBO a referral was sent to: each row becomes the referral
steps that lead to its status (the same path as the web app and FHIR), recorded at the row's date;
a file with any bad row changes nothing and names every bad row and field."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from socialcare.core.clock import as_utc, today, utcnow
from socialcare.core.errors import Conflict, Forbidden
from socialcare.interop import dropfolder
from socialcare.interop.flatfiles import referral_status, samples
from socialcare.interop.flatfiles.layouts import REFERRAL_STATUS
from socialcare.interop.flatfiles.service import import_file
from socialcare.interop.models import ExchangeImport
from socialcare.referrals import service as referrals
from socialcare.referrals.models import Referral, ReferralEvent
from socialcare.security.models import AuditEvent
from tests.factories import make_org
from tests.web.fixtures import csrf_from


def day(days_ago: int):
    return today() - timedelta(days=days_ago)


def midnight(days_ago: int) -> datetime:
    return datetime.combine(day(days_ago), time.min, tzinfo=UTC)


def refer(db, world, member, owner, days_ago: int = 20) -> Referral:
    ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=member.id, need_domain="food", owner_org_id=owner.id, consent_scope="referral"),
        now=utcnow() - timedelta(days=days_ago))
    return ref


def row(ref, member, status, days_ago, **kw) -> dict:
    return {"referral_id": str(ref.id), "plan_member_id": member.plan_member_id, "status": status,
            "status_date": day(days_ago).isoformat(), **kw}


def status_file(rows: list[dict]) -> bytes:
    return samples.to_csv(rows, REFERRAL_STATUS.column_names)


def events(db, ref) -> list[tuple]:
    """The referral's lifecycle on its timeline (consent events left out)."""
    return [(e.action, as_utc(e.at), e.channel, e.note) for e in db.scalars(
        select(ReferralEvent).where(ReferralEvent.referral_id == ref.id, ReferralEvent.kind != "consent")
        .order_by(ReferralEvent.id))]


def test_an_accepted_file_takes_each_referral_through_its_steps_at_the_reported_dates(db, world):
    m0, m1, m2 = world.members_a
    r1, r2, r3 = (refer(db, world, m, world.cbo) for m in (m0, m1, m2))
    data = status_file([
        row(r1, m0, "accepted", 15),
        row(r1, m0, "Accepted", 14, business_status="contacted", channel="Phone", note="Reached her"),
        row(r1, m0, "in-progress", 10, business_status="service-started", note="First delivery Friday"),
        row(r2, m1, "rejected", 12, business_status="no-capacity", reason="Waitlist full until May"),
        row(r3, m2, "accepted", 11, business_status="contacted", channel="text"),
    ])
    before = utcnow()
    res = import_file(db, world.users["cbo"], "referral_status", "status.csv", data)
    assert res.status == "accepted", res.problems
    assert (res.rows_total, res.rows_inserted, res.rows_updated) == (5, 0, 5)
    db.refresh(r1)
    db.refresh(r2)
    assert (r1.status, r1.business_status, r1.version) == ("in-progress", "service-started", 5)
    assert as_utc(r1.accepted_at) == midnight(15)
    assert as_utc(r1.first_outreach_at) == as_utc(r1.contacted_at) == midnight(14)
    assert as_utc(r1.enrolled_at) == as_utc(r1.service_started_at) == midnight(10)
    assert as_utc(r1.updated_at) >= before  # recorded now: partners polling for changes see it
    # in-progress implies enrollment: recorded as its own step, the row's note on the step it reports
    assert events(db, r1)[1:] == [
        ("accept", midnight(15), None, None),
        ("contacted", midnight(14), "phone", "Reached her"),
        ("enroll", midnight(10), None, None),
        ("start_service", midnight(10), None, "First delivery Friday"),
    ]
    assert (r2.status, r2.status_reason) == ("rejected", "No capacity: Waitlist full until May")
    # one row "accepted, contacted" on a referral not yet accepted: both steps
    assert [(a, at, ch) for a, at, ch, _ in events(db, r3)[1:]] == [("accept", midnight(11), None),
                                                                     ("contacted", midnight(11), "text")]
    assert as_utc(r2.closed_at) == midnight(12)
    rec = db.get(ExchangeImport, res.import_id)
    assert (rec.status, rec.layout, rec.rows_updated, rec.organization_id) == ("accepted", "referral_status", 5,
                                                                                world.cbo.id)
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "exchange.import.accepted"))
    assert audit.organization_id == world.cbo.id and audit.detail["updated"] == 5
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "referral.accept", AuditEvent.object_id == str(r1.id))) == 1


def test_a_cbo_closing_a_routed_referral_closes_the_plans_referral_at_the_same_time(db, world):
    m = world.members_a[2]
    parent = refer(db, world, m, world.hub, days_ago=0)
    referrals.route(db, world.users["hub"], parent.id, cbo_id=world.cbo.id, service_id=world.services["meals"].id,
                    version=None, consent_scope="referral")
    child = db.scalar(select(Referral).where(Referral.parent_id == parent.id))
    data = status_file([row(child, m, "accepted", 0),
                        row(child, m, "completed", 0, business_status="need-resolved", channel="home-visit")])
    res = import_file(db, world.users["cbo"], "referral_status", "status_routed.csv", data)
    assert res.status == "accepted", res.problems
    db.refresh(parent)
    db.refresh(child)
    assert (child.status, child.business_status) == ("completed", "need-resolved")
    assert (parent.status, parent.business_status) == ("completed", "need-resolved")
    assert as_utc(parent.closed_at) == as_utc(child.closed_at) >= midnight(0)
    assert [a for a, *_ in events(db, parent)][-1] == "sub:resolve"


def test_a_file_with_bad_rows_changes_nothing_and_names_every_row_and_field(db, world):
    m0, m1, m2 = world.members_a
    r1, r3, r4, r5, r6 = (refer(db, world, m, world.cbo) for m in (m0, m1, m2, m0, m1))
    elsewhere = make_org(db, "cbo", "Niagara Pantry Network")
    foreign = refer(db, world, m2, elsewhere)
    rows = [
        row(r1, m0, "accepted", 15),                                                    # 2 fine
        row(r1, m0, "completed", 10, business_status="need-resolved"),                  # 3 contact needs a channel
        dict(row(r1, m0, "accepted", 10), referral_id="999999"),                         # 4 no such referral
        row(foreign, m2, "accepted", 10),                                               # 5 another CBO's
        dict(row(r3, m1, "accepted", 10), plan_member_id="M-WRONG"),                    # 6 not its member
        row(r3, m1, "on-hold", -1),                                                     # 7 future, no reason
        row(r4, m2, "accepted", 9, business_status="need-resolved"),                    # 8 does not fit
        row(r6, m1, "on-hold", 9, reason="member in hospital"),                         # 9 not from requested
        row(r1, m0, "accepted", 15),                                                    # 10 repeats row 2
        row(r5, m0, "approved", 9),                                                     # 11 not a status
        dict(row(r5, m0, "accepted", 9), status_date="2025-02-30"),                      # 12 not a date
        row(r4, m2, "rejected", 25, reason="duplicate referral"),                       # 13 before requested
        dict(row(r1, m0, "accepted", 10), referral_id="99999999999999"),                 # 14 beyond any id
    ]
    res = import_file(db, world.users["cbo"], "referral_status", "bad_status.csv", status_file(rows))
    assert res.status == "rejected"
    got = {(p.row, p.field) for p in res.problems}
    assert got == {(3, "channel"), (4, "referral_id"), (5, "referral_id"), (6, "plan_member_id"),
                   (7, "status_date"), (7, "reason"), (8, "business_status"), (9, "status"),
                   (10, "referral_id"), (11, "status"), (12, "status_date"), (13, "status_date"),
                   (14, "referral_id")}, res.problems
    by_row = {p.row: p.message for p in res.problems}
    # another organization's referral reads exactly like one that does not exist: nothing leaks
    assert by_row[5].replace(str(foreign.id), "#") == by_row[4].replace("999999", "#")
    assert all(elsewhere.name not in p.message for p in res.problems)
    for ref in (r1, r3, r4, r5, r6, foreign):
        db.refresh(ref)
        assert (ref.status, ref.version) == ("requested", 1)
        assert [a for a, *_ in events(db, ref)] == ["create"]
    rec = db.get(ExchangeImport, res.import_id)
    assert (rec.status, rec.problem_count, rec.accepted_sha256) == ("rejected", 13, None)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "exchange.import.rejected")).detail["problems"] == 13


def test_the_same_file_twice_is_refused_as_a_duplicate(db, world):
    m = world.members_a[0]
    ref = refer(db, world, m, world.cbo)
    data = status_file([row(ref, m, "accepted", 3)])
    first = import_file(db, world.users["cbo"], "referral_status", "s.csv", data)
    again = import_file(db, world.users["cbo"], "referral_status", "s_resent.csv", data)
    assert first.status == "accepted"
    assert again.status == "duplicate" and again.duplicate_of == first.import_id
    db.refresh(ref)
    assert ref.version == 2
    # a different file repeating a change already recorded is refused, not applied twice
    data2 = status_file([row(ref, m, "accepted", 2, note="again")])
    res = import_file(db, world.users["cbo"], "referral_status", "s2.csv", data2)
    assert res.status == "rejected" and "changes nothing" in res.problems[0].message


def test_who_may_report_a_referrals_status(db, world):
    m = world.members_a[0]
    to_cbo, to_hub = refer(db, world, m, world.cbo), refer(db, world, world.members_a[1], world.hub)
    with pytest.raises(Forbidden):  # the plan sent the referral; it does not report the target's steps
        import_file(db, world.users["staff_a"], "referral_status", "p.csv", status_file([row(to_cbo, m, "accepted", 1)]))
    with pytest.raises(Forbidden):
        import_file(db, world.users["auditor_a"], "referral_status", "p.csv", status_file([row(to_cbo, m, "accepted", 1)]))
    # a hub accepts its referral, but the CBO it routes to reports contact and service
    hub_rows = [row(to_hub, world.members_a[1], "accepted", 2),
                row(to_hub, world.members_a[1], "in-progress", 1, channel="phone")]
    res = import_file(db, world.users["hub"], "referral_status", "h.csv", status_file(hub_rows))
    assert [(p.row, p.field) for p in res.problems] == [(3, "status")] and "routes" in res.problems[0].message
    # the hub sees the CBO's referral? no: it was not sent to the hub
    res = import_file(db, world.users["hub"], "referral_status", "h2.csv", status_file([row(to_cbo, m, "accepted", 1)]))
    assert [(p.row, p.field) for p in res.problems] == [(2, "referral_id")]


def test_a_refusal_found_only_while_applying_writes_nothing_but_is_on_record(db, world, monkeypatch):
    m0, m1 = world.members_a[:2]
    r1, r2 = refer(db, world, m0, world.cbo), refer(db, world, m1, world.cbo)
    real_act = referral_status.referrals.act
    calls = []

    def act(session, principal, referral_id, action, **kw):
        calls.append(referral_id)
        if len(calls) == 2:  # e.g. someone changed the referral in the web app meanwhile
            raise Conflict(f"Referral {referral_id} was changed by someone else.")
        return real_act(session, principal, referral_id, action, **kw)

    monkeypatch.setattr(referral_status.referrals, "act", act)
    data = status_file([row(r1, m0, "accepted", 3), row(r2, m1, "accepted", 3)])
    res = import_file(db, world.users["cbo"], "referral_status", "race.csv", data)
    assert res.status == "rejected" and (res.rows_inserted, res.rows_updated) == (0, 0)
    assert [(p.row, p.field) for p in res.problems] == [(3, "status")]
    assert "changed by someone else" in res.problems[0].message and res.problems[0].file == "race.csv"
    for ref in (r1, r2):
        db.refresh(ref)
        assert (ref.status, ref.version, ref.accepted_at) == ("requested", 1, None)
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "referral.accept")) == 0
    rec = db.get(ExchangeImport, res.import_id)
    assert (rec.status, rec.problem_count) == ("rejected", 1)
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "exchange.import.rejected")) is not None


def test_drop_folder_processes_a_referral_status_file(db, world, tmp_path):
    m = world.members_a[0]
    ref = refer(db, world, m, world.cbo)
    (tmp_path / "referral_status_2026-12-01.csv").write_bytes(status_file([row(ref, m, "accepted", 2)]))
    (tmp_path / "referral_status_bad.csv").write_bytes(status_file([row(ref, m, "on-hold", 1)]))
    out = {o.path.name: o for o in dropfolder.scan_once(tmp_path, world.users["cbo"])}
    assert out["referral_status_2026-12-01.csv"].status == "accepted"
    result = (tmp_path / "processed" / "referral_status_2026-12-01.csv.result.txt").read_text()
    assert result.startswith("ACCEPTED") and "1 updated" in result
    assert out["referral_status_bad.csv"].status == "rejected"
    report = (tmp_path / "rejected" / "referral_status_bad.csv.result.txt").read_text()
    assert report.startswith("REJECTED") and "2,reason,a reason is required" in report
    db.expire_all()
    assert db.get(Referral, ref.id).status == "accepted"


def test_cli_imports_a_referral_status_file(db, world, tmp_path):
    from typer.testing import CliRunner

    from socialcare.cli.main import app

    m = world.members_a[0]
    ref = refer(db, world, m, world.cbo)
    f = tmp_path / "status.csv"
    f.write_bytes(status_file([row(ref, m, "accepted", 1)]))
    res = CliRunner().invoke(app, ["exchange", "import", "referral_status", str(f), "--as", "cbo_staff"])
    assert res.exit_code == 0, res.output
    assert "accepted (referral_status)" in res.output
    db.expire_all()
    assert db.get(Referral, ref.id).status == "accepted"


def test_the_exchange_page_shows_every_problem_of_an_upload(db, world, client_factory):
    m = world.members_a[0]
    ref = refer(db, world, m, world.cbo)
    cbo = client_factory("cbo_staff")
    page = cbo.get("/exchange")
    assert page.status_code == 200 and "Referral status updates" in page.text and "Service records" in page.text
    data = status_file([row(ref, m, "rejected", 1), dict(row(ref, m, "accepted", 1), referral_id="424242")])
    r = cbo.post("/exchange/import", data={"layout": "referral_status", "csrf_token": csrf_from(page.text)},
                 files={"file": ("status.csv", data, "text/csv")})
    assert r.status_code == 200
    assert "rejected" in r.text and "a reason is required when the status is rejected" in r.text
    assert "Referral 424242 is not in your organization" in r.text
    db.refresh(ref)
    assert ref.status == "requested"
