"""Every ledger query. A statement is seen by its two parties only (the payer and the payee)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from socialcare.core.errors import NotFound
from socialcare.core.money import ZERO
from socialcare.payments import lifecycle as lc
from socialcare.payments.models import ManualFact, Statement, StatementEvent, StatementLine
from socialcare.security.principal import Principal


def visible(principal: Principal):
    return or_(Statement.payer_org_id == principal.org_id, Statement.payee_org_id == principal.org_id)


def get(session: Session, principal: Principal, statement_id: int) -> Statement:
    st = session.scalar(select(Statement).where(Statement.id == statement_id, visible(principal))
                        .options(selectinload(Statement.lines), selectinload(Statement.events)))
    if st is None:
        raise NotFound(f"No statement {statement_id} that you can see.")
    return st


def list_for(session: Session, principal: Principal, *, contract_id: int | None = None,
             status: str | None = None, limit: int = 500) -> list[Statement]:
    q = select(Statement).where(visible(principal))
    if contract_id is not None:
        q = q.where(Statement.contract_id == contract_id)
    if status:
        q = q.where(Statement.status == status)
    return list(session.scalars(q.order_by(Statement.period_start.desc(), Statement.id.desc()).limit(limit)))


def _sub(subcontract_id: int | None):
    return Statement.subcontract_id.is_(None) if subcontract_id is None else Statement.subcontract_id == subcontract_id


def for_period(session: Session, contract_id: int, start: date, end: date, kind: str,
               subcontract_id: int | None = None) -> list[Statement]:
    return list(session.scalars(select(Statement).where(
        Statement.contract_id == contract_id, _sub(subcontract_id), Statement.period_start == start,
        Statement.period_end == end, Statement.kind == kind, Statement.status.not_in([lc.VOID, lc.SUPERSEDED]))
        .order_by(Statement.id)))


def adjustments_of(session: Session, statement_id: int) -> list[Statement]:
    return list(session.scalars(select(Statement).where(
        Statement.adjusts_id == statement_id, Statement.status.not_in([lc.VOID, lc.SUPERSEDED]))
        .order_by(Statement.id)))


def latest_before(session: Session, contract_id: int, start: date, subcontract_id: int | None = None
                  ) -> Statement | None:
    """The stored statement (settlement or adjustment) whose carried state the period starting on
    ``start`` continues from."""
    return session.scalar(select(Statement).where(
        Statement.contract_id == contract_id, _sub(subcontract_id), Statement.period_end < start,
        Statement.status.not_in([lc.VOID, lc.SUPERSEDED])).order_by(Statement.period_end.desc(), Statement.id.desc())
        .limit(1))


def lines(session: Session, statement_ids: list[int]) -> list[StatementLine]:
    if not statement_ids:
        return []
    return list(session.scalars(select(StatementLine).where(StatementLine.statement_id.in_(statement_ids))
                                .order_by(StatementLine.statement_id, StatementLine.seq)))


def paid_totals(session: Session, statement_ids: list[int]) -> dict[int, Decimal]:
    if not statement_ids:
        return {}
    rows = session.execute(select(StatementEvent.statement_id, func.sum(StatementEvent.amount))
                           .where(StatementEvent.statement_id.in_(statement_ids), StatementEvent.action == "payment")
                           .group_by(StatementEvent.statement_id)).all()
    out = {i: ZERO for i in statement_ids}
    for sid, amount in rows:
        out[sid] = Decimal(amount or 0).quantize(Decimal("0.01"))
    return out


def manual_facts(session: Session, contract_id: int, upto: date, *, include_void: bool = False) -> list[ManualFact]:
    q = select(ManualFact).where(ManualFact.contract_id == contract_id, ManualFact.on_date <= upto)
    if not include_void:
        q = q.where(ManualFact.voided_at.is_(None))
    return list(session.scalars(q.order_by(ManualFact.on_date, ManualFact.id)))


def status_totals(session: Session, contract_id: int) -> list[tuple[str, int, Decimal]]:
    return [(s, int(n), Decimal(t or 0)) for s, n, t in session.execute(
        select(Statement.status, func.count(), func.sum(Statement.total))
        .where(Statement.contract_id == contract_id, Statement.subcontract_id.is_(None)).group_by(Statement.status))]


def overlapping(session: Session, contract_id: int, start: date, end: date, subcontract_id: int | None = None,
                ) -> list[Statement]:
    """Statements (settlements and adjustments, not void or superseded) of periods overlapping start..end."""
    return list(session.scalars(select(Statement).where(
        Statement.contract_id == contract_id, _sub(subcontract_id), Statement.period_start <= end,
        Statement.period_end >= start, Statement.status.not_in([lc.VOID, lc.SUPERSEDED])).order_by(Statement.id)))


def contract_names(session: Session, ids: set[int] | list[int]) -> dict[int, str]:
    from socialcare.contracts.models import Contract

    ids = sorted(set(ids))
    return dict(session.execute(select(Contract.id, Contract.name).where(Contract.id.in_(ids))).all()) if ids else {}


def hub_contracts(session: Session, principal: Principal) -> list:
    """The contracts the principal's hub holds with plans."""
    from socialcare.contracts.models import Contract

    if not principal.is_hub:
        return []
    return list(session.scalars(select(Contract).where(Contract.counterparty_id == principal.org_id)
                                .order_by(Contract.name)))


def hub_network(session: Session, principal: Principal) -> list[tuple[int, str]]:
    from socialcare.directory.models import HubNetworkMembership, Organization

    return [tuple(r) for r in session.execute(
        select(Organization.id, Organization.name).join(HubNetworkMembership, HubNetworkMembership.cbo_id ==
                                                        Organization.id)
        .where(HubNetworkMembership.hub_id == principal.org_id).order_by(Organization.name)).all()]


def subcontract_for(session: Session, principal: Principal, subcontract_id: int):
    """A subcontract the principal's organization is a party to (the hub or the CBO)."""
    from socialcare.payments.models import Subcontract

    sub = session.scalar(select(Subcontract).where(
        Subcontract.id == subcontract_id,
        or_(Subcontract.hub_org_id == principal.org_id, Subcontract.cbo_org_id == principal.org_id)))
    if sub is None:
        raise NotFound(f"No subcontract {subcontract_id} that you can settle.")
    return sub
