"""Fully loaded unit cost (seed 002: cover "the costs to provide the service plus relevant overhead
(including the administrative and development costs)")."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from socialcare.core.money import cents
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
    # per meal at 24,000 meals: invoices 1,800 / 24,000 = 0.075, amortized 0.25, committee 0.10; the
    # half cents of overhead (1.065) and invoicing (0.075) share one cent so the lines add up to 8.59
    assert [ln.amount for ln in r.lines] == [D("2.50"), D("1.50"), D("3.10"), D("1.07"), D("0.07"), D("0.25"),
                                             D("0.10")]
    assert sum(ln.amount for ln in r.lines) == r.at_expected.cost_per_unit
    assert [ln.amount for ln in r.fixed_lines] == [D("1800.00"), D("6000.00"), D("2400.00")]
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


# ---- explanations that add up (issue 24) ---------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=5_000, places=2, allow_nan=False, allow_infinity=False)
shares = st.decimals(min_value=0, max_value="0.9", places=3, allow_nan=False, allow_infinity=False)


@st.composite
def cost_inputs(draw):
    staff = [{"role": f"role {i}", "minutes_per_unit": str(draw(st.decimals(0, 240, places=1))),
              "hourly_wage": str(draw(st.decimals(0, 90, places=2))), "benefits_rate": str(draw(shares))}
             for i in range(draw(st.integers(0, 3)))]
    return UnitCostInputs.model_validate(dict(
        service="s", expected_units_per_year=str(draw(st.integers(1, 500_000))), staff=staff,
        materials_per_unit=str(draw(st.decimals(0, 50, places=2))), overhead_rate=str(draw(shares)),
        billing_mode=draw(st.sampled_from(["invoice", "claims"])),
        billing={"invoice_cost_per_month": str(draw(amounts)), "claims_fixed_per_month": str(draw(amounts)),
                 "claims_cost_per_line": str(draw(st.decimals(0, 20, places=2)))},
        prelaunch_costs=str(draw(amounts)), development_costs=str(draw(amounts)),
        amortization_years=str(draw(st.integers(1, 7))), committee_hours_per_month=str(draw(st.integers(0, 40))),
        committee_hourly_cost=str(draw(st.decimals(0, 150, places=2))),
        target_margin=str(draw(shares)), margin_convention=draw(st.sampled_from(["gross_up", "markup"])),
    ))


@settings(max_examples=200, deadline=None)
@given(cost_inputs())
def test_the_listed_components_add_up_to_the_total_per_unit(inputs):
    """Every line of the explanation is per unit, and they sum to the cost per unit to the cent, in
    either billing mode (claims used to add a per-line cost to a yearly fixed cost)."""
    r = unit_cost(inputs)
    assert sum((ln.amount for ln in r.lines), D(0)) == r.at_expected.cost_per_unit
    assert sum((ln.amount for ln in r.fixed_lines), D(0)) == cents(r.fixed_per_year)
    assert all(ln.amount >= 0 for ln in r.lines + r.fixed_lines)
    # each shown amount is its exact value rounded up or down, never further
    v = inputs.expected_units_per_year
    assert abs(sum((ln.amount for ln in r.fixed_lines), D(0)) / v - (r.at_expected.cost_per_unit
                                                                      - r.variable_per_unit)) < D("0.01") * 4
    if inputs.billing_mode == "claims":
        per_line = next(ln for ln in r.lines if ln.label == "billing per claim line")
        assert per_line.amount == inputs.billing.claims_cost_per_line
    text = r.explain()
    assert "E+" not in text and "E-" not in text
    assert f"= {r.at_expected.cost_per_unit:,f} per unit" in text
    # the volume line's operands give its total by hand
    line = next(x for x in text.splitlines() if x.strip().startswith("expected, "))
    var, units, fixed, total = (D(x.replace(",", "")) for x in re.findall(r"[\d,]+(?:\.\d+)?", line.split(":")[1])[:4])
    assert units == v and abs(var * units + fixed - total) <= D("0.01") and total == r.at_expected.total_cost


def test_claims_billing_lines_are_per_claim_line_and_per_year_apart():
    r = unit_cost(meals_inputs(billing_mode="claims"))
    by = {ln.label: ln.amount for ln in r.lines}
    assert by["billing per claim line"] == D("2.50")
    assert by["billing (claims), fixed per unit"] == D("0.30")  # 600 × 12 / 24,000
    assert {ln.label: ln.amount for ln in r.fixed_lines}["billing (claims), fixed"] == D("7200.00")
    assert sum(by.values()) == r.at_expected.cost_per_unit == D("11.32")


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "modeling" / "meals_cost.yaml"


@pytest.mark.parametrize(("convention", "expected"), [
    # the example's annual cost is 206,160.00 (8.59 a meal); a 10 % target margin:
    # gross-up: 206,160 / 0.9 = 229,066.67; 8.59 / 0.9 = 9.544 → 9.54; 240.52 / 0.9 = 267.244 → 267.24
    ("gross_up", {"fixed_price": "229066.67", "fee_for_service": "9.54", "bundled": "267.24", "capitation": "9.54"}),
    # mark-up: 206,160 × 1.1 = 226,776.00; 8.59 × 1.1 = 9.449 → 9.45; 240.52 × 1.1 = 264.572 → 264.57
    ("markup", {"fixed_price": "226776.00", "fee_for_service": "9.45", "bundled": "264.57", "capitation": "9.45"}),
])
def test_both_margin_conventions_agree_with_hand_arithmetic_on_the_example(convention, expected):
    data = yaml.safe_load(EXAMPLE.read_text())
    assert data["target_margin"] == "0.10" and data["margin_convention"] == "gross_up"
    r = unit_cost(UnitCostInputs.model_validate({**data, "margin_convention": convention}))
    assert r.at_expected.total_cost == D("206160.00")
    assert {k: str(r.break_even[k].amount) for k in expected} == expected
    assert r.margin.convention == convention
    sign = "× (1 + 0.1)" if convention == "markup" else "/ (1 − 0.1)"
    assert all(sign in ln.formula for ln in r.break_even.values())
    assert r.as_dict()["margin"]["convention"] == convention


def test_the_cost_command_shows_the_convention_it_used(tmp_path):
    from typer.testing import CliRunner

    from socialcare.modeling.cli import app

    runner = CliRunner()
    text = runner.invoke(app, ["cost", str(EXAMPLE)])
    assert text.exit_code == 0, text.output
    assert "target margin 10 % as a gross-up (margin on the price): price = cost / (1 − 0.1)" in text.output
    assert "fee_for_service: fee per unit: annual cost $206,160.00 / 24,000 units / (1 − 0.1) = 9.54" in text.output
    markup = tmp_path / "markup.yaml"
    markup.write_text(EXAMPLE.read_text().replace("margin_convention: gross_up", "margin_convention: markup"))
    out = runner.invoke(app, ["cost", str(markup), "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    assert d["margin"]["convention"] == "markup" and d["break_even"]["fee_for_service"]["amount"] == "9.45"
    assert sum(D(ln["amount"]) for ln in d["lines"]) == D(d["at_volume"]["expected"]["cost_per_unit"])


def test_a_gross_up_of_100_percent_is_refused_a_markup_is_not():
    with pytest.raises(ValidationError) as exc:
        meals_inputs(target_margin="1")
    assert "margin_convention: markup" in str(exc.value)
    r = unit_cost(meals_inputs(target_margin="1", margin_convention="markup"))
    assert r.break_even["fee_for_service"].amount == D("17.18")  # 8.59 × 2


def test_numbers_are_written_as_people_write_them():
    # 2,800 meals of 28 per episode is 100 episodes, not "1E+2 episodes"
    r = unit_cost(meals_inputs(expected_units_per_year="2800", low_units_per_year=None, high_units_per_year=None,
                               units_per_episode="28"))
    assert "= 100 episodes" in r.break_even["bundled"].formula
    r = unit_cost(meals_inputs(expected_units_per_year=D("2.4E+4"), attributed_members=D("2E+3")))
    text = r.explain()
    assert "24,000 units" in text and "2,000 members" in text and "E+" not in text
