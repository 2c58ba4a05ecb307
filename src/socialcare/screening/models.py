"""Screenings, their item answers, and the social needs a positive screen records.

A screening is one administration of a data-defined instrument (screening/instruments/*.yaml:
the CMS AHC HRSN core questions, LOINC 96777-8, and the Hunger Vital Sign, LOINC 88121-9; see
docs/standards.md §3). Each answer is a row (LOINC item + LA answer code), so measures
(HEDIS SNS-E, CMS screen-positive rates) are SQL over this table. A declined screening keeps its
row with ``data_absent_reason = 'asked-declined'`` and no answers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class Screening(IdMixin, Base):
    __tablename__ = "screening"
    __table_args__ = (
        Index("ix_screening_member_at", "member_id", "screened_at"),
        Index("ix_screening_plan_at", "plan_id", "screened_at"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))  # the member's plan (scoping)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)  # who screened
    # A CBO's screen of a referred member. No foreign key: referral -> social_need -> screening already
    # references this table, and a cycle of foreign keys cannot be created on SQLite.
    referral_id: Mapped[int | None] = mapped_column(Integer, index=True)
    instrument: Mapped[str] = mapped_column(String(40))  # ahc_hrsn_core | hunger_vital_sign
    panel_loinc: Mapped[str] = mapped_column(String(10))  # 96777-8 | 88121-9
    status: Mapped[str] = mapped_column(String(20))  # completed | partial | declined
    data_absent_reason: Mapped[str | None] = mapped_column(String(20))  # asked-declined when declined
    screened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    screened_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    screened_by: Mapped[str | None] = mapped_column(String(100))
    # Instrument totals: the HITS safety score (95614-4) and the HVS result (88124-3 LA code).
    safety_score: Mapped[int | None] = mapped_column(Integer)
    hvs_result: Mapped[str | None] = mapped_column(String(12))
    positive_domains: Mapped[list] = mapped_column(JSON, default=list)  # NeedDomain codes
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    answers = relationship("ScreeningAnswer", order_by="ScreeningAnswer.id", cascade="all, delete-orphan")


class ScreeningAnswer(IdMixin, Base):
    """One answer to one item; a check-all item (AHC Q2, 96778-6) has one row per answer chosen."""

    __tablename__ = "screening_answer"
    __table_args__ = (Index("ix_screening_answer_item", "item_loinc", "answer_code"),)

    screening_id: Mapped[int] = mapped_column(ForeignKey("screening.id", ondelete="CASCADE"), index=True)
    item_loinc: Mapped[str] = mapped_column(String(10))
    answer_code: Mapped[str | None] = mapped_column(String(12))  # LA code; None when skipped
    value_int: Mapped[int | None] = mapped_column(Integer)  # numeric value (HITS 1-5)
    positive: Mapped[bool] = mapped_column(Boolean, default=False)
    domain: Mapped[str | None] = mapped_column(String(40))  # NeedDomain the item screens
    data_absent_reason: Mapped[str | None] = mapped_column(String(20))  # asked-declined | not-asked


class SocialNeed(IdMixin, Base):
    """A member's identified social need (FHIR Condition, category sdoh), coded with an ICD-10-CM Z code."""

    __tablename__ = "social_need"
    __table_args__ = (Index("ix_social_need_member_domain", "member_id", "domain"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    domain: Mapped[str] = mapped_column(String(40))  # kit.codes.NeedDomain
    sdoh_category: Mapped[str] = mapped_column(String(40))  # Gravity SDOH category code
    z_code: Mapped[str | None] = mapped_column(String(10))  # ICD-10-CM, billable (leaf) codes only
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | resolved
    source: Mapped[str] = mapped_column(String(20), default="screening")  # screening | referral | staff
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screening.id", ondelete="SET NULL"), index=True)
    identified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
