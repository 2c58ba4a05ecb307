"""Member claims of a stored statement: the 837P file (unique, increasing control numbers per
submitter, checked with pyx12 and our own 005010X222A1 edits) and each claim's status
(submitted, accepted, denied with a reason, paid); a denied claim is corrected in the records and
resubmitted as a replacement claim."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from socialcare.core.money import cents, to_decimal
from socialcare.payments import billing, ledger
from socialcare.payments import gather as g
from socialcare.payments import lifecycle as lc
from socialcare.payments.models import Claim, ControlNumber
from socialcare.payments.models import Statement as Row
from socialcare.payments.rules import Period
from socialcare.payments.schemas import parse_terms
from socialcare.security import audit
from socialcare.security.principal import Principal

CLAIM_STATUSES = ("submitted", "accepted", "denied", "paid", "replaced")


def next_control_number(session: Session, submitter_id: str) -> int:
    """The submitter's next interchange control number (stored; never reused)."""
    row = session.get(ControlNumber, submitter_id, with_for_update=True)
    if row is None:
        row = ControlNumber(submitter_id=submitter_id, last_number=0)
        session.add(row)
    row.last_number += 1
    session.flush()
    return row.last_number


def _terms_and_facts(session: Session, st: Row):
    from socialcare.contracts.models import ContractVersion

    v = session.scalar(select(ContractVersion).where(ContractVersion.contract_id == st.contract_id,
                                                     ContractVersion.version == st.contract_version))
    terms = parse_terms(v.payment_terms_yaml, f"contract {st.contract_id} version {v.version}")
    lo, hi = max(st.period_start, v.start_date), min(st.period_end, v.end_date)
    got = g.gather(session, st.contract, terms, lo, hi, [], carried=True)
    return terms, got.facts, Period(st.period_start, st.period_end, st.period_label)


def _file(session: Session, terms, facts, period, **kw) -> tuple[str, int]:
    if terms.billing.mode != "claims" or terms.billing.submitter is None:
        raise Conflict("This contract bills by invoice, not by member claims.")
    n = next_control_number(session, terms.billing.submitter.id)
    text = billing.claims_837p(terms, facts, period, control_number=n, **kw)
    errors = billing.validate_837p(text) + billing.x12_edits(text)
    if errors:
        raise InvalidInput("The 837P file did not pass the 005010X222A1 edits; nothing was submitted",
                           [Problem(e, field="x12_837p") for e in errors[:50]])
    return text, n


def submit_claims(session: Session, principal: Principal, statement_id: int) -> str:
    """Write the statement's 837P, store each claim as submitted, and mark the statement claims submitted."""
    st = ledger.repo.get(session, principal, statement_id)
    side = lc.side(principal.org_id, st.payer_org_id, st.payee_org_id)
    to = lc.transition("submit_claims", st.status, side, billing_mode=st.billing_mode)
    terms, facts, period = _terms_and_facts(session, st)
    text, n = _file(session, terms, facts, period)
    lines = billing.claim_lines(terms, facts, period)
    totals: dict[str, tuple[str, Decimal]] = {}
    for ln in lines:
        member, total = totals.get(ln.claim_id, (ln.member_id, Decimal(0)))
        totals[ln.claim_id] = (member, total + ln.charge)
    for cid, (member, total) in totals.items():
        session.add(Claim(statement_id=st.id, claim_id=cid, member_id=member, charge=cents(total), control_number=n,
                          status="submitted", updated_by=principal.username, updated_at=utcnow()))
    before, st.status = st.status, to
    ledger._event(session, principal, st, "submit_claims", before, to, f"837P control number {n}: {len(totals)} claims")
    return text


def claims_of(session: Session, principal: Principal, statement_id: int) -> list[Claim]:
    st = ledger.repo.get(session, principal, statement_id)
    return list(session.scalars(select(Claim).where(Claim.statement_id == st.id).order_by(Claim.claim_id, Claim.id)))


def _claim(session: Session, principal: Principal, claim_row_id: int) -> tuple[Claim, Row, str | None]:
    c = session.get(Claim, claim_row_id)
    if c is None:
        raise NotFound(f"No claim {claim_row_id}.")
    st = ledger.repo.get(session, principal, c.statement_id)  # NotFound unless a party
    return c, st, lc.side(principal.org_id, st.payer_org_id, st.payee_org_id)


def set_status(session: Session, principal: Principal, claim_row_id: int, status: str, *, reason: str = "",
               paid_amount: str | Decimal | None = None) -> Claim:
    """The payer records what became of a claim: accepted, denied (with the reason) or paid."""
    c, st, side = _claim(session, principal, claim_row_id)
    if side != "payer" or not principal.can("payments:settle"):
        raise Forbidden("The plan (payer) records what became of a claim.")
    allowed = {"accepted": ("submitted",), "denied": ("submitted", "accepted"), "paid": ("submitted", "accepted")}
    if status not in allowed:
        raise InvalidInput("Unknown claim status", [Problem("accepted, denied or paid", field="status")])
    if c.status not in allowed[status]:
        raise Conflict(f"A claim that is {c.status} cannot become {status}.")
    if status == "denied" and not reason.strip():
        raise InvalidInput("Say why the claim was denied", [Problem("the denial reason", field="reason")])
    if status == "paid":
        try:
            c.paid_amount = cents(to_decimal(paid_amount if paid_amount not in (None, "") else c.charge))
        except (TypeError, ValueError, ArithmeticError):
            raise InvalidInput("Not an amount", [Problem("not an amount", field="paid_amount")]) from None
    c.status, c.reason, c.updated_by, c.updated_at = status, reason.strip() or None, principal.username, utcnow()
    audit.record(session, principal, f"payments.claim.{status}", object_type="payment_claim", object_id=c.id,
                 detail={"statement_id": st.id, "claim": c.claim_id, "reason": c.reason})
    return c


def resubmit(session: Session, principal: Principal, claim_row_id: int) -> tuple[str, Claim]:
    """A corrected claim for a denied one (from the records as they are now): an 837P replacing it."""
    c, st, side = _claim(session, principal, claim_row_id)
    if side != "payee":
        raise Forbidden("The contract partner (payee) resubmits its claims.")
    if c.status != "denied":
        raise Conflict("Only a denied claim is corrected and resubmitted.")
    terms, facts, period = _terms_and_facts(session, st)
    text, n = _file(session, terms, facts, period, only_claims={c.claim_id}, replaces={c.claim_id: c.claim_id})
    total = sum((ln.charge for ln in billing.claim_lines(terms, facts, period) if ln.claim_id == c.claim_id),
                Decimal(0))
    new = Claim(statement_id=st.id, claim_id=c.claim_id, member_id=c.member_id, charge=cents(total), control_number=n,
                status="submitted", resubmits_id=c.id, updated_by=principal.username, updated_at=utcnow())
    session.add(new)
    c.status, c.updated_by, c.updated_at = "replaced", principal.username, utcnow()
    session.flush()
    audit.record(session, principal, "payments.claim.resubmit", object_type="payment_claim", object_id=new.id,
                 detail={"statement_id": st.id, "claim": c.claim_id, "replaces": c.id, "control_number": n})
    return text, new


