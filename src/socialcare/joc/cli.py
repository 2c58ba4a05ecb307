"""``socialcare joc ...``: committees, meetings, and the follow-up report.

    socialcare joc report CONTRACT --month 2026-03 --pdf joc-march.pdf --as plan_admin
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from socialcare.core.db import unit_of_work
from socialcare.joc import report as joc_report
from socialcare.joc import service
from socialcare.measures.cli import _principal

CLI_NAME = "joc"
app = typer.Typer(no_args_is_help=True, help="Joint operating committees: meetings and their follow-up reports.")
console = Console()

AS = typer.Option(..., "--as", help="act as this user (their organization and role)")


@app.command("list")
def list_(as_user: str = AS):
    """Committees of the contracts your organization is party to, with their meetings."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        t = Table("committee", "contract", "cadence", "meetings")
        for c, contract in service.committees(s, p):
            t.add_row(f"{c.id}: {c.name}", f"{contract.id}: {contract.name}", c.cadence,
                      ", ".join(f"{m.month:%Y-%m} (#{m.id})" for m in c.meetings))
        console.print(t)


@app.command()
def prepare(committee_id: int, month: str = typer.Option(..., "--month", help="month of data, YYYY-MM"),
            as_user: str = AS):
    """Prepare a meeting for a month: its scorecard is computed and frozen into it."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        m = service.create_meeting(s, p, committee_id, month)
        console.print(f"meeting {m.id} for {m.month:%B %Y}, on {m.held_on}")


@app.command()
def report(contract_id: int, month: str = typer.Option(..., "--month", help="month of data, YYYY-MM"),
           pdf: Path = typer.Option(None, "--pdf", help="write the PDF here"),
           html: Path = typer.Option(None, "--html", help="write the HTML here"), as_user: str = AS):
    """The follow-up report of the contract's meeting for a month (notes and scorecard), as PDF and/or HTML."""
    if not pdf and not html:
        raise typer.BadParameter("give --pdf FILE and/or --html FILE")
    with unit_of_work() as s:
        p = _principal(s, as_user)
        m = service.meeting_for_month(s, p, contract_id, month)
        if html:
            html.write_text(joc_report.report_html(s, p, m.id))
            console.print(f"wrote {html}")
        if pdf:
            pdf.write_bytes(joc_report.report_pdf(s, p, m.id))
            console.print(f"wrote {pdf}")
