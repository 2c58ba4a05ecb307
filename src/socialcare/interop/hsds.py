"""The resource directory as Open Referral HSDS 3.0: the API shape (fully nested organizations,
services, locations, services at locations, taxonomies and terms) and the tabular datapackage
(one CSV per table plus datapackage.json), both checked against the HSDS JSON Schemas; and the
import of HSDS data into the directory.

Mapping (see directory/models.py): Organization -> organization (+ phones, NPI as
organization_identifier, kind as an attribute), Location -> location (+ address, county as region),
Service -> service (+ languages, service_areas, the need domain and service code/unit/capacity as
attributes). Each service is offered at each of its organization's locations (service_at_location).

HSDS ids are UUIDs: ours are derived (uuid5) from the table and row id, so the same row always has
the same HSDS id and an export can be compared with the previous one.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from socialcare.core.errors import InvalidInput, Problem
from socialcare.directory import service as directory_service
from socialcare.directory.models import Location, Organization, Service, ServiceArea
from socialcare.kit.codes import NEED_DOMAINS, ORG_KIND_LABELS, NeedDomain, OrgKind
from socialcare.security import audit
from socialcare.security.principal import Principal

HSDS_VERSION = "3.0"
NS = uuid.UUID("6f1c2b1e-3f4a-5b6c-8d7e-9fa0b1c2d3e4")  # fixed: the same row keeps its HSDS id

NEED_TAXONOMY = "socialcare-need-domain"
KIND_TAXONOMY = "socialcare-organization-kind"
DETAIL_TAXONOMY = "socialcare-service-detail"
DETAIL_TERMS = {
    "service_code": "HCPCS/CPT code with modifiers used to bill or report the service",
    "unit": "The unit a service is counted and paid in (meal, 15 minutes, trip, episode)",
    "capacity_per_month": "How many units the organization can deliver in a month",
}
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "zh": "Chinese", "vi": "Vietnamese", "ar": "Arabic", "so": "Somali",
    "ru": "Russian", "fr": "French", "ht": "Haitian Creole", "ko": "Korean", "pt": "Portuguese", "ne": "Nepali",
    "bn": "Bengali", "ur": "Urdu", "pl": "Polish", "sw": "Swahili", "my": "Burmese", "uk": "Ukrainian",
}


def hid(kind: str, key: object) -> str:
    return str(uuid.uuid5(NS, f"{kind}:{key}"))


# ---- schemas -----------------------------------------------------------------------------------


def schema_dir() -> Path:
    """The HSDS 3.0 JSON Schemas: SOCIALCARE_HSDS_SCHEMA_DIR when set, else the copy shipped in the package
    (``hsds_schema/``, CC BY-SA 4.0; its NOTICE names the source and version). Nothing outside the package."""
    import os

    env = os.environ.get("SOCIALCARE_HSDS_SCHEMA_DIR")
    path = Path(env) if env else Path(__file__).resolve().parent / "hsds_schema"
    if not (path / "organization.json").is_file():
        raise FileNotFoundError(f"HSDS 3.0 schemas not found in {path}: SOCIALCARE_HSDS_SCHEMA_DIR must name a folder "
                                "holding the HSDS schema/*.json files")
    return path


@lru_cache(maxsize=4)
def _registry(path: str):
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = []
    for f in Path(path).glob("*.json"):
        if f.name == "openapi.json":
            continue
        resources.append((f.name, Resource.from_contents(json.loads(f.read_text()), default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=32)
def _validator(path: str, name: str):
    from jsonschema import Draft202012Validator, FormatChecker

    if name.startswith("compiled/"):
        schema = json.loads((Path(path) / name).read_text())
        return Draft202012Validator(schema, format_checker=FormatChecker())
    schema = {"$ref": name}
    return Draft202012Validator(schema, registry=_registry(path), format_checker=FormatChecker())


def validate(obj: object, schema_name: str, where: str = "") -> list[Problem]:
    """Every schema error of ``obj`` against one HSDS schema (e.g. "organization.json",
    "compiled/tabular.json"), with the JSON path of the bad element."""
    v = _validator(str(schema_dir()), schema_name)
    out = []
    for err in sorted(v.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        path = "/".join(str(p) for p in err.absolute_path)
        out.append(Problem(err.message[:300], field=path or None, file=where or schema_name))
    return out


# ---- export ------------------------------------------------------------------------------------


def _clean(d: dict) -> dict:
    """HSDS leaves out unknown values rather than sending nulls (the schemas type them as strings)."""
    return {k: v for k, v in d.items() if v is not None and v != "" and v != []}


def taxonomies() -> list[dict]:
    return [
        {"id": hid("taxonomy", NEED_TAXONOMY), "name": "socialcare need domains",
         "description": "The social need a service addresses; each maps to a Gravity Project SDOH category.",
         "uri": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes",
         "version": "1"},
        {"id": hid("taxonomy", KIND_TAXONOMY), "name": "socialcare organization kinds",
         "description": "Health plan, community care hub or community-based organization (CBO).", "version": "1"},
        {"id": hid("taxonomy", DETAIL_TAXONOMY), "name": "socialcare service details",
         "description": "Billing code, unit and monthly capacity of a service, carried as attribute values.",
         "version": "1"},
    ]


def taxonomy_terms() -> list[dict]:
    terms = []
    for d, info in NEED_DOMAINS.items():
        terms.append({
            "id": hid("term", f"{NEED_TAXONOMY}:{d.value}"), "code": d.value, "name": info.label,
            "description": f"{info.label} (Gravity SDOH category {info.sdoh_category})",
            "taxonomy": NEED_TAXONOMY, "taxonomy_id": hid("taxonomy", NEED_TAXONOMY), "language": "en",
        })
    for k, label in ORG_KIND_LABELS.items():
        terms.append({
            "id": hid("term", f"{KIND_TAXONOMY}:{k.value}"), "code": k.value, "name": label, "description": label,
            "taxonomy": KIND_TAXONOMY, "taxonomy_id": hid("taxonomy", KIND_TAXONOMY), "language": "en",
        })
    for code, desc in DETAIL_TERMS.items():
        terms.append({
            "id": hid("term", f"{DETAIL_TAXONOMY}:{code}"), "code": code, "name": code.replace("_", " "),
            "description": desc, "taxonomy": DETAIL_TAXONOMY, "taxonomy_id": hid("taxonomy", DETAIL_TAXONOMY),
            "language": "en",
        })
    return terms


def _term(taxonomy: str, code: str) -> dict:
    tid = hid("term", f"{taxonomy}:{code}")
    return next(t for t in taxonomy_terms() if t["id"] == tid)


def _attribute(link_entity: str, link_id: str, taxonomy: str, code: str, value: str | None = None) -> dict:
    term = _term(taxonomy, code)
    return _clean({
        "id": hid("attribute", f"{link_entity}:{link_id}:{taxonomy}:{code}"), "link_id": link_id,
        "link_type": taxonomy, "link_entity": link_entity, "taxonomy_term_id": term["id"], "value": value,
        "taxonomy_term": term,
    })


def _address(loc: Location) -> list[dict]:
    if not (loc.address_1 and loc.city and loc.state and loc.postal_code):
        return []
    return [_clean({
        "id": hid("address", loc.id), "location_id": hid("location", loc.id), "address_1": loc.address_1,
        "city": loc.city, "region": f"{loc.county} County" if loc.county else None, "state_province": loc.state,
        "postal_code": loc.postal_code, "country": "US",
        "address_type": loc.location_type if loc.location_type in ("physical", "postal") else "physical",
    })]


def location_obj(loc: Location) -> dict:
    return _clean({
        "id": hid("location", loc.id), "location_type": loc.location_type or "physical",
        "organization_id": hid("organization", loc.organization_id), "name": loc.name,
        "latitude": loc.latitude, "longitude": loc.longitude, "addresses": _address(loc),
    })


def _service_areas(svc: Service, org_areas: list[ServiceArea]) -> list[dict]:
    areas = svc.service_areas or org_areas  # a service without its own areas serves its organization's
    out = []
    for a in areas:
        name = f"{a.county} County, {a.state}" if a.county else f"{a.postal_code}, {a.state}"
        out.append(_clean({
            "id": hid("service_area", f"{svc.id}:{a.id}"), "service_id": hid("service", svc.id), "name": name,
            "description": f"Residents of {name}",
        }))
    return out


def service_at_location_obj(svc: Service, loc: Location, nested_location: bool = True) -> dict:
    d = {"id": hid("service_at_location", f"{svc.id}:{loc.id}"), "service_id": hid("service", svc.id),
         "location_id": hid("location", loc.id), "description": f"{svc.name} at {loc.name}"}
    if nested_location:
        d["location"] = location_obj(loc)
    return d


def service_obj(svc: Service, org: Organization, org_areas: list[ServiceArea], nested: bool = True) -> dict:
    sid = hid("service", svc.id)
    attrs = [_attribute("service", sid, NEED_TAXONOMY, svc.need_domain)] if svc.need_domain in NEED_DOMAINS else []
    if svc.service_code:
        attrs.append(_attribute("service", sid, DETAIL_TAXONOMY, "service_code", svc.service_code))
    if svc.unit:
        attrs.append(_attribute("service", sid, DETAIL_TAXONOMY, "unit", svc.unit))
    if svc.capacity_per_month is not None:
        attrs.append(_attribute("service", sid, DETAIL_TAXONOMY, "capacity_per_month", str(svc.capacity_per_month)))
    d = {
        "id": sid, "organization_id": hid("organization", org.id), "name": svc.name,
        "description": svc.description, "status": svc.status if svc.status in (
            "active", "inactive", "defunct", "temporarily closed") else "active",
        "email": org.email, "url": org.website,
        "eligibility_description": svc.eligibility_description, "minimum_age": svc.minimum_age,
        "maximum_age": svc.maximum_age,
        "languages": [
            _clean({"id": hid("language", f"{svc.id}:{code}"), "service_id": sid, "code": code,
                    "name": LANGUAGE_NAMES.get(code)})
            for code in (svc.languages or [])
        ],
        "service_areas": _service_areas(svc, org_areas),
        "attributes": attrs,
    }
    if nested:
        d["service_at_locations"] = [service_at_location_obj(svc, loc) for loc in org.locations]
    return _clean(d)


def organization_obj(org: Organization, nested: bool = True) -> dict:
    oid = hid("organization", org.id)
    d = {
        "id": oid, "name": org.name, "description": org.description or org.name, "email": org.email,
        "website": org.website,
        "phones": [{"id": hid("phone", f"organization:{org.id}"), "organization_id": oid, "number": org.phone,
                    "type": "voice"}] if org.phone else [],
        "organization_identifiers": [
            {"id": hid("organization_identifier", f"{org.id}:npi"), "organization_id": oid,
             "identifier_scheme": "US-NPI", "identifier_type": "NPI", "identifier": org.npi}
        ] if org.npi else [],
        "attributes": [_attribute("organization", oid, KIND_TAXONOMY, org.kind)] if org.kind in {
            k.value for k in OrgKind} else [],
    }
    if nested:
        d["locations"] = [location_obj(loc) for loc in org.locations]
    return _clean(d)


def _load(session: Session) -> list[Organization]:
    return list(session.scalars(
        select(Organization).order_by(Organization.id).options(
            selectinload(Organization.locations),
            selectinload(Organization.services).selectinload(Service.service_areas),
            selectinload(Organization.service_areas),
        )
    ))


@dataclass
class HsdsExport:
    organizations: list[dict]
    services: list[dict]
    locations: list[dict]
    service_at_locations: list[dict]
    taxonomies: list[dict]
    taxonomy_terms: list[dict]

    def collections(self) -> dict[str, list[dict]]:
        return {"organizations": self.organizations, "services": self.services, "locations": self.locations,
                "service_at_locations": self.service_at_locations, "taxonomies": self.taxonomies,
                "taxonomy_terms": self.taxonomy_terms}


# Which HSDS schema each exported collection's items must satisfy.
API_SCHEMAS = {
    "organizations": "organization.json", "services": "service.json", "locations": "location.json",
    "service_at_locations": "service_at_location.json", "taxonomies": "taxonomy.json",
    "taxonomy_terms": "taxonomy_term.json",
}


def export_api(session: Session, principal: Principal) -> HsdsExport:
    """The whole directory in the HSDS API shape. The directory is shared by every partner (no member
    data), so any role that may read it may export it."""
    principal.require("directory:read")
    orgs = _load(session)
    services, locations, sals = [], [], []
    for org in orgs:
        org_areas = [a for a in org.service_areas]
        for svc in org.services:
            services.append(service_obj(svc, org, org_areas))
            sals.extend(service_at_location_obj(svc, loc) for loc in org.locations)
        locations.extend(location_obj(loc) for loc in org.locations)
    return HsdsExport(
        organizations=[organization_obj(o) for o in orgs], services=services, locations=locations,
        service_at_locations=sals, taxonomies=taxonomies(), taxonomy_terms=taxonomy_terms(),
    )


def validate_api(export: HsdsExport) -> list[Problem]:
    problems: list[Problem] = []
    for name, items in export.collections().items():
        for i, item in enumerate(items):
            for p in validate(item, API_SCHEMAS[name], where=f"{name}[{i}]"):
                problems.append(p)
    return problems


def page(items: list[dict], page_number: int = 1, per_page: int = 50) -> dict:
    """The HSDS API's paginated list envelope (openapi.json components/schemas/Page)."""
    total = len(items)
    pages = max(1, -(-total // per_page))
    start = (page_number - 1) * per_page
    contents = items[start:start + per_page]
    return {"total_items": total, "total_pages": pages, "page_number": page_number, "size": len(contents),
            "first_page": page_number == 1, "last_page": page_number >= pages, "empty": not contents,
            "contents": contents}


# ---- tabular datapackage -----------------------------------------------------------------------

TABLES = {  # HSDS object name -> CSV file name, in datapackage order
    "organization": "organizations.csv", "service": "services.csv", "location": "locations.csv",
    "address": "addresses.csv", "phone": "phones.csv", "service_at_location": "service_at_location.csv",
    "service_area": "service_areas.csv", "language": "languages.csv", "attribute": "attributes.csv",
    "organization_identifier": "organization_identifiers.csv", "taxonomy": "taxonomies.csv",
    "taxonomy_term": "taxonomy_terms.csv",
}


def _flat(d: dict) -> dict:
    return {k: v for k, v in d.items() if not isinstance(v, list | dict)}


def export_tabular(export: HsdsExport) -> dict[str, list[dict]]:
    """The export as HSDS tables (one-to-one fields only; children carry their parent's id)."""
    t: dict[str, list[dict]] = {name: [] for name in TABLES}
    for o in export.organizations:
        t["organization"].append(_flat(o))
        t["phone"].extend(_flat(p) for p in o.get("phones", []))
        t["organization_identifier"].extend(_flat(i) for i in o.get("organization_identifiers", []))
        t["attribute"].extend(_flat(a) for a in o.get("attributes", []))
    for loc in export.locations:
        t["location"].append(_flat(loc))
        t["address"].extend(_flat(a) for a in loc.get("addresses", []))
    for s in export.services:
        t["service"].append(_flat(s))
        t["language"].extend(_flat(x) for x in s.get("languages", []))
        t["service_area"].extend(_flat(x) for x in s.get("service_areas", []))
        t["attribute"].extend(_flat(a) for a in s.get("attributes", []))
    t["service_at_location"] = [_flat(x) for x in export.service_at_locations]
    t["taxonomy"] = [_flat(x) for x in export.taxonomies]
    t["taxonomy_term"] = [_flat(x) for x in export.taxonomy_terms]
    return t


def validate_tabular(tables: dict[str, list[dict]]) -> list[Problem]:
    return validate(tables, "compiled/tabular.json", where="datapackage")


STRING_FORMATS = ("email", "uri", "uuid")  # Table Schema string formats the HSDS schemas use


def field_descriptor(name: str, prop: dict, required: Iterable[str]) -> dict:
    """One Table Schema field with every rule the HSDS schema gives it: type (date, datetime and
    time from ``datapackage_type``/``format``), string format, required, unique, enum and bounds."""
    ftype = prop.get("datapackage_type") or {"number": "number", "integer": "integer", "boolean": "boolean"}.get(
        prop.get("type", ""), "string")
    if prop.get("format") == "date-time":
        ftype = "datetime"
    field = {"name": name, "type": ftype}
    if prop.get("title"):
        field["title"] = prop["title"]
    if prop.get("description"):
        field["description"] = prop["description"]
    if ftype == "string" and prop.get("format") in STRING_FORMATS:
        field["format"] = prop["format"]
    constraints: dict = {}
    if name in required:
        constraints["required"] = True
    if (prop.get("constraints") or {}).get("unique"):
        constraints["unique"] = True
    if prop.get("enum"):
        constraints["enum"] = list(prop["enum"])
    for k in ("minimum", "maximum", "minLength", "maxLength", "pattern"):
        if k in prop:
            constraints[k] = prop[k]
    if constraints:
        field["constraints"] = constraints
    return field


def datapackage(tables: dict[str, list[dict]]) -> dict:
    """A Frictionless datapackage descriptor whose table schemas carry every field rule of the HSDS
    schemas, so a frictionless validator refuses what the HSDS schemas refuse."""
    sd = schema_dir()
    resources = []
    for name, path in TABLES.items():
        schema = json.loads((sd / f"{name}.json").read_text())
        required = set(schema.get("required") or [])
        fields = [field_descriptor(k, v, required) for k, v in schema["properties"].items()
                  if v.get("type") not in ("array", "object") and "$ref" not in v]
        resources.append({
            "name": name, "path": path, "profile": "tabular-data-resource", "format": "csv",
            "mediatype": "text/csv", "encoding": "utf-8",
            "schema": {"fields": fields, "primaryKey": ["id"], "missingValues": [""]},
        })
    return {"name": "socialcare-directory", "title": "socialcare resource directory (HSDS 3.0)",
            "profile": "tabular-data-package", "version": HSDS_VERSION, "resources": resources}


def write_tabular(tables: dict[str, list[dict]], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    pkg = datapackage(tables)
    for res in pkg["resources"]:
        cols = [f["name"] for f in res["schema"]["fields"]]
        path = out_dir / res["path"]
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for row in tables.get(res["name"], []):
                w.writerow(row)
        written.append(path)
    (out_dir / "datapackage.json").write_text(json.dumps(pkg, indent=2))
    written.append(out_dir / "datapackage.json")
    return written


def write_export(session: Session, principal: Principal, out_dir: Path) -> dict[str, int]:
    """Write the API-shape JSON (one file per collection, in the HSDS Page envelope) and the tabular
    datapackage under ``out_dir/tabular``; refuse (nothing written) if anything fails the schemas."""
    export = export_api(session, principal)
    tables = export_tabular(export)
    problems = validate_api(export) + validate_tabular(tables)
    if problems:
        raise InvalidInput("The directory export does not validate against the HSDS 3.0 schemas.", problems)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, items in export.collections().items():
        body = page(items, 1, max(1, len(items)))
        (out_dir / f"{name}.json").write_text(json.dumps(body, indent=2))
    write_tabular(tables, out_dir / "tabular")
    audit.record(session, principal, "hsds.export", object_type="directory",
                 detail={k: len(v) for k, v in export.collections().items()})
    return {k: len(v) for k, v in export.collections().items()}


# ---- import ------------------------------------------------------------------------------------

STATE_RE = re.compile(r"^[A-Z]{2}$")
COUNTY_AREA_RE = re.compile(r"^(?P<county>.+?) County, (?P<state>[A-Z]{2})$")
ZIP_AREA_RE = re.compile(r"^(?P<zip>\d{5}), (?P<state>[A-Z]{2})$")


@dataclass
class HsdsImportResult:
    organizations_created: int = 0
    organizations_updated: int = 0
    locations_created: int = 0
    services_created: int = 0
    services_updated: int = 0
    warnings: list[str] = field(default_factory=list)


def _fit(value, length: int | None, what: str, warnings: list[str]):
    if value is None:
        return None
    value = str(value).strip()
    if length and len(value) > length:
        warnings.append(f"{what}: '{value[:40]}' is longer than {length} characters; not kept")
        return None
    return value or None


def _num(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _codes(attrs: Iterable[dict], taxonomy: str) -> dict[str, str | None]:
    """{term code: attribute value} for the attributes whose term belongs to ``taxonomy``."""
    out = {}
    for a in attrs or []:
        term = a.get("taxonomy_term") or {}
        if term.get("taxonomy") == taxonomy or a.get("link_type") == taxonomy:
            if term.get("code"):
                out[term["code"]] = a.get("value")
    return out


def collect(payload: dict | list) -> tuple[list[dict], list[dict]]:
    """Organizations and services from any HSDS JSON payload: one full object, a Page of them, a list,
    or the tabular form ({"organizations.csv": [...], ...} or {"organization": [...], ...})."""
    if isinstance(payload, list):
        orgs, svcs = [], []
        for item in payload:
            o, s = collect(item)
            orgs += o
            svcs += s
        return orgs, svcs
    if "contents" in payload:
        return collect(payload["contents"])
    tab = {k.removesuffix(".csv").rstrip("s") if k.endswith(".csv") else k: v for k, v in payload.items()}
    if isinstance(tab.get("organization"), list) or isinstance(tab.get("service"), list):
        return _from_tabular(payload)
    if "status" in payload and "name" in payload:  # a service
        return ([payload["organization"]] if isinstance(payload.get("organization"), dict) else []), [payload]
    if "name" in payload and "location_type" not in payload:  # an organization
        svcs = list(payload.get("services") or [])
        for s in svcs:
            s.setdefault("organization_id", payload.get("id"))
        return [payload], svcs
    return [], []


def _from_tabular(payload: dict) -> tuple[list[dict], list[dict]]:
    def table(name: str) -> list[dict]:
        return payload.get(name) or payload.get(TABLES.get(name, "")) or []

    terms = {t["id"]: t for t in table("taxonomy_term")}
    locs = {x["id"]: dict(x) for x in table("location")}
    for a in table("address"):
        if a.get("location_id") in locs:
            locs[a["location_id"]].setdefault("addresses", []).append(a)
    attrs: dict[str, list[dict]] = {}
    for a in table("attribute"):
        a = dict(a)
        a["taxonomy_term"] = terms.get(a.get("taxonomy_term_id"), {})
        attrs.setdefault(a.get("link_id"), []).append(a)
    orgs = []
    for o in table("organization"):
        o = dict(o)
        o["locations"] = [x for x in locs.values() if x.get("organization_id") == o["id"]]
        o["attributes"] = attrs.get(o["id"], [])
        o["phones"] = [p for p in table("phone") if p.get("organization_id") == o["id"]]
        o["organization_identifiers"] = [
            i for i in table("organization_identifier") if i.get("organization_id") == o["id"]]
        orgs.append(o)
    svcs = []
    for s in table("service"):
        s = dict(s)
        s["attributes"] = attrs.get(s["id"], [])
        s["languages"] = [x for x in table("language") if x.get("service_id") == s["id"]]
        s["service_areas"] = [x for x in table("service_area") if x.get("service_id") == s["id"]]
        svcs.append(s)
    return orgs, svcs


def import_hsds(
    session: Session, principal: Principal, payload: dict | list, *, default_kind: str = OrgKind.CBO,
    default_need_domain: str | None = None, source: str = "hsds",
) -> HsdsImportResult:
    """Add or update organizations, their locations and services from HSDS data. Organizations match
    by name, services by (organization, name). Every service needs a need domain: from our taxonomy
    attribute, else ``default_need_domain``; a service with neither is reported and nothing is written.
    Values that do not fit the directory (e.g. a state that is not a two-letter code) are left out and
    listed as warnings."""
    principal.require("directory:write")
    orgs, svcs = collect(payload)
    problems: list[Problem] = []
    if not orgs and not svcs:
        raise InvalidInput("No HSDS organizations or services found in this file.", [Problem("empty", file=source)])
    if default_need_domain and default_need_domain not in {d.value for d in NeedDomain}:
        problems.append(Problem(f"unknown need domain '{default_need_domain}'", field="default_need_domain"))
    for i, o in enumerate(orgs):
        problems += validate(_flat_for_check(o), "organization.json", where=f"{source} organization[{i}]")
    for i, s in enumerate(svcs):
        problems += validate(_flat_for_check(s), "service.json", where=f"{source} service[{i}]")
        domain = next(iter(_codes(s.get("attributes"), NEED_TAXONOMY)), None) or default_need_domain
        if domain not in {d.value for d in NeedDomain}:
            problems.append(Problem("no socialcare need domain (attribute) and no default need domain given",
                                    field="attributes", file=f"{source} service[{i}] {s.get('name', '')}"))
    if problems:
        raise InvalidInput("The HSDS data was not imported; nothing was written.", problems)

    result = HsdsImportResult()
    w = result.warnings
    by_hsds_id: dict[str, Organization] = {}
    not_ours: set[int] = set()
    ours: set[int] = set()  # created or updated by this import
    for o in orgs:
        name = _fit(o["name"], 200, "organization name", w)
        org = session.scalar(select(Organization).where(Organization.name == name))
        kind = next(iter(_codes(o.get("attributes"), KIND_TAXONOMY)), None) or default_kind
        npi = next((i.get("identifier") for i in o.get("organization_identifiers") or []
                    if (i.get("identifier_type") or "").upper() == "NPI"), None)
        phone = next((p.get("number") for p in o.get("phones") or []), None)
        values = dict(
            kind=kind, description=o.get("description") or "", email=_fit(o.get("email"), 200, "email", w),
            website=_fit(o.get("website"), 300, "website", w), npi=_fit(npi, 10, "NPI", w),
            phone=_fit(phone, 30, "phone", w),
        )
        if org is None:
            org = Organization(name=name, **values)
            session.add(org)
            result.organizations_created += 1
        elif not directory_service.may_edit_organization(session, principal, org):
            # another organization's listing: a file never rewrites it, nor adds to it
            w.append(f"organization '{name}' is another organization's listing; left unchanged")
            not_ours.add(org.id)
            by_hsds_id[o.get("id")] = org
            continue
        else:
            values.pop("kind")  # what kind of organization it is does not come from a file
            for k, v in values.items():
                if v is not None:
                    setattr(org, k, v)
            result.organizations_updated += 1
        session.flush()
        ours.add(org.id)
        by_hsds_id[o.get("id")] = org
        existing_locs = {loc.name for loc in session.scalars(select(Location).where(Location.organization_id == org.id))}
        for loc in o.get("locations") or []:
            lname = _fit(loc.get("name") or org.name, 200, "location name", w)
            if lname in existing_locs:
                continue
            addr = next(iter(loc.get("addresses") or []), {})
            state = (addr.get("state_province") or "").strip()
            if state and not STATE_RE.match(state):
                w.append(f"location '{lname}': state '{state}' is not a two-letter US state; not kept")
                state = None
            region = (addr.get("region") or "").removesuffix(" County").strip() or None
            session.add(Location(
                organization_id=org.id, name=lname,
                location_type=loc.get("location_type") if loc.get("location_type") in ("physical", "postal", "virtual") else "physical",
                address_1=_fit(addr.get("address_1"), 200, "address", w), city=_fit(addr.get("city"), 100, "city", w),
                state=state or None, postal_code=_fit(addr.get("postal_code"), 10, "postal code", w),
                county=_fit(region, 100, "county", w), latitude=_num(loc.get("latitude")), longitude=_num(loc.get("longitude")),
            ))
            existing_locs.add(lname)
            result.locations_created += 1
    session.flush()
    for s in svcs:
        org = by_hsds_id.get(s.get("organization_id"))
        if org is None:
            org_obj = s.get("organization") if isinstance(s.get("organization"), dict) else None
            org = session.scalar(select(Organization).where(Organization.name == (org_obj or {}).get("name")))
        if org is None:
            w.append(f"service '{s.get('name')}': its organization is not in the file or the directory; skipped")
            continue
        if org.id in not_ours or (org.id not in ours and not directory_service.may_edit_organization(
                session, principal, org)):
            if org.id not in not_ours:
                w.append(f"service '{s.get('name')}': {org.name} is another organization's listing; skipped")
            continue
        detail = _codes(s.get("attributes"), DETAIL_TAXONOMY)
        domain = next(iter(_codes(s.get("attributes"), NEED_TAXONOMY)), None) or default_need_domain
        cap = detail.get("capacity_per_month")
        values = dict(
            need_domain=domain, description=s.get("description") or "",
            status=s.get("status") if s.get("status") in ("active", "inactive", "defunct", "temporarily closed") else "active",
            eligibility_description=s.get("eligibility_description"),
            minimum_age=int(s["minimum_age"]) if s.get("minimum_age") not in (None, "") else None,
            maximum_age=int(s["maximum_age"]) if s.get("maximum_age") not in (None, "") else None,
            languages=sorted({(x.get("code") or "")[:2].lower() for x in s.get("languages") or [] if x.get("code")}),
            service_code=_fit(detail.get("service_code"), 20, "service code", w),
            unit=_fit(detail.get("unit"), 40, "unit", w) or "service",
            capacity_per_month=int(cap) if cap and str(cap).isdigit() else None,
        )
        name = _fit(s["name"], 200, "service name", w)
        svc = session.scalar(select(Service).where(Service.organization_id == org.id, Service.name == name))
        if svc is None:
            svc = Service(organization_id=org.id, name=name, **values)
            session.add(svc)
            session.flush()
            result.services_created += 1
            for area in s.get("service_areas") or []:
                m = COUNTY_AREA_RE.match(area.get("name") or "")
                z = ZIP_AREA_RE.match(area.get("name") or "")
                if m:
                    session.add(ServiceArea(organization_id=org.id, service_id=svc.id, state=m["state"], county=m["county"]))
                elif z:
                    session.add(ServiceArea(organization_id=org.id, service_id=svc.id, state=z["state"], postal_code=z["zip"]))
                elif area.get("name"):
                    w.append(f"service '{name}': service area '{area['name'][:60]}' is not a US county or zip; not kept")
        else:
            for k, v in values.items():
                setattr(svc, k, v)
            result.services_updated += 1
    session.flush()
    audit.record(session, principal, "hsds.import", object_type="directory", detail={
        "source": source, "organizations_created": result.organizations_created,
        "organizations_updated": result.organizations_updated, "services_created": result.services_created,
        "services_updated": result.services_updated, "locations_created": result.locations_created,
    })
    return result


def _flat_for_check(obj: dict) -> dict:
    """An imported object checked against its HSDS schema (tabular rows arrive with CSV strings for
    numbers, so those are checked as the tabular schema sees them: only the one-to-one fields)."""
    out = {}
    for k, v in obj.items():
        if isinstance(v, list | dict):
            continue
        if v == "" or v is None:
            continue
        if k in ("minimum_age", "maximum_age", "year_incorporated", "latitude", "longitude") and isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                pass
        out[k] = v
    return out


def read_payload(path: Path) -> dict | list:
    """An HSDS JSON file, or a folder of HSDS CSVs (the tabular datapackage)."""
    if path.is_dir():
        tables = {}
        for name, file in TABLES.items():
            f = path / file
            if f.exists():
                with f.open(newline="", encoding="utf-8") as fh:
                    tables[name] = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(fh)]
        return tables
    return json.loads(path.read_text(encoding="utf-8"))


def read_payload_bytes(data: bytes) -> dict | list:
    return json.load(io.BytesIO(data))
