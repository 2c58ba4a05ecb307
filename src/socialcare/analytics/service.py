"""Use cases shared by the analytics pages and API."""

from __future__ import annotations

from datetime import date, timedelta

import yaml
from sqlalchemy.orm import Session

from socialcare.analytics import datasets, savings
from socialcare.core.errors import InvalidInput, Problem
from socialcare.security import audit
from socialcare.security.principal import Principal


def run_report(
    db: Session, principal: Principal, ds: datasets.Dataset, params: savings.SavingsParams
) -> savings.SavingsReport:
    """Run the shared-savings report on DuckDB and audit it: the data set holds members' claims
    (only aggregates leave this function, but who ran which data set is on record)."""
    report = savings.run(ds.claims, ds.eligibility, params, program_path=ds.program, engine="duckdb")
    audit.record(
        db,
        principal,
        "analytics.savings.run",
        object_type="claims_dataset",
        object_id=ds.name,
        detail={
            "baseline": [params.baseline_start.isoformat(), params.baseline_end.isoformat()],
            "performance": [params.performance_start.isoformat(), params.performance_end.isoformat()],
            "member_months": report.performance_member_months,
            "seconds": report.seconds,
        },
    )
    return report


def payment_handoff(
    report: savings.SavingsReport, term_id: str = "savings", *, allow_unsupported: bool = False
) -> tuple[dict | None, str | None]:
    """(the facts ``socialcare payments settle --facts`` takes, None) or (None, why they were refused):
    the one hand-off of the API (``payment_facts``/``payment_facts_refused``) and of
    ``socialcare savings report --facts-out``."""
    try:
        return savings.to_payment_facts(report, term_id, allow_unsupported=allow_unsupported), None
    except InvalidInput as exc:
        return None, f"{exc.message}: {exc.problems[0].message}"


def facts_yaml(facts: dict, report: savings.SavingsReport, filename: str = "facts.yaml") -> str:
    """The facts as the YAML file ``payments settle --facts`` reads, with where they came from as comments."""
    p = report.params
    head = (
        f"# Shared-savings facts from the shared-savings report ({report.engine}): baseline "
        f"{p.baseline_start:%Y-%m} to {p.baseline_end:%Y-%m}, performance {p.performance_start:%Y-%m} to "
        f"{p.performance_end:%Y-%m}; savings {'supported' if report.savings_supported else 'NOT supported'} "
        "by the difference-in-differences.\n# Settle with: socialcare payments settle TERMS.yaml --facts "
        f"{filename} --period ...\n"
    )
    return head + yaml.safe_dump(facts, sort_keys=False)


def record_on_contract(session: Session, principal: Principal, contract_id: int, report: savings.SavingsReport,
                       term_id: str = "savings", *, on: date | None = None, allow_unsupported: bool = False):
    """Record the report's facts on the contract (a ``tcoc`` manual fact of the payments ledger), so
    the contract's own settlement (``socialcare payments settle-contract``) reads them with no copying.
    ``on`` defaults to the last day of the performance period, the period the term settles."""
    from socialcare.payments import ledger

    facts, refused = payment_handoff(report, term_id, allow_unsupported=allow_unsupported)
    if facts is None:
        raise InvalidInput("the savings facts were not recorded", [Problem(refused or "", field=f"tcoc.{term_id}")])
    p = report.params
    end = p.performance_end
    on = on or (date(end.year + end.month // 12, end.month % 12 + 1, 1) - timedelta(days=1))
    reason = (f"shared-savings report ({report.engine}): performance {p.performance_start:%Y-%m} to {end:%Y-%m}, "
              f"savings {'supported' if report.savings_supported else 'NOT supported (settled by decision)'}")
    return ledger.add_manual_fact(session, principal, contract_id, "tcoc", on, reason, term_id=term_id,
                                  data=facts["tcoc"][term_id])
