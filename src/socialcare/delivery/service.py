"""Service delivery use cases. Each takes a Session and the Principal, flushes and never commits.

Writes: the delivering organization is always the principal's own (``delivery:write``: CBO staff, hub
coordinators); the member must be visible to it (``security.sharing.member_visibility``: a sharing
referral and the member's consent), the service must be one the organization offers. Plan roles
approve or deny episode renewals (``delivery:approve``). Every write and every member read is audited.

Facts: ``settlement_facts`` turns a period's deliveries into the payments engine's facts
(``socialcare.payments.loader.Facts``): delivered services as an Arrow table summed in SQL, episodes and
renewals for bundled terms, engagements and completed pathways for outcome-based terms, and
disbursements for flex-fund terms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from socialcare.contracts import attributing
from socialcare.core.clock import today as real_today
from socialcare.core.clock import utcnow
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from socialcare.core.money import cents, to_decimal
from socialcare.delivery import repository as repo
from socialcare.delivery import rules
from socialcare.delivery.models import (
    CareEpisode,
    Engagement,
    EpisodeRenewal,
    FlexFundDisbursement,
    PathwayInstance,
    PathwayStep,
    ServiceRecord,
)
from socialcare.directory.models import Organization, Service
from socialcare.members.models import Member
from socialcare.security import access, audit
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role

ACTIVE_PHASES = ("implementation", "renewal")


# ---- helpers ---------------------------------------------------------------------------------


def _require_writer(principal: Principal) -> None:
    principal.require("delivery:write")
    if principal.is_plan:
        raise Forbidden("Services are recorded by the organization that delivers them.")


def _member_for_write(session: Session, principal: Principal, member_id: int | None, action: str) -> Member:
    if member_id is None:
        raise InvalidInput("Which member?", [Problem("which member?", field="member_id")])
    access.require(session, principal, access.Purpose.RECORD_SERVICE, member_id, action)
    m = session.get(Member, member_id)
    assert m is not None
    return m


def _referral_ok(session: Session, principal: Principal, referral_id: int | None, member_id: int) -> int | None:
    if referral_id is None:
        return None
    from socialcare.referrals.models import Referral

    ok = session.scalar(select(Referral.id).where(
        Referral.id == referral_id, Referral.member_id == member_id, Referral.owner_org_id == principal.org_id))
    if ok is None:
        raise InvalidInput("Unknown referral", [Problem(
            f"referral {referral_id} is not one your organization holds for this member", field="referral_id")])
    return referral_id


def _service_moves_referral(session: Session, principal: Principal, referral_id: int, service_date: date) -> None:
    """A service recorded against a referral is the service under way: the referral moves to in progress
    (with the steps before it it still lacks: accepted, contacted, enrolled), dated the service day."""
    from datetime import UTC, datetime, time

    from socialcare.referrals import rules as rrules
    from socialcare.referrals import service as referrals
    from socialcare.referrals.models import Referral
    from socialcare.referrals.rules import Side, Status

    ref = session.get(Referral, referral_id)
    if ref is None or ref.status not in (Status.REQUESTED, Status.ACCEPTED):
        return  # already in progress, on hold or closed: the record alone is enough
    try:
        steps = rrules.actions_toward(referrals.snapshot(ref), Status.IN_PROGRESS, None, {Side.OWNER})
    except rrules.TransitionRefused:
        return
    at = max(datetime.combine(service_date, time(12), tzinfo=UTC), ref.updated_at.replace(tzinfo=UTC)
             if ref.updated_at.tzinfo is None else ref.updated_at)
    at = min(at, utcnow())
    for action in steps:
        referrals.act(session, principal, referral_id, action, version=None,
                      channel="in_person" if action == "contacted" else None,
                      note="Recorded with a delivered service" if action == "start_service" else None, at=at)


def _who(principal: Principal) -> dict:
    return {"created_by_user_id": principal.user_id, "created_by": principal.username}


@dataclass(frozen=True)
class ContractTerms:
    contract_id: int
    contract_name: str
    terms: object  # socialcare.payments.schemas.PaymentTerms


def contract_terms(session: Session, plan_id: int, org_id: int, on: date,
                   model: str | None = None) -> list[ContractTerms]:
    """Payment terms of the plan's contracts in force on ``on`` with the organization or one of its hubs,
    from the contract version effective on that day. Terms that do not parse are skipped (the
    contracts domain refuses them when they are saved)."""
    try:
        from socialcare.contracts.models import Contract, ContractVersion
        from socialcare.payments.schemas import parse_terms
    except ImportError:  # contracts or payments not installed
        return []
    parties = [org_id, *repo.hubs_of(session, org_id, on)]
    rows = session.execute(
        select(Contract.id, Contract.name).where(
            Contract.plan_id == plan_id, Contract.counterparty_id.in_(parties), Contract.phase.in_(ACTIVE_PHASES),
            Contract.start_date <= on, Contract.end_date >= on)
        .order_by(case((Contract.counterparty_id == org_id, 0), else_=1), Contract.start_date, Contract.id)
    ).all()
    out = []
    for cid, name in rows:
        text = session.scalar(
            select(ContractVersion.payment_terms_yaml).where(ContractVersion.contract_id == cid,
                                                             ContractVersion.effective_date <= on)
            .order_by(ContractVersion.version.desc()).limit(1)) or session.scalar(
            select(ContractVersion.payment_terms_yaml).where(ContractVersion.contract_id == cid)
            .order_by(ContractVersion.version.desc()).limit(1))
        if not text or not text.strip():
            continue
        try:
            terms = parse_terms(text, f"contract {cid}")
        except (InvalidInput, ValueError):
            continue
        if model is None or any(t.model == model and t.active_on(on) for t in terms.terms):
            out.append(ContractTerms(cid, name, terms))
    return out


# ---- service records -------------------------------------------------------------------------


def record_service(session: Session, principal: Principal, data: rules.ServiceRecordInput,
                   *, today: date | None = None) -> ServiceRecord:
    """Record one delivered service; InvalidInput lists every bad field and nothing is written."""
    _require_writer(principal)
    today = today or real_today()
    svc = session.get(Service, data.service_id) if data.service_id else None
    offered = svc.service_code if svc is not None else None
    checked, problems = rules.validate_service_record(data, today=today, offered_code=offered)
    if svc is not None and svc.organization_id != principal.org_id:
        problems.append(Problem("this service is not one your organization offers", field="service_id"))
    elif data.service_id is not None and svc is None:
        problems.append(Problem(f"no service {data.service_id}", field="service_id"))
    if problems:
        raise InvalidInput("The service record was refused; nothing was saved.", problems)
    member = _member_for_write(session, principal, data.member_id, "delivery.service.record")
    referral_id = _referral_ok(session, principal, data.referral_id, member.id)
    staff_id, staff_name = _staff(session, principal, data.staff_user_id)
    code = checked.code.text if checked.code else None
    # one line per (member, referral, day, code): a retried or doubled request records it once. The
    # member's row lock serializes concurrent recordings for the member on PostgreSQL.
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    same = session.scalar(select(ServiceRecord.id).where(
        ServiceRecord.member_id == member.id, ServiceRecord.organization_id == principal.org_id,
        ServiceRecord.referral_id.is_(None) if referral_id is None else ServiceRecord.referral_id == referral_id,
        ServiceRecord.service_date == data.service_date, ServiceRecord.service_code.is_(None) if code is None
        else ServiceRecord.service_code == code, ServiceRecord.status == "recorded").limit(1))
    if same is not None:
        raise Conflict(f"This service ({code or 'no code'} on {data.service_date}) is already recorded for this "
                       f"member as record #{same}; change its units, or mark it entered in error.")
    rec = ServiceRecord(
        plan_id=member.plan_id, member_id=member.id, organization_id=principal.org_id, referral_id=referral_id,
        service_id=svc.id, need_domain=svc.need_domain,
        service_code=checked.code.text if checked.code else None,
        hcpcs=checked.code.hcpcs if checked.code else None,
        modifiers=checked.code.modifier_text if checked.code else None,
        service_date=data.service_date, units=data.units, place_of_service=checked.place_of_service,
        diagnosis_code=checked.diagnosis_code, staff_user_id=staff_id, staff_name=staff_name,
        rendering_npi=(data.rendering_npi or "").strip() or None, note=(data.note or "").strip() or None,
        **_who(principal),
    )
    session.add(rec)
    session.flush()
    attributing.attribute_one(session, "service_record", rec, contract_id=data.contract_id)
    if referral_id is not None:
        _service_moves_referral(session, principal, referral_id, data.service_date)
    audit.record(session, principal, "delivery.service.record", object_type="service_record", object_id=rec.id,
                 member_id=member.id, detail={"code": rec.service_code, "units": rec.units,
                                              "date": rec.service_date.isoformat()})
    return rec


def _staff(session: Session, principal: Principal, staff_user_id: int | None) -> tuple[int | None, str | None]:
    from socialcare.security.models import User

    if staff_user_id is None or staff_user_id == principal.user_id:
        return principal.user_id, principal.username
    u = session.get(User, staff_user_id)
    if u is None or u.organization_id != principal.org_id:
        raise InvalidInput("Unknown staff member", [Problem("staff must be a user of your organization",
                                                            field="staff_user_id")])
    return u.id, u.username


def record_services_bulk(session: Session, principal: Principal, rows: list[rules.ServiceRecordInput], *,
                         file: str = "service records", today: date | None = None, first_row: int = 2,
                         row_numbers: list[int] | None = None) -> int:
    """Many records at once (a file import): every row checked first, in a few set queries; all rows
    are written in one INSERT, or none when any row is wrong (problems name the file, row and field)."""
    values, problems = check_services_bulk(session, principal, rows, file=file, today=today, first_row=first_row,
                                           row_numbers=row_numbers)
    if problems:
        raise InvalidInput(f"{file}: {len(problems):,} problem(s); nothing was saved.", problems)
    if values:
        attributing.annotate(session, "service_record", values, source=file)
        session.execute(insert(ServiceRecord), values)
        audit.record(session, principal, "delivery.service.import", object_type="service_record",
                     detail={"file": file, "rows": len(values)})
    return len(values)


def check_services_bulk(session: Session, principal: Principal, rows: list[rules.ServiceRecordInput], *,
                        file: str = "service records", today: date | None = None, first_row: int = 2,
                        row_numbers: list[int] | None = None) -> tuple[list[dict], list[Problem]]:
    """What ``record_services_bulk`` would insert, and every problem, without writing anything (a file
    importer checks the whole file before it writes). ``row_numbers``: each row's number in the
    caller's file (default: consecutive from ``first_row``)."""
    _require_writer(principal)
    today = today or real_today()
    numbers = row_numbers if row_numbers is not None else [first_row + n for n in range(len(rows))]
    svc_ids = {r.service_id for r in rows if r.service_id is not None}
    services = {s.id: s for s in session.scalars(select(Service).where(Service.id.in_(svc_ids)))} if svc_ids else {}
    member_ids = {r.member_id for r in rows if r.member_id is not None}
    visible: dict[int, int] = {}
    if member_ids:
        from socialcare.security.sharing import member_visibility

        ids = sorted(member_ids)
        for i in range(0, len(ids), 5000):
            visible.update(session.execute(select(Member.id, Member.plan_id).where(
                Member.id.in_(ids[i:i + 5000]), member_visibility(principal))).tuples().all())
    ref_ids = {r.referral_id for r in rows if r.referral_id is not None}
    own_refs: dict[int, int] = {}
    if ref_ids:
        from socialcare.referrals.models import Referral

        own_refs = dict(session.execute(select(Referral.id, Referral.member_id).where(
            Referral.id.in_(ref_ids), Referral.owner_org_id == principal.org_id)).tuples().all())
    problems: list[Problem] = []
    values = []
    for row, r in zip(numbers, rows, strict=True):
        svc = services.get(r.service_id) if r.service_id is not None else None
        checked, ps = rules.validate_service_record(r, today=today, offered_code=svc.service_code if svc else None,
                                                    row=row, file=file)
        problems += ps
        if r.service_id is not None and (svc is None or svc.organization_id != principal.org_id):
            problems.append(Problem("not a service your organization offers", field="service_id", row=row, file=file))
            continue
        if r.member_id is not None and r.member_id not in visible:
            problems.append(Problem("this member is not shared with your organization", field="member_id", row=row,
                                    file=file))
            continue
        if r.referral_id is not None and own_refs.get(r.referral_id) != r.member_id:
            problems.append(Problem(f"referral {r.referral_id} is not one your organization holds for this member",
                                    field="referral_id", row=row, file=file))
            continue
        if ps:
            continue
        values.append(dict(
            plan_id=visible[r.member_id], member_id=r.member_id, organization_id=principal.org_id,
            referral_id=r.referral_id, service_id=svc.id, need_domain=svc.need_domain,
            service_code=checked.code.text if checked.code else None, hcpcs=checked.code.hcpcs if checked.code else None,
            modifiers=checked.code.modifier_text if checked.code else None, service_date=r.service_date,
            units=r.units, place_of_service=checked.place_of_service, diagnosis_code=checked.diagnosis_code,
            staff_user_id=principal.user_id, staff_name=principal.username,
            rendering_npi=(r.rendering_npi or "").strip() or None, note=r.note, status="recorded",
            **_who(principal)))
    return values, problems


def void_service(session: Session, principal: Principal, record_id: int, reason: str) -> ServiceRecord:
    """Mark a record entered in error (kept for the audit trail, left out of settlement)."""
    _require_writer(principal)
    rec = repo.get_service_record(session, principal, record_id)
    if rec.organization_id != principal.org_id:
        raise Forbidden("Only the organization that recorded a service can mark it entered in error.")
    if not (reason or "").strip():
        raise InvalidInput("Say why", [Problem("a reason is required", field="reason")])
    n = session.execute(update(ServiceRecord).where(ServiceRecord.id == rec.id, ServiceRecord.status == "recorded")
                        .values(status="entered-in-error", void_reason=reason.strip(), voided_at=utcnow(),
                                voided_by=principal.username)).rowcount
    if not n:
        raise Conflict("This record was already marked entered in error.")
    audit.record(session, principal, "delivery.service.void", object_type="service_record", object_id=rec.id,
                 member_id=rec.member_id, reason=reason.strip())
    session.refresh(rec)
    return rec


def list_services(session: Session, principal: Principal, f: repo.Filters, page: int = 1, page_size: int = 50):
    principal.require("delivery:read")
    result = repo.service_records(session, principal, f, page, page_size)
    audit.record_member_reads(session, principal, {row[1].id for row in result.items}, "delivery.service.list")
    return result


# ---- care episodes ---------------------------------------------------------------------------


@dataclass
class EpisodeInput:
    member_id: int | None
    start_date: date | None
    program: str = "Community care management"
    service_id: int | None = None
    referral_id: int | None = None
    period_days: int | None = None  # default: the contract's bundled term, else 90
    max_renewals: int | None = None


def _bundled_term(session: Session, plan_id: int, org_id: int, on: date, billing_code: str | None):
    for ct in contract_terms(session, plan_id, org_id, on, "bundled"):
        for t in ct.terms.terms:
            if t.model == "bundled" and t.active_on(on) and (billing_code is None or t.billing_code == billing_code):
                return ct, t
    return None, None


def open_episode(session: Session, principal: Principal, data: EpisodeInput, *, today: date | None = None
                 ) -> CareEpisode:
    """Open a case-rate episode: its period is the contract's maximum (bundled term ``episode_days``;
    90 days, the MARC case rate's three months, when no contract says)."""
    _require_writer(principal)
    today = today or real_today()
    problems: list[Problem] = []
    if data.start_date is None:
        problems.append(Problem("the start date is required", field="start_date"))
    elif data.start_date > today + timedelta(days=30):
        problems.append(Problem("an episode can be opened at most 30 days ahead", field="start_date"))
    if not (data.program or "").strip():
        problems.append(Problem("name the program", field="program"))
    if data.period_days is not None and not 1 <= data.period_days <= 366:
        problems.append(Problem("a period is 1 to 366 days", field="period_days"))
    if data.max_renewals is not None and data.max_renewals < 0:
        problems.append(Problem("must not be negative", field="max_renewals"))
    svc = session.get(Service, data.service_id) if data.service_id else None
    if data.service_id and (svc is None or svc.organization_id != principal.org_id):
        problems.append(Problem("not a service your organization offers", field="service_id"))
    if problems:
        raise InvalidInput("The episode was refused; nothing was saved.", problems)
    member = _member_for_write(session, principal, data.member_id, "delivery.episode.open")
    referral_id = _referral_ok(session, principal, data.referral_id, member.id)
    code = None
    if svc is not None and svc.service_code:
        code = rules.parse_service_code(svc.service_code).hcpcs
    ct, term = _bundled_term(session, member.plan_id, principal.org_id, data.start_date, code)
    if term is None and code is not None:
        ct, term = _bundled_term(session, member.plan_id, principal.org_id, data.start_date, None)
    period_days = data.period_days or (term.episode_days if term else rules.DEFAULT_PERIOD_DAYS)
    max_renewals = data.max_renewals if data.max_renewals is not None else (term.max_renewals if term else None)
    billing_code = term.billing_code if term else code
    prev_end = repo.latest_episode_end(session, member.id, principal.org_id, billing_code, data.program.strip())
    if prev_end is not None and data.start_date <= prev_end:
        raise Conflict(f"This member's previous episode is paid through {prev_end}; a new episode can start on "
                       f"{prev_end + timedelta(days=1)} or later (or renew the current one).")
    e = CareEpisode(
        plan_id=member.plan_id, member_id=member.id, organization_id=principal.org_id, referral_id=referral_id,
        service_id=svc.id if svc else None, program=data.program.strip(), billing_code=billing_code,
        start_date=data.start_date, period_days=period_days, max_renewals=max_renewals,
        planned_end=rules.planned_end(data.start_date, period_days, 0), status=rules.EpisodeStatus.ACTIVE,
        **_who(principal))
    session.add(e)
    session.flush()
    attributing.attribute_one(session, "episode", e)
    audit.record(session, principal, "delivery.episode.open", object_type="care_episode", object_id=e.id,
                 member_id=member.id, detail={"start": e.start_date.isoformat(), "period_days": period_days,
                                              "contract_id": ct.contract_id if ct else None})
    return e


def _states(e: CareEpisode) -> list[rules.RenewalState]:
    return [rules.RenewalState(r.sequence, r.period_start, r.period_end, r.status) for r in e.renewals]


def request_renewal(session: Session, principal: Principal, episode_id: int, reason: str, *,
                    on: date | None = None) -> EpisodeRenewal:
    _require_writer(principal)
    on = on or real_today()
    e = repo.get_episode(session, principal, episode_id, for_update=True)
    if e.organization_id != principal.org_id:
        raise Forbidden("Only the organization running the episode can ask to renew it.")
    if not (reason or "").strip():
        raise InvalidInput("Say why", [Problem("why the member needs another period", field="reason")])
    why = rules.renewal_refusal(e.status, e.period_days, e.start_date, _states(e), e.max_renewals, on)
    if why:
        raise Conflict(f"The renewal cannot be requested: {why}.")
    begin, end = rules.next_renewal_period(e.start_date, e.period_days, _states(e))
    r = EpisodeRenewal(episode_id=e.id, sequence=len(e.renewals) + 1, period_start=begin, period_end=end,
                       status=rules.RenewalStatus.REQUESTED, reason=reason.strip(), requested_at=utcnow(),
                       requested_by=principal.username, requested_by_user_id=principal.user_id)
    session.add(r)
    session.flush()
    audit.record(session, principal, "delivery.episode.renewal_request", object_type="care_episode",
                 object_id=e.id, member_id=e.member_id, detail={"sequence": r.sequence, "start": begin.isoformat()})
    session.refresh(e)
    return r


def decide_renewal(session: Session, principal: Principal, episode_id: int, renewal_id: int, approve: bool,
                   note: str = "") -> EpisodeRenewal:
    """The plan approves or denies a renewal. Only an approved period is paid; approval moves the
    episode's planned end to the end of that period. Compare-and-set: two reviewers cannot both decide."""
    principal.require("delivery:approve")
    if not (principal.is_plan and is_plan_role(principal.role)):
        raise Forbidden("Renewals are approved by the member's health plan.")
    e = repo.get_episode(session, principal, episode_id, for_update=True)
    r = next((x for x in e.renewals if x.id == renewal_id), None)
    if r is None:
        raise NotFound(f"Episode {episode_id} has no renewal {renewal_id}.")
    why = rules.decision_refusal(r.status, e.status)
    if why:
        raise Conflict(f"No decision recorded: {why}.")
    if not approve and not (note or "").strip():
        raise InvalidInput("Say why", [Problem("a denial needs a reason the organization can act on",
                                               field="note")])
    status = rules.RenewalStatus.APPROVED if approve else rules.RenewalStatus.DENIED
    n = session.execute(update(EpisodeRenewal).where(EpisodeRenewal.id == r.id,
                                                     EpisodeRenewal.status == rules.RenewalStatus.REQUESTED)
                        .values(status=status, decided_at=utcnow(), decided_by=principal.username,
                                decided_by_user_id=principal.user_id, decision_note=(note or "").strip() or None)
                        ).rowcount
    if not n:
        raise Conflict("Someone else decided this renewal first; reload the episode.")
    if approve:
        session.execute(update(CareEpisode).where(CareEpisode.id == e.id).values(planned_end=r.period_end))
    audit.record(session, principal, f"delivery.episode.renewal_{status}", object_type="care_episode",
                 object_id=e.id, member_id=e.member_id, detail={"sequence": r.sequence})
    session.expire_all()
    return session.get(EpisodeRenewal, r.id)


def close_episode(session: Session, principal: Principal, episode_id: int, actual_end: date | None, reason: str,
                  *, today: date | None = None) -> CareEpisode:
    _require_writer(principal)
    today = today or real_today()
    e = repo.get_episode(session, principal, episode_id, for_update=True)
    if e.organization_id != principal.org_id:
        raise Forbidden("Only the organization running the episode can close it.")
    if e.status != rules.EpisodeStatus.ACTIVE:
        raise Conflict("The episode is already closed.")
    problems = []
    if actual_end is None:
        problems.append(Problem("the end date is required", field="actual_end"))
    elif actual_end > today:
        problems.append(Problem("an episode is closed on or after its last day, not ahead", field="actual_end"))
    elif actual_end < e.start_date:
        problems.append(Problem(f"the episode started on {e.start_date}", field="actual_end"))
    elif actual_end > e.planned_end:
        problems.append(Problem(f"the episode's approved periods end on {e.planned_end}", field="actual_end"))
    if problems:
        raise InvalidInput("The episode was not closed.", problems)
    pending = [r for r in e.renewals if r.status == rules.RenewalStatus.REQUESTED]
    status = rules.close_status(e.start_date, e.planned_end, actual_end)
    e.status, e.actual_end, e.close_reason, e.closed_by = status, actual_end, (reason or "").strip() or None, \
        principal.username
    for r in pending:  # a closed episode's pending request has nothing left to decide
        r.status, r.decided_at, r.decision_note = rules.RenewalStatus.DENIED, utcnow(), "episode closed"
    session.flush()
    audit.record(session, principal, "delivery.episode.close", object_type="care_episode", object_id=e.id,
                 member_id=e.member_id, detail={"status": status.value, "end": actual_end.isoformat()})
    return e


def get_episode(session: Session, principal: Principal, episode_id: int) -> CareEpisode:
    principal.require("delivery:read")
    e = repo.get_episode(session, principal, episode_id)
    audit.record(session, principal, "delivery.episode.read", object_type="care_episode", object_id=e.id,
                 member_id=e.member_id)
    return e


def list_episodes(session: Session, principal: Principal, f: repo.Filters, page: int = 1, page_size: int = 50):
    principal.require("delivery:read")
    result = repo.episodes(session, principal, f, page, page_size)
    audit.record_member_reads(session, principal, {row[1].id for row in result.items}, "delivery.episode.list")
    return result


# ---- pathways --------------------------------------------------------------------------------


def catalog() -> rules.PathwayCatalog:
    return rules.pathway_catalog()


def _done(p: PathwayInstance) -> dict[str, date]:
    return {s.step_code: s.completed_on for s in p.steps}


def open_pathway(session: Session, principal: Principal, member_id: int | None, pathway_code: str,
                 opened_on: date | None, *, referral_id: int | None = None, note: str | None = None,
                 today: date | None = None) -> PathwayInstance:
    """Open a pathway for a member; opening records its first step (the risk factor identified)."""
    _require_writer(principal)
    today = today or real_today()
    p = catalog().get(pathway_code)
    if opened_on is None or opened_on > today:
        raise InvalidInput("The pathway was refused", [Problem("the date the risk factor was identified, "
                                                               "today or earlier", field="opened_on")])
    member = _member_for_write(session, principal, member_id, "delivery.pathway.open")
    referral_id = _referral_ok(session, principal, referral_id, member.id)
    if repo.open_pathway_exists(session, member.id, principal.org_id, p.code):
        raise Conflict(f"This member already has an open {p.name} pathway with your organization.")
    inst = PathwayInstance(plan_id=member.plan_id, member_id=member.id, organization_id=principal.org_id,
                           referral_id=referral_id, pathway_code=p.code, opened_on=opened_on,
                           status=rules.PathwayStatus.OPEN, **_who(principal))
    session.add(inst)
    session.flush()
    attributing.attribute_one(session, "pathway", inst)
    session.add(PathwayStep(instance_id=inst.id, step_code=p.steps[0].code, completed_on=opened_on,
                            note=(note or "").strip() or None, recorded_by=principal.username,
                            recorded_by_user_id=principal.user_id))
    session.flush()
    audit.record(session, principal, "delivery.pathway.open", object_type="pathway_instance", object_id=inst.id,
                 member_id=member.id, detail={"pathway": p.code})
    session.refresh(inst)
    return inst


def _writable_pathway(session: Session, principal: Principal, instance_id: int) -> PathwayInstance:
    _require_writer(principal)
    inst = repo.get_pathway(session, principal, instance_id)
    if inst.organization_id != principal.org_id:
        raise Forbidden("Only the organization working the pathway records its steps.")
    return inst


def record_step(session: Session, principal: Principal, instance_id: int, step_code: str, on: date | None,
                note: str | None = None, *, today: date | None = None) -> PathwayInstance:
    today = today or real_today()
    inst = _writable_pathway(session, principal, instance_id)
    p = catalog().get(inst.pathway_code)
    if step_code == p.steps[-1].code:
        raise InvalidInput("Confirm completion instead", [Problem(
            "the outcome is recorded by confirming the pathway's completion", field="step_code")])
    on = on or today
    why = rules.step_refusal(p, _done(inst), step_code, on, inst.status, today)
    if why:
        raise InvalidInput("The step was not recorded.", [Problem(why, field="step_code")])
    session.add(PathwayStep(instance_id=inst.id, step_code=step_code, completed_on=on,
                            note=(note or "").strip() or None, recorded_by=principal.username,
                            recorded_by_user_id=principal.user_id))
    session.flush()
    audit.record(session, principal, "delivery.pathway.step", object_type="pathway_instance", object_id=inst.id,
                 member_id=inst.member_id, detail={"step": step_code, "on": on.isoformat()})
    session.refresh(inst)
    return inst


def may_confirm(session: Session, principal: Principal, inst: PathwayInstance) -> bool:
    """Completion is confirmed by the HUB (for itself or its network agencies, PCHI model); a CBO outside
    any hub network confirms its own pathways."""
    if not principal.can("delivery:write") or principal.is_plan:
        return False
    on = real_today()
    if principal.is_hub:
        return inst.organization_id == principal.org_id or inst.organization_id in set(
            session.scalars(repo.network_cbo_ids(principal.org_id, None)))
    return inst.organization_id == principal.org_id and not repo.hubs_of(session, principal.org_id, on)


def confirm_completion(session: Session, principal: Principal, instance_id: int, on: date | None,
                       note: str | None = None, *, today: date | None = None) -> PathwayInstance:
    """The outcome (benchmark 3) confirmed: the pathway is complete and counts for payment on ``on``."""
    principal.require("delivery:write")
    today = today or real_today()
    inst = repo.get_pathway(session, principal, instance_id)
    if not may_confirm(session, principal, inst):
        raise Forbidden("Completion is confirmed by the hub (or by the CBO when it is not in a hub network).")
    p = catalog().get(inst.pathway_code)
    on = on or today
    why = rules.completion_refusal(p, _done(inst), inst.status, on, today)
    if why:
        raise InvalidInput("Completion was not confirmed.", [Problem(why, field="confirmed_on")])
    n = session.execute(update(PathwayInstance).where(PathwayInstance.id == inst.id,
                                                      PathwayInstance.status == rules.PathwayStatus.OPEN)
                        .values(status=rules.PathwayStatus.COMPLETED, confirmed_on=on, confirmed_at=utcnow(),
                                confirmed_by=principal.username, confirmed_by_user_id=principal.user_id,
                                closed_on=on, outcome_note=(note or "").strip() or None)).rowcount
    if not n:
        raise Conflict("The pathway was closed meanwhile; reload it.")
    session.add(PathwayStep(instance_id=inst.id, step_code=p.steps[-1].code, completed_on=on,
                            note=(note or "").strip() or None, recorded_by=principal.username,
                            recorded_by_user_id=principal.user_id))
    session.flush()
    audit.record(session, principal, "delivery.pathway.complete", object_type="pathway_instance",
                 object_id=inst.id, member_id=inst.member_id, detail={"on": on.isoformat()})
    session.expire_all()
    return repo.get_pathway(session, principal, instance_id)


def finish_incomplete(session: Session, principal: Principal, instance_id: int, on: date | None, reason: str,
                      *, today: date | None = None) -> PathwayInstance:
    """Close a pathway whose outcome was not reached (member moved, declined...): not paid."""
    today = today or real_today()
    inst = _writable_pathway(session, principal, instance_id)
    if inst.status != rules.PathwayStatus.OPEN:
        raise Conflict("The pathway is already closed.")
    on = on or today
    problems = []
    if not (reason or "").strip():
        problems.append(Problem("say why the outcome was not reached", field="reason"))
    if on > today or on < inst.opened_on:
        problems.append(Problem(f"between {inst.opened_on} and today", field="closed_on"))
    if problems:
        raise InvalidInput("The pathway was not closed.", problems)
    inst.status, inst.closed_on, inst.outcome_note = rules.PathwayStatus.FINISHED_INCOMPLETE, on, reason.strip()
    session.flush()
    audit.record(session, principal, "delivery.pathway.finish_incomplete", object_type="pathway_instance",
                 object_id=inst.id, member_id=inst.member_id, reason=reason.strip())
    return inst


def get_pathway(session: Session, principal: Principal, instance_id: int) -> PathwayInstance:
    principal.require("delivery:read")
    inst = repo.get_pathway(session, principal, instance_id)
    audit.record(session, principal, "delivery.pathway.read", object_type="pathway_instance", object_id=inst.id,
                 member_id=inst.member_id)
    return inst


def list_pathways(session: Session, principal: Principal, f: repo.Filters, page: int = 1, page_size: int = 50,
                  pathway_code: str | None = None):
    principal.require("delivery:read")
    result = repo.pathways(session, principal, f, page, page_size, pathway_code)
    audit.record_member_reads(session, principal, {row[1].id for row in result.items}, "delivery.pathway.list")
    return result


# ---- engagements -----------------------------------------------------------------------------


def record_engagement(session: Session, principal: Principal, member_id: int | None, engaged_on: date | None,
                      kind: str = "home_visit", note: str | None = None, *, today: date | None = None) -> Engagement:
    """A confirmed engagement (home visit): one per member per organization per day."""
    _require_writer(principal)
    today = today or real_today()
    problems = []
    if engaged_on is None or engaged_on > today:
        problems.append(Problem("the visit date, today or earlier", field="engaged_on"))
    if kind not in rules.ENGAGEMENT_KINDS:
        problems.append(Problem(f"one of {', '.join(rules.ENGAGEMENT_KINDS)}", field="kind"))
    if problems:
        raise InvalidInput("The engagement was refused; nothing was saved.", problems)
    member = _member_for_write(session, principal, member_id, "delivery.engagement.record")
    dup = session.scalar(select(func.count()).where(Engagement.member_id == member.id,
                                                   Engagement.organization_id == principal.org_id,
                                                   Engagement.engaged_on == engaged_on))
    if dup:
        raise Conflict(f"An engagement with this member on {engaged_on} is already recorded.")
    e = Engagement(plan_id=member.plan_id, member_id=member.id, organization_id=principal.org_id,
                   engaged_on=engaged_on, kind=kind, staff_name=principal.username, staff_user_id=principal.user_id,
                   note=(note or "").strip() or None, **_who(principal))
    session.add(e)
    session.flush()
    attributing.attribute_one(session, "engagement", e)
    audit.record(session, principal, "delivery.engagement.record", object_type="engagement", object_id=e.id,
                 member_id=member.id)
    return e


def list_engagements(session: Session, principal: Principal, f: repo.Filters, page: int = 1, page_size: int = 50):
    principal.require("delivery:read")
    result = repo.engagements(session, principal, f, page, page_size)
    audit.record_member_reads(session, principal, {row[1].id for row in result.items}, "delivery.engagement.list")
    return result


# ---- flexible member fund --------------------------------------------------------------------


@dataclass
class DisbursementInput:
    member_id: int | None
    category: str | None
    amount: Decimal | str | None
    disbursed_on: date | None
    purpose: str = ""
    payee: str | None = None


def flex_term_for(session: Session, plan_id: int, org_id: int, on: date):
    """(ContractTerms, FlexFunds term) the organization disburses under on ``on``, or (None, None)."""
    for ct in contract_terms(session, plan_id, org_id, on, "flex_funds"):
        for t in ct.terms.terms:
            if t.model == "flex_funds" and t.active_on(on):
                return ct, t
    return None, None


def record_disbursement(session: Session, principal: Principal, data: DisbursementInput, *,
                        today: date | None = None) -> FlexFundDisbursement:
    """Record a disbursement from the plan's flexible member fund. The contract's flex_funds term sets
    the categories, the per-member allowance and the program budget; the payments engine's own rule
    (``socialcare.payments.rules.flex_decision``) decides, so what is recorded is what will be paid."""
    _require_writer(principal)
    today = today or real_today()
    amount = None
    problems: list[Problem] = []
    try:
        amount = to_decimal(data.amount) if data.amount not in (None, "") else None
    except (TypeError, ValueError):
        problems.append(Problem(f"'{data.amount}' is not an amount", field="amount"))
    member = _member_for_write(session, principal, data.member_id, "delivery.flex.record")
    ct = term = None
    if data.disbursed_on is not None:
        ct, term = flex_term_for(session, member.plan_id, principal.org_id, data.disbursed_on)
    problems += rules.validate_disbursement(amount, data.category, data.disbursed_on, today,
                                            list(term.categories) if term else None)
    if term is None and not problems:
        problems.append(Problem("no contract in force on this date gives your organization a flexible member fund "
                                "for this member's plan", field="disbursed_on"))
    if problems:
        raise InvalidInput("The disbursement was refused; nothing was saved.", problems)
    from socialcare.payments.rules import flex_decision

    member_used, program_used = repo.disbursed_totals(session, ct.contract_id, term.id, member.id,
                                                      term.effective_from, term.effective_to)
    why = flex_decision(term, member_used, program_used, cents(amount))
    if why:
        audit.record_denied(session, principal, "delivery.flex.record", object_type="member", object_id=member.id,
                            member_id=member.id, reason=why)
        raise InvalidInput("The disbursement was refused; nothing was saved.", [Problem(
            f"{why}: {member_used} used of {term.per_member_limit} for this member, {program_used} of "
            f"{term.program_budget} for the program", field="amount")])
    d = FlexFundDisbursement(plan_id=member.plan_id, member_id=member.id, organization_id=principal.org_id,
                             contract_id=ct.contract_id, term_id=term.id, category=data.category,
                             amount=cents(amount), disbursed_on=data.disbursed_on,
                             payee=(data.payee or "").strip() or None, purpose=(data.purpose or "").strip(),
                             approved_by=principal.username, approved_by_user_id=principal.user_id,
                             **_who(principal))
    session.add(d)
    session.flush()
    attributing.attribute_one(session, "disbursement", d, contract_id=ct.contract_id, source="its flexible fund term")
    audit.record(session, principal, "delivery.flex.record", object_type="flex_fund_disbursement", object_id=d.id,
                 member_id=member.id, detail={"amount": str(d.amount), "category": d.category,
                                              "contract_id": ct.contract_id, "term": term.id})
    return d


def list_disbursements(session: Session, principal: Principal, f: repo.Filters, page: int = 1,
                       page_size: int = 50):
    principal.require("delivery:read")
    result = repo.disbursements(session, principal, f, page, page_size)
    audit.record_member_reads(session, principal, {row[1].id for row in result.items}, "delivery.flex.list")
    return result


# ---- a member's delivery (profile panel) -----------------------------------------------------


@dataclass
class MemberDelivery:
    services: list = field(default_factory=list)
    episodes: list = field(default_factory=list)
    pathways: list = field(default_factory=list)
    engagements: int = 0
    disbursed: Decimal = Decimal("0.00")


def member_delivery(session: Session, principal: Principal, member_id: int, limit: int = 10) -> MemberDelivery:
    """What the principal may see of one member's delivery (the member profile's panel)."""
    if not principal.can("delivery:read"):
        return MemberDelivery()
    f = repo.Filters(member_id=member_id)
    out = MemberDelivery()
    out.services = repo.service_records(session, principal, f, 1, limit).items
    out.episodes = repo.episodes(session, principal, f, 1, limit).items
    out.pathways = repo.pathways(session, principal, f, 1, limit).items
    out.engagements = session.scalar(select(func.count()).select_from(Engagement).where(
        Engagement.member_id == member_id, repo.visibility(principal, Engagement))) or 0
    out.disbursed = cents(str(session.scalar(select(func.coalesce(func.sum(FlexFundDisbursement.amount), 0)).where(
        FlexFundDisbursement.member_id == member_id, repo.visibility(principal, FlexFundDisbursement))) or 0))
    return out


# ---- summaries -------------------------------------------------------------------------------


def summary(session: Session, principal: Principal, start: date, end: date) -> dict:
    """Counts for the delivery overview (all SQL aggregates, scoped)."""
    principal.require("delivery:read")

    def count(model, col, *extra):
        return session.scalar(select(func.count()).select_from(model).where(
            repo.visibility(principal, model), col >= start, col <= end, *extra)) or 0

    units = session.scalar(select(func.coalesce(func.sum(ServiceRecord.units), 0)).where(
        repo.visibility(principal, ServiceRecord), ServiceRecord.service_date >= start,
        ServiceRecord.service_date <= end, ServiceRecord.status == "recorded")) or 0
    pending = session.scalar(select(func.count()).select_from(EpisodeRenewal).join(CareEpisode).where(
        repo.visibility(principal, CareEpisode), EpisodeRenewal.status == "requested")) or 0
    disbursed = session.scalar(select(func.coalesce(func.sum(FlexFundDisbursement.amount), 0)).where(
        repo.visibility(principal, FlexFundDisbursement), FlexFundDisbursement.disbursed_on >= start,
        FlexFundDisbursement.disbursed_on <= end)) or 0
    active = session.scalar(select(func.count()).select_from(CareEpisode).where(
        repo.visibility(principal, CareEpisode), CareEpisode.status == "active")) or 0
    open_pw = session.scalar(select(func.count()).select_from(PathwayInstance).where(
        repo.visibility(principal, PathwayInstance), PathwayInstance.status == "open")) or 0
    return {
        "services": count(ServiceRecord, ServiceRecord.service_date, ServiceRecord.status == "recorded"),
        "units": int(units),
        "episodes_opened": count(CareEpisode, CareEpisode.start_date),
        "episodes_active": active,
        "renewals_pending": pending,
        "pathways_completed": count(PathwayInstance, PathwayInstance.confirmed_on,
                                    PathwayInstance.status == "completed"),
        "pathways_open": open_pw,
        "engagements": count(Engagement, Engagement.engaged_on),
        "disbursed": cents(str(disbursed)),
    }


# ---- facts for settlement --------------------------------------------------------------------


@dataclass
class FactsResult:
    """The payments engine's Facts plus what was left out and why (shown next to the statement)."""

    facts: object  # socialcare.payments.loader.Facts
    notes: list[str] = field(default_factory=list)
    organizations: list[int] = field(default_factory=list)
    # distinct members the contract served in the period: its attributed records (measures.engine.members_served),
    # the number the scorecard, the renewal review and the JOC meeting show
    member_count: int | None = None


def _period(period) -> tuple[date, date, str]:
    if isinstance(period, tuple):
        return period[0], period[1], f"{period[0]}..{period[1]}"
    from socialcare.payments.rules import Period

    p = Period.parse(period) if isinstance(period, str) else period
    return p.start, p.end, p.label or f"{p.start}..{p.end}"


def delivering_orgs(session: Session, counterparty_id: int, start: date, end: date) -> list[int]:
    """The counterparty, and for a hub every CBO in its network at any time in the period."""
    from socialcare.directory.models import HubNetworkMembership

    org = session.get(Organization, counterparty_id)
    if org is None:
        raise NotFound(f"No organization {counterparty_id}.")
    ids = [org.id]
    if org.kind == "community_care_hub":
        ids += list(session.scalars(select(HubNetworkMembership.cbo_id).where(
            HubNetworkMembership.hub_id == org.id, HubNetworkMembership.start_date <= end,
            or_(HubNetworkMembership.end_date.is_(None), HubNetworkMembership.end_date >= start))))
    return sorted(set(ids))


def _require_facts_scope(principal: Principal, plan_id: int, counterparty_id: int) -> None:
    if principal.is_plan and is_plan_role(principal.role) and principal.org_id == plan_id:
        return
    if principal.org_id == counterparty_id and (principal.can("payments:settle") or principal.can("delivery:read")):
        return
    raise Forbidden("Settlement facts are read by the plan or by the contract's counterparty.")


def settlement_facts(session: Session, principal: Principal, *, plan_id: int, counterparty_id: int, terms,
                     period) -> FactsResult:
    """A period's facts for one contract's terms, in the payments engine's format (``Facts``).

    - services: rows of (member_id, service_code, modifiers, service_date, units, place_of_service,
      diagnosis) summed in SQL per member, code, day and setting, for codes the terms know; member_id is
      the plan's member id (what an invoice or claim names);
    - episodes: each episode and each decided renewal (approved or denied) for the bundled terms, for
      members with an episode period starting in the period (with their earlier periods, so the engine
      can count renewals and check overlaps); pending renewals are left out until the plan decides;
    - engagements and pathway_completions (confirmed in the period) for outcome-based terms, pathways
      matched to the terms' names; pathways the terms do not pay are left out and noted;
    - disbursements under the contract's flex_funds term from its start to the period end (the engine
      replays the allowance and budget over them).
    """
    import pyarrow as pa

    from socialcare.payments.loader import Disbursement, Episode, Facts, MemberInfo, OtherFacts

    _require_facts_scope(principal, plan_id, counterparty_id)
    start, end, label = _period(period)
    orgs = delivering_orgs(session, counterparty_id, start, end)
    notes: list[str] = []
    in_scope = [ServiceRecord.plan_id == plan_id, ServiceRecord.organization_id.in_(orgs)]

    # delivered services: one SQL GROUP BY; codes the terms know (base code, or the code with modifiers)
    known = sorted(terms.known_codes())
    code_col = case((ServiceRecord.service_code.in_(known), ServiceRecord.service_code), else_=ServiceRecord.hcpcs)
    base = and_(*in_scope, ServiceRecord.status == "recorded", ServiceRecord.service_date >= start,
                ServiceRecord.service_date <= end)
    rows = session.execute(
        select(Member.plan_member_id, code_col, func.coalesce(ServiceRecord.modifiers, ""), ServiceRecord.service_date,
               func.sum(ServiceRecord.units), ServiceRecord.place_of_service,
               func.coalesce(ServiceRecord.diagnosis_code, ""))
        .join(Member, Member.id == ServiceRecord.member_id)
        .where(base, or_(ServiceRecord.hcpcs.in_(known), ServiceRecord.service_code.in_(known)))
        .group_by(Member.plan_member_id, code_col, ServiceRecord.modifiers, ServiceRecord.service_date,
                  ServiceRecord.place_of_service, ServiceRecord.diagnosis_code)
        .order_by(Member.plan_member_id, ServiceRecord.service_date, code_col)
    ).all()
    other_codes = session.execute(
        select(func.coalesce(ServiceRecord.service_code, "(no code)"), func.count(), func.sum(ServiceRecord.units))
        .where(base, or_(ServiceRecord.hcpcs.is_(None),
                         and_(ServiceRecord.hcpcs.not_in(known), ServiceRecord.service_code.not_in(known))))
        .group_by(ServiceRecord.service_code)).all()
    for code, n, units in other_codes:
        notes.append(f"{n:,} service records ({int(units or 0):,} units) of {code} are not in these payment terms "
                     "and were left out")
    cols = list(zip(*rows, strict=False)) if rows else [[] for _ in range(7)]
    table = pa.table({
        "member_id": pa.array(cols[0], pa.string()),
        "service_code": pa.array(cols[1], pa.string()),
        "service_date": pa.array(cols[3], pa.date32()),
        "units": pa.array([int(u) for u in cols[4]], pa.int64()),
        "modifiers": pa.array(cols[2], pa.string()),
        "place_of_service": pa.array(cols[5], pa.string()),
        "diagnosis": pa.array(cols[6], pa.string()),
    }) if rows else None

    episodes = _episode_facts(session, terms, plan_id, orgs, start, end, notes, Episode)
    engagements, completions = _pathway_facts(session, terms, plan_id, orgs, start, end, notes)
    disbursements = _disbursement_facts(session, terms, plan_id, orgs, end, Disbursement)

    members: dict = {}
    if terms.billing.mode == "claims" and table is not None:
        ids = sorted(set(cols[0]) | {e.member_id for e in episodes})
        for i in range(0, len(ids), 5000):
            for m in session.scalars(select(Member).where(Member.plan_id == plan_id,
                                                          Member.plan_member_id.in_(ids[i:i + 5000]))):
                members[m.plan_member_id] = MemberInfo(
                    last_name=m.last_name[:60], first_name=(m.first_name or "")[:35], birth_date=m.birth_date,
                    sex={"female": "F", "male": "M"}.get(m.sex, "U"), address=(m.address_1 or "")[:55],
                    city=(m.city or "")[:30], state=m.state or "",
                    zip=m.zip if m.zip and len(m.zip) in (5, 9) and m.zip.isdigit() else "")
    other = OtherFacts(episodes=episodes, engagements=engagements, pathway_completions=completions,
                       disbursements=disbursements, members=members)
    src = f"socialcare delivery records, {label}"
    facts = Facts(other=other, services=table, services_file=src,
                  sources={k: src for k in ("episodes", "engagements", "pathway_completions", "disbursements",
                                            "members")})
    audit.record(session, principal, "delivery.facts", object_type="organization", object_id=counterparty_id,
                 detail={"plan_id": plan_id, "period": label, "service_rows": len(rows), "episodes": len(episodes),
                         "members": len(members)})
    if members:
        audit.record_member_reads(session, principal, list(session.scalars(select(Member.id).where(
            Member.plan_id == plan_id, Member.plan_member_id.in_(list(members))))), "delivery.facts.members")
    return FactsResult(facts=facts, notes=notes, organizations=orgs)


def _episode_facts(session, terms, plan_id, orgs, start, end, notes, Episode) -> list:
    bundled = [t for t in terms.terms if t.model == "bundled"]
    if not bundled:
        return []
    in_scope = and_(CareEpisode.plan_id == plan_id, CareEpisode.organization_id.in_(orgs))
    # members with an initial or renewal period starting in the settlement period
    starting = select(CareEpisode.member_id).where(in_scope, CareEpisode.start_date >= start,
                                                   CareEpisode.start_date <= end)
    renewing = (select(CareEpisode.member_id).join(EpisodeRenewal, EpisodeRenewal.episode_id == CareEpisode.id)
                .where(in_scope, EpisodeRenewal.period_start >= start, EpisodeRenewal.period_start <= end))
    members = starting.union(renewing).subquery()
    eps = session.execute(
        select(CareEpisode.id, Member.plan_member_id, CareEpisode.start_date, CareEpisode.billing_code,
               CareEpisode.period_days)
        .join(Member, Member.id == CareEpisode.member_id)
        .where(in_scope, CareEpisode.member_id.in_(select(members.c.member_id)), CareEpisode.start_date <= end)
        .order_by(CareEpisode.id)).all()
    if not eps:
        return []
    ren = defaultdict(list)
    ids = [e[0] for e in eps]
    for i in range(0, len(ids), 5000):
        for eid, seq, pstart, status in session.execute(
                select(EpisodeRenewal.episode_id, EpisodeRenewal.sequence, EpisodeRenewal.period_start,
                       EpisodeRenewal.status)
                .where(EpisodeRenewal.episode_id.in_(ids[i:i + 5000]), EpisodeRenewal.period_start <= end,
                       EpisodeRenewal.status != rules.RenewalStatus.REQUESTED)):
            ren[eid].append((seq, pstart, status))
    by_code = {t.billing_code: t for t in bundled}
    out = []
    mismatched = 0
    for eid, member, start_date, code, days in eps:
        t = by_code.get(code) or (bundled[0] if len(bundled) == 1 else None)
        if t is None:
            continue
        if days != t.episode_days:
            mismatched += 1
        out.append(Episode(episode_id=f"E{eid}", member_id=member, term=t.id, start=start_date, kind="initial"))
        for seq, pstart, status in sorted(ren[eid]):
            out.append(Episode(episode_id=f"E{eid}-R{seq}", member_id=member, term=t.id, start=pstart,
                               kind="renewal", approved=status == rules.RenewalStatus.APPROVED))
    if mismatched:
        notes.append(f"{mismatched:,} episodes were opened with a period other than the terms' episode_days")
    return out


def _pathway_facts(session, terms, plan_id, orgs, start, end, notes) -> tuple[dict, dict]:
    ob = [t for t in terms.terms if t.model == "outcome_based"]
    if not ob:
        return {}, {}
    t = ob[0]
    if len(ob) > 1:
        notes.append(f"several outcome-based terms: engagements and pathways were counted for '{t.id}'")
    n = session.scalar(select(func.count()).select_from(Engagement).where(
        Engagement.plan_id == plan_id, Engagement.organization_id.in_(orgs), Engagement.engaged_on >= start,
        Engagement.engaged_on <= end)) or 0
    counts = session.execute(
        select(PathwayInstance.pathway_code, func.count()).where(
            PathwayInstance.plan_id == plan_id, PathwayInstance.organization_id.in_(orgs),
            PathwayInstance.status == rules.PathwayStatus.COMPLETED, PathwayInstance.confirmed_on >= start,
            PathwayInstance.confirmed_on <= end)
        .group_by(PathwayInstance.pathway_code)).all()
    cat = rules.pathway_catalog()
    names = {rules.name_key(p.pathway): p.pathway for p in t.pathways}
    done: dict[str, int] = {}
    for code, c in counts:
        pdef = cat.by_code.get(code)
        keys = [rules.name_key(code)] + ([rules.name_key(pdef.name)] if pdef else [])
        name = next((names[k] for k in keys if k in names), None)
        if name is None:
            notes.append(f"{c:,} completed {pdef.name if pdef else code} pathways are not paid by these terms")
            continue
        done[name] = done.get(name, 0) + c
    return {t.id: n}, {t.id: done}


def _disbursement_facts(session, terms, plan_id, orgs, end, Disbursement) -> list:
    flex = {t.id for t in terms.terms if t.model == "flex_funds"}
    if not flex:
        return []
    rows = session.execute(
        select(FlexFundDisbursement.id, Member.plan_member_id, FlexFundDisbursement.disbursed_on,
               FlexFundDisbursement.category, FlexFundDisbursement.amount, FlexFundDisbursement.term_id)
        .join(Member, Member.id == FlexFundDisbursement.member_id)
        .where(FlexFundDisbursement.plan_id == plan_id, FlexFundDisbursement.organization_id.in_(orgs),
               FlexFundDisbursement.disbursed_on <= end,
               or_(FlexFundDisbursement.term_id.in_(flex), FlexFundDisbursement.term_id.is_(None)))
        .order_by(FlexFundDisbursement.disbursed_on, FlexFundDisbursement.id)).all()
    only = next(iter(flex)) if len(flex) == 1 else None
    return [Disbursement(term=tid if tid in flex else only, member_id=m, date=d, category=c, amount=cents(a),
                         request_id=f"D{i}") for i, m, d, c, a, tid in rows]


def contract_facts(session: Session, principal: Principal, contract_id: int, period) -> FactsResult:
    """settlement_facts for a contract's current payment terms."""
    from socialcare.contracts import service as contracts
    from socialcare.payments.schemas import parse_terms

    c = contracts.get(session, principal, contract_id)
    v = contracts.current_version(session, c)
    if not (v.payment_terms_yaml or "").strip():
        raise InvalidInput("This contract has no payment terms yet.", [Problem("no payment terms",
                                                                               field="payment_terms_yaml")])
    terms = parse_terms(v.payment_terms_yaml, f"contract {c.id} version {v.version}")
    res = settlement_facts(session, principal, plan_id=c.plan_id, counterparty_id=c.counterparty_id, terms=terms,
                           period=period)
    from socialcare.measures.engine import members_served

    start, end, _label = _period(period)
    res.member_count = members_served(session, c.id, max(start, c.start_date), min(end, c.end_date))
    return res


def contract_volume(session: Session, principal: Principal, contract) -> dict:
    """Delivered volume under a contract for the renewal review (contracts.service.renewal_review)."""
    if not principal.can("delivery:read") and not (principal.is_plan and is_plan_role(principal.role)):
        return {"message": "Delivery data is not available to your role."}
    start, end = contract.start_date, min(contract.end_date, real_today())
    orgs = delivering_orgs(session, contract.counterparty_id, start, end)
    sr = and_(ServiceRecord.plan_id == contract.plan_id, ServiceRecord.organization_id.in_(orgs),
              ServiceRecord.status == "recorded", ServiceRecord.service_date >= start,
              ServiceRecord.service_date <= end)
    n, units, members = session.execute(select(func.count(), func.coalesce(func.sum(ServiceRecord.units), 0),
                                               func.count(func.distinct(ServiceRecord.member_id))).where(sr)).one()
    ep = and_(CareEpisode.plan_id == contract.plan_id, CareEpisode.organization_id.in_(orgs),
              CareEpisode.start_date >= start, CareEpisode.start_date <= end)
    episodes = session.scalar(select(func.count()).select_from(CareEpisode).where(ep)) or 0
    completed = session.scalar(select(func.count()).select_from(PathwayInstance).where(
        PathwayInstance.plan_id == contract.plan_id, PathwayInstance.organization_id.in_(orgs),
        PathwayInstance.status == "completed", PathwayInstance.confirmed_on >= start,
        PathwayInstance.confirmed_on <= end)) or 0
    return {"from": start.isoformat(), "to": end.isoformat(), "service_records": int(n), "units": int(units),
            "members_served": int(members), "episodes": int(episodes), "pathways_completed": int(completed)}
