"""Contracts between a plan and a community care hub or a CBO, held as structured data.

A contract (seed 002_9f9b125fbb7ccb6a.txt, "A Health Plan's Guide to Developing CBO Contract Scopes
of Work" and "Operationalizing Contracts") is a row that says who the parties are and which phase the
partnership is in, plus numbered versions: each version holds the term dates, the services covered,
the payment terms (the payments domain's YAML) and the scope of work (a Pydantic document stored as
JSON). An amendment ("revisit contract terms mid-contract") writes a new version with the reason and
a readable diff of what changed.
"""

from __future__ import annotations

from datetime import date, datetime

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
from socialcare.kit.models import IdMixin, TimestampMixin


class Contract(IdMixin, TimestampMixin, Base):
    """The partnership's contract. Term dates and names mirror the current version (for listing)."""

    __tablename__ = "contract"

    plan_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    counterparty_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contract_type: Mapped[str] = mapped_column(String(20), default="vendor")  # vendor | provider
    payment_model: Mapped[str] = mapped_column(String(40), default="")  # label of the payment terms' model
    phase: Mapped[str] = mapped_column(String(20), index=True)  # rules.Phase
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    renewal_window_months: Mapped[int] = mapped_column(Integer, default=4)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    vision: Mapped[str] = mapped_column(Text, default="")  # the shared vision, in the parties' words

    plan = relationship("Organization", foreign_keys=[plan_id])
    counterparty = relationship("Organization", foreign_keys=[counterparty_id])
    versions = relationship("ContractVersion", order_by="ContractVersion.version", back_populates="contract")
    tasks = relationship("PrelaunchTask", order_by="PrelaunchTask.id", back_populates="contract")


class ContractVersion(IdMixin, Base):
    """One version of the contract's terms; version 1 is the original, later ones are amendments."""

    __tablename__ = "contract_version"
    __table_args__ = (UniqueConstraint("contract_id", "version"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    effective_date: Mapped[date] = mapped_column(Date)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    services_covered: Mapped[list] = mapped_column(JSON, default=list)  # [{name, need_domain, service_code, unit}]
    payment_terms_yaml: Mapped[str] = mapped_column(Text, default="")
    scope_of_work: Mapped[dict] = mapped_column(JSON, default=dict)  # schemas.ScopeOfWork
    reason: Mapped[str] = mapped_column(Text, default="")  # why this version (amendment reason)
    changes: Mapped[list] = mapped_column(JSON, default=list)  # [{path, before, after}] vs previous version
    diff: Mapped[str] = mapped_column(Text, default="")  # unified diff of the normalized YAML rendering
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    contract = relationship("Contract", back_populates="versions")


class PhaseEvent(IdMixin, Base):
    """The contract moved from one phase to another (who, when, why)."""

    __tablename__ = "contract_phase_event"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    from_phase: Mapped[str | None] = mapped_column(String(20))
    to_phase: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    by_user: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PrelaunchTask(IdMixin, TimestampMixin, Base):
    """A pre-launch task from the guide (credentialing, trainings, data security review...)."""

    __tablename__ = "contract_prelaunch_task"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # rules.PRELAUNCH_TASKS key, or "other"
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(20), default="partner")  # plan | partner | both
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | in_progress | done | waived
    waived_reason: Mapped[str | None] = mapped_column(Text)
    completed_on: Mapped[date | None] = mapped_column(Date)

    contract = relationship("Contract", back_populates="tasks")


class MemberSelection(IdMixin, Base):
    """A prioritized member list for the partner: eligible members ranked and capped at the maximum volume."""

    __tablename__ = "contract_member_selection"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    contract_version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    eligible_count: Mapped[int] = mapped_column(Integer)
    selected_count: Mapped[int] = mapped_column(Integer)
    cap: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # ranking criteria, strata, proportional
    strata: Mapped[list] = mapped_column(JSON, default=list)  # [{stratum..., eligible, selected}]
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | assigned
    assigned_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SelectedMember(Base):
    """One member of a selection, with the rank the prioritization gave them."""

    __tablename__ = "contract_selected_member"
    __table_args__ = (Index("ix_contract_selected_member_member", "member_id"),)

    selection_id: Mapped[int] = mapped_column(
        ForeignKey("contract_member_selection.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    stratum: Mapped[str | None] = mapped_column(String(200))
