"""``socialcare measures ...``: a contract's funnel and scorecard, the P4P metric values, goals, definitions.

Every command acts as a user (``--as USERNAME``) and sees what that user's organization may see.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from socialcare.core.db import unit_of_work
from socialcare.core.errors import NotFound
from socialcare.measures import engine, rules
from socialcare.measures import service as svc
from socialcare.measures.definitions import FUNNEL_RATES, FUNNEL_STEPS, MEASURES
from socialcare.security import repository as security_repo
from socialcare.security.principal import Principal
from socialcare.security.service import principal_for_user

CLI_NAME = "measures"
app = typer.Typer(no_args_is_help=True, help="Measures: engagement funnel, HEDIS SNS-E, timeliness, strata.")
console = Console()

AS = typer.Option(..., "--as", help="act as this user (their organization and role)")
MONTH = typer.Option(None, "--month", help="month of assignment, YYYY-MM (default: last month)")


def _principal(session, username: str) -> Principal:
    user = security_repo.user_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound(f"No active user '{username}'.")
    return principal_for_user(user, via="cli")


def _month(month: str | None, session=None, contract=None):
    return rules.parse_month(month) if month else svc.default_month(session, contract)


@app.command()
def definitions():
    """Every measure and the key P4P terms use for it."""
    t = Table("key", "measure", "numerator", "denominator")
    for d in MEASURES.values():
        t.add_row(d.key, d.label, d.numerator, d.denominator)
    console.print(t)


@app.command()
def funnel(contract_id: int, as_user: str = AS, month: str = MONTH,
           to: str = typer.Option(None, "--to", help="last month, for one row per month")):
    """The engagement funnel of the members assigned in the month (or each month up to --to)."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        contract = svc.contract_for(s, p, contract_id)
        first = _month(month)
        rows = engine.funnel_by_month(s, svc.scope_for(contract), first, _month(to) if to else first)
        goals = svc.goals_for(s, contract.id)
        t = Table("month", *[label for _, label in FUNNEL_STEPS], *[k for k, _, _ in FUNNEL_RATES[:3]])
        for m, c in rows.items():
            rates = []
            for key, num, den in FUNNEL_RATES[:3]:
                r = rules.Rate(c[num], c[den])
                g = goals.get(key)
                rates.append(r.display + (f" (goal {g.target.normalize():f}%)" if g else ""))
            t.add_row(m.strftime("%Y-%m"), *[f"{c[k]:,}" for k, _ in FUNNEL_STEPS], *rates)
        console.print(t)


@app.command()
def scorecard(contract_id: int, as_user: str = AS, month: str = MONTH,
              json_out: Path = typer.Option(None, "--json", help="write the scorecard as JSON here")):
    """The month's scorecard in plain language (what the JOC's data presentation shows)."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        contract = svc.contract_for(s, p, contract_id)
        card = svc.for_viewer(svc.scorecard(s, p, contract, _month(month, s, contract)), p, contract)
        if json_out:
            json_out.write_text(json.dumps(card, indent=2, default=str))
            console.print(f"wrote {json_out}")
        console.print(f"[bold]{card['contract']['name']}[/bold], members assigned in {card['month_label']}")
        for text in card["captions"].values():
            console.print(f"  {text}")


@app.command()
def metrics(contract_id: int, as_user: str = AS, month: str = MONTH):
    """The month's measure values keyed as pay-for-performance terms name metrics."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        contract = svc.contract_for(s, p, contract_id)
        values = svc.metric_values(s, contract.id, _month(month, s, contract))
        t = Table("metric", "value")
        for k, v in values.items():
            t.add_row(k, str(v))
        console.print(t)


@app.command("set-goal")
def set_goal(contract_id: int, measure: str, target: str, as_user: str = AS):
    """Set a contract's goal for a measure (the plan), e.g. outreach_rate 80."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        contract = svc.contract_for(s, p, contract_id)
        g = svc.set_goal(s, p, contract, measure, target)
        console.print(f"{MEASURES[measure].label}: goal {g.target.normalize():f}")
