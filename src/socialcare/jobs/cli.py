"""``socialcare worker`` (run jobs) and ``socialcare jobs ...`` (list, run now, retry)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from socialcare.core.db import unit_of_work

CLI_NAME = "jobs"
app = typer.Typer(no_args_is_help=True, help="Background jobs: what exists, recent runs, run or retry one.")
worker_app = typer.Typer(help="Run background jobs (FHIR exchange, drop folder, clocks, measures).")
EXTRA_APPS = {"worker": worker_app}
console = Console()


@worker_app.callback(invoke_without_command=True)
def worker(
    threads: int = typer.Option(None, "--threads", min=1, help="Jobs run at once (default SOCIALCARE_JOBS_THREADS)."),
) -> None:
    """Run queued and periodic jobs until Ctrl+C or SIGTERM. Start as many as you like (PostgreSQL +
    SOCIALCARE_REDIS_URL for several machines): each run is claimed by one worker."""
    from socialcare.core.settings import get_settings
    from socialcare.jobs import queue
    from socialcare.jobs.worker import Worker
    from socialcare.web.logs import configure_logging

    settings = get_settings()
    settings.check_production()
    configure_logging(settings)
    queue.ping()
    console.print(f"socialcare worker: {queue.backend_name()} queue, jobs from the database "
                  f"{settings.effective_database_url.split('@')[-1]}; Ctrl+C to stop.", highlight=False)
    Worker(threads=threads).run_forever()


@app.command("list")
def list_jobs() -> None:
    """Every job and its schedule."""
    from socialcare.jobs.registry import all_jobs

    table = Table(show_edge=False)
    for col in ("job", "schedule", "what it does"):
        table.add_column(col)
    for job in all_jobs():
        when = "on demand"
        if job.every is not None:
            when = f"every {job.every}" + (f" at {job.at:%H:%M} UTC" if job.at else "")
            if not job.is_enabled():
                when += " (off: not configured)"
        table.add_row(job.name, when, job.description)
    console.print(table)


@app.command("runs")
def runs(status: str = typer.Option(None, "--status", help="queued, running, succeeded or failed"),
         limit: int = typer.Option(30, "--limit", min=1, max=1000)) -> None:
    """Recent job runs, newest first."""
    from socialcare.jobs import repository

    with unit_of_work() as session:
        rows = repository.runs(session, status=status, limit=limit)
        table = Table(show_edge=False)
        for col in ("#", "job", "status", "queued", "finished", "error"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r.id), r.name + (f" {r.kwargs}" if r.kwargs else ""), r.status,
                          f"{r.queued_at:%Y-%m-%d %H:%M:%S}",
                          f"{r.finished_at:%H:%M:%S}" if r.finished_at else "",
                          (r.error or "").splitlines()[0][:80] if r.error else "")
    console.print(table)


@app.command("run")
def run_now(name: str = typer.Argument(..., help="The job's name (see `socialcare jobs list`).")) -> None:
    """Queue a job now; a worker (or the embedded one) runs it."""
    from socialcare.jobs import queue

    run_id = queue.enqueue(name, queued_by="cli")
    console.print(f"Queued {name} (run #{run_id})." if run_id else f"{name} is already queued.")


@app.command("retry")
def retry(run_id: int = typer.Argument(...)) -> None:
    """Queue a failed run again."""
    from socialcare.jobs import queue

    with unit_of_work() as session:
        new_id = queue.retry(session, run_id, by="cli")
    console.print(f"Queued again as run #{new_id}.")
