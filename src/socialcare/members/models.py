"""A plan's member roster."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin, TimestampMixin


class Member(IdMixin, TimestampMixin, Base):
    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("plan_id", "plan_member_id"),
        Index("ix_member_plan_county", "plan_id", "county"),
        Index("ix_member_plan_zip", "plan_id", "zip"),
        Index("ix_member_plan_name", "plan_id", "last_name", "first_name"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    plan_member_id: Mapped[str] = mapped_column(String(40))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))  # female, male, other, unknown (administrative sex)
    race: Mapped[str | None] = mapped_column(String(60))  # OMB categories
    ethnicity: Mapped[str | None] = mapped_column(String(40))  # hispanic_or_latino / not_hispanic_or_latino
    preferred_language: Mapped[str] = mapped_column(String(10), default="en")  # ISO 639-1
    address_1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(10))
    county: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    product_line: Mapped[str] = mapped_column(String(30), index=True)  # kit.codes.ProductLine
    pcp_name: Mapped[str | None] = mapped_column(String(200))
    pcp_npi: Mapped[str | None] = mapped_column(String(10))
    risk_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))

    enrollment_spans = relationship("EnrollmentSpan", order_by="EnrollmentSpan.start_date")
    conditions = relationship("MemberCondition", order_by="MemberCondition.icd10_code")


class EnrollmentSpan(IdMixin, Base):
    __tablename__ = "enrollment_span"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    product_line: Mapped[str] = mapped_column(String(30))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class MemberCondition(IdMixin, Base):
    """A chronic condition as an ICD-10-CM code (stored with its dot, e.g. E11.9)."""

    __tablename__ = "member_condition"
    __table_args__ = (Index("ix_member_condition_code", "icd10_code"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    icd10_code: Mapped[str] = mapped_column(String(10))
