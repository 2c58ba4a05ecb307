"""``socialcare partnership ...``: the contract clocks a scheduler (cron, or the job system) runs.

    socialcare partnership climb-escalations            # every unanswered escalation past its level's time
    socialcare partnership climb-escalations --at 2026-12-09T10:00:00+00:00
"""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.db import unit_of_work
from socialcare.partnership import escalations

CLI_NAME = "partnership"
app = typer.Typer(no_args_is_help=True, help="Both partners at the table: escalation pathways and contract clocks.")
console = Console()


@app.command("climb-escalations")
def climb(at: str = typer.Option("", "--at", help="the time to check against (ISO 8601; default now)")):
    """Move each escalation whose level's response time has passed to the next level of its contract's pathway."""
    now = as_utc(datetime.fromisoformat(at)) if at else utcnow()
    with unit_of_work() as s:
        climbed = escalations.climb_overdue(s, now)
        for e in climbed:
            console.print(f"escalation #{e.id}: level {e.level} ({e.contact_name or 'no contact'})")
        console.print(f"{len(climbed)} escalation(s) climbed a level.")
