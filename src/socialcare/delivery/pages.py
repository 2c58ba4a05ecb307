"""Delivery pages: CBO and hub staff record services, open episodes, work pathways, record home visits
and flexible fund disbursements; the plan sees what was delivered to its members and approves
renewals. Forms carry the CSRF token; step, renewal and decision forms update in place with HTMX."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, Request
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from socialcare.core.clock import today
from socialcare.core.errors import InvalidInput, Problem, SocialcareError
from socialcare.core.money import fmt_usd
from socialcare.delivery import repository as repo
from socialcare.delivery import rules, service
from socialcare.kit.codes import NEED_DOMAINS
from socialcare.members.models import Member
from socialcare.security.principal import Principal
from socialcare.security.sharing import member_visibility
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import env, redirect, render

router = APIRouter(tags=["delivery"])

NAV = [NavItem(label="Delivery", href="/delivery", permission="delivery:read", order=40)]

Reader = Depends(require_page("delivery:read"))
Writer = Depends(require_page("delivery:write"))
Approver = Depends(require_page("delivery:approve"))
CSRF = [Depends(csrf_protect)]

env.globals["PLACES_OF_SERVICE"] = rules.PLACES_OF_SERVICE
env.globals["EPISODE_STATUS_LABELS"] = {str(k): v for k, v in rules.EPISODE_STATUS_LABELS.items()}
env.globals["PATHWAY_STATUS_LABELS"] = {str(k): v for k, v in rules.PATHWAY_STATUS_LABELS.items()}
env.globals["FLEX_CATEGORIES"] = rules.FLEX_CATEGORIES
env.globals["ENGAGEMENT_KINDS"] = rules.ENGAGEMENT_KINDS
env.filters["usd"] = fmt_usd


# ---- helpers ---------------------------------------------------------------------------------


def _date(value: str | None, fld: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Bad date", [Problem(f"'{value}' is not a date (YYYY-MM-DD)", field=fld)]) from None


def _int(value: str | None, fld: str) -> int | None:
    if value is None or not str(value).strip():
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidInput("Not a number", [Problem(f"'{value}' is not a whole number", field=fld)]) from None


def _resolve_member(db: Session, principal: Principal, text: str | None) -> int | None:
    """A member typed as the plan member id (M0012345) or the record number, among members shared with you."""
    t = (text or "").strip()
    if not t:
        return None
    conds = [Member.plan_member_id == t]
    if t.isdigit():
        conds.append(Member.id == int(t))
    mid = db.scalar(select(Member.id).where(or_(*conds), member_visibility(principal)).limit(1))
    if mid is None:
        if t.isdigit():
            return int(t)  # the service refuses it (and audits the refusal) when it is not shared
        raise InvalidInput("Unknown member", [Problem(f"no member '{t}' is shared with your organization",
                                                      field="member")])
    return mid


def _filters(request: Request) -> tuple[repo.Filters, dict]:
    q = request.query_params
    raw = {k: q.get(k, "") for k in ("organization_id", "need_domain", "service_code", "status", "date_from",
                                      "date_to", "q", "member_id", "pathway_code")}
    try:
        f = repo.Filters(organization_id=_int(raw["organization_id"], "organization_id"),
                         member_id=_int(raw["member_id"], "member_id"), need_domain=raw["need_domain"] or None,
                         service_code=raw["service_code"] or None, status=raw["status"] or None,
                         date_from=_date(raw["date_from"], "date_from"), date_to=_date(raw["date_to"], "date_to"),
                         q=raw["q"] or None)
    except InvalidInput:
        f = repo.Filters()
    return f, raw


def _common(db: Session, principal: Principal) -> dict:
    return {"org_options": [(str(i), n) for i, n in repo.delivering_organizations(db, principal)],
            "can_write": principal.can("delivery:write") and not principal.is_plan,
            "can_approve": principal.can("delivery:approve") and principal.is_plan,
            "today": today()}


# ---- overview --------------------------------------------------------------------------------


@router.get("/delivery")
def overview(request: Request, db: DbSession, principal: Principal = Reader):
    t = today()
    start = t.replace(day=1)
    this_month = service.summary(db, principal, start, t)
    prev_end = start - timedelta(days=1)
    last_month = service.summary(db, principal, prev_end.replace(day=1), prev_end)
    totals = repo.service_totals(db, principal, repo.Filters(date_from=prev_end.replace(day=1), date_to=t))
    return render(request, "delivery/overview.html", {
        **_common(db, principal), "this_month": this_month, "last_month": last_month, "month_start": start,
        "prev_start": prev_end.replace(day=1), "totals": totals[:12],
    })


# ---- service records -------------------------------------------------------------------------


@router.get("/delivery/services")
def services(request: Request, db: DbSession, principal: Principal = Reader, page: int = 1):
    f, raw = _filters(request)
    result = service.list_services(db, principal, f, page, 50)
    return render(request, "delivery/services.html", {
        **_common(db, principal), "result": result, "filters": raw, "totals": repo.service_totals(db, principal, f),
        "domain_options": [(k.value, v.label) for k, v in NEED_DOMAINS.items()],
        "status_options": [("recorded", "Recorded"), ("entered-in-error", "Entered in error")],
    }, block="results")


def _service_form(request, db, principal, form, problems, status=200):
    return render(request, "delivery/service_form.html", {
        **_common(db, principal), "form": form, "problems": problems,
        "services": repo.org_services(db, principal.org_id),
        "referrals": repo.open_referrals_held(db, principal, form.get("member") or None),
    }, status_code=status)


@router.get("/delivery/services/new")
def new_service(request: Request, db: DbSession, principal: Principal = Writer):
    q = request.query_params
    form = {"member": q.get("member", ""), "referral_id": q.get("referral_id", ""), "service_date": today().isoformat(),
            "place_of_service": "12", "units": "1"}
    return _service_form(request, db, principal, form, [])


@router.post("/delivery/services", dependencies=CSRF)
def create_service(request: Request, db: DbSession, principal: Principal = Writer, member: str = Form(""),
                   service_id: str = Form(""), service_date: str = Form(""), units: str = Form(""),
                   place_of_service: str = Form("12"), service_code: str = Form(""), diagnosis_code: str = Form(""),
                   referral_id: str = Form(""), note: str = Form("")):
    form = dict(member=member, service_id=service_id, service_date=service_date, units=units,
                place_of_service=place_of_service, service_code=service_code, diagnosis_code=diagnosis_code,
                referral_id=referral_id, note=note)
    try:
        data = rules.ServiceRecordInput(
            member_id=_resolve_member(db, principal, member), service_id=_int(service_id, "service_id"),
            service_date=_date(service_date, "service_date"), units=_int(units, "units"),
            place_of_service=place_of_service, service_code=service_code or None,
            diagnosis_code=diagnosis_code or None, referral_id=_int(referral_id, "referral_id"), note=note or None)
        r = service.record_service(db, principal, data)
    except InvalidInput as exc:
        return _service_form(request, db, principal, form, exc.problems, 422)
    return redirect("/delivery/services", flash=f"Recorded {r.units} × {r.service_code or 'service'} on "
                    f"{r.service_date:%b %d}.", kind="success", request=request)


@router.post("/delivery/services/{record_id}/void", dependencies=CSRF)
def void_service(request: Request, record_id: int, db: DbSession, principal: Principal = Writer,
                 reason: str = Form("")):
    service.void_service(db, principal, record_id, reason)
    return redirect("/delivery/services", flash="Marked entered in error; it will not be paid.", kind="success",
                    request=request)


# ---- episodes --------------------------------------------------------------------------------


@router.get("/delivery/episodes")
def episodes(request: Request, db: DbSession, principal: Principal = Reader, page: int = 1):
    f, raw = _filters(request)
    result = service.list_episodes(db, principal, f, page, 50)
    status_options = [(str(k), v) for k, v in rules.EPISODE_STATUS_LABELS.items()] + [
        ("renewal-requested", "Renewal waiting for the plan")]
    return render(request, "delivery/episodes.html", {
        **_common(db, principal), "result": result, "filters": raw, "status_options": status_options,
    }, block="results")


def _episode_form(request, db, principal, form, problems, status=200):
    return render(request, "delivery/episode_form.html", {
        **_common(db, principal), "form": form, "problems": problems,
        "services": repo.org_services(db, principal.org_id)}, status_code=status)


@router.get("/delivery/episodes/new")
def new_episode(request: Request, db: DbSession, principal: Principal = Writer):
    q = request.query_params
    return _episode_form(request, db, principal, {"member": q.get("member", ""), "referral_id": q.get("referral_id", ""),
                                                  "start_date": today().isoformat(),
                                                  "program": "Community care management"}, [])


@router.post("/delivery/episodes", dependencies=CSRF)
def create_episode(request: Request, db: DbSession, principal: Principal = Writer, member: str = Form(""),
                   start_date: str = Form(""), program: str = Form(""), service_id: str = Form(""),
                   referral_id: str = Form("")):
    form = dict(member=member, start_date=start_date, program=program, service_id=service_id, referral_id=referral_id)
    try:
        e = service.open_episode(db, principal, service.EpisodeInput(
            member_id=_resolve_member(db, principal, member), start_date=_date(start_date, "start_date"),
            program=program, service_id=_int(service_id, "service_id"), referral_id=_int(referral_id, "referral_id")))
    except InvalidInput as exc:
        return _episode_form(request, db, principal, form, exc.problems, 422)
    except SocialcareError as exc:
        if exc.status_code != 409:
            raise
        return _episode_form(request, db, principal, form, [Problem(exc.message, field="start_date")], 409)
    return redirect(f"/delivery/episodes/{e.id}", flash=f"Episode opened through {e.planned_end:%b %d, %Y}.",
                    kind="success", request=request)


def _episode_ctx(db, principal, episode_id, problems=None) -> dict:
    e = service.get_episode(db, principal, episode_id)
    states = [rules.RenewalState(r.sequence, r.period_start, r.period_end, r.status) for r in e.renewals]
    why_not = rules.renewal_refusal(e.status, e.period_days, e.start_date, states, e.max_renewals, today())
    nxt = rules.next_renewal_period(e.start_date, e.period_days, states)
    return {**_common(db, principal), "e": e, "problems": problems or [], "renewal_refusal": why_not,
            "next_period": nxt, "own": e.organization_id == principal.org_id,
            "paid": rules.paid_periods(e.start_date, e.period_days, states, e.max_renewals)}


@router.get("/delivery/episodes/{episode_id}")
def episode_page(request: Request, episode_id: int, db: DbSession, principal: Principal = Reader):
    return render(request, "delivery/episode.html", _episode_ctx(db, principal, episode_id))


def _episode_action(request, db, principal, episode_id, fn, flash):
    try:
        fn()
    except (InvalidInput, SocialcareError) as exc:
        if exc.status_code not in (409, 422):
            raise
        problems = exc.problems if isinstance(exc, InvalidInput) else [Problem(exc.message)]
        return render(request, "delivery/episode.html", _episode_ctx(db, principal, episode_id, problems),
                      block="renewals", status_code=exc.status_code)
    if request.headers.get("HX-Request") == "true":
        return render(request, "delivery/episode.html", {**_episode_ctx(db, principal, episode_id),
                                                         "notice": flash}, block="renewals")
    return redirect(f"/delivery/episodes/{episode_id}", flash=flash, kind="success")


@router.post("/delivery/episodes/{episode_id}/renewals", dependencies=CSRF)
def request_renewal(request: Request, episode_id: int, db: DbSession, principal: Principal = Writer,
                    reason: str = Form("")):
    return _episode_action(request, db, principal, episode_id,
                           lambda: service.request_renewal(db, principal, episode_id, reason),
                           "Renewal requested; the plan decides.")


@router.post("/delivery/episodes/{episode_id}/renewals/{renewal_id}/decision", dependencies=CSRF)
def decide_renewal(request: Request, episode_id: int, renewal_id: int, db: DbSession,
                   principal: Principal = Approver, decision: str = Form(""), note: str = Form("")):
    approve = decision == "approve"
    return _episode_action(request, db, principal, episode_id,
                           lambda: service.decide_renewal(db, principal, episode_id, renewal_id, approve, note),
                           "Renewal approved: the period will be paid." if approve else "Renewal denied.")


@router.post("/delivery/episodes/{episode_id}/close", dependencies=CSRF)
def close_episode(request: Request, episode_id: int, db: DbSession, principal: Principal = Writer,
                  actual_end: str = Form(""), reason: str = Form("")):
    return _episode_action(request, db, principal, episode_id,
                           lambda: service.close_episode(db, principal, episode_id, _date(actual_end, "actual_end"),
                                                         reason), "Episode closed.")


# ---- pathways --------------------------------------------------------------------------------


@router.get("/delivery/pathways")
def pathways(request: Request, db: DbSession, principal: Principal = Reader, page: int = 1):
    f, raw = _filters(request)
    cat = service.catalog()
    result = service.list_pathways(db, principal, f, page, 50, raw["pathway_code"] or None)
    return render(request, "delivery/pathways.html", {
        **_common(db, principal), "result": result, "filters": raw, "catalog": cat,
        "names": {p.code: p.name for p in cat.pathways},
        "pathway_options": [(p.code, p.name) for p in cat.pathways],
        "status_options": [(str(k), v) for k, v in rules.PATHWAY_STATUS_LABELS.items()],
    }, block="results")


@router.get("/delivery/pathways/reference")
def pathway_reference(request: Request, principal: Principal = Reader):
    return render(request, "delivery/pathway_reference.html", {"catalog": service.catalog()})


def _pathway_form(request, db, principal, form, problems, status=200):
    return render(request, "delivery/pathway_form.html", {
        **_common(db, principal), "form": form, "problems": problems,
        "pathway_options": [(p.code, p.name) for p in service.catalog().pathways]}, status_code=status)


@router.get("/delivery/pathways/new")
def new_pathway(request: Request, db: DbSession, principal: Principal = Writer):
    q = request.query_params
    return _pathway_form(request, db, principal, {"member": q.get("member", ""), "opened_on": today().isoformat(),
                                                  "pathway_code": q.get("pathway_code", "")}, [])


@router.post("/delivery/pathways", dependencies=CSRF)
def create_pathway(request: Request, db: DbSession, principal: Principal = Writer, member: str = Form(""),
                   pathway_code: str = Form(""), opened_on: str = Form(""), note: str = Form("")):
    form = dict(member=member, pathway_code=pathway_code, opened_on=opened_on, note=note)
    try:
        inst = service.open_pathway(db, principal, _resolve_member(db, principal, member), pathway_code,
                                    _date(opened_on, "opened_on"), note=note)
    except InvalidInput as exc:
        return _pathway_form(request, db, principal, form, exc.problems, 422)
    except SocialcareError as exc:
        if exc.status_code != 409:
            raise
        return _pathway_form(request, db, principal, form, [Problem(exc.message, field="pathway_code")], 409)
    return redirect(f"/delivery/pathways/{inst.id}", flash="Pathway opened.", kind="success", request=request)


def _pathway_ctx(db, principal, instance_id, problems=None) -> dict:
    inst = service.get_pathway(db, principal, instance_id)
    pdef = service.catalog().get(inst.pathway_code)
    done = {s.step_code: s for s in inst.steps}
    nxt = rules.next_step(pdef, {k: v.completed_on for k, v in done.items()}) if inst.status == "open" else None
    return {**_common(db, principal), "p": inst, "pdef": pdef, "done": done, "next": nxt,
            "problems": problems or [], "own": inst.organization_id == principal.org_id,
            "may_confirm": service.may_confirm(db, principal, inst)}


@router.get("/delivery/pathways/{instance_id}")
def pathway_page(request: Request, instance_id: int, db: DbSession, principal: Principal = Reader):
    return render(request, "delivery/pathway.html", _pathway_ctx(db, principal, instance_id))


def _pathway_action(request, db, principal, instance_id, fn, flash):
    try:
        fn()
    except (InvalidInput, SocialcareError) as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        problems = exc.problems if isinstance(exc, InvalidInput) else [Problem(exc.message)]
        return render(request, "delivery/pathway.html", _pathway_ctx(db, principal, instance_id, problems),
                      block="steps", status_code=exc.status_code)
    if request.headers.get("HX-Request") == "true":
        return render(request, "delivery/pathway.html", {**_pathway_ctx(db, principal, instance_id),
                                                         "notice": flash}, block="steps")
    return redirect(f"/delivery/pathways/{instance_id}", flash=flash, kind="success")


@router.post("/delivery/pathways/{instance_id}/steps", dependencies=CSRF)
def record_step(request: Request, instance_id: int, db: DbSession, principal: Principal = Writer,
                step_code: str = Form(""), completed_on: str = Form(""), note: str = Form("")):
    return _pathway_action(request, db, principal, instance_id, lambda: service.record_step(
        db, principal, instance_id, step_code, _date(completed_on, "completed_on"), note), "Step recorded.")


@router.post("/delivery/pathways/{instance_id}/complete", dependencies=CSRF)
def complete_pathway(request: Request, instance_id: int, db: DbSession, principal: Principal = Writer,
                     confirmed_on: str = Form(""), note: str = Form("")):
    return _pathway_action(request, db, principal, instance_id, lambda: service.confirm_completion(
        db, principal, instance_id, _date(confirmed_on, "confirmed_on"), note), "Completion confirmed.")


@router.post("/delivery/pathways/{instance_id}/incomplete", dependencies=CSRF)
def incomplete_pathway(request: Request, instance_id: int, db: DbSession, principal: Principal = Writer,
                       closed_on: str = Form(""), reason: str = Form("")):
    return _pathway_action(request, db, principal, instance_id, lambda: service.finish_incomplete(
        db, principal, instance_id, _date(closed_on, "closed_on"), reason), "Pathway finished without the outcome.")


# ---- engagements and flexible funds ----------------------------------------------------------


def _engagements(request, db, principal, page=1, problems=None, form=None, status=200):
    f, raw = _filters(request)
    result = service.list_engagements(db, principal, f, page, 50)
    return render(request, "delivery/engagements.html", {
        **_common(db, principal), "result": result, "filters": raw, "problems": problems or [],
        "form": form or {"engaged_on": today().isoformat(), "kind": "home_visit",
                         "member": request.query_params.get("member", "")}}, block="results", status_code=status)


@router.get("/delivery/engagements")
def engagements(request: Request, db: DbSession, principal: Principal = Reader, page: int = 1):
    return _engagements(request, db, principal, page)


@router.post("/delivery/engagements", dependencies=CSRF)
def create_engagement(request: Request, db: DbSession, principal: Principal = Writer, member: str = Form(""),
                      engaged_on: str = Form(""), kind: str = Form("home_visit"), note: str = Form("")):
    form = dict(member=member, engaged_on=engaged_on, kind=kind, note=note)
    try:
        service.record_engagement(db, principal, _resolve_member(db, principal, member),
                                  _date(engaged_on, "engaged_on"), kind, note)
    except InvalidInput as exc:
        return _engagements(request, db, principal, problems=exc.problems, form=form, status=422)
    except SocialcareError as exc:
        if exc.status_code != 409:
            raise
        return _engagements(request, db, principal, problems=[Problem(exc.message)], form=form, status=409)
    return redirect("/delivery/engagements", flash="Engagement recorded.", kind="success", request=request)


@router.get("/delivery/funds")
def funds(request: Request, db: DbSession, principal: Principal = Reader, page: int = 1):
    f, raw = _filters(request)
    result = service.list_disbursements(db, principal, f, page, 50)
    return render(request, "delivery/funds.html", {
        **_common(db, principal), "result": result, "filters": raw,
        "category_options": list(rules.FLEX_CATEGORIES.items())}, block="results")


def _fund_form(request, db, principal, form, problems, status=200):
    return render(request, "delivery/fund_form.html", {**_common(db, principal), "form": form, "problems": problems},
                  status_code=status)


@router.get("/delivery/funds/new")
def new_fund(request: Request, db: DbSession, principal: Principal = Writer):
    return _fund_form(request, db, principal, {"member": request.query_params.get("member", ""),
                                               "disbursed_on": today().isoformat()}, [])


@router.post("/delivery/funds", dependencies=CSRF)
def create_fund(request: Request, db: DbSession, principal: Principal = Writer, member: str = Form(""),
                category: str = Form(""), amount: str = Form(""), disbursed_on: str = Form(""),
                payee: str = Form(""), purpose: str = Form("")):
    form = dict(member=member, category=category, amount=amount, disbursed_on=disbursed_on, payee=payee,
                purpose=purpose)
    try:
        d = service.record_disbursement(db, principal, service.DisbursementInput(
            member_id=_resolve_member(db, principal, member), category=category or None, amount=amount or None,
            disbursed_on=_date(disbursed_on, "disbursed_on"), purpose=purpose, payee=payee))
    except InvalidInput as exc:
        return _fund_form(request, db, principal, form, exc.problems, 422)
    return redirect("/delivery/funds", flash=f"Disbursed {fmt_usd(d.amount)} ({d.category}).", kind="success",
                    request=request)


# ---- plug-ins: home cards and the member profile panel ---------------------------------------


def home_cards(session: Session, principal: Principal) -> list[dict]:
    if not principal.can("delivery:read") or (principal.is_plan and not principal.can("delivery:approve")):
        return []
    t = today()
    s = service.summary(session, principal, t.replace(day=1), t)
    cards = [{"title": "Services delivered this month", "value": f"{s['services']:,}", "href": "/delivery/services",
              "note": f"{s['units']:,} units", "order": 40}]
    if s["renewals_pending"]:
        cards.append({"title": "Episode renewals waiting", "value": f"{s['renewals_pending']:,}",
                      "href": "/delivery/episodes?status=renewal-requested",
                      "note": "the plan approves or denies", "order": 41})
    return cards


def member_sections(session: Session, principal: Principal, member) -> list[dict]:
    if not principal.can("delivery:read"):
        return []
    d = service.member_delivery(session, principal, member.id)
    html = env.get_template("delivery/_member_panel.html").render(
        d=d, m=member, can_write=principal.can("delivery:write") and not principal.is_plan,
        names={p.code: p.name for p in service.catalog().pathways}, PATHWAY_STATUS_LABELS=env.globals[
            "PATHWAY_STATUS_LABELS"], EPISODE_STATUS_LABELS=env.globals["EPISODE_STATUS_LABELS"])
    return [{"title": "Services delivered", "html": Markup(html), "order": 30}]
