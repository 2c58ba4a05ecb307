"""What the exchange keeps: each file import (with its SHA-256, so the same file is never imported
twice), FHIR resources as exchanged (ids, versions, the raw JSON for a faithful round trip), the
external FHIR servers we push referrals to and the outbound push queue with its retries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin


class ExchangeImport(IdMixin, Base):
    """One file offered for import, accepted or rejected. ``accepted_sha256`` is set only when the file
    was accepted: the unique constraint then refuses the same content twice for the same organization
    and layout, even from two imports racing, while a rejected file may be fixed and sent again."""

    __tablename__ = "exchange_import"
    __table_args__ = (
        UniqueConstraint("organization_id", "layout", "accepted_sha256"),
        Index("ix_exchange_import_org_at", "organization_id", "created_at"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(80))
    via: Mapped[str] = mapped_column(String(20), default="cli")  # web, api, cli, drop
    layout: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    accepted_sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))  # accepted, rejected
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list | None] = mapped_column(JSON)  # the first 1,000 problems (row, field, message)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FhirResource(IdMixin, Base):
    """A FHIR resource as exchanged through /fhir. ``local_type``/``local_id`` point at the socialcare
    row it maps onto (member, organization, referral...); ``body`` keeps the JSON last received or
    sent so elements socialcare does not model survive a round trip."""

    __tablename__ = "fhir_resource"
    __table_args__ = (
        UniqueConstraint("resource_type", "fhir_id"),
        Index("ix_fhir_resource_local", "local_type", "local_id"),
        Index("ix_fhir_resource_type_updated", "resource_type", "last_updated"),
    )

    resource_type: Mapped[str] = mapped_column(String(40))
    fhir_id: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(Integer, index=True)
    local_type: Mapped[str | None] = mapped_column(String(40))
    local_id: Mapped[int | None] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    body: Mapped[dict] = mapped_column(JSON)


class FhirEndpoint(IdMixin, Base):
    """An external organization's FHIR server. ``mode``: "direct" (we push Tasks to it and poll them
    back) or "light" (it has no server; its app polls ours with the IG's Task queries)."""

    __tablename__ = "fhir_endpoint"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), unique=True)
    base_url: Mapped[str | None] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(10), default="direct")
    bearer_token: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_poll_error: Mapped[str | None] = mapped_column(Text)  # None when the last poll went through

    organization = relationship("Organization")


class FhirOutbound(IdMixin, Base):
    """A resource waiting to be pushed (PUT) to an external FHIR server, retried with backoff.

    ``referral_id``/``referral_status``: the referral and the status this push tells the partner
    (a new referral, or the requester's cancellation); a status is pushed once."""

    __tablename__ = "fhir_outbound"
    __table_args__ = (Index("ix_fhir_outbound_due", "status", "next_attempt_at"),
                      Index("ix_fhir_outbound_referral", "referral_id", "referral_status"))

    endpoint_id: Mapped[int] = mapped_column(ForeignKey("fhir_endpoint.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"))
    referral_status: Mapped[str | None] = mapped_column(String(20))
    resource_type: Mapped[str] = mapped_column(String(40))
    fhir_id: Mapped[str] = mapped_column(String(64))  # the id on the partner's server
    body: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer)  # the partner server's last answer
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FhirSearchToken(IdMixin, Base):
    """The searchable tokens of a kept FHIR resource (identifier, status, code, and the references a
    Task search names: focus, owner, requester), written with each version, so a search by any of
    them is an indexed SQL query on both databases rather than a scan of JSON."""

    __tablename__ = "fhir_search_token"
    __table_args__ = (Index("ix_fhir_search_token_lookup", "name", "value"),)

    resource_id: Mapped[int] = mapped_column(ForeignKey("fhir_resource.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    system: Mapped[str | None] = mapped_column(String(300))
    value: Mapped[str] = mapped_column(String(300))


class FhirResourceVersion(IdMixin, Base):
    """Each version of a resource as it was served right after a FHIR write, for vread
    (GET [type]/[id]/_history/[vid])."""

    __tablename__ = "fhir_resource_version"
    __table_args__ = (UniqueConstraint("resource_type", "fhir_id", "version_id"),)

    resource_type: Mapped[str] = mapped_column(String(40))
    fhir_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[dict] = mapped_column(JSON)
