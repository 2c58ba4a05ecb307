"""Pure delivery rules: codes, record validation, the episode window and renewals, pathway steps."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcare.core.errors import InvalidInput
from socialcare.delivery import rules
from socialcare.delivery.rules import RenewalState, RenewalStatus

TODAY = date(2026, 6, 15)


# ---- codes -----------------------------------------------------------------------------------


def test_service_codes_parse_with_modifiers():
    c = rules.parse_service_code(" s5170-u6 ")
    assert (c.hcpcs, c.modifiers, c.text, c.modifier_text) == ("S5170", ("U6",), "S5170-U6", "U6")
    assert rules.parse_service_code("T1016:U8:GQ").modifiers == ("U8", "GQ")
    assert rules.parse_service_code("98960").hcpcs == "98960"
    for bad in ("", "S517", "meal", "S5170-U", "S5170-U1-U2-U3-U4-U5"):
        with pytest.raises(ValueError):
            rules.parse_service_code(bad)


def test_code_offered_allows_extra_modifiers_only():
    assert rules.code_offered("S5170-U6", rules.parse_service_code("S5170-U6"))
    assert rules.code_offered("T1016", rules.parse_service_code("T1016-GQ"))  # telehealth modifier added
    assert not rules.code_offered("S5170-U6", rules.parse_service_code("S5170"))  # lost the program modifier
    assert not rules.code_offered("S5170", rules.parse_service_code("S9977"))
    assert not rules.code_offered(None, rules.parse_service_code("S5170"))


def test_z_codes_normalized():
    assert rules.normalize_z_code("z5941") == "Z59.41"
    assert rules.normalize_z_code("Z59.41") == "Z59.41"
    assert rules.normalize_z_code("") is None
    with pytest.raises(ValueError):
        rules.normalize_z_code("E11.9")  # a diagnosis, not a social determinant


# ---- service records -------------------------------------------------------------------------


def _input(**kw):
    base = dict(member_id=1, service_id=1, service_date=TODAY, units=2, place_of_service="12")
    base.update(kw)
    return rules.ServiceRecordInput(**base)


def test_valid_record_takes_the_service_code():
    checked, problems = rules.validate_service_record(_input(), today=TODAY, offered_code="S5170-U6")
    assert problems == []
    assert checked.code.text == "S5170-U6"


def test_every_bad_field_is_named_at_once():
    _, problems = rules.validate_service_record(
        _input(units=0, service_date=TODAY + timedelta(days=1), place_of_service="55", service_code="S9977",
               diagnosis_code="E11.9"),
        today=TODAY, offered_code="S5170-U6", row=7, file="services.csv")
    fields = {p.field for p in problems}
    assert fields == {"units", "service_date", "place_of_service", "service_code", "diagnosis_code"}
    assert all(p.row == 7 and p.file == "services.csv" for p in problems)
    assert any("future" in p.message for p in problems)


@pytest.mark.parametrize("units,ok", [(1, True), (-3, False), (0, False), (10000, False), (True, False)])
def test_units_are_positive_whole_numbers(units, ok):
    _, problems = rules.validate_service_record(_input(units=units), today=TODAY, offered_code="S5170")
    assert (problems == []) is ok


def test_service_without_billing_code_records_none_and_refuses_one():
    checked, problems = rules.validate_service_record(_input(), today=TODAY, offered_code=None)
    assert problems == [] and checked.code is None
    _, problems = rules.validate_service_record(_input(service_code="S5170"), today=TODAY, offered_code=None)
    assert [p.field for p in problems] == ["service_code"]


# ---- episode window and renewals ---------------------------------------------------------------


def test_marc_three_month_episode_window():
    # 90 days from Jan 1 includes Jan 1 and ends on Mar 31 (2026 is not a leap year)
    assert rules.period_end(date(2026, 1, 1), 90) == date(2026, 3, 31)
    assert rules.planned_end(date(2026, 1, 1), 90, 1) == date(2026, 6, 29)
    begin, end = rules.next_renewal_period(date(2026, 1, 1), 90, [])
    assert (begin, end) == (date(2026, 4, 1), date(2026, 6, 29))


starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
days = st.integers(min_value=1, max_value=200)
decisions = st.lists(st.sampled_from([RenewalStatus.APPROVED, RenewalStatus.DENIED]), max_size=6)


def _renewals(start, period, statuses):
    """Build renewals the way the service does: each request covers the next period after the approved ones."""
    out: list[RenewalState] = []
    for i, s in enumerate(statuses, 1):
        b, e = rules.next_renewal_period(start, period, out)
        out.append(RenewalState(i, b, e, s))
    return out


@given(starts, days, decisions)
def test_periods_tile_without_gaps_or_overlaps(start, period, statuses):
    rs = _renewals(start, period, statuses)
    approved = [r for r in rs if r.status == RenewalStatus.APPROVED]
    prev_end = rules.period_end(start, period)
    for r in approved:  # each approved period starts the day after the previous one and is as long
        assert r.period_start == prev_end + timedelta(days=1)
        assert (r.period_end - r.period_start).days + 1 == period
        prev_end = r.period_end
    assert rules.planned_end(start, period, len(approved)) == prev_end


@given(starts, days, decisions, st.one_of(st.none(), st.integers(min_value=0, max_value=4)))
def test_only_approved_renewals_within_the_maximum_are_paid(start, period, statuses, max_renewals):
    rs = _renewals(start, period, statuses)
    paid = rules.paid_periods(start, period, rs, max_renewals)
    assert paid[0] == ("initial", start, True)
    paid_renewals = [p for p in paid[1:] if p[2]]
    approved = sum(1 for r in rs if r.status == RenewalStatus.APPROVED)
    assert len(paid_renewals) == (approved if max_renewals is None else min(approved, max_renewals))
    denied_starts = {r.period_start for r in rs if r.status == RenewalStatus.DENIED}
    assert not any(p[1] in denied_starts and p[2] for p in paid[1:] if p[1] not in
                   {r.period_start for r in rs if r.status == RenewalStatus.APPROVED})


@given(starts, days, st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=400))
def test_renewal_request_respects_maximum_and_current_period(start, period, max_renewals, offset):
    rs = _renewals(start, period, [RenewalStatus.APPROVED] * max_renewals)
    on = start + timedelta(days=offset)
    why = rules.renewal_refusal("active", period, start, rs, max_renewals, on)
    assert why is not None and "at most" in why  # the maximum is used up, whatever the day
    why = rules.renewal_refusal("active", period, start, rs, None, on)
    end = rules.planned_end(start, period, max_renewals)
    assert (why is None) == (on <= end)


def test_one_pending_renewal_at_a_time_and_closed_episodes_cannot_renew():
    start = date(2026, 1, 1)
    pending = [RenewalState(1, date(2026, 4, 1), date(2026, 6, 29), RenewalStatus.REQUESTED)]
    assert "waiting" in rules.renewal_refusal("active", 90, start, pending, None, date(2026, 3, 1))
    assert "active" in rules.renewal_refusal("completed", 90, start, [], None, date(2026, 3, 1))
    assert rules.decision_refusal("approved", "active") == "this renewal was already approved"


@given(starts, days, st.integers(min_value=0, max_value=500))
def test_close_status(start, period, offset):
    planned = rules.period_end(start, period)
    end = start + timedelta(days=offset)
    status = rules.close_status(start, planned, end)
    assert status == (rules.EpisodeStatus.COMPLETED if end >= planned else rules.EpisodeStatus.CLOSED_EARLY)


# ---- pathways --------------------------------------------------------------------------------


def test_catalog_has_the_standard_pathways_with_benchmarks():
    cat = rules.pathway_catalog()
    assert len(cat.pathways) == 21
    food = cat.get("food_security")
    assert food.name == "Food Security" and food.obu == Decimal(2)
    assert [s.benchmark for s in food.steps if s.benchmark] == [1, 2, 3]
    assert food.steps[-1].code == "outcome_confirmed"
    assert cat.get("pregnancy").steps[-1].label == "Healthy birth weight confirmed"
    with pytest.raises(InvalidInput):
        cat.get("astrology")


def test_pathway_file_errors_name_the_field():
    text = """
default_steps:
  - {code: identified, label: Identify}
  - {code: assessed, label: Assess, benchmark: 1}
pathways:
  - {code: housing, name: Housing, obu: 4}
  - {code: housing, name: Housing again, obu: -1}
  - {name: No code, obu: 1}
"""
    with pytest.raises(InvalidInput) as exc:
        rules.parse_pathways(text, "my.yaml")
    fields = {p.field for p in exc.value.problems}
    assert {"default_steps", "pathways[1].obu", "pathways[2]", "pathways"} <= fields
    assert all(p.file == "my.yaml" for p in exc.value.problems)


def test_steps_go_in_order_and_completion_needs_every_step():
    p = rules.pathway_catalog().get("housing")
    done = {"identified": date(2026, 5, 1)}
    assert rules.step_refusal(p, done, "referred", date(2026, 5, 2), "open", TODAY) == "record 'Risk assessment' first"
    assert rules.step_refusal(p, done, "assessed", date(2026, 4, 30), "open", TODAY).startswith("'Risk assessment' "
                                                                                                  "cannot be before")
    assert rules.step_refusal(p, done, "assessed", TODAY + timedelta(days=1), "open", TODAY) is not None
    assert rules.step_refusal(p, done, "assessed", date(2026, 5, 2), "open", TODAY) is None
    assert rules.step_refusal(p, done, "assessed", date(2026, 5, 2), "completed", TODAY) == "the pathway is closed"
    assert "not every step" in rules.completion_refusal(p, done, "open", TODAY, TODAY)
    full = {s.code: date(2026, 5, 1) + timedelta(days=i) for i, s in enumerate(p.steps[:-1])}
    assert rules.completion_refusal(p, full, "open", date(2026, 6, 1), TODAY) is None
    assert rules.benchmarks_reached(p, full) == [1, 2]
    assert rules.next_step(p, full) == p.steps[-1]


def test_pathway_names_match_contract_terms():
    assert rules.name_key("Food Security") == rules.name_key("food_security") == "food security"


def test_disbursement_validation():
    assert rules.validate_disbursement(Decimal("25.00"), "utilities", TODAY, TODAY) == []
    problems = rules.validate_disbursement(Decimal("0.001"), "casino", TODAY + timedelta(days=1), TODAY)
    assert {p.field for p in problems} == {"amount", "category", "disbursed_on"}
