"""A referral's assignee within the organization that owns it, every (re)assignment kept, and the
note thread of a referral chain (the plan's referral and the hub's sub-referrals share one thread)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class ReferralAssignment(IdMixin, Base):
    """One assignment; the current one is the latest row of the referral (ended_at empty)."""

    __tablename__ = "referral_assignment"
    __table_args__ = (Index("ix_referral_assignment_user_open", "user_id", "ended_at"),)

    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assigned_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReferralNote(IdMixin, Base):
    """A note in a referral chain's thread, written by the referrer's or a receiver's staff."""

    __tablename__ = "referral_note"

    thread_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)  # the root
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))  # where it was written
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    username: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entered_in_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
