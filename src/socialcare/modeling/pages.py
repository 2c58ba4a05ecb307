"""Payment model pages: compare the payment models on the partners' own inputs (simulated margins,
the guide's summary table measured, the win3 check, the advisor), and the fully loaded unit cost of
a service (a CBO user: their own organization's services only)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError

from socialcare.core.errors import InvalidInput, Problem
from socialcare.modeling import service
from socialcare.modeling.cost import UnitCostInputs
from socialcare.modeling.schemas import MODEL_LABELS, parse_inputs
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, FormBody, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import render

router = APIRouter(tags=["modeling"])

NAV = [NavItem(label="Payment models", href="/modeling", permission="modeling:use", order=47)]

User = Depends(require_page("modeling:use"))
EXAMPLE = (Path(__file__).resolve().parents[3] / "examples" / "modeling" / "meals_scale_up.yaml")
DEFAULT_SCENARIOS = 5000


def _example() -> str:
    try:
        return EXAMPLE.read_text(encoding="utf-8")
    except OSError:  # installed without the examples folder
        return ""


def _ctx(form: dict, **kw) -> dict:
    return {"form": form, "labels": MODEL_LABELS, **kw}


def _result_ctx(cmp: service.Comparison) -> dict:
    return {"cmp": cmp, "box_svg": service.margin_chart(cmp.sim), "hist_svg": service.margin_histogram(cmp.sim)}


@router.get("/modeling")
def modeling_page(request: Request, db: DbSession, principal: Principal = User):
    form = {"inputs_yaml": _example(), "scenarios": DEFAULT_SCENARIOS, "seed": 1}
    ctx = _ctx(form)
    try:
        ctx |= _result_ctx(service.compare(parse_inputs(form["inputs_yaml"], "example"), DEFAULT_SCENARIOS, 1))
    except InvalidInput:
        pass
    return render(request, "modeling/compare.html", ctx)


@router.post("/modeling", dependencies=[Depends(csrf_protect)])
def modeling_submit(request: Request, db: DbSession, principal: Principal = User, inputs_yaml: str = Form(""),
                    scenarios: int = Form(DEFAULT_SCENARIOS), seed: int = Form(1)):
    form = {"inputs_yaml": inputs_yaml, "scenarios": scenarios, "seed": seed}
    ctx = _ctx(form)
    try:
        if not 100 <= scenarios <= service.MAX_SCENARIOS:
            raise InvalidInput("The scenarios were refused", [Problem(
                f"between 100 and {service.MAX_SCENARIOS:,}", field="scenarios")])
        ctx |= _result_ctx(service.compare(parse_inputs(inputs_yaml, "inputs"), scenarios, seed))
    except InvalidInput as exc:
        ctx["problems"], ctx["message"] = exc.problems or [], exc.message
    return render(request, "modeling/compare.html", ctx, block="results",
                  status_code=422 if "problems" in ctx else 200)


COST_FIELDS = ("expected_units_per_year", "low_units_per_year", "high_units_per_year", "materials_per_unit",
               "overhead_rate", "prelaunch_costs", "development_costs", "amortization_years",
               "committee_hours_per_month", "committee_hourly_cost", "units_per_episode", "attributed_members",
               "target_margin")
COST_DEFAULTS = {"expected_units_per_year": "24000", "low_units_per_year": "12000", "high_units_per_year": "36000",
                 "materials_per_unit": "3.10", "overhead_rate": "0.15", "prelaunch_costs": "6000",
                 "development_costs": "6000", "amortization_years": "2", "committee_hours_per_month": "4",
                 "committee_hourly_cost": "50", "units_per_episode": "28", "attributed_members": "2000",
                 "staff_role": "direct service staff", "staff_minutes": "10", "staff_wage": "20",
                 "target_margin": "0", "margin_convention": "gross_up", "billing_mode": "invoice", "service_id": ""}


@router.get("/modeling/cost")
def cost_page(request: Request, db: DbSession, principal: Principal = User):
    services = service.services_for_cost(db, principal)
    return render(request, "modeling/cost.html", {"form": COST_DEFAULTS, "services": services,
                                                  "own_only": service.own_only(principal)})


@router.post("/modeling/cost", dependencies=[Depends(csrf_protect)])
def cost_submit(request: Request, db: DbSession, raw: FormBody, principal: Principal = User):
    form = {k: str(raw.get(k, "")).strip() for k in COST_DEFAULTS}
    services = service.services_for_cost(db, principal)
    ctx: dict = {"form": form, "services": services, "own_only": service.own_only(principal)}
    try:
        sid = int(form["service_id"]) if form["service_id"] else None
    except ValueError:
        sid = None
    data = {k: form[k] for k in COST_FIELDS if form.get(k)}
    data |= {"service": "service", "billing_mode": form["billing_mode"] or "invoice",
             "margin_convention": form["margin_convention"] or "gross_up",
             "staff": [{"role": form["staff_role"] or "staff", "minutes_per_unit": form["staff_minutes"] or "0",
                        "hourly_wage": form["staff_wage"] or "0"}]}
    try:
        inputs = UnitCostInputs.model_validate(data)
    except ValidationError as exc:  # show each field's problem
        ctx["problems"] = [Problem(e["msg"], field=".".join(str(x) for x in e["loc"]) or None) for e in exc.errors()]
        ctx["message"] = "The cost inputs were refused"
        return render(request, "modeling/cost.html", ctx, block="results", status_code=422)
    ctx["service"], ctx["result"] = service.cost_for_service(db, principal, sid, inputs)
    return render(request, "modeling/cost.html", ctx, block="results")
