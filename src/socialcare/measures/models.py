"""What measures need beyond the referral and screening data: goals, SNS-E exclusions, reporting submissions.

- ``MeasureGoal``: a contract's goal for one measure (the seed's sample scorecard: outreach goal 80 %,
  contact 55 %, support provided 50 %; seed 002_9f9b125fbb7ccb6a.txt, "Data presentation: Sample
  score card"), or a timeliness standard in days (reassessment).
- ``MeasureExclusion``: the HEDIS SNS-E exclusions a plan records for a member (hospice, death, and
  for Medicare members 66 and older an I-SNP or long-term institutional stay), dated.
- ``ReportingSubmission``: the partner's periodic data submission and its due date (pay for reporting).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class MeasureGoal(IdMixin, Base):
    __tablename__ = "measure_goal"
    __table_args__ = (UniqueConstraint("contract_id", "measure"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(60))  # definitions.MEASURES key
    target: Mapped[Decimal] = mapped_column(Numeric(9, 4))  # percent, or days for a *_days standard
    direction: Mapped[str] = mapped_column(String(10), default="at_least")  # at_least | at_most
    note: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MeasureExclusion(IdMixin, Base):
    __tablename__ = "measure_exclusion"
    __table_args__ = (Index("ix_measure_exclusion_member_kind", "member_id", "kind"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # hospice | death | isnp | lti
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40), default="plan")  # claims, enrollment file, staff
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportingSubmission(IdMixin, Base):
    __tablename__ = "reporting_submission"
    __table_args__ = (UniqueConstraint("contract_id", "period"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    period: Mapped[date] = mapped_column(Date)  # first day of the month the data covers
    due_on: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    via: Mapped[str] = mapped_column(String(20), default="portal")  # portal | file | api
    note: Mapped[str] = mapped_column(Text, default="")
