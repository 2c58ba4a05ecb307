"""Contracts JSON API: contracts and their versions, the scope of work checklist, the lifecycle and
pre-launch tasks, eligibility counts, prioritized member lists (plan roles only) and the renewal review."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response

from socialcare.contracts import repository as repo
from socialcare.contracts import schemas, service, views
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/contracts", tags=["contracts"])

Reader = Annotated[Principal, Depends(require_api("contracts:read"))]
Writer = Annotated[Principal, Depends(require_api("contracts:write"))]
MemberLists = Annotated[Principal, Depends(require_api("contracts:members"))]


@router.get("", summary="Contracts you are party to", response_model=list[schemas.ContractOut])
def list_contracts(db: DbSession, principal: Reader, phase: str | None = Query(None, description="e.g. implementation")):
    return [views.summary(c) for c in service.list_contracts(db, principal, phase)]


@router.post("", status_code=201, summary="Create a contract (plan)", response_model=schemas.ContractDetail)
def create_contract(data: schemas.ContractCreate, db: DbSession, principal: Writer):
    c = service.create(db, principal, data)
    db.refresh(c)
    return views.detail(db, service.get(db, principal, c.id))


@router.get("/{contract_id}", summary="One contract with its current version", response_model=schemas.ContractDetail)
def get_contract(contract_id: int, db: DbSession, principal: Reader):
    return views.detail(db, service.get(db, principal, contract_id))


@router.post("/{contract_id}/amendments", status_code=201, summary="Amend: a new version with a reason and a diff")
def amend(contract_id: int, data: schemas.Amendment, db: DbSession, principal: Writer):
    return views.version_dict(service.amend(db, principal, contract_id, data), full=True)


@router.get("/{contract_id}/versions", summary="Every version, newest first")
def versions(contract_id: int, db: DbSession, principal: Reader):
    c = service.get(db, principal, contract_id)
    return [views.version_dict(v) for v in repo.versions(db, c.id)]


@router.get("/{contract_id}/versions/{number}", summary="One version with its diff")
def version(contract_id: int, number: int, db: DbSession, principal: Reader):
    c = service.get(db, principal, contract_id)
    return views.version_dict(repo.version(db, c.id, number), full=True)


@router.get("/{contract_id}/checklist", summary="The Scope of Work Checklist for a version (default: current)")
def checklist(contract_id: int, db: DbSession, principal: Reader, version: int | None = None):
    c, v, cl = service.checklist_for(db, principal, contract_id, version)
    return {
        "contract_id": c.id, "version": v.version, "complete": cl.complete, "rows": views.checklist_rows(cl),
        "missing": [{"item": r.row.item, "section": r.row.section, "add": r.row.add} for r in cl.missing],
        "also_recommended": [{"item": r.row.item, "present": r.answer} for r in cl.also_recommended],
    }


@router.get("/{contract_id}/checklist.pdf", summary="Checklist and whole scope of work as PDF",
            response_class=Response)
def checklist_pdf(contract_id: int, db: DbSession, principal: Reader, version: int | None = None):
    c, v, cl = service.checklist_for(db, principal, contract_id, version)
    return Response(views.render_export_pdf(views.export_context(db, c, v, cl)), media_type="application/pdf")


@router.post("/{contract_id}/phase", summary="Move to another phase of the lifecycle")
def change_phase(contract_id: int, data: schemas.PhaseChange, db: DbSession, principal: Writer):
    return views.summary(service.change_phase(db, principal, contract_id, data.to_phase, data.note))


@router.get("/{contract_id}/tasks", summary="Pre-launch tasks and what blocks launch")
def tasks(contract_id: int, db: DbSession, principal: Reader):
    c = service.get(db, principal, contract_id)
    return {"tasks": [views.task_dict(t) for t in c.tasks],
            "launch_blockers": service.launch_blockers(db, principal, contract_id)}


@router.post("/{contract_id}/tasks", status_code=201, summary="Add a pre-launch task")
def add_task(contract_id: int, data: schemas.TaskCreate, db: DbSession, principal: Writer):
    return views.task_dict(service.add_task(db, principal, contract_id, data))


@router.patch("/{contract_id}/tasks/{task_id}", summary="Update a task (waiving needs a reason)")
def update_task(contract_id: int, task_id: int, data: schemas.TaskUpdate, db: DbSession, principal: Reader):
    return views.task_dict(service.update_task(db, principal, contract_id, task_id, data))


@router.get("/{contract_id}/eligibility", summary="Eligible members and failed counts per criterion")
def eligibility(contract_id: int, db: DbSession, principal: Reader, as_of: date | None = None):
    r = service.eligibility(db, principal, contract_id, as_of)
    return {
        "contract_id": r.contract_id, "as_of": r.as_of, "roster": r.roster, "enrolled": r.enrolled,
        "eligible": r.eligible, "minimum": r.minimum, "maximum": r.maximum, "capped": r.capped,
        "failed": [{"key": c.key, "label": c.label, "kind": c.kind, "members": c.failed} for c in r.criteria],
    }


def _selection_dict(sel) -> dict:
    return {"id": sel.id, "contract_id": sel.contract_id, "contract_version": sel.contract_version, "as_of": sel.as_of,
            "eligible": sel.eligible_count, "selected": sel.selected_count, "cap": sel.cap, "settings": sel.settings,
            "strata": sel.strata, "status": sel.status}


@router.post("/{contract_id}/selections", status_code=201, summary="Build the prioritized member list (plan)")
def create_selection(contract_id: int, db: DbSession, principal: MemberLists,
                     data: schemas.SelectionRequest | None = None):
    return _selection_dict(service.create_selection(db, principal, contract_id, data))


@router.get("/{contract_id}/selections/{selection_id}", summary="A member list: strata and one page of members")
def get_selection(contract_id: int, selection_id: int, db: DbSession, principal: MemberLists,
                  page: int = Query(1, ge=1), page_size: int = Query(100, ge=1, le=1000)):
    sel, rows = service.selection_page(db, principal, contract_id, selection_id, page, page_size)
    return {**_selection_dict(sel), "page": page, "members": [
        {"rank": s.rank, "member_id": m.id, "plan_member_id": m.plan_member_id, "stratum": s.stratum}
        for s, m in rows]}


@router.get("/{contract_id}/selections/{selection_id}/members.csv", summary="The member list as CSV",
            response_class=PlainTextResponse)
def selection_csv(contract_id: int, selection_id: int, db: DbSession, principal: MemberLists):
    return PlainTextResponse(service.selection_csv(db, principal, contract_id, selection_id), media_type="text/csv")


@router.get("/{contract_id}/renewal-review", summary="Performance for the renewal discussion")
def renewal_review(contract_id: int, db: DbSession, principal: Reader):
    r = service.renewal_review(db, principal, contract_id)
    return {"contract_id": r.contract.id, "opens_on": r.opens_on, "open": r.open, "volume": r.volume,
            "measures": r.measures, "payments": r.payments}
