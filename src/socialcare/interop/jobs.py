"""Background jobs of the exchange: FHIR Direct push and poll, one job per partner, and the drop folder.

``interop.fhir_dispatch`` (every minute) queues what the partners have not been told yet and starts
one ``interop.fhir_push`` per partner with a push due (the row's own backoff: 1 minute doubling to 6
hours, ``outbound.backoff``) and one ``interop.fhir_poll`` per partner whose last poll is older than
15 minutes. One partner's failing server never delays another's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.db import unit_of_work
from socialcare.core.errors import NotFound
from socialcare.core.settings import get_settings
from socialcare.interop.fhir import outbound
from socialcare.interop.models import FhirEndpoint, FhirOutbound
from socialcare.jobs import Job, enqueue

POLL_EVERY = timedelta(minutes=15)  # the IG: at least daily, not more often than every 15 minutes
DROP_SETTLE_SECONDS = 30.0  # a file unchanged this long is fully uploaded


def fhir_dispatch() -> dict:
    now = utcnow()
    with unit_of_work() as session:
        queued = outbound.enqueue(session, now)
        due_ids = outbound.due(session, now, limit=10_000)
        push_eps = sorted(set(session.scalars(
            select(FhirOutbound.endpoint_id).where(FhirOutbound.id.in_(due_ids))))) if due_ids else []
        poll_eps = [ep.id for ep in outbound.endpoints(session) if ep.mode == "direct" and ep.base_url and (
            ep.last_polled_at is None or as_utc(ep.last_polled_at) <= now - POLL_EVERY)]
    for ep_id in push_eps:
        enqueue("interop.fhir_push", endpoint_id=ep_id, queued_by="interop.fhir_dispatch")
    for ep_id in poll_eps:
        enqueue("interop.fhir_poll", endpoint_id=ep_id, queued_by="interop.fhir_dispatch")
    return {"queued": queued, "push": push_eps, "poll": poll_eps}


def fhir_push(endpoint_id: int) -> dict:
    """Push every due row of one partner, one transaction per row (a slow server holds none open)."""
    now = utcnow()
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    errors: list[str] = []
    tried: set[int] = set()
    with outbound.http_client() as client:
        while True:  # again after each round: a row sent may let the next row of its referral go
            with unit_of_work() as session:
                ids = [i for i in outbound.due(session, now, endpoint_id=endpoint_id) if i not in tried]
            if not ids:
                break
            for item_id in ids:
                tried.add(item_id)
                with unit_of_work() as session:
                    item = session.get(FhirOutbound, item_id)
                    if item is None or item.status != "pending":
                        continue
                    status = outbound.push(session, item, client, now)
                    if status != "sent" and item.last_error:
                        errors.append(f"referral {item.referral_id}: {item.last_error.splitlines()[0][:200]}")
                counts["sent" if status == "sent" else "failed" if status == "failed" else "retrying"] += 1
    return {"endpoint_id": endpoint_id, **counts, "errors": errors}


def fhir_poll(endpoint_id: int) -> dict:
    now = utcnow()
    with outbound.http_client() as client, unit_of_work() as session:
        ep = session.get(FhirEndpoint, endpoint_id)
        if ep is None or ep.mode != "direct" or not ep.base_url:
            raise NotFound(f"FHIR endpoint {endpoint_id} is not a direct partner any more.")
        result = outbound.poll(session, ep, client, now)
    return {"endpoint_id": endpoint_id, "read": result.read,
            "changed": [{"referral": r, "from": a, "to": b} for r, a, b in result.changed], "errors": result.errors}


def drop_folder_pickup() -> dict:
    """Import every settled file in SOCIALCARE_DROP_FOLDER as SOCIALCARE_DROP_FOLDER_USER."""
    from socialcare.interop import dropfolder
    from socialcare.security import repository as security_repo
    from socialcare.security.service import principal_for_user

    settings = get_settings()
    root = Path(settings.drop_folder) if settings.drop_folder else None
    if root is None or not settings.drop_folder_user:
        raise NotFound("Set SOCIALCARE_DROP_FOLDER and SOCIALCARE_DROP_FOLDER_USER to pick up partner files.")
    with unit_of_work() as session:
        user = security_repo.user_by_username(session, settings.drop_folder_user)
        if user is None or not user.is_active:
            raise NotFound(f"The drop folder's user '{settings.drop_folder_user}' is not an active account.")
        who = principal_for_user(user, via="drop")
    root.mkdir(parents=True, exist_ok=True)
    outcomes = dropfolder.scan_once(root, who, settle_seconds=DROP_SETTLE_SECONDS)
    return {"files": [{"file": o.path.name, "status": o.status, "summary": o.summary[:300]} for o in outcomes]}


def _drop_folder_configured() -> bool:
    s = get_settings()
    return bool(s.drop_folder and s.drop_folder_user)


JOBS = [
    Job("interop.fhir_dispatch", fhir_dispatch, "Queue referral news for direct FHIR partners; start each "
        "partner's push (when due by its backoff) and poll (every 15 minutes)", session=False,
        every=timedelta(minutes=1), timeout=timedelta(minutes=10)),
    Job("interop.fhir_push", fhir_push, "Push one partner's due Tasks to its FHIR server", session=False,
        timeout=timedelta(minutes=30)),
    Job("interop.fhir_poll", fhir_poll, "Read one partner's Tasks back and apply its changes", session=False,
        timeout=timedelta(minutes=30)),
    Job("interop.drop_folder", drop_folder_pickup, "Import partner files from the drop folder", session=False,
        every=timedelta(minutes=1), enabled=_drop_folder_configured, timeout=timedelta(hours=2)),
]
