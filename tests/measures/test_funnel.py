"""The engagement funnel: the seed's sample scorecard to the person and the percent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from socialcare.measures import engine, rules
from socialcare.measures.engine import Scope
from tests.measures.conftest import add_members, add_referrals, seed_funnel

MONTH = date(2026, 3, 1)


def test_seed_sample_scorecard_to_the_person_and_percent(db, world):
    seed_funnel(db, world, MONTH)
    counts = engine.funnel_counts(db, Scope(world.plan.id, world.contract.id), MONTH)
    assert counts["assigned"] == 2069
    assert counts["outreached"] == 1642
    assert counts["contacted"] == 866
    assert counts["accepted"] == 420
    outreach = rules.Rate(counts["outreached"], counts["assigned"])
    contact = rules.Rate(counts["contacted"], counts["outreached"])
    accepted = rules.Rate(counts["accepted"], counts["contacted"])
    assert (outreach.display, contact.display, accepted.display) == ("79%", "53%", "48%")
    assert outreach.value == Decimal("79.3620")
    assert contact.value == Decimal("52.7406")
    assert accepted.value == Decimal("48.4988")
    assert rules.Goal(Decimal(80)).met(outreach.value) is False


def test_a_step_counts_only_after_the_steps_before_it(db, world):
    ids = add_members(db, world.plan, 3)
    # enrolled without a recorded contact (bad data) does not count as accepted support
    add_referrals(db, world, ids[:1], month=MONTH, steps=["outreached", "accepted"])
    add_referrals(db, world, ids[1:], month=MONTH, steps=["outreached", "contacted", "accepted"])
    counts = engine.funnel_counts(db, Scope(world.plan.id, world.contract.id), MONTH)
    assert counts == {"assigned": 3, "outreached": 3, "contacted": 2, "accepted": 2, "service_started": 0,
                      "completed": 0}


def test_member_counted_once_and_other_months_plans_partners_excluded(db, world):
    ids = add_members(db, world.plan, 4)
    add_referrals(db, world, ids[:2], month=MONTH, steps=["outreached"])
    add_referrals(db, world, ids[:1], month=MONTH, steps=["outreached", "contacted"], need_domain="housing")
    add_referrals(db, world, ids[2:3], month=date(2026, 4, 1), steps=[])  # next month's list
    add_referrals(db, world, ids[3:], month=MONTH, steps=[], status="entered-in-error")
    scope = Scope(world.plan.id, world.contract.id)
    counts = engine.funnel_counts(db, scope, MONTH)
    assert (counts["assigned"], counts["outreached"], counts["contacted"]) == (2, 2, 1)
    assert engine.funnel_counts(db, Scope(world.other_plan.id, world.contract.id), MONTH)["assigned"] == 0
    assert engine.funnel_counts(db, Scope(world.plan.id, world.contract.id, world.other_cbo.id), MONTH)[
        "assigned"] == 0
    by_month = engine.funnel_by_month(db, scope, date(2026, 2, 1), date(2026, 4, 1))
    assert [v["assigned"] for v in by_month.values()] == [0, 2, 1]


def test_referral_without_batch_is_assigned_in_the_month_it_was_requested(db, world):
    from tests.measures.conftest import at
    ids = add_members(db, world.plan, 2)
    add_referrals(db, world, ids[:1], month=MONTH, steps=[], batch=False, requested=at(date(2026, 3, 31), 23))
    add_referrals(db, world, ids[1:], month=MONTH, steps=[], batch=False, requested=at(date(2026, 4, 1), 0))
    assert engine.funnel_counts(db, Scope(world.plan.id, world.contract.id), MONTH)["assigned"] == 1


def test_strata_by_county_race_language_product_line(db, world):
    seed_funnel(db, world, MONTH, county=lambda i: "Erie" if i % 2 else "Niagara",
                preferred_language=lambda i: "es" if i < 5 else "en")
    cells = engine.funnel_strata(db, Scope(world.plan.id, world.contract.id), MONTH)
    county = {c.value: c.counts for c in cells if c.dimension == "county"}
    assert county["Erie"]["assigned"] + county["Niagara"]["assigned"] == 2069
    lang = {c.value: c.counts["assigned"] for c in cells if c.dimension == "language"}
    assert lang == {"en": 2064, "es": 5}
    shared = rules.suppress_cells(cells, "assigned")
    hidden = {(c.dimension, c.value) for c in shared if c.suppressed}
    # 'es' has 5 members; 'en' is the only other language cell, so it is hidden too (complementary)
    assert ("language", "es") in hidden and ("language", "en") in hidden
    assert not any(d == "county" for d, _ in hidden)
