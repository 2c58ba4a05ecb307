"""Payments page: paste or upload payment terms and a period's facts, see the settlement statement."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from socialcare.core.errors import InvalidInput
from socialcare.payments import service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.limits import upload_limit
from socialcare.web.nav import NavItem
from socialcare.web.templating import render

router = APIRouter(tags=["payments"])

NAV = [NavItem(label="Payments", href="/payments/settle", permission="payments:read", order=45)]

Reader = Depends(require_page("payments:read"))

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
