"""Users, API tokens and the append-only audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
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


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organization = relationship("Organization", lazy="joined")


class ApiToken(IdMixin, Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user = relationship("User", lazy="joined")


class AuditEvent(IdMixin, Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see the foundation migration)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_member_at", "member_id", "at"),
        Index("ix_audit_event_org_at", "organization_id", "at"),
    )

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(80))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(80))
    member_id: Mapped[int | None] = mapped_column(Integer)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    via: Mapped[str | None] = mapped_column(String(20))  # web, api, cli, fhir, job
    detail: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


class WebSession(IdMixin, Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    database leak does not leak live sessions. Signing out deletes the row."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user = relationship("User", lazy="joined")


class OrgSignIn(IdMixin, Base):
    """How an organization's people sign in: its OpenID Connect provider (discovery URL, client,
    allowed email domains, which claim says the role), whether local passwords need a second factor
    (TOTP), and how long a browser session lasts (idle and absolute)."""

    __tablename__ = "org_sign_in"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), unique=True)
    oidc_discovery_url: Mapped[str | None] = mapped_column(String(400))
    oidc_client_id: Mapped[str | None] = mapped_column(String(200))
    oidc_client_secret: Mapped[str | None] = mapped_column(String(400))
    allowed_email_domains: Mapped[list] = mapped_column(JSON, default=list)
    role_claim: Mapped[str] = mapped_column(String(80), default="groups")
    role_map: Mapped[dict] = mapped_column(JSON, default=dict)  # claim value -> role
    passwords_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    require_totp: Mapped[bool] = mapped_column(Boolean, default=False)
    idle_timeout_minutes: Mapped[int | None] = mapped_column(Integer)
    absolute_lifetime_hours: Mapped[int | None] = mapped_column(Integer)


class UserTotp(IdMixin, Base):
    """A user's TOTP secret (RFC 6238). Unconfirmed until the first code from the authenticator app;
    ``last_step`` refuses a code used once already."""

    __tablename__ = "user_totp"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_step: Mapped[int | None] = mapped_column(Integer)


class UserIdentity(IdMixin, Base):
    """An account signed in through an OpenID provider: the provider's issuer and subject."""

    __tablename__ = "user_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
