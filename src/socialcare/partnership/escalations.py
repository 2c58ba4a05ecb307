"""Escalations follow the contract's escalation pathway: a new escalation goes to level 1's contact (or
its backup when the contact has no active account), and climbs a level each time a level's response
time passes unanswered. ``climb_overdue`` is a plain function taking ``now`` so a scheduled job can
call it; the hub sees the escalations under its contracts, i.e. those of its network CBOs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialcare.contracts.models import Contract, ContractVersion
from socialcare.partnership import clocks, rules
from socialcare.referrals.models import Escalation, Referral, ReferralEvent
from socialcare.security import audit
from socialcare.security.models import User
from socialcare.security.principal import system_principal


@dataclass(frozen=True)
class Level:
    level: int
    contact: str
    respond_within_days: int | None
    contact_username: str | None = None
    backup: str = ""
    backup_username: str | None = None
    business_days: bool = False


def pathway(session: Session, contract: Contract) -> list[Level]:
    sow = session.scalar(select(ContractVersion.scope_of_work).where(
        ContractVersion.contract_id == contract.id, ContractVersion.version == contract.current_version)) or {}
    levels = ((sow.get("who") or {}).get("staffing") or {}).get("escalation_pathway") or []
    out = [Level(int(x["level"]), x.get("contact", ""), x.get("respond_within_days"), x.get("contact_username"),
                 x.get("backup", ""), x.get("backup_username"), bool(x.get("business_days")))
           for x in levels]
    return sorted(out, key=lambda lv: lv.level)


def _active_user(session: Session, username: str | None) -> User | None:
    if not username:
        return None
    return session.scalar(select(User).where(func.lower(User.username) == username.lower(), User.is_active.is_(True)))


def _respond_by(level: Level, at: datetime) -> datetime | None:
    if level.respond_within_days is None:
        return None
    if level.business_days:
        return rules.add_business_days(at, level.respond_within_days)
    return at + timedelta(days=level.respond_within_days)


def assign_level(session: Session, esc: Escalation, level: Level, at: datetime) -> None:
    """Give the escalation to the level's contact, or its backup when the contact cannot take it."""
    user = _active_user(session, level.contact_username)
    name = level.contact
    if user is None and (level.backup or level.backup_username):
        backup = _active_user(session, level.backup_username)
        if backup is not None or level.backup:
            user, name = backup, f"{level.backup or backup.full_name} (backup for {level.contact})"
    esc.level = level.level
    esc.contact_name = name[:200] if name else None
    if user is not None:
        esc.owner_user_id = user.id
    esc.respond_by = _respond_by(level, at)


def route_new(session: Session, esc: Escalation, referral: Referral | None, at: datetime) -> None:
    """Called when an escalation is raised: find its contract and start it at level 1."""
    contract = None
    if referral is not None:
        cid = referral.contract_id
        if cid is None and referral.parent_id is not None:
            cid = session.scalar(select(Referral.contract_id).where(Referral.id == referral.parent_id))
        contract = clocks.contract_for(session, referral.plan_id, esc.raised_by_org_id, cid)
    else:
        contract = clocks.contract_for(session, esc.plan_id, esc.raised_by_org_id)
    if contract is None:
        return
    esc.contract_id = contract.id
    levels = pathway(session, contract)
    if levels:
        assign_level(session, esc, levels[0], at)
    session.flush()


def climb_overdue(session: Session, now: datetime) -> list[Escalation]:
    """Every unresolved escalation whose level's response time has passed moves to the next level of
    its contract's pathway (a referral event and an audit row say so). Returns those that climbed."""
    due = session.scalars(select(Escalation).where(
        Escalation.status != "resolved", Escalation.respond_by.is_not(None), Escalation.respond_by < now,
        Escalation.contract_id.is_not(None)).order_by(Escalation.id)).all()
    climbed = []
    cache: dict[int, list[Level]] = {}
    for esc in due:
        contract = session.get(Contract, esc.contract_id)
        if contract is None:
            continue
        levels = cache.setdefault(contract.id, pathway(session, contract))
        nxt = next((lv for lv in levels if lv.level > esc.level), None)
        if nxt is None:
            esc.respond_by = None  # the top of the pathway: nothing higher to climb to
            continue
        before = esc.level
        assign_level(session, esc, nxt, now)
        esc.version += 1
        esc.updated_at = now
        system = system_principal(esc.plan_id, "health_plan", username="escalation-clock")
        if esc.referral_id is not None:
            session.add(ReferralEvent(referral_id=esc.referral_id, at=now, kind="escalation",
                                      action="escalation.climb",
                                      note=f"No answer at level {before} in time: escalated to level {nxt.level} "
                                           f"({esc.contact_name})",
                                      detail={"escalation_id": esc.id, "from": before, "to": nxt.level},
                                      username="escalation-clock"))
        audit.record(session, system, "escalation.climb", object_type="escalation", object_id=esc.id,
                     detail={"from": before, "to": nxt.level})
        climbed.append(esc)
    session.flush()
    return climbed


def barriers_by_month(session: Session, contract_ids: list[int]) -> list[dict]:
    """[{month: 'YYYY-MM', barrier, label, count}] of the escalations under the contracts (JOC data)."""
    if not contract_ids:
        return []
    rows = session.execute(select(Escalation.created_at, Escalation.barrier).where(
        Escalation.contract_id.in_(contract_ids))).all()
    counts: dict[tuple[str, str], int] = {}
    for at, barrier in rows:
        key = (at.strftime("%Y-%m"), barrier or "other")
        counts[key] = counts.get(key, 0) + 1
    return [{"month": m, "barrier": b, "label": rules.BARRIERS.get(b, b), "count": n}
            for (m, b), n in sorted(counts.items())]
