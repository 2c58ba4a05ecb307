#!/usr/bin/env python3
"""An external referral source talking to socialcare through FHIR alone: a health plan's care
management system that refers a member to a CBO and follows the referral to its closed loop.

It does what the HL7 FHIR SDOH Clinical Care IG asks of a referral source
(docs/standards.md §1.1):

1. finds the Patient (by the plan's member id) and the CBO (Organization by name);
2. POSTs the member's Consent to share with the CBO (IDSCL, provision.actor = the CBO);
3. POSTs the ServiceRequest (SDOH category, supportingInfo -> the Consent) and the Task for referral
   management (status requested, focus -> the ServiceRequest, owner -> the CBO);
4. polls ``Task?requester=...&_lastUpdated=gt<last seen>`` (the IG's polling query) until the Task
   ends, printing each change;
5. on completion reads the Task's resulting activity, the Procedure.

Every step prints one JSON line, so another program (or a test) can follow along. Only httpx and
the standard library: it runs from any machine that reaches the server.

    python examples/fhir/referral_source.py --server http://127.0.0.1:8000 \
        --username plan-staff --password socialcare-demo --member-id LHP0000042 \
        --from "Lakeshore Health Plan" --to "Buffalo Housing Stability Coalition" \
        --category housing-instability --reason "Behind on rent; eviction notice" --poll-seconds 60

Exit status: 0 completed, 2 ended otherwise (rejected, cancelled, failed), 3 timed out, 1 an error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx

FJ = "application/fhir+json"
TEMP_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
TERMINAL = {"completed", "rejected", "cancelled", "failed", "entered-in-error"}


def say(event: str, **data) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


class Fhir:
    def __init__(self, server: str, token: str):
        self.base = server.rstrip("/") + "/fhir"
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}", "Accept": FJ}, timeout=30)

    def _check(self, r: httpx.Response) -> dict:
        if r.is_error:
            raise SystemExit(f"{r.request.method} {r.request.url}: HTTP {r.status_code}: {r.text[:500]}")
        return r.json()

    def get(self, path: str, **params) -> dict:
        return self._check(self.http.get(f"{self.base}/{path}", params=params))

    def post(self, resource: dict) -> dict:
        return self._check(self.http.post(f"{self.base}/{resource['resourceType']}", json=resource,
                                          headers={"Content-Type": FJ}))

    def one(self, path: str, what: str, **params) -> dict:
        bundle = self.get(path, **params)
        entries = [e["resource"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") != "include"]
        if len(entries) != 1:
            raise SystemExit(f"expected one {what}, found {len(entries)}")
        return entries[0]


def token(server: str, username: str, password: str) -> str:
    r = httpx.post(f"{server.rstrip('/')}/api/v1/tokens", json={"username": username, "password": password}, timeout=30)
    if r.status_code != 201:
        raise SystemExit(f"sign-in refused: HTTP {r.status_code}: {r.text[:300]}")
    return r.json()["access_token"]


def refer(fhir: Fhir, args) -> tuple[str, str]:
    patient = fhir.one("Patient", "patient", identifier=args.member_id)
    cbo = fhir.one("Organization", "CBO", **{"name:exact": args.to})
    plan = fhir.one("Organization", "plan", **{"name:exact": args.source})
    pref, cref, plref = f"Patient/{patient['id']}", f"Organization/{cbo['id']}", f"Organization/{plan['id']}"
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    consent = fhir.post({
        "resourceType": "Consent", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IDSCL"}]}],
        "patient": {"reference": pref}, "dateTime": now[:10], "organization": [{"reference": plref}],
        "sourceAttachment": {"contentType": "application/pdf", "title": "Signed authorization to share"},
        "provision": {"type": "permit", "actor": [{"role": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
            "reference": {"reference": cref}}]},
    })
    sr = fhir.post({
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": TEMP_CODES, "code": args.category}]}],
        "code": {"text": args.service}, "subject": {"reference": pref}, "authoredOn": now,
        "requester": {"reference": plref}, "performer": [{"reference": cref}],
        "supportingInfo": [{"reference": f"Consent/{consent['id']}"}], "note": [{"text": args.reason}],
    })
    task = fhir.post({
        "resourceType": "Task", "status": "requested", "intent": "order", "priority": args.priority,
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "focus": {"reference": f"ServiceRequest/{sr['id']}"}, "for": {"reference": pref}, "authoredOn": now,
        "requester": {"reference": plref}, "owner": {"reference": cref},
    })
    say("created", task=task["id"], service_request=sr["id"], consent=consent["id"], patient=patient["id"],
        owner=cbo["name"], status=task["status"])
    return task["id"], plref


def follow(fhir: Fhir, task_id: str, requester: str, poll_seconds: float, timeout: float) -> int:
    since = datetime.now(UTC) - timedelta(days=1)
    last = ("requested", None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bundle = fhir.get("Task", requester=requester, _lastUpdated=f"gt{since.isoformat()}", _count=500)
        # the next poll asks for changes since this search ran (the server's clock, a minute's
        # overlap for changes committing meanwhile; a change seen twice is shown once)
        since = datetime.fromisoformat(bundle["meta"]["lastUpdated"].replace("Z", "+00:00")) - timedelta(minutes=1)
        for e in bundle.get("entry", []):
            t = e["resource"]
            if t["id"] != task_id:
                continue
            business = next((c["code"] for c in t.get("businessStatus", {}).get("coding", [])), None)
            if (t["status"], business) != last:
                last = (t["status"], business)
                say("status", task=task_id, status=t["status"], business_status=business,
                    version=t["meta"]["versionId"])
            if t["status"] in TERMINAL:
                return finish(fhir, t)
        time.sleep(poll_seconds)
    say("timeout", task=task_id, status=last[0])
    return 3


def finish(fhir: Fhir, task: dict) -> int:
    if task["status"] != "completed":
        say("ended", task=task["id"], status=task["status"], reason=task.get("statusReason", {}).get("text"))
        return 2
    for out in task.get("output", []):
        codes = {c.get("code") for c in out.get("type", {}).get("coding", [])}
        ref = out.get("valueReference", {}).get("reference", "")
        if "resulting-activity" in codes and ref.startswith("Procedure/"):
            proc = fhir.get(ref)
            say("completed", task=task["id"], procedure=proc["id"], procedure_status=proc["status"],
                code=proc.get("code"), performed=proc.get("performedPeriod"), based_on=proc.get("basedOn"))
            return 0
    say("completed", task=task["id"], procedure=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="http://127.0.0.1:8000")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--member-id", required=True, help="the plan's member id (Patient.identifier)")
    p.add_argument("--from", dest="source", required=True, help="the plan, by its directory name (Task.requester)")
    p.add_argument("--to", required=True, help="the CBO, by its directory name (Task.owner)")
    p.add_argument("--category", default="food-insecurity", help="SDOH category code (SDOHCC-ValueSetSDOHCategory)")
    p.add_argument("--service", default="Help with the member's social need")
    p.add_argument("--reason", default="Positive social needs screening")
    p.add_argument("--priority", default="routine", choices=["routine", "urgent", "asap", "stat"])
    p.add_argument("--poll-seconds", type=float, default=900, help="the IG: not more often than every 15 minutes")
    p.add_argument("--timeout", type=float, default=24 * 3600)
    args = p.parse_args(argv)
    try:
        fhir = Fhir(args.server, token(args.server, args.username, args.password))
        task_id, requester = refer(fhir, args)
        return follow(fhir, task_id, requester, args.poll_seconds, args.timeout)
    except SystemExit as exc:
        say("error", message=str(exc))
        return 1
    except httpx.HTTPError as exc:
        say("error", message=f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
