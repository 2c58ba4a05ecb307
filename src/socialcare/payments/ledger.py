"""The partnership ledger's use cases: settle a contract for a period into a stored statement, move it
through its lifecycle, record payments, dispute and adjust, enter manual facts.

Statements are immutable: a correction is an adjustment statement that references the first. The
state a period hands the next (penalty counts, flex-fund balances, recoupment balances, caps of a
month not over yet) is read from the latest stored statement before the period.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from socialcare.core.clock import today as real_today
from socialcare.core.clock import utcnow
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from socialcare.core.money import ZERO, cents, to_decimal
from socialcare.payments import gather as g
from socialcare.payments import lifecycle as lc
from socialcare.payments import repository as repo
from socialcare.payments.models import ManualFact, StatementEvent, StatementLine
from socialcare.payments.models import Statement as Row
from socialcare.payments.rules import Line, Period, Statement, settle
from socialcare.payments.schemas import parse_terms
from socialcare.security import audit
from socialcare.security.principal import Principal

MANUAL_KINDS = ("penalty_occurrence", "adjustment", "metric", "member_months", "tcoc", "joc_hours")
MANUAL_LABELS = {"penalty_occurrence": "State penalty notice", "adjustment": "Manual adjustment",
                 "metric": "Metric value", "member_months": "Member-months", "tcoc": "Total cost of care figures",
                 "joc_hours": "JOC hours"}


def _contract(session: Session, principal: Principal, contract_id: int):
    from socialcare.contracts import service as contracts

    return contracts.get(session, principal, contract_id)


def _side(principal: Principal, payer: int, payee: int) -> str:
    side = lc.side(principal.org_id, payer, payee)
    if side is None or not principal.can("payments:ledger"):
        raise Forbidden("Statements are seen by the contract's two parties only.")
    return side


def require_settler(principal: Principal, contract) -> str:
    side = _side(principal, contract.plan_id, contract.counterparty_id)
    if side == "payer" and not principal.can("payments:settle"):
        raise Forbidden("Your role may read the plan's statements but not settle them.")
    if principal.role == "auditor":
        raise Forbidden("Auditors read statements; they do not settle them.")
    return side


def _event(session, principal, st: Row, action: str, from_status: str | None, to_status: str, note: str = "",
           **kw) -> None:
    st.events.append(StatementEvent(action=action, from_status=from_status, to_status=to_status, note=note,
                                    by_user=principal.username, by_org_id=principal.org_id, at=utcnow(), **kw))
    audit.record(session, principal, f"payments.statement.{action}", object_type="payment_statement",
                 object_id=st.id, detail={"contract_id": st.contract_id, "period": st.period_label,
                                          "from": from_status, "to": to_status, "note": note[:500] or None,
                                          **{k: str(v) for k, v in kw.items() if v is not None}})


# ---- settling ------------------------------------------------------------------------------


@dataclass
class Settled:
    statement: Row
    superseded: list[int] = field(default_factory=list)


def _segments(session, contract, period: Period):
    """(version, start, end) for each contract version in effect over the period."""
    from socialcare.contracts.models import ContractVersion

    versions = list(session.scalars(select(ContractVersion).where(ContractVersion.contract_id == contract.id)
                                    .order_by(ContractVersion.version)))
    if not versions:
        raise NotFound("This contract has no versions.")
    out = []
    for i, v in enumerate(versions):
        lo = date.min if i == 0 else v.effective_date
        hi = versions[i + 1].effective_date - timedelta(days=1) if i + 1 < len(versions) else date.max
        a, b = max(period.start, lo), min(period.end, hi)
        if a <= b:
            out.append((v, a, b))
    return out


def settle_contract(session: Session, principal: Principal, contract_id: int, period: str | Period, *,
                    reason: str = "") -> Settled:
    """Settle the contract for the period from the platform's records into a stored statement: a draft
    (replacing an earlier draft), or, when the period already has an approved statement, an adjustment
    holding the difference."""
    c = _contract(session, principal, contract_id)
    require_settler(principal, c)
    p = Period.parse(period) if isinstance(period, str) else period
    if p.end < c.start_date or p.start > c.end_date:
        raise InvalidInput(f"The contract's term ({c.start_date} to {c.end_date}) does not overlap {p}", [Problem(
            "choose a period within the contract's term", field="period")])
    prev = repo.latest_before(session, c.id, p.start)
    carry = prev.carry if prev is not None else None
    notes: list[str] = []
    if prev is not None and prev.period_end != p.start - timedelta(days=1):
        notes.append(f"carried state from the statement for {prev.period_label} (ends {prev.period_end})")
    manual = repo.manual_facts(session, c.id, p.end)
    lines: list[Line] = []
    segments = []
    fps = hashlib.sha256()
    terms_sha = hashlib.sha256()
    counts: dict = {}
    model = mode = ""
    for v, a, b in _segments(session, c, p):
        if not (v.payment_terms_yaml or "").strip():
            raise InvalidInput("This contract has no payment terms yet.", [Problem(
                f"version {v.version} has no payment terms", field="payment_terms_yaml")])
        terms = parse_terms(v.payment_terms_yaml, f"contract {c.id} version {v.version}")
        within = (v.start_date, v.end_date)
        lo, hi = max(a, v.start_date), min(b, v.end_date)
        got = g.gather(session, c, terms, lo, hi, manual, carried=carry is not None) if lo <= hi else None
        facts = got.facts if got else g.Facts()
        st = settle(terms, facts, Period(a, b, p.label), carried=carry, within=within)
        carry = st.carry
        lines += st.lines
        notes += list(st.notes) + (got.notes if got else [])
        fps.update(g.fingerprint(facts).encode())
        terms_sha.update(v.payment_terms_yaml.encode())
        counts = _merge_counts(counts, got.counts if got else {})
        segments.append({"version": v.version, "from": a.isoformat(), "to": b.isoformat()})
        model, mode = terms.model, terms.billing.mode
    adjustments = [f for f in manual if f.kind == "adjustment" and p.start <= f.on_date <= p.end]
    for f in adjustments:
        lines.append(Line(f.term_id or "manual", "manual", "manual adjustment", f.reason,
                          f"entered by {f.entered_by} on {f.entered_at:%Y-%m-%d}: {f.reason}", {"fact_id": f.id},
                          cents(f.amount or ZERO), f.data.get("mlr", "medical")))
    used = [{"id": f.id, "kind": f.kind, "term": f.term_id, "on": f.on_date.isoformat(), "by": f.entered_by,
             "reason": f.reason} for f in manual if f.on_date >= p.start or f.kind == "penalty_occurrence"]
    meta = dict(period=p, version=segments[-1]["version"] if segments else c.current_version,
                terms_sha=terms_sha.hexdigest(), facts_sha=fps.hexdigest(), model=model, mode=mode or "invoice",
                inputs={"segments": segments, "counts": counts, "manual_facts": used,
                        "carried_from": prev.id if prev is not None else None}, notes=notes, carry=carry or {})
    return store_settlement(session, principal, c, p, lines, meta, reason)


def store_settlement(session, principal, c, p: Period, lines: list[Line], meta: dict, reason: str = "",
                     subcontract_id: int | None = None) -> Settled:
    """A new draft (superseding earlier drafts of the period), or the difference from the approved one."""
    existing = repo.for_period(session, c.id, p.start, p.end, "settlement", subcontract_id)
    standing = [s for s in existing if s.status in lc.STANDING]
    if standing:
        return Settled(_resettle(session, principal, c, standing[0], lines, meta, reason))
    out = Settled(None)  # type: ignore[arg-type]
    for d in existing:
        if d.status == lc.DRAFT:
            d.status = lc.SUPERSEDED
            _event(session, principal, d, "superseded", lc.DRAFT, lc.SUPERSEDED, "settled again")
            out.superseded.append(d.id)
    out.statement = _store(session, principal, c, "settlement", lines, meta)
    return out


def _merge_counts(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, int) and isinstance(out.get(k), int):
            out[k] += v
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **{x: out[k].get(x, 0) + y if isinstance(y, int) else y for x, y in v.items()}}
        else:
            out[k] = v
    return out


def _store(session, principal, c, kind: str, lines: list[Line], meta: dict, *, adjusts: Row | None = None,
           reason: str = "") -> Row:
    p: Period = meta["period"]
    paid = [ln for ln in lines if ln.paid]
    by_mlr = {"medical": ZERO, "quality_improvement": ZERO, "administrative": ZERO}
    for ln in paid:
        by_mlr[ln.mlr] = by_mlr.get(ln.mlr, ZERO) + ln.amount
    st = Row(contract_id=c.id, subcontract_id=meta.get("subcontract_id"), payer_org_id=meta.get("payer", c.plan_id),
             payee_org_id=meta.get("payee", c.counterparty_id), kind=kind,
             adjusts_id=adjusts.id if adjusts else None, period_label=str(p), period_start=p.start, period_end=p.end,
             contract_version=meta["version"], terms_sha256=meta["terms_sha"], facts_sha256=meta["facts_sha"],
             payment_model=meta["model"], billing_mode=meta["mode"], total=sum((ln.amount for ln in paid), ZERO),
             reported_total=sum((ln.amount for ln in lines if not ln.paid), ZERO),
             by_mlr={k: str(v) for k, v in by_mlr.items()}, inputs=meta["inputs"], notes=meta["notes"],
             carry=meta["carry"], status=lc.DRAFT, reason=reason, created_by=principal.username,
             created_by_org_id=principal.org_id, created_at=utcnow())
    session.add(st)
    session.flush()
    if lines:
        session.execute(insert(StatementLine), [
            {"statement_id": st.id, "seq": i, "term_id": ln.term_id, "model": ln.model, "component": ln.component,
             "description": ln.description, "formula": ln.formula, "inputs": ln.as_dict()["inputs"],
             "amount": ln.amount, "mlr": ln.mlr, "paid": ln.paid, "month": ln.month, "service_code": ln.service_code,
             "units": ln.units, "rate": None if ln.rate is None else str(ln.rate), "authority": ln.authority or ""}
            for i, ln in enumerate(lines, 1)])
    _event(session, principal, st, "created", None, lc.DRAFT, reason or f"{kind} for {p}")
    return st


def _resettle(session, principal, c, base: Row, lines: list[Line], meta: dict, reason: str) -> Row:
    """The difference between settling again and what the approved statement (and its adjustments) hold."""
    prior = [base, *[a for a in repo.adjustments_of(session, base.id)]]
    for a in prior[1:]:
        if a.status == lc.DRAFT:
            a.status = lc.SUPERSEDED
            _event(session, principal, a, "superseded", lc.DRAFT, lc.SUPERSEDED, "settled again")
    held = [a.id for a in prior if a.status != lc.SUPERSEDED]
    before: dict[tuple, Decimal] = {}
    for ln in repo.lines(session, held):
        if ln.paid:
            key = (ln.term_id, ln.model, ln.component.removesuffix(" (change)"), ln.month, ln.mlr, ln.authority or "")
            before[key] = before.get(key, ZERO) + ln.amount
    now: dict[tuple, Line] = {}
    now_amount: dict[tuple, Decimal] = {}
    for ln in lines:
        if ln.paid:
            key = (ln.term_id, ln.model, ln.component, ln.month, ln.mlr, ln.authority or "")
            now[key] = ln
            now_amount[key] = now_amount.get(key, ZERO) + ln.amount
    diff: list[Line] = []
    for key in list(now_amount) + [k for k in before if k not in now_amount]:
        delta = now_amount.get(key, ZERO) - before.get(key, ZERO)
        if delta:
            term_id, model, component, month, mlr, authority = key
            was = before.get(key, ZERO)
            formula = (f"settled again: {now[key].formula} = {now_amount[key]}" if key in now else "no longer due")
            diff.append(Line(term_id, model, f"{component} (change)", "difference from the approved statement",
                             f"{formula}; before {was}", {"before": was, "after": now_amount.get(key, ZERO)},
                             delta, mlr, month=month, authority=authority))
    if not diff:
        raise Conflict(f"Settling {base.period_label} again gives the amounts already approved: no adjustment "
                       "is needed.")
    st = _store(session, principal, c, "adjustment", diff, meta, adjusts=base,
                reason=reason or f"re-settled {base.period_label}: the records changed after approval")
    if base.status == lc.DISPUTED:
        base.status = lc.ADJUSTED
        _event(session, principal, base, "adjusted", lc.DISPUTED, lc.ADJUSTED, f"adjustment statement {st.id}")
    return st


def adjust(session: Session, principal: Principal, statement_id: int, amount: str | Decimal, reason: str,
           mlr: str = "medical") -> Row:
    """A manual adjustment statement referencing a statement (answering a dispute)."""
    base = repo.get(session, principal, statement_id)
    side = _side(principal, base.payer_org_id, base.payee_org_id)
    if principal.role == "auditor" or (side == "payer" and not principal.can("payments:settle")):
        raise Forbidden("Your role may read this statement but not adjust it.")
    c = base.contract
    if base.status not in lc.STANDING:
        raise Conflict("Only an approved statement can be adjusted; a draft is settled again instead.")
    problems = []
    try:
        value = cents(to_decimal(amount))
    except (TypeError, ValueError, ArithmeticError):
        value = None
        problems.append(Problem("not an amount", field="amount"))
    if value == 0:
        problems.append(Problem("an adjustment is not $0.00", field="amount"))
    if not (reason or "").strip():
        problems.append(Problem("say why", field="reason"))
    if mlr not in ("medical", "quality_improvement", "administrative"):
        problems.append(Problem("medical, quality_improvement or administrative", field="mlr"))
    if problems:
        raise InvalidInput("The adjustment was refused", problems)
    p = Period(base.period_start, base.period_end, base.period_label)
    line = Line("manual", "manual", "adjustment", reason.strip(), f"adjustment of statement {base.id}: {reason.strip()}",
                {"adjusts": base.id}, value, mlr)
    meta = dict(period=p, version=base.contract_version, terms_sha=base.terms_sha256, facts_sha=base.facts_sha256,
                model=base.payment_model, mode=base.billing_mode, inputs={"adjusts": base.id}, notes=[],
                carry=base.carry, payer=base.payer_org_id, payee=base.payee_org_id, subcontract_id=base.subcontract_id)
    st = _store(session, principal, c, "adjustment", [line], meta, adjusts=base, reason=reason.strip())
    if base.status == lc.DISPUTED:
        base.status = lc.ADJUSTED
        _event(session, principal, base, "adjusted", lc.DISPUTED, lc.ADJUSTED, f"adjustment statement {st.id}")
    return st


# ---- lifecycle -----------------------------------------------------------------------------


def act(session: Session, principal: Principal, statement_id: int, action: str, note: str = "") -> Row:
    st = repo.get(session, principal, statement_id)
    side = _side(principal, st.payer_org_id, st.payee_org_id)
    if side == "payer" and action != "void" and not principal.can("payments:settle"):
        raise Forbidden("Your role may read the plan's statements but not approve or close them.")
    if principal.role == "auditor":
        raise Forbidden("Auditors read statements; they do not act on them.")
    if action == "submit_claims":  # the claims are written, checked and stored with the status change
        from socialcare.payments import claims

        claims.submit_claims(session, principal, statement_id)
        return st
    to = lc.transition(action, st.status, side, billing_mode=st.billing_mode, reason=note)
    before, st.status = st.status, to
    _event(session, principal, st, action, before, to, note.strip())
    return st


def record_payment(session: Session, principal: Principal, statement_id: int, amount: str | Decimal,
                   paid_on: date | str | None, reference: str) -> Row:
    st = repo.get(session, principal, statement_id)
    side = _side(principal, st.payer_org_id, st.payee_org_id)
    if not principal.can("payments:settle"):
        raise Forbidden("Your role may not record payments.")
    problems = []
    try:
        value = cents(to_decimal(amount))
    except (TypeError, ValueError, ArithmeticError):
        value = None
        problems.append(Problem("not an amount", field="amount"))
    try:
        day = date.fromisoformat(paid_on) if isinstance(paid_on, str) and paid_on else paid_on or real_today()
    except ValueError:
        day = None
        problems.append(Problem("not a date (YYYY-MM-DD)", field="paid_on"))
    if day is not None and day > real_today():
        problems.append(Problem("a payment date is not in the future", field="paid_on"))
    if not (reference or "").strip():
        problems.append(Problem("the check or EFT reference", field="reference"))
    if problems:
        raise InvalidInput("The payment was refused", problems)
    paid_before = repo.paid_totals(session, [st.id])[st.id]
    to = lc.after_payment(st.status, side, st.total, paid_before, value)
    before, st.status = st.status, to
    _event(session, principal, st, "payment", before, to, f"payment {value} ref {reference.strip()}",
           amount=value, paid_on=day, reference=reference.strip()[:100])
    return st


# ---- manual facts --------------------------------------------------------------------------


def add_manual_fact(session: Session, principal: Principal, contract_id: int, kind: str, on: date | str,
                    reason: str, *, term_id: str | None = None, data: dict | None = None,
                    amount: str | Decimal | None = None) -> ManualFact:
    c = _contract(session, principal, contract_id)
    require_settler(principal, c)
    data = dict(data or {})
    problems = []
    if kind not in MANUAL_KINDS:
        problems.append(Problem(f"one of {', '.join(MANUAL_KINDS)}", field="kind"))
    try:
        day = date.fromisoformat(on) if isinstance(on, str) else on
    except ValueError:
        day = None
        problems.append(Problem("not a date (YYYY-MM-DD)", field="on"))
    if not (reason or "").strip():
        problems.append(Problem("say why (and where it comes from)", field="reason"))
    value = None
    if kind == "adjustment":
        try:
            value = cents(to_decimal(amount))
        except (TypeError, ValueError, ArithmeticError):
            problems.append(Problem("not an amount", field="amount"))
    needs = {"penalty_occurrence": ["term"], "metric": ["metric", "value"], "member_months": ["term", "count"],
             "tcoc": ["term", "projected_tcoc", "actual_tcoc"], "joc_hours": ["term", "hours"]}.get(kind, [])
    for n in needs:
        if n == "term":
            if not term_id:
                problems.append(Problem("which term of the payment terms", field="term_id"))
        elif data.get(n) in (None, ""):
            problems.append(Problem("needed", field=n))
    for n in ("value", "hours", "projected_tcoc", "actual_tcoc"):
        if data.get(n) not in (None, ""):
            try:
                data[n] = str(to_decimal(data[n]))
            except (TypeError, ValueError, ArithmeticError):
                problems.append(Problem("not a number", field=n))
    if data.get("count") not in (None, ""):
        try:
            data["count"] = int(str(data["count"]))
        except ValueError:
            problems.append(Problem("a whole number", field="count"))
    if problems:
        raise InvalidInput("The fact was refused", problems)
    f = ManualFact(contract_id=c.id, kind=kind, term_id=term_id or None, on_date=day, data=data, amount=value,
                   reason=reason.strip(), entered_by=principal.username, entered_by_org_id=principal.org_id,
                   entered_at=utcnow())
    session.add(f)
    session.flush()
    audit.record(session, principal, "payments.fact.add", object_type="payment_manual_fact", object_id=f.id,
                 detail={"contract_id": c.id, "kind": kind, "on": day.isoformat(), "reason": f.reason[:500]})
    return f


def void_manual_fact(session: Session, principal: Principal, fact_id: int, reason: str) -> ManualFact:
    f = session.get(ManualFact, fact_id)
    if f is None:
        raise NotFound(f"No manual fact {fact_id}.")
    c = _contract(session, principal, f.contract_id)
    require_settler(principal, c)
    if f.voided_at is not None:
        raise Conflict("This fact is already void.")
    if not (reason or "").strip():
        raise InvalidInput("Say why", [Problem("a reason is needed", field="reason")])
    f.voided_at, f.voided_by, f.void_reason = utcnow(), principal.username, reason.strip()
    audit.record(session, principal, "payments.fact.void", object_type="payment_manual_fact", object_id=f.id,
                 detail={"contract_id": c.id, "reason": reason.strip()[:500]})
    return f


# ---- reading -------------------------------------------------------------------------------


def statements(session: Session, principal: Principal, contract_id: int | None = None) -> list[Row]:
    principal.require("payments:ledger")
    return repo.list_for(session, principal, contract_id=contract_id)


def statement(session: Session, principal: Principal, statement_id: int) -> tuple[Row, Decimal]:
    principal.require("payments:ledger")
    st = repo.get(session, principal, statement_id)
    audit.record(session, principal, "payments.statement.read", object_type="payment_statement", object_id=st.id)
    return st, repo.paid_totals(session, [st.id])[st.id]


def as_engine_statement(st: Row) -> Statement:
    """A stored statement as the engine's Statement (for the invoice CSV and PDF)."""
    lines = tuple(Line(ln.term_id, ln.model, ln.component, ln.description, ln.formula, ln.inputs, ln.amount, ln.mlr,
                       ln.paid, ln.month, ln.service_code, ln.units, None if ln.rate is None else Decimal(ln.rate),
                       ln.authority)
                  for ln in st.lines)
    return Statement(st.contract.name if st.contract else "", Period(st.period_start, st.period_end, st.period_label),
                     st.billing_mode, lines, tuple(st.notes or ()))
