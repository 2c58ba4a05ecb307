"""A stored statement's lifecycle (pure: no database).

    draft -> approved (payer) -> invoiced | claims_submitted (payee) -> partially_paid -> paid (payer)
          -> closed (payer)
    approved .. paid -> disputed (payee, with a reason) -> adjusted (an adjustment statement references it)
    draft -> void (either party) | superseded (settled again)

The payer is the plan (or a hub paying its CBO), the payee the hub or CBO. Payments are recorded
with an amount, a date and a reference; several partial payments add up to the statement's total.
"""

from __future__ import annotations

from decimal import Decimal

from socialcare.core.errors import Conflict, Forbidden, InvalidInput, Problem

DRAFT, APPROVED, INVOICED, CLAIMS_SUBMITTED = "draft", "approved", "invoiced", "claims_submitted"
PARTIALLY_PAID, PAID, CLOSED = "partially_paid", "paid", "closed"
DISPUTED, ADJUSTED, VOID, SUPERSEDED = "disputed", "adjusted", "void", "superseded"

STATUSES = (DRAFT, APPROVED, INVOICED, CLAIMS_SUBMITTED, PARTIALLY_PAID, PAID, CLOSED, DISPUTED, ADJUSTED, VOID,
            SUPERSEDED)
LABELS = {DRAFT: "Draft", APPROVED: "Approved", INVOICED: "Invoiced", CLAIMS_SUBMITTED: "Claims submitted",
          PARTIALLY_PAID: "Partially paid", PAID: "Paid", CLOSED: "Closed", DISPUTED: "Disputed",
          ADJUSTED: "Adjusted", VOID: "Void", SUPERSEDED: "Superseded"}
# statements whose amounts stand (approved by the payer and not replaced)
STANDING = (APPROVED, INVOICED, CLAIMS_SUBMITTED, PARTIALLY_PAID, PAID, CLOSED, DISPUTED, ADJUSTED)
BILLED = (INVOICED, CLAIMS_SUBMITTED, PARTIALLY_PAID, PAID, CLOSED)
PAYABLE = (APPROVED, INVOICED, CLAIMS_SUBMITTED, PARTIALLY_PAID, DISPUTED, ADJUSTED)

# action -> (who may do it, statuses it starts from, status it ends in)
ACTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "approve": ("payer", (DRAFT,), APPROVED),
    "invoice": ("payee", (APPROVED,), INVOICED),
    "submit_claims": ("payee", (APPROVED,), CLAIMS_SUBMITTED),
    "dispute": ("payee", (APPROVED, INVOICED, CLAIMS_SUBMITTED, PARTIALLY_PAID, PAID), DISPUTED),
    "close": ("payer", (PAID,), CLOSED),
    "void": ("either", (DRAFT,), VOID),
}
ACTION_LABELS = {"approve": "Approve", "invoice": "Mark invoiced", "submit_claims": "Mark claims submitted",
                 "dispute": "Dispute", "close": "Close", "void": "Void draft", "pay": "Record a payment"}


_DONE = {"approve": "approved", "invoice": "invoiced", "submit_claims": "submitted as claims",
         "dispute": "disputed", "close": "closed", "void": "voided"}


def side(org_id: int, payer_org_id: int, payee_org_id: int) -> str | None:
    return "payer" if org_id == payer_org_id else "payee" if org_id == payee_org_id else None


def transition(action: str, status: str, actor_side: str | None, *, billing_mode: str = "invoice",
               reason: str = "") -> str:
    """The new status, or the error a user sees."""
    if action not in ACTIONS:
        raise InvalidInput(f"'{action}' is not a statement action", [Problem("unknown action", field="action")])
    who, froms, to = ACTIONS[action]
    if actor_side is None or (who != "either" and who != actor_side):
        raise Forbidden(f"Only the {'plan (payer)' if who == 'payer' else 'contract partner (payee)'} may "
                        f"{ACTION_LABELS[action].lower()} a statement.")
    if status not in froms:
        raise Conflict(f"A statement that is {LABELS[status].lower()} cannot be {_DONE[action]}.")
    if action == "invoice" and billing_mode == "claims":
        raise Conflict("This contract bills by member claims: submit the claims instead of an invoice.")
    if action == "submit_claims" and billing_mode != "claims":
        raise Conflict("This contract bills by invoice: mark it invoiced instead.")
    if action == "dispute" and not (reason or "").strip():
        raise InvalidInput("Say why the statement is disputed", [Problem("a reason is needed", field="reason")])
    return to


def after_payment(status: str, actor_side: str | None, total: Decimal, paid_before: Decimal,
                  amount: Decimal) -> str:
    """The status after a payment of ``amount`` (partial payments allowed, never more than owed)."""
    if actor_side != "payer":
        raise Forbidden("Only the plan (payer) records payments.")
    if status not in PAYABLE:
        raise Conflict(f"A statement that is {LABELS[status].lower()} cannot take a payment.")
    owed = abs(total)
    if amount <= 0:
        raise InvalidInput("A payment is a positive amount", [Problem("must be more than $0.00", field="amount")])
    if paid_before + amount > owed:
        raise InvalidInput("The payment is more than is owed", [Problem(
            f"at most {owed - paid_before} is still owed on this statement", field="amount")])
    return PAID if paid_before + amount == owed else PARTIALLY_PAID
