"""Shapes at the edges of the delivery API (JSON in and out). Money is a string of cents in JSON."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from socialcare.core.money import to_decimal


def _money(v):
    if isinstance(v, float):
        raise ValueError("send amounts as a string (\"25.00\"), never a float")
    return to_decimal(v)


Money = Annotated[Decimal, BeforeValidator(_money)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceRecordIn(_In):
    member_id: int
    service_id: int
    service_date: date
    units: int = Field(description="whole units of the service's unit (meals, 15 minutes, trips...)")
    place_of_service: str = Field("12", description="CMS place of service: 12 home, 11 office, 10/02 telehealth, "
                                                    "27 outreach site, 99 other")
    service_code: str | None = Field(None, description="defaults to the service's code; may add modifiers (GQ)")
    diagnosis_code: str | None = Field(None, description="ICD-10-CM Z code, e.g. Z59.41")
    referral_id: int | None = None
    note: str | None = None


class ServiceRecordOut(BaseModel):
    id: int
    member_id: int
    organization_id: int
    referral_id: int | None
    service_id: int
    need_domain: str
    service_code: str | None
    hcpcs: str | None
    modifiers: str | None
    service_date: date
    units: int
    place_of_service: str
    diagnosis_code: str | None
    staff_name: str | None
    note: str | None
    status: str
    void_reason: str | None = None


class Page(BaseModel):
    total: int
    page: int
    page_size: int


class ServiceRecordPage(Page):
    items: list[ServiceRecordOut]


class VoidIn(_In):
    reason: str


class EpisodeIn(_In):
    member_id: int
    start_date: date
    program: str = "Community care management"
    service_id: int | None = None
    referral_id: int | None = None
    period_days: int | None = Field(None, description="default: the contract's episode_days, else 90")
    max_renewals: int | None = None


class RenewalOut(BaseModel):
    id: int
    sequence: int
    period_start: date
    period_end: date
    status: str
    reason: str
    requested_at: datetime
    requested_by: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None


class EpisodeOut(BaseModel):
    id: int
    member_id: int
    organization_id: int
    program: str
    billing_code: str | None
    start_date: date
    period_days: int
    max_renewals: int | None
    planned_end: date
    actual_end: date | None
    status: str
    close_reason: str | None
    renewals: list[RenewalOut] = []


class EpisodePage(Page):
    items: list[EpisodeOut]


class RenewalRequestIn(_In):
    reason: str
    on: date | None = None


class DecisionIn(_In):
    approve: bool
    note: str = ""


class CloseIn(_In):
    actual_end: date
    reason: str = ""


class PathwayIn(_In):
    member_id: int
    pathway_code: str
    opened_on: date
    referral_id: int | None = None
    note: str | None = None


class StepIn(_In):
    step_code: str
    completed_on: date | None = None
    note: str | None = None


class ConfirmIn(_In):
    confirmed_on: date | None = None
    note: str | None = None


class IncompleteIn(_In):
    closed_on: date | None = None
    reason: str


class StepOut(BaseModel):
    step_code: str
    completed_on: date
    recorded_by: str | None
    note: str | None


class PathwayOut(BaseModel):
    id: int
    member_id: int
    organization_id: int
    pathway_code: str
    pathway_name: str
    opened_on: date
    status: str
    confirmed_on: date | None
    confirmed_by: str | None
    closed_on: date | None
    outcome_note: str | None
    steps: list[StepOut] = []
    next_step: str | None = None


class PathwayPage(Page):
    items: list[PathwayOut]


class StepDefOut(BaseModel):
    code: str
    label: str
    benchmark: int | None


class PathwayDefOut(BaseModel):
    code: str
    name: str
    need_domain: str
    default_obu: str = Field(description="illustrative default; the contract's payment terms decide what is paid")
    outcome: str
    steps: list[StepDefOut]


class EngagementIn(_In):
    member_id: int
    engaged_on: date
    kind: str = "home_visit"
    note: str | None = None


class EngagementOut(BaseModel):
    id: int
    member_id: int
    organization_id: int
    engaged_on: date
    kind: str
    staff_name: str | None
    note: str | None


class EngagementPage(Page):
    items: list[EngagementOut]


class DisbursementIn(_In):
    member_id: int
    category: str
    amount: Money
    disbursed_on: date
    purpose: str = ""
    payee: str | None = None


class DisbursementOut(BaseModel):
    id: int
    member_id: int
    organization_id: int
    contract_id: int | None
    term_id: str | None
    category: str
    amount: str
    disbursed_on: date
    payee: str | None
    purpose: str
    approved_by: str


class DisbursementPage(Page):
    items: list[DisbursementOut]


class FactsOut(BaseModel):
    """A summary of a period's settlement facts for one contract (the payments engine gets the full Facts)."""

    contract_id: int
    period: str
    organizations: list[int]
    service_rows: int
    units_by_code: dict[str, int]
    episodes: list[dict]
    engagements: dict[str, int]
    pathway_completions: dict[str, dict[str, int]]
    disbursements: list[dict]
    notes: list[str]


# ---- converters ------------------------------------------------------------------------------


def service_out(r) -> ServiceRecordOut:
    return ServiceRecordOut.model_validate(r, from_attributes=True)


def episode_out(e, with_renewals: bool = True) -> EpisodeOut:
    out = EpisodeOut.model_validate({c: getattr(e, c) for c in EpisodeOut.model_fields if c != "renewals"})
    if with_renewals:
        out.renewals = [RenewalOut.model_validate(r, from_attributes=True) for r in e.renewals]
    return out


def pathway_out(p, catalog, with_steps: bool = True) -> PathwayOut:
    from socialcare.delivery import rules

    pdef = catalog.by_code.get(p.pathway_code)
    data = {c: getattr(p, c) for c in PathwayOut.model_fields if c not in ("steps", "pathway_name", "next_step")}
    out = PathwayOut(**data, pathway_name=pdef.name if pdef else p.pathway_code)
    if with_steps:
        out.steps = [StepOut.model_validate(s, from_attributes=True) for s in p.steps]
        if pdef and p.status == "open":
            nxt = rules.next_step(pdef, {s.step_code: s.completed_on for s in p.steps})
            out.next_step = nxt.code if nxt else None
    return out


def engagement_out(e) -> EngagementOut:
    return EngagementOut.model_validate(e, from_attributes=True)


def disbursement_out(d) -> DisbursementOut:
    data = {c: getattr(d, c) for c in DisbursementOut.model_fields}
    data["amount"] = str(d.amount)
    return DisbursementOut(**data)
