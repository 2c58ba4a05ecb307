"""Nightly measure refresh: every active contract's measure values for the last full month."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.contracts.models import Contract
from socialcare.jobs import Job
from socialcare.measures import service


def refresh(session: Session, month: str | None = None) -> dict:
    """The P4P metric values of each contract in force during the month, as settlement reads them."""
    from socialcare.measures import rules

    first = rules.parse_month(month) if month else service.default_month()
    values = {}
    for contract in session.scalars(select(Contract).order_by(Contract.id)):
        if contract.start_date > first.replace(day=28) or contract.end_date < first:
            continue
        values[str(contract.id)] = {k: str(v) for k, v in service.metric_values(session, contract.id, first).items()}
    return {"month": first.isoformat()[:7], "contracts": values}


JOBS = [
    Job("measures.refresh", refresh, "Compute every active contract's measures for the last full month",
        every=timedelta(days=1), at=time(2, 0), timeout=timedelta(hours=2)),
]
