"""Use cases behind the "what if" calculator (settle terms and facts given as text: nothing is read or
stored, so it needs only the principal's permission) and the renewal review's payments summary.
The ledger (stored statements, settling a contract from the platform) is ``payments.ledger``.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from socialcare.core.errors import InvalidInput, Problem
from socialcare.core.money import ZERO, cents
from socialcare.payments import billing
from socialcare.payments.loader import build_facts
from socialcare.payments.rules import Period, Statement, settle
from socialcare.payments.schemas import parse_terms
from socialcare.security.principal import Principal

Output = Literal["statement", "invoice", "claims", "x12_837p"]
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def settle_texts(principal: Principal, *, terms_yaml: str, period: str, facts_yaml: str = "",
                 services_csv: bytes | str = b"", output: Output = "statement",
                 services_name: str = "services.csv") -> tuple[Statement, dict]:
    """(statement, extras): extras holds the invoice CSV, claims CSV or 837P text asked for."""
    principal.require("payments:read")
    if not (terms_yaml or "").strip():
        raise InvalidInput("The payment terms are empty", [Problem("paste or upload the payment terms YAML",
                                                                   field="terms_yaml", file="terms")])
    raw = services_csv.encode() if isinstance(services_csv, str) else (services_csv or b"")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InvalidInput("The services file is too large", [Problem("at most 200 MB", field="services_csv")])
    terms = parse_terms(terms_yaml, "terms")
    docs = [("facts", facts_yaml)] if (facts_yaml or "").strip() else []
    services = [(services_name, raw)] if raw.strip() else []
    facts = build_facts(docs, services)
    p = Period.parse(period)
    statement = settle(terms, facts, p)
    extras: dict = {}
    if output == "invoice":
        extras["invoice_csv"] = billing.invoice_csv(statement)
    elif output == "claims":
        extras["claims_csv"] = billing.claims_csv(billing.claim_lines(terms, facts, p))
    elif output == "x12_837p":
        extras["x12_837p"] = billing.claims_837p(terms, facts, p)
    return statement, extras


def contract_payments(session: Session, principal: Principal, contract) -> dict:
    """Stored statements of a contract by status, for the renewal review (contracts.service.renewal_review):
    how much was settled, approved, paid and is still owed."""
    from socialcare.payments import lifecycle as lc
    from socialcare.payments import repository as repo

    if lc.side(principal.org_id, contract.plan_id, contract.counterparty_id) is None or not principal.can(
            "payments:ledger"):
        return {"message": "Statements are seen by the contract's two parties only."}
    by_status = {s: {"label": lc.LABELS.get(s, s), "count": n, "total": str(cents(t))}
                 for s, n, t in repo.status_totals(session, contract.id)}
    standing = [st for st in repo.list_for(session, principal, contract_id=contract.id, limit=10_000)
                if st.status in lc.STANDING]
    paid = repo.paid_totals(session, [st.id for st in standing])
    approved = sum((st.total for st in standing), ZERO)
    received = sum(paid.values(), ZERO)
    return {"statements": sum(v["count"] for v in by_status.values()), "by_status": by_status,
            "approved_total": str(approved), "paid_total": str(received),
            "outstanding": str(sum((abs(st.total) - paid[st.id] for st in standing), ZERO)),
            "disputed": by_status.get(lc.DISPUTED, {}).get("count", 0)}
