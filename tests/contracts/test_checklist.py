"""The guide's Scope of Work Checklist, row for row, generated from the scope of work."""

from __future__ import annotations

import re
from pathlib import Path

from socialcare.contracts import rules
from tests.contracts.conftest import complete_sow

# The guide's checklist table, copied verbatim from seed 002 (tests/fixtures/README.md).
SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seeds" / "002-scope-of-work-checklist.txt"


def _seed_rows() -> list[str]:
    """The provisions of the seed's "Resource Guide: Scope of Work Checklist" table, in order."""
    text = SEED.read_text()
    assert text.startswith("Resource Guide: Scope of Work Checklist")
    rows = []
    for line in text.splitlines():
        if "Yes/No" not in line:
            continue
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        rows.append(cells[cells.index("Yes/No") - 1])
    return rows


def test_the_checklist_is_the_guides_row_for_row():
    rows, _extra = rules.checklist_definition()
    assert [r.item for r in rows] == _seed_rows()
    assert len(rows) == 22
    # the Due Date column exists only for the staffing and flexibility tables in the guide
    with_due = {r.section for r in rows if r.due_date}
    assert with_due == {"WHO Staffing licensure, training and accountability", "HOW Flexibility"}


def test_a_complete_scope_of_work_shows_all_yes():
    result = rules.checklist(complete_sow().model_dump(mode="json"))
    assert [r.answer for r in result.rows] == ["Yes"] * 22
    assert result.complete and result.missing == []
    assert all(r.present for r in result.also_recommended)
    revisit = next(r for r in result.rows if r.row.id == "revisit_terms")
    assert revisit.due is not None  # the flexibility row carries its due date


def test_missing_items_are_named_with_what_to_add():
    doc = complete_sow().model_dump(mode="json")
    doc["what"]["workflows"] = [w for w in doc["what"]["workflows"] if w["activity"] != "escalation"]
    doc["how"]["data_sharing"]["to_partner"] = {}
    doc["how"]["flexibility"]["revisit_date"] = None
    doc["who"]["staffing"]["trainings"] = []
    doc["what"]["services"][0]["provision"]["settings"] = []
    result = rules.checklist(doc)
    missing = {r.row.item for r in result.missing}
    assert missing == {
        "Escalation process",
        "Data shared with Community-Based Organization/Community Care Hub- what, how, when",
        "Revisit contract terms mid- contract",
        "Staff trainings",
        "Service setting",
    }
    for r in result.missing:
        assert r.answer == "No" and r.comment.startswith("Missing. Add: ") and len(r.comment) > 30


def test_every_service_must_say_its_setting():
    doc = complete_sow().model_dump(mode="json")
    second = dict(doc["what"]["services"][0], name="Rides")
    second["provision"] = dict(second["provision"], settings=[])
    doc["what"]["services"].append(second)
    assert not next(r for r in rules.checklist(doc).rows if r.row.id == "service_setting").present


def test_empty_scope_of_work_is_all_missing_except_not_applicable_rows():
    result = rules.checklist({})
    present = [r.row.id for r in result.rows if r.present]
    # no maximum volume -> prioritization "if applicable" does not apply
    assert present == ["prioritization"]
    assert next(r for r in result.rows if r.row.id == "prioritization").not_applicable


def test_if_applicable_rows_accept_an_explicit_no():
    doc = complete_sow().model_dump(mode="json")
    doc["who"]["staffing"]["licensure_required"] = None
    doc["who"]["staffing"]["licensures"] = []
    result = {r.row.id: r for r in rules.checklist(doc).rows}
    assert not result["licensure"].present
    assert not result["credentialing"].present  # not discussed: credentialing counts as missing
    doc["who"]["staffing"]["licensure_required"] = False
    result = {r.row.id: r for r in rules.checklist(doc).rows}
    assert result["licensure"].present and result["credentialing"].not_applicable


def test_workflow_development_is_satisfied_by_workflows_in_the_sow():
    doc = complete_sow().model_dump(mode="json")
    doc["what"]["prelaunch"]["workflow_development"] = None
    assert next(r for r in rules.checklist(doc).rows if r.row.id == "workflow_development").present
    doc["what"]["workflows"] = []
    row = next(r for r in rules.checklist(doc).rows if r.row.id == "workflow_development")
    assert not row.present
    assert re.search("referral and reporting workflows", row.comment)
