"""Pages of the shared partnership workspace, under each contract: proposals (co-authored changes),
top-three expectations side by side, the lifecycle workspace (practices by phase, role map SVG,
data-sharing matrix, security review, communication and sunset plans, lessons) and case conferences."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from socialcare.contracts import service as contract_service
from socialcare.contracts import views as contract_views
from socialcare.core.db import savepoint
from socialcare.core.errors import Conflict, InvalidInput, Problem
from socialcare.partnership import conferences, expectations, proposals, rules, views, workspace
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["partnership"])

Reader = Depends(require_page("contracts:read"))
Proposer = Depends(require_page("contracts:propose"))
Writer = Depends(require_page("partnership:write"))


def _date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Not saved.", [Problem("use a date like 2026-01-31", field=field)]) from None


def _base(db: Session, principal: Principal, contract_id: int) -> dict:
    c = contract_service.get(db, principal, contract_id)
    return {"c": contract_views.summary(c), "contract": c, "side": proposals.side_of(principal, c),
            "sections": rules.SECTIONS}


# ---- proposals ---------------------------------------------------------------------------------


def _proposals_page(request, db, principal, contract_id, section="vision", text=None, end_date="", comment="",
                    problems=None, status=200):
    ctx = _base(db, principal, contract_id)
    section = section if section in rules.SECTIONS else "vision"
    current = proposals.current_values(db, ctx["contract"], section)
    ctx.update(proposals=proposals.proposals(db, principal, contract_id), section=section,
               text=proposals.as_text(section, current) if text is None else text,
               end_date=end_date or current.get("end_date", ""), comment=comment, problems=problems or [],
               can_propose=principal.can("contracts:propose"))
    return render(request, "partnership/proposals.html", ctx, status_code=status)


@router.get("/contracts/{contract_id}/proposals")
def proposals_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader,
                   section: str = "vision"):
    """Proposed changes to the contract from either party, and a form to propose one."""
    return _proposals_page(request, db, principal, contract_id, section)


@router.post("/contracts/{contract_id}/proposals", dependencies=[Depends(csrf_protect)])
def make_proposal(request: Request, contract_id: int, db: DbSession, principal: Principal = Proposer,
                  section: str = Form("vision"), text: str = Form(""), end_date: str = Form(""),
                  comment: str = Form("")):
    try:
        with savepoint(db):
            values = proposals.parse_text(section, text, end_date)
            p = proposals.propose(db, principal, contract_id, section, values, comment)
    except InvalidInput as exc:
        return _proposals_page(request, db, principal, contract_id, section, text, end_date, comment,
                               [p.as_dict() for p in exc.problems] or [{"message": exc.message}], 422)
    except Conflict as exc:
        return _proposals_page(request, db, principal, contract_id, section, text, end_date, comment,
                               [{"message": exc.message}], 409)
    return redirect(f"/contracts/{contract_id}/proposals/{p.id}",
                    flash="Proposal sent to the other party.", kind="success", request=request)


@router.get("/contracts/{contract_id}/proposals/{proposal_id}")
def proposal_page(request: Request, contract_id: int, proposal_id: int, db: DbSession, principal: Principal = Reader,
                  problems: list | None = None):
    ctx = _base(db, principal, contract_id)
    p = proposals.get(db, principal, contract_id, proposal_id)
    current = proposals.current_values(db, ctx["contract"], p.section)
    ctx.update(p=p, current_text=proposals.as_text(p.section, current),
               proposed_text=proposals.as_text(p.section, p.proposed), problems=problems or [],
               can_answer=principal.can("contracts:propose") and p.status == "open"
               and not proposals.proposed_by_own_side(principal, p),
               can_withdraw=principal.can("contracts:propose") and p.status == "open"
               and proposals.proposed_by_own_side(principal, p))
    return render(request, "partnership/proposal.html", ctx)


@router.post("/contracts/{contract_id}/proposals/{proposal_id}/respond", dependencies=[Depends(csrf_protect)])
def respond(request: Request, contract_id: int, proposal_id: int, db: DbSession, principal: Principal = Proposer,
            response: str = Form(...), comment: str = Form(""), text: str = Form(""), end_date: str = Form("")):
    try:
        with savepoint(db):
            p = proposals.get(db, principal, contract_id, proposal_id)
            counter = proposals.parse_text(p.section, text, end_date) if response == "counter" else None
            result = proposals.respond(db, principal, contract_id, proposal_id, response, comment, counter=counter)
    except (InvalidInput, Conflict) as exc:
        problems = [x.as_dict() for x in getattr(exc, "problems", [])] or [{"message": exc.message}]
        return proposal_page(request, contract_id, proposal_id, db, principal, problems)
    if response == "accept":
        return redirect(f"/contracts/{contract_id}/versions/{result.result_version}",
                        flash=f"Accepted: version {result.result_version} is in force.", kind="success",
                        request=request)
    return redirect(f"/contracts/{contract_id}/proposals/{result.id}", flash=f"Proposal {rules.RESPONSES[response]}.",
                    kind="success", request=request)


@router.post("/contracts/{contract_id}/proposals/{proposal_id}/withdraw", dependencies=[Depends(csrf_protect)])
def withdraw(request: Request, contract_id: int, proposal_id: int, db: DbSession, principal: Principal = Proposer):
    proposals.withdraw(db, principal, contract_id, proposal_id)
    return redirect(f"/contracts/{contract_id}/proposals", flash="Proposal withdrawn.", kind="success",
                    request=request)


# ---- expectations ------------------------------------------------------------------------------


@router.get("/contracts/{contract_id}/expectations")
def expectations_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader):
    """Each party's top three expectations of the partner, the partnership and the program, side by side."""
    ctx = _base(db, principal, contract_id)
    ctx.update(table=expectations.side_by_side(db, principal, contract_id), about=rules.EXPECTATION_ABOUT,
               can_write=principal.can("partnership:write"))
    return render(request, "partnership/expectations.html", ctx)


@router.post("/contracts/{contract_id}/expectations", dependencies=[Depends(csrf_protect)])
def save_expectations(request: Request, contract_id: int, db: DbSession, principal: Principal = Writer,
                      about: list[str] = Form([]), rank: list[int] = Form([]), text: list[str] = Form([])):
    n = expectations.save(db, principal, contract_id,
                          {(a, r): t for a, r, t in zip(about, rank, text, strict=False)})
    return redirect(f"/contracts/{contract_id}/expectations", flash=f"{n} expectations saved for your side.",
                    kind="success", request=request)


# ---- lifecycle workspace -----------------------------------------------------------------------


@router.get("/contracts/{contract_id}/workspace")
def workspace_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader):
    """The guide's practices for each phase, as things both parties schedule, record and close."""
    ctx = _base(db, principal, contract_id)
    c = ctx["contract"]
    items = workspace.practices(db, principal, contract_id)
    role_map = workspace.role_map_of(db, c.id)
    ctx.update(
        by_phase={ph: [p for p in items if p.phase == ph] for ph in rules.PHASES}, kinds=rules.PRACTICES,
        statuses=rules.PRACTICE_STATUSES, parties=rules.PARTIES, can_write=principal.can("partnership:write"),
        review=workspace.security_review(db, c),
        svg=views.role_map_svg(role_map, c.plan.name, c.counterparty.name) if role_map else None,
        phase_labels={"shared_vision": "Shared vision", "scoping": "Scoping", "pre_launch": "Pre-launch",
                      "implementation": "Implementation (JOC)", "renewal": "Renewal"},
    )
    return render(request, "partnership/workspace.html", ctx)


@router.post("/contracts/{contract_id}/workspace", dependencies=[Depends(csrf_protect)])
def schedule_practice(request: Request, contract_id: int, db: DbSession, principal: Principal = Writer,
                      kind: str = Form(...), title: str = Form(""), scheduled_on: str = Form(""),
                      owner_party: str = Form("both"), assigned_to: str = Form("")):
    p = workspace.schedule(db, principal, contract_id, kind=kind, title=title,
                           scheduled_on=_date(scheduled_on, "scheduled_on"), owner_party=owner_party,
                           assigned_to=assigned_to)
    return redirect(f"/contracts/{contract_id}/workspace/{p.id}", flash=f"{p.title} scheduled.", kind="success",
                    request=request)


@router.get("/contracts/{contract_id}/workspace/{practice_id}")
def practice_page(request: Request, contract_id: int, practice_id: int, db: DbSession, principal: Principal = Reader):
    ctx = _base(db, principal, contract_id)
    c = ctx["contract"]
    p = workspace.get(db, principal, contract_id, practice_id)
    data = p.data or {}
    ctx.update(p=p, kind=rules.PRACTICES[p.kind], statuses=rules.PRACTICE_STATUSES, parties=rules.PARTIES,
               can_write=principal.can("partnership:write"), stages=rules.STAGES,
               role_map_text=workspace.role_map_text(data.get("role_map", [])),
               matrix_text=workspace.matrix_text(data.get("matrix", [])),
               messages_text="\n".join(f"{k} | {v}" for k, v in (data.get("messages") or {}).items()))
    if p.kind == "co_design" and data.get("role_map"):
        ctx["svg"] = views.role_map_svg(data["role_map"], c.plan.name, c.counterparty.name)
    if p.kind == "data_strategy" and data.get("matrix"):
        ctx["exchange"] = workspace.check_exchange(db, c, data["matrix"])
    if p.kind == "security_review":
        ctx["review"] = workspace.security_review(db, c)
    if p.kind == "sunset":
        ctx["open_work"] = workspace.members_with_open_work(db, principal, c)
    return render(request, "partnership/practice.html", ctx)


def _messages(text: str) -> dict:
    out = {}
    for lang, msg in workspace.parse_lines(text, 2):
        if not (len(lang) == 2 and lang.isalpha()):
            raise InvalidInput("Not saved.", [Problem("each line is 'es | message' with a two-letter language",
                                                      field="messages")])
        out[lang.lower()] = msg
    return out


@router.post("/contracts/{contract_id}/workspace/{practice_id}", dependencies=[Depends(csrf_protect)])
def record_practice(request: Request, contract_id: int, practice_id: int, db: DbSession, principal: Principal = Writer,
                    status: str = Form(""), notes: str = Form(""), held_on: str = Form(""),
                    assigned_to: str = Form(""), role_map: str | None = Form(None), matrix: str | None = Form(None),
                    window_days: str = Form(""), messages: str | None = Form(None)):
    data: dict = {}
    if role_map is not None:
        data["role_map"] = workspace.parse_role_map(role_map)
    if matrix is not None:
        data["matrix"] = workspace.parse_matrix(matrix)
    if window_days:
        if not window_days.isdigit() or not 1 <= int(window_days) <= 90:
            raise InvalidInput("Not saved.", [Problem("a window of 1 to 90 days", field="window_days")])
        data["window_days"] = int(window_days)
    if messages is not None:
        data["messages"] = _messages(messages)
    workspace.record(db, principal, contract_id, practice_id, status=status or None, notes=notes,
                     held_on=_date(held_on, "held_on"), assigned_to=assigned_to, data=data or None)
    return redirect(f"/contracts/{contract_id}/workspace/{practice_id}", flash="Saved.", kind="success",
                    request=request)


@router.post("/contracts/{contract_id}/workspace/{practice_id}/stories", dependencies=[Depends(csrf_protect)])
def add_story(request: Request, contract_id: int, practice_id: int, db: DbSession, principal: Principal = Writer,
              story: str = Form("")):
    workspace.add_story(db, principal, contract_id, practice_id, story)
    return redirect(f"/contracts/{contract_id}/workspace/{practice_id}", flash="Story recorded.", kind="success",
                    request=request)


@router.post("/contracts/{contract_id}/workspace/{practice_id}/fill-scope", dependencies=[Depends(csrf_protect)])
def fill_scope(request: Request, contract_id: int, practice_id: int, db: DbSession, principal: Principal = Proposer):
    p = workspace.propose_scope_from_matrix(db, principal, contract_id, practice_id)
    return redirect(f"/contracts/{contract_id}/proposals/{p.id}",
                    flash="The scope of work's data section is proposed to the other party.", kind="success",
                    request=request)


@router.get("/contracts/{contract_id}/role-map.svg")
def role_map_svg(contract_id: int, db: DbSession, principal: Principal = Reader):
    c = contract_service.get(db, principal, contract_id)
    return Response(views.role_map_svg(workspace.role_map_of(db, c.id), c.plan.name, c.counterparty.name),
                    media_type="image/svg+xml")


# ---- case conferencing -------------------------------------------------------------------------


@router.get("/contracts/{contract_id}/conferences")
def conferences_page(request: Request, contract_id: int, db: DbSession, principal: Principal = Reader):
    ctx = _base(db, principal, contract_id)
    ctx.update(sessions=conferences.sessions(db, principal, contract_id),
               can_write=principal.can("partnership:write"))
    return render(request, "partnership/conferences.html", ctx)


@router.post("/contracts/{contract_id}/conferences", dependencies=[Depends(csrf_protect)])
def create_conference(request: Request, contract_id: int, db: DbSession, principal: Principal = Writer,
                      held_on: str = Form(...), title: str = Form(""), attendees: str = Form("")):
    conf = conferences.create(db, principal, contract_id, held_on=_date(held_on, "held_on"), title=title,
                              attendees=attendees.splitlines())
    return redirect(f"/contracts/{contract_id}/conferences/{conf.id}", flash="Case conference scheduled.",
                    kind="success", request=request)


@router.get("/contracts/{contract_id}/conferences/{conference_id}")
def conference_page(request: Request, contract_id: int, conference_id: int, db: DbSession,
                    principal: Principal = Reader):
    ctx = _base(db, principal, contract_id)
    conf = conferences.get(db, principal, contract_id, conference_id)
    ctx.update(conf=conf, cases=conferences.case_list(db, principal, conf), parties=rules.PARTIES,
               can_write=principal.can("partnership:write"))
    return render(request, "partnership/conference.html", ctx)


@router.post("/contracts/{contract_id}/conferences/{conference_id}/cases", dependencies=[Depends(csrf_protect)])
def add_case(request: Request, contract_id: int, conference_id: int, db: DbSession, principal: Principal = Writer,
             referral_id: int = Form(...)):
    conferences.add_case(db, principal, contract_id, conference_id, referral_id)
    return redirect(f"/contracts/{contract_id}/conferences/{conference_id}", flash="Case added.", kind="success",
                    request=request)


@router.post("/contracts/{contract_id}/conferences/{conference_id}/notes", dependencies=[Depends(csrf_protect)])
def save_notes(request: Request, contract_id: int, conference_id: int, db: DbSession, principal: Principal = Writer,
               notes: str = Form(""), attendees: str = Form(""), held: bool = Form(False)):
    conferences.save_notes(db, principal, contract_id, conference_id, notes=notes, attendees=attendees.splitlines(),
                           held=held)
    return redirect(f"/contracts/{contract_id}/conferences/{conference_id}",
                    flash="Notes saved (member identities replaced by case labels).", kind="success", request=request)


@router.post("/contracts/{contract_id}/conferences/{conference_id}/cases/{case_id}/follow-up",
             dependencies=[Depends(csrf_protect)])
def follow_up(request: Request, contract_id: int, conference_id: int, case_id: int, db: DbSession,
              principal: Principal = Writer, text: str = Form(""), owner_name: str = Form(""),
              owner_side: str = Form("partner"), due_on: str = Form("")):
    item = conferences.add_follow_up(db, principal, contract_id, conference_id, case_id, text=text,
                                     owner_name=owner_name, owner_side=owner_side, due_on=_date(due_on, "due_on"))
    return redirect(f"/contracts/{contract_id}/conferences/{conference_id}",
                    flash=f"Follow-up added to the JOC's action items (#{item}).", kind="success", request=request)
