"""``socialcare payments``: check payment terms and settle a period.

    socialcare payments settle TERMS.yaml --facts services.csv facts.yaml --period 2025-03
    socialcare payments settle TERMS.yaml --facts ... --period 2025-Q1 --json
    socialcare payments settle TERMS.yaml --facts ... --period 2025-03 --invoice      # CSV
    socialcare payments settle TERMS.yaml --facts ... --period 2025-03 --claims       # CSV
    socialcare payments settle TERMS.yaml --facts ... --period 2025-03 --claims-837 -o claims.837
    socialcare payments check TERMS.yaml

The ledger (stored statements, settled from the platform's records):

    socialcare payments settle-contract 3 --period 2026-05 --as plan-admin
    socialcare payments statements --as plan-admin [--contract 3]
    socialcare payments statement 12 --as hub-coordinator [--json]
    socialcare payments act 12 approve --as plan-admin
    socialcare payments pay 12 --amount 1250.00 --reference EFT123 --as plan-admin
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from socialcare.core.errors import SocialcareError
from socialcare.core.money import fmt_usd

app = typer.Typer(help="Payment terms as data: settle a period into a statement, an invoice or claims.",
                  no_args_is_help=True)
CLI_NAME = "payments"

console = Console()
err_console = Console(stderr=True)


def _fail(exc: SocialcareError) -> None:
    err_console.print(Text(str(exc), style="bold red"), soft_wrap=True)
    raise typer.Exit(1)


@app.command()
def check(terms: Path = typer.Argument(..., help="A payment terms YAML file.")) -> None:
    """Validate a payment terms file and list its terms."""
    from socialcare.payments.loader import load_terms

    try:
        t = load_terms(terms)
    except SocialcareError as exc:
        _fail(exc)
    console.print(f"[green]Valid[/green]: {terms} ({len(t.terms)} term(s), billing by {t.billing.mode})")
    for term in t.terms:
        console.print(f"  {term.id}: {term.model} (MLR {term.mlr})")


@app.command()
def settle(
    files: list[Path] = typer.Argument(..., help="TERMS.yaml, optionally followed by facts files."),
    facts: list[Path] = typer.Option([], "--facts", help="Facts: services .csv and other facts .yaml/.json "
                                     "(repeat the option or list files after it)."),
    period: str = typer.Option(..., "--period", help="YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print the statement as JSON."),
    invoice: bool = typer.Option(False, "--invoice", help="Print the aggregate invoice (CSV)."),
    claims: bool = typer.Option(False, "--claims", help="Print member-level claim lines (CSV)."),
    claims_837: bool = typer.Option(False, "--claims-837", help="Print an X12 837P claim file."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of printing."),
) -> None:
    """Settle TERMS for a period on its facts: a statement line per term and component."""
    from socialcare.payments import billing
    from socialcare.payments.loader import load_facts, load_terms
    from socialcare.payments.rules import Period
    from socialcare.payments.rules import settle as run

    if sum([as_json, invoice, claims, claims_837]) > 1:
        _fail(SocialcareError("choose one of --json, --invoice, --claims, --claims-837"))
    try:
        terms = load_terms(files[0])
        f = load_facts([*facts, *files[1:]])
        p = Period.parse(period)
        statement = run(terms, f, p)
        if as_json:
            text = json.dumps(statement.as_dict(), indent=2, ensure_ascii=False) + "\n"
        elif invoice:
            text = billing.invoice_csv(statement)
        elif claims:
            text = billing.claims_csv(billing.claim_lines(terms, f, p))
        elif claims_837:
            text = billing.claims_837p(terms, f, p)
        else:
            text = None
    except SocialcareError as exc:
        _fail(exc)
    if text is None:
        if output:
            output.write_text(statement.explain() + "\n", encoding="utf-8")
        else:
            _print_table(statement)
        return
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}")
    else:
        typer.echo(text, nl=False)


def _print_table(statement) -> None:
    table = Table(title=f"{statement.contract or 'Settlement'}: {statement.period}", show_edge=False)
    for col, just in (("term", "left"), ("component", "left"), ("formula", "left"), ("amount", "right"),
                      ("MLR", "left"), ("status", "left")):
        table.add_column(col, justify=just)
    for ln in statement.lines:
        formula = ln.formula + (f" [{ln.month}]" if ln.month else "")
        table.add_row(ln.term_id, ln.component, Text(formula), fmt_usd(ln.amount), ln.mlr,
                      "paid" if ln.paid else "reported only", style=None if ln.paid else "dim")
    table.add_row("", "TOTAL PAID", "", fmt_usd(statement.total), "", "", style="bold")
    console.print(table)
    for k, v in statement.by_mlr().items():
        console.print(f"  {k}: {fmt_usd(v)}")
    for n in statement.notes:
        console.print(f"  [yellow]note:[/yellow] {n}")


# ---- the ledger --------------------------------------------------------------------------------

AS = typer.Option(..., "--as", help="act as this user (their organization and role)")


def _principal(session, username: str):
    from socialcare.core.errors import NotFound
    from socialcare.security import repository as security_repo
    from socialcare.security.service import principal_for_user

    user = security_repo.user_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound(f"No active user '{username}'.")
    return principal_for_user(user, via="cli")


def _show(st, paid, as_json: bool) -> None:
    from socialcare.payments import ledger_views

    if as_json:
        typer.echo(json.dumps(ledger_views.detail(st, paid), indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Statement #{st.id} ({st.kind}): {st.period_label}, {st.status}", show_edge=False)
    for col, just in (("term", "left"), ("component", "left"), ("formula", "left"), ("amount", "right"),
                      ("status", "left")):
        table.add_column(col, justify=just)
    for ln in st.lines:
        table.add_row(ln.term_id, ln.component + (f" [{ln.month}]" if ln.month else ""), Text(ln.formula),
                      fmt_usd(ln.amount), "paid" if ln.paid else "reported only", style=None if ln.paid else "dim")
    table.add_row("", "TOTAL", "", fmt_usd(st.total), "", style="bold")
    console.print(table)
    console.print(f"  paid {fmt_usd(paid)}; terms {st.terms_sha256[:12]}; facts {st.facts_sha256[:12]}")
    for n in st.notes or []:
        console.print(f"  [yellow]note:[/yellow] {n}")


@app.command("settle-contract")
def settle_contract(contract_id: int = typer.Argument(...), period: str = typer.Option(..., "--period"),
                    reason: str = typer.Option("", "--reason"), as_user: str = AS,
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """Settle a contract for a period from the platform's records into a stored statement."""
    from socialcare.core.db import unit_of_work
    from socialcare.payments import ledger

    try:
        with unit_of_work() as s:
            p = _principal(s, as_user)
            done = ledger.settle_contract(s, p, contract_id, period, reason=reason)
            s.flush()
            st, paid = ledger.statement(s, p, done.statement.id)
            _show(st, paid, as_json)
    except SocialcareError as exc:
        _fail(exc)


@app.command("statements")
def statements(as_user: str = AS, contract: int = typer.Option(None, "--contract")) -> None:
    """Stored statements you are a party to."""
    from socialcare.core.db import unit_of_work
    from socialcare.payments import ledger, lifecycle

    try:
        with unit_of_work() as s:
            p = _principal(s, as_user)
            rows = ledger.statements(s, p, contract)
            paid = ledger.repo.paid_totals(s, [r.id for r in rows])
            t = Table("id", "contract", "period", "kind", "total", "paid", "status", show_edge=False)
            for r in rows:
                t.add_row(str(r.id), str(r.contract_id), r.period_label, r.kind, fmt_usd(r.total), fmt_usd(paid[r.id]),
                          lifecycle.LABELS.get(r.status, r.status))
            console.print(t)
    except SocialcareError as exc:
        _fail(exc)


@app.command("statement")
def statement(statement_id: int, as_user: str = AS, as_json: bool = typer.Option(False, "--json")) -> None:
    """One stored statement: lines, formulas, history."""
    from socialcare.core.db import unit_of_work
    from socialcare.payments import ledger

    try:
        with unit_of_work() as s:
            st, paid = ledger.statement(s, _principal(s, as_user), statement_id)
            _show(st, paid, as_json)
    except SocialcareError as exc:
        _fail(exc)


@app.command("act")
def act(statement_id: int, action: str = typer.Argument(..., help="approve, invoice, submit_claims, dispute, "
                                                                   "close, void"),
        note: str = typer.Option("", "--note", help="why (required to dispute)"), as_user: str = AS) -> None:
    """Move a statement through its lifecycle."""
    from socialcare.core.db import unit_of_work
    from socialcare.payments import ledger, lifecycle

    try:
        with unit_of_work() as s:
            st = ledger.act(s, _principal(s, as_user), statement_id, action, note)
            console.print(f"Statement #{st.id} is now {lifecycle.LABELS[st.status].lower()}.")
    except SocialcareError as exc:
        _fail(exc)


@app.command("pay")
def pay(statement_id: int, amount: str = typer.Option(..., "--amount"), reference: str = typer.Option(..., "--reference"),
        paid_on: str = typer.Option(None, "--on", help="YYYY-MM-DD (default today)"), as_user: str = AS) -> None:
    """Record a (partial) payment of a statement."""
    from socialcare.core.db import unit_of_work
    from socialcare.payments import ledger, lifecycle

    try:
        with unit_of_work() as s:
            st = ledger.record_payment(s, _principal(s, as_user), statement_id, amount, paid_on, reference)
            console.print(f"Statement #{st.id} is now {lifecycle.LABELS[st.status].lower()}.")
    except SocialcareError as exc:
        _fail(exc)
