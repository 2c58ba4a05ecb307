"""The server's CapabilityStatement (GET /fhir/metadata), generated from the routes that exist and
the search parameters each search honours (searches.SPECS), so it cannot promise what is not served."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from socialcare import __version__
from socialcare.interop.fhir.base import to_json
from socialcare.interop.fhir.search import DEFAULT_COUNT, MAX_COUNT

PROFILES = {
    "Task": ["http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement",
             "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForPatient"],
}
DOCS = {"_lastUpdated": "Any FHIR precision and time-zone offset (converted to UTC); prefixes eq ne gt lt ge le sa eb.",
        "birthdate": "Any FHIR precision; prefixes eq ne gt lt ge le sa eb."}


def interactions(router: APIRouter) -> dict[str, list[str]]:
    """{resource type: [interaction codes]} from the router's routes."""
    out: dict[str, list[str]] = {}
    prefix = router.prefix
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        parts = route.path.removeprefix(prefix).strip("/").split("/")
        if not parts[0] or parts[0].startswith(("{", "metadata")):
            continue
        for method in route.methods:
            code = {
                (1, "GET"): "search-type", (1, "POST"): "create", (2, "GET"): "read", (2, "PUT"): "update",
                (4, "GET"): "vread",
            }.get((len(parts), method))
            if code and code not in out.setdefault(parts[0], []):
                out[parts[0]].append(code)
    return out


def capability_statement(base: str, router: APIRouter) -> dict:
    from socialcare.interop.fhir.searches import INCLUDES, SPECS

    resources = []
    for rtype, codes in sorted(interactions(router).items()):
        r = {"type": rtype, "interaction": [{"code": c} for c in codes],
             "versioning": "versioned", "readHistory": "vread" in codes, "updateCreate": "update" in codes,
             "conditionalCreate": "create" in codes and rtype in SPECS, "conditionalUpdate": False,
             "conditionalDelete": "not-supported"}
        if "search-type" in codes:
            params = []
            for name, p in SPECS[rtype].items():
                doc = DOCS.get(name, "")
                if p.modifiers:
                    doc = (doc + " " if doc else "") + "Modifiers: " + ", ".join(f":{m}" for m in sorted(p.modifiers)) + "."
                if p.type != "date":
                    doc = (doc + " " if doc else "") + "Comma-separated values are OR'ed."
                params.append({"name": name, "type": p.type, "documentation": doc})
            r["searchParam"] = params
            if rtype in INCLUDES:
                r["searchInclude"] = [INCLUDES[rtype][0]]
        if rtype in PROFILES:
            r["supportedProfile"] = PROFILES[rtype]
        resources.append(r)
    return to_json({
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-07", "kind": "instance",
        "software": {"name": "socialcare", "version": __version__},
        "implementation": {"description": "socialcare FHIR SDOH Clinical Care API", "url": base},
        "fhirVersion": "4.0.1", "format": ["application/fhir+json", "json"],
        "instantiates": ["http://hl7.org/fhir/us/sdoh-clinicalcare/CapabilityStatement/SDOHCC-CoordinationPlatform"],
        "rest": [{
            "mode": "server",
            "documentation": (f"Searches are paged: _count defaults to {DEFAULT_COUNT}, at most {MAX_COUNT} "
                              "(a larger _count is reduced to it); follow the Bundle's next link; _count=0 and "
                              "_summary=count give the total only. Unknown parameters are ignored (and left "
                              "out of the self link), or refused with Prefer: handling=strict."),
            "security": {"description": "Bearer token from POST /api/v1/tokens"},
            "resource": resources,
            "searchParam": [{"name": "_count", "type": "number"}, {"name": "_offset", "type": "number"},
                            {"name": "_summary", "type": "token"}],
        }],
    })
