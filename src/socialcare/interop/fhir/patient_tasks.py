"""SDOHCC Task for Patient, pure: what a plan, hub or CBO asks of the member themselves (fill in a
questionnaire, call a service, read some material, answer a question), with the IG's statuses, their
transitions and the invariants SDOH-Task-1 to -7 (docs/standards.md §1.3).

A referral Task (code ``fulfill``) is a referral (referrals/); a Task with one of the codes below is
a Task for Patient: socialcare keeps it as exchanged, tied to the member and shown only to those who
may see the member, and checks it here on the way in.
"""

from __future__ import annotations

from socialcare.core.errors import Problem

PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForPatient"
CODES = {"make-contact", "review-material", "general-information", "complete-questionnaire"}
STATUSES = {"ready", "in-progress", "on-hold", "completed", "cancelled", "failed", "entered-in-error"}
TERMINAL = {"completed", "cancelled", "failed", "entered-in-error"}
TRANSITIONS = {
    "ready": {"in-progress", "on-hold", "cancelled", "completed", "failed"},
    "in-progress": {"on-hold", "cancelled", "completed", "failed"},
    "on-hold": {"in-progress", "cancelled", "completed", "failed"},
}
QUESTIONNAIRE_INPUTS = {"questionnaire", "questionnaire-pdf", "questionnaire-url"}
# SDOH-Task-5 / -6: each questionnaire input type has the output type that answers it
ANSWERS = {"questionnaire": "questionnaire-response", "questionnaire-pdf": "questionnaire-pdf-completed"}


def _rtype(reference: dict | None) -> str | None:
    """"Patient" from {"reference": "Patient/1"} (or an absolute or versioned reference)."""
    parts = ((reference or {}).get("reference") or "").split("/_history/")[0].rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else None


def _codes(concept: dict | None) -> set[str]:
    return {c.get("code") for c in (concept or {}).get("coding", []) if c.get("code")}


def task_code(task: dict) -> str | None:
    """The Task-for-Patient code of ``task``, or None if it is not one (e.g. a referral's fulfill)."""
    found = _codes(task.get("code")) & CODES
    return next(iter(found)) if found else None


def is_patient_task(task: dict) -> bool:
    return task_code(task) is not None or PROFILE in (task.get("meta") or {}).get("profile", [])


def check(task: dict) -> list[Problem]:
    """Every way ``task`` breaks the profile, each naming its element (and invariant)."""
    problems: list[Problem] = []

    def bad(message: str, element: str) -> None:
        problems.append(Problem(message, field=f"Task.{element}"))

    code = task_code(task)
    if code is None:
        bad(f"a Task for Patient has one of the codes {', '.join(sorted(CODES))}", "code")
    if task.get("status") not in STATUSES:
        bad(f"status is one of {', '.join(sorted(STATUSES))}", "status")
    if task.get("priority") not in ("routine", "urgent"):
        bad("priority is routine or urgent (1..1)", "priority")
    for element, types in (("for", ("Patient",)), ("owner", ("Patient", "RelatedPerson")),
                           ("requester", ("Organization", "PractitionerRole", "Practitioner"))):
        if _rtype(task.get(element)) not in types:
            bad(f"{element} references a {' or '.join(types)} (1..1)", element)
    if not task.get("authoredOn"):
        bad("authoredOn is required", "authoredOn")
    inputs = [(_codes(i.get("type")), i) for i in task.get("input") or []]
    outputs = [_codes(o.get("type")) for o in task.get("output") or []]
    in_types = set().union(*(c for c, _ in inputs)) if inputs else set()
    out_types = set().union(*outputs) if outputs else set()
    if code == "complete-questionnaire":
        given = [c & QUESTIONNAIRE_INPUTS for c, _ in inputs if c & QUESTIONNAIRE_INPUTS]
        if len(given) != 1 or "questionnaire-category" not in in_types:
            bad("SDOH-Task-1: exactly one questionnaire, questionnaire-pdf or questionnaire-url input, and a "
                "questionnaire-category input", "input")
        for q, answer in ANSWERS.items():
            if out_types & {answer} and q not in in_types:
                bad(f"SDOH-Task-5/6: a {answer} output answers a {q} input", "output")
        if out_types - {"questionnaire-response", "questionnaire-pdf-completed"}:
            bad("SDOH-Task-5/6: the output of a questionnaire is its response", "output")
    if code == "general-information":
        if not task.get("description"):
            bad("SDOH-Task-2: a general-information Task says what it asks in description", "description")
        if out_types - {"general-information-response"}:
            bad("SDOH-Task-2: its output is a general-information-response", "output")
    if code == "review-material":
        if _rtype(task.get("focus")) != "DocumentReference":
            bad("SDOH-Task-3: a review-material Task focuses on the DocumentReference to review", "focus")
    if code == "make-contact":
        if "contact-entity" not in in_types:
            bad("SDOH-Task-4: a make-contact Task names at least one contact-entity input", "input")
        if not task.get("description"):
            bad("SDOH-Task-7: a make-contact Task says what to do in description", "description")
        if out_types - {"chosen-contact"}:
            bad("SDOH-Task-4: its output is the chosen-contact", "output")
    return problems


def check_transition(before: str, after: str) -> str | None:
    """Why ``before`` -> ``after`` is refused, or None if it is allowed (the IG's patient task diagram)."""
    if before == after:
        return None
    if after == "entered-in-error":
        return None
    if before in TERMINAL:
        return f"This Task for Patient is {before}; it cannot change any more."
    if after not in TRANSITIONS.get(before, set()):
        return f"A Task for Patient cannot go from {before} to {after}."
    return None
