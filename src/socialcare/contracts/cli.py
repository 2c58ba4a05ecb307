"""``socialcare contracts ...``: list and show contracts, the checklist (HTML/PDF), eligibility counts,
prioritized member lists, phases and pre-launch tasks, amendments and renewal reviews.

Every command acts as a user (``--as USERNAME``), with that user's organization and role.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from socialcare.contracts import rules, schemas, service, views
from socialcare.core.db import unit_of_work
from socialcare.core.errors import InvalidInput, NotFound, Problem
from socialcare.security import repository as security_repo
from socialcare.security.principal import Principal
from socialcare.security.service import principal_for_user

CLI_NAME = "contracts"
app = typer.Typer(no_args_is_help=True, help="Contracts, scopes of work, eligibility and prioritized member lists.")
console = Console()

AS = typer.Option(..., "--as", help="act as this user (their organization and role)")


def _principal(session, username: str) -> Principal:
    user = security_repo.user_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound(f"No active user '{username}'.")
    return principal_for_user(user, via="cli")


def _read_model(path: Path, model):
    try:
        data = yaml.safe_load(path.read_text())
        return model.model_validate(data)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML", [Problem(str(exc), file=str(path))]) from None
    except ValidationError as exc:
        raise InvalidInput(f"{path} was refused", [
            Problem(e["msg"], field=".".join(str(x) for x in e["loc"]), file=str(path)) for e in exc.errors()]) from None


@app.command("list")
def list_(as_user: str = AS, phase: str = typer.Option(None, help="only this phase")):
    """Contracts you are party to."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        t = Table("id", "contract", "with", "payment model", "phase", "term", "version")
        for c in service.list_contracts(s, p, phase):
            t.add_row(str(c.id), c.name, c.counterparty.name, c.payment_model, rules.PHASE_LABELS[rules.Phase(c.phase)],
                      f"{c.start_date} – {c.end_date}", str(c.current_version))
        console.print(t)


@app.command()
def show(contract_id: int, as_user: str = AS):
    """One contract: parties, phase, tasks, versions."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        d = views.detail(s, service.get(s, p, contract_id))
        console.print(f"[bold]{d['name']}[/bold] ({d['payment_model']}), {d['plan_name']} and {d['counterparty_name']}")
        console.print(f"phase {d['phase']}, term {d['start_date']} – {d['end_date']}, version {d['current_version']}, "
                      f"renewal review opens {d['renewal_opens_on']}")
        for t in d["tasks"]:
            console.print(f"  task {t['id']}: {t['title']} [{t['status']}]{' (required)' if t['required'] else ''}")
        for v in d["versions"]:
            console.print(f"  version {v['version']} effective {v['effective_date']}: {v['reason']}")


@app.command()
def checklist(contract_id: int, as_user: str = AS, version: int = typer.Option(None),
              html: Path = typer.Option(None, help="write the HTML export (checklist + whole scope of work)"),
              pdf: Path = typer.Option(None, help="write the PDF export")):
    """The Scope of Work Checklist; missing items with what to add."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        c, v, cl = service.checklist_for(s, p, contract_id, version)
        t = Table("section", "contract provision", "present", "due", "comments")
        for r in cl.rows:
            t.add_row(r.row.section, r.row.item, r.answer, str(r.due or ""), r.comment)
        console.print(t)
        console.print("All Yes." if cl.complete else f"{len(cl.missing)} missing.")
        if html or pdf:
            ctx = views.export_context(s, c, v, cl)
            if html:
                html.write_text(views.render_export_html(ctx))
                console.print(f"wrote {html}")
            if pdf:
                pdf.write_bytes(views.render_export_pdf(ctx))
                console.print(f"wrote {pdf}")


@app.command()
def eligibility(contract_id: int, as_user: str = AS, as_of: str = typer.Option(None, help="YYYY-MM-DD")):
    """How many members are eligible, and how many fail each criterion."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        r = service.eligibility(s, p, contract_id, date.fromisoformat(as_of) if as_of else None)
        console.print(f"roster {r.roster:,}, enrolled {r.enrolled:,}, eligible {r.eligible:,} (as of {r.as_of})"
                      + (f"; capped at {r.maximum:,}" if r.capped else ""))
        t = Table("criterion", "members failing it")
        for cc in r.criteria:
            t.add_row("  " * (cc.depth - 1) + cc.label, f"{cc.failed:,}")
        console.print(t)


@app.command()
def prioritize(contract_id: int, as_user: str = AS, cap: int = typer.Option(None, help="default: maximum volume"),
               strata: str = typer.Option(None, help="comma list of county,race_ethnicity,language,product_line; "
                                                     "'none' for rank only; default: the scope of work's"),
               as_of: str = typer.Option(None), csv: Path = typer.Option(None, help="write the member list as CSV")):
    """Build the prioritized member list (plan roles); report eligible vs selected by stratum."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        chosen = None if strata is None else ([] if strata == "none" else [x.strip() for x in strata.split(",")])
        req = schemas.SelectionRequest(cap=cap, proportional_strata=chosen,
                                       as_of=date.fromisoformat(as_of) if as_of else None)
        sel = service.create_selection(s, p, contract_id, req)
        console.print(f"member list {sel.id}: {sel.selected_count:,} selected of {sel.eligible_count:,} eligible")
        t = Table("dimension", "stratum", "eligible", "selected")
        for x in sel.strata:
            t.add_row(x["dimension"], x["stratum"], f"{x['eligible']:,}", f"{x['selected']:,}")
        console.print(t)
        if csv:
            csv.write_text(service.selection_csv(s, p, contract_id, sel.id))
            console.print(f"wrote {csv}")


@app.command()
def phase(contract_id: int, to_phase: str, as_user: str = AS, note: str = typer.Option("", help="why")):
    """Move the contract to another phase (launch is blocked until pre-launch tasks are done or waived)."""
    with unit_of_work() as s:
        c = service.change_phase(s, _principal(s, as_user), contract_id, to_phase, note)
        console.print(f"contract {c.id} is now in {rules.PHASE_LABELS[rules.Phase(c.phase)]}")


@app.command()
def task(contract_id: int, task_id: int, status: str, as_user: str = AS,
         reason: str = typer.Option(None, help="required when waiving")):
    """Set a pre-launch task's status (open, in_progress, done, waived)."""
    with unit_of_work() as s:
        t = service.update_task(s, _principal(s, as_user), contract_id, task_id,
                                schemas.TaskUpdate(status=status, waived_reason=reason))
        console.print(f"task {t.id} ({t.title}) is {t.status}")


@app.command()
def create(path: Path, as_user: str = AS):
    """Create a contract from a YAML file (the API's ContractCreate shape)."""
    with unit_of_work() as s:
        c = service.create(s, _principal(s, as_user), _read_model(path, schemas.ContractCreate))
        console.print(f"created contract {c.id}")


@app.command()
def amend(contract_id: int, path: Path, as_user: str = AS):
    """Amend from a YAML file (reason plus the changed parts); prints the diff."""
    with unit_of_work() as s:
        v = service.amend(s, _principal(s, as_user), contract_id, _read_model(path, schemas.Amendment))
        console.print(f"version {v.version}: {v.reason}")
        console.print(v.diff, markup=False, highlight=False)


@app.command()
def renewals(as_user: str = AS, on: str = typer.Option(None, help="YYYY-MM-DD, default today")):
    """Open the renewal review of contracts whose window has come (implementation -> renewal)."""
    with unit_of_work() as s:
        p = _principal(s, as_user)
        moved = service.open_due_renewals(s, p, date.fromisoformat(on) if on else None)
        for c in moved:
            console.print(f"contract {c.id} ({c.name}) is now in renewal review; it ends {c.end_date}")
        if not moved:
            console.print("No renewal review is due.")


@app.command()
def review(contract_id: int, as_user: str = AS):
    """The renewal review: volumes against min/max, measures, payments."""
    with unit_of_work() as s:
        r = service.renewal_review(s, _principal(s, as_user), contract_id)
        console.print(f"renewal review {'open' if r.open else 'opens'} {r.opens_on}")
        console.print(f"volume: {r.volume}")
        console.print(f"measures: {r.measures}")
        console.print(f"payments: {r.payments}")


@app.command()
def attribute(as_user: str = AS, recheck: bool = typer.Option(
        False, help="decide again for every row (a person's choice and member lists are kept)")):
    """Attribute the plan's existing work to its contracts (referrals, services, episodes, pathways,
    engagements, disbursements) and report the counts; rows with several candidates wait for a person."""
    from socialcare.contracts import attributing

    with unit_of_work() as s:
        p = _principal(s, as_user)
        p.require("contracts:write")
        if not p.is_plan:
            raise InvalidInput("Only the plan attributes work to its contracts",
                               [Problem("act as a plan user", field="--as")])
        report = attributing.attribute_existing(s, plan_id=p.org_id, recheck=recheck)
        from socialcare.security import audit

        audit.record(s, p, "contract.attribution.run", object_type="organization", object_id=p.org_id,
                     detail={"recheck": recheck, "report": report})
    t = Table("records", "looked at", "attributed", "several contracts (choose)", "no contract")
    for kind, n in report.items():
        t.add_row(kind.replace("_", " "), f"{n['rows']:,}", f"{n['attributed']:,}", f"{n['ambiguous']:,}",
                  f"{n['none']:,}")
    console.print(t)


@app.command()
def reattribute(kind: str, record_id: int, reason: str = typer.Option(..., help="why the record moves"),
                contract_id: int = typer.Option(None, help="the contract (omit: no contract)"), as_user: str = AS):
    """Move one record (referral, service_record, episode, pathway, engagement, disbursement) to another
    contract, or to none, with a reason (audited)."""
    from socialcare.contracts import attributing

    with unit_of_work() as s:
        obj = attributing.reattribute(s, _principal(s, as_user), kind, record_id, contract_id, reason)
        console.print(f"{kind} {record_id}: {obj.contract_reason}")
