"""FHIR plumbing: validate every resource in and out with fhir.resources (R4B models, wire-compatible
with R4 for every resource we exchange), OperationOutcome errors naming the element, FHIR JSON
responses, search Bundles, and references.

Every error on /fhir is an OperationOutcome (never the HTML error page): ``FhirRoute`` catches the
user-facing errors (including a missing token raised by the auth dependency) and answers with
``issue.expression`` naming the element, e.g. ``Task.status``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from socialcare.core.clock import as_utc, parse_instant, utcnow  # noqa: F401 (parse_instant: re-exported)
from socialcare.core.errors import InvalidInput, Problem, SocialcareError, Unauthorized

FHIR_JSON = "application/fhir+json"
SUPPORTED = ("Patient", "Organization", "HealthcareService", "Location", "ServiceRequest", "Task", "Consent",
             "Condition", "Observation", "QuestionnaireResponse", "Goal", "Procedure")
IG = "http://hl7.org/fhir/us/sdoh-clinicalcare"
TEMP_CODES = f"{IG}/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"


class FhirError(SocialcareError):
    """A FHIR-level refusal with the element it concerns."""

    def __init__(self, message: str, *, status_code: int = 400, expression: str | None = None,
                 code: str = "invalid"):
        super().__init__(message)
        self.status_code = status_code
        self.expression = expression
        self.code = code


ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               409: "conflict", 412: "conflict", 415: "not-supported", 422: "processing"}


def outcome(issues: list[dict]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": issues}


def issue(message: str, *, code: str = "invalid", expression: str | None = None, severity: str = "error") -> dict:
    d = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        d["expression"] = [expression]
    return d


def fhir_response(body: dict, status_code: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, default=str), status_code=status_code, media_type=FHIR_JSON, headers=headers)


def error_response(exc: Exception) -> Response:
    if isinstance(exc, FhirError):
        return fhir_response(outcome([issue(exc.message, code=exc.code, expression=exc.expression)]), exc.status_code)
    if isinstance(exc, InvalidInput):
        issues = [issue(p.message, code="invalid", expression=p.field) for p in exc.problems] or [issue(exc.message)]
        if exc.problems:
            issues.insert(0, issue(exc.message, code="processing", severity="information"))
        return fhir_response(outcome(issues), 422 if exc.problems else 400)
    if isinstance(exc, SocialcareError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return fhir_response(outcome([issue(exc.message, code=ISSUE_CODES.get(exc.status_code, "processing"))]),
                             exc.status_code, headers)
    if isinstance(exc, RequestValidationError):
        issues = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            issues.append(issue(err.get("msg", ""), expression=".".join(loc) or None))
        return fhir_response(outcome(issues), 400)
    raise exc


XML = ("xml",)


def negotiate(request: Request) -> None:
    """FHIR JSON only: an XML body is 415, a client that accepts only XML is 406."""
    ctype = request.headers.get("content-type", "").lower()
    if request.method in ("POST", "PUT", "PATCH") and ctype and "json" not in ctype:
        raise FhirError(f"Content-Type {ctype} is not supported: send {FHIR_JSON}.", status_code=415,
                        code="not-supported")
    accept = request.headers.get("accept", "").lower()
    if accept and not any(t in accept for t in ("json", "*/*", "application/*")):
        raise FhirError(f"This server answers {FHIR_JSON} only (Accept: {accept}).", status_code=406,
                        code="not-supported")
    fmt = request.query_params.get("_format", "").lower()
    if fmt and "json" not in fmt:
        raise FhirError(f"_format={fmt} is not supported: this server answers {FHIR_JSON}.", status_code=406,
                        code="not-supported")


class FhirRoute(APIRoute):
    """Route class for /fhir: user-facing errors become OperationOutcomes."""

    def get_route_handler(self) -> Callable:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                negotiate(request)
                return await original(request)
            except (SocialcareError, RequestValidationError) as exc:
                return error_response(exc)

        return handler


# ---- validation --------------------------------------------------------------------------------


def _expression(resource_type: str, loc: tuple) -> str:
    parts = [resource_type]
    for p in loc:
        if isinstance(p, int):
            parts[-1] += f"[{p}]"
        elif p not in ("__root__",):
            parts.append(str(p))
    return ".".join(parts)


def parse(body: object, expected: str | None = None):
    """The fhir.resources model of ``body``; an InvalidInput naming each bad element otherwise."""
    if not isinstance(body, dict) or "resourceType" not in body:
        raise FhirError("The body is not a FHIR resource (no resourceType).", expression="resourceType")
    rtype = body["resourceType"]
    if expected and rtype != expected:
        raise FhirError(f"Expected a {expected}, got a {rtype}.", expression="resourceType")
    try:
        cls = get_fhir_model_class(rtype)
    except (KeyError, ValueError):
        raise FhirError(f"Unknown resource type '{rtype}'.", expression="resourceType") from None
    from socialcare.interop.fhir.bindings import check

    try:
        model = cls.model_validate(body)
    except ValidationError as exc:
        problems = [Problem(err["msg"][:300], field=_expression(rtype, err.get("loc", ())))
                    for err in exc.errors()]
        raise InvalidInput(f"The {rtype} is not valid FHIR R4.", problems + check(body)) from None
    problems = check(body)
    if problems:
        raise InvalidInput(f"The {rtype} is not valid FHIR R4 (required bindings).", problems)
    return model


def to_json(model_or_dict) -> dict:
    """Validate an outgoing resource (every resource out is checked too) and return its JSON."""
    if isinstance(model_or_dict, dict):
        model_or_dict = parse(model_or_dict)
    return json.loads(model_or_dict.model_dump_json(exclude_none=True))


def new_id() -> str:
    return uuid.uuid4().hex[:20]


def instant(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return as_utc(dt).astimezone(UTC).isoformat().replace("+00:00", "Z")


def ref_parts(reference: str | None) -> tuple[str | None, str | None]:
    """("Task", "12") from "Task/12", "https://x/fhir/Task/12" or "Task/12/_history/3"."""
    if not reference:
        return None, None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2:
        return None, None
    return parts[-2], parts[-1]


def with_meta(resource: dict, version: int, last_updated: datetime | None, profile: str | None = None) -> dict:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    if last_updated:
        meta["lastUpdated"] = instant(last_updated)
    if profile and profile not in meta.get("profile", []):
        meta["profile"] = [*meta.get("profile", []), profile]
    resource["meta"] = meta
    return resource
