"""The hub in the middle: the hub's contract with the plan and its subcontracts with each network CBO
(their own payment terms: per meal, per episode, a share of capitation), settled from the same
delivered services. The hub sees, per period, what it received from the plan, what it owes each CBO,
its margin and the services not yet billed; each CBO sees only its own statements."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.core.errors import Forbidden, InvalidInput, Problem
from socialcare.core.money import ZERO
from socialcare.payments import gather as g
from socialcare.payments import ledger
from socialcare.payments import lifecycle as lc
from socialcare.payments import repository as repo
from socialcare.payments.models import Subcontract
from socialcare.payments.rules import Period, settle
from socialcare.payments.schemas import parse_terms
from socialcare.security import audit
from socialcare.security.principal import Principal


def _hub_contract(session: Session, principal: Principal, contract_id: int):
    c = ledger._contract(session, principal, contract_id)
    if lc.side(principal.org_id, c.plan_id, c.counterparty_id) != "payee" or not principal.is_hub or not \
            principal.can("payments:settle"):
        raise Forbidden("The hub that holds this contract manages its subcontracts.")
    return c


def add_subcontract(session: Session, principal: Principal, contract_id: int, cbo_org_id: int, terms_yaml: str,
                    start: date | None = None, end: date | None = None) -> Subcontract:
    """A subcontract (or its next version) with a CBO of the hub's network."""
    from socialcare.directory.models import HubNetworkMembership

    c = _hub_contract(session, principal, contract_id)
    member = session.scalar(select(HubNetworkMembership.id).where(
        HubNetworkMembership.hub_id == c.counterparty_id, HubNetworkMembership.cbo_id == cbo_org_id))
    if member is None:
        raise InvalidInput("That CBO is not in the hub's network", [Problem("a network CBO", field="cbo_org_id")])
    parse_terms(terms_yaml, "subcontract terms")  # refuses with file/line/field
    start, end = start or c.start_date, end or c.end_date
    if end < start:
        raise InvalidInput("The subcontract ends before it starts", [Problem("after the start", field="end_date")])
    version = (session.scalar(select(func.max(Subcontract.version)).where(
        Subcontract.contract_id == c.id, Subcontract.cbo_org_id == cbo_org_id)) or 0) + 1
    sub = Subcontract(contract_id=c.id, hub_org_id=c.counterparty_id, cbo_org_id=cbo_org_id, version=version,
                      start_date=start, end_date=end, payment_terms_yaml=terms_yaml, created_by=principal.username)
    session.add(sub)
    session.flush()
    audit.record(session, principal, "payments.subcontract.add", object_type="payment_subcontract", object_id=sub.id,
                 detail={"contract_id": c.id, "cbo_org_id": cbo_org_id, "version": version})
    return sub


def subcontracts(session: Session, contract_id: int) -> list[Subcontract]:
    """The latest version of each CBO's subcontract under a hub contract."""
    rows = list(session.scalars(select(Subcontract).where(Subcontract.contract_id == contract_id)
                                .order_by(Subcontract.cbo_org_id, Subcontract.version.desc())))
    seen: dict[int, Subcontract] = {}
    for r in rows:
        seen.setdefault(r.cbo_org_id, r)
    return list(seen.values())


def upstream_paid(session: Session, contract_id: int, p: Period) -> dict[str, Decimal] | None:
    """What the plan's statements for the period (with their adjustments) pay the hub, by hub term."""
    rows = [s for s in repo.overlapping(session, contract_id, p.start, p.end)
            if (s.period_start, s.period_end) == (p.start, p.end)]
    if not rows:
        return None
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in repo.lines(session, [s.id for s in rows]):
        if ln.paid:
            out[ln.term_id] += ln.amount
    return dict(out)


def settle_subcontract(session: Session, principal: Principal, subcontract_id: int, period: str | Period,
                       reason: str = "") -> ledger.Settled:
    sub = repo.subcontract_for(session, principal, subcontract_id)
    if not principal.can("payments:ledger") or principal.role == "auditor":
        raise Forbidden("Your role may not settle subcontracts.")
    from socialcare.contracts.models import Contract

    c = session.get(Contract, sub.contract_id)
    latest = {s.cbo_org_id: s for s in subcontracts(session, c.id)}[sub.cbo_org_id]
    p = Period.parse(period) if isinstance(period, str) else period
    if p.end < latest.start_date or p.start > latest.end_date:
        raise InvalidInput(f"The subcontract's term does not overlap {p}", [Problem("within the term", field="period")])
    terms = parse_terms(latest.payment_terms_yaml, f"subcontract {latest.id} version {latest.version}")
    lo, hi = max(p.start, latest.start_date), min(p.end, latest.end_date)
    prev = repo.latest_before(session, c.id, p.start, latest.id)
    got = g.gather(session, c, terms, lo, hi, [], carried=prev is not None, orgs=[latest.cbo_org_id])
    facts = got.facts
    if any(t.model == "revenue_share" for t in terms.terms):
        up = upstream_paid(session, c.id, p)
        if up is None:
            raise InvalidInput(f"Settle the hub's contract with the plan for {p} first", [Problem(
                "a share of the plan's payment needs the plan's statement for the same period", field="period")])
        network = g.gather(session, c, terms, lo, hi, [], carried=True).counts.get("units", {})
        facts.other = facts.other.model_copy(update={"upstream": {k: v for k, v in up.items()},
                                                     "upstream_units": network})
    st = settle(terms, facts, p, carried=prev.carry if prev else None, within=(latest.start_date, latest.end_date))
    meta = dict(period=p, version=latest.version, terms_sha=hashlib.sha256(latest.payment_terms_yaml.encode())
                .hexdigest(), facts_sha=g.fingerprint(facts), model=terms.model, mode=terms.billing.mode,
                inputs={"counts": got.counts, "subcontract": latest.id, "carried_from": prev.id if prev else None},
                notes=list(st.notes) + got.notes, carry=st.carry, payer=latest.hub_org_id, payee=latest.cbo_org_id,
                subcontract_id=latest.id)
    return ledger.store_settlement(session, principal, c, p, list(st.lines), meta, reason, subcontract_id=latest.id)


def hub_page(session: Session, principal: Principal, period: str) -> dict:
    """What the hub page shows: the period's view, the hub's contracts and network CBOs."""
    return {"period": period, "view": hub_view(session, principal, period),
            "contracts": repo.hub_contracts(session, principal), "network": repo.hub_network(session, principal)}


def hub_view(session: Session, principal: Principal, period: str | Period) -> list[dict]:
    """Per hub contract for the period: received from the plan, owed to each CBO, margin, not yet billed."""
    if not principal.is_hub or not principal.can("payments:ledger"):
        raise Forbidden("The hub view is the hub's own.")
    from socialcare.delivery.models import ServiceRecord
    from socialcare.directory.models import Organization

    p = Period.parse(period) if isinstance(period, str) else period
    out = []
    for c in repo.hub_contracts(session, principal):
        plan_rows = [s for s in repo.overlapping(session, c.id, p.start, p.end) if s.status in lc.STANDING]
        plan_paid = repo.paid_totals(session, [s.id for s in plan_rows])
        received = sum((s.total for s in plan_rows), ZERO)
        cbos = []
        for sub in subcontracts(session, c.id):
            rows = [s for s in repo.overlapping(session, c.id, p.start, p.end, sub.id) if s.status in lc.STANDING
                    or s.status == lc.DRAFT]
            paid = repo.paid_totals(session, [s.id for s in rows])
            owed = sum((s.total for s in rows if s.status in lc.STANDING), ZERO)
            cbos.append({"cbo_org_id": sub.cbo_org_id, "cbo": session.get(Organization, sub.cbo_org_id).name,
                         "subcontract_id": sub.id, "owed": owed, "paid": sum(paid.values(), ZERO),
                         "drafts": sum(1 for s in rows if s.status == lc.DRAFT),
                         "statements": [s.id for s in rows]})
        orgs = g.delivering_orgs(session, c.counterparty_id, p.start, p.end)
        billed_until = max((s.period_end for s in plan_rows), default=None)
        q = select(func.count(), func.coalesce(func.sum(ServiceRecord.units), 0)).where(
            ServiceRecord.plan_id == c.plan_id, ServiceRecord.organization_id.in_(orgs),
            g.attributed(ServiceRecord, c.id), ServiceRecord.status == "recorded",
            ServiceRecord.service_date >= p.start, ServiceRecord.service_date <= p.end)
        if billed_until:
            q = q.where(ServiceRecord.service_date > billed_until)
        n, units = session.execute(q).one()
        owed_total = sum((x["owed"] for x in cbos), ZERO)
        out.append({"contract_id": c.id, "contract": c.name, "period": str(p), "received": received,
                    "received_paid": sum(plan_paid.values(), ZERO), "owed": owed_total, "margin": received - owed_total,
                    "cbos": cbos, "not_billed": {"service_records": int(n), "units": int(units)}})
    return out
