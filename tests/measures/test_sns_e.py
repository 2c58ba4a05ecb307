"""HEDIS SNS-E: each rate's edge cases (docs/standards.md §2.1)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from socialcare.measures import engine, rules
from socialcare.measures.engine import Scope
from socialcare.measures.models import MeasureExclusion
from tests.measures.conftest import add_members, add_referrals, add_screening, add_span, at

DEC = date(2026, 12, 1)  # year-end report: the full HEDIS definition


def sns(db, world, month=DEC, **kw):
    return engine.sns_e(db, Scope(world.plan.id), month, **kw)


@pytest.mark.parametrize("days_after, counted", [(0, True), (30, True), (31, False), (-1, False)])
def test_intervention_on_day_0_and_30_counts_not_31_nor_before(db, world, days_after, counted):
    (mid,) = add_members(db, world.plan, 1)
    screen_day = date(2026, 5, 10)
    add_screening(db, world.plan, mid, screen_day, [("food", True)])
    add_referrals(db, world, [mid], month=date(2026, 5, 1), steps=[], batch=False, need_domain="food",
                  requested=at(screen_day + timedelta(days=days_after), 23))
    food = sns(db, world)["rates"]["food"]
    assert (food["intervention"].denominator, food["intervention"].numerator) == (1, 1 if counted else 0)
    assert food["screening"].numerator == 1


def test_intervention_must_match_the_domain_and_follow_the_first_positive(db, world):
    a, b = add_members(db, world.plan, 2)
    add_screening(db, world.plan, a, date(2026, 3, 1), [("housing", True)])
    add_screening(db, world.plan, a, date(2026, 6, 1), [("housing", True)])  # a later positive does not restart
    add_referrals(db, world, [a], month=date(2026, 6, 1), steps=[], batch=False, need_domain="housing",
                  requested=at(date(2026, 6, 5)))
    add_screening(db, world.plan, b, date(2026, 3, 1), [("transportation", True)])
    add_referrals(db, world, [b], month=date(2026, 3, 1), steps=[], batch=False, need_domain="food",
                  requested=at(date(2026, 3, 5)))
    rates = sns(db, world)["rates"]
    assert (rates["housing"]["intervention"].numerator, rates["housing"]["intervention"].denominator) == (0, 1)
    assert (rates["transportation"]["intervention"].numerator,
            rates["transportation"]["intervention"].denominator) == (0, 1)


def test_screening_counts_any_coded_answer_within_jan_1_to_dec_1(db, world):
    neg, declined, late, early = add_members(db, world.plan, 4)
    add_screening(db, world.plan, neg, date(2026, 2, 1), [("food", False), ("housing", False)])
    add_screening(db, world.plan, declined, date(2026, 2, 1), [], status="declined")
    add_screening(db, world.plan, late, date(2026, 12, 2), [("food", True)])
    add_screening(db, world.plan, early, date(2025, 12, 31), [("food", True)])
    result = sns(db, world, month=date(2026, 12, 1))
    food = result["rates"]["food"]
    assert result["members"] == 4
    assert food["screening"].numerator == 1  # only the negative screen inside the window
    assert result["rates"]["housing"]["screening"].numerator == 1
    assert food["intervention"].denominator == 0  # Dec 2 positive is after Dec 1


def test_month_report_holds_back_positives_whose_30_days_have_not_run(db, world):
    a, b = add_members(db, world.plan, 2)
    add_screening(db, world.plan, a, date(2026, 4, 1), [("food", True)])
    add_screening(db, world.plan, b, date(2026, 4, 20), [("food", True)])
    food = sns(db, world, month=date(2026, 4, 1))["rates"]["food"]
    assert food["screening"].numerator == 2
    assert food["intervention"].denominator == 0  # Apr 30 - 30 days = Mar 31: both too recent
    food = sns(db, world, month=date(2026, 5, 1))["rates"]["food"]
    assert food["intervention"].denominator == 2  # May 31 - 30 = May 1


@pytest.mark.parametrize("kind, birth, product_line, excluded", [
    ("hospice", date(1990, 1, 1), "medicaid", True),
    ("death", date(1990, 1, 1), "commercial", True),
    ("isnp", date(1960, 12, 31), "medicare_advantage", True),   # 66 on Dec 31, 2026
    ("isnp", date(1961, 1, 1), "medicare_advantage", False),    # 65 on Dec 31, 2026
    ("lti", date(1950, 6, 1), "dual_special_needs", True),
    ("lti", date(1950, 6, 1), "medicaid", False),               # I-SNP/LTI exclusion is for Medicare only
])
def test_exclusions_and_the_66_age_limit(db, world, kind, birth, product_line, excluded):
    (mid,) = add_members(db, world.plan, 1, birth_date=birth, product_line=product_line)
    add_screening(db, world.plan, mid, date(2026, 3, 1), [("food", True)])
    db.add(MeasureExclusion(member_id=mid, plan_id=world.plan.id, kind=kind, start_date=date(2026, 7, 1)))
    db.flush()
    assert sns(db, world)["members"] == (0 if excluded else 1)


def test_exclusion_outside_the_year_does_not_exclude(db, world):
    (mid,) = add_members(db, world.plan, 1)
    db.add(MeasureExclusion(member_id=mid, plan_id=world.plan.id, kind="hospice", start_date=date(2025, 1, 1),
                            end_date=date(2025, 12, 31)))
    db.flush()
    assert sns(db, world)["members"] == 1


def test_age_bands_use_age_on_dec_31(db, world):
    add_members(db, world.plan, 1, birth_date=date(2009, 1, 1))   # 17 on Dec 31, 2026
    add_members(db, world.plan, 1, birth_date=date(2008, 12, 31))  # 18
    add_members(db, world.plan, 1, birth_date=date(1961, 12, 31))  # 65
    add_members(db, world.plan, 1, birth_date=date(2027, 1, 1))    # not born yet: not in the population
    strata = sns(db, world, group_by="age_band")["strata"]
    assert {k: v["members"] for k, v in strata.items()} == {"0-17": 1, "18-64": 1, "65+": 1}


@pytest.mark.parametrize("spans, enrolled", [
    ([(date(2025, 1, 1), None)], True),
    ([(date(2026, 2, 14), None)], True),                          # 44 days missing at the start
    ([(date(2026, 2, 16), None)], False),                         # 46 days missing
    ([(date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 20), None)], True),   # one gap of 19 days
    ([(date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 10), date(2026, 8, 31)),
      (date(2026, 9, 10), None)], False),                         # two gaps
])
def test_continuous_enrollment_allows_one_gap_of_45_days(db, world, spans, enrolled):
    (mid,) = add_members(db, world.plan, 1)
    for start, end in spans:
        add_span(db, mid, start, end)
    assert sns(db, world, month=date(2026, 12, 1))["members"] == (1 if enrolled else 0)


def test_rates_by_product_line_and_contract_population(db, world):
    a, b = add_members(db, world.plan, 2, product_line=lambda i: "medicaid" if i == 0 else "commercial")
    add_screening(db, world.plan, a, date(2026, 3, 1), [("food", True)])
    add_referrals(db, world, [a], month=date(2026, 3, 1), steps=[], batch=False, requested=at(date(2026, 3, 2)))
    result = engine.sns_e(db, Scope(world.plan.id), DEC, group_by="product_line")
    assert result["strata"]["medicaid"]["rates"]["food"]["intervention"].display == "100%"
    assert result["strata"]["commercial"]["rates"]["food"]["screening"].display == "0%"
    on_contract = engine.sns_e(db, Scope(world.plan.id, world.contract.id), DEC)
    assert on_contract["members"] == 1


def test_window_dates():
    w = rules.SnsWindow.for_month(date(2026, 12, 1))
    assert (w.screen_last, w.positive_last) == (date(2026, 12, 1), date(2026, 12, 1))
    w = rules.SnsWindow.for_month(date(2026, 3, 1))
    assert (w.screen_last, w.positive_last) == (date(2026, 3, 31), date(2026, 3, 1))
