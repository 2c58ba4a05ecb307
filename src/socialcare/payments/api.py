"""Payments JSON API: the ledger (settle a contract for a period into a stored statement, statements and
their lifecycle, manual facts) and the "what if" settlement of pasted terms and facts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from socialcare.payments import claims, finance, hub, ledger, ledger_views, service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api
from socialcare.web.limits import upload_limit

router = APIRouter(prefix="/payments", tags=["payments"])

Settler = Annotated[Principal, Depends(require_api("payments:read"))]
LedgerUser = Annotated[Principal, Depends(require_api("payments:ledger"))]


class SettleRequest(BaseModel):
    terms_yaml: str = Field(..., description="The payment terms (docs/payments.md), YAML text.")
    period: str = Field(..., description="YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD", examples=["2025-03"])
    facts_yaml: str = Field("", description="Other facts (member_months, episodes, metrics, tcoc...), YAML or JSON.")
    services_csv: str = Field("", description="Delivered services CSV: member_id,service_code,service_date,units")
    output: service.Output = Field("statement", description="Also return the invoice CSV, claims CSV or X12 837P.")


@router.post("/settle", summary="What if: settle pasted payment terms for a period (nothing stored)",
             max_body_size=upload_limit())
def settle(body: SettleRequest, db: DbSession, principal: Settler) -> dict:
    """The statement: one line per term and component (formula, inputs, amount, MLR category,
    paid or reported only) and totals. Amounts are strings (exact decimals). Bad terms or facts
    answer 422 with problems naming the file, row and field."""
    statement, extras = service.settle_texts(
        principal, terms_yaml=body.terms_yaml, period=body.period, facts_yaml=body.facts_yaml,
        services_csv=body.services_csv, output=body.output)
    return {**statement.as_dict(), **extras}


# ---- the ledger --------------------------------------------------------------------------------


class ContractSettle(BaseModel):
    period: str = Field(..., description="YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD", examples=["2026-05"])
    reason: str = Field("", description="Why (for an adjustment when the period is already approved).")


class StatementAction(BaseModel):
    action: str = Field(..., description="approve, invoice, submit_claims, dispute, close or void")
    note: str = Field("", description="The reason (required to dispute).")


class PaymentIn(BaseModel):
    amount: str = Field(..., examples=["1250.00"])
    paid_on: str | None = Field(None, description="YYYY-MM-DD (default today)")
    reference: str = Field(..., description="Check or EFT trace number")


class AdjustmentIn(BaseModel):
    amount: str = Field(..., examples=["-120.00"])
    reason: str
    mlr: str = "medical"


class ManualFactIn(BaseModel):
    kind: str = Field(..., description="penalty_occurrence, adjustment, metric, member_months, tcoc or joc_hours")
    on: str = Field(..., description="YYYY-MM-DD")
    reason: str
    term_id: str | None = None
    amount: str | None = None
    data: dict = Field(default_factory=dict, description="measure; metric, value; count; hours; projected_tcoc...")


def _detail(db, principal, statement_id: int) -> dict:
    st, paid = ledger.statement(db, principal, statement_id)
    return ledger_views.detail(st, paid)


@router.post("/contracts/{contract_id}/settle", status_code=201,
             summary="Settle a contract for a period from the platform's records into a stored statement")
def settle_contract(contract_id: int, body: ContractSettle, db: DbSession, principal: LedgerUser) -> dict:
    done = ledger.settle_contract(db, principal, contract_id, body.period, reason=body.reason)
    db.flush()
    return {**_detail(db, principal, done.statement.id), "superseded": done.superseded}


@router.get("/statements", summary="Stored statements you are a party to")
def list_statements(db: DbSession, principal: LedgerUser, contract_id: int | None = None) -> list[dict]:
    rows = ledger.statements(db, principal, contract_id)
    paid = ledger.repo.paid_totals(db, [r.id for r in rows])
    return [ledger_views.summary(r, paid[r.id]) for r in rows]


@router.get("/statements/{statement_id}", summary="A stored statement: lines, formulas, inputs, history")
def get_statement(statement_id: int, db: DbSession, principal: LedgerUser) -> dict:
    return _detail(db, principal, statement_id)


@router.post("/statements/{statement_id}/actions", summary="Approve, invoice, submit claims, dispute, close, void")
def statement_action(statement_id: int, body: StatementAction, db: DbSession, principal: LedgerUser) -> dict:
    """``submit_claims`` also answers the 837P file (``x12_837p``)."""
    extra = {}
    if body.action == "submit_claims":
        extra["x12_837p"] = claims.submit_claims(db, principal, statement_id)
    else:
        ledger.act(db, principal, statement_id, body.action, body.note)
    db.flush()
    return {**_detail(db, principal, statement_id), **extra}


class ClaimStatusIn(BaseModel):
    status: str = Field(..., description="accepted, denied or paid")
    reason: str = Field("", description="the denial reason")
    paid_amount: str | None = None


def _claim(c) -> dict:
    return {"id": c.id, "statement_id": c.statement_id, "claim_id": c.claim_id, "member_id": c.member_id,
            "charge": str(c.charge), "control_number": c.control_number, "status": c.status, "reason": c.reason,
            "paid_amount": None if c.paid_amount is None else str(c.paid_amount), "resubmits_id": c.resubmits_id}


@router.get("/statements/{statement_id}/claims", summary="The statement's claims and their status")
def statement_claims(statement_id: int, db: DbSession, principal: LedgerUser) -> list[dict]:
    return [_claim(c) for c in claims.claims_of(db, principal, statement_id)]


@router.post("/claims/{claim_id}/status", summary="Record a claim accepted, denied (with the reason) or paid")
def claim_status(claim_id: int, body: ClaimStatusIn, db: DbSession, principal: LedgerUser) -> dict:
    return _claim(claims.set_status(db, principal, claim_id, body.status, reason=body.reason,
                                    paid_amount=body.paid_amount))


@router.post("/claims/{claim_id}/resubmit", status_code=201, summary="Correct and resubmit a denied claim")
def claim_resubmit(claim_id: int, db: DbSession, principal: LedgerUser) -> dict:
    text, new = claims.resubmit(db, principal, claim_id)
    return {**_claim(new), "x12_837p": text}


@router.post("/statements/{statement_id}/payments", summary="Record a (partial) payment")
def statement_payment(statement_id: int, body: PaymentIn, db: DbSession, principal: LedgerUser) -> dict:
    ledger.record_payment(db, principal, statement_id, body.amount, body.paid_on, body.reference)
    db.flush()
    return _detail(db, principal, statement_id)


@router.post("/statements/{statement_id}/adjustments", status_code=201,
             summary="An adjustment statement referencing this one")
def statement_adjust(statement_id: int, body: AdjustmentIn, db: DbSession, principal: LedgerUser) -> dict:
    adj = ledger.adjust(db, principal, statement_id, body.amount, body.reason, body.mlr)
    db.flush()
    return _detail(db, principal, adj.id)


@router.post("/contracts/{contract_id}/facts", status_code=201, summary="Enter a fact only a person can give")
def add_fact(contract_id: int, body: ManualFactIn, db: DbSession, principal: LedgerUser) -> dict:
    f = ledger.add_manual_fact(db, principal, contract_id, body.kind, body.on, body.reason, term_id=body.term_id,
                               data=body.data, amount=body.amount)
    return {"id": f.id, "kind": f.kind, "on": f.on_date.isoformat(), "entered_by": f.entered_by}


class SubcontractIn(BaseModel):
    cbo_org_id: int
    terms_yaml: str = Field(..., description="The CBO's payment terms (per meal, per episode, revenue_share...)")


@router.post("/contracts/{contract_id}/subcontracts", status_code=201, summary="A hub's subcontract with a network CBO")
def add_subcontract(contract_id: int, body: SubcontractIn, db: DbSession, principal: LedgerUser) -> dict:
    sub = hub.add_subcontract(db, principal, contract_id, body.cbo_org_id, body.terms_yaml)
    return {"id": sub.id, "contract_id": sub.contract_id, "cbo_org_id": sub.cbo_org_id, "version": sub.version}


@router.post("/subcontracts/{subcontract_id}/settle", status_code=201, summary="Settle a hub's subcontract")
def settle_subcontract(subcontract_id: int, body: ContractSettle, db: DbSession, principal: LedgerUser) -> dict:
    done = hub.settle_subcontract(db, principal, subcontract_id, body.period, body.reason)
    db.flush()
    return _detail(db, principal, done.statement.id)


@router.get("/hub", summary="The hub's period: received from the plan, owed to each CBO, margin, not yet billed")
def hub_view(period: str, db: DbSession, principal: LedgerUser) -> list[dict]:
    rows = hub.hub_view(db, principal, period)
    for r in rows:
        for k in ("received", "received_paid", "owed", "margin"):
            r[k] = str(r[k])
        for c in r["cbos"]:
            c["owed"], c["paid"] = str(c["owed"]), str(c["paid"])
    return rows


@router.get("/finance", summary="Paid amounts by month, contract, payment model and MLR category")
def finance_rows(db: DbSession, principal: LedgerUser, start: str | None = None, end: str | None = None) -> list[dict]:
    from datetime import date

    rows = finance.paid_over_time(db, principal, date.fromisoformat(start) if start else None,
                                  date.fromisoformat(end) if end else None)
    return [{**r, "amount": str(r["amount"])} for r in rows]
