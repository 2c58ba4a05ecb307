"""Tables of the shared partnership workspace. Every row belongs to one contract; both parties read it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class ContractProposal(IdMixin, Base):
    """A change to one section of the contract proposed by one party; the other accepts, counters or
    declines it. Proposing is the proposer's acceptance; the response is the other's. An accepted
    proposal becomes the contract's next version (``result_version``)."""

    __tablename__ = "contract_proposal"
    __table_args__ = (Index("ix_contract_proposal_contract_status", "contract_id", "status"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    base_version: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(20))  # vision | scope | goals | terms | contacts
    proposed: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")  # why, in the proposer's words
    proposed_by_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    proposed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | accepted | countered | declined | withdrawn
    counter_of_id: Mapped[int | None] = mapped_column(ForeignKey("contract_proposal.id", ondelete="SET NULL"))
    responded_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    responded_by: Mapped[str | None] = mapped_column(String(100))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_comment: Mapped[str] = mapped_column(Text, default="")
    result_version: Mapped[int | None] = mapped_column(Integer)

    proposer = relationship("Organization", foreign_keys=[proposed_by_org_id])
    responder = relationship("Organization", foreign_keys=[responded_by_org_id])


class ContractExpectation(IdMixin, Base):
    """One of a party's top three expectations of the partner, the partnership or the program (seed 000)."""

    __tablename__ = "contract_expectation"
    __table_args__ = (UniqueConstraint("contract_id", "party_org_id", "about", "rank"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    party_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    about: Mapped[str] = mapped_column(String(12))  # partner | partnership | program
    rank: Mapped[int] = mapped_column(Integer)  # 1..3
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Practice(IdMixin, Base):
    """A practice of the guide the parties schedule, assign, record and close: a site visit, a teaming
    event, a co-design session (with its role map), a data systems strategy session (with its
    data-sharing matrix), a data security review, the member communication plan, the sunset plan,
    lessons learned or a celebration. ``data`` holds the practice's structured record."""

    __tablename__ = "partnership_practice"
    __table_args__ = (Index("ix_partnership_practice_contract_kind", "contract_id", "kind"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # rules.PRACTICES key
    phase: Mapped[str] = mapped_column(String(20))  # contracts.rules.Phase
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="planned")  # planned | done | closed
    scheduled_on: Mapped[date | None] = mapped_column(Date)
    held_on: Mapped[date | None] = mapped_column(Date)
    owner_party: Mapped[str] = mapped_column(String(10), default="both")  # plan | partner | both
    assigned_to: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaseConference(IdMixin, Base):
    """A case conferencing session: smaller and more frequent than the JOC, about individual members."""

    __tablename__ = "case_conference"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[list] = mapped_column(JSON, default=list)  # ["Rosa Delgado (hub)", ...]
    notes: Mapped[str] = mapped_column(Text, default="")  # member identities replaced by "Case N"
    status: Mapped[str] = mapped_column(String(10), default="planned")  # planned | held
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    cases = relationship("ConferenceCase", order_by="ConferenceCase.position", back_populates="conference")


class ConferenceCase(IdMixin, Base):
    """A member on a session's case list, by referral (shown to each party under that referral's consent)."""

    __tablename__ = "case_conference_case"
    __table_args__ = (UniqueConstraint("conference_id", "referral_id"),)

    conference_id: Mapped[int] = mapped_column(ForeignKey("case_conference.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # "Case N" in the notes
    added_by_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    added_by: Mapped[str | None] = mapped_column(String(100))
    discussion: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[str] = mapped_column(Text, default="")
    follow_up_owner: Mapped[str] = mapped_column(String(200), default="")
    follow_up_due: Mapped[date | None] = mapped_column(Date)
    action_item_id: Mapped[int | None] = mapped_column(ForeignKey("joc_action_item.id", ondelete="SET NULL"))

    conference = relationship("CaseConference", back_populates="cases")
