"""What each kind of notification is, who gets it, and its text (no member identifiers, ever)."""

from __future__ import annotations

from dataclasses import dataclass

KINDS: dict[str, str] = {
    "received": "Referral received",
    "routed": "Referral routed",
    "accepted": "Referral accepted",
    "returned": "Referral returned",
    "overdue": "Referral overdue",
    "escalated": "Referral escalated",
    "closed": "Referral closed",
    "statement_ready": "Statement ready",
    "statement_disputed": "Statement disputed",
    "statement_paid": "Statement paid",
}
STATEMENT_KINDS = ("statement_ready", "statement_disputed", "statement_paid")
# an auditor reads the log and is told nothing; every other role works referrals or statements
SILENT_ROLES = ("auditor",)
MILESTONES = {"outreach": "first outreach", "contact": "contact with the member", "service": "service start"}


@dataclass(frozen=True)
class Preference:
    in_app: bool = True
    email: bool = True
    digest: bool = False  # email once a day instead of at once


DEFAULT_PREFERENCE = Preference()


def email_mode(pref: Preference, has_address: bool) -> str | None:
    """The email_status a new notification starts with: None (no email), 'pending' or 'digest'."""
    if not has_address or not (pref.email or pref.digest):
        return None
    return "digest" if pref.digest else "pending"


def referral_kind(action: str | None, event_kind: str, to_status: str | None) -> str | None:
    """The notification kind a referral timeline event raises (None: nobody is told)."""
    if action == "create":
        return "received"
    if action == "route":
        return "routed"
    if action == "escalation.raise":
        return "escalated"
    if to_status in ("completed", "failed", "cancelled"):
        return "closed"
    if action in ("accept", "sub:accept"):
        return "accepted"
    if action in ("reject", "sub:reject"):
        return "returned"
    return None


def referral_text(kind: str, *, referral_id: int, need: str, actor_org: str, plan: str, detail: str = "") -> tuple[str, str]:
    """Subject and body. Only the referral number, the need, organizations and the plan's name."""
    n = f"#{referral_id}"
    subjects = {
        "received": f"New {need} referral {n}",
        "routed": f"Referral {n} was routed",
        "accepted": f"Referral {n} was accepted",
        "returned": f"Referral {n} was returned",
        "overdue": f"Referral {n} is overdue",
        "escalated": f"Referral {n} was escalated",
        "closed": f"Referral {n} was closed",
    }
    bodies = {
        "received": f"{actor_org} sent your organization a {need} referral ({n}).",
        "routed": f"{actor_org} routed referral {n}{(' to ' + detail) if detail else ''}.",
        "accepted": f"{actor_org} accepted referral {n}.",
        "returned": f"{actor_org} returned referral {n}{(': ' + detail) if detail else ''}.",
        "overdue": f"Referral {n}: {detail or 'a milestone'} is past its due time.",
        "escalated": f"{actor_org} escalated referral {n} to the plan{(': ' + detail) if detail else ''}.",
        "closed": f"{actor_org} closed referral {n}{(' (' + detail + ')') if detail else ''}.",
    }
    return subjects[kind], f"{bodies[kind]} Plan: {plan}."


def statement_text(kind: str, *, number: str, counterpart: str, period: str = "") -> tuple[str, str]:
    what = {"statement_ready": "is ready", "statement_disputed": "was disputed", "statement_paid": "was paid"}[kind]
    subject = f"Statement {number} {what}"
    body = f"Statement {number}{(' for ' + period) if period else ''} {what} ({counterpart})."
    return subject, body
