"""Referrals (FHIR SDOHCC Task for Referral Management), their timeline, consent, batches and escalations.

Hub routing creates a sub-referral (FHIR ``Task.partOf``), it does not reassign the owner: the plan's
referral to the hub stays the plan's record of the request, and the hub's referral to a network CBO
is a child with ``parent_id``. When the CBO rejects, the hub routes again (a new child) while the
plan's referral stays open. Milestones (first outreach, contact, enrollment, service start, closure)
and the business status of the child are mirrored onto the parent, so the plan's referral always
carries the end-to-end loop status (see referrals/service.py).

``status`` is the FHIR TaskStatus (standards.md §1.2); ``business_status`` our local code system
(referrals/rules.py BUSINESS_STATUSES). ``version`` is the optimistic-concurrency counter: every
change is an ``UPDATE ... WHERE version = :seen`` (compare-and-set).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class ReferralBatch(IdMixin, Base):
    """A list of members a plan assigned to a partner at once (CSV upload or a contract's member list)."""

    __tablename__ = "referral_batch"

    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id", ondelete="SET NULL"))
    need_domain: Mapped[str] = mapped_column(String(40))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    contract_month: Mapped[date | None] = mapped_column(Date)  # first day of the month the list is for
    filename: Mapped[str | None] = mapped_column(String(200))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Referral(IdMixin, Base):
    __tablename__ = "referral"
    __table_args__ = (
        UniqueConstraint("requester_org_id", "idempotency_key"),
        Index("ix_referral_owner_status", "owner_org_id", "status"),
        Index("ix_referral_plan_status", "plan_id", "status"),
        Index("ix_referral_member", "member_id"),
        Index("ix_referral_requester", "requester_org_id"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))  # the member's plan (scoping)
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))  # plan, or the hub for a sub-referral
    owner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))  # hub or CBO; None = open
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)  # FHIR Task.partOf
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    need_domain: Mapped[str] = mapped_column(String(40))  # kit.codes.NeedDomain
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))  # set when routed to a CBO service
    social_need_id: Mapped[int | None] = mapped_column(ForeignKey("social_need.id", ondelete="SET NULL"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("referral_batch.id", ondelete="SET NULL"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id", ondelete="SET NULL"), index=True)
    contract_version: Mapped[int | None] = mapped_column(Integer)  # contracts/attribution.py
    contract_reason: Mapped[str | None] = mapped_column(Text)  # why it counts under the contract
    reason: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(10), default="routine")  # FHIR priority: routine|urgent|asap|stat
    discharge_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # hospital discharge (24h clock)
    status: Mapped[str] = mapped_column(String(20), index=True)  # FHIR TaskStatus
    business_status: Mapped[str | None] = mapped_column(String(30))  # local code system (rules.BUSINESS_STATUSES)
    status_reason: Mapped[str | None] = mapped_column(Text)  # FHIR statusReason.text
    outreach_attempts: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))  # same key + different body -> conflict
    source: Mapped[str] = mapped_column(String(20), default="staff")  # staff | screening | batch | routing | fhir
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    # Clocks: when it was asked, the standard's due times (fixed at request from rules.TIMELINESS),
    # and when each milestone happened. Overdue = due time passed and milestone still empty (SQL).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outreach_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contact_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    service_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    routed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_outreach_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    service_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # any terminal status
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    member = relationship("Member")
    owner = relationship("Organization", foreign_keys=[owner_org_id])
    requester = relationship("Organization", foreign_keys=[requester_org_id])
    service = relationship("Service")
    parent = relationship("Referral", remote_side="Referral.id", foreign_keys=[parent_id])
    events = relationship("ReferralEvent", order_by="ReferralEvent.id", viewonly=True)


class ReferralEvent(IdMixin, Base):
    """Append-only timeline: every status change, business step, routing, consent and note."""

    __tablename__ = "referral_event"
    __table_args__ = (
        Index("ix_referral_event_referral", "referral_id", "at"),
        Index("ix_referral_event_step_at", "business_step", "at"),
    )

    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))  # status | step | routed | consent | note | escalation
    action: Mapped[str | None] = mapped_column(String(30))  # rules.ACTIONS key
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    business_step: Mapped[str | None] = mapped_column(String(30))
    channel: Mapped[str | None] = mapped_column(String(20))  # phone | text | email | mail | in_person | home_visit
    result: Mapped[str | None] = mapped_column(String(30))  # reached | no_answer | left_message | wrong_number ...
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    username: Mapped[str | None] = mapped_column(String(100))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    version: Mapped[int | None] = mapped_column(Integer)  # the referral's version after this event


class Consent(IdMixin, Base):
    """A member's consent to share their information with one organization (FHIR Consent, IDSCL)."""

    __tablename__ = "member_consent"
    __table_args__ = (Index("ix_member_consent_org_member", "organization_id", "member_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))  # whom sharing is permitted with
    scope: Mapped[str] = mapped_column(String(30))  # rules.CONSENT_SCOPES: referral | full-record
    method: Mapped[str] = mapped_column(String(20), default="verbal")  # verbal | written | electronic
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class EscalationContact(IdMixin, Base):
    """The plan's designated contact for escalations from a partner (partner_org_id None = any partner)."""

    __tablename__ = "escalation_contact"
    __table_args__ = (UniqueConstraint("plan_id", "partner_org_id"),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    partner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class Escalation(IdMixin, Base):
    """An issue CBO or hub staff raise to the plan's designated contact (002 seed: escalation pathways)."""

    __tablename__ = "escalation"
    __table_args__ = (Index("ix_escalation_plan_status", "plan_id", "status"),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"), index=True)
    raised_by_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    raised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    raised_by: Mapped[str | None] = mapped_column(String(100))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    category: Mapped[str] = mapped_column(String(30))  # rules.ESCALATION_CATEGORIES
    severity: Mapped[str] = mapped_column(String(10), default="medium")  # low | medium | high
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | in-progress | resolved
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
