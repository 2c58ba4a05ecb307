"""Build terms and facts in memory for payment tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from socialcare.payments import build_facts, parse_terms

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "payments"


def terms(text: str, file: str = "terms.yaml"):
    return parse_terms(textwrap.dedent(text), file)


def services_csv(rows) -> bytes:
    """rows: (member_id, service_code, service_date, units)."""
    lines = ["member_id,service_code,service_date,units"] + [",".join(str(x) for x in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def facts(rows=None, other: dict | str | None = None, csv_name: str = "services.csv", yaml_name: str = "facts.yaml"):
    docs = []
    if other is not None:
        docs.append((yaml_name, other if isinstance(other, str) else yaml.safe_dump(other, sort_keys=False)))
    services = [(csv_name, services_csv(rows))] if rows is not None else []
    return build_facts(docs, services)


def paid(statement, term_id=None, component=None):
    return [ln for ln in statement.lines if ln.paid and (term_id is None or ln.term_id == term_id)
            and (component is None or ln.component.startswith(component))]
