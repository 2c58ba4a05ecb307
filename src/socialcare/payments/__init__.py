"""Payments: contract payment terms as data, settlement statements, invoices and claims.

    from socialcare.payments import load_terms, load_facts, settle
    statement = settle(load_terms("terms.yaml"), load_facts(["services.csv", "facts.yaml"]), "2025-03")
    print(statement.explain())

See docs/payments.md for the file formats.
"""

from socialcare.payments.loader import Facts, build_facts, load_facts, load_terms, read_services
from socialcare.payments.rules import Line, Period, Statement, settle
from socialcare.payments.schemas import PaymentTerms, parse_terms

__all__ = ["Facts", "Line", "PaymentTerms", "Period", "Statement", "build_facts", "load_facts", "load_terms",
           "parse_terms", "read_services", "settle"]
