"""Direct mode: socialcare as the referral source toward a partner's own FHIR server.

The SDOH Clinical Care IG's "Direct" exchange (docs/standards.md §1.1): both sides run
FHIR servers. For a referral owned by an organization whose endpoint is ``direct``:

1. ``enqueue`` finds what the partner has not been told yet, as one set query: a new referral
   (status ``requested``), and later the requester's own changes (``cancelled``,
   ``entered-in-error``). Each becomes an outbound row holding the Task exactly as it will be sent.
   The Task is created on the partner's server with absolute references back to ours (focus ->
   our ServiceRequest, for -> our Patient), as the IG asks when a resource lives on another server:
   the CBO reads the member's details from us, consent-gated, rather than receiving a copy.
2. ``push_due`` PUTs each due row (update-as-create with our id ``socialcare-referral-<id>``, so a
   retry can never create a second Task). A network error, a timeout, 408, 429 or 5xx is retried
   with exponential backoff (1 minute doubling to 6 hours, ``MAX_ATTEMPTS`` in all); any other 4xx
   means the partner refuses the content, so it fails at once with the partner's diagnostics.
   Rows of one referral go out in order: a cancellation never overtakes the referral it cancels.
3. ``poll`` reads back each open referral's Task from the partner's server and applies what the
   partner changed (accepted, in progress, completed with its Procedure...) through the same path
   as a PUT on our /fhir/Task (``referrals.update_task``), acting as the partner organization, so
   the state machine, the timeline and the audit log apply exactly as if its staff had clicked.

"Light" partners have no server: their app polls ours (the IG's Task queries) and nothing is pushed.
The job (``sync``, ``socialcare exchange fhir-sync``) owns the transactions: one per step, and one
per pushed row, so a slow partner server never holds a long transaction open.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlparse

import httpx
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.db import savepoint, unit_of_work
from socialcare.core.errors import Forbidden, InvalidInput, NotFound, Problem, SocialcareError
from socialcare.core.settings import get_settings
from socialcare.directory.models import Organization
from socialcare.interop.fhir import referrals as fref
from socialcare.interop.fhir.base import FHIR_JSON
from socialcare.interop.models import FhirEndpoint, FhirOutbound
from socialcare.kit.codes import OrgKind
from socialcare.referrals import rules
from socialcare.referrals.models import Referral
from socialcare.security import audit
from socialcare.security.principal import Principal, system_principal

log = logging.getLogger(__name__)

MODES = ("direct", "light")
# what the requester tells the partner; every other status is the partner's to set, and comes back by poll
PUSHED_STATUSES = (rules.Status.REQUESTED, rules.Status.CANCELLED, rules.Status.ENTERED_IN_ERROR)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 12  # about a day of retries (1, 2, 4 ... 256 minutes, then every 6 hours)
RETRYABLE = {408, 425, 429}
TASK_ID_PREFIX = "socialcare-referral-"


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 1 min, 2, 4, ... capped at 6 hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def remote_task_id(referral_id: int) -> str:
    return f"{TASK_ID_PREFIX}{referral_id}"


# ---- endpoints -------------------------------------------------------------------------------


def may_configure(principal: Principal, organization_id: int) -> bool:
    """Who may say where an organization's referrals are pushed: the organization itself (its
    directory writers), or a holder of the named right ``exchange:configure`` (a plan's
    administrator, the referral source). Never another hub or CBO: pointing a partner's endpoint at
    one's own server would receive its referrals and answer in its name."""
    if principal.can("exchange:configure"):
        return True
    return principal.can("directory:write") and organization_id == principal.org_id


def set_endpoint(session: Session, principal: Principal, organization_id: int, *, mode: str,
                 base_url: str | None, bearer_token: str | None) -> FhirEndpoint:
    """Record how a partner exchanges FHIR: its server (direct) or none, its app polls ours (light)."""
    principal.require("directory:write")
    if not may_configure(principal, organization_id):
        audit.record_denied(session, principal, "exchange.fhir_endpoint.set", object_type="organization",
                            object_id=organization_id, reason="not the organization's own endpoint")
        raise Forbidden("Only the organization itself (or a plan administrator) may set its FHIR endpoint.")
    problems = []
    org = session.get(Organization, organization_id)
    if org is None or org.kind not in (OrgKind.CBO, OrgKind.HUB):
        problems.append(Problem("a FHIR endpoint belongs to a hub or CBO in the directory", field="organization"))
    if mode not in MODES:
        problems.append(Problem(f"mode is one of {', '.join(MODES)}", field="mode"))
    if mode == "direct":
        parsed = urlparse(base_url or "")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(Problem("a direct partner needs its FHIR base URL, e.g. https://fhir.example.org/r4",
                                    field="base_url"))
    if problems:
        raise InvalidInput("The FHIR endpoint was not saved.", problems)
    ep = session.scalar(select(FhirEndpoint).where(FhirEndpoint.organization_id == organization_id))
    if ep is None:
        ep = FhirEndpoint(organization_id=organization_id)
        session.add(ep)
    ep.mode = mode
    ep.base_url = (base_url or "").rstrip("/") or None
    if bearer_token is not None:
        ep.bearer_token = bearer_token or None
    session.flush()
    audit.record(session, principal, "exchange.fhir_endpoint.set", object_type="fhir_endpoint", object_id=ep.id,
                 detail={"organization_id": organization_id, "mode": mode, "base_url": ep.base_url})
    return ep


def endpoints(session: Session, principal: Principal | None = None) -> list[FhirEndpoint]:
    """Partners' endpoints; given a principal, only those it may configure (a partner's URL and its
    server's errors are that partner's business)."""
    stmt = select(FhirEndpoint).order_by(FhirEndpoint.id)
    if principal is not None and not principal.can("exchange:configure"):
        stmt = stmt.where(FhirEndpoint.organization_id == principal.org_id)
    return list(session.scalars(stmt))


# ---- what goes out ---------------------------------------------------------------------------


def _absolute(reference: dict | None, base: str) -> dict | None:
    if not reference or not reference.get("reference"):
        return reference
    ref = reference["reference"]
    if "://" in ref or ref.startswith(("#", "urn:")):
        return reference
    return {**reference, "reference": f"{base}/{ref}"}


def outbound_task(session: Session, ref: Referral, public_fhir: str) -> dict:
    """The Task as the partner's server will hold it: our Task, with our id as an identifier and
    every reference made absolute to our server (the partner reads the ServiceRequest and the
    Patient from us, under the member's consent)."""
    task = copy.deepcopy(fref.task_to_fhir(session, ref))
    ours = task["id"]
    task["id"] = remote_task_id(ref.id)
    task.pop("meta", None)
    task["identifier"] = [*(i for i in task.get("identifier") or [] if i.get("system") != f"{public_fhir}/Task"),
                          {"system": f"{public_fhir}/Task", "value": ours}]
    for key in ("focus", "for", "requester", "owner"):
        task[key] = _absolute(task.get(key), public_fhir)
    if task.get("partOf"):
        task["partOf"] = [_absolute(p, public_fhir) for p in task["partOf"]]
    for out in task.get("output") or []:
        if out.get("valueReference"):
            out["valueReference"] = _absolute(out["valueReference"], public_fhir)
    return {k: v for k, v in task.items() if v is not None}


def enqueue(session: Session, now: datetime | None = None, *, public_fhir: str | None = None) -> int:
    """Queue a push for each referral status a direct partner has not been told yet. Returns how many."""
    now = now or utcnow()
    public_fhir = public_fhir or get_settings().public_url.rstrip("/") + "/fhir"
    told = aliased(FhirOutbound)
    earlier = aliased(FhirOutbound)
    pending = session.execute(
        select(Referral, FhirEndpoint.id)
        .join(FhirEndpoint, and_(FhirEndpoint.organization_id == Referral.owner_org_id, FhirEndpoint.mode == "direct"))
        .where(
            Referral.status.in_([str(s) for s in PUSHED_STATUSES]),
            ~exists().where(told.referral_id == Referral.id, told.referral_status == Referral.status),
            # a cancellation is news only to a partner that was told of the referral
            (Referral.status == rules.Status.REQUESTED) | exists().where(earlier.referral_id == Referral.id),
        )
        .order_by(Referral.id)
    ).all()
    for ref, endpoint_id in pending:
        session.add(FhirOutbound(
            endpoint_id=endpoint_id, referral_id=ref.id, referral_status=ref.status, resource_type="Task",
            fhir_id=remote_task_id(ref.id), body=outbound_task(session, ref, public_fhir), status="pending",
            attempts=0, next_attempt_at=now, created_at=now,
        ))
    session.flush()
    return len(pending)


def due(session: Session, now: datetime, limit: int = 200, *, endpoint_id: int | None = None) -> list[int]:
    """Ids of the rows to push now: pending, due, and not behind an unsent row of the same referral
    (of one partner's endpoint when ``endpoint_id`` is given: the per-partner push job)."""
    before = aliased(FhirOutbound)
    stmt = select(FhirOutbound.id).where(
        FhirOutbound.status == "pending", FhirOutbound.next_attempt_at <= now,
        ~exists().where(before.referral_id == FhirOutbound.referral_id, before.id < FhirOutbound.id,
                        before.status != "sent"),
    )
    if endpoint_id is not None:
        stmt = stmt.where(FhirOutbound.endpoint_id == endpoint_id)
    return list(session.scalars(stmt.order_by(FhirOutbound.id).limit(limit)))


def retry_after(response: httpx.Response, now: datetime) -> timedelta | None:
    """The wait a partner asks for (``Retry-After``: seconds or an HTTP date), at most BACKOFF_CAP."""
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        from email.utils import parsedate_to_datetime

        try:
            wait = as_utc(parsedate_to_datetime(value)) - now
        except (TypeError, ValueError):
            return None
    return max(timedelta(0), min(wait, BACKOFF_CAP))


def _diagnostics(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        return "; ".join(
            f"{i.get('diagnostics', '')}" + (f" ({', '.join(i['expression'])})" if i.get("expression") else "")
            for i in body.get("issue", [])
        )[:2000]
    return response.text[:500]


def push(session: Session, item: FhirOutbound, client: httpx.Client, now: datetime | None = None) -> str:
    """PUT one row to its partner's server; the row records the answer. Returns the row's new status."""
    now = now or utcnow()
    ep = session.get(FhirEndpoint, item.endpoint_id)
    assert ep is not None
    if ep.mode != "direct" or not ep.base_url:
        item.status, item.last_error = "failed", "the partner is no longer a direct FHIR endpoint"
        session.flush()
        return item.status
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    if ep.bearer_token:
        headers["Authorization"] = f"Bearer {ep.bearer_token}"
    item.attempts += 1
    asked = None  # the wait the partner asks for (Retry-After), if it says
    try:
        # a 307/308 (the partner moved its server) is followed with the same PUT and body
        response = client.put(f"{ep.base_url}/{item.resource_type}/{item.fhir_id}", json=item.body,
                              headers=headers, follow_redirects=True)
    except httpx.HTTPError as exc:
        item.http_status, error, retry = None, f"{type(exc).__name__}: {exc}"[:2000], True
    else:
        item.http_status = response.status_code
        if response.is_success:
            item.status, item.sent_at, item.last_error = "sent", now, None
            audit.record(session, None, "exchange.fhir.push.sent", object_type="referral", object_id=item.referral_id,
                         detail={"endpoint_id": ep.id, "fhir_id": item.fhir_id, "status": item.referral_status,
                                 "attempts": item.attempts, "http_status": response.status_code})
            session.flush()
            return item.status
        error = f"HTTP {response.status_code}: {_diagnostics(response)}"
        retry = response.status_code >= 500 or response.status_code in RETRYABLE
        asked = retry_after(response, now) if retry else None
    item.last_error = error
    if retry and item.attempts < MAX_ATTEMPTS:
        item.next_attempt_at = now + (asked if asked is not None else backoff(item.attempts))
    else:
        item.status = "failed"
        audit.record(session, None, "exchange.fhir.push.failed", object_type="referral", object_id=item.referral_id,
                     detail={"endpoint_id": ep.id, "fhir_id": item.fhir_id, "attempts": item.attempts,
                             "error": error[:500]})
    session.flush()
    return item.status


def retry(session: Session, principal: Principal, item_id: int) -> FhirOutbound:
    """Send a failed row again (after the partner fixed its server): attempts start over."""
    from socialcare.referrals.repository import referral_visibility

    principal.require("directory:write")
    item = session.scalar(select(FhirOutbound).join(Referral, Referral.id == FhirOutbound.referral_id).where(
        FhirOutbound.id == item_id, FhirOutbound.status == "failed", referral_visibility(principal)))
    if item is None:
        raise NotFound(f"Push #{item_id} is not a failed push about a referral your organization sees.")
    item.status, item.attempts, item.next_attempt_at = "pending", 0, utcnow()
    session.flush()
    audit.record(session, principal, "exchange.fhir.push.retry", object_type="referral", object_id=item.referral_id,
                 detail={"outbound_id": item.id})
    return item


# ---- what comes back ---------------------------------------------------------------------------


def partner_principal(session: Session, ep: FhirEndpoint) -> Principal:
    """The partner organization acting through its server: its changes are the owner's changes."""
    org = session.get(Organization, ep.organization_id)
    assert org is not None
    role = "hub_coordinator" if org.kind == OrgKind.HUB else "cbo_staff"
    host = urlparse(ep.base_url or "").netloc or "partner"
    return replace(system_principal(org.id, org.kind, role, f"fhir:{host}"[:100]), org_name=org.name, via="fhir")


def _localize(task: dict, base: str) -> dict:
    """The partner's relative references (its Procedure, its notes' authors) made absolute to its server."""
    task = copy.deepcopy(task)
    for out in task.get("output") or []:
        if out.get("valueReference"):
            out["valueReference"] = _absolute(out["valueReference"], base)
    return task


def _task_json(response: httpx.Response) -> dict | str:
    """The Task a partner answered, or why its answer is not one (not JSON, an array, another type)."""
    try:
        body = response.json()
    except ValueError:
        return f"the answer is not JSON ({response.headers.get('content-type', 'no content type')}): {response.text[:200]!r}"
    if not isinstance(body, dict):
        return f"the answer is a JSON {type(body).__name__}, not a Task"
    if body.get("resourceType") != "Task":
        return f"the answer is a {body.get('resourceType') or 'JSON object without resourceType'}, not a Task"
    return body


@dataclass
class PollResult:
    endpoint_id: int
    read: int = 0
    changed: list[tuple[int, str, str]] = field(default_factory=list)  # (referral, from, to)
    errors: list[str] = field(default_factory=list)


def poll(session: Session, ep: FhirEndpoint, client: httpx.Client, now: datetime | None = None) -> PollResult:
    """Read each open referral's Task back from the partner's server and apply its changes."""
    now = now or utcnow()
    result = PollResult(ep.id)
    sent = aliased(FhirOutbound)
    open_refs = list(session.scalars(
        select(Referral).where(
            Referral.owner_org_id == ep.organization_id, Referral.status.in_([str(s) for s in rules.OPEN]),
            exists().where(sent.referral_id == Referral.id, sent.endpoint_id == ep.id, sent.status == "sent"),
        ).order_by(Referral.id)
    ))
    headers = {"Accept": FHIR_JSON}
    if ep.bearer_token:
        headers["Authorization"] = f"Bearer {ep.bearer_token}"
    who = partner_principal(session, ep)
    for ref in open_refs:
        url = f"{ep.base_url}/Task/{remote_task_id(ref.id)}"
        try:
            response = client.get(url, headers=headers, follow_redirects=True)
        except httpx.HTTPError as exc:
            result.errors.append(f"referral {ref.id}: {type(exc).__name__}: {exc}")
            continue
        if not response.is_success:
            result.errors.append(f"referral {ref.id}: GET {url}: HTTP {response.status_code}: {_diagnostics(response)}")
            wait = retry_after(response, now) if response.status_code in (429, 503) else None
            if wait is not None:  # the partner asks us to come back later: stop this pass, poll again then
                ep.last_polled_at = now + wait
                ep.last_poll_error = "\n".join(result.errors)[:4000]
                session.flush()
                return result
            continue
        remote = _task_json(response)
        if isinstance(remote, str):
            result.errors.append(f"referral {ref.id}: GET {url}: {remote}")
            continue
        result.read += 1
        business = next((c.get("code") for c in (remote.get("businessStatus") or {}).get("coding", [])
                         if c.get("system") == rules.BUSINESS_STATUS_SYSTEM), None)
        if remote.get("status") == ref.status and (business is None or business == ref.business_status):
            continue
        before = ref.status
        try:
            with savepoint(session):  # one refused change must not undo the others
                updated = fref.update_task(session, who, fref.task_id(session, ref), _localize(remote, ep.base_url),
                                           None)
        except SocialcareError as exc:
            result.errors.append(f"referral {ref.id}: the partner's {remote.get('status')} was not applied: {exc}")
            continue
        result.changed.append((ref.id, before, updated.status))
    ep.last_polled_at = now
    ep.last_poll_error = "\n".join(result.errors)[:4000] or None
    session.flush()
    return result


# ---- the job -------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    queued: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    polled: list[PollResult] = field(default_factory=list)


def sync(client: httpx.Client, *, poll_every: timedelta = timedelta(minutes=15), now: datetime | None = None,
         on_push: Callable[[int, str], None] | None = None) -> SyncReport:
    """One pass of the Direct exchange: queue what is new, push what is due, poll partners whose
    last poll is older than ``poll_every`` (the IG: at least daily, hourly at best, not more often
    than every 15 minutes)."""
    now = now or utcnow()
    report = SyncReport()
    with unit_of_work() as session:
        report.queued = enqueue(session, now)
    tried: set[int] = set()
    while True:  # again after each round: a row sent may let the next row of its referral go
        with unit_of_work() as session:
            ids = [i for i in due(session, now) if i not in tried]
        if not ids:
            break
        for item_id in ids:
            tried.add(item_id)
            with unit_of_work() as session:
                item = session.get(FhirOutbound, item_id)
                if item is None or item.status != "pending":
                    continue
                status = push(session, item, client, now)
            report.sent += status == "sent"
            report.failed += status == "failed"
            report.retrying += status == "pending"
            if on_push:
                on_push(item_id, status)
    with unit_of_work() as session:
        due_eps = [ep.id for ep in endpoints(session) if ep.mode == "direct" and ep.base_url and (
            ep.last_polled_at is None or as_utc(ep.last_polled_at) <= now - poll_every)]
    for ep_id in due_eps:  # each partner in its own transaction: one partner's trouble stays its own
        try:
            with unit_of_work() as session:
                ep = session.get(FhirEndpoint, ep_id)
                if ep is not None:
                    report.polled.append(poll(session, ep, client, now))
        except Exception as exc:  # noqa: BLE001 - whatever one partner's server does, the others are polled
            log.exception("polling FHIR endpoint %s failed", ep_id)
            message = f"the poll failed: {type(exc).__name__}: {exc}"[:4000]
            report.polled.append(PollResult(ep_id, errors=[message]))
            with unit_of_work() as session:
                ep = session.get(FhirEndpoint, ep_id)
                if ep is not None:
                    ep.last_polled_at, ep.last_poll_error = now, message
    return report


def http_client(timeout: float = 15.0, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)


def queue_for(session: Session, principal: Principal, limit: int = 100) -> list[FhirOutbound]:
    """The pushes about referrals the principal's organization may see (the Exchange page)."""
    from socialcare.referrals.repository import referral_visibility

    if not principal.can("referrals:read"):
        raise Forbidden("Your role does not see referrals.")
    return list(session.scalars(
        select(FhirOutbound).join(Referral, Referral.id == FhirOutbound.referral_id)
        .where(referral_visibility(principal)).order_by(FhirOutbound.id.desc()).limit(limit)
    ))

