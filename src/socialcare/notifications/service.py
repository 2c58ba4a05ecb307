"""Raise, list, read and deliver notifications. Plain functions a job can call:

    deliver_pending_email(session, smtp_settings)   # every email waiting to go, now
    send_daily_digest(session, smtp_settings, now)  # one email per user for the digest kind
    check_overdue(session, now)                     # "overdue" by each referral's clocks, once per milestone

``on_referral_event`` is called for every referral timeline event (referrals/service.py ``_event``),
``notify_statement`` by the payments domain when a statement is ready, disputed or paid.
Services flush, never commit; with SMTP configured, emails raised in a request go out right after it
commits (``send_on_commit``), so no job runner is needed for timely email.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from socialcare.core.clock import utcnow
from socialcare.core.errors import InvalidInput, NotFound, Problem
from socialcare.core.settings import get_settings
from socialcare.directory.models import Organization
from socialcare.kit.pagination import PageResult, paginate
from socialcare.notifications import rules
from socialcare.notifications.models import Notification, NotificationPreference
from socialcare.notifications.settings import SmtpSettings, get_smtp_settings
from socialcare.security.models import User
from socialcare.security.principal import Principal
from socialcare.web import localization

log = logging.getLogger(__name__)
_AFTER_COMMIT_KEY = "notifications.after_commit"


# ---- preferences -----------------------------------------------------------------------------


def preferences(session: Session, user_id: int) -> dict[str, rules.Preference]:
    rows = session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    stored = {r.kind: rules.Preference(r.in_app, r.email, r.digest) for r in rows}
    return {k: stored.get(k, rules.DEFAULT_PREFERENCE) for k in rules.KINDS}


def set_preferences(session: Session, principal: Principal, choices: dict[str, rules.Preference]) -> None:
    if principal.user_id is None:
        raise InvalidInput("No user", [Problem("preferences belong to a signed-in user", field="user")])
    unknown = [k for k in choices if k not in rules.KINDS]
    if unknown:
        raise InvalidInput("Preferences were not saved.", [Problem(f"unknown kind '{k}'", field="kind") for k in unknown])
    existing = {r.kind: r for r in session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == principal.user_id))}
    for kind, pref in choices.items():
        row = existing.get(kind)
        if row is None:
            session.add(NotificationPreference(user_id=principal.user_id, kind=kind, in_app=pref.in_app,
                                               email=pref.email, digest=pref.digest))
        else:
            row.in_app, row.email, row.digest = pref.in_app, pref.email, pref.digest
    session.flush()


# ---- raising ---------------------------------------------------------------------------------


def _recipients(session: Session, org_ids: set[int]) -> list[tuple[int, str | None, str]]:
    if not org_ids:
        return []
    return list(session.execute(
        select(User.id, User.email, User.language).where(User.organization_id.in_(org_ids), User.is_active.is_(True),
                                          User.role.not_in(rules.SILENT_ROLES)).order_by(User.id)).all())


def notify(session: Session, org_ids: set[int], kind: str, *, texts: Callable[[], tuple[str, str]], link: str,
           referral_id: int | None = None, plan_id: int | None = None, dedup_key: str | None = None,
           now: datetime | None = None) -> int:
    """One notification per user of these organizations, by each user's preference, its subject and
    body from ``texts()`` in the user's language. Returns how many were stored; a user who already
    has ``dedup_key`` gets nothing new."""
    if kind not in rules.KINDS:
        raise ValueError(f"unknown notification kind {kind}")
    users = _recipients(session, org_ids)
    if not users:
        return 0
    now = now or utcnow()
    ids = [u for u, _email, _lang in users]
    prefs = {(r.user_id): rules.Preference(r.in_app, r.email, r.digest) for r in session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id.in_(ids),
                                             NotificationPreference.kind == kind))}
    seen: set[int] = set()
    if dedup_key:
        seen = set(session.scalars(select(Notification.user_id).where(
            Notification.user_id.in_(ids), Notification.dedup_key == dedup_key)))
    rows = []
    worded: dict[str, tuple[str, str]] = {}
    for user_id, email, language in users:
        if user_id in seen:
            continue
        if language not in worded:
            with localization.use(language):
                worded[language] = texts()
        subject, body = worded[language]
        pref = prefs.get(user_id, rules.DEFAULT_PREFERENCE)
        mode = rules.email_mode(pref, bool(email))
        if not pref.in_app and mode is None:
            continue
        rows.append(dict(user_id=user_id, kind=kind, referral_id=referral_id, plan_id=plan_id,
                         subject=subject[:200], body=body, link=link[:300], dedup_key=dedup_key,
                         in_app=pref.in_app, created_at=now, email_status=mode,
                         email_to=email if mode else None, email_attempts=0))
    if rows:
        session.execute(insert(Notification), rows)
        if any(r["email_status"] == "pending" for r in rows):
            _send_after_commit(session)
    return len(rows)


def _org_names(session: Session, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())


def on_referral_event(session: Session, principal: Principal | None, referral_id: int, *, action: str | None,
                      event_kind: str, to_status: str | None, detail: dict | None = None,
                      now: datetime | None = None) -> int:
    """Tell the other parties of a referral what just happened on its timeline."""
    kind = rules.referral_kind(action, event_kind, to_status)
    if kind is None:
        return 0
    from socialcare.referrals.models import Referral
    from socialcare.referrals.rules import STATUS_LABELS
    from socialcare.referrals.service import need_label

    ref = session.execute(select(Referral.requester_org_id, Referral.owner_org_id, Referral.plan_id,
                                 Referral.need_domain, Referral.version)
                          .where(Referral.id == referral_id)).one_or_none()
    if ref is None:
        return 0
    actor = principal.org_id if principal else None
    if kind == "received":
        to = {ref.owner_org_id}
    elif kind == "escalated":
        to = {ref.plan_id}
    elif kind == "closed" and not (action or "").startswith("sub:"):
        to = {ref.requester_org_id, ref.owner_org_id}
    else:
        to = {ref.requester_org_id}
    to = {o for o in to if o and o != actor}
    if not to:
        return 0
    names = _org_names(session, {ref.plan_id, actor or 0})
    extra = ""
    if kind == "routed":
        extra = (detail or {}).get("cbo_name") or ""
    elif kind == "closed":
        extra = str(STATUS_LABELS.get(to_status, to_status or ""))
    def texts() -> tuple[str, str]:
        return rules.referral_text(kind, referral_id=referral_id, need=need_label(ref.need_domain),
                                   actor_org=names.get(actor, "socialcare") if actor else "socialcare",
                                   plan=names.get(ref.plan_id, ""), detail=extra)

    return notify(session, to, kind, texts=texts, link=f"/referrals/{referral_id}",
                  referral_id=referral_id, plan_id=ref.plan_id, dedup_key=f"{kind}:{referral_id}:{ref.version}",
                  now=now)


def check_overdue(session: Session, now: datetime | None = None) -> int:
    """Raise "overdue" once per referral and milestone whose due time passed with the milestone not
    done (the contract's clock fixed at request), to the organization working it and its requester."""
    from socialcare.referrals.models import Referral
    from socialcare.referrals.rules import OPEN

    now = now or utcnow()
    milestones = (
        ("outreach", Referral.outreach_due_at, Referral.first_outreach_at),
        ("contact", Referral.contact_due_at, Referral.contacted_at),
        ("service", Referral.service_due_at, Referral.service_started_at),
    )
    total = 0
    for key, due, done in milestones:
        rows = session.execute(
            select(Referral.id, Referral.requester_org_id, Referral.owner_org_id, Referral.plan_id)
            .where(Referral.status.in_(OPEN), Referral.owner_org_id.is_not(None), due.is_not(None), due < now,
                   done.is_(None))
            .where(~select(Notification.id).where(Notification.referral_id == Referral.id,
                                                  Notification.kind == "overdue",
                                                  Notification.dedup_key.like(f"overdue:{key}:%")).exists())
            .order_by(Referral.id)).all()
        plans = _org_names(session, {r.plan_id for r in rows})
        for r in rows:
            def texts(r=r, key=key, plans=plans) -> tuple[str, str]:
                return rules.referral_text("overdue", referral_id=r.id, need="", actor_org="",
                                           plan=plans.get(r.plan_id, ""), detail=rules.MILESTONES[key])

            total += notify(session, {r.owner_org_id, r.requester_org_id}, "overdue", texts=texts,
                            link=f"/referrals/{r.id}", referral_id=r.id, plan_id=r.plan_id,
                            dedup_key=f"overdue:{key}:{r.id}", now=now)
    return total


def notify_statement(session: Session, kind: str, *, org_ids: set[int], number: str, counterpart: str,
                     link: str, period: str = "", plan_id: int | None = None, now: datetime | None = None) -> int:
    """For the payments domain: a statement is ready (to the payer and payee), disputed or paid."""
    if kind not in rules.STATEMENT_KINDS:
        raise ValueError(f"not a statement notification: {kind}")
    def texts() -> tuple[str, str]:
        return rules.statement_text(kind, number=number, counterpart=counterpart, period=period)

    return notify(session, org_ids, kind, texts=texts, link=link, plan_id=plan_id,
                  dedup_key=f"{kind}:{number}", now=now)


# ---- the inbox -------------------------------------------------------------------------------


def inbox(session: Session, principal: Principal, *, unread_only: bool = False, page: int = 1,
          per_page: int = 30) -> PageResult:
    q = select(Notification).where(Notification.user_id == principal.user_id, Notification.in_app.is_(True))
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    return paginate(session, q.order_by(Notification.created_at.desc(), Notification.id.desc()), page, per_page)


def unread_count(session: Session, user_id: int | None) -> int:
    if user_id is None:
        return 0
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.in_app.is_(True), Notification.read_at.is_(None))) or 0


def unread_referral_ids(session: Session, user_id: int | None, referral_ids: list[int]) -> set[int]:
    """Which of these referrals have an unread notification for this user (the worklist's "new" marker)."""
    if user_id is None or not referral_ids:
        return set()
    return set(session.scalars(select(Notification.referral_id).where(
        Notification.user_id == user_id, Notification.read_at.is_(None),
        Notification.referral_id.in_(referral_ids))))


def open_notification(session: Session, principal: Principal, notification_id: int,
                      now: datetime | None = None) -> Notification:
    n = session.scalar(select(Notification).where(Notification.id == notification_id,
                                                  Notification.user_id == principal.user_id))
    if n is None:
        raise NotFound(f"Notification {notification_id} is not in your inbox.")
    if n.read_at is None:
        n.read_at = now or utcnow()
        session.flush()
    return n


def mark_read(session: Session, principal: Principal, *, referral_id: int | None = None,
              all_: bool = False, now: datetime | None = None) -> int:
    """Mark this user's notifications read: all of them, or those of one referral (opening it)."""
    q = update(Notification).where(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
    if referral_id is not None:
        q = q.where(Notification.referral_id == referral_id)
    elif not all_:
        return 0
    return session.execute(q.values(read_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount


# ---- email -----------------------------------------------------------------------------------


def _message(smtp: SmtpSettings, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = to
    msg["Subject"] = f"[socialcare] {subject}"
    msg.set_content(body)
    return msg


def _absolute(link: str) -> str:
    return get_settings().public_url.rstrip("/") + link


def _email_body(n: Notification) -> str:
    return (f"{n.body}\n\nOpen it (sign-in required): {_absolute(n.link)}\n\n"
            "You receive this because of your notification settings in socialcare "
            f"({_absolute('/notifications/settings')}).\n")


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    if smtp.starttls:
        conn.starttls()
    if smtp.username:
        conn.login(smtp.username, smtp.password or "")
    return conn


def deliver_pending_email(session: Session, smtp: SmtpSettings | None = None, *, limit: int = 500,
                          ids: list[int] | None = None) -> int:
    """Send every pending email (or those ``ids``); marks each sent or failed. Returns how many went."""
    smtp = smtp or get_smtp_settings()
    if not smtp.configured:
        return 0
    q = select(Notification).where(Notification.email_status == "pending").order_by(Notification.id).limit(limit)
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    pending = list(session.scalars(q))
    if not pending:
        return 0
    sent = 0
    now = utcnow()
    try:
        conn = _connect(smtp)
    except OSError as exc:
        log.warning("SMTP server %s:%s unreachable: %s", smtp.host, smtp.port, exc)
        for n in pending:
            n.email_attempts += 1
            if n.email_attempts >= 5:
                n.email_status = "failed"
        session.flush()
        return 0
    try:
        for n in pending:
            n.email_attempts += 1
            try:
                conn.send_message(_message(smtp, n.email_to or "", n.subject, _email_body(n)))
                n.email_status, n.emailed_at = "sent", now
                sent += 1
            except smtplib.SMTPException as exc:
                log.warning("email for notification %s refused: %s", n.id, exc)
                if n.email_attempts >= 5:
                    n.email_status = "failed"
    finally:
        try:
            conn.quit()
        except smtplib.SMTPException:
            pass
    session.flush()
    return sent


def send_daily_digest(session: Session, smtp: SmtpSettings | None = None, now: datetime | None = None) -> int:
    """One email per user gathering their digest notifications. Returns how many emails went."""
    smtp = smtp or get_smtp_settings()
    if not smtp.configured:
        return 0
    now = now or utcnow()
    waiting = list(session.scalars(select(Notification).where(Notification.email_status == "digest")
                                   .order_by(Notification.user_id, Notification.id)))
    by_user: dict[tuple[int, str], list[Notification]] = defaultdict(list)
    for n in waiting:
        by_user[(n.user_id, n.email_to or "")].append(n)
    if not by_user:
        return 0
    conn = _connect(smtp)
    sent = 0
    try:
        for (_user, to), items in by_user.items():
            lines = [f"- {n.subject}: {_absolute(n.link)}" for n in items]
            body = (f"{len(items)} notification(s) since your last digest:\n\n" + "\n".join(lines)
                    + f"\n\nSettings: {_absolute('/notifications/settings')}\n")
            conn.send_message(_message(smtp, to, f"Daily digest: {len(items)} notification(s)", body))
            for n in items:
                n.email_status, n.emailed_at = "sent", now
            sent += 1
    finally:
        conn.quit()
    session.flush()
    return sent


def _send_after_commit(session: Session) -> None:
    smtp = get_smtp_settings()
    if not (smtp.configured and smtp.send_on_commit) or session.info.get(_AFTER_COMMIT_KEY):
        return
    session.info[_AFTER_COMMIT_KEY] = True

    def after_commit(sess: Session) -> None:
        sess.info.pop(_AFTER_COMMIT_KEY, None)
        bind = sess.get_bind()
        engine = getattr(bind, "engine", bind)
        try:
            with sessionmaker(bind=engine)() as own, own.begin():
                deliver_pending_email(own, smtp)
        except Exception:  # email must never turn a saved step into an error page
            log.exception("sending notification email after commit failed; it stays pending")

    def after_rollback(sess: Session) -> None:
        sess.info.pop(_AFTER_COMMIT_KEY, None)
        if event.contains(sess, "after_commit", after_commit):
            event.remove(sess, "after_commit", after_commit)

    event.listen(session, "after_commit", after_commit, once=True)
    event.listen(session, "after_soft_rollback", after_rollback, once=True)
