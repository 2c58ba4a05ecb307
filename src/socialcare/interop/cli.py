"""``socialcare exchange``: files in and out (CSV/Excel with row-level validation), the SFTP-style
drop folder, and the HSDS directory export/import. Every command acts as a named user (``--as``),
so what it may read and write is that user's organization and role, and it is audited."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from socialcare.core.db import unit_of_work
from socialcare.core.errors import NotFound
from socialcare.security.principal import Principal

CLI_NAME = "exchange"
app = typer.Typer(no_args_is_help=True, help="Exchange data with partners: flat files, drop folder, HSDS.")
console = Console()
AS = typer.Option(..., "--as", help="Username to act as (their organization and role apply).")


def _principal(session, username: str) -> Principal:
    from socialcare.security.models import User
    from socialcare.security.service import principal_for_user

    user = session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
    if user is None:
        raise NotFound(f"No active user '{username}'. See `socialcare users list`.")
    return principal_for_user(user, via="cli")


@app.command("layouts")
def layouts(name: str = typer.Argument(None, help="One layout (default: list them all).")) -> None:
    """The documented file layouts: columns, required, types, allowed values."""
    from socialcare.interop.flatfiles.layouts import LAYOUTS, as_markdown, layout

    if name:
        console.print(as_markdown(layout(name)), markup=False, highlight=False)
        return
    table = Table(show_edge=False)
    for col in ("layout", "title", "direction", "import"):
        table.add_column(col)
    for lay in LAYOUTS.values():
        table.add_row(lay.name, lay.title, lay.direction, "yes" if lay.importable else "export only")
    console.print(table)


@app.command("import")
def import_(
    layout: str = typer.Argument(..., help="member_eligibility, referral_status or service_record"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Excel (.xlsx) file"),
    username: str = AS,
    report: Path = typer.Option(None, "--report", help="Write the error report (CSV) here if rejected."),
) -> None:
    """Import a file: all rows or none; every bad row and field is listed; the same file twice is refused."""
    from socialcare.interop.flatfiles.service import error_report_csv, import_file

    with unit_of_work() as session:
        who = _principal(session, username)
        result = import_file(session, who, layout, file.name, file.read_bytes(), via="cli")
    color = "green" if result.accepted else "red"
    console.print(f"[{color}]{result.summary()}[/{color}]")
    if not result.accepted:
        for p in result.problems[:50]:
            console.print(f"  row {p.row if p.row is not None else '-'}  {p.field or ''}: {p.message}", markup=False)
        if len(result.problems) > 50:
            console.print(f"  ... and {len(result.problems) - 50} more (use --report)")
        if report:
            report.write_text(error_report_csv(result), encoding="utf-8")
            console.print(f"Error report written to {report}")
        raise typer.Exit(1)


@app.command("export")
def export(
    what: str = typer.Argument(..., help="members (the list a partner may see) or monthly_report"),
    out: Path = typer.Option(..., "--out", help="Output file (.csv or .xlsx)"),
    username: str = AS,
    partner: str = typer.Option(None, "--partner", help="members: the hub or CBO the list is for"),
    month: str = typer.Option(None, "--month", help="monthly_report: YYYY-MM (default: every month)"),
) -> None:
    """Scoped, minimum-necessary exports."""
    from socialcare.interop.flatfiles import exports

    with unit_of_work() as session:
        who = _principal(session, username)
        n = exports.export_to_file(session, who, what, out, partner=partner, month=month)
    console.print(f"[green]Wrote {n:,} rows to {out}[/green]")


@app.command("watch")
def watch(
    folder: Path = typer.Argument(..., file_okay=False, help="The drop folder"),
    username: str = AS,
    interval: float = typer.Option(5.0, "--interval", help="Seconds between scans"),
    once: bool = typer.Option(False, "--once", help="Process what is there now, then stop"),
) -> None:
    """Pick up new files in a drop folder, import them, write a result file, move them to processed/ or rejected/."""
    from socialcare.interop import dropfolder

    folder.mkdir(parents=True, exist_ok=True)
    with unit_of_work() as session:
        who = _principal(session, username)
    console.print(f"Watching {folder} as {who.username} ({who.org_name}); Ctrl+C to stop." if not once else
                  f"Processing {folder} once as {who.username}.")

    def show(o):
        color = "green" if o.status == "accepted" else "red"
        console.print(f"[{color}]{o.summary}[/{color}] -> {o.moved_to}", highlight=False)

    try:
        dropfolder.watch(folder, who, interval=interval, once=once, on_outcome=show)
    except KeyboardInterrupt:
        console.print("Stopped.")


@app.command("hsds-export")
def hsds_export(out: Path = typer.Argument(..., file_okay=False), username: str = AS) -> None:
    """Export the directory as HSDS 3.0 JSON (API shape) and the tabular datapackage; both schema-checked."""
    from socialcare.interop import hsds

    with unit_of_work() as session:
        counts = hsds.write_export(session, _principal(session, username), out)
    console.print(f"[green]HSDS 3.0 export written to {out}[/green]: "
                  + ", ".join(f"{v} {k}" for k, v in counts.items()))


@app.command("hsds-import")
def hsds_import(
    source: Path = typer.Argument(..., exists=True, help="HSDS JSON file, or a folder of HSDS CSVs"),
    username: str = AS,
    need_domain: str = typer.Option(None, "--need-domain", help="Need domain for services without one"),
    kind: str = typer.Option("cbo", "--kind", help="Organization kind for organizations without one"),
) -> None:
    """Add or update directory organizations, locations and services from HSDS data."""
    from socialcare.interop import hsds

    with unit_of_work() as session:
        res = hsds.import_hsds(session, _principal(session, username), hsds.read_payload(source),
                               default_kind=kind, default_need_domain=need_domain, source=source.name)
    console.print(f"[green]Imported[/green]: {res.organizations_created} organizations added, "
                  f"{res.organizations_updated} updated, {res.locations_created} locations, "
                  f"{res.services_created} services added, {res.services_updated} updated.")
    for w in res.warnings[:30]:
        console.print(f"  [yellow]warning[/yellow] {w}", highlight=False)


@app.command("sample")
def sample(
    out: Path = typer.Argument(..., dir_okay=False),
    rows: int = typer.Option(100, "--rows", min=1),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Write a sample member eligibility file (CSV, or .xlsx) in the documented layout."""
    from socialcare.interop.flatfiles import samples

    data = samples.member_rows(rows, seed=seed)
    out.write_bytes(samples.to_xlsx(data) if out.suffix.lower() == ".xlsx" else samples.to_csv(data))
    console.print(f"Wrote {rows:,} rows to {out}")


# ---- FHIR Direct exchange: partners' own FHIR servers ---------------------------------------------


@app.command("fhir-endpoint")
def fhir_endpoint(
    organization: str = typer.Argument(..., help="The hub or CBO, by its directory name"),
    username: str = AS,
    mode: str = typer.Option("direct", "--mode", help="direct (it runs a FHIR server) or light (its app polls ours)"),
    url: str = typer.Option(None, "--url", help="direct: the partner's FHIR base URL"),
    token: str = typer.Option(None, "--token", help="direct: the bearer token its server gave us"),
) -> None:
    """Say how a partner exchanges referrals over FHIR (the IG's Direct or Light)."""
    from socialcare.interop.fhir import outbound
    from socialcare.security.admin import organization_by_name

    with unit_of_work() as session:
        who = _principal(session, username)
        org = organization_by_name(session, organization)
        ep = outbound.set_endpoint(session, who, org.id, mode=mode, base_url=url, bearer_token=token)
        console.print(f"[green]{org.name}[/green]: {ep.mode}" + (f" at {ep.base_url}" if ep.base_url else ""))


@app.command("fhir-endpoints")
def fhir_endpoints() -> None:
    """Partners' FHIR endpoints, their last poll, and the push queue by status."""
    from sqlalchemy import func

    from socialcare.interop.fhir import outbound
    from socialcare.interop.models import FhirOutbound

    with unit_of_work() as session:
        counts = dict(((e, s), n) for e, s, n in session.execute(
            select(FhirOutbound.endpoint_id, FhirOutbound.status, func.count()).group_by(
                FhirOutbound.endpoint_id, FhirOutbound.status)))
        table = Table(show_edge=False)
        for col in ("partner", "mode", "FHIR base URL", "pending", "sent", "failed", "last poll", "poll problems"):
            table.add_column(col)
        for ep in outbound.endpoints(session):
            table.add_row(ep.organization.name, ep.mode, ep.base_url or "-",
                          *(str(counts.get((ep.id, s), 0)) for s in ("pending", "sent", "failed")),
                          f"{ep.last_polled_at:%Y-%m-%d %H:%M}" if ep.last_polled_at else "never",
                          (ep.last_poll_error or "").splitlines()[0][:60] if ep.last_poll_error else "")
    console.print(table)


@app.command("fhir-sync")
def fhir_sync(
    once: bool = typer.Option(False, "--once", help="One pass, then stop"),
    interval: float = typer.Option(60.0, "--interval", help="Seconds between passes"),
    poll_every: int = typer.Option(900, "--poll-every", min=60,
                                   help="Seconds between polls of each partner's server (the IG: not under 900)"),
) -> None:
    """Push new referrals (and cancellations) to direct partners' FHIR servers, retrying with backoff,
    and poll their Tasks back into socialcare."""
    import time
    from datetime import timedelta

    from socialcare.interop.fhir import outbound

    with outbound.http_client() as client:
        while True:
            report = outbound.sync(client, poll_every=timedelta(seconds=poll_every))
            changed = [c for p in report.polled for c in p.changed]
            errors = [e for p in report.polled for e in p.errors]
            console.print(f"queued {report.queued}, sent {report.sent}, retrying {report.retrying}, "
                          f"failed {report.failed}; polled {len(report.polled)} partner(s), "
                          f"{len(changed)} referral(s) changed", highlight=False)
            for ref_id, before, after in changed:
                console.print(f"  referral {ref_id}: {before} -> {after}", highlight=False)
            for e in errors:
                console.print(f"  [yellow]{e}[/yellow]", highlight=False)
            if once:
                if report.failed:
                    raise typer.Exit(1)
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                console.print("Stopped.")
                return
