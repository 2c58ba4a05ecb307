"""Use cases behind the web page and the JSON API: settle terms and facts given as text.

Settlement here is a calculation on what the caller sends (no database rows are read or written),
so it needs only the principal's permission.
"""

from __future__ import annotations

from typing import Literal

from socialcare.core.errors import InvalidInput, Problem
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
