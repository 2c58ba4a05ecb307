"""Co-authored contracts: either party proposes a change to one section (vision, scope of work, goals,
terms, contacts and escalation pathway); the other accepts, counters or declines it with a comment.
Proposing is the proposer's acceptance; an accepted proposal becomes the contract's next version, and
the version shows both acceptances (who, when).

Who may: an organization's administrator (``contracts:propose``) for a contract its organization is
party to. The counterparty of a proposal is always the other organization.
"""

from __future__ import annotations

from datetime import date, datetime

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.contracts import repository as contract_repo
from socialcare.contracts import rules as contract_rules
from socialcare.contracts import schemas as contract_schemas
from socialcare.contracts import service as contract_service
from socialcare.contracts.models import Contract, ContractVersion
from socialcare.core.clock import utcnow
from socialcare.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from socialcare.partnership import repository as repo
from socialcare.partnership import rules
from socialcare.partnership.models import ContractProposal
from socialcare.security import audit
from socialcare.security.principal import Principal, system_principal


def side_of(principal: Principal, contract: Contract) -> str:
    side = repo.side_of(principal, contract)
    if side is None:
        raise NotFound(f"No contract {contract.id} that you can see.")
    return side


def proposed_by_own_side(principal: Principal, proposal: ContractProposal) -> bool:
    return repo.proposed_by_own_side(principal, proposal)


def _contract(session: Session, principal: Principal, contract_id: int) -> Contract:
    principal.require("contracts:read")
    return contract_repo.get_contract(session, principal, contract_id)


# ---- the sections as editable text -------------------------------------------------------------


def current_values(session: Session, contract: Contract, section: str) -> dict:
    v = contract_service.current_version(session, contract)
    sow = v.scope_of_work or {}
    if section == "vision":
        return {"vision": contract.vision or ""}
    if section == "scope":
        return {k: sow.get(k, {}) for k in ("who", "what", "how")}
    if section == "goals":
        from socialcare.measures.service import goals_for

        return {"goals": {k: float(g.target) for k, g in goals_for(session, contract.id).items()}}
    if section == "terms":
        return {"payment_terms_yaml": v.payment_terms_yaml, "end_date": v.end_date.isoformat()}
    if section == "contacts":
        staffing = (sow.get("who") or {}).get("staffing") or {}
        return {"contacts": staffing.get("contacts", []), "escalation_pathway": staffing.get("escalation_pathway", [])}
    raise InvalidInput("Unknown section", [Problem(f"section is one of {', '.join(rules.SECTIONS)}", field="section")])


def as_text(section: str, values: dict) -> str:
    """The form's text for a section: plain text for the vision, YAML otherwise."""
    if section == "vision":
        return values.get("vision", "")
    if section == "terms":
        return values.get("payment_terms_yaml", "")
    return yaml.safe_dump(values, sort_keys=False, allow_unicode=True, width=100)


def parse_text(section: str, text: str, end_date: str = "") -> dict:
    if section not in rules.SECTIONS:
        raise InvalidInput("Unknown section", [Problem(f"section is one of {', '.join(rules.SECTIONS)}", field="section")])
    if section == "vision":
        if not text.strip():
            raise InvalidInput("The proposal was not made.", [Problem("write the shared vision", field="text")])
        return {"vision": text.strip()}
    if section == "terms":
        values = {"payment_terms_yaml": text}
        if end_date:
            try:
                values["end_date"] = date.fromisoformat(end_date).isoformat()
            except ValueError:
                raise InvalidInput("The proposal was not made.",
                                   [Problem("not a date (YYYY-MM-DD)", field="end_date")]) from None
        return values
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput("The proposal was not made.", [Problem(f"not valid YAML: {exc}", field="text")]) from None
    if not isinstance(data, dict):
        raise InvalidInput("The proposal was not made.", [Problem("write a YAML mapping", field="text")])
    return data


def _validate(session: Session, contract: Contract, section: str, proposed: dict) -> dict:
    """The sections the new version would hold: {"sow": ..., "terms": ..., "end": ..., ...}; InvalidInput
    listing every problem otherwise."""
    prev = contract_service.current_version(session, contract)
    out: dict = {}
    problems: list[Problem] = []
    if section in ("scope", "contacts"):
        sow = dict(prev.scope_of_work or {})
        if section == "scope":
            sow = {k: proposed.get(k, {}) for k in ("who", "what", "how")}
        else:
            who = dict(sow.get("who") or {})
            staffing = dict(who.get("staffing") or {})
            staffing["contacts"] = proposed.get("contacts", [])
            staffing["escalation_pathway"] = proposed.get("escalation_pathway", [])
            who["staffing"] = staffing
            sow["who"] = who
        try:
            out["sow"] = contract_schemas.ScopeOfWork.model_validate(sow).model_dump(mode="json")
        except ValidationError as exc:
            problems += [Problem(e["msg"], field=".".join(str(x) for x in e["loc"])) for e in exc.errors()]
    elif section == "terms":
        _model, pay = contract_service.validate_payment_terms(proposed.get("payment_terms_yaml", ""))
        problems += pay
        end = date.fromisoformat(proposed["end_date"]) if proposed.get("end_date") else prev.end_date
        if end <= prev.start_date:
            problems.append(Problem("the end date must be after the start date", field="end_date"))
        out.update(terms=proposed.get("payment_terms_yaml", ""), end=end)
    elif section == "goals":
        from socialcare.measures.definitions import MEASURES

        goals = proposed.get("goals") or {}
        if not isinstance(goals, dict):
            problems.append(Problem("goals are 'measure: target' lines", field="goals"))
            goals = {}
        for k, target in goals.items():
            if k not in MEASURES:
                problems.append(Problem(f"unknown measure '{k}'; one of {', '.join(MEASURES)}", field="goals"))
            elif not isinstance(target, int | float) or target < 0:
                problems.append(Problem(f"{k}: a target is a number of 0 or more", field="goals"))
        out["goals"] = goals
    elif section == "vision":
        out["vision"] = str(proposed.get("vision", "")).strip()
    if problems:
        raise InvalidInput("The proposal was not made.", problems)
    return out


# ---- propose, respond --------------------------------------------------------------------------


def propose(session: Session, principal: Principal, contract_id: int, section: str, proposed: dict,
            comment: str = "", *, counter_of: ContractProposal | None = None,
            now: datetime | None = None) -> ContractProposal:
    principal.require("contracts:propose")
    c = _contract(session, principal, contract_id)
    side_of(principal, c)
    if c.phase == contract_rules.Phase.ENDED:
        raise Conflict("This contract has ended; it cannot change.")
    if section not in rules.SECTIONS:
        raise InvalidInput("Unknown section", [Problem(f"section is one of {', '.join(rules.SECTIONS)}", field="section")])
    _validate(session, c, section, proposed)
    if proposed == current_values(session, c, section):
        raise Conflict("Nothing changed: a proposal must change something.")
    now = now or utcnow()
    p = ContractProposal(
        contract_id=c.id, base_version=c.current_version, section=section, proposed=proposed,
        comment=(comment or "").strip(), proposed_by_org_id=principal.org_id, proposed_by_user_id=principal.user_id,
        proposed_by=principal.username, proposed_at=now, status="open",
        counter_of_id=counter_of.id if counter_of else None, response_comment="",
    )
    session.add(p)
    session.flush()
    audit.record(session, principal, "contract.proposal", object_type="contract", object_id=c.id,
                 detail={"proposal": p.id, "section": section, "counter_of": p.counter_of_id})
    return p


def get(session: Session, principal: Principal, contract_id: int, proposal_id: int) -> ContractProposal:
    c = _contract(session, principal, contract_id)
    p = session.scalar(select(ContractProposal).where(ContractProposal.id == proposal_id,
                                                      ContractProposal.contract_id == c.id))
    if p is None:
        raise NotFound(f"Contract {contract_id} has no proposal {proposal_id}.")
    return p


def respond(session: Session, principal: Principal, contract_id: int, proposal_id: int, response: str,
            comment: str = "", *, counter: dict | None = None, now: datetime | None = None) -> ContractProposal:
    """accept (the next version), counter (a new proposal from this side) or decline (with a comment).
    Returns the proposal (for a counter: the counter-proposal)."""
    principal.require("contracts:propose")
    p = get(session, principal, contract_id, proposal_id)
    c = _contract(session, principal, contract_id)
    if p.status != "open":
        raise Conflict(f"This proposal is {p.status}; it can no longer be answered.")
    if repo.proposed_by_own_side(principal, p):
        raise Forbidden("The other party answers a proposal; you may withdraw your own.")
    if response not in rules.RESPONSES:
        raise InvalidInput("Unknown response", [Problem("accept, counter or decline", field="response")])
    if response in ("decline", "counter") and not (comment or "").strip():
        raise InvalidInput("Say why", [Problem(f"a {response} needs a comment for the other party", field="comment")])
    now = now or utcnow()
    result = p
    if response == "counter":
        result = propose(session, principal, c.id, p.section, counter or {}, comment, counter_of=p, now=now)
    elif response == "accept":
        if p.base_version != c.current_version:
            raise Conflict(f"The contract moved to version {c.current_version} since this proposal (on version "
                           f"{p.base_version}); counter it with a proposal on the current version.")
        p.result_version = _apply(session, principal, c, p, now)
    p.status = rules.RESPONSES[response]
    p.responded_by_org_id, p.responded_by, p.responded_at = principal.org_id, principal.username, now
    p.response_comment = (comment or "").strip()
    audit.record(session, principal, f"contract.proposal.{p.status}", object_type="contract", object_id=c.id,
                 detail={"proposal": p.id, "version": p.result_version})
    session.flush()
    return result


def withdraw(session: Session, principal: Principal, contract_id: int, proposal_id: int) -> ContractProposal:
    principal.require("contracts:propose")
    p = get(session, principal, contract_id, proposal_id)
    if not repo.proposed_by_own_side(principal, p) or p.status != "open":
        raise Conflict("Only an open proposal of your organization can be withdrawn.")
    p.status = "withdrawn"
    audit.record(session, principal, "contract.proposal.withdrawn", object_type="contract", object_id=contract_id,
                 detail={"proposal": p.id})
    session.flush()
    return p


def _apply(session: Session, principal: Principal, c: Contract, p: ContractProposal, now: datetime) -> int:
    """Write the accepted proposal as the next version (and the vision or goals it changes)."""
    parts = _validate(session, c, p.section, p.proposed)
    prev = contract_service.current_version(session, c)
    extra: list[dict] = []
    if p.section == "vision":
        extra.append({"path": "vision", "before": c.vision or None, "after": parts["vision"]})
        c.vision = parts["vision"]
    if p.section == "goals":
        from socialcare.measures.service import goals_for, set_goal

        before = {k: float(g.target) for k, g in goals_for(session, c.id).items()}
        plan = system_principal(c.plan_id, "health_plan", username=principal.username)
        for measure, target in parts["goals"].items():
            set_goal(session, plan, c, measure, str(target), note=f"proposal #{p.id}")
            if before.get(measure) != float(target):
                extra.append({"path": f"goals.{measure}", "before": before.get(measure), "after": target})
    terms = parts.get("terms", prev.payment_terms_yaml)
    end = parts.get("end", prev.end_date)
    new = ContractVersion(
        contract_id=c.id, version=prev.version + 1, effective_date=now.date(), start_date=prev.start_date, end_date=end,
        services_covered=prev.services_covered, payment_terms_yaml=terms,
        scope_of_work=parts.get("sow", prev.scope_of_work), created_by=principal.username,
        reason=f"{rules.SECTIONS[p.section]}: proposal #{p.id} by {p.proposer.name}, accepted by {principal.org_name}"
               + (f" ({p.comment})" if p.comment else ""),
    )
    before_doc, after_doc = contract_service._doc(prev), contract_service._doc(new)
    new.changes = contract_rules.changes(before_doc, after_doc) + extra
    new.diff = contract_rules.unified_diff(before_doc, after_doc, prev.version, new.version)
    session.add(new)
    model, _ = contract_service.validate_payment_terms(terms)
    c.current_version, c.end_date, c.payment_model = new.version, end, model
    audit.record(session, principal, "contract.amend", object_type="contract", object_id=c.id,
                 detail={"version": new.version, "proposal": p.id})
    session.flush()
    return new.version


# ---- reading -----------------------------------------------------------------------------------


def proposals(session: Session, principal: Principal, contract_id: int) -> list[ContractProposal]:
    c = _contract(session, principal, contract_id)
    return list(session.scalars(select(ContractProposal).where(ContractProposal.contract_id == c.id)
                                .order_by(ContractProposal.id.desc())))


def open_count(session: Session, contract_id: int) -> int:
    return len(session.scalars(select(ContractProposal.id).where(ContractProposal.contract_id == contract_id,
                                                                ContractProposal.status == "open")).all())


def acceptance_of(session: Session, contract_id: int, version: int) -> ContractProposal | None:
    """The accepted proposal a version came from (its two acceptances), None for a plan amendment."""
    return session.scalar(select(ContractProposal).where(ContractProposal.contract_id == contract_id,
                                                         ContractProposal.result_version == version))
