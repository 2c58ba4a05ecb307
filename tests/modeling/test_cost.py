"""Fully loaded unit cost (seed 002: cover "the costs to provide the service plus relevant overhead
(including the administrative and development costs)")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from socialcare.modeling.cost import UnitCostInputs, unit_cost

D = Decimal


def meals_inputs(**kw) -> UnitCostInputs:
    data = dict(
        service="Home-delivered meal",
        unit="meal",
        expected_units_per_year="24000",
        low_units_per_year="12000",
        high_units_per_year="36000",
        staff=[
            {"role": "kitchen", "minutes_per_unit": "6", "hourly_wage": "20", "benefits_rate": "0.25"},
            {"role": "driver", "minutes_per_unit": "4", "hourly_wage": "18", "benefits_rate": "0.25"},
        ],
        materials_per_unit="3.10",
        overhead_rate="0.15",
        billing_mode="invoice",
        billing={"invoice_cost_per_month": "150"},
        prelaunch_costs="6000",
        development_costs="6000",
        amortization_years="2",
        committee_hours_per_month="4",
        committee_hourly_cost="50",
        units_per_episode="28",
        attributed_members="2000",
    )
    data.update(kw)
    return UnitCostInputs.model_validate(data)


def test_meal_cost_line_by_line():
    r = unit_cost(meals_inputs())
    # kitchen 6/60×20×1.25 = 2.50; driver 4/60×18×1.25 = 1.50; materials 3.10 → direct 7.10
    # overhead 7.10 × 0.15 = 1.065 → variable 8.165
    # fixed: invoices 150×12 = 1,800; amortized (6,000+6,000)/2 = 6,000; committee 4×12×50 = 2,400 → 10,200
    assert [ln.amount for ln in r.lines] == [D("2.50"), D("1.50"), D("3.10"), D("1.07"), D("1800.00"), D("6000.00"), D("2400.00")]
    assert r.variable_per_unit == D("8.165")
    assert r.fixed_per_year == D("10200")
    # at 24,000 meals: (8.165 × 24,000 + 10,200) / 24,000 = 8.59
    assert r.at_expected.cost_per_unit == D("8.59")
    assert r.at_expected.total_cost == D("206160.00")
    # at 12,000: 8.165 + 0.85 = 9.015 → 9.02 (half up)
    assert r.at_low.cost_per_unit == D("9.02")
    assert r.at_high.cost_per_unit == D("8.45")
    assert r.break_even["fee_for_service"].amount == D("8.59")
    assert r.break_even["fixed_price"].amount == D("206160.00")
    # 24,000 meals / 28 per episode = 857.14 episodes → 206,160 / 857.142857 = 240.52
    assert r.break_even["bundled"].amount == D("240.52")
    # 206,160 / (2,000 × 12) = 8.59 PMPM
    assert r.break_even["capitation"].amount == D("8.59")


def test_claims_billing_costs_more_than_invoices():
    inv = unit_cost(meals_inputs())
    clm = unit_cost(meals_inputs(billing_mode="claims"))
    # claims: +2.50 a line and 600 a month instead of 150
    assert clm.at_expected.cost_per_unit > inv.at_expected.cost_per_unit
    # (8.165 + 2.50) + (7,200 + 6,000 + 2,400) / 24,000 = 11.315 → 11.32 (half up)
    assert clm.break_even["fee_for_service"].amount == D("11.32")
    # fixed price and capitation are invoiced whatever the CBO's billing mode
    assert clm.break_even["fixed_price"].amount == inv.break_even["fixed_price"].amount


def test_margin_and_expected_bonus_move_the_rates():
    r = unit_cost(meals_inputs(target_margin="0.10", expected_bonus_share="0.20"))
    assert r.break_even["fee_for_service"].amount == D("9.54")  # 8.59 / 0.9
    assert r.break_even["pay_for_performance"].amount == D("7.64")  # 9.544 × 0.8


def test_floats_are_read_exactly_and_junk_is_refused():
    r = UnitCostInputs.model_validate({"service": "x", "expected_units_per_year": 100, "materials_per_unit": 0.1})
    assert r.materials_per_unit == D("0.1")
    with pytest.raises(ValidationError) as exc:
        UnitCostInputs.model_validate({"service": "x", "expected_units_per_year": 0})
    assert "expected_units_per_year" in str(exc.value)
    with pytest.raises(ValidationError):
        UnitCostInputs.model_validate({"service": "x", "expected_units_per_year": 10, "typo": 1})


@given(
    low=st.integers(min_value=1, max_value=10_000),
    extra=st.integers(min_value=0, max_value=100_000),
)
def test_unit_cost_never_rises_with_volume(low, extra):
    """Fixed costs spread over more units: the cost per unit falls (or stays) as volume grows."""
    r = unit_cost(meals_inputs(expected_units_per_year=str(low), low_units_per_year=None,
                               high_units_per_year=str(low + extra) if extra else None))
    if r.at_high:
        assert r.at_high.cost_per_unit <= r.at_expected.cost_per_unit
    assert r.at_expected.cost_per_unit >= (r.variable_per_unit - D("0.005"))
