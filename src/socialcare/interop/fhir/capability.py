"""The server's CapabilityStatement (GET /fhir/metadata)."""

from __future__ import annotations

from socialcare import __version__
from socialcare.interop.fhir.base import to_json

SEARCH = {
    "Organization": ["_id", "name", "name:exact", "identifier"],
    "Location": ["organization", "address-postalcode", "name"],
    "HealthcareService": ["organization", "service-category", "name"],
    "Patient": ["_id", "identifier", "family", "name", "birthdate"],
    "Task": ["owner", "requester", "status", "_lastUpdated", "patient", "subject", "part-of"],
    "ServiceRequest": [],
    "Consent": ["patient"], "Condition": ["patient", "subject"], "Observation": ["patient", "subject"],
    "QuestionnaireResponse": ["patient", "subject"], "Goal": ["patient", "subject"], "Procedure": ["patient", "subject"],
}
PARAM_TYPES = {"_lastUpdated": "date", "birthdate": "date", "name": "string", "name:exact": "string", "family": "string",
               "address-postalcode": "string", "organization": "reference", "owner": "reference",
               "requester": "reference", "patient": "reference", "subject": "reference", "part-of": "reference"}
WRITE = {"Organization", "Patient", "Task", "ServiceRequest", "Consent", "Condition", "Observation",
         "QuestionnaireResponse", "Goal", "Procedure"}


def capability_statement(base: str) -> dict:
    resources = []
    for rtype, params in SEARCH.items():
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if rtype in WRITE:
            interactions += [{"code": "create"}, {"code": "update"}]
        r = {"type": rtype, "interaction": interactions,
             "searchParam": [{"name": p, "type": PARAM_TYPES.get(p, "token")} for p in params]}
        if rtype == "Task":
            r["searchInclude"] = ["Task:focus"]
            r["supportedProfile"] = [
                "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement",
                "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForPatient"]
        resources.append(r)
    return to_json({
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-23", "kind": "instance",
        "software": {"name": "socialcare", "version": __version__},
        "implementation": {"description": "socialcare FHIR SDOH Clinical Care API", "url": base},
        "fhirVersion": "4.0.1", "format": ["application/fhir+json"],
        "instantiates": ["http://hl7.org/fhir/us/sdoh-clinicalcare/CapabilityStatement/SDOHCC-CoordinationPlatform"],
        "rest": [{"mode": "server", "security": {"description": "Bearer token from POST /api/v1/tokens"},
                  "resource": resources}],
    })
