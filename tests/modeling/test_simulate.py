"""The risk simulation: closed-form cases, reproducibility, and the vectorized settlement against the
real engine (socialcare.payments.rules.settle) on sampled scenarios, to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from socialcare.core.errors import InvalidInput
from socialcare.modeling.advisor import advise
from socialcare.modeling.schemas import SIM_MODELS, Situation, load_inputs, parse_inputs
from socialcare.modeling.simulate import draw, revenue_cents, settle_scenario, simulate
from socialcare.modeling.summary import GUIDE, summary_table
from socialcare.modeling.win3 import win3

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "modeling"


@pytest.fixture(scope="module")
def meals():
    return load_inputs(EXAMPLES / "meals_scale_up.yaml")


@pytest.fixture(scope="module")
def meals_sim(meals):
    return simulate(meals, 4000, seed=7)


def test_examples_simulate_all_six_models():
    for f in EXAMPLES.glob("*.yaml"):
        if f.name == "meals_cost.yaml":
            continue
        i = load_inputs(f)
        assert set(simulate(i, 200, 1).models) == set(i.terms.models())
    assert load_inputs(EXAMPLES / "meals_scale_up.yaml").terms.models() == list(SIM_MODELS)


def test_same_seed_same_result_other_seed_differs(meals):
    a, b, c = simulate(meals, 3000, 42), simulate(meals, 3000, 42), simulate(meals, 3000, 43)
    for m in a.models:
        assert a.models[m].as_dict() == b.models[m].as_dict()
        assert np.array_equal(a.models[m].margin_sample, b.models[m].margin_sample)
    assert a.models["fee_for_service"].margin_median != c.models["fee_for_service"].margin_median


def test_fixed_price_and_capitation_revenue_have_zero_variance(meals, meals_sim):
    sc = draw(meals, 5000, 3)
    for m in ("fixed_price", "capitation"):
        rev = revenue_cents(meals, m, sc.units_m, sc.members, sc.completions)
        assert rev.std() == 0
        assert meals_sim.models[m].plan_cost_cv == 0
    assert revenue_cents(meals, "fixed_price", sc.units_m, sc.members, sc.completions)[0] == 9_500_000
    # capitation: 0.80 × 10,000 members × 12 months, whatever the volume
    assert revenue_cents(meals, "capitation", sc.units_m, sc.members, sc.completions)[0] == 9_600_000
    assert meals_sim.models["capitation"].marginal_revenue_member == 0


def test_capitation_revenue_does_not_move_with_volume(meals):
    sc = draw(meals, 100, 1)
    base = revenue_cents(meals, "capitation", sc.units_m, sc.members, sc.completions)
    more = revenue_cents(meals, "capitation", sc.units_m * 3, sc.members * 3, sc.completions)
    assert np.array_equal(base, more)


def test_ffs_revenue_is_linear_in_volume_until_the_cap():
    i = parse_inputs((EXAMPLES / "meals_scale_up.yaml").read_text().replace("  ffs_max_units: 9000\n", ""))
    sc = draw(i, 200, 2)
    r1 = revenue_cents(i, "fee_for_service", sc.units_m, sc.members, sc.completions)
    r2 = revenue_cents(i, "fee_for_service", sc.units_m * 2, sc.members, sc.completions)
    assert np.array_equal(r2, 2 * r1)
    assert np.array_equal(r1, sc.units * 1375)
    # with the example's annual cap of 9,000 meals nothing above 9,000 × $13.75 is paid
    capped = load_inputs(EXAMPLES / "meals_scale_up.yaml")
    big = revenue_cents(capped, "fee_for_service", sc.units_m * 10, sc.members, sc.completions)
    assert big.max() == 9000 * 1375


def test_hybrid_never_pays_less_than_the_capitation(meals):
    sc = draw(meals, 2000, 4)
    rev = revenue_cents(meals, "hybrid_ffs_capitation", sc.units_m, sc.members, sc.completions)
    assert (rev >= 650_000 * 12).all()
    zero = revenue_cents(meals, "hybrid_ffs_capitation", sc.units_m * 0, sc.members, sc.completions)
    assert (zero == 650_000 * 12).all()


def test_p4p_bonus_only_when_the_target_is_met(meals):
    units = np.array([[100] * 12, [100] * 12])
    members, completions = np.array([10, 10]), np.array([6, 5])  # 60 % meets the 60 % target, 50 % does not
    rev = revenue_cents(meals, "pay_for_performance", units, members, completions)
    assert rev.tolist() == [1200 * 1250 + 800_000, 1200 * 1250]


@pytest.mark.parametrize("model", SIM_MODELS)
def test_vectorized_path_agrees_with_the_settlement_engine(meals, model):
    sc = draw(meals, 400, 11)
    rev = revenue_cents(meals, model, sc.units_m, sc.members, sc.completions)
    for k in np.linspace(0, 399, 20).astype(int):
        assert settle_scenario(meals, model, sc, int(k)) == Decimal(int(rev[k])) / 100, (model, k)


def test_engine_agreement_at_the_edges():
    """FFS minimum guarantee and cap, a P4P penalty, a month with no services."""
    text = (EXAMPLES / "pilot.yaml").read_text().replace('ffs_rate: "250.00"', 'ffs_rate: "250.00"\n  '
                                                         'ffs_min_units: 300\n  ffs_max_units: 900').replace(
        'p4p_bonus: "15000.00"', 'p4p_bonus: "15000.00"\n  p4p_penalty: "5000.00"')
    i = parse_inputs(text)
    sc = draw(i, 300, 5)
    assert (sc.units < 300).any() and (sc.units_m == 0).any()
    for model in i.terms.models():
        rev = revenue_cents(i, model, sc.units_m, sc.members, sc.completions)
        for k in range(0, 300, 15):
            assert settle_scenario(i, model, sc, k) == Decimal(int(rev[k])) / 100, (model, k)


def test_margin_statistics_are_ordered_and_loss_probability_matches(meals_sim):
    for r in meals_sim.models.values():
        assert r.margin_p5 <= r.margin_median <= r.margin_p95
        assert 0 <= r.p_loss <= 1
    ffs = meals_sim.models["fee_for_service"]
    # FFS pays $13.75 for each of ~14 meals: one more member brings about 13.75 × 12.7 meals
    assert 140 < ffs.marginal_revenue_member < 190
    assert meals_sim.models["bundled"].marginal_revenue_member == pytest.approx(175.0)
    assert meals_sim.models["fixed_price"].efficiency_kept == pytest.approx(1.0)
    assert ffs.efficiency_kept < 0  # the fee lost is more than the variable cost saved


def test_summary_table_has_the_guides_seven_rows_and_flags_disagreements(meals, meals_sim):
    rows = summary_table(meals, meals_sim)
    assert [r.feature for r in rows][:2] == ["Financial risk to CBO", "Financial risk to payer"]
    assert len(rows) == 7 == len(GUIDE)
    payer = rows[1].cells
    assert payer["fixed_price"].measured == "Low" and payer["capitation"].measured == "Low"
    assert payer["fee_for_service"].measured == "High" and not payer["fee_for_service"].disagrees
    volume = rows[4].cells
    assert volume["fee_for_service"].measured == "High" and volume["capitation"].measured == "Low"
    assert volume["hybrid_ffs_capitation"].guide is None and not volume["hybrid_ffs_capitation"].disagrees
    # the fixed price with volume risk on the CBO side: more risk than the guide's "Low"
    cbo = rows[0].cells["fixed_price"]
    assert cbo.disagrees and "the guide says Low" in cbo.note


def test_win3_colours(meals, meals_sim):
    v = {x.party: x for x in win3(meals, meals_sim, "hybrid_ffs_capitation")}
    assert v["member"].status == "green"
    assert v["plan"].status == "amber" and "per completed outcome" in v["plan"].reason
    assert v["cbo"].status in ("amber", "green")
    no_outcome = parse_inputs((EXAMPLES / "meals_scale_up.yaml").read_text().replace(
        'outcome_measure: "30-day readmission after discharge"', 'outcome_measure: ""'))
    v = {x.party: x for x in win3(no_outcome, meals_sim, "fee_for_service")}
    assert v["member"].status == "red"
    # a fixed price far below cost: red for the CBO
    cheap = parse_inputs((EXAMPLES / "meals_scale_up.yaml").read_text().replace(
        'fixed_price_total: "95000.00"', 'fixed_price_total: "40000.00"'))
    v = {x.party: x for x in win3(cheap, simulate(cheap, 1000, 1), "fixed_price")}
    assert v["cbo"].status == "red" and "does not cover" in v["cbo"].reason


def test_advisor_follows_the_guide():
    pilot = advise(Situation(stage="pilot"))
    assert pilot.suggested == ["fixed_price"] and pilot.path[0] == "fixed_price" and pilot.path[-1] == "capitation"
    assert any("pilot projects" in q for _, q in pilot.quotes())
    assert any("invoice" in q for _, q in pilot.quotes())
    mature = advise(Situation(stage="scale_up", cost_data=True, volume_data=True, claims_experience=True,
                              reserves_months=Decimal(8), volume_certainty="high"))
    assert mature.suggested[0] == "capitation"
    thin = advise(Situation(stage="scale_up", cost_data=True, volume_data=True, reserves_months=Decimal(1)))
    assert "capitation" not in thin.suggested and any("reserves" in q for _, q in thin.quotes())


def test_bad_inputs_name_the_field():
    with pytest.raises(InvalidInput) as exc:
        parse_inputs((EXAMPLES / "meals_scale_up.yaml").read_text().replace('ffs_rate: "13.75"', 'ffs_rate: "13.755"')
                     .replace("engagement_rate: {low: 0.6", "engagement_rate: {low: 1.6"), "x.yaml")
    text = " ".join(str(p) for p in exc.value.problems)
    assert "terms" in text and "more than two decimals" in text and "drivers" in text
    with pytest.raises(InvalidInput) as exc:
        parse_inputs("drivers: {}\nterms: {}\nbogus: 1\n", "y.yaml")
    assert any(p.field == "bogus" and p.file == "y.yaml" for p in exc.value.problems)
