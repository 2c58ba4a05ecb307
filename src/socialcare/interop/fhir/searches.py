"""What each resource's search supports, and its criteria as SQL sources (search.py pages them).

``SPECS`` is the one list: the routes read it, and the CapabilityStatement is built from it and the
routes, so what is advertised is what is honoured.
"""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from socialcare.directory.models import Location, Organization, Service
from socialcare.interop.fhir import clinical, directory, store
from socialcare.interop.fhir import referrals as fref
from socialcare.interop.fhir.base import with_meta
from socialcare.interop.fhir.search import (
    REF_MODS,
    STRING_MODS,
    TOKEN_MODS,
    Criterion,
    Param,
    Query,
    Source,
    date_clause,
    ids_clause,
    string_clause,
    token_clause,
)
from socialcare.interop.models import FhirResource, FhirSearchToken
from socialcare.kit.codes import NEED_DOMAINS
from socialcare.members.models import Member
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.sharing import member_visibility

TOKEN = Param("token", TOKEN_MODS)
STRING = Param("string", STRING_MODS)
REF = Param("reference", REF_MODS)
DATE = Param("date")
ID = Param("token")

_CLINICAL = {"_id": ID, "_lastUpdated": DATE, "patient": REF, "subject": REF, "identifier": TOKEN, "status": TOKEN,
             "code": TOKEN}
SPECS: dict[str, dict[str, Param]] = {
    "Organization": {"_id": ID, "_lastUpdated": DATE, "name": STRING, "identifier": TOKEN},
    "Location": {"_id": ID, "organization": REF, "address-postalcode": STRING, "name": STRING},
    "HealthcareService": {"_id": ID, "_lastUpdated": DATE, "organization": REF, "service-category": TOKEN,
                          "name": STRING},
    "Patient": {"_id": ID, "_lastUpdated": DATE, "identifier": TOKEN, "family": STRING, "given": STRING,
                "name": STRING, "birthdate": DATE, "gender": TOKEN},
    "Task": {"_id": ID, "_lastUpdated": DATE, "identifier": TOKEN, "status": TOKEN, "code": TOKEN, "focus": REF,
             "owner": REF, "requester": REF, "patient": REF, "subject": REF, "part-of": REF},
    **{rtype: dict(_CLINICAL) for rtype in clinical.CLINICAL},
}
for _rt in ("Consent", "Goal", "QuestionnaireResponse"):  # no code element
    SPECS[_rt].pop("code")
SPECS["Consent"].pop("subject")
INCLUDES = {"Task": ("Task:focus", "Task:focus:ServiceRequest")}


def _ref_ids(db: Session, rtype: str, local_type: str, crit: Criterion) -> list[int]:
    """The rows reference values name; a value naming another resource type names none."""
    out = []
    for v in crit.values:
        parts = v.split("/_history/")[0].rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] != rtype:
            continue
        out.append(store.local_for_param(db, rtype, v, local_type))
    return out


def _bool(b: bool):
    return true() if b else false()


def _tokens(name: str, crit: Criterion):
    """Kept resources (FhirResource ids) with a token matching the criterion (OR of its values)."""
    ors = []
    for v in crit.values:
        sys_, bar, code = v.rpartition("|")
        cond = and_(FhirSearchToken.name == name, FhirSearchToken.value == (code if bar else v))
        if bar and sys_:
            cond = and_(cond, FhirSearchToken.system == sys_)
        ors.append(cond)
    return select(FhirSearchToken.resource_id).where(or_(*ors))


def _kept_token(crit: Criterion, name: str | None = None):
    """A token criterion on kept resources (FhirResource rows), :not included."""
    clause = FhirResource.id.in_(_tokens(name or crit.name, crit))
    return ~clause if crit.modifier == "not" else clause


def _kept_local(local_type: str, crit: Criterion, id_col):
    """Rows of ``id_col`` whose kept resource has a token matching ``crit`` (e.g. an Organization's
    identifiers as the partner sent them)."""
    return id_col.in_(select(FhirResource.local_id).where(FhirResource.local_type == local_type,
                                                          FhirResource.id.in_(_tokens(crit.name, crit))))


def _not(crit: Criterion, clause):
    return ~clause if crit.modifier == "not" else clause


# ---- directory ---------------------------------------------------------------------------------


def organization(db: Session, principal: Principal, q: Query) -> list[Source]:
    stmt = select(Organization)
    for c in q.criteria:
        if c.name == "_id":
            stmt = stmt.where(_not(c, ids_clause(Organization.id, c.values,
                                                 lambda v: store.local_id(db, "Organization", v, "organization"))))
        elif c.name == "name":
            stmt = stmt.where(string_clause([Organization.name], c))
        elif c.name == "_lastUpdated":
            stmt = stmt.where(date_clause(Organization.updated_at, c))
        elif c.name == "identifier":
            plain = Criterion(c.name, None, c.values)
            col = or_(_token_col(Organization.npi, plain, directory.NPI_SYSTEM),
                      _token_col(Organization.tax_id, plain, directory.TIN_SYSTEM),
                      _kept_local("organization", plain, Organization.id))
            stmt = stmt.where(_not(c, col) if c.modifier != "missing" else
                              (Organization.npi.is_(None) if c.values[0] == "true" else Organization.npi.is_not(None)))
    return [Source(stmt, Organization.id, lambda rows: [directory.organization_to_fhir(db, o) for o in rows])]


def _token_col(col, crit: Criterion, system: str):
    return token_clause(col, crit, system=system)


def location(db: Session, principal: Principal, q: Query) -> list[Source]:
    stmt = select(Location)
    for c in q.criteria:
        if c.name == "_id":
            stmt = stmt.where(ids_clause(Location.id, c.values, lambda v: int(v) if v.isdigit() else None))
        elif c.name == "organization":
            stmt = stmt.where(_ref(Location.organization_id, c, _ref_ids(db, "Organization", "organization", c)))
        elif c.name == "address-postalcode":
            stmt = stmt.where(string_clause([Location.postal_code], c))
        elif c.name == "name":
            stmt = stmt.where(string_clause([Location.name], c))
    return [Source(stmt, Location.id, lambda rows: [directory.location_to_fhir(db, x) for x in rows])]


def _ref(col, crit: Criterion, ids: list[int]):
    if crit.modifier == "missing":
        return col.is_(None) if crit.values[0] == "true" else col.is_not(None)
    return col.in_(ids)


def healthcare_service(db: Session, principal: Principal, q: Query) -> list[Source]:
    stmt = select(Service).options(selectinload(Service.organization).selectinload(Organization.locations))
    for c in q.criteria:
        if c.name == "_id":
            stmt = stmt.where(_not(c, ids_clause(Service.id, c.values, lambda v: int(v) if v.isdigit() else None)))
        elif c.name == "organization":
            stmt = stmt.where(_ref(Service.organization_id, c, _ref_ids(db, "Organization", "organization", c)))
        elif c.name == "service-category":
            domains = [d.value for d, info in NEED_DOMAINS.items() for v in c.values
                       if v.split("|")[-1] in (info.sdoh_category, d.value)]
            stmt = stmt.where(_not(c, Service.need_domain.in_(domains)) if c.modifier != "missing" else true())
        elif c.name == "name":
            stmt = stmt.where(string_clause([Service.name], c))
        elif c.name == "_lastUpdated":
            stmt = stmt.where(date_clause(Service.updated_at, c))
    return [Source(stmt, Service.id, lambda rows: [directory.service_to_fhir(db, s) for s in rows])]


# ---- Patient -------------------------------------------------------------------------------------

GENDER_TO_SEX = {v: k for k, v in directory.SEX_TO_GENDER.items()}


def patient(db: Session, principal: Principal, q: Query) -> list[Source]:
    stmt = select(Member).where(member_visibility(principal))
    for c in q.criteria:
        if c.name == "_id":
            stmt = stmt.where(_not(c, ids_clause(Member.id, c.values,
                                                 lambda v: store.local_id(db, "Patient", v, "member"))))
        elif c.name == "identifier":
            plain = Criterion(c.name, None, c.values)
            clause = or_(Member.plan_member_id.in_([v.rpartition("|")[2] for v in c.values]),
                         _kept_local("member", plain, Member.id))
            stmt = stmt.where(false() if c.modifier == "missing" else _not(c, clause))
        elif c.name == "family":
            stmt = stmt.where(string_clause([Member.last_name], c))
        elif c.name == "given":
            stmt = stmt.where(string_clause([Member.first_name], c))
        elif c.name == "name":
            stmt = stmt.where(string_clause([Member.last_name, Member.first_name], c))
        elif c.name == "birthdate":
            stmt = stmt.where(date_clause(Member.birth_date, c, is_date=True))
        elif c.name == "gender":
            stmt = stmt.where(token_clause(Member.sex, c, system="http://hl7.org/fhir/administrative-gender",
                                           mapping=lambda g: GENDER_TO_SEX.get(g, g)))
        elif c.name == "_lastUpdated":
            stmt = stmt.where(date_clause(Member.updated_at, c))

    def render(rows):
        audit.record_member_reads(db, principal, [m.id for m in rows], action="member.list")
        return [directory.patient_to_fhir(db, m) for m in rows]

    return [Source(stmt, Member.id, render)]


# ---- Task: referrals, then Tasks for Patient ------------------------------------------------------


def task(db: Session, principal: Principal, q: Query) -> list[Source]:
    from socialcare.referrals.models import Referral
    from socialcare.referrals.repository import referral_visibility

    principal.require("referrals:read")
    refs = select(Referral).where(referral_visibility(principal))
    kept = select(FhirResource).where(
        FhirResource.resource_type == "Task", FhirResource.local_type == "patient-task",
        FhirResource.member_id.in_(select(Member.id).where(member_visibility(principal))))
    ref_task_tokens = select(FhirResource.local_id).where(FhirResource.resource_type == "Task",
                                                          FhirResource.local_type == "referral")

    def org_ids(c: Criterion) -> list[int]:
        return _ref_ids(db, "Organization", "organization", c)

    for c in q.criteria:
        n = c.name
        if n == "_id":
            ids = [store.local_id(db, "Task", v, "referral") for v in c.values]
            refs = refs.where(_not(c, Referral.id.in_([i for i in ids if i is not None])))
            kept = kept.where(_not(c, FhirResource.fhir_id.in_(c.values)))
        elif n == "_lastUpdated":
            refs = refs.where(date_clause(Referral.updated_at, c))
            kept = kept.where(date_clause(FhirResource.last_updated, c))
        elif n == "status":
            if c.modifier == "missing":
                refs, kept = refs.where(_bool(c.values[0] != "true")), kept.where(_bool(c.values[0] != "true"))
                continue
            refs = refs.where(token_clause(Referral.status, c, system="http://hl7.org/fhir/task-status"))
            kept = kept.where(_kept_token(c))
        elif n == "code":
            fulfill = any(v.rpartition("|")[2] == "fulfill" and v.rpartition("|")[0] in (
                "", "http://hl7.org/fhir/CodeSystem/task-code") for v in c.values)
            if c.modifier == "missing":
                fulfill = c.values[0] != "true"
            refs = refs.where(true() if fulfill != (c.modifier == "not") else false())
            kept = kept.where(_kept_token(c) if c.modifier != "missing" else true())
        elif n == "identifier":
            plain = Criterion(n, None, c.values)
            refs = refs.where(_not(c, Referral.id.in_(ref_task_tokens.where(FhirResource.id.in_(_tokens(n, plain))))))
            kept = kept.where(_kept_token(c))
        elif n == "focus":
            if c.modifier == "missing":
                refs, kept = refs.where(_bool(c.values[0] != "true")), kept.where(false())
                continue
            ids = [store.local_for_param(db, "ServiceRequest", v, "referral") for v in c.values]
            refs = refs.where(Referral.id.in_(ids))
            kept = kept.where(FhirResource.id.in_(_tokens("focus", _typed(c, "ServiceRequest"))))
        elif n in ("owner", "requester"):
            col = Referral.owner_org_id if n == "owner" else Referral.requester_org_id
            if c.modifier == "missing":
                refs = refs.where(col.is_(None) if c.values[0] == "true" else col.is_not(None))
                kept = kept.where(false() if c.values[0] == "true" else true())
                continue
            refs = refs.where(col.in_(org_ids(c)))
            kept = kept.where(FhirResource.id.in_(_tokens(n, _typed(c, "Organization"))))
        elif n in ("patient", "subject"):
            if c.modifier == "missing":
                refs, kept = refs.where(_bool(c.values[0] != "true")), kept.where(_bool(c.values[0] != "true"))
                continue
            ids = _ref_ids(db, "Patient", "member", c)
            refs = refs.where(Referral.member_id.in_(ids))
            kept = kept.where(FhirResource.member_id.in_(ids))
        elif n == "part-of":
            if c.modifier == "missing":
                refs = refs.where(Referral.parent_id.is_(None) if c.values[0] == "true" else Referral.parent_id.is_not(None))
                kept = kept.where(_bool(c.values[0] == "true"))
                continue
            refs = refs.where(Referral.parent_id.in_(_ref_ids(db, "Task", "referral", c)))
            kept = kept.where(false())

    def render_refs(rows):
        audit.record(db, principal, "fhir.task.search", object_type="referral", detail={"count": len(rows)})
        return [fref.task_to_fhir(db, r) for r in rows]

    def render_kept(rows):
        audit.record_member_reads(db, principal, sorted({r.member_id for r in rows}), action="member.read")
        return [with_meta(dict(r.body), r.version_id, r.last_updated) for r in rows]

    return [Source(refs, Referral.id, render_refs), Source(kept, FhirResource.id, render_kept)]


def _typed(c: Criterion, rtype: str) -> Criterion:
    """Reference values as the token index keeps them ("Organization/12")."""
    out = []
    for v in c.values:
        parts = v.split("/_history/")[0].rstrip("/").split("/")
        out.append(f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else f"{rtype}/{v}")
    return Criterion(c.name, None, out)


def task_includes(db: Session, page_rows: list) -> list[dict]:
    from socialcare.referrals.models import Referral

    return [fref.sr_to_fhir(db, r) for r in page_rows if isinstance(r, Referral)]


# ---- clinical resources: kept as exchanged (and Procedures derived from completed referrals) -----


def clinical_search(rtype: str):
    def run(db: Session, principal: Principal, q: Query) -> list[Source]:
        kept = select(FhirResource).where(
            FhirResource.resource_type == rtype,
            FhirResource.member_id.in_(select(Member.id).where(member_visibility(principal))))
        derived = None
        if rtype == "Procedure":
            from socialcare.referrals.models import Referral
            from socialcare.referrals.repository import referral_visibility

            derived = select(Referral).where(
                Referral.status == "completed", referral_visibility(principal),
                Referral.member_id.in_(select(Member.id).where(member_visibility(principal))))
        for c in q.criteria:
            n = c.name
            if n == "_id":
                kept = kept.where(_not(c, FhirResource.fhir_id.in_(c.values)))
                if derived is not None:
                    ids = [fref.derived_procedure_referral_id(v) for v in c.values]
                    derived = derived.where(_not(c, Referral.id.in_([i for i in ids if i is not None])))
            elif n == "_lastUpdated":
                kept = kept.where(date_clause(FhirResource.last_updated, c))
                if derived is not None:
                    derived = derived.where(date_clause(Referral.updated_at, c))
            elif n in ("patient", "subject"):
                ids = _ref_ids(db, "Patient", "member", c)
                kept = kept.where(FhirResource.member_id.in_(ids) if c.modifier != "missing" else _bool(c.values[0] != "true"))
                if derived is not None:
                    derived = derived.where(Referral.member_id.in_(ids) if c.modifier != "missing"
                                            else _bool(c.values[0] != "true"))
            elif n in ("identifier", "status", "code"):
                kept = kept.where(_kept_token(c) if c.modifier != "missing" else true())
                if derived is not None:
                    if n == "status":
                        derived = derived.where(token_clause(_const_completed(), c))
                    elif c.modifier != "not":
                        derived = derived.where(false())

        def render_kept(rows):
            audit.record_member_reads(db, principal, sorted({r.member_id for r in rows}), action="member.read")
            return [with_meta(dict(r.body), r.version_id, r.last_updated) for r in rows]

        sources = [Source(kept, FhirResource.id, render_kept)]
        if derived is not None:
            def render_derived(rows):
                audit.record_member_reads(db, principal, sorted({r.member_id for r in rows}), action="member.read")
                return [fref.procedure_to_fhir(db, r) for r in rows]

            sources.append(Source(derived, Referral.id, render_derived))
        return sources

    return run


def _const_completed():
    from sqlalchemy import literal

    return literal("completed")


SEARCHES = {
    "Organization": organization, "Location": location, "HealthcareService": healthcare_service,
    "Patient": patient, "Task": task, **{rt: clinical_search(rt) for rt in clinical.CLINICAL},
}
