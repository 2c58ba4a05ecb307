"""The member list / eligibility file: all or nothing, every bad row named, never twice."""

from __future__ import annotations

import io
import random
from datetime import date

import pytest
from sqlalchemy import func, select

from socialcare.core.errors import Forbidden
from socialcare.interop.flatfiles import samples
from socialcare.interop.flatfiles.service import error_report_csv, import_file
from socialcare.interop.models import ExchangeImport
from socialcare.members.models import EnrollmentSpan, Member
from socialcare.security.models import AuditEvent


def _count(db, plan_id):
    return db.scalar(select(func.count()).select_from(Member).where(Member.plan_id == plan_id))


def test_a_clean_file_is_imported_with_its_coverage(db, world):
    rows = samples.member_rows(50, seed=3, prefix="E")
    rows[0].update(sex="F", birth_date="05/17/1970", zip="14201-1234", phone="1 (716) 555-0100")
    res = import_file(db, world.users["staff_a"], "member_eligibility", "elig.csv", samples.to_csv(rows))
    assert res.status == "accepted", res.problems[:3]
    assert (res.rows_inserted, res.rows_updated) == (50, 0)
    m = db.scalar(select(Member).where(Member.plan_member_id == "E00000000"))
    assert (m.plan_id, m.sex, m.birth_date, m.zip, m.phone) == (world.plan_a.id, "female", date(1970, 5, 17),
                                                                "14201", "7165550100")
    spans = db.scalars(select(EnrollmentSpan).where(EnrollmentSpan.member_id == m.id)).all()
    assert [(s.start_date, s.end_date) for s in spans] == [(date(2025, 1, 1), None)]
    rec = db.get(ExchangeImport, res.import_id)
    assert (rec.status, rec.rows_inserted, rec.accepted_sha256) == ("accepted", 50, res.sha256)
    ev = db.scalar(select(AuditEvent).where(AuditEvent.action == "exchange.import.accepted"))
    assert ev.detail["rows"] == 50 and ev.organization_id == world.plan_a.id


def test_a_second_file_updates_known_members_and_closes_coverage(db, world):
    rows = samples.member_rows(10, seed=4, prefix="U")
    import_file(db, world.users["staff_a"], "member_eligibility", "jan.csv", samples.to_csv(rows))
    rows[0].update(last_name="Moved", coverage_end="2025-06-30")
    rows.append(dict(rows[1], plan_member_id="U99999999"))
    res = import_file(db, world.users["staff_a"], "member_eligibility", "feb.csv", samples.to_csv(rows))
    assert (res.status, res.rows_inserted, res.rows_updated) == ("accepted", 1, 10)
    m = db.scalar(select(Member).where(Member.plan_member_id == "U00000000"))
    assert m.last_name == "Moved"
    spans = db.scalars(select(EnrollmentSpan).where(EnrollmentSpan.member_id == m.id)).all()
    assert [(s.start_date, s.end_date) for s in spans] == [(date(2025, 1, 1), date(2025, 6, 30))]


def test_a_file_of_known_members_only_updates_them(db, world):
    rows = samples.member_rows(6, seed=8, prefix="K")
    import_file(db, world.users["staff_a"], "member_eligibility", "k1.csv", samples.to_csv(rows))
    for r in rows:
        r["phone"] = "716-555-0199"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "k2.csv", samples.to_csv(rows))
    assert (res.status, res.rows_inserted, res.rows_updated) == ("accepted", 0, 6)
    assert set(db.scalars(select(Member.phone).where(Member.plan_member_id.like("K%")))) == {"7165550199"}


def test_the_same_file_is_refused_the_second_time(db, world):
    data = samples.to_csv(samples.member_rows(5, prefix="D"))
    first = import_file(db, world.users["staff_a"], "member_eligibility", "a.csv", data)
    again = import_file(db, world.users["admin_a"], "member_eligibility", "renamed.csv", data)
    assert first.status == "accepted"
    assert again.status == "duplicate" and again.duplicate_of == first.import_id
    assert _count(db, world.plan_a.id) == 3 + 5
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "exchange.import.duplicate")) == 1


def test_a_rejected_file_may_be_fixed_and_sent_again(db, world):
    rows = samples.member_rows(5, prefix="R")
    rows[2]["sex"] = "x"
    bad = import_file(db, world.users["staff_a"], "member_eligibility", "r.csv", samples.to_csv(rows))
    assert bad.status == "rejected"
    rows[2]["sex"] = "male"
    good = import_file(db, world.users["staff_a"], "member_eligibility", "r.csv", samples.to_csv(rows))
    assert good.status == "accepted"


def test_ten_thousand_rows_with_37_bad_rows_import_nothing_and_report_all_37(db, world):
    rows = samples.member_rows(10_000, seed=11, prefix="B")
    rng = random.Random(5)
    bad_rows = sorted(rng.sample(range(10_000), 37))
    breakages = [
        ("birth_date", "1970-13-45", "not a date"), ("sex", "robot", "not one of female"),
        ("product_line", "platinum", "not one of"), ("zip", "1420", "not a 5-digit zip"),
        ("plan_member_id", "", "required value is empty"), ("pcp_npi", "1234567890", "NPI"),
        ("coverage_start", "", "required value is empty"), ("state", "New York", "two-letter state"),
        ("risk_score", "high", "not a number"),
    ]
    expected = {}
    for n, i in enumerate(bad_rows):
        fieldname, value, reason = breakages[n % len(breakages)]
        rows[i][fieldname] = value
        expected[i + 2] = (fieldname, reason)  # header is row 1
    before = _count(db, world.plan_a.id)
    res = import_file(db, world.users["staff_a"], "member_eligibility", "big.csv", samples.to_csv(rows))
    assert res.status == "rejected"
    assert _count(db, world.plan_a.id) == before
    got = {p.row: (p.field, p.message) for p in res.problems}
    assert len(res.problems) == 37 and set(got) == set(expected)
    for row, (fieldname, reason) in expected.items():
        assert got[row][0] == fieldname and reason in got[row][1], (row, got[row])
    report = error_report_csv(res)
    assert report.count("\n") == 38 and f"{bad_rows[0] + 2},{expected[bad_rows[0] + 2][0]}," in report
    rec = db.get(ExchangeImport, res.import_id)
    assert (rec.status, rec.problem_count, rec.accepted_sha256) == ("rejected", 37, None)


def test_header_problems_are_reported_before_rows(db, world):
    data = b"plan_member_id,first_name,last_nme,birth_date,sex,product_line,coverage_start\nM1,A,B,1970-01-01,F,medicaid,2025-01-01\n"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "h.csv", data)
    assert res.status == "rejected"
    assert {(p.field, p.row) for p in res.problems} == {("last_name", 1), ("last_nme", 1)}


def test_duplicate_member_ids_and_bad_spans_inside_one_file(db, world):
    rows = samples.member_rows(4, prefix="X")
    rows[3]["plan_member_id"] = rows[1]["plan_member_id"]
    rows[2]["coverage_end"] = "2024-01-01"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "x.csv", samples.to_csv(rows))
    # cell problems and the importer's own checks are reported together: one report names every bad row
    assert [(p.row, p.field) for p in res.problems] == [(4, "coverage_end"), (5, "plan_member_id")]
    rows[3]["plan_member_id"] = "X_other"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "x.csv", samples.to_csv(rows))
    assert [(p.row, p.field, p.message) for p in res.problems] == [(4, "coverage_end", "coverage ends before it starts")]


def test_excel_files_import_like_csv(db, world):
    rows = samples.member_rows(20, prefix="XL")
    res = import_file(db, world.users["staff_a"], "member_eligibility", "elig.xlsx", samples.to_xlsx(rows))
    assert res.status == "accepted" and res.rows_inserted == 20
    rows[4]["birth_date"] = "not a date"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "elig2.xlsx", samples.to_xlsx(rows))
    assert [(p.row, p.field) for p in res.problems] == [(6, "birth_date")]


def test_garbage_is_rejected_with_a_reason(db, world):
    res = import_file(db, world.users["staff_a"], "member_eligibility", "x.xlsx", b"not a workbook")
    assert res.status == "rejected" and "Excel" in res.problems[0].message
    res = import_file(db, world.users["staff_a"], "member_eligibility", "x.csv", b"\xff\xfe\x00bad")
    assert "UTF-8" in res.problems[0].message


def test_only_plan_staff_import_their_roster(db, world):
    data = samples.to_csv(samples.member_rows(2, prefix="H"))
    with pytest.raises(Forbidden):
        import_file(db, world.users["hub"], "member_eligibility", "h.csv", data)
    with pytest.raises(Forbidden):
        import_file(db, world.users["auditor_a"], "member_eligibility", "h.csv", data)
    # plan B's import lands in plan B's roster, never plan A's
    res = import_file(db, world.users["staff_b"], "member_eligibility", "b.csv", data)
    assert res.status == "accepted"
    assert db.scalar(select(Member.plan_id).where(Member.plan_member_id == "H00000000")) == world.plan_b.id


# ---- what partners' files really look like -----------------------------------------------------


def test_a_member_with_two_coverage_spans_has_two_rows(db, world):
    from socialcare.members.models import EnrollmentSpan

    rows = samples.member_rows(2, prefix="SPAN")
    second = dict(rows[0], coverage_start="2025-07-01", coverage_end="")
    rows[0]["coverage_end"] = "2025-03-31"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "spans.csv", samples.to_csv(rows + [second]))
    assert res.status == "accepted", res.problems
    assert res.rows_inserted == 2
    member_id = db.scalar(select(Member.id).where(Member.plan_member_id == rows[0]["plan_member_id"]))
    spans = db.execute(select(EnrollmentSpan.start_date, EnrollmentSpan.end_date)
                       .where(EnrollmentSpan.member_id == member_id).order_by(EnrollmentSpan.start_date)).all()
    assert [(str(s), str(e)) for s, e in spans] == [("2025-01-01", "2025-03-31"), ("2025-07-01", "None")]
    # the spans must agree on who the member is
    other = dict(second, coverage_start="2026-01-01", last_name="Somebody-Else")
    res = import_file(db, world.users["staff_a"], "member_eligibility", "spans2.csv",
                      samples.to_csv(rows + [second, other]))
    assert [(p.row, p.field) for p in res.problems] == [(5, "last_name")]


def test_header_and_row_problems_are_reported_together(db, world):
    rows = samples.member_rows(3, prefix="HDR")
    rows[1]["birth_date"] = "someday"
    cols = [c for c in samples.MEMBER_ELIGIBILITY.column_names if c != "county"] + ["colour"]
    for r in rows:
        r.pop("county")
        r["colour"] = "blue"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "hdr.csv", samples.to_csv(rows, cols))
    assert ("colour", 1) in [(p.field, p.row) for p in res.problems]
    assert ("birth_date", 3) in [(p.field, p.row) for p in res.problems]
    # a missing required column, and a bad cell elsewhere: both named
    cols = [c for c in samples.MEMBER_ELIGIBILITY.column_names if c != "sex"]
    rows = samples.member_rows(2, prefix="HDR2")
    rows[0]["zip"] = "ABCDE"
    for r in rows:
        r.pop("sex")
    res = import_file(db, world.users["staff_a"], "member_eligibility", "hdr2.csv", samples.to_csv(rows, cols))
    assert [(p.row, p.field) for p in res.problems] == [(1, "sex"), (2, "zip")]


def test_a_file_not_in_utf8_still_names_its_bad_rows(db, world):
    rows = samples.member_rows(2, prefix="ENC")
    rows[0]["city"] = "Cañon"
    rows[1]["zip"] = "1420"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "enc.csv",
                      samples.to_csv(rows).decode().encode("cp1252"))
    assert res.status == "rejected"
    assert "UTF-8" in res.problems[0].message and (3, "zip") in [(p.row, p.field) for p in res.problems]


def test_member_ids_are_normalised_and_checked(db, world):
    rows = samples.member_rows(4, prefix="NRM")
    rows[0]["plan_member_id"] = "\ufeffNRM00000000"
    rows[1]["plan_member_id"] = "NRM 0000\u200b0001"
    rows[2]["plan_member_id"] = "NRM\u00a000000002"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "nrm.csv", samples.to_csv(rows))
    assert res.status == "accepted", res.problems
    ids = set(db.scalars(select(Member.plan_member_id).where(Member.plan_member_id.like("NRM%"))))
    assert ids == {f"NRM{i:08d}" for i in range(4)}
    # the same member written two ways in one file is the same member twice
    rows = samples.member_rows(2, prefix="DUP")
    rows[1] = dict(rows[0], plan_member_id=" DUP 00000000\u200d")
    res = import_file(db, world.users["staff_a"], "member_eligibility", "dup.csv", samples.to_csv(rows))
    assert [(p.row, p.field) for p in res.problems] == [(3, "plan_member_id")]
    rows = samples.member_rows(1, prefix="BAD")
    rows[0]["plan_member_id"] = "BAD/0001;DROP"
    res = import_file(db, world.users["staff_a"], "member_eligibility", "bad.csv", samples.to_csv(rows))
    assert [(p.row, p.field) for p in res.problems] == [(2, "plan_member_id")]


def test_a_short_row_is_refused(db, world):
    data = samples.to_csv(samples.member_rows(2, prefix="SHORT")).decode().splitlines()
    data[2] = ",".join(data[2].split(",")[:7])
    res = import_file(db, world.users["staff_a"], "member_eligibility", "short.csv", ("\n".join(data) + "\n").encode())
    assert res.status == "rejected"
    assert any(p.row == 3 and "7 fields" in p.message and "20" in p.message for p in res.problems)


def test_excel_formulas_are_reported_as_formulas(db, world):
    from openpyxl import load_workbook

    rows = samples.member_rows(2, prefix="FX")
    wb = load_workbook(io.BytesIO(samples.to_xlsx(rows)))
    ws = wb.active
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("risk_score") + 1, value="=1+0.25")  # optional cell
    ws.cell(row=3, column=header.index("last_name") + 1, value='=UPPER("rivera")')  # required cell
    buf = io.BytesIO()
    wb.save(buf)
    res = import_file(db, world.users["staff_a"], "member_eligibility", "fx.xlsx", buf.getvalue())
    formulas = [(p.row, p.field) for p in res.problems if "formula" in p.message]
    assert formulas == [(2, "risk_score"), (3, "last_name")]
    assert not any(p.message == "required value is empty" for p in res.problems)
