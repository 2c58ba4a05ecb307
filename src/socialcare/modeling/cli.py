"""``socialcare model``: unit cost, risk simulation, the measured summary table, win3 and advice.

    socialcare model cost examples/modeling/meals_cost.yaml
    socialcare model simulate examples/modeling/meals_scale_up.yaml --scenarios 100000 --seed 1 [--json]
    socialcare model compare examples/modeling/meals_scale_up.yaml      # the guide's table, measured
    socialcare model win3 examples/modeling/meals_scale_up.yaml [--model capitation]
    socialcare model advise examples/modeling/pilot.yaml
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from socialcare.core.errors import SocialcareError

app = typer.Typer(help="Choose a payment model: unit cost, financial risk simulation, the win3 check.",
                  no_args_is_help=True)
CLI_NAME = "model"

console = Console()
err_console = Console(stderr=True)
SCEN = typer.Option(10_000, "--scenarios", "-n", min=1, max=1_000_000, help="Monte Carlo scenarios.")
SEED = typer.Option(0, "--seed", help="Random seed: the same seed gives the same result.")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _fail(exc: SocialcareError) -> None:
    err_console.print(Text(str(exc), style="bold red"), soft_wrap=True)
    for p in getattr(exc, "problems", []) or []:
        err_console.print(Text(f"  {p}", style="red"), soft_wrap=True)
    raise typer.Exit(1)


def _load(path: Path):
    from socialcare.modeling.schemas import load_inputs

    try:
        return load_inputs(path)
    except SocialcareError as exc:
        _fail(exc)


def _print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
def cost(inputs: Path = typer.Argument(..., help="A YAML file: UnitCostInputs, or modeling inputs with cost:"),
         as_json: bool = JSON) -> None:
    """Fully loaded unit cost at low, expected and high volume, and the break-even rate per model."""
    from pydantic import ValidationError

    from socialcare.modeling.cost import UnitCostInputs, unit_cost

    try:
        data = yaml.safe_load(inputs.read_text(encoding="utf-8"))
        data = data.get("cost", data) if isinstance(data, dict) else data
        r = unit_cost(UnitCostInputs.model_validate(data))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        err_console.print(Text(f"{inputs}: {exc}", style="bold red"), soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        _print_json(r.as_dict())
    else:
        typer.echo(r.explain())


@app.command()
def simulate(inputs: Path = typer.Argument(...), scenarios: int = SCEN, seed: int = SEED,
             as_json: bool = JSON) -> None:
    """Monte Carlo: the CBO's margin and the plan's cost per model."""
    from socialcare.modeling.simulate import simulate as run

    sim = run(_load(inputs), scenarios, seed)
    if as_json:
        _print_json(sim.as_dict())
        return
    t = Table(title=f"{sim.scenarios:,} scenarios, seed {sim.seed}, {sim.seconds:.2f} s")
    for c in ("model", "margin p5", "median", "p95", "P(loss)", "plan cost median", "CV", "+1 member rev",
              "kept of unit saved"):
        t.add_column(c, justify="left" if c == "model" else "right")
    for r in sim.models.values():
        t.add_row(r.label, f"${r.margin_p5:,.0f}", f"${r.margin_median:,.0f}", f"${r.margin_p95:,.0f}",
                  f"{r.p_loss:.1%}", f"${r.plan_cost_median:,.0f}", f"{r.plan_cost_cv:.1%}",
                  f"${r.marginal_revenue_member:,.0f}", f"{r.efficiency_kept:.0%}")
    console.print(t)


@app.command()
def compare(inputs: Path = typer.Argument(...), scenarios: int = SCEN, seed: int = SEED,
            as_json: bool = JSON) -> None:
    """The guide's Payment Model Summary, measured for these inputs, next to the guide's ratings."""
    from socialcare.modeling.service import compare as run

    cmp = run(_load(inputs), scenarios, seed)
    if as_json:
        _print_json(cmp.as_dict())
        return
    t = Table(title="Payment Model Summary, measured (guide's rating in brackets; ! = disagrees)")
    t.add_column("feature")
    for r in cmp.sim.models.values():
        t.add_column(r.label)
    for row in cmp.summary:
        t.add_row(row.feature, *[f"{c.measured} {c.shown} [{c.guide or '-'}]{' !' if c.disagrees else ''}"
                                 for c in row.cells.values()])
    console.print(t)
    for row in cmp.summary:
        for c in row.cells.values():
            if c.disagrees:
                console.print(f"! {row.feature}, {cmp.sim.models[c.model].label}: {c.note}", soft_wrap=True)


@app.command()
def win3(inputs: Path = typer.Argument(...), model: str = typer.Option(None, "--model", help="Default: the "
         "contract's proposed_model."), scenarios: int = SCEN, seed: int = SEED, as_json: bool = JSON) -> None:
    """Is the proposed contract a win for the member, the plan and the CBO?"""
    from socialcare.modeling.simulate import simulate as run
    from socialcare.modeling.win3 import win3 as check

    i = _load(inputs)
    sim = run(i, scenarios, seed)
    model = model or i.contract.proposed_model
    if model not in sim.models:
        err_console.print(f"[red]no rates for {model} under terms[/red]")
        raise typer.Exit(1)
    verdicts = check(i, sim, model)
    if as_json:
        _print_json([v.__dict__ for v in verdicts])
    else:
        colors = {"green": "green", "amber": "yellow", "red": "red"}
        for v in verdicts:
            console.print(f"[{colors[v.status]}]{v.status.upper():5}[/] {v.party}: {v.reason}", soft_wrap=True)
    # the exit status is the verdict's, whatever the output format: a script reading the JSON and a
    # script reading the text stop on the same red
    if any(v.status == "red" for v in verdicts):
        raise typer.Exit(2)


@app.command()
def advise(inputs: Path = typer.Argument(...), scenarios: int = SCEN, seed: int = SEED, as_json: bool = JSON) -> None:
    """Suggest models and an evolution path for the partners' situation, citing the guide."""
    from socialcare.modeling.advisor import advise as run_advice
    from socialcare.modeling.simulate import simulate as run

    i = _load(inputs)
    a = run_advice(i.situation, run(i, scenarios, seed))
    if as_json:
        _print_json(a.as_dict())
        return
    console.print(f"Suggested: {', '.join(a.suggested)}")
    console.print(f"Path: {' → '.join(a.path)}")
    for reason, quote in a.quotes():
        console.print(f"- {reason}.\n  [italic]“{quote}”[/italic] (seed 002)", soft_wrap=True)
    for f in a.figures.values():
        console.print(f"  {f['label']}: median margin ${f['margin_median']:,.0f}, 5th pct ${f['margin_p5']:,.0f}, "
                      f"P(loss) {f['p_loss']:.0%}, plan cost median ${f['plan_cost_median']:,.0f}")
