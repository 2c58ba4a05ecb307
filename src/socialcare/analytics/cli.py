"""``socialcare roi``, ``socialcare savings`` and ``socialcare synth claims``.

Mounted by socialcare.cli.main through discovery: ``app``/``CLI_NAME`` is the ROI calculator and
``EXTRA_APPS`` adds the two other groups.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from socialcare.core.errors import InvalidInput, Problem
from socialcare.core.money import fmt_usd

console = Console()
err_console = Console(stderr=True)

roi_app = typer.Typer(no_args_is_help=True, help="The ROI calculator and its evidence library.")
savings_app = typer.Typer(no_args_is_help=True, help="Shared savings on claims (DuckDB or Spark).")
synth_app = typer.Typer(no_args_is_help=True, help="Synthetic data for demos and benchmarks.")

app = roi_app
CLI_NAME = "roi"
EXTRA_APPS = {"savings": savings_app, "synth": synth_app}


def _print_lines(lines) -> None:
    t = Table(show_header=True, header_style="bold")
    t.add_column("figure")
    t.add_column("formula")
    t.add_column("result", justify="right")
    for ln in lines:
        t.add_row(ln.label, ln.formula, ln.result)
    console.print(t)


# ---------------------------------------------------------------- roi


@roi_app.command("run")
def roi_run(
    inputs: Path = typer.Argument(
        None, help="YAML inputs file (fields of RoiInputs, docs/analytics.md)", exists=True, dir_okay=False
    ),
    evidence: Path = typer.Option(
        None, help="the plan's own evidence library (YAML); default: the packaged one"
    ),
    intervention: str = typer.Option(None, help="evidence library id, e.g. mtm_berkowitz_2019"),
    members: int = typer.Option(None, help="members eligible"),
    engagement: str = typer.Option(None, help="engagement rate, e.g. 0.3"),
    ramp_up: int = typer.Option(None, help="months to full enrollment"),
    horizon: int = typer.Option(None, help="months"),
    discount: str = typer.Option(None, help="annual discount rate, e.g. 0.03"),
    cost: str = typer.Option(None, help="program cost amount (payment terms)"),
    per: str = typer.Option(None, help="participant_month | participant_week | participant"),
    credit_uncertain_effects: bool = typer.Option(
        None,
        "--credit-uncertain-effects/--no-credit-uncertain-effects",
        help="credit effects whose confidence interval includes zero (default: no savings credited for them)",
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables"),
    svg_dir: Path = typer.Option(None, help="write tornado.svg and cumulative.svg here"),
) -> None:
    """Run the calculator from a YAML inputs file and/or options (options override the file)."""
    from socialcare.analytics import evidence as ev
    from socialcare.analytics import roi

    data: dict = {}
    if inputs:
        data = yaml.safe_load(inputs.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise InvalidInput(
                "the inputs file must be a mapping", [Problem("not a mapping", file=str(inputs))]
            )
    over = {
        "intervention": intervention,
        "members_eligible": members,
        "engagement_rate": engagement,
        "ramp_up_months": ramp_up,
        "horizon_months": horizon,
        "discount_rate": discount,
        "credit_uncertain_effects": credit_uncertain_effects,
    }
    data.update({k: v for k, v in over.items() if v is not None})
    if cost is not None or per is not None:
        pc = dict(data.get("program_cost") or {})
        if cost is not None:
            pc["amount"] = cost
        if per is not None:
            pc["per"] = per
        data["program_cost"] = pc
    library = ev.load(evidence)
    result = roi.calculate(roi.parse_inputs(data), library)
    if svg_dir:
        from socialcare.analytics import charts

        svg_dir.mkdir(parents=True, exist_ok=True)
        (svg_dir / "tornado.svg").write_text(charts.to_svg(charts.tornado_chart(result)))
        (svg_dir / "cumulative.svg").write_text(charts.to_svg(charts.cumulative_chart(result)))
    if as_json:
        console.print_json(json.dumps(roi_json(result)))
        return
    console.print(f"[bold]{result.inputs.name}[/bold]  (evidence library {result.library_version})")
    _print_lines(result.lines)
    for f in result.flags:
        style = {"error": "bold red", "warning": "yellow", "info": "cyan"}[f.severity]
        console.print(f"[{style}]{f.severity.upper()}[/{style}] {f.field}: {f.message}")
    if result.tornado:
        t = Table(title="Sensitivity (net savings)", header_style="bold")
        for c in ("input", "low", "high", "net at low", "net at high"):
            t.add_column(c, justify="right" if c.startswith("net") else "left")
        for b in result.tornado:
            t.add_row(b.input, b.low_value, b.high_value, fmt_usd(b.net_at_low), fmt_usd(b.net_at_high))
        console.print(t)


def roi_json(result) -> dict:
    from dataclasses import asdict

    def conv(v):
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    return {
        "name": result.inputs.name,
        "library_version": result.library_version,
        "inputs": json.loads(result.inputs.model_dump_json()),
        "participants": str(result.participants),
        "participant_months": str(result.participant_months),
        "by_category": [conv(asdict(c)) for c in result.by_category],
        "gross_savings": str(result.gross_savings),
        "program_cost": str(result.program_cost),
        "net_savings": str(result.net_savings),
        "roi_net": None if result.roi is None else str(result.roi),
        "savings_per_dollar": None if result.savings_per_dollar is None else str(result.savings_per_dollar),
        "break_even_program_cost": None
        if result.break_even_program_cost is None
        else str(result.break_even_program_cost),
        "break_even_unit": result.inputs.program_cost.per,
        "months_to_break_even": result.months_to_break_even,
        "monthly": [conv(asdict(m)) for m in result.monthly],
        "tornado": [conv(asdict(b)) for b in result.tornado],
        "flags": [asdict(f) for f in result.flags],
        "explanation": [asdict(ln) for ln in result.lines],
    }


@roi_app.command("evidence")
def roi_evidence(evidence: Path = typer.Option(None, help="a plan's own evidence library (YAML)")) -> None:
    """List the interventions in the evidence library with their effects."""
    from socialcare.analytics import evidence as ev

    lib = ev.load(evidence)
    t = Table(title=f"Evidence library {lib.version}", header_style="bold", show_lines=True)
    for c in ("id", "intervention", "design", "effects", "citation"):
        t.add_column(c)
    for i in lib.interventions:
        effects = "\n".join(
            f"{e.category}: {e.estimate}"
            + (f" ({e.ci_low} to {e.ci_high})" if e.ci_low is not None else "")
            + f" [{e.tag}]"
            for e in i.effects
        ) or (i.published.summary if i.published else "-")
        t.add_row(i.id, i.name, i.design, effects, i.citation)
    console.print(t)


# ---------------------------------------------------------------- savings


def _month(text: str, field: str) -> date:
    try:
        y, m = text.strip().split("-")[:2]
        return date(int(y), int(m), 1)
    except ValueError as exc:
        raise InvalidInput("bad month", [Problem(f"{text!r} is not YYYY-MM", field=field)]) from exc


def _period(text: str | None, field: str) -> tuple[date, date] | None:
    if not text:
        return None
    if ":" not in text:
        raise InvalidInput(
            "bad period", [Problem(f"{text!r}: write START:END as YYYY-MM:YYYY-MM", field=field)]
        )
    a, b = text.split(":", 1)
    return _month(a, field), _month(b, field)


@savings_app.command("report")
def savings_report(
    data_dir: Path = typer.Argument(
        None, help="a folder with claims/, eligibility/ and program.parquet (synth layout)"
    ),
    claims: str = typer.Option(None, help="claims file, glob or folder (Parquet or CSV)"),
    eligibility: str = typer.Option(None, help="eligibility file, glob or folder"),
    program: str = typer.Option(None, help="program roster (member_id, enrolled_on); enables the DiD"),
    params_file: Path = typer.Option(
        None, "--params", help="YAML with SavingsParams fields (contract terms)"
    ),
    baseline: str = typer.Option(None, help="YYYY-MM:YYYY-MM"),
    performance: str = typer.Option(None, help="YYYY-MM:YYYY-MM"),
    zip_code: list[str] = typer.Option(None, "--zip", help="attributed zip code (repeat)"),
    practice: list[str] = typer.Option(None, help="attributed practice id (repeat)"),
    guaranteed: str = typer.Option(None, help="guaranteed payments to net out"),
    msr: str = typer.Option(None, help="minimum savings rate, e.g. 0.02"),
    trend: str = typer.Option(
        None, help="annual trend for the projection; default: observed in the comparison pool"
    ),
    cap_percentile: str = typer.Option(None, help="outlier cap percentile (e.g. 0.99) or 'none'"),
    bootstrap: int = typer.Option(None, help="bootstrap replicates"),
    engine: str = typer.Option("duckdb", help="duckdb | spark"),
    quality_met: int = typer.Option(None, "--quality-met", help="quality metrics met (the term's sharing band)"),
    quality_total: int = typer.Option(None, "--quality-total", help="quality metrics measured"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    svg: Path = typer.Option(None, help="write the savings chart (SVG) here"),
    facts_out: Path = typer.Option(
        None,
        "--facts-out",
        help="write the facts a shared-savings term settles on (.yaml or .json) for "
        "`socialcare payments settle TERMS --facts FILE`",
        dir_okay=False,
    ),
    term_id: str = typer.Option("savings", "--term-id", help="the contract's shared-savings term id"),
    allow_unsupported: bool = typer.Option(
        False,
        "--allow-unsupported",
        help="write the facts even when the DiD does not support the savings (the JOC's decision)",
    ),
    contract: int = typer.Option(
        None, "--contract", help="record the facts on this contract for its own settlement (needs --as)"
    ),
    as_user: str = typer.Option(None, "--as", help="with --contract: the user recording them"),
    on: str = typer.Option(None, "--on", help="with --contract: the fact's date (default: end of the performance period)"),
) -> None:
    """The shared-savings report: projected vs actual TCOC, net of guaranteed payments, with a DiD.

    With --facts-out, also the facts its contract's shared-savings term settles on: projected and
    actual TCOC, member-months and quality metrics met, the same as the API's ``payment_facts``.
    Savings the DiD does not support are refused (exit 1, nothing written) unless
    --allow-unsupported."""
    from socialcare.analytics import savings as sv
    from socialcare.analytics.service import payment_handoff

    if contract is not None and not as_user:
        raise InvalidInput("say who records the facts", [Problem("give --as USER with --contract", field="--as")])
    if facts_out and facts_out.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise InvalidInput("the facts file is .yaml or .json", [Problem("use .yaml or .json", field="--facts-out")])
    values: dict = {}
    manifest = {}
    if data_dir:
        claims = claims or str(data_dir / "claims")
        eligibility = eligibility or str(data_dir / "eligibility")
        if program is None and (data_dir / "program.parquet").exists():
            program = str(data_dir / "program.parquet")
        if (data_dir / "manifest.json").exists():
            manifest = json.loads((data_dir / "manifest.json").read_text())
    if not claims or not eligibility:
        raise InvalidInput(
            "say where the claims and eligibility are",
            [Problem("give DATA_DIR or --claims and --eligibility")],
        )
    if manifest:
        values.update(
            baseline_start=manifest["baseline"][0],
            baseline_end=manifest["baseline"][1],
            performance_start=manifest["performance"][0],
            performance_end=manifest["performance"][1],
            zip_codes=manifest["attribution"]["zip_codes"],
            practice_ids=manifest["attribution"]["practice_ids"],
        )
    if params_file:
        values.update(yaml.safe_load(params_file.read_text(encoding="utf-8")) or {})
    for name, text in (("baseline", baseline), ("performance", performance)):
        p = _period(text, name)
        if p:
            values[f"{name}_start"], values[f"{name}_end"] = p
    if zip_code:
        values["zip_codes"] = zip_code
    if practice:
        values["practice_ids"] = practice
    for key, v in (("guaranteed_payments", guaranteed), ("minimum_savings_rate", msr), ("trend", trend)):
        if v is not None:
            values[key] = v
    if cap_percentile is not None:
        values["cap_percentile"] = None if cap_percentile.lower() == "none" else cap_percentile
    if bootstrap is not None:
        values["bootstrap"] = bootstrap
    if quality_met is not None:
        values["quality_metrics_met"] = quality_met
    if quality_total is not None:
        values["quality_metrics_total"] = quality_total
    missing = [k for k in ("baseline_start", "performance_start") if k not in values]
    if missing:
        raise InvalidInput(
            "the periods are needed",
            [Problem("give --baseline and --performance (YYYY-MM:YYYY-MM)", field=k) for k in missing],
        )
    params = _params(values)
    report = sv.run(claims, eligibility, params, program_path=program, engine=engine)
    if svg:
        from socialcare.analytics import charts

        svg.write_text(charts.to_svg(charts.savings_chart(report)))
    facts, refused = payment_handoff(report, term_id, allow_unsupported=allow_unsupported)
    if facts is not None and facts_out:
        _write_facts(facts_out, facts, report)
    if as_json:
        out = report.as_dict()
        out["payment_facts"], out["payment_facts_refused"] = facts, refused
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        console.print(f"[bold]Shared savings[/bold] on {report.engine} ({report.seconds} s)")
        _print_lines(report.lines)
        verdict = (
            "supported: may be settled" if report.savings_supported else "NOT supported: flag, do not pay out"
        )
        style = "green" if report.savings_supported else "bold red"
        console.print(f"[{style}]Savings {verdict}[/{style}]")
        if facts is not None and facts_out:
            console.print(f"Wrote the settlement facts to {facts_out}: socialcare payments settle TERMS.yaml "
                          f"--facts {facts_out} --period ...")
    if contract is not None and facts is not None:
        _record(contract, as_user, report, term_id, on, allow_unsupported)
    if (facts_out or contract is not None) and facts is None:
        # the same exit status whatever the output format
        err_console.print(f"[bold red]Settlement facts not handed on[/bold red]: {refused}", soft_wrap=True)
        raise typer.Exit(1)


def _record(contract_id: int, username: str, report, term_id: str, on: str | None, allow_unsupported: bool) -> None:
    """Record the facts on the contract (payments ledger): its settlement reads them directly."""
    from socialcare.analytics.service import record_on_contract
    from socialcare.core.db import unit_of_work
    from socialcare.core.errors import NotFound
    from socialcare.security import repository as security_repo
    from socialcare.security.service import principal_for_user

    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise InvalidInput("bad date", [Problem(f"{on!r} is not YYYY-MM-DD", field="--on")]) from None
    with unit_of_work() as s:
        user = security_repo.user_by_username(s, username)
        if user is None or not user.is_active:
            raise NotFound(f"No active user '{username}'.")
        f = record_on_contract(s, principal_for_user(user, via="cli"), contract_id, report, term_id, on=day,
                               allow_unsupported=allow_unsupported)
        err_console.print(f"Recorded the total cost of care figures on contract {contract_id} (fact {f.id}, "
                          f"{f.on_date}): socialcare payments settle-contract {contract_id} --period ...")


def _write_facts(path: Path, facts: dict, report) -> None:
    """The facts file `payments settle --facts` reads: YAML (with where it came from, as comments) or JSON."""
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        return
    from socialcare.analytics.service import facts_yaml

    path.write_text(facts_yaml(facts, report, path.name), encoding="utf-8")


def _params(values: dict):
    from pydantic import ValidationError

    from socialcare.analytics.savings import SavingsParams

    try:
        return SavingsParams.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(
            "the shared-savings parameters were rejected",
            [Problem(e["msg"], field=".".join(str(p) for p in e["loc"]) or None) for e in exc.errors()],
        ) from exc


# ---------------------------------------------------------------- synth


@synth_app.command("claims")
def synth_claims(
    members: int = typer.Option(20_000, min=1, help="members"),
    months: int = typer.Option(24, min=2, help="months (first half baseline, second half performance)"),
    out: Path = typer.Option(Path("data/synth"), help="output folder"),
    seed: int = typer.Option(7),
    effect: float = typer.Option(
        0.30, min=0.0, max=1.0, help="share of participants' ER/inpatient lines averted"
    ),
    participant_share: float = typer.Option(
        0.30, min=0.0, max=1.0, help="share of attributed members in the program"
    ),
    lines_per_member_month: float = typer.Option(5.0, min=0.1),
    start: str = typer.Option("2024-01", help="first month YYYY-MM"),
) -> None:
    """Write synthetic eligibility, claims and a program roster (Parquet) with a planted effect."""
    from socialcare.analytics.synth import SynthSpec, generate

    spec = SynthSpec(
        members=members,
        months=months,
        seed=seed,
        effect=effect,
        participant_share=participant_share,
        lines_per_member_month=lines_per_member_month,
        start=_month(start, "start"),
    )
    m = generate(spec, out)
    console.print(
        f"wrote {m['lines']:,} claim lines, {m['member_months']:,} member-months, {m['participants']:,} participants "
        f"to {out}; planted effect {m['planted_effect_pmpm']} PMPM"
    )
