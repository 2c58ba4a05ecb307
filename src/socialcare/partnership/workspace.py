"""The lifecycle as a shared workspace: the guide's practices for each phase, scheduled, assigned,
recorded and closed by either party (seed 002, "Operationalizing Contracts").

Structured records live in ``Practice.data``: a co-design session's role map (stage, activity,
responsible party), a data systems strategy session's data-sharing matrix (element, direction,
frequency, mode, standard, consent), a teaming event's de-identified member stories, the member
communication plan's contact window, the sunset plan's transition messages by language.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.contracts import repository as contract_repo
from socialcare.contracts import service as contract_service
from socialcare.contracts.models import Contract
from socialcare.core.clock import today, utcnow
from socialcare.core.errors import Conflict, InvalidInput, NotFound, Problem
from socialcare.partnership import rules
from socialcare.partnership.models import Practice
from socialcare.partnership.proposals import side_of
from socialcare.security import audit
from socialcare.security.principal import Principal


def _contract(session: Session, principal: Principal, contract_id: int) -> Contract:
    principal.require("contracts:read")
    return contract_repo.get_contract(session, principal, contract_id)


def _writer(session: Session, principal: Principal, contract_id: int) -> Contract:
    principal.require("partnership:write")
    c = _contract(session, principal, contract_id)
    side_of(principal, c)
    return c


def practices(session: Session, principal: Principal, contract_id: int, kind: str | None = None) -> list[Practice]:
    c = _contract(session, principal, contract_id)
    stmt = select(Practice).where(Practice.contract_id == c.id)
    if kind:
        stmt = stmt.where(Practice.kind == kind)
    return list(session.scalars(stmt.order_by(Practice.scheduled_on.desc().nulls_last(), Practice.id.desc())))


def get(session: Session, principal: Principal, contract_id: int, practice_id: int) -> Practice:
    c = _contract(session, principal, contract_id)
    p = session.scalar(select(Practice).where(Practice.id == practice_id, Practice.contract_id == c.id))
    if p is None:
        raise NotFound(f"Contract {contract_id} has no practice {practice_id}.")
    return p


def schedule(session: Session, principal: Principal, contract_id: int, *, kind: str, title: str = "",
             scheduled_on: date | None = None, owner_party: str = "both", assigned_to: str = "",
             notes: str = "", data: dict | None = None) -> Practice:
    c = _writer(session, principal, contract_id)
    problems = []
    if kind not in rules.PRACTICES:
        problems.append(Problem(f"kind is one of {', '.join(rules.PRACTICES)}", field="kind"))
    if owner_party not in rules.PARTIES:
        problems.append(Problem("owner is plan, partner or both", field="owner_party"))
    if problems:
        raise InvalidInput("The practice was not scheduled.", problems)
    p = Practice(contract_id=c.id, kind=kind, phase=rules.PRACTICES[kind].phase,
                 title=(title or rules.PRACTICES[kind].label).strip()[:200], status="planned",
                 scheduled_on=scheduled_on, owner_party=owner_party, assigned_to=assigned_to.strip()[:200],
                 notes=notes or "", data=data or {}, created_by=principal.username, created_by_org_id=principal.org_id,
                 created_at=utcnow())
    session.add(p)
    session.flush()
    audit.record(session, principal, "partnership.practice.schedule", object_type="contract", object_id=c.id,
                 detail={"practice": p.id, "kind": kind})
    return p


def record(session: Session, principal: Principal, contract_id: int, practice_id: int, *, status: str | None = None,
           notes: str | None = None, held_on: date | None = None, assigned_to: str | None = None,
           data: dict | None = None) -> Practice:
    """Record what happened (notes, held on, structured data) and move it to done or closed."""
    _writer(session, principal, contract_id)
    p = get(session, principal, contract_id, practice_id)
    if status is not None and status not in rules.PRACTICE_STATUSES:
        raise InvalidInput("Unknown status", [Problem("planned, done or closed", field="status")])
    if p.status == "closed" and status != "planned":
        raise Conflict("This practice is closed; reopen it (planned) to change it.")
    if notes is not None:
        p.notes = notes
    if held_on is not None:
        p.held_on = held_on
    if assigned_to is not None:
        p.assigned_to = assigned_to.strip()[:200]
    if data is not None:
        p.data = {**(p.data or {}), **data}
    if status is not None:
        p.status = status
        if status == "done" and p.held_on is None:
            p.held_on = today()
        p.closed_by, p.closed_at = (principal.username, utcnow()) if status == "closed" else (None, None)
    audit.record(session, principal, "partnership.practice.record", object_type="contract", object_id=contract_id,
                 detail={"practice": p.id, "status": p.status})
    session.flush()
    return p


# ---- member stories (site visits, teaming) -----------------------------------------------------


def add_story(session: Session, principal: Principal, contract_id: int, practice_id: int, story: str) -> Practice:
    """A member story heard at a site visit or teaming event, refused while it could identify anyone."""
    from socialcare.joc.rules import check_member_story

    story = (story or "").strip()
    if not story:
        raise InvalidInput("The story was not saved.", [Problem("write the story", field="story")])
    findings = check_member_story(story)
    if findings:
        raise InvalidInput("The story was not saved: it could identify the member.",
                           [Problem(f.message, field="story") for f in findings])
    p = get(session, principal, contract_id, practice_id)
    return record(session, principal, contract_id, p.id,
                  data={"stories": [*(p.data or {}).get("stories", []), {"text": story, "by": principal.org_name}]})


# ---- role map (co-design) ----------------------------------------------------------------------


def parse_lines(text: str, width: int) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split("|")]
        rows.append((cells + [""] * width)[:width])
    return rows


def parse_role_map(text: str) -> list[dict]:
    """Lines "stage | activity | party" (party: plan, partner or both)."""
    rows, problems = [], []
    for n, (stage, activity, party) in enumerate(parse_lines(text, 3), start=1):
        stage_key = stage.lower().replace(" ", "_")
        if stage_key not in rules.STAGES:
            problems.append(Problem(f"line {n}: stage is one of {', '.join(rules.STAGES)}", field="role_map"))
        if not activity:
            problems.append(Problem(f"line {n}: name the activity", field="role_map"))
        if party.lower() not in rules.PARTIES:
            problems.append(Problem(f"line {n}: party is plan, partner or both", field="role_map"))
        rows.append({"stage": stage_key, "activity": activity, "party": party.lower()})
    if problems:
        raise InvalidInput("The role map was not saved.", problems)
    return rows


def role_map_text(rows: list[dict]) -> str:
    return "\n".join(f"{r['stage']} | {r['activity']} | {r['party']}" for r in rows)


def role_map_of(session: Session, contract_id: int) -> list[dict]:
    """The role map of the contract's latest co-design session that has one."""
    for p in session.scalars(select(Practice).where(Practice.contract_id == contract_id, Practice.kind == "co_design")
                             .order_by(Practice.id.desc())):
        if (p.data or {}).get("role_map"):
            return p.data["role_map"]
    return []


# ---- data-sharing matrix (data systems strategy) -----------------------------------------------


def parse_matrix(text: str) -> list[dict]:
    """Lines "element | direction | frequency | mode | standard | consent"."""
    rows, problems = [], []
    for n, (element, direction, frequency, mode, standard, consent) in enumerate(parse_lines(text, 6), start=1):
        direction = direction.lower().replace(" ", "_")
        if not element:
            problems.append(Problem(f"line {n}: name the data element", field="matrix"))
        if direction not in rules.MATRIX_DIRECTIONS:
            problems.append(Problem(f"line {n}: direction is to_partner, to_plan or both", field="matrix"))
        if mode.lower() not in rules.MATRIX_MODES:
            problems.append(Problem(f"line {n}: mode is file, fhir or portal", field="matrix"))
        if standard and standard not in rules.MATRIX_STANDARDS:
            problems.append(Problem(f"line {n}: standard is one of {', '.join(rules.MATRIX_STANDARDS)}",
                                    field="matrix"))
        rows.append({"element": element, "direction": direction, "frequency": frequency, "mode": mode.lower(),
                     "standard": standard or "none", "consent": consent.lower() in ("yes", "y", "true", "required")})
    if problems:
        raise InvalidInput("The data-sharing matrix was not saved.", problems)
    return rows


def matrix_text(rows: list[dict]) -> str:
    return "\n".join(f"{r['element']} | {r['direction']} | {r['frequency']} | {r['mode']} | {r['standard']} | "
                     f"{'yes' if r.get('consent') else 'no'}" for r in rows)


_EXCHANGE = {"file": "sftp_file", "fhir": "fhir", "portal": "portal"}


def scope_data_section(matrix: list[dict], current: dict) -> dict:
    """The scope of work's ``how.data_sharing`` filled from the matrix (other fields kept)."""
    ds = dict(current or {})

    def flow(rows, old):
        flow = dict(old or {})
        if rows:
            flow["elements"] = [r["element"] for r in rows]
            flow["frequency"] = "; ".join(sorted({r["frequency"] for r in rows if r["frequency"]}))
            flow["exchange"] = sorted({_EXCHANGE[r["mode"]] for r in rows})
            flow["level"] = flow.get("level") or "individual"
        return flow

    ds["to_partner"] = flow([r for r in matrix if r["direction"] in ("to_partner", "both")], ds.get("to_partner"))
    ds["to_plan"] = flow([r for r in matrix if r["direction"] in ("to_plan", "both")], ds.get("to_plan"))
    ds["standards"] = sorted({*ds.get("standards", []), *(r["standard"] for r in matrix if r["standard"] != "none")})
    if any(r.get("consent") for r in matrix):
        needs = ", ".join(r["element"] for r in matrix if r.get("consent"))
        ds["consent"] = ds.get("consent") or f"The member's consent is needed before sharing: {needs}."
    return ds


def propose_scope_from_matrix(session: Session, principal: Principal, contract_id: int, practice_id: int):
    """Fill the scope of work's data section from the session's matrix, as a proposal to the other party."""
    from socialcare.partnership import proposals

    p = get(session, principal, contract_id, practice_id)
    matrix = (p.data or {}).get("matrix") or []
    if not matrix:
        raise Conflict("Record the data-sharing matrix first.")
    c = _contract(session, principal, contract_id)
    values = proposals.current_values(session, c, "scope")
    how = dict(values.get("how") or {})
    how["data_sharing"] = scope_data_section(matrix, how.get("data_sharing") or {})
    values["how"] = how
    return proposals.propose(session, principal, c.id, "scope", values,
                             f"Data section from the data systems strategy session of {p.held_on or p.scheduled_on}")


def check_exchange(session: Session, contract: Contract, matrix: list[dict]) -> list[dict]:
    """Each matrix row against the partner's exchange settings: [{element, mode, ok, message}]."""
    from socialcare.interop.models import ExchangeImport, FhirEndpoint
    from socialcare.security.models import User

    partner = contract.counterparty_id
    endpoint = session.scalar(select(FhirEndpoint).where(FhirEndpoint.organization_id == partner))
    files = session.scalar(select(ExchangeImport.id).where(ExchangeImport.organization_id == partner,
                                                            ExchangeImport.status == "accepted").limit(1))
    users = session.scalar(select(User.id).where(User.organization_id == partner, User.is_active.is_(True)).limit(1))
    out = []
    for r in matrix:
        if r["mode"] == "fhir":
            ok = endpoint is not None
            msg = (f"FHIR connection registered ({endpoint.mode} mode)" if ok
                   else "no FHIR connection is registered for the partner (Exchange → FHIR connections)")
        elif r["mode"] == "file":
            ok = files is not None or r["direction"] == "to_partner"
            msg = ("the partner has sent accepted files" if files is not None else
                   "files go out to the partner from Exchange" if ok else "no file from the partner accepted yet")
        else:
            ok = users is not None
            msg = "the partner has active accounts" if ok else "the partner has no active account for the portal"
        out.append({"element": r["element"], "mode": r["mode"], "ok": ok, "message": msg})
    return out


# ---- data security review (recurring; blocks sharing when overdue) -----------------------------


def security_review(session: Session, contract: Contract, on: date | None = None) -> dict:
    """{every_months, last, due, overdue, blocks}: when the next review is due on the contract's cadence."""
    on = on or today()
    sow = contract_service.current_version(session, contract).scope_of_work or {}
    ds = ((sow.get("how") or {}).get("data_sharing") or {})
    every = ds.get("security_review_every_months")
    last = session.scalar(select(Practice.held_on).where(
        Practice.contract_id == contract.id, Practice.kind == "security_review",
        Practice.status.in_(("done", "closed")), Practice.held_on.is_not(None)).order_by(Practice.held_on.desc())
        .limit(1))
    due = rules.security_review_due(last, every, contract.start_date)
    overdue = due is not None and due < on
    return {"every_months": every, "last": last, "due": due, "overdue": overdue,
            "blocks": overdue and ds.get("block_when_review_overdue", True)}


def require_sharing_allowed(session: Session, contract: Contract, on: date | None = None) -> None:
    """Refuse member-level sharing under a contract whose data security review is overdue (when the
    contract says so)."""
    status = security_review(session, contract, on)
    if status["blocks"]:
        raise Conflict(f"The data security review of this contract was due on {status['due']:%Y-%m-%d}; member data "
                       "is not shared until it is done (Workspace → Data security review).")


# ---- member communication plan ------------------------------------------------------------------

DEFAULT_WINDOW_DAYS = 7


def contact_window_days(session: Session, contract_id: int | None) -> int:
    if contract_id is not None:
        p = session.scalar(select(Practice).where(Practice.contract_id == contract_id, Practice.kind == "comm_plan")
                           .order_by(Practice.id.desc()).limit(1))
        if p is not None and (p.data or {}).get("window_days"):
            return int(p.data["window_days"])
    return DEFAULT_WINDOW_DAYS


def recent_contacts_by_others(session: Session, principal: Principal, member_id: int, contract_id: int | None,
                              now: datetime | None = None) -> list[dict]:
    """Contacts with the member recorded by another organization in the plan's window: shown before
    this organization calls, so a member is not called by three parties."""
    from socialcare.partnership import repository as repo

    now = now or utcnow()
    days = contact_window_days(session, contract_id)
    rows = repo.contacts_by_others(session, principal, member_id, now - timedelta(days=days))
    return [{"at": at, "channel": channel, "result": result, "organization": org, "window_days": days}
            for at, channel, result, org in rows]


# ---- sunset plan and lessons learned -----------------------------------------------------------


def members_with_open_work(session: Session, principal: Principal, contract: Contract) -> list[dict]:
    """Open referrals under the contract: who needs a transition message, in which language. Names only
    where the viewer may see them (the plan; a partner under the referral's consent)."""
    from socialcare.members.models import Member
    from socialcare.referrals import repository as referral_repo
    from socialcare.referrals import rules as referral_rules
    from socialcare.referrals.models import Referral

    rows = session.execute(
        select(Referral.id, Referral.member_id, Referral.need_domain, Member.first_name, Member.last_name,
               Member.preferred_language)
        .join(Member, Member.id == Referral.member_id)
        .where(Referral.contract_id == contract.id, Referral.status.in_(list(referral_rules.OPEN)),
               Referral.parent_id.is_(None))
        .order_by(Referral.id).limit(500)).all()
    access = referral_repo.member_access_many(session, principal, [r.member_id for r in rows], utcnow())
    shown = [r.member_id for r in rows if access.get(r.member_id) != "hidden"]
    if shown:
        audit.record_member_reads(session, principal, shown, action="partnership.sunset.members")
    return [{"referral_id": r.id, "need_domain": r.need_domain, "language": r.preferred_language or "en",
             "name": f"{r.first_name} {r.last_name}" if access.get(r.member_id) != "hidden" else "(no consent)"}
            for r in rows]


def lessons(session: Session, contract_ids: list[int]) -> list[Practice]:
    """Lessons learned and celebrations of the contracts, newest first (JOC report, renewal review)."""
    if not contract_ids:
        return []
    return list(session.scalars(select(Practice).where(Practice.contract_id.in_(contract_ids),
                                                       Practice.kind.in_(("lessons", "celebration")))
                                .order_by(Practice.held_on.desc().nulls_last(), Practice.id.desc())))


def joc_context(session: Session, contract_id: int) -> dict:
    """What the JOC meeting and report show from the partnership: escalation barriers by month, and the
    lessons learned and celebrations."""
    from socialcare.partnership import escalations

    return {"barriers": escalations.barriers_by_month(session, [contract_id]),
            "lessons": lessons(session, [contract_id])}
