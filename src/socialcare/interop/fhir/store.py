"""FHIR ids <-> socialcare rows, and the resources kept as exchanged.

A resource socialcare created has the row id as its FHIR id ("Organization/12"). A resource that
came from outside keeps the id it came with ("Organization/SDOHCC-OrganizationClinicExample"):
``fhir_resource`` maps it to the row and keeps its JSON, so elements socialcare does not model
(extensions, a PractitionerRole requester, display texts) survive the round trip.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from socialcare.core.clock import parse_instant, utcnow
from socialcare.interop.fhir.tokens import extract
from socialcare.interop.models import FhirResource, FhirResourceVersion, FhirSearchToken


def record(session: Session, rtype: str, fhir_id: str) -> FhirResource | None:
    return session.scalar(select(FhirResource).where(FhirResource.resource_type == rtype,
                                                     FhirResource.fhir_id == fhir_id))


def for_local(session: Session, rtype: str, local_type: str, local_id: int) -> FhirResource | None:
    return session.scalar(select(FhirResource).where(
        FhirResource.resource_type == rtype, FhirResource.local_type == local_type, FhirResource.local_id == local_id,
    ).order_by(FhirResource.id))


def fhir_id(session: Session, rtype: str, local_type: str, local_id: int | None) -> str | None:
    if local_id is None:
        return None
    rec = for_local(session, rtype, local_type, local_id)
    return rec.fhir_id if rec else str(local_id)


def local_id(session: Session, rtype: str, fid: str | None, local_type: str) -> int | None:
    """The row a FHIR id stands for: a mapped id first, else our own numeric id."""
    if not fid:
        return None
    rec = record(session, rtype, fid)
    if rec is not None:
        return rec.local_id if rec.local_type == local_type else None
    return int(fid) if fid.isdigit() else None


def local_for_param(session: Session, rtype: str, value: str, local_type: str) -> int:
    """The row a reference search parameter names ("Organization/12", "12", or an absolute URL);
    -1 (matches nothing) when it names nothing here."""
    from socialcare.interop.fhir.base import ref_parts

    fid = ref_parts(value if "/" in value else f"{rtype}/{value}")[1]
    found = local_id(session, rtype, fid, local_type)
    return found if found is not None else -1


def save(session: Session, rtype: str, fid: str, body: dict, *, organization_id: int | None = None,
         member_id: int | None = None, local_type: str | None = None, local_id: int | None = None,
         served_before: bool = False) -> FhirResource:
    """Insert or update (new version) the kept JSON of a resource. ``served_before``: the row was
    already served as version 1 (an organization or member we had), so the first kept one is 2."""
    rec = record(session, rtype, fid)
    now = utcnow()
    if rec is None:
        rec = FhirResource(resource_type=rtype, fhir_id=fid, version_id=2 if served_before else 1, body=body, last_updated=now,
                           organization_id=organization_id, member_id=member_id, local_type=local_type,
                           local_id=local_id)
        session.add(rec)
    else:
        rec.body = body
        rec.version_id += 1
        rec.last_updated = now
        if member_id is not None:
            rec.member_id = member_id
        if local_type is not None:
            rec.local_type, rec.local_id = local_type, local_id
    session.flush()
    index(session, rec)
    return rec


def index(session: Session, rec: FhirResource) -> None:
    """(Re)write the searchable tokens of a kept resource."""
    session.execute(delete(FhirSearchToken).where(FhirSearchToken.resource_id == rec.id))
    rows = [{"resource_id": rec.id, "name": n, "system": s, "value": v} for n, s, v in extract(rec.body or {})]
    if rows:
        session.execute(insert(FhirSearchToken), rows)


def keep_version(session: Session, resource: dict) -> None:
    """Keep ``resource`` as served right after a write, for vread of its meta.versionId."""
    meta = resource.get("meta") or {}
    vid = meta.get("versionId")
    if not (vid and str(vid).isdigit()):
        return
    have = session.scalar(select(FhirResourceVersion.id).where(
        FhirResourceVersion.resource_type == resource["resourceType"], FhirResourceVersion.fhir_id == resource["id"],
        FhirResourceVersion.version_id == int(vid)))
    when: datetime = parse_instant(meta["lastUpdated"]) if meta.get("lastUpdated") else utcnow()
    if have is None:
        session.add(FhirResourceVersion(resource_type=resource["resourceType"], fhir_id=resource["id"],
                                        version_id=int(vid), last_updated=when, body=resource))
        session.flush()


def version(session: Session, rtype: str, fid: str, vid: int) -> dict | None:
    row = session.scalar(select(FhirResourceVersion).where(
        FhirResourceVersion.resource_type == rtype, FhirResourceVersion.fhir_id == fid,
        FhirResourceVersion.version_id == vid))
    return dict(row.body) if row else None
