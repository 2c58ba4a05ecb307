"""Contract use cases: create, amend (new version with a diff), move through the lifecycle, run
eligibility and prioritization, and gather performance for the renewal review.

Services take a Session and the Principal, flush and never commit. Plans with ``contracts:write``
create and amend; the counterparty (hub or CBO) reads its own contracts; member-level prioritized
lists are for plan roles only (``contracts:members``) and every member shown is audited.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import yaml
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from socialcare.contracts import eligibility as elig
from socialcare.contracts import repository as repo
from socialcare.contracts import rules, schemas
from socialcare.contracts.models import Contract, ContractVersion, MemberSelection, PhaseEvent, PrelaunchTask
from socialcare.core.clock import today
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from socialcare.directory.models import Organization
from socialcare.kit.cells import safe_row
from socialcare.kit.codes import OrgKind
from socialcare.security import audit
from socialcare.security.principal import Principal

# ---- payment terms (the payments domain's YAML) ------------------------------------------------


def validate_payment_terms(text: str, file: str = "payment terms") -> tuple[str, list[Problem]]:
    """(payment model label, problems). Validated with the payments domain's schema when installed."""
    if not text or not text.strip():
        return "", []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return "", [Problem(f"not valid YAML: {exc}", field="payment_terms_yaml", file=file)]
    if not isinstance(data, dict):
        return "", [Problem("payment terms must be a YAML mapping", field="payment_terms_yaml", file=file)]
    try:
        from socialcare.payments import schemas as pay_schemas  # lazy: the payments domain is optional
    except ImportError:
        pay_schemas = None
    parse = getattr(pay_schemas, "parse_terms", None) if pay_schemas else None
    if parse is not None:
        try:
            terms = parse(text)
        except InvalidInput as exc:
            return "", [Problem(p.message, field=f"payment_terms_yaml.{p.field}" if p.field else "payment_terms_yaml",
                                file=file, row=p.row) for p in exc.problems] or [
                Problem(exc.message, field="payment_terms_yaml", file=file)]
        except ValidationError as exc:
            return "", [
                Problem(e["msg"], field="payment_terms_yaml." + ".".join(str(x) for x in e["loc"]), file=file)
                for e in exc.errors()
            ]
        label = getattr(terms, "model", None) or data.get("model", "")
        return str(getattr(label, "value", label)), []
    return str(data.get("model") or data.get("payment_model") or ""), []


# ---- reading -----------------------------------------------------------------------------------


def require_read(principal: Principal) -> None:
    principal.require("contracts:read")


def list_contracts(session: Session, principal: Principal, phase: str | None = None) -> list[Contract]:
    require_read(principal)
    return repo.list_contracts(session, principal, phase)


def get(session: Session, principal: Principal, contract_id: int) -> Contract:
    require_read(principal)
    return repo.get_contract(session, principal, contract_id)


def current_version(session: Session, contract: Contract) -> ContractVersion:
    return repo.version(session, contract.id, contract.current_version)


def scope_of_work(session: Session, contract: Contract) -> schemas.ScopeOfWork:
    return schemas.ScopeOfWork.model_validate(current_version(session, contract).scope_of_work)


def checklist_for(session: Session, principal: Principal, contract_id: int, version: int | None = None):
    c = get(session, principal, contract_id)
    v = repo.version(session, c.id, version or c.current_version)
    return c, v, rules.checklist(v.scope_of_work)


# ---- writing -----------------------------------------------------------------------------------


def _require_plan_writer(principal: Principal) -> None:
    principal.require("contracts:write")
    if not principal.is_plan:
        raise Forbidden("Only the health plan creates and amends its contracts.")


def _services_json(services: list[schemas.ServiceCovered]) -> list[dict]:
    return [s.model_dump(mode="json", exclude_none=True) for s in services]


def create(session: Session, principal: Principal, data: schemas.ContractCreate, *, phase: str = rules.Phase.SHARED_VISION,
           effective_date: date | None = None) -> Contract:
    _require_plan_writer(principal)
    problems: list[Problem] = []
    other = session.get(Organization, data.counterparty_id)
    if other is None or other.kind not in (OrgKind.HUB, OrgKind.CBO):
        problems.append(Problem("the counterparty must be a community care hub or a CBO", field="counterparty_id"))
    if data.end_date <= data.start_date:
        problems.append(Problem("the end date must be after the start date", field="end_date"))
    model, pay_problems = validate_payment_terms(data.payment_terms_yaml)
    problems += pay_problems
    rules.Phase(phase)
    if problems:
        raise InvalidInput("The contract was not created", problems)
    contract = Contract(
        plan_id=principal.org_id, counterparty_id=data.counterparty_id, name=data.name,
        contract_type=data.contract_type, payment_model=model, phase=str(phase), start_date=data.start_date,
        end_date=data.end_date, renewal_window_months=data.renewal_window_months, current_version=1,
        vision=data.vision,
    )
    session.add(contract)
    session.flush()
    session.add(ContractVersion(
        contract_id=contract.id, version=1, effective_date=effective_date or data.start_date,
        start_date=data.start_date, end_date=data.end_date, services_covered=_services_json(data.services_covered),
        payment_terms_yaml=data.payment_terms_yaml, scope_of_work=data.scope_of_work.model_dump(mode="json"),
        reason="Original contract", changes=[], diff="", created_by=principal.username,
    ))
    session.add(PhaseEvent(contract_id=contract.id, from_phase=None, to_phase=str(phase), note="Contract created",
                           by_user=principal.username))
    audit.record(session, principal, "contract.create", object_type="contract", object_id=contract.id)
    session.flush()
    return contract


def _doc(v: ContractVersion) -> dict:
    return rules.version_document(start_date=v.start_date, end_date=v.end_date, services_covered=v.services_covered,
                                  payment_terms_yaml=v.payment_terms_yaml, scope_of_work=v.scope_of_work)


def amend(session: Session, principal: Principal, contract_id: int, data: schemas.Amendment) -> ContractVersion:
    """A new version: what changed (field by field and as a diff) and why."""
    _require_plan_writer(principal)
    c = repo.get_contract(session, principal, contract_id)
    if c.phase == rules.Phase.ENDED:
        raise Conflict("This contract has ended; it cannot be amended.")
    prev = current_version(session, c)
    start = data.start_date or prev.start_date
    end = data.end_date or prev.end_date
    problems: list[Problem] = []
    if end <= start:
        problems.append(Problem("the end date must be after the start date", field="end_date"))
    terms = prev.payment_terms_yaml if data.payment_terms_yaml is None else data.payment_terms_yaml
    model, pay_problems = validate_payment_terms(terms)
    problems += pay_problems
    if problems:
        raise InvalidInput("The amendment was not saved", problems)
    services = prev.services_covered if data.services_covered is None else _services_json(data.services_covered)
    sow = prev.scope_of_work if data.scope_of_work is None else data.scope_of_work.model_dump(mode="json")
    new = ContractVersion(
        contract_id=c.id, version=prev.version + 1, effective_date=data.effective_date or today(),
        start_date=start, end_date=end, services_covered=services, payment_terms_yaml=terms, scope_of_work=sow,
        reason=data.reason.strip(), created_by=principal.username,
    )
    before, after = _doc(prev), _doc(new)
    new.changes = rules.changes(before, after)
    if not new.changes:
        raise Conflict("Nothing changed: an amendment must change at least one term.")
    new.diff = rules.unified_diff(before, after, prev.version, new.version)
    session.add(new)
    c.current_version, c.start_date, c.end_date, c.payment_model = new.version, start, end, model
    audit.record(session, principal, "contract.amend", object_type="contract", object_id=c.id,
                 detail={"version": new.version, "reason": new.reason, "fields": len(new.changes)})
    session.flush()
    return new


def update_vision(session: Session, principal: Principal, contract_id: int, vision: str) -> Contract:
    """The shared vision, in the parties' words (not a contract term: no new version)."""
    _require_plan_writer(principal)
    c = repo.get_contract(session, principal, contract_id)
    c.vision = vision.strip()
    audit.record(session, principal, "contract.vision", object_type="contract", object_id=c.id)
    session.flush()
    return c


# ---- lifecycle ---------------------------------------------------------------------------------


def _task_states(c: Contract) -> list[rules.TaskState]:
    return [rules.TaskState(t.id, t.title, t.required, t.status, t.waived_reason) for t in c.tasks]


def ensure_prelaunch_tasks(session: Session, contract: Contract, sow: schemas.ScopeOfWork) -> int:
    """The guide's pre-launch tasks, taking owners and due dates from the scope of work. Idempotent."""
    existing = {t.kind for t in contract.tasks}
    pre = sow.what.prelaunch
    rows = []
    for kind, (title, sow_field) in rules.PRELAUNCH_TASKS.items():
        if kind in existing:
            continue
        activity: schemas.PrelaunchActivity | None = getattr(pre, sow_field)
        not_needed = kind == "credentialing" and sow.who.staffing.licensure_required is False
        rows.append(dict(
            contract_id=contract.id, kind=kind, title=title,
            owner=activity.owner if activity else "partner",
            owner_name=(activity.description[:200] if activity else ""),
            due_date=activity.due_date if activity else None,
            required=(activity.required if activity else kind != "prepayment_release") and not not_needed,
            status="open",
        ))
    if rows:
        session.execute(insert(PrelaunchTask), rows)
        session.expire(contract, ["tasks"])
    return len(rows)


def change_phase(session: Session, principal: Principal, contract_id: int, to_phase: str, note: str = "") -> Contract:
    _require_plan_writer(principal)
    c = repo.get_contract(session, principal, contract_id)
    sow_dict = current_version(session, c).scope_of_work
    rules.check_transition(c.phase, to_phase, tasks=_task_states(c),
                           checklist_complete=rules.checklist(sow_dict).complete, note=note)
    if to_phase == rules.Phase.PRE_LAUNCH:
        ensure_prelaunch_tasks(session, c, schemas.ScopeOfWork.model_validate(sow_dict))
    if c.phase == rules.Phase.RENEWAL and to_phase == rules.Phase.IMPLEMENTATION and c.end_date <= today():
        raise Conflict("To continue after renewal, first amend the contract with a new end date.")
    session.add(PhaseEvent(contract_id=c.id, from_phase=c.phase, to_phase=to_phase, note=note,
                           by_user=principal.username))
    audit.record(session, principal, "contract.phase", object_type="contract", object_id=c.id,
                 detail={"from": c.phase, "to": to_phase})
    c.phase = to_phase
    session.flush()
    return c


def add_task(session: Session, principal: Principal, contract_id: int, data: schemas.TaskCreate) -> PrelaunchTask:
    _require_plan_writer(principal)
    c = repo.get_contract(session, principal, contract_id)
    t = PrelaunchTask(contract_id=c.id, kind=data.kind, title=data.title, owner=data.owner,
                      owner_name=data.owner_name, due_date=data.due_date, required=data.required, status="open")
    session.add(t)
    session.flush()
    return t


def update_task(session: Session, principal: Principal, contract_id: int, task_id: int,
                data: schemas.TaskUpdate) -> PrelaunchTask:
    """Plan writers and the counterparty's hub coordinators (who do most pre-launch work) update tasks."""
    require_read(principal)
    if not (principal.can("contracts:write") or (principal.is_hub and principal.can("delivery:write"))):
        raise Forbidden("Your role may not update pre-launch tasks.")
    c = repo.get_contract(session, principal, contract_id)
    t = next((t for t in c.tasks if t.id == task_id), None)
    if t is None:
        raise NotFound(f"Contract {contract_id} has no task {task_id}.")
    if data.status == "waived" and not (data.waived_reason or "").strip():
        raise InvalidInput("A waived task needs a reason", [Problem("say why the task is waived", field="waived_reason")])
    t.status = data.status
    t.waived_reason = data.waived_reason.strip() if data.status == "waived" and data.waived_reason else None
    t.completed_on = today() if data.status == "done" else None
    if data.due_date is not None:
        t.due_date = data.due_date
    if data.owner_name is not None:
        t.owner_name = data.owner_name
    audit.record(session, principal, "contract.task", object_type="contract", object_id=c.id,
                 detail={"task": t.id, "status": t.status})
    session.flush()
    return t


def launch_blockers(session: Session, principal: Principal, contract_id: int) -> list[str]:
    c = get(session, principal, contract_id)
    if not c.tasks:
        return ["No pre-launch tasks are recorded."]
    return rules.launch_blockers(_task_states(c))


def open_due_renewals(session: Session, principal: Principal, on: date | None = None) -> list[Contract]:
    """Move contracts whose renewal window has opened from implementation to renewal review."""
    _require_plan_writer(principal)
    on = on or today()
    moved = []
    for c in repo.list_contracts(session, principal, rules.Phase.IMPLEMENTATION):
        if rules.renewal_due(c.phase, c.end_date, c.renewal_window_months, on):
            change_phase(session, principal, c.id, rules.Phase.RENEWAL,
                         f"Renewal review opened {c.renewal_window_months} months before the end date")
            moved.append(c)
    return moved


# ---- eligibility and prioritization ------------------------------------------------------------


@dataclass
class CriterionCount:
    key: str
    depth: int
    label: str
    kind: str
    failed: int


@dataclass
class EligibilityResult:
    contract_id: int
    as_of: date
    roster: int
    enrolled: int
    eligible: int
    criteria: list[CriterionCount] = field(default_factory=list)
    maximum: int | None = None
    minimum: int | None = None

    @property
    def not_enrolled(self) -> int:
        return self.roster - self.enrolled

    @property
    def capped(self) -> bool:
        return self.maximum is not None and self.eligible > self.maximum


def eligibility(session: Session, principal: Principal, contract_id: int, as_of: date | None = None) -> EligibilityResult:
    """How many of the plan's members are eligible, and how many fail each criterion (counts only)."""
    c = get(session, principal, contract_id)
    sow = scope_of_work(session, c)
    rule = sow.who.population.rule
    if rule is None:
        raise InvalidInput("The scope of work has no eligible population rule yet",
                           [Problem("define who.population.rule", field="who.population.rule")])
    as_of = as_of or today()
    roster, enrolled, eligible, nodes = repo.eligibility_counts(session, c.plan_id, rule, as_of)
    vol = sow.who.population.volume
    return EligibilityResult(
        c.id, as_of, roster, enrolled, eligible,
        [CriterionCount(n.key, n.depth, n.label, n.kind, failed) for n, failed in nodes],
        maximum=vol.maximum if vol else None, minimum=vol.minimum if vol else None,
    )


def _require_member_lists(principal: Principal) -> None:
    principal.require("contracts:members")
    if not principal.is_plan:
        raise Forbidden("Member-level lists are for the plan only.")


def create_selection(session: Session, principal: Principal, contract_id: int,
                     req: schemas.SelectionRequest | None = None) -> MemberSelection:
    """Rank the eligible members and keep the cap (default: the scope of work's maximum volume)."""
    _require_member_lists(principal)
    req = req or schemas.SelectionRequest()
    c = repo.get_contract(session, principal, contract_id)
    sow = scope_of_work(session, c)
    rule = sow.who.population.rule
    if rule is None:
        raise InvalidInput("The scope of work has no eligible population rule yet",
                           [Problem("define who.population.rule", field="who.population.rule")])
    prio = sow.who.population.prioritization or schemas.Prioritization()
    vol = sow.who.population.volume
    cap = req.cap if req.cap is not None else (vol.maximum if vol else None)
    rank_by = req.rank_by if req.rank_by is not None else prio.rank_by
    strata = req.proportional_strata if req.proportional_strata is not None else prio.proportional_strata
    as_of = req.as_of or today()
    sel = MemberSelection(
        contract_id=c.id, contract_version=c.current_version, as_of=as_of, eligible_count=0,
        selected_count=0, cap=cap, status="draft", created_by=principal.username,
        settings={"rank_by": [r.model_dump() for r in rank_by], "proportional_strata": list(strata)},
    )
    session.add(sel)
    session.flush()
    stmt = elig.selection_select(c.plan_id, rule, as_of, cap=cap, rank_by=rank_by, strata=list(strata))
    sel.selected_count = repo.insert_selection_members(session, sel.id, stmt)
    sel.strata = repo.strata_report(session, c.plan_id, rule, as_of, sel.id)
    # every eligible member falls in exactly one county: the report's total is the eligible count
    sel.eligible_count = eligible = sum(x["eligible"] for x in sel.strata if x["dimension"] == "county")
    audit.record(session, principal, "contract.selection.create", object_type="contract", object_id=c.id,
                 detail={"selection": sel.id, "eligible": eligible, "selected": sel.selected_count, "cap": cap})
    session.flush()
    return sel


def selection(session: Session, principal: Principal, contract_id: int, selection_id: int) -> MemberSelection:
    c = get(session, principal, contract_id)
    return repo.get_selection(session, c.id, selection_id)


def selection_page(session: Session, principal: Principal, contract_id: int, selection_id: int,
                   page: int = 1, page_size: int = 50):
    """One page of the prioritized list (plan roles only); every member shown is audited."""
    _require_member_lists(principal)
    sel = selection(session, principal, contract_id, selection_id)
    rows = repo.selected_members(session, principal, sel.id, (page - 1) * page_size, page_size)
    audit.record_member_reads(session, principal, [m.id for _s, m in rows], action="contract.selection.read")
    return sel, rows


def _require_sharing_allowed(session: Session, contract: Contract) -> None:
    """Member data goes to the partner only while the contract's data security review is current."""
    from socialcare.partnership.workspace import require_sharing_allowed

    require_sharing_allowed(session, contract)


def selection_csv(session: Session, principal: Principal, contract_id: int, selection_id: int) -> str:
    """The member list for the partner, as CSV (audited per member)."""
    _require_member_lists(principal)
    sel = selection(session, principal, contract_id, selection_id)
    _require_sharing_allowed(session, get(session, principal, contract_id))
    rows = repo.selected_members(session, principal, sel.id, 0, None)
    audit.record_member_reads(session, principal, [m.id for _s, m in rows], action="contract.selection.export")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["rank", "plan_member_id", "first_name", "last_name", "birth_date", "county", "zip",
                "preferred_language", "product_line", "risk_score", "stratum"])
    for s, m in rows:
        w.writerow(safe_row([s.rank, m.plan_member_id, m.first_name, m.last_name, m.birth_date.isoformat(),
                             m.county or "", m.zip or "", m.preferred_language, m.product_line,
                             "" if m.risk_score is None else str(m.risk_score), s.stratum or ""]))
    return buf.getvalue()


@dataclass
class AssignmentPreview:
    selection: MemberSelection
    need_domain: str
    partner: str
    listed: int
    to_assign: int
    skipped: list[dict]  # [{member_id, name, plan_member_id, referral_id}]


def assignment_preview(session: Session, principal: Principal, contract_id: int,
                       selection_id: int) -> AssignmentPreview:
    """What assigning the list would do: how many referrals it creates, and who is skipped (named) because
    they already have an open referral for the same need. Reading the names is audited."""
    from socialcare.members.models import Member
    from socialcare.referrals import service as referrals_service

    _require_member_lists(principal)
    c = repo.get_contract(session, principal, contract_id)
    sel = repo.get_selection(session, c.id, selection_id)
    ids = repo.selected_member_ids(session, sel.id)
    domain, _svc = referrals_service.selection_need(session, c)
    open_refs = referrals_service.open_referrals_for_need(session, c.plan_id, ids, domain)
    skipped = []
    if open_refs:
        names = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(sorted(open_refs)[:5000])))}
        for mid in sorted(open_refs, key=lambda x: (names[x].last_name, names[x].first_name) if x in names else ("",)):
            m = names.get(mid)
            skipped.append({"member_id": mid, "name": f"{m.last_name}, {m.first_name}" if m else f"member {mid}",
                            "plan_member_id": m.plan_member_id if m else "", "referral_id": open_refs[mid]})
        audit.record_member_reads(session, principal, [s["member_id"] for s in skipped],
                                  action="contract.selection.assign.preview")
    return AssignmentPreview(sel, domain, c.counterparty.name, len(ids), len(ids) - len(open_refs), skipped)


def assign_selection(session: Session, principal: Principal, contract_id: int, selection_id: int, *,
                     confirm_count: int | None = None) -> MemberSelection:
    """Hand the selection to the partner through the referrals domain's batch assignment. Members with an
    open referral for the same need are skipped; with ``confirm_count`` (what the user confirmed), a list
    that changed since is refused so nobody creates more referrals than they agreed to."""
    _require_member_lists(principal)
    principal.require("referrals:assign_batch")
    c = repo.get_contract(session, principal, contract_id)
    sel = repo.get_selection(session, c.id, selection_id)
    if sel.status == "assigned":
        raise Conflict("This member list was already assigned to the partner.")
    _require_sharing_allowed(session, c)
    if c.phase not in (rules.Phase.IMPLEMENTATION, rules.Phase.RENEWAL):
        raise Conflict("Members are assigned once the contract is in implementation.")
    from socialcare.referrals import service as referrals_service

    if confirm_count is not None:
        preview = assignment_preview(session, principal, contract_id, selection_id)
        if preview.to_assign != confirm_count:
            raise Conflict(f"The list changed: {preview.to_assign:,} referrals would now be created, not "
                           f"{confirm_count:,}. Review it again before assigning.")
    note = referrals_service.assign_batch_from_selection(session, principal, contract=c,
                                                        member_ids=repo.selected_member_ids(session, sel.id))
    sel.status, sel.assigned_note = "assigned", str(note or "")
    session.flush()
    return sel


# ---- renewal review ----------------------------------------------------------------------------


@dataclass
class RenewalReview:
    contract: Contract
    opens_on: date
    open: bool
    volume: dict
    measures: dict
    payments: dict


def _period_start(period: str, through: date, start: date) -> date:
    """First day of the scope of work's volume period that ends on ``through`` (never before the term)."""
    back = {"month": 1, "quarter": 3, "year": 12}.get(period)
    if back is None:
        return start
    first = through.replace(day=1) if back == 1 else rules.add_months(through, -back) + timedelta(days=1)
    return max(first, start)


def renewal_review(session: Session, principal: Principal, contract_id: int, on: date | None = None) -> RenewalReview:
    """The contract's performance for the renewal discussion: the scope of work's volume against the members
    the contract really served (its attributed work), its measures against their goals, its payments."""
    from socialcare.measures import engine as measures_engine
    from socialcare.measures import service as measures

    c = get(session, principal, contract_id)
    on = on or today()
    sow = scope_of_work(session, c)
    vol = sow.who.population.volume or schemas.Volume()
    through = min(on, c.end_date)
    started = through >= c.start_date
    served = measures_engine.members_served(session, c.id, c.start_date, through) if started else 0
    p_first = _period_start(vol.period, through, c.start_date)
    in_period = measures_engine.members_served(session, c.id, p_first, through) if started else 0
    volume = {
        "unit": vol.unit, "period": vol.period, "minimum": vol.minimum, "maximum": vol.maximum,
        "from": c.start_date, "to": through, "members_served": served,
        "period_from": p_first, "served_in_period": in_period,
        "members_selected": repo.latest_selection_count(session, c.id),
        "status": (
            "not started" if not started
            else "below minimum" if vol.minimum is not None and in_period < vol.minimum
            else "above maximum" if vol.maximum is not None and in_period > vol.maximum
            else "within range"
        ),
    }
    month = min(measures.default_month(session, c), through.replace(day=1))
    if started:
        card = measures.for_viewer(measures.scorecard(session, principal, c, month), principal, c)
        rates = card["funnel"]["rates"] + card["timeliness"]["rates"] + card["quality"]
        review_measures = {
            "available": True, "month": card["month"], "month_label": card["month_label"],
            "members_assigned": card["funnel"]["counts"]["assigned"],
            "targets": [{"key": r["key"], "label": r["label"], "goal": r["goal"], "value": r.get("display"),
                         "met": r["met"]} for r in rates if r.get("goal") is not None],
            "without_goal": [{"key": r["key"], "label": r["label"], "value": r.get("display")}
                             for r in rates if r.get("goal") is None],
        }
    else:
        review_measures = {"available": False, "message": "No measured months yet: the term has not started."}
    opens = rules.renewal_opens_on(c.end_date, c.renewal_window_months)
    return RenewalReview(
        contract=c, opens_on=opens, open=on >= opens or c.phase == rules.Phase.RENEWAL, volume=volume,
        measures=review_measures, payments=_payments(session, principal, c),
    )


def _payments(session: Session, principal: Principal, contract: Contract) -> dict:
    """Settlement statements for the contract, from the payments domain's ledger."""
    from socialcare.payments.service import contract_payments

    return {"available": True, **contract_payments(session, principal, contract)}


def counterparties(session: Session) -> list[Organization]:
    return list(session.scalars(
        select(Organization).where(Organization.kind.in_([OrgKind.HUB.value, OrgKind.CBO.value])).order_by(Organization.name)
    ))
