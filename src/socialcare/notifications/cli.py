"""``socialcare notifications ...``: what a scheduler (or the job system) runs: raise "overdue" by the
referral clocks, send pending email, send the daily digest."""

from __future__ import annotations

import typer
from rich.console import Console

from socialcare.core.db import unit_of_work
from socialcare.notifications import service

CLI_NAME = "notifications"
app = typer.Typer(no_args_is_help=True, help="Notifications: overdue check, email delivery, daily digest.")
console = Console()


@app.command("check-overdue")
def check_overdue():
    """Raise "overdue" once per referral and milestone whose due time passed."""
    with unit_of_work() as session:
        n = service.check_overdue(session)
    console.print(f"{n} overdue notification(s) raised.")


@app.command("send")
def send():
    """Send every pending notification email (SOCIALCARE_SMTP_* settings)."""
    with unit_of_work() as session:
        n = service.deliver_pending_email(session)
    console.print(f"{n} email(s) sent.")


@app.command("digest")
def digest():
    """Send each user who chose a daily digest one email with what waited for it."""
    with unit_of_work() as session:
        n = service.send_daily_digest(session)
    console.print(f"{n} digest email(s) sent.")
