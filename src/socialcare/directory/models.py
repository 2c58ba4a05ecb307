"""Plans, hubs and CBOs, the services they offer and where. Mappable to Open Referral HSDS 3.0:
Organization -> organization, Location -> location (+ address), Service -> service
(+ service_area, language, attribute with the need-domain taxonomy term), and each service is
offered at its organization's locations (service_at_location)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialcare.core.db import Base
from socialcare.kit.models import IdMixin, TimestampMixin


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organization"

    kind: Mapped[str] = mapped_column(String(30), index=True)  # kit.codes.OrgKind
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    npi: Mapped[str | None] = mapped_column(String(10))
    tax_id: Mapped[str | None] = mapped_column(String(10))
    taxonomy_code: Mapped[str | None] = mapped_column(String(10))  # NUCC, for claims
    address_1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    county: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[str | None] = mapped_column(Text)  # opening hours in the organization's words (HSDS schedule)
    # IANA zone every time is shown in to this organization's users (web/localization.py)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")

    services = relationship("Service", back_populates="organization", order_by="Service.name")
    locations = relationship("Location", back_populates="organization", order_by="Location.id")
    service_areas = relationship(
        "ServiceArea",
        primaryjoin="and_(ServiceArea.organization_id == Organization.id, ServiceArea.service_id.is_(None))",
        viewonly=True,
    )


class HubNetworkMembership(IdMixin, Base):
    """A CBO in a community care hub's network, from start_date to end_date (open when None)."""

    __tablename__ = "hub_network_membership"
    __table_args__ = (UniqueConstraint("hub_id", "cbo_id", "start_date"),)

    hub_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    cbo_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    hub = relationship("Organization", foreign_keys=[hub_id])
    cbo = relationship("Organization", foreign_keys=[cbo_id])


class Location(IdMixin, Base):
    __tablename__ = "location"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    location_type: Mapped[str] = mapped_column(String(10), default="physical")  # physical|postal|virtual
    address_1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    county: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()

    organization = relationship("Organization", back_populates="locations")


class Service(IdMixin, TimestampMixin, Base):
    """A service an organization offers, tagged with its social need domain."""

    __tablename__ = "service"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    need_domain: Mapped[str] = mapped_column(String(40), index=True)  # kit.codes.NeedDomain
    service_code: Mapped[str | None] = mapped_column(String(20))  # HCPCS/CPT with modifiers, e.g. S5170-U6
    unit: Mapped[str] = mapped_column(String(40), default="service")  # meal, 15 minutes, trip, episode
    capacity_per_month: Mapped[int | None] = mapped_column(Integer)
    languages: Mapped[list] = mapped_column(JSON, default=list)  # ISO 639-1 codes, e.g. ["en", "es"]
    status: Mapped[str] = mapped_column(String(20), default="active")  # HSDS service.status
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)

    organization = relationship("Organization", back_populates="services")
    service_areas = relationship("ServiceArea", back_populates="service")


class ServiceArea(IdMixin, Base):
    """Where an organization (service_id empty) or one of its services works: a county, or a zip."""

    __tablename__ = "service_area"
    __table_args__ = (
        Index("ix_service_area_county", "state", "county"),
        Index("ix_service_area_zip", "postal_code"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    county: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))

    service = relationship("Service", back_populates="service_areas")
