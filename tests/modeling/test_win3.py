"""The win3 check: the plan's verdict without a cost-per-outcome target, and exit codes that do not
depend on the output format (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcare.modeling.cli import app
from socialcare.modeling.schemas import parse_inputs
from socialcare.modeling.simulate import simulate
from socialcare.modeling.win3 import win3

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "modeling"


def _no_savings_no_target() -> str:
    """The scale-up example with no cost-per-outcome target and a service that avoids no cost of care:
    the plan pays and saves nothing, a 100 % loss."""
    return ((EXAMPLES / "meals_scale_up.yaml").read_text()
            .replace('  cost_per_outcome_target: "250"\n', "")
            .replace("tcoc_reduction: {low: 0.0, mode: 0.02, high: 0.05}", "tcoc_reduction: {low: 0, mode: 0, high: 0}"))


def test_a_total_loss_is_red_for_the_plan_even_without_a_target():
    inputs = parse_inputs(_no_savings_no_target())
    assert inputs.contract.cost_per_outcome_target is None
    sim = simulate(inputs, 500, 1)
    plan = next(v for v in win3(inputs, sim, "fee_for_service") if v.party == "plan")
    assert sim.models["fee_for_service"].roi_median == -1  # the documented red threshold is −50 %
    assert plan.status == "red" and "loses more than 50%" in plan.reason


def test_a_target_the_plan_meets_keeps_a_loss_amber():
    inputs = parse_inputs(_no_savings_no_target().replace(
        "  target_margin: \"0.05\"\n", "  target_margin: \"0.05\"\n  cost_per_outcome_target: \"100000\"\n"))
    plan = next(v for v in win3(inputs, simulate(inputs, 500, 1), "fee_for_service") if v.party == "plan")
    assert plan.status == "amber"


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_win3_exit_code_is_the_same_in_text_and_json(tmp_path, fmt):
    f = tmp_path / "loss.yaml"
    f.write_text(_no_savings_no_target())
    r = CliRunner().invoke(app, ["win3", str(f), "--model", "fee_for_service", "-n", "300", *fmt])
    assert r.exit_code == 2, r.output
    if fmt:
        assert next(v for v in json.loads(r.output) if v["party"] == "plan")["status"] == "red"
    ok = CliRunner().invoke(app, ["win3", str(EXAMPLES / "meals_scale_up.yaml"), "-n", "300", *fmt])
    assert ok.exit_code == 0, ok.output


def test_the_contracts_target_margin_follows_its_convention():
    """A 5 % margin on cost (mark-up) is reached more often than 5 % of revenue (gross-up), and the
    CBO verdict says which one it checked."""
    text = (EXAMPLES / "meals_scale_up.yaml").read_text()
    gross = parse_inputs(text)
    markup = parse_inputs(text.replace('  target_margin: "0.05"\n', '  target_margin: "0.05"\n'
                                                                     '  margin_convention: markup\n'))
    sg, sm = simulate(gross, 2000, 3), simulate(markup, 2000, 3)
    for m in sg.models:
        assert sm.models[m].p_target_margin >= sg.models[m].p_target_margin
    assert any(sm.models[m].p_target_margin > sg.models[m].p_target_margin for m in sg.models)
    cbo = next(v for v in win3(markup, sm, "fee_for_service") if v.party == "cbo")
    assert "5% on cost (mark-up)" in cbo.reason
    cbo = next(v for v in win3(gross, sg, "fee_for_service") if v.party == "cbo")
    assert "5% on revenue" in cbo.reason


def test_the_plan_reason_writes_the_target_as_money():
    inputs = parse_inputs((EXAMPLES / "meals_scale_up.yaml").read_text().replace(
        'cost_per_outcome_target: "250"', "cost_per_outcome_target: 2.5e+2"))
    plan = next(v for v in win3(inputs, simulate(inputs, 300, 1), "fee_for_service") if v.party == "plan")
    assert "(target $250.00)" in plan.reason
