"""Service record files from the organization that delivered the services: each row becomes one
service record (the delivery domain's rules); a file with any bad row writes nothing and names every
bad row and field; a line already recorded is never recorded twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from socialcare.core.clock import today, utcnow
from socialcare.core.errors import Forbidden
from socialcare.delivery.models import ServiceRecord
from socialcare.interop import dropfolder
from socialcare.interop.flatfiles import samples
from socialcare.interop.flatfiles.layouts import SERVICE_RECORD
from socialcare.interop.flatfiles.service import import_file
from socialcare.interop.models import ExchangeImport
from socialcare.referrals import service as referrals
from socialcare.security.models import AuditEvent
from tests.factories import make_org


def day(days_ago: int):
    return today() - timedelta(days=days_ago)


def refer(db, world, member, owner, consent: bool = True):
    ref, _ = referrals.create_referral(db, world.users["staff_a"], referrals.NewReferral(
        member_id=member.id, need_domain="food", owner_org_id=owner.id,
        consent_scope="referral" if consent else None), now=utcnow() - timedelta(days=30))
    return ref


def line(ref, member, days_ago, code="S5170-U6", units="10", **kw) -> dict:
    return {"referral_id": str(ref.id), "plan_member_id": member.plan_member_id,
            "service_date": day(days_ago).isoformat(), "need_domain": "food", "service_code": code,
            "units": units, **kw}


def service_file(rows: list[dict]) -> bytes:
    return samples.to_csv(rows, SERVICE_RECORD.column_names)


def records(db) -> list[ServiceRecord]:
    return list(db.scalars(select(ServiceRecord).order_by(ServiceRecord.id)))


def test_an_accepted_file_records_each_service_line(db, world):
    m0, m1 = world.members_a[:2]
    r1, r2 = refer(db, world, m0, world.cbo), refer(db, world, m1, world.cbo)
    data = service_file([
        line(r1, m0, 5, code="s5170-u6", place_of_service="12", rendering_npi="1234567893",
             diagnosis_code="z5941", note="10 meals delivered"),
        line(r1, m0, 4, code="", units="2"),  # no code: the CBO's food service without one (pantry)
        line(r2, m1, 3, code="S5170-U6-GQ", units="5", place_of_service="10"),  # the meals, by telehealth
    ])
    res = import_file(db, world.users["cbo"], "service_record", "services.csv", data)
    assert res.status == "accepted", res.problems
    assert (res.rows_inserted, res.rows_updated) == (3, 0)
    meals, pantry = world.services["meals"].id, world.services["pantry"].id
    got = [(r.referral_id, r.member_id, r.plan_id, r.organization_id, r.service_id, r.need_domain, r.service_code,
            r.hcpcs, r.modifiers, r.service_date, r.units, r.place_of_service, r.diagnosis_code, r.rendering_npi,
            r.note, r.staff_name, r.status) for r in records(db)]
    plan, cbo = world.plan_a.id, world.cbo.id
    assert got == [
        (r1.id, m0.id, plan, cbo, meals, "food", "S5170-U6", "S5170", "U6", day(5), 10, "12", "Z59.41", "1234567893",
         "10 meals delivered", "cbo_staff", "recorded"),
        (r1.id, m0.id, plan, cbo, pantry, "food", None, None, None, day(4), 2, "12", None, None, None, "cbo_staff",
         "recorded"),
        (r2.id, m1.id, plan, cbo, meals, "food", "S5170-U6-GQ", "S5170", "U6:GQ", day(3), 5, "10", None, None, None,
         "cbo_staff", "recorded"),
    ]
    rec = db.get(ExchangeImport, res.import_id)
    assert (rec.status, rec.layout, rec.rows_inserted) == ("accepted", "service_record", 3)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "exchange.import.accepted")).detail["inserted"] == 3
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "delivery.service.import")).detail["rows"] == 3


def test_a_file_with_bad_rows_writes_nothing_and_names_every_row_and_field(db, world):
    m0, m1, m2 = world.members_a
    r1, r2 = refer(db, world, m0, world.cbo), refer(db, world, m1, world.cbo)
    unshared = refer(db, world, m2, world.cbo, consent=False)
    elsewhere = make_org(db, "cbo", "Niagara Pantry Network")
    foreign = refer(db, world, m2, elsewhere)
    rows = [
        line(r1, m0, 5),                                                     # 2 fine
        line(r1, m0, 6, units="0"),                                          # 3 no units
        line(r1, m0, 7, units="1.5"),                                        # 4 not whole
        line(r1, m0, 8, code="XYZ"),                                         # 5 not a HCPCS code
        line(r1, m0, 9, place_of_service="55"),                              # 6 unknown place
        line(r1, m0, 10, rendering_npi="1234567890"),                        # 7 check digit
        line(r1, m0, -2),                                                    # 8 future
        dict(line(r1, m0, 11), referral_id="999999"),                         # 9 no such referral
        line(foreign, m2, 11),                                               # 10 another CBO's
        dict(line(r2, m1, 11), plan_member_id="M-WRONG"),                    # 11 not its member
        dict(line(r2, m1, 12), need_domain="housing"),                       # 12 no housing service
        dict(line(r1, m0, 5, code="s5170:u6"), service_date=day(5).strftime("%m/%d/%Y")),  # 13 = row 2
        line(unshared, m2, 12),                                              # 14 no consent
        line(r2, m1, 13, diagnosis_code="E11.9"),                            # 15 not a Z code
        line(r2, m1, 14, code="T1016"),                                      # 16 not a food service's code
    ]
    res = import_file(db, world.users["cbo"], "service_record", "bad_services.csv", service_file(rows))
    assert res.status == "rejected"
    got = {(p.row, p.field) for p in res.problems}
    assert got == {(3, "units"), (4, "units"), (5, "service_code"), (6, "place_of_service"), (7, "rendering_npi"),
                   (8, "service_date"), (9, "referral_id"), (10, "referral_id"), (11, "plan_member_id"),
                   (12, "need_domain"), (13, "service_code"), (14, "plan_member_id"), (15, "diagnosis_code"),
                   (16, "service_code")}, res.problems
    by_row = {p.row: p.message for p in res.problems}
    assert by_row[10].replace(str(foreign.id), "#") == by_row[9].replace("999999", "#")  # nothing leaks
    assert all(elsewhere.name not in p.message for p in res.problems)
    assert "row 2" in by_row[13]
    assert records(db) == []
    rec = db.get(ExchangeImport, res.import_id)
    assert (rec.status, rec.problem_count) == ("rejected", 14)


def test_the_same_file_or_a_line_already_recorded_is_refused(db, world):
    m = world.members_a[0]
    ref = refer(db, world, m, world.cbo)
    data = service_file([line(ref, m, 5), line(ref, m, 4)])
    first = import_file(db, world.users["cbo"], "service_record", "march.csv", data)
    again = import_file(db, world.users["cbo"], "service_record", "march_again.csv", data)
    assert first.status == "accepted" and again.status == "duplicate" and again.duplicate_of == first.import_id
    # a new file repeating one of those lines would bill it twice: refused, the new line not written either
    overlap = service_file([line(ref, m, 4, code="S5170-U6"), line(ref, m, 3)])
    res = import_file(db, world.users["cbo"], "service_record", "april.csv", overlap)
    assert [(p.row, p.field) for p in res.problems] == [(2, "service_code")]
    assert "already recorded as service record" in res.problems[0].message
    assert db.scalar(select(func.count()).select_from(ServiceRecord)) == 2


def test_only_the_delivering_organization_imports_service_records(db, world):
    m = world.members_a[0]
    ref = refer(db, world, m, world.cbo)
    data = service_file([line(ref, m, 5)])
    with pytest.raises(Forbidden):
        import_file(db, world.users["staff_a"], "service_record", "s.csv", data)
    res = import_file(db, world.users["hub"], "service_record", "s.csv", data)
    assert [(p.row, p.field) for p in res.problems] == [(2, "referral_id")]
    assert records(db) == []


def test_drop_folder_processes_a_service_record_file(db, world, tmp_path):
    m = world.members_a[0]
    ref = refer(db, world, m, world.cbo)
    (tmp_path / "service_record_2026-11.csv").write_bytes(service_file([line(ref, m, 5), line(ref, m, 4)]))
    out = dropfolder.scan_once(tmp_path, world.users["cbo"])
    assert [o.status for o in out] == ["accepted"]
    result = (tmp_path / "processed" / "service_record_2026-11.csv.result.txt").read_text()
    assert result.startswith("ACCEPTED") and "2 added" in result
    assert len(records(db)) == 2
