"""Joint operating committees (JOC) and their meetings.

Seed 002_9f9b125fbb7ccb6a.txt ("Operationalizing contracts": establish and run a joint operating
committee; "Template: Joint operating committee meetings"): each contract has a committee that meets
at a standing time (monthly as a best practice) with a core team (administrative and programmatic
leads) and additional participants as needed; each meeting follows the template's agenda (member
story, data presentation, process improvements and program updates, organizational updates),
records decisions and action items (which carry over until closed), and is followed by the notes
and slides sent to the core team and those absent.
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


class Committee(IdMixin, TimestampMixin, Base):
    """A contract's joint operating committee and its standing cadence."""

    __tablename__ = "joc_committee"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[str] = mapped_column(String(20), default="monthly")  # monthly | biweekly | quarterly
    standing_time: Mapped[str] = mapped_column(String(120), default="")  # "second Tuesday, 10:00-11:00"
    location: Mapped[str] = mapped_column(String(200), default="")  # room or video link
    purpose: Mapped[str] = mapped_column(Text, default="")

    participants = relationship("Participant", order_by="Participant.id", back_populates="committee")
    meetings = relationship("Meeting", order_by="Meeting.month", back_populates="committee")


class Participant(IdMixin, Base):
    """A standing participant: the core team, or an additional participant invited as needed."""

    __tablename__ = "joc_participant"

    committee_id: Mapped[int] = mapped_column(ForeignKey("joc_committee.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(40))  # rules.PARTICIPANT_ROLES key
    core: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    committee = relationship("Committee", back_populates="participants")


class Meeting(IdMixin, TimestampMixin, Base):
    """One meeting, for one month of data, with the template's agenda sections."""

    __tablename__ = "joc_meeting"
    __table_args__ = (UniqueConstraint("committee_id", "month"),)

    committee_id: Mapped[int] = mapped_column(ForeignKey("joc_committee.id", ondelete="CASCADE"), index=True)
    month: Mapped[date] = mapped_column(Date)  # the month of data presented (first day)
    held_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="planned")  # planned | held | sent
    attendee_ids: Mapped[list] = mapped_column(JSON, default=list)  # Participant ids present
    # Member story: told only with the member's consent, and never with an identifier (rules.check_member_story)
    story_title: Mapped[str] = mapped_column(String(200), default="")
    member_story: Mapped[str] = mapped_column(Text, default="")
    story_presenter: Mapped[str] = mapped_column(String(200), default="")
    story_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    story_consent_method: Mapped[str | None] = mapped_column(String(20))  # verbal | written | electronic
    story_consent_on: Mapped[date | None] = mapped_column(Date)
    story_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))  # checked against
    story_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Data presentation: the month's scorecard frozen when the meeting is prepared (JSON, full counts)
    scorecard: Mapped[dict | None] = mapped_column(JSON)
    scorecard_frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data_notes: Mapped[str] = mapped_column(Text, default="")
    # Process improvements and program updates: the template's questions -> notes
    process_notes: Mapped[dict] = mapped_column(JSON, default=dict)
    plan_updates: Mapped[str] = mapped_column(Text, default="")  # organizational updates: the payer
    partner_updates: Mapped[str] = mapped_column(Text, default="")  # organizational updates: the CBO / hub
    plan_only_notes: Mapped[str] = mapped_column(Text, default="")  # the plan's internal notes, never shared
    report_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report_sent_by: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)

    committee = relationship("Committee", back_populates="meetings")
    decisions = relationship("Decision", order_by="Decision.id", back_populates="meeting")


class Decision(IdMixin, Base):
    __tablename__ = "joc_decision"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("joc_meeting.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    meeting = relationship("Meeting", back_populates="decisions")


class ActionItem(IdMixin, Base):
    """A follow-up with an owner and a due date; it stays on every meeting's agenda until closed."""

    __tablename__ = "joc_action_item"
    __table_args__ = (Index("ix_joc_action_item_committee_status", "committee_id", "status"),)

    committee_id: Mapped[int] = mapped_column(ForeignKey("joc_committee.id", ondelete="CASCADE"))
    opened_meeting_id: Mapped[int] = mapped_column(ForeignKey("joc_meeting.id", ondelete="CASCADE"), index=True)
    closed_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("joc_meeting.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    owner_name: Mapped[str] = mapped_column(String(200))
    owner_side: Mapped[str] = mapped_column(String(10), default="plan")  # plan | partner | both
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | done | dropped
    closing_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
