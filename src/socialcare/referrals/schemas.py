"""Referral API shapes (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from socialcare.referrals import rules

Urgency = Literal["routine", "urgent", "asap", "stat"]


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int
    need_domain: str = Field(description="kit.codes.NeedDomain, e.g. food, housing, transportation")
    owner_org_id: int | None = Field(None, description="the hub or CBO the referral goes to")
    service_id: int | None = Field(None, description="a service of that organization (optional until routed)")
    reason: str = ""
    urgency: Urgency = "routine"
    discharge_at: datetime | None = Field(None, description="hospital discharge: first outreach due within 24 h")
    social_need_id: int | None = None
    submit: bool = Field(True, description="false keeps it as a draft")
    consent_scope: Literal["referral", "full-record"] | None = Field(
        None, description="record the member's consent to share with the receiving organization now")
    consent_method: Literal["verbal", "written", "electronic"] = "verbal"
    consent_expires_at: datetime | None = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, description="status reason (needed to reject, hold, cancel, fail)")
    channel: str | None = Field(None, description=f"outreach channel: {', '.join(rules.CHANNELS)}")
    result: str | None = Field(None, description=f"outreach result: {', '.join(rules.OUTREACH_RESULTS)}")
    note: str | None = None
    version: int | None = Field(None, description="the version you saw (or send If-Match)")


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cbo_id: int
    service_id: int | None = None
    note: str | None = None
    consent_scope: Literal["referral", "full-record"] | None = None
    reroute_reason: str | None = None
    version: int | None = None


class MemberOut(BaseModel):
    id: int
    access: str = Field(description="full (plan or consent), minimum (minimum necessary), hidden (consent revoked)")
    fields: dict


class ReferralOut(BaseModel):
    id: int
    version: int
    status: str
    business_status: str | None
    loop_status: str
    status_reason: str | None
    plan_id: int
    requester_org_id: int
    owner_org_id: int | None
    owner_name: str | None = None
    parent_id: int | None
    member_id: int
    member: MemberOut | None = None
    need_domain: str
    service_id: int | None
    reason: str
    urgency: str
    discharge_at: datetime | None
    source: str
    batch_id: int | None
    created_at: datetime | None
    requested_at: datetime | None
    outreach_due_at: datetime | None
    contact_due_at: datetime | None
    service_due_at: datetime | None
    accepted_at: datetime | None
    routed_at: datetime | None
    first_outreach_at: datetime | None
    contacted_at: datetime | None
    enrolled_at: datetime | None
    service_started_at: datetime | None
    closed_at: datetime | None
    outreach_attempts: int
    overdue: bool | None = None
    sub_referral_ids: list[int] = []
    actions: list[str] = []


class EventOut(BaseModel):
    id: int
    referral_id: int
    at: datetime
    kind: str
    action: str | None
    from_status: str | None
    to_status: str | None
    business_step: str | None
    channel: str | None
    result: str | None
    note: str | None
    username: str | None
    organization: str | None
    version: int | None


class ReferralDetail(ReferralOut):
    timeline: list[EventOut] = []


class ReferralPage(BaseModel):
    items: list[ReferralOut]
    total: int
    page: int
    page_size: int


class SuggestionOut(BaseModel):
    cbo_id: int
    cbo_name: str
    service_id: int
    service_name: str
    score: int
    serves_area: bool
    language_match: bool
    capacity: int | None
    capacity_left: int | None
    reasons: list[str]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_org_id: int
    need_domain: str
    service_id: int | None = None
    urgency: Urgency = "routine"
    reason: str = ""
    member_ids: list[int] | None = None
    csv: str | None = Field(None, description="CSV text with a plan_member_id (or member_id) column")
    contract_id: int | None = None
    contract_month: str | None = Field(None, description="YYYY-MM")


class BatchOut(BaseModel):
    batch_id: int
    created: int


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int
    organization_id: int
    scope: Literal["referral", "full-record"]
    method: Literal["verbal", "written", "electronic"] = "verbal"
    expires_at: datetime | None = None
    referral_id: int | None = None


class RevokeIn(BaseModel):
    reason: str


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    organization_id: int
    scope: str
    method: str
    granted_at: datetime
    expires_at: datetime | None
    recorded_by: str | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None


class EscalationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referral_id: int | None = None
    plan_id: int | None = None
    category: str
    severity: Literal["low", "medium", "high"] = "medium"
    subject: str
    description: str = ""
    barrier: Literal["prior_authorization", "eligibility", "policy", "capacity", "communication", "other"] | None = None


class EscalationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "in-progress", "resolved"] | None = None
    resolution: str | None = None
    owner_user_id: int | None = None
    version: int | None = None


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    plan_id: int
    referral_id: int | None
    raised_by_org_id: int
    raised_by: str | None
    owner_user_id: int | None
    category: str
    severity: str
    subject: str
    description: str
    status: str
    resolution: str | None
    resolved_at: datetime | None
    contract_id: int | None = None
    level: int = 1
    contact_name: str | None = None
    respond_by: datetime | None = None
    barrier: str | None = None
    created_at: datetime | None
