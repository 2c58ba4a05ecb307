"""The directory leaves socialcare as HSDS 3.0 that validates against the shipped schemas, and the
HSDS examples come in."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from socialcare.core.errors import InvalidInput
from socialcare.directory.models import Organization, Service, ServiceArea
from socialcare.interop import hsds
from tests.interop.conftest import HSDS_DIR


def test_api_export_validates_against_the_hsds_schemas(db, world):
    export = hsds.export_api(db, world.users["hub"])
    assert hsds.validate_api(export) == []
    meals = next(s for s in export.services if s["name"] == "Medically tailored meals")
    assert meals["status"] == "active"
    assert {lang["code"] for lang in meals["languages"]} == {"en", "es"}
    assert meals["service_areas"][0]["name"] == "Erie County, NY"
    codes = {a["taxonomy_term"]["code"]: a.get("value") for a in meals["attributes"]}
    assert codes["food"] is None and codes["service_code"] == "S5170-U6" and codes["capacity_per_month"] == "400"
    # offered at its organization's location, with the address
    assert meals["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "14201"
    # the same row keeps the same HSDS id from one export to the next
    assert hsds.export_api(db, world.users["hub"]).services[0]["id"] == export.services[0]["id"]


def test_a_broken_object_is_named_by_the_schema_check(db, world):
    export = hsds.export_api(db, world.users["hub"])
    export.services[0]["status"] = "open"
    del export.organizations[0]["name"]
    problems = hsds.validate_api(export)
    fields = {(p.file, p.field) for p in problems}
    assert ("services[0]", "status") in fields
    assert any(p.file == "organizations[0]" and "'name' is a required property" in p.message for p in problems)


def test_tabular_datapackage_validates_and_is_written(db, world, tmp_path):
    export = hsds.export_api(db, world.users["cbo"])
    tables = hsds.export_tabular(export)
    assert hsds.validate_tabular(tables) == []
    counts = hsds.write_export(db, world.users["cbo"], tmp_path)
    assert counts["services"] == 3
    pkg = json.loads((tmp_path / "tabular" / "datapackage.json").read_text())
    assert [r["path"] for r in pkg["resources"]][:3] == ["organizations.csv", "services.csv", "locations.csv"]
    with (tmp_path / "tabular" / "services.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["name"] for r in rows} == {"Medically tailored meals", "Pantry delivery", "Housing navigation"}
    page = json.loads((tmp_path / "services.json").read_text())
    assert page["total_items"] == 3 and len(page["contents"]) == 3


def test_export_round_trips_through_import(db, world):
    """Our own export re-imported matches the directory (by name): nothing duplicated."""
    export = hsds.export_api(db, world.users["hub"])
    before = db.scalar(select(Service.id).where(Service.name == "Medically tailored meals"))
    result = hsds.import_hsds(db, world.users["hub"], {"contents": export.organizations + export.services})
    assert result.organizations_created == 0 and result.services_created == 0
    # the hub's own listing and its network member's are updated; the plans' and a former member's are not
    assert result.services_updated == 2
    assert any("Rochester Housing Partners" in w and "left unchanged" in w for w in result.warnings)
    svc = db.get(Service, before)
    assert (svc.need_domain, svc.service_code, svc.unit, svc.capacity_per_month) == ("food", "S5170-U6", "meal", 400)


@pytest.mark.parametrize("example", ["organization_full.json", "service_full.json", "organization_list.json",
                                      "service_list.json", "tabular.json"])
def test_hsds_examples_import(db, world, example):
    payload = json.loads((HSDS_DIR / "examples" / example).read_text())
    result = hsds.import_hsds(db, world.users["admin_a"], payload, default_need_domain="social_connection")
    org = db.scalar(select(Organization).where(Organization.name == "Example Organization Inc."))
    assert org is not None and org.kind == "cbo"
    assert result.organizations_created + result.organizations_updated >= 1
    if example in ("organization_full.json", "service_full.json", "tabular.json", "service_list.json"):
        svc = db.scalar(select(Service).where(Service.organization_id == org.id))
        assert svc is not None and svc.name == "Community Counselling" and svc.need_domain == "social_connection"
    if example == "service_full.json":
        assert svc.minimum_age == 12 and svc.languages == ["ur"]


def test_tabular_csv_folder_imports(db, world):
    payload = hsds.read_payload(HSDS_DIR / "examples" / "csv")
    result = hsds.import_hsds(db, world.users["hub"], payload, default_need_domain="care_management")
    assert result.services_created == 1 and result.organizations_created == 1
    svc = db.scalar(select(Service).where(Service.name == "Community Counselling"))
    assert svc.minimum_age == 12 and svc.need_domain == "care_management"


def test_values_that_do_not_fit_are_warned_not_kept(db, world):
    payload = json.loads((HSDS_DIR / "examples" / "organization_full.json").read_text())
    result = hsds.import_hsds(db, world.users["hub"], payload, default_need_domain="care_management")
    assert any("not a two-letter US state" in w for w in result.warnings)


def test_import_needs_a_need_domain_and_writes_nothing_without_one(db, world):
    payload = json.loads((HSDS_DIR / "examples" / "organization_full.json").read_text())
    with pytest.raises(InvalidInput) as exc:
        hsds.import_hsds(db, world.users["hub"], payload)
    assert exc.value.problems[0].field == "attributes"
    assert db.scalar(select(Organization).where(Organization.name == "Example Organization Inc.")) is None


def test_import_needs_directory_write(db, world):
    from socialcare.core.errors import Forbidden

    with pytest.raises(Forbidden):
        hsds.import_hsds(db, world.users["cbo"], {"contents": []})


def test_county_service_area_survives_import(db, world):
    export = hsds.export_api(db, world.users["hub"])
    svc = next(s for s in export.services if s["name"] == "Housing navigation")
    org = next(o for o in export.organizations if o["id"] == svc["organization_id"])
    org = dict(org, name="Copy of Rochester Housing Partners")
    svc = dict(svc, organization_id=org["id"])
    hsds.import_hsds(db, world.users["hub"], [org, svc])
    new = db.scalar(select(Organization).where(Organization.name == "Copy of Rochester Housing Partners"))
    areas = db.scalars(select(ServiceArea).where(ServiceArea.organization_id == new.id)).all()
    assert [(a.state, a.county) for a in areas] == [("NY", "Monroe")]


def test_datapackage_carries_every_hsds_field_rule_and_frictionless_holds_the_csv_to_them(db, world, tmp_path):
    """The tabular export's own descriptor refuses what the HSDS schemas refuse: formats (uuid,
    email, uri, date-time), required, unique and enums, checked by frictionless, not by us."""
    frictionless = pytest.importorskip("frictionless")
    hsds.write_export(db, world.users["cbo"], tmp_path)
    folder = tmp_path / "tabular"
    pkg = json.loads((folder / "datapackage.json").read_text())
    rules = 0
    for res in pkg["resources"]:
        schema = json.loads((hsds.schema_dir() / f"{res['name']}.json").read_text())
        fields = {f["name"]: f for f in res["schema"]["fields"]}
        for name, prop in schema["properties"].items():
            if prop.get("type") in ("array", "object") or "$ref" in prop:
                continue
            field, constraints = fields[name], fields[name].get("constraints", {})
            if prop.get("format") in ("uuid", "email", "uri"):
                assert field["format"] == prop["format"], (res["name"], name)
                rules += 1
            if prop.get("format") == "date-time" or prop.get("datapackage_type"):
                assert field["type"] in ("datetime", "date", "time"), (res["name"], name)
                rules += 1
            if prop.get("enum"):
                assert constraints["enum"] == prop["enum"], (res["name"], name)
                rules += 1
            if (prop.get("constraints") or {}).get("unique"):
                assert constraints.get("unique") is True, (res["name"], name)
                rules += 1
            if name in schema.get("required", []):
                assert constraints.get("required") is True, (res["name"], name)
                rules += 1
    assert rules >= 79
    report = frictionless.Package(str(folder / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    services = (folder / "services.csv").read_text().splitlines()
    header = services[0].split(",")
    row = next(csv.reader([services[1]]))
    row[header.index("status")] = "open"  # not in the HSDS enum
    row[header.index("id")] = "not-a-uuid"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row)
    (folder / "services.csv").write_text("\n".join([services[0], buf.getvalue().rstrip("\n"), *services[2:]]) + "\n")
    report = frictionless.Package(str(folder / "datapackage.json")).validate()
    errors = {(e[1], e[2]) for e in report.flatten(["rowNumber", "fieldName", "type"])}
    assert ("status", "constraint-error") in errors and ("id", "type-error") in errors
