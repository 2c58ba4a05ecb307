"""JSON API of co-authored contracts: list, propose, answer (accept, counter, decline)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from socialcare.partnership import proposals
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/contracts", tags=["partnership"])


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section: Literal["vision", "scope", "goals", "terms", "contacts"]
    proposed: dict
    comment: str = ""


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: Literal["accept", "counter", "decline"]
    comment: str = ""
    counter: dict | None = None


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contract_id: int
    base_version: int
    section: str
    proposed: dict
    comment: str
    proposed_by_org_id: int
    proposed_by: str
    proposed_at: datetime
    status: str
    counter_of_id: int | None
    responded_by_org_id: int | None
    responded_by: str | None
    responded_at: datetime | None
    response_comment: str
    result_version: int | None


@router.get("/{contract_id}/proposals", response_model=list[ProposalOut], summary="Proposed changes to a contract")
def list_proposals(contract_id: int, db: DbSession,
                   principal: Annotated[Principal, Depends(require_api("contracts:read"))]):
    return [ProposalOut.model_validate(p) for p in proposals.proposals(db, principal, contract_id)]


@router.post("/{contract_id}/proposals", response_model=ProposalOut, status_code=201,
             summary="Propose a change to one section of the contract")
def propose(contract_id: int, body: ProposalIn, db: DbSession,
            principal: Annotated[Principal, Depends(require_api("contracts:propose"))]):
    return ProposalOut.model_validate(
        proposals.propose(db, principal, contract_id, body.section, body.proposed, body.comment))


@router.post("/{contract_id}/proposals/{proposal_id}/answer", response_model=ProposalOut,
             summary="Accept (the next version), counter or decline the other party's proposal")
def answer(contract_id: int, proposal_id: int, body: AnswerIn, db: DbSession,
           principal: Annotated[Principal, Depends(require_api("contracts:propose"))]):
    return ProposalOut.model_validate(proposals.respond(db, principal, contract_id, proposal_id, body.response,
                                                        body.comment, counter=body.counter))
