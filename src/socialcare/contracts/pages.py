"""Contract pages: the list by phase, a contract page per phase, the scope-of-work editor, the
checklist (with HTML and PDF export), versions with their diffs, eligibility counts and the
prioritized member list (plan roles only, audited)."""

from __future__ import annotations

from datetime import date

import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from socialcare.contracts import repository as repo
from socialcare.contracts import rules, schemas, service, views
from socialcare.core.clock import today
from socialcare.core.errors import InvalidInput, Problem
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["contracts"])

NAV = [NavItem(label="Contracts", href="/contracts", permission="contracts:read", order=40)]

Reader = Depends(require_page("contracts:read"))
Writer = Depends(require_page("contracts:write"))
MemberLists = Depends(require_page("contracts:members"))
PHASES = [(p.value, rules.PHASE_LABELS[p]) for p in rules.Phase]


def _common(c) -> dict:
    return {"c": views.summary(c), "contract": c, "phase_labels": {str(k): v for k, v in rules.PHASE_LABELS.items()},
            "phases": PHASES, "phase_purpose": {str(k): v for k, v in rules.PHASE_PURPOSE.items()},
            "humanize": views.humanize}


@router.get("/contracts")
def contract_list(request: Request, db: DbSession, principal: Principal = Reader, phase: str | None = None):
    contracts = service.list_contracts(db, principal, phase or None)
    return render(request, "contracts/list.html", {
        "contracts": [views.summary(c) for c in contracts], "phase": phase or "", "phases": PHASES,
        "phase_labels": {str(k): v for k, v in rules.PHASE_LABELS.items()},
        "counts": repo.counts_by_phase(db, principal),
    }, block="results")


@router.get("/contracts/new")
def new_contract(request: Request, db: DbSession, principal: Principal = Writer):
    return render(request, "contracts/new.html", {"counterparties": service.counterparties(db), "form": {},
                                                  "problems": []})


@router.post("/contracts", dependencies=[Depends(csrf_protect)])
def create_contract(
    request: Request, db: DbSession, principal: Principal = Writer,
    name: str = Form(""), counterparty_id: int = Form(0), contract_type: str = Form("vendor"),
    start_date: str = Form(""), end_date: str = Form(""), renewal_window_months: int = Form(4),
    vision: str = Form(""),
):
    form = dict(name=name, counterparty_id=counterparty_id, contract_type=contract_type, start_date=start_date,
                end_date=end_date, renewal_window_months=renewal_window_months, vision=vision)
    try:
        data = schemas.ContractCreate.model_validate(form)
        c = service.create(db, principal, data)
    except ValidationError as exc:
        problems = [Problem(e["msg"], field=".".join(str(x) for x in e["loc"])) for e in exc.errors()]
        return render(request, "contracts/new.html", {"counterparties": service.counterparties(db), "form": form,
                                                      "problems": problems}, status_code=422)
    except InvalidInput as exc:
        return render(request, "contracts/new.html", {"counterparties": service.counterparties(db), "form": form,
                                                      "problems": exc.problems}, status_code=422)
    return redirect(f"/contracts/{c.id}", flash="Contract created in the shared vision phase.", kind="success",
                    request=request)


def _contract_page(request: Request, db: Session, principal: Principal, contract_id: int, **extra):
    c = service.get(db, principal, contract_id)
    v = service.current_version(db, c)
    cl = rules.checklist(v.scope_of_work)
    ctx = _common(c)
    ctx.update(
        version=v, checklist=cl, events=repo.phase_events(db, c.id), versions=repo.versions(db, c.id),
        next_phases=[(p.value, rules.PHASE_LABELS[p]) for p in sorted(rules.TRANSITIONS[rules.Phase(c.phase)],
                                                                        key=list(rules.Phase).index)],
        blockers=rules.launch_blockers([rules.TaskState(t.id, t.title, t.required, t.status, t.waived_reason)
                                        for t in c.tasks]) if c.tasks else [],
        selections=repo.selections(db, c.id), can_write=principal.can("contracts:write") and principal.is_plan,
        can_lists=principal.can("contracts:members") and principal.is_plan,
        can_tasks=principal.can("contracts:write") or (principal.is_hub and principal.can("delivery:write")),
        renewal=service.renewal_review(db, principal, c.id) if c.phase in ("implementation", "renewal") else None,
        today=today(), statuses=rules.TASK_STATUSES,
    )
    ctx.update(extra)
    return ctx


@router.get("/contracts/{contract_id}")
def contract_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader):
    return render(request, "contracts/detail.html", _contract_page(request, db, principal, contract_id))


@router.post("/contracts/{contract_id}/phase", dependencies=[Depends(csrf_protect)])
def change_phase(request: Request, contract_id: int, db: DbSession, principal: Principal = Writer,
                 to_phase: str = Form(...), note: str = Form("")):
    c = service.change_phase(db, principal, contract_id, to_phase, note)
    return redirect(f"/contracts/{c.id}", flash=f"The contract is now in {rules.PHASE_LABELS[rules.Phase(c.phase)]}.",
                    kind="success", request=request)


@router.post("/contracts/{contract_id}/vision", dependencies=[Depends(csrf_protect)])
def update_vision(request: Request, contract_id: int, db: DbSession, principal: Principal = Writer,
                  vision: str = Form("")):
    service.update_vision(db, principal, contract_id, vision)
    return redirect(f"/contracts/{contract_id}", flash="Shared vision saved.", kind="success", request=request)


@router.post("/contracts/{contract_id}/tasks/{task_id}", dependencies=[Depends(csrf_protect)])
def update_task(request: Request, contract_id: int, task_id: int, db: DbSession, principal: Principal = Reader,
                status: str = Form(...), waived_reason: str = Form("")):
    try:
        data = schemas.TaskUpdate(status=status, waived_reason=waived_reason or None)
    except ValidationError:
        raise InvalidInput("Unknown task status", [Problem(f"'{status}' is not a task status", field="status")]) from None
    service.update_task(db, principal, contract_id, task_id, data)
    return redirect(f"/contracts/{contract_id}#prelaunch", flash="Task updated.", kind="success", request=request)


@router.post("/contracts/{contract_id}/tasks", dependencies=[Depends(csrf_protect)])
def add_task(request: Request, contract_id: int, db: DbSession, principal: Principal = Writer,
             title: str = Form(...), owner: str = Form("partner"), due_date: str = Form(""),
             required: bool = Form(False)):
    data = schemas.TaskCreate(title=title, owner=owner, due_date=due_date or None, required=required)
    service.add_task(db, principal, contract_id, data)
    return redirect(f"/contracts/{contract_id}#prelaunch", flash="Task added.", kind="success", request=request)


# ---- scope of work -----------------------------------------------------------------------------

SECTIONS = ("who", "what", "how")


def _scope_ctx(db, principal, contract_id, texts=None, problems=None, reason=""):
    c = service.get(db, principal, contract_id)
    v = service.current_version(db, c)
    ctx = _common(c)
    sow = rules.version_document(start_date=v.start_date, end_date=v.end_date, services_covered=[],
                                 payment_terms_yaml="", scope_of_work=v.scope_of_work)["scope_of_work"]
    ctx.update(version=v, sow=views.display_sow(sow), rule_lines=views.rule_lines(v.scope_of_work),
               checklist=rules.checklist(v.scope_of_work),
               texts=texts or {s: views.sow_yaml(v.scope_of_work.get(s, {})) for s in SECTIONS}
               | {"payment_terms_yaml": v.payment_terms_yaml, "end_date": v.end_date.isoformat()},
               problems=problems or [], reason=reason,
               can_write=principal.can("contracts:write") and principal.is_plan and c.phase != "ended")
    return ctx


@router.get("/contracts/{contract_id}/scope")
def scope_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader):
    return render(request, "contracts/scope.html", _scope_ctx(db, principal, contract_id))


@router.post("/contracts/{contract_id}/scope", dependencies=[Depends(csrf_protect)])
def save_scope(request: Request, contract_id: int, db: DbSession, principal: Principal = Writer,
               who: str = Form(""), what: str = Form(""), how: str = Form(""),
               payment_terms_yaml: str = Form(""), end_date: str = Form(""), reason: str = Form("")):
    texts = {"who": who, "what": what, "how": how, "payment_terms_yaml": payment_terms_yaml, "end_date": end_date}
    problems: list[Problem] = []
    doc: dict = {}
    for section in SECTIONS:
        try:
            doc[section] = yaml.safe_load(texts[section]) or {}
        except yaml.YAMLError as exc:
            problems.append(Problem(f"not valid YAML: {exc}", field=section))
    if not reason.strip():
        problems.append(Problem("say why the scope of work changes", field="reason"))
    sow = None
    if not problems:
        try:
            sow = schemas.ScopeOfWork.model_validate(doc)
        except ValidationError as exc:
            problems += [Problem(e["msg"], field=".".join(str(x) for x in e["loc"])) for e in exc.errors()]
    new_end = None
    if end_date:
        try:
            new_end = date.fromisoformat(end_date)
        except ValueError:
            problems.append(Problem("not a date (YYYY-MM-DD)", field="end_date"))
    if not problems:
        try:
            v = service.amend(db, principal, contract_id, schemas.Amendment(
                reason=reason, scope_of_work=sow, payment_terms_yaml=payment_terms_yaml, end_date=new_end))
        except InvalidInput as exc:
            problems = exc.problems or [Problem(exc.message)]
        else:
            return redirect(f"/contracts/{contract_id}/versions/{v.version}",
                            flash=f"Saved as version {v.version}.", kind="success", request=request)
    return render(request, "contracts/scope.html", _scope_ctx(db, principal, contract_id, texts, problems, reason),
                  status_code=422)


@router.get("/contracts/{contract_id}/versions/{number}")
def version_page(request: Request, contract_id: int, number: int, db: DbSession, principal: Principal = Reader):
    c = service.get(db, principal, contract_id)
    ctx = _common(c)
    ctx.update(version=repo.version(db, c.id, number), versions=repo.versions(db, c.id))
    return render(request, "contracts/version.html", ctx)


# ---- checklist ---------------------------------------------------------------------------------


@router.get("/contracts/{contract_id}/checklist")
def checklist_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader,
                   version: int | None = None):
    c, v, cl = service.checklist_for(db, principal, contract_id, version)
    ctx = _common(c)
    ctx.update(version=v, checklist=cl)
    return render(request, "contracts/checklist.html", ctx)


@router.get("/contracts/{contract_id}/export.html")
def export_html(contract_id: int, db: DbSession, principal: Principal = Reader, version: int | None = None):
    c, v, cl = service.checklist_for(db, principal, contract_id, version)
    return HTMLResponse(views.render_export_html(views.export_context(db, c, v, cl)))


@router.get("/contracts/{contract_id}/export.pdf")
def export_pdf(contract_id: int, db: DbSession, principal: Principal = Reader, version: int | None = None):
    c, v, cl = service.checklist_for(db, principal, contract_id, version)
    pdf = views.render_export_pdf(views.export_context(db, c, v, cl))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="contract-{c.id}-v{v.version}-scope-of-work.pdf"'})


# ---- eligibility and prioritized lists ---------------------------------------------------------


@router.get("/contracts/{contract_id}/eligibility")
def eligibility_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader,
                     as_of: str | None = None):
    c = service.get(db, principal, contract_id)
    when = date.fromisoformat(as_of) if as_of else today()
    ctx = _common(c)
    ctx.update(result=service.eligibility(db, principal, contract_id, when),
               can_lists=principal.can("contracts:members") and principal.is_plan)
    return render(request, "contracts/eligibility.html", ctx, block="results")


@router.post("/contracts/{contract_id}/selections", dependencies=[Depends(csrf_protect)])
def create_selection(request: Request, contract_id: int, db: DbSession, principal: Principal = MemberLists,
                     proportional: str = Form("declared")):
    req = schemas.SelectionRequest(proportional_strata=[] if proportional == "none" else None)
    sel = service.create_selection(db, principal, contract_id, req)
    return redirect(f"/contracts/{contract_id}/selections/{sel.id}",
                    flash=f"{sel.selected_count:,} of {sel.eligible_count:,} eligible members selected.",
                    kind="success", request=request)


@router.get("/contracts/{contract_id}/selections/{selection_id}")
def selection_page(request: Request, contract_id: int, selection_id: int, db: DbSession,
                   principal: Principal = MemberLists, page: int = 1):
    sel, rows = service.selection_page(db, principal, contract_id, selection_id, max(page, 1), 50)
    c = service.get(db, principal, contract_id)
    ctx = _common(c)
    dims = {}
    for s in sel.strata:
        dims.setdefault(s["dimension"], []).append(s)
    pages = max(1, -(-sel.selected_count // 50))
    ctx.update(sel=sel, rows=rows, dims=dims, page=max(page, 1), pages=pages)
    return render(request, "contracts/selection.html", ctx, block="results")


@router.get("/contracts/{contract_id}/selections/{selection_id}/members.csv")
def selection_csv(contract_id: int, selection_id: int, db: DbSession, principal: Principal = MemberLists):
    text = service.selection_csv(db, principal, contract_id, selection_id)
    return Response(text, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="contract-{contract_id}-members-{selection_id}.csv"'})


@router.get("/contracts/{contract_id}/selections/{selection_id}/assign")
def assign_preview(request: Request, contract_id: int, selection_id: int, db: DbSession,
                   principal: Principal = MemberLists):
    c = service.get(db, principal, contract_id)
    preview = service.assignment_preview(db, principal, contract_id, selection_id)
    ctx = _common(c)
    ctx.update(preview=preview, sel=preview.selection)
    return render(request, "contracts/assign.html", ctx)


@router.post("/contracts/{contract_id}/selections/{selection_id}/assign", dependencies=[Depends(csrf_protect)])
def assign_selection(request: Request, contract_id: int, selection_id: int, db: DbSession,
                     principal: Principal = MemberLists, confirm_count: int = Form(...)):
    sel = service.assign_selection(db, principal, contract_id, selection_id, confirm_count=confirm_count)
    return redirect(f"/contracts/{contract_id}/selections/{sel.id}", flash=f"Member list assigned: {sel.assigned_note}.",
                    kind="success", request=request)


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("contracts:read"):
        return []
    counts = repo.counts_by_phase(session, principal)
    live = counts.get("implementation", 0) + counts.get("renewal", 0)
    return [{"title": "Contracts", "value": f"{sum(counts.values()):,}", "href": "/contracts",
             "note": f"{live} in implementation or renewal", "order": 40}]
