"""Attribution at work: gather what the pure rule (contracts/attribution.py) needs from the database,
apply it to new rows before they are written (web, API, FHIR, files, CLI, demo: every entry point
calls ``annotate``), to existing rows (``attribute_existing``, the ``socialcare contracts attribute``
command), and let a plan user re-attribute one record with a reason (audited).

Rows are plain dicts with the table's column names, so a file import or the demo annotates thousands
of rows in one pass: contracts are loaded once, eligibility is one SQL query per contract and month
(the contract's population rule as of the end of the record's month, or the contract's end), and the
rule itself runs in Python per row.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, aliased

from socialcare.contracts import attribution as rule
from socialcare.contracts import schemas
from socialcare.contracts.models import Contract, ContractVersion
from socialcare.core.errors import Forbidden, InvalidInput, NotFound, Problem
from socialcare.directory.models import HubNetworkMembership, Service
from socialcare.members.models import Member
from socialcare.security import audit
from socialcare.security.principal import Principal

CHUNK = 5000


def base_code(code: str | None) -> str | None:
    """S5170-U6 or S5170:U6 -> S5170 (the scope of work names base HCPCS codes)."""
    if not code:
        return None
    return code.replace(":", "-").split("-")[0].strip().upper() or None


def _pays(terms_yaml: str) -> tuple[bool, bool, set[str]]:
    """(pays for pathways, has a flexible fund, the codes it pays) from the version's payment terms."""
    if not (terms_yaml or "").strip():
        return False, False, set()
    try:
        from socialcare.payments.schemas import parse_terms

        terms = parse_terms(terms_yaml, "terms")
        codes = {base_code(c) for c in terms.known_codes()} - {None}
    except Exception:  # noqa: BLE001 - terms are validated when saved; an old unreadable text pays nothing here
        return False, False, set()
    models = {t.model for t in terms.terms}
    return "outcome_based" in models, "flex_funds" in models, codes


class Book:
    """The plan's contracts as the rule sees them, with their population rules (loaded once)."""

    def __init__(self, session: Session, plan_ids: set[int] | None = None):
        self.session = session
        q = select(Contract)
        if plan_ids is not None:
            q = q.where(Contract.plan_id.in_(plan_ids))
        contracts = list(session.scalars(q.order_by(Contract.id)))
        ids = [c.id for c in contracts]
        versions: dict[int, list[ContractVersion]] = defaultdict(list)
        if ids:
            for v in session.scalars(select(ContractVersion).where(ContractVersion.contract_id.in_(ids))):
                versions[v.contract_id].append(v)
        hubs = {c.counterparty_id for c in contracts}
        network: dict[int, list[tuple[int, date, date | None]]] = defaultdict(list)
        if hubs:
            for m in session.scalars(select(HubNetworkMembership).where(HubNetworkMembership.hub_id.in_(hubs))):
                network[m.hub_id].append((m.cbo_id, m.start_date, m.end_date))
        self.facts: list[rule.ContractFacts] = []
        self.population: dict[tuple[int, int], schemas.RuleGroup | None] = {}
        self.by_id: dict[int, rule.ContractFacts] = {}
        for c in contracts:
            vts = []
            for v in versions[c.id]:
                services = []
                for s in list(v.services_covered or []) + list(((v.scope_of_work or {}).get("what") or {})
                                                               .get("services") or []):
                    services.append(rule.ScopeService(s.get("need_domain"), base_code(s.get("service_code"))))
                pathways, flex, paid = _pays(v.payment_terms_yaml)
                services += [rule.ScopeService(None, code) for code in sorted(paid)]  # what the terms pay is in scope
                pathways = pathways or any((s.get("unit") or "") == "pathway" for s in v.services_covered or [])
                vts.append(rule.VersionTerms(v.version, v.effective_date, v.start_date, v.end_date,
                                             tuple(dict.fromkeys(services)), pathways, flex))
                pop = (((v.scope_of_work or {}).get("who") or {}).get("population") or {}).get("rule")
                try:
                    self.population[(c.id, v.version)] = schemas.RuleGroup.model_validate(pop) if pop else None
                except ValueError:
                    self.population[(c.id, v.version)] = None
            f = rule.ContractFacts(c.id, c.name, c.plan_id, c.counterparty_id, c.phase, tuple(vts),
                                   tuple(network.get(c.counterparty_id, ())))
            self.facts.append(f)
            self.by_id[c.id] = f

    def eligible(self, pairs: set[tuple[int, int, int, date]]) -> set[tuple[int, int, date]]:
        """(member, contract, as_of) for each (member, contract, version, as_of) asked whose member is in the
        version's eligible population on that day (enrolled and meeting the rule)."""
        from socialcare.contracts.eligibility import eligible_where

        groups: dict[tuple[int, int, date], set[int]] = defaultdict(set)
        for member_id, cid, version, as_of in pairs:
            groups[(cid, version, as_of)].add(member_id)
        out: set[tuple[int, int, date]] = set()
        for (cid, version, as_of), members in groups.items():
            pop = self.population.get((cid, version))
            plan_id = self.by_id[cid].plan_id
            ids = sorted(members)
            for i in range(0, len(ids), CHUNK):
                found = self.session.scalars(select(Member.id).where(
                    Member.id.in_(ids[i:i + CHUNK]), eligible_where(plan_id, pop, as_of)))
                out.update((m, cid, as_of) for m in found)
        return out


def _as_of(day: date, f: rule.ContractFacts, today: date) -> date:
    """Eligibility is judged at the end of the work's month (not past the term or today)."""
    end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    v = f.version_on(day)
    if v is not None:
        end = min(end, v.end_date)
    return max(day, min(end, today))


def _day(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


DATE_FIELD = {"referral": "requested_at", "service_record": "service_date", "episode": "start_date",
              "pathway": "opened_on", "engagement": "engaged_on", "disbursement": "disbursed_on"}


def _work(kind: str, row: dict, *, codes: dict[int, str | None], domains: dict[int, str],
          parents: dict[int, tuple[int | None, int | None]], via: dict[int, int | None],
          path: dict[int, int | None]) -> rule.Work | None:
    on = _day(row.get(DATE_FIELD[kind]) or row.get("created_at"))
    if on is None:
        return None
    if kind == "referral":
        org = row.get("owner_org_id")
        if org is None:
            return None
        parent = row.get("parent_id")
        hub, parent_contract = parents.get(parent, (None, None)) if parent else (None, None)
        return rule.Work(kind, row["plan_id"], org, on, row.get("need_domain"),
                         base_code(codes.get(row.get("service_id"))) if row.get("service_id") else None,
                         direct_only=parent is None, via_hub_id=hub, via_contract_id=parent_contract)
    code = None
    domain = row.get("need_domain")
    if kind == "service_record":
        code = base_code(row.get("hcpcs") or row.get("service_code"))
    elif kind == "episode":
        code = base_code(row.get("billing_code"))
        domain = domains.get(row.get("service_id")) or "care_management"
    ref = row.get("referral_id")
    hub = path.get(ref) if ref else None  # the work answers a referral: its path (plan direct, or a hub) decides
    return rule.Work(kind, row["plan_id"], row["organization_id"], on, domain, code, direct_only=hub == 0,
                     via_hub_id=hub or None, via_contract_id=via.get(ref) if ref else None)


def annotate(session: Session, kind: str, rows: list[dict], *, book: Book | None = None,
             today: date | None = None, source: str = "") -> list[rule.Attribution]:
    """Decide each row's contract and write contract_id, contract_version and contract_reason into it.

    A row that already names a contract (a contract's member list, a flexible fund term, a person's
    choice) keeps it; its version and reason are filled, and a contract that does not cover it says why.
    """
    from socialcare.core.clock import today as real_today
    from socialcare.referrals.models import Referral

    if not rows:
        return []
    today = today or real_today()
    book = book or Book(session, {r["plan_id"] for r in rows})
    svc_ids = {r.get("service_id") for r in rows if r.get("service_id")}
    codes: dict[int, str | None] = {}
    domains: dict[int, str] = {}
    if svc_ids:
        for sid, code, dom in session.execute(select(Service.id, Service.service_code, Service.need_domain)
                                              .where(Service.id.in_(svc_ids))):
            codes[sid], domains[sid] = code, dom
    parents: dict[int, tuple[int | None, int | None]] = {}
    via: dict[int, int | None] = {}
    in_batch = {r["id"]: r for r in rows if kind == "referral" and r.get("id") is not None}
    ref_ids = {r.get("parent_id") for r in rows if kind == "referral" and r.get("parent_id")} | {
        r.get("referral_id") for r in rows if kind != "referral" and r.get("referral_id")}
    ids = sorted(i for i in ref_ids if i not in in_batch)
    path: dict[int, int | None] = {}  # a delivery record's referral -> the hub that routed it (0: the plan's own)
    parent = aliased(Referral)
    for i in range(0, len(ids), CHUNK):
        for rid, owner, cid, hub in session.execute(
                select(Referral.id, Referral.owner_org_id, Referral.contract_id, parent.owner_org_id)
                .outerjoin(parent, parent.id == Referral.parent_id).where(Referral.id.in_(ids[i:i + CHUNK]))):
            parents[rid], via[rid], path[rid] = (owner, cid), cid, hub or 0
    works = []
    # parents before children: a sub-referral follows its parent's decision made in this same pass
    order = sorted(range(len(rows)), key=lambda i: (rows[i].get("parent_id") is not None, rows[i].get("id") or 0))
    first: dict[int, rule.Attribution] = {}
    for i in order:
        row = rows[i]
        if kind == "referral" and row.get("parent_id") in in_batch:
            p = in_batch[row["parent_id"]]
            parents[row["parent_id"]] = (p.get("owner_org_id"), p.get("contract_id"))
        w = _work(kind, row, codes=codes, domains=domains, parents=parents, via=via, path=path)
        works.append((i, w))
        if w is None:
            continue
        first[i] = (rule.chosen(w, book.facts, row["contract_id"]) if row.get("contract_id")
                    else rule.attribute(w, book.facts))
    # eligibility of every candidate, in a few set queries
    asks: set[tuple[int, int, int, date]] = set()
    for i, w in works:
        if w is None:
            continue
        for c in first[i].candidates:
            f = book.by_id[c.contract_id]
            asks.add((rows[i]["member_id"], c.contract_id, c.version, _as_of(w.on, f, today)))
    eligible = book.eligible(asks)
    out: list[rule.Attribution] = [rule.Attribution(None, None, "")] * len(rows)
    for i, w in works:
        row = rows[i]
        if w is None:
            a = rule.Attribution(None, None, "no receiving organization yet" if kind == "referral"
                                 else "no date to judge the term by")
        else:
            mine = frozenset(c.contract_id for c in first[i].candidates
                             if (row["member_id"], c.contract_id, _as_of(w.on, book.by_id[c.contract_id], today))
                             in eligible)
            w = replace(w, eligible_for=mine)
            if kind == "referral" and row.get("parent_id") in in_batch:
                w = replace(w, via_contract_id=in_batch[row["parent_id"]].get("contract_id"))
            if row.get("contract_id"):
                a = rule.chosen(w, book.facts, row["contract_id"])
                if a.contract_id is None:  # named by a person or a member list: kept, with what the rule says
                    f = book.by_id.get(row["contract_id"])
                    v = f.version_on(w.on) if f else None
                    a = rule.Attribution(row["contract_id"], v.version if v else None,
                                         f"contract {row['contract_id']} named{' by ' + source if source else ''}"
                                         f" ({a.reason})")
            else:
                a = rule.attribute(w, book.facts)
        row["contract_id"], row["contract_version"] = a.contract_id, a.version
        row["contract_reason"] = a.reason if a.contract_id or not a.candidates else (
            a.reason + ": " + "; ".join(c.reason for c in a.candidates))
        out[i] = a
    return out


# ---- existing rows ---------------------------------------------------------------------------------------------


def _tables():
    from socialcare.delivery.models import (
        CareEpisode,
        Engagement,
        FlexFundDisbursement,
        PathwayInstance,
        ServiceRecord,
    )
    from socialcare.referrals.models import Referral

    return {
        "referral": (Referral, ["id", "plan_id", "member_id", "owner_org_id", "parent_id", "need_domain", "service_id",
                                "requested_at", "created_at", "batch_id", "contract_id"]),
        "service_record": (ServiceRecord, ["id", "plan_id", "member_id", "organization_id", "referral_id",
                                           "need_domain", "service_code", "hcpcs", "service_date", "contract_id"]),
        "episode": (CareEpisode, ["id", "plan_id", "member_id", "organization_id", "referral_id", "service_id",
                                  "billing_code", "start_date", "contract_id"]),
        "pathway": (PathwayInstance, ["id", "plan_id", "member_id", "organization_id", "referral_id", "opened_on",
                                      "contract_id"]),
        "engagement": (Engagement, ["id", "plan_id", "member_id", "organization_id", "engaged_on", "contract_id"]),
        "disbursement": (FlexFundDisbursement, ["id", "plan_id", "member_id", "organization_id", "disbursed_on",
                                                "contract_id"]),
    }


BATCH = 50_000  # rows read, decided and written at a time (a million service records never sit in memory)


def attribute_existing(session: Session, *, kinds: tuple[str, ...] = rule.KINDS, plan_id: int | None = None,
                       recheck: bool = False, today: date | None = None) -> dict[str, dict[str, int]]:
    """Attribute the rows that have no contract version yet (or every row with ``recheck``); counts per kind:
    attributed, ambiguous (several candidates: a person chooses), none (no contract covers the work)."""
    tables = _tables()
    book = Book(session, {plan_id} if plan_id is not None else None)
    report: dict[str, dict[str, int]] = {}
    for kind in kinds:
        model, cols = tables[kind]
        t = model.__table__
        base = select(*[t.c[c] for c in cols])
        if plan_id is not None:
            base = base.where(t.c.plan_id == plan_id)
        if not recheck:
            base = base.where(t.c.contract_version.is_(None), t.c.contract_reason.is_(None))
        counts = {"rows": 0, "attributed": 0, "ambiguous": 0, "none": 0}
        # sub-referrals need their parents' decisions: parents first, then children
        passes = ([t.c.parent_id.is_(None)], [t.c.parent_id.is_not(None)]) if kind == "referral" else ([],)
        for conds in passes:
            after = 0
            while True:
                part = [dict(r) for r in session.execute(
                    base.where(*conds, t.c.id > after).order_by(t.c.id).limit(BATCH)).mappings()]
                if not part:
                    break
                after = part[-1]["id"]
                if recheck:
                    for r in part:
                        if kind != "disbursement" and not (kind == "referral" and r.get("batch_id")):
                            r["contract_id"] = None
                counts["rows"] += len(part)
                for a in annotate(session, kind, part, book=book, today=today):
                    counts[a.status] += 1
                for k in range(0, len(part), CHUNK):
                    session.execute(
                        update(t).where(t.c.id == bindparam("_id")).values(
                            contract_id=bindparam("_c"), contract_version=bindparam("_v"),
                            contract_reason=bindparam("_r")).execution_options(synchronize_session=False),
                        [{"_id": r["id"], "_c": r["contract_id"], "_v": r["contract_version"],
                          "_r": r["contract_reason"]} for r in part[k:k + CHUNK]])
                session.flush()
        report[kind] = counts
    return report


def attribute_missing(session: Session, kind: str, ids: list[int]) -> dict[str, int]:
    """Attribute those of the given rows that were never decided (no reason stored yet)."""
    model, cols = _tables()[kind]
    t = model.__table__
    rows = []
    for i in range(0, len(ids), CHUNK):
        rows += [dict(r) for r in session.execute(select(*[t.c[c] for c in cols]).where(
            t.c.id.in_(ids[i:i + CHUNK]), t.c.contract_reason.is_(None))).mappings()]
    counts = {"rows": len(rows), "attributed": 0, "ambiguous": 0, "none": 0}
    for a in annotate(session, kind, rows):
        counts[a.status] += 1
    for r in rows:
        session.execute(update(t).where(t.c.id == r["id"]).values(
            contract_id=r["contract_id"], contract_version=r["contract_version"], contract_reason=r["contract_reason"])
            .execution_options(synchronize_session="fetch"))
    session.flush()
    return counts


# ---- one record, by a person -------------------------------------------------------------------------------


def _one(session: Session, kind: str, record_id: int):
    if kind not in rule.KINDS:
        raise InvalidInput("Unknown kind of record", [Problem(f"'{kind}' is not one of {', '.join(rule.KINDS)}",
                                                             field="kind")])
    model, cols = _tables()[kind]
    obj = session.get(model, record_id)
    if obj is None:
        raise NotFound(f"No {kind.replace('_', ' ')} {record_id}.")
    return obj, cols


def candidates_for(session: Session, kind: str, obj) -> rule.Attribution:
    """What the rule says for a record now (its candidates when zero or several)."""
    _model, cols = _tables()[kind]
    row = {c: getattr(obj, c) for c in cols}
    row["contract_id"] = None
    return annotate(session, kind, [row])[0]


def attribute_one(session: Session, kind: str, obj, *, contract_id: int | None = None, source: str = "") -> None:
    """Attribute a record just created (every single-record entry point calls this)."""
    _model, cols = _tables()[kind]
    row = {c: getattr(obj, c) for c in cols}
    if contract_id is not None:
        row["contract_id"] = contract_id
    annotate(session, kind, [row], source=source)
    obj.contract_id, obj.contract_version, obj.contract_reason = (row["contract_id"], row["contract_version"],
                                                                  row["contract_reason"])
    session.flush()


def reattribute(session: Session, principal: Principal, kind: str, record_id: int, contract_id: int | None,
                reason: str) -> object:
    """A plan user moves a record to another contract (or to none), saying why; audited with before and after.
    The contract must cover the work (plan, party, term, scope, eligibility); nothing is forced."""
    principal.require("contracts:write")
    if not principal.is_plan:
        raise Forbidden("Only the plan attributes work to its contracts.")
    if not (reason or "").strip():
        raise InvalidInput("Say why", [Problem("a reason is required to change a record's contract", field="reason")])
    obj, cols = _one(session, kind, record_id)
    from socialcare.contracts import repository as contracts_repo

    if not contracts_repo.owned_by_plan(principal, obj.plan_id):
        raise NotFound(f"No {kind.replace('_', ' ')} {record_id}.")
    before = (obj.contract_id, obj.contract_version)
    if contract_id is None:
        obj.contract_id, obj.contract_version = None, None
        obj.contract_reason = f"no contract, by {principal.username}: {reason.strip()}"
    else:
        a = candidates_for(session, kind, obj)
        pick = next((c for c in a.candidates if c.contract_id == contract_id), None)
        if pick is None:
            why = dict(a.rejected).get(contract_id, "not one of the plan's contracts")
            raise InvalidInput("That contract does not cover this work",
                               [Problem(f"contract {contract_id}: {why}", field="contract_id")])
        obj.contract_id, obj.contract_version = pick.contract_id, pick.version
        obj.contract_reason = f"{pick.reason}; chosen by {principal.username}: {reason.strip()}"
    audit.record(session, principal, "contract.attribution.change", object_type=kind, object_id=record_id,
                 member_id=obj.member_id,
                 detail={"from": {"contract_id": before[0], "version": before[1]},
                         "to": {"contract_id": obj.contract_id, "version": obj.contract_version},
                         "reason": reason.strip()})
    session.flush()
    return obj


def unattributed_counts(session: Session, plan_id: int) -> dict[str, int]:
    """Rows waiting for a person to choose among several contracts, per kind."""
    out = {}
    for kind, (model, _cols) in _tables().items():
        t = model.__table__
        out[kind] = session.scalar(select(_count()).select_from(t).where(
            t.c.plan_id == plan_id, t.c.contract_id.is_(None),
            or_(t.c.contract_reason.like("several contracts%")))) or 0
    return out


def _count():
    from sqlalchemy import func

    return func.count()
