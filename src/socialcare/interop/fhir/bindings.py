"""Required value-set bindings of the elements we accept (FHIR R4): fhir.resources checks structure
and types, not codes, so a Task with status "bogus" would otherwise be stored and served."""

from __future__ import annotations

from socialcare.core.errors import Problem

_PRIORITY = {"routine", "urgent", "asap", "stat"}
REQUIRED: dict[tuple[str, str], set[str]] = {
    ("Observation", "status"): {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                                "entered-in-error", "unknown"},
    ("Task", "status"): {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
                         "in-progress", "on-hold", "failed", "completed", "entered-in-error"},
    ("Task", "intent"): {"unknown", "proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
                         "instance-order", "option"},
    ("Task", "priority"): _PRIORITY,
    ("ServiceRequest", "status"): {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error",
                                   "unknown"},
    ("ServiceRequest", "intent"): {"proposal", "plan", "directive", "order", "original-order", "reflex-order",
                                   "filler-order", "instance-order", "option"},
    ("ServiceRequest", "priority"): _PRIORITY,
    ("Procedure", "status"): {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
                              "entered-in-error", "unknown"},
    ("Goal", "lifecycleStatus"): {"proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled",
                                  "entered-in-error", "rejected"},
    ("Consent", "status"): {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"},
    ("QuestionnaireResponse", "status"): {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
    ("Location", "status"): {"active", "suspended", "inactive"},
    ("Location", "mode"): {"instance", "kind"},
}
# CodeableConcepts bound (required) to one code system's codes
REQUIRED_CONCEPTS: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("Condition", "clinicalStatus"): ("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                      {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}),
    ("Condition", "verificationStatus"): ("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                          {"unconfirmed", "provisional", "differential", "confirmed", "refuted",
                                           "entered-in-error"}),
}


def check(body: dict) -> list[Problem]:
    """Each element of ``body`` whose code is outside its required value set."""
    rtype = body.get("resourceType")
    problems = []
    for (rt, element), codes in REQUIRED.items():
        if rt == rtype and element in body and body[element] not in codes:
            problems.append(Problem(f"'{body[element]}' is not in the required value set: one of "
                                    f"{', '.join(sorted(codes))}", field=f"{rt}.{element}"))
    for (rt, element), (system, codes) in REQUIRED_CONCEPTS.items():
        if rt != rtype or not isinstance(body.get(element), dict):
            continue
        for c in body[element].get("coding") or []:
            if c.get("system") == system and c.get("code") not in codes:
                problems.append(Problem(f"'{c.get('code')}' is not a code of {system}", field=f"{rt}.{element}"))
    return problems
