"""A contract's facts for a period, from the platform's own records (the payments engine's ``Facts``).

Records are the contract's when they are attributed to it (their ``contract_id``), or, for records
not attributed to any contract yet, when the contract's plan and counterparty (a hub with its network
CBOs) are on them. Every query is one SQL aggregate or one set read; delivered services are summed
per member, code, day and setting in the database, so a million rows arrive as a few thousand.

- services: delivered and not voided, codes the terms know;
- episodes (bundled terms): each episode and each decided renewal of members with a period starting
  in the period, with their earlier periods (the engine counts renewals);
- engagements and completed pathways (outcome-based terms);
- flex-fund disbursements from the contract's start (the engine replays the limits, or starts from
  the carried balances);
- member-months (capitation, hybrid with a PMPM): members of the contract's assigned member list
  enrolled on each month's first day in the term, counted in the settlement that holds that day;
- metric values (pay for performance, fixed-price volume targets, shared savings quality metrics) from
  the measures engine for the period's last month;
- manual facts (penalty notices, metric values, member-months, TCOC figures, JOC hours): typed in.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pyarrow as pa
from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from socialcare.core.money import cents
from socialcare.delivery.models import (
    CareEpisode,
    Engagement,
    EpisodeRenewal,
    FlexFundDisbursement,
    PathwayInstance,
    ServiceRecord,
)
from socialcare.members.models import EnrollmentSpan, Member
from socialcare.payments.loader import (
    Disbursement,
    Episode,
    Facts,
    MemberInfo,
    OtherFacts,
    PenaltyOccurrence,
    TcocFigures,
)


@dataclass
class Gathered:
    facts: Facts
    notes: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)  # what was read, for the statement's inputs


def attributed(model, contract_id: int):
    """Records attributed to this contract, or to none yet (before attribution they go by the parties)."""
    col = getattr(model, "contract_id", None)
    if col is None:
        return True
    return or_(col == contract_id, col.is_(None))


def delivering_orgs(session: Session, counterparty_id: int, start: date, end: date) -> list[int]:
    from socialcare.delivery.service import delivering_orgs as orgs

    return orgs(session, counterparty_id, start, end)


def gather(session: Session, contract, terms, start: date, end: date, manual: list, *, carried: bool,
           orgs: list[int] | None = None) -> Gathered:
    """Facts for ``terms`` over start..end (already clipped to the contract's term); ``orgs``: only
    these delivering organizations (a hub's subcontract with one network CBO)."""
    notes: list[str] = []
    explicit_orgs = bool(orgs)
    if session.get_bind().dialect.name == "postgresql":  # room to hash a million rows, this transaction only
        session.execute(text("SET LOCAL work_mem = '128MB'"))
    orgs = orgs or delivering_orgs(session, contract.counterparty_id, start, end)
    plan_id = contract.plan_id
    table, counts = _services(session, contract, terms, plan_id, orgs, start, end, notes)
    episodes = _episodes(session, contract, terms, plan_id, orgs, start, end)
    engagements, completions = _pathways(session, contract, terms, plan_id, orgs, start, end, notes)
    disbursements = _disbursements(session, contract, terms, plan_id, orgs, contract.start_date if not carried
                                   else start, end)
    member_months = _member_months(session, contract, terms, start, end, notes)
    metrics = _metrics(session, contract, terms, end, notes)
    penalties: list = []
    tcoc: dict = {}
    joc: dict = defaultdict(Decimal)
    for f in manual:
        if f.kind == "penalty_occurrence" and f.on_date <= end:
            penalties.append(PenaltyOccurrence(term=f.term_id, date=f.on_date, measure=f.data.get("measure", ""),
                                               description=f.data.get("description", "") or f.reason))
        elif not (start <= f.on_date <= end):
            continue
        elif f.kind == "metric":
            metrics[f.data["metric"]] = f.data["value"]
        elif f.kind == "member_months":
            mm = member_months.setdefault(f.term_id, {})
            mm[f.on_date.strftime("%Y-%m")] = int(f.data["count"])
        elif f.kind == "tcoc":
            tcoc[f.term_id] = TcocFigures.model_validate(f.data)
        elif f.kind == "joc_hours":
            joc[f.term_id] += Decimal(str(f.data["hours"]))
    for t in terms.terms:
        if t.model == "shared_savings" and t.id not in tcoc:
            notes.append(f"no total cost of care figures for '{t.id}' in this period: enter them as a manual fact "
                         "(from the shared savings report) when the performance year is settled")
    members = _members(session, plan_id, table, episodes) if terms.billing.mode == "claims" else {}
    other = OtherFacts.model_validate({
        "episodes": episodes, "engagements": engagements, "pathway_completions": completions,
        "disbursements": disbursements, "members": members, "member_months": member_months,
        "metrics": {k: str(v) for k, v in metrics.items()}, "penalty_occurrences": penalties, "tcoc": tcoc,
        "joc_hours": {k: str(v) for k, v in joc.items()}})
    src = f"platform records of contract {contract.id}, {start}..{end}"
    facts = Facts(other=other, services=table, services_file=src,
                  sources={k: src for k in ("episodes", "engagements", "pathway_completions", "disbursements",
                                            "members", "member_months", "metrics", "penalty_occurrences", "tcoc",
                                            "joc_hours")})
    counts["members_billed"] = counts.pop("members_served", 0)
    counts["members_served"] = _scorecard_members(session, contract, start, end, orgs if explicit_orgs else None)
    counts |= {"episodes": len(episodes), "engagements": sum(engagements.values()),
               "pathways_completed": sum(sum(v.values()) for v in completions.values()),
               "disbursements": len(disbursements), "organizations": orgs,
               "member_months": {k: v for k, v in member_months.items()}}
    return Gathered(facts, notes, counts)


def _scorecard_members(session, contract, start, end, orgs) -> int | None:
    """Members served as the scorecard counts them (the measures engine's one definition), so a
    statement's member count equals the scorecard's for the same month."""
    try:
        from socialcare.measures.engine import members_served
    except ImportError:  # measures not installed
        return None
    return members_served(session, contract.id, start, end, orgs[0] if orgs and len(orgs) == 1 else None)


def _member_level(terms) -> bool:
    """Whether the facts need each member's rows (claims name members; a target counts members served)."""
    return terms.billing.mode == "claims" or any(
        v.distinct_members for t in terms.terms if t.model == "fixed_price" for v in t.volume_targets)


def _services(session, contract, terms, plan_id, orgs, start, end, notes):
    known = sorted(terms.known_codes())
    code_col = case((ServiceRecord.service_code.in_(known), ServiceRecord.service_code), else_=ServiceRecord.hcpcs)
    base = and_(ServiceRecord.plan_id == plan_id, ServiceRecord.organization_id.in_(orgs),
                attributed(ServiceRecord, contract.id), ServiceRecord.status == "recorded",
                ServiceRecord.service_date >= start, ServiceRecord.service_date <= end)
    paid_codes = or_(ServiceRecord.hcpcs.in_(known), ServiceRecord.service_code.in_(known))
    if _member_level(terms):
        other = session.execute(
            select(func.coalesce(ServiceRecord.service_code, "(no code)"), func.count(), func.sum(ServiceRecord.units))
            .where(base, or_(ServiceRecord.hcpcs.is_(None),
                             and_(ServiceRecord.hcpcs.not_in(known), ServiceRecord.service_code.not_in(known))))
            .group_by(ServiceRecord.service_code)).all()
        rows = session.execute(
            select(Member.plan_member_id, code_col, func.coalesce(ServiceRecord.modifiers, ""),
                   ServiceRecord.service_date, func.sum(ServiceRecord.units), ServiceRecord.place_of_service,
                   func.coalesce(ServiceRecord.diagnosis_code, ""), func.count())
            .join(Member, Member.id == ServiceRecord.member_id)
            .where(base, paid_codes)
            .group_by(Member.plan_member_id, code_col, ServiceRecord.modifiers, ServiceRecord.service_date,
                      ServiceRecord.place_of_service, ServiceRecord.diagnosis_code)
            .order_by(Member.plan_member_id, ServiceRecord.service_date, code_col)
        ).all()
    else:  # an invoice pays counts per code and day: one pass sums them, paid codes or not
        by_day: dict[tuple, list[int]] = {}
        unpaid: dict[str, list[int]] = {}
        known_set = set(known)
        for code, hcpcs, day, units, n in session.execute(
                select(ServiceRecord.service_code, ServiceRecord.hcpcs, ServiceRecord.service_date,
                       func.sum(ServiceRecord.units), func.count())
                .where(base).group_by(ServiceRecord.service_code, ServiceRecord.hcpcs, ServiceRecord.service_date)):
            paid = code if code in known_set else hcpcs if hcpcs in known_set else None
            acc = by_day.setdefault((paid, day), [0, 0]) if paid else unpaid.setdefault(code or "(no code)", [0, 0])
            acc[0] += int(units or 0)
            acc[1] += int(n)
        other = [(code, n, units) for code, (units, n) in sorted(unpaid.items())]
        rows = [("", code, "", day, units, "", "", n)
                for (code, day), (units, n) in sorted(by_day.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    for code, n, units in other:
        notes.append(f"{n:,} service records ({int(units or 0):,} units) of {code} are not in these payment terms "
                     "and were left out")
    if not rows:
        return None, {"service_records": 0, "units": {}, "members_served": 0}
    served = select(ServiceRecord.member_id).where(base, paid_codes).group_by(ServiceRecord.member_id).subquery()
    members = session.scalar(select(func.count()).select_from(served))
    cols = list(zip(*rows, strict=True))
    table = pa.table({
        "member_id": pa.array(cols[0], pa.string()),
        "service_code": pa.array(cols[1], pa.string()),
        "service_date": pa.array(cols[3], pa.date32()),
        "units": pa.array([int(u) for u in cols[4]], pa.int64()),
        "modifiers": pa.array(cols[2], pa.string()),
        "place_of_service": pa.array(cols[5], pa.string()),
        "diagnosis": pa.array([d.replace(".", "") for d in cols[6]], pa.string()),
    })
    units: dict[str, int] = defaultdict(int)
    for code, u in zip(cols[1], cols[4], strict=True):
        units[code] += int(u)
    return table, {"service_records": int(sum(cols[7])), "units": dict(sorted(units.items())),
                   "members_served": int(members or 0)}


def _episodes(session, contract, terms, plan_id, orgs, start, end) -> list:
    bundled = [t for t in terms.terms if t.model == "bundled"]
    if not bundled:
        return []
    scope = and_(CareEpisode.plan_id == plan_id, CareEpisode.organization_id.in_(orgs),
                 attributed(CareEpisode, contract.id))
    starting = select(CareEpisode.member_id).where(scope, CareEpisode.start_date >= start,
                                                   CareEpisode.start_date <= end)
    renewing = (select(CareEpisode.member_id).join(EpisodeRenewal, EpisodeRenewal.episode_id == CareEpisode.id)
                .where(scope, EpisodeRenewal.period_start >= start, EpisodeRenewal.period_start <= end))
    members = starting.union(renewing).subquery()
    eps = session.execute(
        select(CareEpisode.id, Member.plan_member_id, CareEpisode.start_date, CareEpisode.billing_code)
        .join(Member, Member.id == CareEpisode.member_id)
        .where(scope, CareEpisode.member_id.in_(select(members.c.member_id)), CareEpisode.start_date <= end)
        .order_by(CareEpisode.id)).all()
    ren = defaultdict(list)
    ids = [e[0] for e in eps]
    for i in range(0, len(ids), 5000):
        for eid, seq, pstart, status in session.execute(
                select(EpisodeRenewal.episode_id, EpisodeRenewal.sequence, EpisodeRenewal.period_start,
                       EpisodeRenewal.status)
                .where(EpisodeRenewal.episode_id.in_(ids[i:i + 5000]), EpisodeRenewal.period_start <= end,
                       EpisodeRenewal.status != "requested")):
            ren[eid].append((seq, pstart, status))
    by_code = {t.billing_code: t for t in bundled}
    out = []
    for eid, member, start_date, code in eps:
        t = by_code.get(code) or (bundled[0] if len(bundled) == 1 else None)
        if t is None:
            continue
        out.append(Episode(episode_id=f"E{eid}", member_id=member, term=t.id, start=start_date, kind="initial"))
        for seq, pstart, status in sorted(ren[eid]):
            out.append(Episode(episode_id=f"E{eid}-R{seq}", member_id=member, term=t.id, start=pstart,
                               kind="renewal", approved=status == "approved"))
    return out


def _pathways(session, contract, terms, plan_id, orgs, start, end, notes) -> tuple[dict, dict]:
    from socialcare.delivery import rules as drules

    ob = [t for t in terms.terms if t.model == "outcome_based"]
    if not ob:
        return {}, {}
    t = ob[0]
    n = session.scalar(select(func.count()).select_from(Engagement).where(
        Engagement.plan_id == plan_id, Engagement.organization_id.in_(orgs), attributed(Engagement, contract.id),
        Engagement.engaged_on >= start, Engagement.engaged_on <= end)) or 0
    counts = session.execute(
        select(PathwayInstance.pathway_code, func.count()).where(
            PathwayInstance.plan_id == plan_id, PathwayInstance.organization_id.in_(orgs),
            attributed(PathwayInstance, contract.id), PathwayInstance.status == "completed",
            PathwayInstance.confirmed_on >= start, PathwayInstance.confirmed_on <= end)
        .group_by(PathwayInstance.pathway_code)).all()
    cat = drules.pathway_catalog()
    names = {drules.name_key(p.pathway): p.pathway for p in t.pathways}
    done: dict[str, int] = {}
    for code, c in counts:
        pdef = cat.by_code.get(code)
        keys = [drules.name_key(code)] + ([drules.name_key(pdef.name)] if pdef else [])
        name = next((names[k] for k in keys if k in names), None)
        if name is None:
            notes.append(f"{c:,} completed {pdef.name if pdef else code} pathways are not paid by these terms")
            continue
        done[name] = done.get(name, 0) + c
    return {t.id: n}, {t.id: done}


def _disbursements(session, contract, terms, plan_id, orgs, start, end) -> list:
    flex = {t.id for t in terms.terms if t.model == "flex_funds"}
    if not flex:
        return []
    rows = session.execute(
        select(FlexFundDisbursement.id, Member.plan_member_id, FlexFundDisbursement.disbursed_on,
               FlexFundDisbursement.category, FlexFundDisbursement.amount, FlexFundDisbursement.term_id)
        .join(Member, Member.id == FlexFundDisbursement.member_id)
        .where(FlexFundDisbursement.plan_id == plan_id, FlexFundDisbursement.organization_id.in_(orgs),
               attributed(FlexFundDisbursement, contract.id), FlexFundDisbursement.disbursed_on >= start,
               FlexFundDisbursement.disbursed_on <= end,
               or_(FlexFundDisbursement.term_id.in_(flex), FlexFundDisbursement.term_id.is_(None)))
        .order_by(FlexFundDisbursement.disbursed_on, FlexFundDisbursement.id)).all()
    only = next(iter(flex)) if len(flex) == 1 else None
    return [Disbursement(term=tid if tid in flex else only, member_id=m, date=d, category=c, amount=cents(a),
                         request_id=f"D{i}") for i, m, d, c, a, tid in rows]


def _month_firsts(contract, start: date, end: date) -> list[date]:
    """Each month's first day in the contract's term that falls in start..end."""
    out = []
    y, m = start.year, start.month
    while date(y, m, 1) <= end:
        first = max(date(y, m, 1), contract.start_date)
        if start <= first <= end and first <= contract.end_date:
            out.append(first)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _member_months(session, contract, terms, start, end, notes) -> dict:
    need = [t.id for t in terms.terms if t.model == "capitation"
            or (t.model == "hybrid_ffs_capitation" and t.capitation.pmpm is not None)]
    if not need:
        return {}
    from socialcare.contracts.models import MemberSelection, SelectedMember

    sel = session.scalar(select(MemberSelection.id).where(MemberSelection.contract_id == contract.id,
                                                          MemberSelection.status == "assigned")
                         .order_by(MemberSelection.id.desc()).limit(1))
    if sel is None:
        notes.append("the contract has no assigned member list: member-months are 0 unless entered as a manual fact")
    months: dict[str, int] = {}
    for first in _month_firsts(contract, start, end):
        n = 0
        if sel is not None:
            n = session.scalar(
                select(func.count(func.distinct(SelectedMember.member_id)))
                .join(EnrollmentSpan, EnrollmentSpan.member_id == SelectedMember.member_id)
                .where(SelectedMember.selection_id == sel, EnrollmentSpan.start_date <= first,
                       or_(EnrollmentSpan.end_date.is_(None), EnrollmentSpan.end_date >= first))) or 0
        months[first.strftime("%Y-%m")] = int(n)
    return {tid: dict(months) for tid in need}


def _metrics(session, contract, terms, end, notes) -> dict:
    wanted: set[str] = set()
    for t in terms.terms:
        if t.model == "pay_for_performance":
            wanted |= {m.metric for m in t.metrics}
        elif t.model == "fixed_price":
            wanted |= {v.metric for v in t.volume_targets if v.metric}
        elif t.model == "shared_savings":
            wanted |= {q.metric for q in t.quality_metrics}
    if not wanted:
        return {}
    try:
        from socialcare.measures.service import metric_values
    except ImportError:  # measures not installed
        return {}
    values = metric_values(session, contract.id, end.replace(day=1))
    return {k: v for k, v in values.items() if k in wanted}


def _members(session, plan_id, table, episodes) -> dict:
    ids = sorted(set(table["member_id"].to_pylist() if table is not None else []) | {e.member_id for e in episodes})
    out = {}
    for i in range(0, len(ids), 5000):
        for m in session.scalars(select(Member).where(Member.plan_id == plan_id,
                                                      Member.plan_member_id.in_(ids[i:i + 5000]))):
            out[m.plan_member_id] = MemberInfo(
                last_name=m.last_name[:60], first_name=(m.first_name or "")[:35], birth_date=m.birth_date,
                sex={"female": "F", "male": "M"}.get(m.sex, "U"), address=(m.address_1 or "")[:55],
                city=(m.city or "")[:30], state=m.state or "",
                zip=m.zip if m.zip and len(m.zip) in (5, 9) and m.zip.isdigit() else "")
    return out


def fingerprint(facts: Facts) -> str:
    """sha256 of the facts a statement was settled on (services table bytes + the other facts as JSON)."""
    h = hashlib.sha256()
    if facts.services is not None and facts.services.num_rows:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, facts.services.schema) as w:
            w.write_table(facts.services)
        h.update(sink.getvalue().to_pybytes())
    h.update(json.dumps(facts.other.model_dump(mode="json"), sort_keys=True).encode())
    return h.hexdigest()
