"""``socialcare referrals ...``: list referrals (worklist/board), show one with its timeline, take a
lifecycle action, route (hub), assign a member list CSV to a partner, revoke consent.

Every command acts as a user (``--as USERNAME``), with that user's organization and role; errors are
printed in red by the root CLI (socialcare.cli.main)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from socialcare.core.db import unit_of_work
from socialcare.core.errors import NotFound
from socialcare.referrals import repository as repo
from socialcare.referrals import rules, service
from socialcare.security import repository as security_repo
from socialcare.security.principal import Principal
from socialcare.security.service import principal_for_user

CLI_NAME = "referrals"
app = typer.Typer(no_args_is_help=True, help="Closed-loop referrals: worklists, actions, routing, member lists.")
console = Console()

AS = typer.Option(..., "--as", help="act as this user (their organization and role)")


def _principal(session, username: str) -> Principal:
    user = security_repo.user_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound(f"No active user '{username}'.")
    return principal_for_user(user, via="cli")


@app.command("list")
def list_(as_user: str = AS, status: str = typer.Option("open", help="open, closed or a FHIR Task status"),
          need: str = typer.Option(None, help="need domain"), overdue: bool = typer.Option(False, help="overdue only"),
          limit: int = typer.Option(50, help="rows to show")):
    """Your organization's referrals, overdue first (members shown are audited)."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        f = repo.ReferralFilters(status=status or None, need_domain=need, overdue_only=overdue,
                                 top_level_only=p.is_plan)
        result = service.list_referrals(s, p, f, 1, limit)
        t = Table(title=f"{result.total:,} referrals")
        for col in ("#", "member", "need", "urgency", "status", "step", "overdue"):
            t.add_column(col)
        for row in result.items:
            r, mf = row.referral, row.member_fields
            who = "(hidden: consent revoked)" if mf.get("hidden") else f"{mf['last_name']}, {mf['first_name']}"
            t.add_row(str(r.id), who, r.need_domain, r.urgency, r.status, r.business_status or "",
                      "yes" if row.overdue else "")
        console.print(t)


@app.command("show")
def show(referral_id: int, as_user: str = AS):
    """One referral: its loop status, clocks and timeline."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        ref = service.get_referral(s, p, referral_id)
        console.print(f"[bold]Referral #{ref.id}[/] {ref.need_domain}, {ref.status} "
                      f"({rules.loop_status(ref.status, ref.business_status)}), version {ref.version}")
        subs = [c.id for c in repo.children(s, ref.id)] if p.is_plan or p.org_id == ref.owner_org_id else []
        for e, org in repo.timeline(s, [ref.id] + subs):
            moved = f"{e.from_status or 'new'} -> {e.to_status}" if e.to_status else ""
            console.print(f"  {e.at:%Y-%m-%d %H:%M} {org or ''} {e.username or ''}: {moved} {e.business_step or ''} "
                          f"{e.channel or ''} {e.result or ''} {e.note or ''}".rstrip())


@app.command("act")
def act(referral_id: int, action: str, as_user: str = AS,
        version: int = typer.Option(None, help="the version you saw (default: current)"),
        reason: str = typer.Option(None), channel: str = typer.Option(None), result: str = typer.Option(None)):
    """Take a lifecycle action: accept, reject, outreach, contacted, enroll, decline, unable_to_contact,
    start_service, hold, resume, resolve, close_unresolved, fail, cancel, withdraw, entered_in_error, note."""
    with unit_of_work() as s:
        ref = service.act(s, _principal(s, as_user), referral_id, action, version=version, reason=reason,
                          channel=channel, result=result)
        console.print(f"[green]Referral #{ref.id}: {ref.status} / {ref.business_status or '-'} (version {ref.version})")


@app.command("route")
def route(referral_id: int, cbo_id: int, as_user: str = AS, service_id: int = typer.Option(None),
          reroute_reason: str = typer.Option(None, help="needed when already routed")):
    """A hub routes its referral to a network CBO (a sub-referral)."""
    with unit_of_work() as s:
        ref = service.route(s, _principal(s, as_user), referral_id, cbo_id=cbo_id, service_id=service_id,
                            version=None, reroute_reason=reroute_reason)
        console.print(f"[green]Referral #{ref.id} routed ({ref.status}).")


@app.command("assign")
def assign(csv_file: Path = typer.Argument(..., exists=True, dir_okay=False), as_user: str = AS,
           partner: int = typer.Option(..., help="the hub or CBO's organization id"),
           need: str = typer.Option(..., help="need domain for rows without one"),
           urgency: str = typer.Option("routine"), reason: str = typer.Option("")):
    """Assign a member list (CSV with plan_member_id) to a partner: all rows, or a report of every bad row."""
    with unit_of_work() as s:
        rows = service.parse_batch_csv(csv_file.read_text(encoding="utf-8-sig"), csv_file.name)
        res = service.assign_batch(s, _principal(s, as_user), partner_org_id=partner, need_domain=need, rows=rows,
                                   urgency=urgency, reason=reason, filename=csv_file.name)
        console.print(f"[green]{res.created:,} referrals created (batch #{res.batch_id}).")


@app.command("revoke-consent")
def revoke_consent(consent_id: int, as_user: str = AS, reason: str = typer.Option(...)):
    """The member withdrew consent: the organization no longer sees them."""
    with unit_of_work() as s:
        c = service.revoke_consent(s, _principal(s, as_user), consent_id, reason=reason)
        console.print(f"[green]Consent #{c.id} revoked.")
