"""The searchable tokens of a FHIR resource's JSON, pure (used on every write and by the migration
that indexes resources kept before the index existed)."""

from __future__ import annotations

REFERENCES = ("focus", "owner", "requester", "for", "subject", "patient")


def _ref(reference: dict | None) -> str | None:
    """"Task/12" from {"reference": "https://x/fhir/Task/12/_history/3"}."""
    parts = ((reference or {}).get("reference") or "").split("/_history/")[0].rstrip("/").split("/")
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else None


def extract(body: dict) -> list[tuple[str, str | None, str]]:
    """[(name, system, value)] of a resource: identifier, status, code, and its references."""
    out: list[tuple[str, str | None, str]] = []
    for ident in body.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("value"):
            out.append(("identifier", ident.get("system"), str(ident["value"])[:300]))
    status = body.get("status")
    if isinstance(status, str):
        out.append(("status", None, status))
    code = body.get("code")
    for cc in code if isinstance(code, list) else [code]:
        for c in (cc or {}).get("coding") or [] if isinstance(cc, dict) else []:
            if c.get("code"):
                out.append(("code", c.get("system"), str(c["code"])[:300]))
    for name in REFERENCES:
        ref = _ref(body.get(name)) if isinstance(body.get(name), dict) else None
        if ref:
            out.append((name, None, ref[:300]))
    return out
