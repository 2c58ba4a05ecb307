"""Service delivery: the facts the settlement engine pays on (issue 6).

- ``ServiceRecord``: one service delivered to a member (member, service code, date, units, staff,
  setting); it becomes a fee-for-service invoice or 837P line.
- ``CareEpisode`` + ``EpisodeRenewal``: a case-rate episode of care management, up to the contract's
  maximum (MARC / BlueKC: up to three months, renewal periods on the plan's approval; seed
  002_9f9b125fbb7ccb6a.txt "Bundled Payment Example").
- ``PathwayInstance`` + ``PathwayStep`` + ``Engagement``: Pathways Community HUB standard pathways
  and confirmed engagements (home visits): Buckeye / Northwest Ohio Pathways HUB, 50 % engagement and
  50 % completed pathways (seed 002; docs/payments-and-value.md §2).
- ``FlexFundDisbursement``: money a CBO gives a member from the plan's flexible member fund (seed 002
  "Flexible Funds").

Every row carries ``plan_id`` (the member's plan) so a plan's reads are one indexed filter, and the
delivering ``organization_id`` so a CBO's reads are too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialcare.core.db import Base
from socialcare.core.money import MoneyType
from socialcare.kit.models import IdMixin


class _Recorded:
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class _Attributed:
    """The contract the work counts under, its version and why (contracts/attribution.py)."""

    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id", ondelete="SET NULL"), index=True)
    contract_version: Mapped[int | None] = mapped_column(Integer)
    contract_reason: Mapped[str | None] = mapped_column(Text)


class ServiceRecord(IdMixin, _Recorded, _Attributed, Base):
    __tablename__ = "service_record"
    __table_args__ = (
        Index("ix_service_record_org_date", "organization_id", "service_date"),
        Index("ix_service_record_plan_date", "plan_id", "service_date"),
        Index("ix_service_record_member", "member_id", "service_date"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))  # who delivered it
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    need_domain: Mapped[str] = mapped_column(String(40))  # copied from the service (filters, reports)
    service_code: Mapped[str | None] = mapped_column(String(20))  # as written: S5170-U6
    hcpcs: Mapped[str | None] = mapped_column(String(5))  # the code without modifiers: S5170
    modifiers: Mapped[str | None] = mapped_column(String(11))  # "U6" or "U8:GQ" (837P SV101 order)
    service_date: Mapped[date] = mapped_column(Date)
    units: Mapped[int] = mapped_column(Integer)
    place_of_service: Mapped[str] = mapped_column(String(2), default="12")  # CMS POS code
    diagnosis_code: Mapped[str | None] = mapped_column(String(8))  # ICD-10-CM Z code with its dot
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    staff_name: Mapped[str | None] = mapped_column(String(100))
    rendering_npi: Mapped[str | None] = mapped_column(String(10))  # who delivered it, when it has an NPI (837P 2310B)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="recorded")  # recorded | entered-in-error
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[str | None] = mapped_column(String(100))

    member = relationship("Member")
    organization = relationship("Organization", foreign_keys=[organization_id])
    service = relationship("Service")


class CareEpisode(IdMixin, _Recorded, _Attributed, Base):
    """An episode of care management paid by a case rate. ``planned_end`` is the end of the initial
    period plus every approved renewal period; ``period_days`` is the contract's maximum per period."""

    __tablename__ = "care_episode"
    __table_args__ = (
        Index("ix_care_episode_org_status", "organization_id", "status"),
        Index("ix_care_episode_plan_start", "plan_id", "start_date"),
        Index("ix_care_episode_member", "member_id"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    program: Mapped[str] = mapped_column(String(120))
    billing_code: Mapped[str | None] = mapped_column(String(20))  # the case rate's code, e.g. T1016
    start_date: Mapped[date] = mapped_column(Date)
    period_days: Mapped[int] = mapped_column(Integer, default=90)
    max_renewals: Mapped[int | None] = mapped_column(Integer)  # None: the contract sets no maximum
    planned_end: Mapped[date] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # rules.EpisodeStatus
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(100))

    member = relationship("Member")
    organization = relationship("Organization", foreign_keys=[organization_id])
    renewals = relationship("EpisodeRenewal", order_by="EpisodeRenewal.sequence", back_populates="episode")


class EpisodeRenewal(IdMixin, Base):
    """A renewal period the CBO asked for; paid only once the plan approved it."""

    __tablename__ = "care_episode_renewal"
    __table_args__ = (UniqueConstraint("episode_id", "sequence"),)

    episode_id: Mapped[int] = mapped_column(ForeignKey("care_episode.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1 = first renewal
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="requested")  # requested | approved | denied
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str | None] = mapped_column(String(100))
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)

    episode = relationship("CareEpisode", back_populates="renewals")


class PathwayInstance(IdMixin, _Recorded, _Attributed, Base):
    """One member's pathway (pathway_code from delivery/pathways.yaml) worked by a CBO or HUB agency."""

    __tablename__ = "pathway_instance"
    __table_args__ = (
        Index("ix_pathway_instance_org_status", "organization_id", "status"),
        Index("ix_pathway_instance_plan_confirmed", "plan_id", "confirmed_on"),
        Index("ix_pathway_instance_member", "member_id"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"))
    pathway_code: Mapped[str] = mapped_column(String(40))
    opened_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(25), default="open")  # open | completed | finished-incomplete
    confirmed_on: Mapped[date | None] = mapped_column(Date)  # completion confirmed (the date that is paid)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str | None] = mapped_column(Text)

    member = relationship("Member")
    organization = relationship("Organization", foreign_keys=[organization_id])
    steps = relationship("PathwayStep", order_by="PathwayStep.completed_on, PathwayStep.id",
                         back_populates="instance")


class PathwayStep(IdMixin, Base):
    __tablename__ = "pathway_step"
    __table_args__ = (UniqueConstraint("instance_id", "step_code"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("pathway_instance.id", ondelete="CASCADE"), index=True)
    step_code: Mapped[str] = mapped_column(String(30))
    completed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    instance = relationship("PathwayInstance", back_populates="steps")


class Engagement(IdMixin, _Recorded, _Attributed, Base):
    """A confirmed engagement (a home visit by a community health worker): the PCHI engagement payment."""

    __tablename__ = "engagement"
    __table_args__ = (
        Index("ix_engagement_org_date", "organization_id", "engaged_on"),
        Index("ix_engagement_plan_date", "plan_id", "engaged_on"),
        Index("ix_engagement_member", "member_id"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    engaged_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20), default="home_visit")  # rules.ENGAGEMENT_KINDS
    staff_name: Mapped[str | None] = mapped_column(String(100))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)

    member = relationship("Member")


class FlexFundDisbursement(IdMixin, _Recorded, Base):
    """Money from the plan's flexible member fund given to (or spent for) a member."""

    __tablename__ = "flex_fund_disbursement"
    __table_args__ = (
        Index("ix_flex_fund_disbursement_org_date", "organization_id", "disbursed_on"),
        Index("ix_flex_fund_disbursement_plan_date", "plan_id", "disbursed_on"),
        Index("ix_flex_fund_disbursement_member", "member_id"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id", ondelete="SET NULL"), index=True)
    contract_version: Mapped[int | None] = mapped_column(Integer)
    contract_reason: Mapped[str | None] = mapped_column(Text)
    term_id: Mapped[str | None] = mapped_column(String(40))  # the flex_funds term it was checked against
    category: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    disbursed_on: Mapped[date] = mapped_column(Date)
    payee: Mapped[str | None] = mapped_column(String(200))  # utility company, store, the member
    purpose: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    member = relationship("Member")
