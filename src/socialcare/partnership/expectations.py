"""Each party's top three expectations of the partner, the partnership and the program (seed 000:
"each partner could share their top 3 expectations"), recorded by each side and shown side by side."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from socialcare.contracts import repository as contract_repo
from socialcare.core.clock import utcnow
from socialcare.core.errors import InvalidInput, Problem
from socialcare.partnership import repository as repo
from socialcare.partnership import rules
from socialcare.partnership.models import ContractExpectation
from socialcare.partnership.proposals import side_of
from socialcare.security import audit
from socialcare.security.principal import Principal


def side_by_side(session: Session, principal: Principal, contract_id: int) -> dict:
    """{about: {rank: {"plan": text, "partner": text}}} for ranks 1..3."""
    principal.require("contracts:read")
    c = contract_repo.get_contract(session, principal, contract_id)
    table = {about: {rank: {"plan": "", "partner": ""} for rank in (1, 2, 3)} for about in rules.EXPECTATION_ABOUT}
    for e in session.scalars(select(ContractExpectation).where(ContractExpectation.contract_id == c.id)):
        side = "plan" if e.party_org_id == c.plan_id else "partner"
        if e.about in table and e.rank in table[e.about]:
            table[e.about][e.rank][side] = e.text
    return table


def save(session: Session, principal: Principal, contract_id: int, texts: dict[tuple[str, int], str]) -> int:
    """Replace the principal's side's expectations: {(about, rank): text}. Returns how many are recorded."""
    principal.require("partnership:write")
    c = contract_repo.get_contract(session, principal, contract_id)
    side_of(principal, c)
    problems = [Problem(f"'{about}' is not partner, partnership or program", field="about")
                for about, _ in texts if about not in rules.EXPECTATION_ABOUT]
    problems += [Problem("rank is 1, 2 or 3", field="rank") for _, rank in texts if rank not in (1, 2, 3)]
    problems += [Problem("an expectation is at most 500 characters", field=f"{a}_{r}")
                 for (a, r), t in texts.items() if len(t or "") > 500]
    if problems:
        raise InvalidInput("The expectations were not saved.", problems)
    repo.delete_own_expectations(session, principal, c.id)
    rows = [dict(contract_id=c.id, party_org_id=principal.org_id, about=about, rank=rank, text=text.strip(),
                 updated_by=principal.username, updated_at=utcnow())
            for (about, rank), text in sorted(texts.items()) if (text or "").strip()]
    if rows:
        session.execute(insert(ContractExpectation), rows)
    audit.record(session, principal, "contract.expectations", object_type="contract", object_id=c.id,
                 detail={"count": len(rows)})
    return len(rows)
