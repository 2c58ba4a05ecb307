"""A notification is one message to one user (inbox row, and its email if the user wants one).

Texts carry no member identifiers (no name, no date of birth): a referral number, the organizations
and a link are the minimum necessary; the member's details stay behind the sign-in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class Notification(IdMixin, Base):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "dedup_key"),
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_email_status", "email_status"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # rules.KINDS
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="/")
    dedup_key: Mapped[str | None] = mapped_column(String(120))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # None: no email wanted; pending: to send now; digest: in the next daily digest; sent; failed
    email_status: Mapped[str | None] = mapped_column(String(12))
    email_to: Mapped[str | None] = mapped_column(String(200))
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)


class NotificationPreference(Base):
    """How one user wants one kind of notification; no row = the defaults (rules.DEFAULT_PREFERENCE)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
