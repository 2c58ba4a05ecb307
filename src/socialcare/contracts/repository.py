"""Contract queries. A plan sees the contracts it holds; a hub or CBO sees the contracts it is party to;
nobody else sees a contract at all (not even that it exists)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, false, func, insert, literal, or_, select, text
from sqlalchemy.orm import Session, selectinload

from socialcare.contracts import eligibility as elig
from socialcare.contracts import schemas
from socialcare.contracts.models import Contract, ContractVersion, MemberSelection, PhaseEvent, SelectedMember
from socialcare.core.errors import NotFound
from socialcare.members.models import Member
from socialcare.security.principal import Principal
from socialcare.security.sharing import member_visibility


def contract_visibility(principal: Principal) -> ColumnElement[bool]:
    if principal.is_plan:
        return Contract.plan_id == principal.org_id
    if principal.is_hub or principal.is_cbo:
        return Contract.counterparty_id == principal.org_id
    return false()


def list_contracts(session: Session, principal: Principal, phase: str | None = None) -> list[Contract]:
    stmt = (
        select(Contract)
        .where(contract_visibility(principal))
        .options(selectinload(Contract.counterparty), selectinload(Contract.plan))
        .order_by(Contract.end_date.desc(), Contract.name)
    )
    if phase:
        stmt = stmt.where(Contract.phase == phase)
    return list(session.scalars(stmt))


def get_contract(session: Session, principal: Principal, contract_id: int) -> Contract:
    c = session.scalar(
        select(Contract)
        .where(Contract.id == contract_id, contract_visibility(principal))
        .options(selectinload(Contract.counterparty), selectinload(Contract.plan), selectinload(Contract.tasks))
    )
    if c is None:
        raise NotFound(f"No contract {contract_id} that you can see.")
    return c


def version(session: Session, contract_id: int, number: int) -> ContractVersion:
    v = session.scalar(
        select(ContractVersion).where(ContractVersion.contract_id == contract_id, ContractVersion.version == number)
    )
    if v is None:
        raise NotFound(f"Contract {contract_id} has no version {number}.")
    return v


def versions(session: Session, contract_id: int) -> list[ContractVersion]:
    return list(
        session.scalars(select(ContractVersion).where(ContractVersion.contract_id == contract_id)
                        .order_by(ContractVersion.version.desc()))
    )


def phase_events(session: Session, contract_id: int) -> list[PhaseEvent]:
    return list(
        session.scalars(select(PhaseEvent).where(PhaseEvent.contract_id == contract_id).order_by(PhaseEvent.id))
    )


def counts_by_phase(session: Session, principal: Principal) -> dict[str, int]:
    rows = session.execute(
        select(Contract.phase, func.count()).where(contract_visibility(principal)).group_by(Contract.phase)
    )
    return {p: int(n) for p, n in rows}


# ---- eligibility and selections ----------------------------------------------------------------


def _no_jit(session: Session) -> None:
    """PostgreSQL would JIT-compile these one-off scans, which costs seconds and saves nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def eligibility_counts(session: Session, plan_id: int, rule: schemas.RuleGroup | None, as_of: date):
    _no_jit(session)
    stmt, nodes = elig.counts_select(plan_id, rule, as_of)
    row = session.execute(stmt).one()
    failed = [int(row[3 + i] or 0) for i in range(len(nodes))]
    return int(row.roster), int(row.enrolled), int(row.eligible), list(zip(nodes, failed, strict=True))


def insert_selection_members(session: Session, selection_id: int, select_stmt) -> int:
    """INSERT ... SELECT the prioritized members: the database ranks and writes them, no Python loop."""
    _no_jit(session)
    sub = select_stmt.subquery("picked")
    stmt = insert(SelectedMember).from_select(
        ["selection_id", "member_id", "rank", "stratum"],
        select(literal(selection_id), sub.c.member_id, sub.c.rank, sub.c.stratum),
    )
    session.execute(stmt)
    # rowcount of INSERT ... SELECT is not reliable on every driver: count what was written
    return int(session.scalar(select(func.count()).select_from(SelectedMember)
                              .where(SelectedMember.selection_id == selection_id)) or 0)


def strata_report(session: Session, plan_id: int, rule, as_of: date, selection_id: int) -> list[dict]:
    picked = (
        select(SelectedMember.member_id).where(SelectedMember.selection_id == selection_id).subquery("picked")
    )
    rows = session.execute(elig.strata_report_select(plan_id, rule, as_of, picked)).all()
    # Roll the cross-tab up per dimension (a few hundred groups, not members).
    out: list[dict] = []
    for dim in elig.STRATUM_DIMENSIONS:
        acc: dict[str, list[int]] = {}
        for r in rows:
            key = getattr(r, dim)
            a = acc.setdefault(key, [0, 0])
            a[0] += int(r.eligible)
            a[1] += int(r.selected)
        for key, (e, s) in sorted(acc.items(), key=lambda kv: (-kv[1][0], kv[0])):
            out.append({"dimension": dim, "stratum": key, "eligible": e, "selected": s})
    return out


def selections(session: Session, contract_id: int) -> list[MemberSelection]:
    return list(
        session.scalars(select(MemberSelection).where(MemberSelection.contract_id == contract_id)
                        .order_by(MemberSelection.id.desc()))
    )


def get_selection(session: Session, contract_id: int, selection_id: int) -> MemberSelection:
    s = session.scalar(
        select(MemberSelection).where(MemberSelection.id == selection_id, MemberSelection.contract_id == contract_id)
    )
    if s is None:
        raise NotFound(f"Contract {contract_id} has no member selection {selection_id}.")
    return s


def selected_members(
    session: Session, principal: Principal, selection_id: int, offset: int = 0, limit: int | None = 50
) -> list[tuple[SelectedMember, Member]]:
    stmt = (
        select(SelectedMember, Member)
        .join(Member, Member.id == SelectedMember.member_id)
        .where(SelectedMember.selection_id == selection_id, member_visibility(principal))
        .order_by(SelectedMember.rank)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(s, m) for s, m in session.execute(stmt).all()]


def selected_member_ids(session: Session, selection_id: int) -> list[int]:
    return list(
        session.scalars(select(SelectedMember.member_id).where(SelectedMember.selection_id == selection_id)
                        .order_by(SelectedMember.rank))
    )


def latest_selection_count(session: Session, contract_id: int) -> int | None:
    return session.scalar(
        select(MemberSelection.selected_count)
        .where(MemberSelection.contract_id == contract_id, or_(MemberSelection.status == "assigned",
                                                               MemberSelection.status == "draft"))
        .order_by(MemberSelection.id.desc())
        .limit(1)
    )


def contract_by_id(session: Session, contract_id: int) -> Contract | None:
    return session.get(Contract, contract_id)


def launched_contracts(session: Session, principal: Principal) -> list:
    """(id, name, counterparty id) of the plan's contracts in implementation or renewal, by name."""
    return list(session.execute(select(Contract.id, Contract.name, Contract.counterparty_id).where(
        Contract.plan_id == principal.org_id, Contract.phase.in_(["implementation", "renewal"]))
        .order_by(Contract.name)).all())


def owned_by_plan(principal: Principal, plan_id: int) -> bool:
    """The record is the principal's plan's."""
    return principal.is_plan and plan_id == principal.org_id
