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
MILESTONES = {"outreach": "First outreach", "contact": "Contact with the member", "service": "Service start"}


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
    """Subject and body, in the language being rendered (web/localization.use). Only the referral
    number, the need, organizations and the plan's name: never a member identifier."""
    from socialcare.web.localization import gettext as _

    v = {"n": f"#{referral_id}", "need": _(need).lower() if need else "", "org": actor_org, "plan": plan,
         "detail": _(detail) if detail else ""}
    subjects = {
        "received": _("New %(need)s referral %(n)s"),
        "routed": _("Referral %(n)s was routed"),
        "accepted": _("Referral %(n)s was accepted"),
        "returned": _("Referral %(n)s was returned"),
        "overdue": _("Referral %(n)s is overdue"),
        "escalated": _("Referral %(n)s was escalated"),
        "closed": _("Referral %(n)s was closed"),
    }
    bodies = {
        "received": _("%(org)s sent your organization a %(need)s referral (%(n)s)."),
        "routed": _("%(org)s routed referral %(n)s to %(detail)s.") if detail else _("%(org)s routed referral %(n)s."),
        "accepted": _("%(org)s accepted referral %(n)s."),
        "returned": _("%(org)s returned referral %(n)s."),
        "overdue": _("Referral %(n)s: %(detail)s is past its due time."),
        "escalated": _("%(org)s escalated referral %(n)s to the plan."),
        "closed": _("%(org)s closed referral %(n)s (%(detail)s).") if detail else _("%(org)s closed referral %(n)s."),
    }
    return subjects[kind] % v, (bodies[kind] + " " + _("Plan: %(plan)s.")) % v


def statement_text(kind: str, *, number: str, counterpart: str, period: str = "") -> tuple[str, str]:
    from socialcare.web.localization import gettext as _

    v = {"number": number, "org": counterpart, "period": period}
    subject = {"statement_ready": _("Statement %(number)s is ready"),
               "statement_disputed": _("Statement %(number)s was disputed"),
               "statement_paid": _("Statement %(number)s was paid")}[kind] % v
    body = (_("Statement %(number)s for %(period)s (%(org)s).") if period else _("Statement %(number)s (%(org)s).")) % v
    return subject, body
