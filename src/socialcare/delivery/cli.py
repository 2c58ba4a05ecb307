"""``socialcare delivery ...``: the standard pathways, a contract's settlement facts for a period (written
as the payments engine's facts files), a delivery summary, and importing service records from CSV.

Every command that touches member data acts as a user (``--as USERNAME``), with that user's
organization and role.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from socialcare.core.clock import today
from socialcare.core.db import unit_of_work
from socialcare.core.errors import InvalidInput, NotFound, Problem
from socialcare.delivery import rules, service
from socialcare.security import repository as security_repo
from socialcare.security.principal import Principal
from socialcare.security.service import principal_for_user

CLI_NAME = "delivery"
app = typer.Typer(no_args_is_help=True, help="Service delivery: pathways, settlement facts, service record imports.")
console = Console()

AS = typer.Option(..., "--as", help="act as this user (their organization and role)")


def _principal(session, username: str) -> Principal:
    user = security_repo.user_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound(f"No active user '{username}'.")
    return principal_for_user(user, via="cli")


@app.command()
def pathways(file: Path = typer.Option(None, help="check this pathways YAML instead of the shipped one")):
    """The standard pathways, their steps and default outcome-based units (reference data)."""
    cat = rules.parse_pathways(file.read_text(encoding="utf-8"), str(file)) if file else rules.pathway_catalog()
    t = Table("code", "pathway", "default OBU", "steps (benchmarks)")
    for p in cat.pathways:
        t.add_row(p.code, p.name, str(p.obu), " → ".join(s.label + (f" [{s.benchmark}]" if s.benchmark else "")
                                                          for s in p.steps))
    console.print(t)
    console.print(f"{len(cat.pathways)} pathways; weights are defaults, the contract's payment terms decide.")


@app.command()
def summary(as_user: str = AS, start: str = typer.Option(None, help="YYYY-MM-DD, default the month's first day"),
            end: str = typer.Option(None, help="YYYY-MM-DD, default today")):
    """Counts of what was delivered in a period, as your organization sees them."""
    e = date.fromisoformat(end) if end else today()
    b = date.fromisoformat(start) if start else e.replace(day=1)
    with unit_of_work() as s:
        out = service.summary(s, _principal(s, as_user), b, e)
    for k, v in out.items():
        console.print(f"{k.replace('_', ' ')}: {v}")


@app.command()
def facts(contract_id: int, period: str = typer.Option(..., help="2026-05, 2026-Q2, 2026 or a..b"),
          as_user: str = AS, out: Path = typer.Option(None, "--out", help="write services.csv and facts.yaml here")):
    """A contract's settlement facts for a period; with --out, files `socialcare payments settle` reads."""
    with unit_of_work() as s:
        res = service.contract_facts(s, _principal(s, as_user), contract_id, period)
    f = res.facts
    rows = f.services.num_rows if f.services is not None else 0
    other = f.other.model_dump(mode="json", exclude_defaults=True)
    console.print(f"delivered-service rows: {rows:,}; episodes: {len(f.other.episodes):,}; engagements: "
                  f"{f.other.engagements}; pathway completions: {f.other.pathway_completions}; disbursements: "
                  f"{len(f.other.disbursements):,}")
    for n in res.notes:
        console.print(f"[yellow]note:[/] {n}")
    if out:
        out.mkdir(parents=True, exist_ok=True)
        if f.services is not None:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            cols = f.services.column_names
            w.writerow(cols)
            data = [f.services[c].to_pylist() for c in cols]
            w.writerows(zip(*data, strict=True))
            (out / "services.csv").write_text(buf.getvalue(), encoding="utf-8")
        (out / "facts.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(other)), sort_keys=False),
                                        encoding="utf-8")
        console.print(f"wrote {out}/services.csv and {out}/facts.yaml")


@app.command("import-services")
def import_services(path: Path, as_user: str = AS):
    """Import service records from CSV (member_id, service_id, service_date, units, place_of_service,
    service_code, diagnosis_code, referral_id, note): every row is checked first; all or nothing."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("member_id", "service_id", "service_date", "units") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"{path} misses columns", [Problem("missing column", field=c, row=1, file=str(path))
                                                      for c in missing])
    rows, problems = [], []
    for i, r in enumerate(reader, 2):
        def num(key, r=r, i=i):
            v = (r.get(key) or "").strip()
            if not v:
                return None
            try:
                return int(v)
            except ValueError:
                problems.append(Problem("not a whole number", field=key, row=i, file=str(path)))
                return None

        try:
            day = date.fromisoformat((r.get("service_date") or "").strip()) if r.get("service_date") else None
        except ValueError:
            problems.append(Problem("not a date (YYYY-MM-DD)", field="service_date", row=i, file=str(path)))
            day = None
        rows.append(rules.ServiceRecordInput(
            member_id=num("member_id"), service_id=num("service_id"), service_date=day, units=num("units"),
            place_of_service=(r.get("place_of_service") or "12").strip(), service_code=r.get("service_code") or None,
            diagnosis_code=r.get("diagnosis_code") or None, referral_id=num("referral_id"), note=r.get("note") or None))
    if problems:
        raise InvalidInput(f"{path}: {len(problems)} problem(s); nothing was imported.", problems)
    with unit_of_work() as s:
        n = service.record_services_bulk(s, _principal(s, as_user), rows, file=str(path))
    console.print(f"[green]{n:,} service records imported.[/]")
