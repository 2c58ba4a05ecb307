"""Screening JSON API: the instruments (items, LOINC and LA codes), submit a screening or a refusal,
a member's screenings and social needs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from socialcare.screening import rules, service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/screenings", tags=["screening"])


class ScreeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int
    instrument: str = Field(description="ahc_hrsn_core or hunger_vital_sign")
    responses: dict[str, str | list[str] | None] = Field(
        default_factory=dict, description="item LOINC -> LA answer code (a list for check-all items)")
    declined_items: list[str] = Field(default_factory=list, description="items asked and declined")
    declined: bool = Field(False, description="the member declined the whole screening")
    referral_id: int | None = None
    screened_at: datetime | None = None
    note: str | None = None


class AnswerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_loinc: str
    answer_code: str | None
    value_int: int | None
    positive: bool
    domain: str | None
    data_absent_reason: str | None


class ScreeningOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    organization_id: int
    instrument: str
    panel_loinc: str
    status: str
    data_absent_reason: str | None
    screened_at: datetime
    safety_score: int | None
    hvs_result: str | None
    positive_domains: list[str]
    answers: list[AnswerOut] = []


class NeedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    domain: str
    sdoh_category: str
    z_code: str | None
    status: str
    identified_at: datetime
    screening_id: int | None


@router.get("/instruments", summary="The screening instruments, as data")
def instruments(principal: Annotated[Principal, Depends(require_api("screening:write"))]):
    return [
        {"code": i.code, "name": i.name, "panel_loinc": i.panel_loinc,
         "items": [{"loinc": it.loinc, "number": it.number, "text": it.text, "domain": it.domain, "kind": it.kind,
                    "answers": [{"code": a.code, "text": a.text, "positive": a.positive, "value": a.value}
                                for a in it.answers]} for it in i.items]}
        for i in rules.instruments().values()
    ]


@router.post("", response_model=ScreeningOut, status_code=201, summary="Record a screening (or its refusal)")
def submit(body: ScreeningIn, db: DbSession,
           principal: Annotated[Principal, Depends(require_api("screening:write"))]):
    s = service.submit(db, principal, service.ScreeningInput(**body.model_dump()))
    return ScreeningOut.model_validate(s)


@router.get("", response_model=list[ScreeningOut], summary="A member's screenings, newest first")
def for_member(member_id: int, db: DbSession, principal: Annotated[Principal, Depends(require_api("referrals:read"))]):
    return [ScreeningOut.model_validate(s) for s in service.screenings_for_member(db, principal, member_id)]


@router.get("/needs", response_model=list[NeedOut], summary="A member's social needs (Z codes)")
def needs(member_id: int, db: DbSession, principal: Annotated[Principal, Depends(require_api("referrals:read"))]):
    return [NeedOut.model_validate(n) for n in service.needs_for_member(db, principal, member_id)]
