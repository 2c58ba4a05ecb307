"""Payments pages: the ledger (a contract's stored statements, settling a contract for a period, a
statement with its lifecycle actions, invoice CSV and PDF) and the "what if" calculator (paste or
upload payment terms and a period's facts, see a statement that is not stored)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from socialcare.core.errors import InvalidInput
from socialcare.payments import claims, finance, hub, ledger, ledger_views, lifecycle, service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.limits import upload_limit
from socialcare.web.nav import NavItem
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["payments"])

NAV = [NavItem(label="Payments", href="/payments/statements", permission="payments:ledger", order=45)]

Reader = Depends(require_page("payments:read"))
Ledger = Depends(require_page("payments:ledger"))

EXAMPLE_TERMS = """\
# BayAging (seed 002): PMPM for delegated care management, plus the state's penalties:
# $1,000 for the first occurrence, then in 5 percent increments. See docs/payments.md.
version: 1
contract: Medicaid plan x Bay Aging
terms:
  - id: delegated-care-management
    model: capitation
    pmpm: "38.00"
  - id: state-penalties
    model: escalating_penalty
    first_amount: "1000.00"
    escalation: linear
    increment_percent: 5
"""
EXAMPLE_FACTS = """\
member_months:
  delegated-care-management: 2400
penalty_occurrences:
  - {term: state-penalties, date: 2025-02-14, measure: care plan development}
  - {term: state-penalties, date: 2025-03-05, measure: vaccine administration}
"""
OUTPUTS = [("statement", "Statement only"), ("invoice", "Invoice (CSV)"), ("claims", "Member claims (CSV)"),
           ("x12_837p", "X12 837P claim file")]


@router.get("/payments/settle")
def settle_page(request: Request, db: DbSession, principal: Principal = Reader):
    form = {"terms_yaml": EXAMPLE_TERMS, "facts_yaml": EXAMPLE_FACTS, "services_csv": "", "period": "2025-03",
            "output": "statement"}
    return render(request, "payments/settle.html", {"form": form, "outputs": OUTPUTS})


@router.post("/payments/settle", dependencies=[Depends(csrf_protect)], max_body_size=upload_limit())
def settle_submit(
    request: Request,
    db: DbSession,
    principal: Principal = Reader,
    terms_yaml: str = Form(""),
    facts_yaml: str = Form(""),
    services_csv: str = Form(""),
    period: str = Form(""),
    output: str = Form("statement"),
    terms_file: UploadFile | None = File(None),
    facts_file: UploadFile | None = File(None),
    services_file: UploadFile | None = File(None),
) -> Response:
    if terms_file is not None and terms_file.filename:
        terms_yaml = terms_file.file.read().decode("utf-8", errors="replace")
    if facts_file is not None and facts_file.filename:
        facts_yaml = facts_file.file.read().decode("utf-8", errors="replace")
    raw: bytes = services_csv.encode()
    name = "services.csv"
    if services_file is not None and services_file.filename:
        raw, name = services_file.file.read(), services_file.filename
    output = output if output in dict(OUTPUTS) else "statement"
    form = {"terms_yaml": terms_yaml, "facts_yaml": facts_yaml, "services_csv": services_csv, "period": period,
            "output": output}
    ctx: dict = {"form": form, "outputs": OUTPUTS}
    try:
        ctx["statement"], ctx["extras"] = service.settle_texts(
            principal, terms_yaml=terms_yaml, period=period, facts_yaml=facts_yaml, services_csv=raw,
            output=output, services_name=name)
    except InvalidInput as exc:
        ctx["problems"], ctx["message"] = exc.problems or [], exc.message
    return render(request, "payments/settle.html", ctx, block="results",
                  status_code=422 if "problems" in ctx else 200)


# ---- the ledger --------------------------------------------------------------------------------


def _contract_names(db, rows) -> dict[int, str]:
    return ledger.repo.contract_names(db, {r.contract_id for r in rows})


@router.get("/payments/statements")
def statements_page(request: Request, db: DbSession, principal: Principal = Ledger):
    rows = ledger.statements(db, principal)
    paid = ledger.repo.paid_totals(db, [r.id for r in rows])
    return render(request, "payments/statements.html", {
        "rows": [ledger_views.summary(r, paid[r.id]) for r in rows], "names": _contract_names(db, rows),
        "contract": None, "can_whatif": principal.can("payments:read")})


@router.get("/contracts/{contract_id}/statements")
def contract_statements_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Ledger):
    c = ledger._contract(db, principal, contract_id)
    rows = ledger.statements(db, principal, contract_id)
    paid = ledger.repo.paid_totals(db, [r.id for r in rows])
    facts = ledger.repo.manual_facts(db, c.id, date.max, include_void=True)
    side = lifecycle.side(principal.org_id, c.plan_id, c.counterparty_id)
    return render(request, "payments/statements.html", {
        "rows": [ledger_views.summary(r, paid[r.id]) for r in rows], "names": {c.id: c.name}, "contract": c,
        "facts": facts, "kinds": ledger.MANUAL_LABELS, "summary": service.contract_payments(db, principal, c),
        "can_settle": side is not None and principal.role != "auditor" and (
            side == "payee" or principal.can("payments:settle")),
        "can_whatif": principal.can("payments:read"), "default_period": _last_month()})


def _last_month() -> str:
    from socialcare.core.clock import today

    t = today()
    return f"{t.year if t.month > 1 else t.year - 1:04d}-{(t.month - 1) or 12:02d}"


@router.post("/contracts/{contract_id}/statements", dependencies=[Depends(csrf_protect)])
def settle_contract(request: Request, contract_id: int, db: DbSession, principal: Principal = Ledger,
                    period: str = Form(""), reason: str = Form("")):
    done = ledger.settle_contract(db, principal, contract_id, period, reason=reason)
    st = done.statement
    what = "An adjustment statement holds the difference" if st.kind == "adjustment" else "A draft statement"
    return redirect(f"/payments/statements/{st.id}", flash=f"{what} for {st.period_label} was stored.",
                    kind="success", request=request)


@router.post("/contracts/{contract_id}/facts", dependencies=[Depends(csrf_protect)])
def add_fact(request: Request, contract_id: int, db: DbSession, principal: Principal = Ledger,
             kind: str = Form(""), on: str = Form(""), reason: str = Form(""), term_id: str = Form(""),
             amount: str = Form(""), measure: str = Form(""), metric: str = Form(""), value: str = Form(""),
             count: str = Form(""), hours: str = Form(""), projected_tcoc: str = Form(""),
             actual_tcoc: str = Form(""), quality_metrics_met: str = Form("")):
    data = {k: v for k, v in dict(measure=measure, metric=metric, value=value, count=count, hours=hours,
                                  projected_tcoc=projected_tcoc, actual_tcoc=actual_tcoc,
                                  quality_metrics_met=quality_metrics_met).items() if v.strip()}
    if "quality_metrics_met" in data:
        data["quality_metrics_met"] = int(data["quality_metrics_met"]) if data["quality_metrics_met"].isdigit() else 0
    ledger.add_manual_fact(db, principal, contract_id, kind, on, reason, term_id=term_id.strip() or None, data=data,
                           amount=amount or None)
    return redirect(f"/contracts/{contract_id}/statements", flash="The fact was recorded.", kind="success",
                    request=request)


@router.get("/payments/statements/{statement_id}")
def statement_page(request: Request, statement_id: int, db: DbSession, principal: Principal = Ledger):
    st, paid = ledger.statement(db, principal, statement_id)
    side = lifecycle.side(principal.org_id, st.payer_org_id, st.payee_org_id)
    acting = principal.role != "auditor"
    return render(request, "payments/statement.html", {
        "st": st, "s": ledger_views.summary(st, paid), "paid": paid, "outstanding": abs(st.total) - paid,
        "actions": ledger_views.actions_for(st, side, principal.can("payments:settle")) if acting else [],
        "can_pay": acting and side == "payer" and principal.can("payments:settle") and st.status in lifecycle.PAYABLE,
        "can_adjust": acting and st.status in lifecycle.STANDING and (side == "payee" or principal.can(
            "payments:settle")),
        "adjustments": ledger.repo.adjustments_of(db, st.id), "labels": lifecycle.LABELS,
        "claims": claims.claims_of(db, principal, st.id) if st.billing_mode == "claims" else [], "side": side,
        "acting": acting})


@router.post("/payments/claims/{claim_id}/status", dependencies=[Depends(csrf_protect)])
def claim_status(request: Request, claim_id: int, db: DbSession, principal: Principal = Ledger,
                 status: str = Form(""), reason: str = Form(""), paid_amount: str = Form("")):
    c = claims.set_status(db, principal, claim_id, status, reason=reason, paid_amount=paid_amount or None)
    return redirect(f"/payments/statements/{c.statement_id}", flash=f"Claim {c.claim_id} is {c.status}.",
                    kind="success", request=request)


@router.post("/payments/claims/{claim_id}/resubmit", dependencies=[Depends(csrf_protect)])
def claim_resubmit(request: Request, claim_id: int, db: DbSession, principal: Principal = Ledger):
    text, new = claims.resubmit(db, principal, claim_id)
    return Response(text, media_type="application/edi-x12", headers={
        "Content-Disposition": f'attachment; filename="claim-{new.id}.837"'})


@router.post("/payments/statements/{statement_id}/action", dependencies=[Depends(csrf_protect)])
def statement_action(request: Request, statement_id: int, db: DbSession, principal: Principal = Ledger,
                     action: str = Form(""), note: str = Form("")):
    if action == "submit_claims":  # the 837P file is the answer (its claims are stored, each with a status)
        text = claims.submit_claims(db, principal, statement_id)
        return Response(text, media_type="application/edi-x12", headers={
            "Content-Disposition": f'attachment; filename="statement-{statement_id}.837"'})
    st = ledger.act(db, principal, statement_id, action, note)
    return redirect(f"/payments/statements/{st.id}", flash=f"The statement is now {lifecycle.LABELS[st.status].lower()}.",
                    kind="success", request=request)


@router.post("/payments/statements/{statement_id}/payments", dependencies=[Depends(csrf_protect)])
def statement_payment(request: Request, statement_id: int, db: DbSession, principal: Principal = Ledger,
                      amount: str = Form(""), paid_on: str = Form(""), reference: str = Form("")):
    st = ledger.record_payment(db, principal, statement_id, amount, paid_on, reference)
    return redirect(f"/payments/statements/{st.id}", flash="The payment was recorded.", kind="success",
                    request=request)


@router.post("/payments/statements/{statement_id}/adjust", dependencies=[Depends(csrf_protect)])
def statement_adjust(request: Request, statement_id: int, db: DbSession, principal: Principal = Ledger,
                     amount: str = Form(""), reason: str = Form(""), mlr: str = Form("medical")):
    adj = ledger.adjust(db, principal, statement_id, amount, reason, mlr)
    return redirect(f"/payments/statements/{adj.id}", flash=f"Adjustment statement {adj.id} was stored as a draft.",
                    kind="success", request=request)


@router.get("/payments/statements/{statement_id}/invoice.csv")
def statement_invoice_csv(statement_id: int, db: DbSession, principal: Principal = Ledger):
    from socialcare.payments import billing

    st, _ = ledger.statement(db, principal, statement_id)
    return Response(billing.invoice_csv(ledger.as_engine_statement(st)), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="statement-{st.id}.csv"'})


@router.get("/payments/statements/{statement_id}/invoice.pdf")
def statement_invoice_pdf(statement_id: int, db: DbSession, principal: Principal = Ledger):
    from weasyprint import HTML

    st, paid = ledger.statement(db, principal, statement_id)
    c = st.contract
    names = (c.plan.name, c.counterparty.name) if c is not None else ("", "")
    pdf = HTML(string=ledger_views.pdf_html(st, paid, names)).write_pdf()
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="statement-{st.id}.pdf"'})


# ---- the hub in the middle ---------------------------------------------------------------------


@router.get("/payments/hub")
def hub_page(request: Request, db: DbSession, principal: Principal = Ledger, period: str = ""):
    return render(request, "payments/hub.html", hub.hub_page(db, principal, period or _last_month()))


@router.post("/payments/hub/subcontracts", dependencies=[Depends(csrf_protect)])
def hub_add_subcontract(request: Request, db: DbSession, principal: Principal = Ledger, contract_id: int = Form(0),
                        cbo_org_id: int = Form(0), terms_yaml: str = Form("")):
    hub.add_subcontract(db, principal, contract_id, cbo_org_id, terms_yaml)
    return redirect("/payments/hub", flash="The subcontract was saved.", kind="success", request=request)


@router.post("/payments/subcontracts/{subcontract_id}/statements", dependencies=[Depends(csrf_protect)])
def settle_subcontract(request: Request, subcontract_id: int, db: DbSession, principal: Principal = Ledger,
                       period: str = Form("")):
    st = hub.settle_subcontract(db, principal, subcontract_id, period).statement
    return redirect(f"/payments/statements/{st.id}", flash=f"The subcontract's statement for {st.period_label} was "
                    "stored.", kind="success", request=request)


# ---- finance and MLR ---------------------------------------------------------------------------


def _dates(start: str, end: str) -> tuple[date | None, date | None]:
    from socialcare.core.errors import Problem

    try:
        return (date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None)
    except ValueError:
        raise InvalidInput("Not a date", [Problem("YYYY-MM-DD", field="from")]) from None


@router.get("/payments/finance")
def finance_page(request: Request, db: DbSession, principal: Principal = Ledger, start: str = "", end: str = ""):
    lo, hi = _dates(start, end)
    rows = finance.paid_over_time(db, principal, lo, hi)
    return render(request, "payments/finance.html", {
        "rows": rows, "totals": finance.totals_by_mlr(rows), "labels": finance.MLR_LABELS,
        "authorities": finance.AUTHORITY_LABELS, "chart": finance.chart_svg(rows) if rows else "",
        "start": start, "end": end})


@router.get("/payments/finance.csv")
def finance_csv(db: DbSession, principal: Principal = Ledger, start: str = "", end: str = ""):
    lo, hi = _dates(start, end)
    return Response(finance.to_csv(finance.paid_over_time(db, principal, lo, hi)), media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="paid-by-mlr-category.csv"'})
