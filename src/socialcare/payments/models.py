"""The partnership ledger: stored, immutable settlement statements and what happened to them.

- ``Statement``: one settlement of a contract for a period (or an adjustment of one): the terms
  version and its fingerprint, the facts' fingerprint, the inputs, totals, the state handed to the
  next period (``carry``) and its lines. Never edited once written; a correction is a new
  adjustment statement that references the first (``adjusts_id``). Only ``status`` moves, and every
  move is a ``StatementEvent`` (who, when, why; payments with amount, date and reference).
- ``ManualFact``: a fact only a person can give (a state penalty notice, a manual adjustment,
  metric values, member-months...), entered with who, when and why; voided, never deleted.
- ``ControlNumber``: the last X12 interchange control number used per submitter (837P files carry
  unique, increasing ISA/GS/ST numbers).
- ``Claim``: one 837P claim of a statement and its status (submitted, accepted, denied, paid).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
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
from socialcare.core.money import MoneyType
from socialcare.kit.models import IdMixin


class Statement(IdMixin, Base):
    __tablename__ = "payment_statement"
    __table_args__ = (
        Index("ix_payment_statement_contract_period", "contract_id", "period_start", "period_end"),
        Index("ix_payment_statement_payer", "payer_org_id", "status"),
        Index("ix_payment_statement_payee", "payee_org_id", "status"),
    )

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    subcontract_id: Mapped[int | None] = mapped_column(ForeignKey("payment_subcontract.id"), index=True)
    payer_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))  # the plan (or a hub to its CBO)
    payee_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))  # the hub or CBO
    kind: Mapped[str] = mapped_column(String(20), default="settlement")  # settlement | adjustment
    adjusts_id: Mapped[int | None] = mapped_column(ForeignKey("payment_statement.id"), index=True)
    period_label: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    contract_version: Mapped[int] = mapped_column(Integer)
    terms_sha256: Mapped[str] = mapped_column(String(64))
    facts_sha256: Mapped[str] = mapped_column(String(64))
    payment_model: Mapped[str] = mapped_column(String(120), default="")
    billing_mode: Mapped[str] = mapped_column(String(10), default="invoice")
    total: Mapped[Decimal] = mapped_column(MoneyType)  # what the payer owes on this statement
    reported_total: Mapped[Decimal] = mapped_column(MoneyType)
    by_mlr: Mapped[dict] = mapped_column(JSON, default=dict)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)  # fact counts, manual facts used, source notes
    notes: Mapped[list] = mapped_column(JSON, default=list)
    carry: Mapped[dict] = mapped_column(JSON, default=dict)  # state handed to the next period
    status: Mapped[str] = mapped_column(String(20), index=True)  # rules: ledger.STATUSES
    reason: Mapped[str] = mapped_column(Text, default="")  # why an adjustment was made
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    lines = relationship("StatementLine", order_by="StatementLine.seq", back_populates="statement")
    events = relationship("StatementEvent", order_by="StatementEvent.id", back_populates="statement")
    contract = relationship("Contract")


class Subcontract(IdMixin, Base):
    """A hub's subcontract with a network CBO under the hub's contract with the plan: the CBO's own
    payment terms (per meal, per episode, a share of capitation), settled from the same services."""

    __tablename__ = "payment_subcontract"
    __table_args__ = (UniqueConstraint("contract_id", "cbo_org_id", "version"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    hub_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    cbo_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    payment_terms_yaml: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StatementLine(Base):
    __tablename__ = "payment_statement_line"

    statement_id: Mapped[int] = mapped_column(ForeignKey("payment_statement.id", ondelete="CASCADE"),
                                              primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    term_id: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(40))
    component: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    formula: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    mlr: Mapped[str] = mapped_column(String(30))
    paid: Mapped[bool] = mapped_column(Boolean, default=True)
    month: Mapped[str | None] = mapped_column(String(10))
    service_code: Mapped[str | None] = mapped_column(String(20))
    units: Mapped[int | None] = mapped_column(Integer)
    rate: Mapped[str | None] = mapped_column(String(20))  # exact decimal as text (rates may have 4 places)
    authority: Mapped[str] = mapped_column(String(30), default="")  # in_lieu_of_services | section_1115_waiver

    statement = relationship("Statement", back_populates="lines")


class StatementEvent(IdMixin, Base):
    __tablename__ = "payment_statement_event"

    statement_id: Mapped[int] = mapped_column(ForeignKey("payment_statement.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))  # created | approved | invoiced | ... | payment
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal | None] = mapped_column(MoneyType, nullable=True)  # a payment
    paid_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))  # check / EFT trace number
    by_user: Mapped[str | None] = mapped_column(String(100))
    by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    statement = relationship("Statement", back_populates="events")


class ManualFact(IdMixin, Base):
    __tablename__ = "payment_manual_fact"
    __table_args__ = (Index("ix_payment_manual_fact_contract_on", "contract_id", "on_date"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # rules.MANUAL_KINDS
    term_id: Mapped[str | None] = mapped_column(String(40))
    on_date: Mapped[date] = mapped_column(Date)  # the day it happened (a month's facts: its first day)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    amount: Mapped[Decimal | None] = mapped_column(MoneyType, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str | None] = mapped_column(String(100))
    entered_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[str | None] = mapped_column(String(100))
    void_reason: Mapped[str | None] = mapped_column(Text)


class ControlNumber(Base):
    __tablename__ = "payment_control_number"

    submitter_id: Mapped[str] = mapped_column(String(15), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Claim(IdMixin, Base):
    __tablename__ = "payment_claim"
    __table_args__ = (UniqueConstraint("statement_id", "claim_id", "control_number"),)

    statement_id: Mapped[int] = mapped_column(ForeignKey("payment_statement.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[str] = mapped_column(String(38))  # CLM01
    member_id: Mapped[str] = mapped_column(String(80))  # the plan's member id
    charge: Mapped[Decimal] = mapped_column(MoneyType)
    control_number: Mapped[int] = mapped_column(Integer)  # the ISA13 of the file it went in
    status: Mapped[str] = mapped_column(String(20), default="submitted")  # submitted|accepted|denied|paid|replaced
    reason: Mapped[str | None] = mapped_column(Text)  # denial reason
    paid_amount: Mapped[Decimal | None] = mapped_column(MoneyType, nullable=True)
    resubmits_id: Mapped[int | None] = mapped_column(ForeignKey("payment_claim.id"))
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
