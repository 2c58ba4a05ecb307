"""Referral clocks from the contract: the scope of work's timing expectations ("contact within 3
business days") set a referral's due times instead of the global standard.

``what.timing_expectations`` is the structured form; a contract that only says it in words (the
``timing`` workflow, or a service's provision timing) is read with ``rules.parse_timing``. A routine
referral runs on the contract's clock; an urgent one keeps the earlier of the two.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.contracts.models import Contract, ContractVersion
from socialcare.core.clock import as_utc
from socialcare.directory.models import HubNetworkMembership
from socialcare.partnership import rules
from socialcare.referrals import rules as referral_rules

LIVE_PHASES = ("pre_launch", "implementation", "renewal")
_FIELD = {"outreach": "outreach_due_at", "contact": "contact_due_at", "service": "service_due_at"}


def contract_for(session: Session, plan_id: int, org_id: int | None, contract_id: int | None = None) -> Contract | None:
    """The contract a referral to ``org_id`` runs under: the one named, else the plan's live contract
    with that organization, else with a hub whose network it is in."""
    if contract_id is not None:
        return session.get(Contract, contract_id)
    if org_id is None:
        return None
    base = (select(Contract).where(Contract.plan_id == plan_id, Contract.phase.in_(LIVE_PHASES))
            .order_by(Contract.start_date.desc(), Contract.id.desc()).limit(1))
    found = session.scalar(base.where(Contract.counterparty_id == org_id))
    if found is None:
        hubs = select(HubNetworkMembership.hub_id).where(HubNetworkMembership.cbo_id == org_id,
                                                         HubNetworkMembership.end_date.is_(None))
        found = session.scalar(base.where(Contract.counterparty_id.in_(hubs)))
    return found


def expectations(session: Session, contract: Contract) -> list[tuple[str, int, str]]:
    """[(milestone, within, unit)] the contract's current version states."""
    sow = session.scalar(select(ContractVersion.scope_of_work).where(
        ContractVersion.contract_id == contract.id, ContractVersion.version == contract.current_version)) or {}
    what = sow.get("what") or {}
    found = {e["milestone"]: (e["milestone"], int(e["within"]), e.get("unit", "days"))
             for e in what.get("timing_expectations") or []}
    texts = [w.get("description", "") for w in what.get("workflows") or [] if w.get("activity") == "timing"]
    for milestone, n, unit in (t for text in texts for t in rules.parse_timing(text)):
        found.setdefault(milestone, (milestone, n, unit))
    return list(found.values())


def due_times(requested_at: datetime, urgency: str, discharge_at: datetime | None,
              timing: list[tuple[str, int, str]]) -> dict[str, datetime]:
    """The referral standard's due times, with the contract's expectations applied (pure)."""
    dues = referral_rules.due_times(requested_at, urgency, discharge_at)
    for milestone, within, unit in timing:
        field = _FIELD.get(milestone)
        if field is None:
            continue
        at = rules.add_time(requested_at, within, unit)
        dues[field] = at if urgency == "routine" and discharge_at is None else min(dues[field], at)
    return dues


def due_times_for(session: Session, *, plan_id: int, owner_org_id: int | None, requested_at: datetime,
                  urgency: str, discharge_at: datetime | None = None,
                  contract_id: int | None = None) -> dict[str, datetime]:
    contract = contract_for(session, plan_id, owner_org_id, contract_id)
    timing = expectations(session, contract) if contract is not None else []
    return due_times(requested_at, urgency, discharge_at, timing)


def overdue(referral, now: datetime) -> dict[str, bool]:
    """Which of a referral's clocks have run out at ``now`` (injected, for jobs and tests)."""
    def late(due, done):
        return referral.status in referral_rules.OPEN and done is None and due is not None and as_utc(due) < now

    return {
        "outreach": late(referral.outreach_due_at, referral.first_outreach_at),
        "contact": late(referral.contact_due_at, referral.contacted_at),
        "service": late(referral.service_due_at, referral.service_started_at),
    }
