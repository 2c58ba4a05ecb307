"""Shapes shared by the pages, the API and the CLI: a contract as a dict, the checklist as rows,
the export document (HTML and PDF from one template)."""

from __future__ import annotations

from datetime import date

import yaml
from sqlalchemy.orm import Session

from socialcare.contracts import repository as repo
from socialcare.contracts import rules
from socialcare.contracts.models import Contract, ContractVersion


def summary(c: Contract) -> dict:
    return {
        "id": c.id, "name": c.name, "plan_id": c.plan_id, "plan_name": c.plan.name,
        "counterparty_id": c.counterparty_id, "counterparty_name": c.counterparty.name,
        "counterparty_kind": c.counterparty.kind, "contract_type": c.contract_type, "payment_model": c.payment_model,
        "phase": c.phase, "start_date": c.start_date, "end_date": c.end_date, "current_version": c.current_version,
        "renewal_opens_on": rules.renewal_opens_on(c.end_date, c.renewal_window_months),
    }


def task_dict(t) -> dict:
    return {"id": t.id, "kind": t.kind, "title": t.title, "owner": t.owner, "owner_name": t.owner_name,
            "due_date": t.due_date, "required": t.required, "status": t.status, "waived_reason": t.waived_reason,
            "completed_on": t.completed_on}


def version_dict(v: ContractVersion, full: bool = False) -> dict:
    out = {"version": v.version, "effective_date": v.effective_date, "start_date": v.start_date,
           "end_date": v.end_date, "reason": v.reason, "created_by": v.created_by, "changes": v.changes}
    if full:
        out.update(diff=v.diff, services_covered=v.services_covered, payment_terms_yaml=v.payment_terms_yaml,
                   scope_of_work=v.scope_of_work)
    return out


def detail(session: Session, c: Contract) -> dict:
    v = repo.version(session, c.id, c.current_version)
    return {
        **summary(c), "vision": c.vision, "services_covered": v.services_covered,
        "payment_terms_yaml": v.payment_terms_yaml, "scope_of_work": v.scope_of_work,
        "tasks": [task_dict(t) for t in c.tasks],
        "versions": [version_dict(x) for x in repo.versions(session, c.id)],
    }


def checklist_rows(cl: rules.Checklist) -> list[dict]:
    return [
        {"id": r.row.id, "section": r.row.section, "item": r.row.item, "present": r.answer,
         "not_applicable": r.not_applicable, "has_due_date": r.row.due_date, "due_date": r.due, "comment": r.comment}
        for r in cl.rows
    ]


def humanize(key: str) -> str:
    special = {"joc": "Joint operating committee", "baa_required": "Business associate agreement required",
               "baa_signed_on": "BAA signed on", "icd10_prefixes": "ICD-10 prefixes", "npis": "NPIs",
               "who": "WHO", "what": "WHAT", "how": "HOW", "to_plan": "Data to the health plan",
               "to_partner": "Data to the CBO / community care hub", "prelaunch": "Pre-launch activities"}
    return special.get(key, key.replace("_", " ").capitalize())


def rule_lines(scope_of_work: dict) -> list[tuple[int, str]]:
    """The population rule as readable lines (depth, text): "All of", "Lives in county in Erie"..."""
    from socialcare.contracts import eligibility, schemas
    from socialcare.core.errors import InvalidInput

    raw = ((scope_of_work.get("who") or {}).get("population") or {}).get("rule")
    if not raw:
        return []
    rule = schemas.RuleGroup.model_validate(raw)
    try:
        _expr, nodes = eligibility.compile_rule(rule, date.today())
    except InvalidInput as exc:
        return [(0, f"(cannot be evaluated: {exc.message})")]
    top = "All of these:" if rule.op == "and" else "Any of these:"
    return [(0, top)] + [(n.depth, n.label + (":" if n.kind == "group" else "")) for n in nodes]


def display_sow(sow: dict) -> dict:
    """The normalized scope of work without the raw rule tree (shown as readable lines instead)."""
    out = {k: v for k, v in sow.items()}
    who = dict(out.get("who") or {})
    pop = dict(who.get("population") or {})
    pop.pop("rule", None)
    if pop:
        who["population"] = pop
    if who:
        out["who"] = who
    return out


def sow_yaml(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def export_context(session: Session, c: Contract, version: ContractVersion, cl: rules.Checklist) -> dict:
    sow = rules.version_document(start_date=version.start_date, end_date=version.end_date, services_covered=[],
                                 payment_terms_yaml="", scope_of_work=version.scope_of_work)["scope_of_work"]
    return {
        "c": summary(c), "contract": c, "version": version, "checklist": cl,
        "sow": display_sow(sow), "rule_lines": rule_lines(version.scope_of_work),
        "payment_terms": version.payment_terms_yaml, "services_covered": version.services_covered,
        "generated_on": date.today(), "phase_labels": {str(k): v for k, v in rules.PHASE_LABELS.items()},
        "humanize": humanize, "role_map_svg": _role_map_svg(session, c),
    }


def _role_map_svg(session: Session, c: Contract) -> str | None:
    """The co-designed role map (partnership workspace), exported with the scope of work."""
    from socialcare.partnership import views, workspace

    rows = workspace.role_map_of(session, c.id)
    return views.role_map_svg(rows, c.plan.name, c.counterparty.name) if rows else None


def render_export_html(ctx: dict) -> str:
    from socialcare.web.templating import env

    return env.get_template("contracts/export.html").render(**ctx)


def render_export_pdf(ctx: dict) -> bytes:
    from socialcare.kit.pdf import html_to_pdf

    return html_to_pdf(render_export_html(ctx))
