"""Analytics pages (issue 9 part 6): the ROI calculator with its charts, the evidence library behind
it, and the shared-savings report on a claims data set.

- ``/analytics/roi``: the form posts (CSRF) and the results block swaps in place with HTMX; without
  JavaScript the same POST answers the whole page. Choosing another intervention reloads the form
  with that intervention's categories, baselines and effects (HTMX, or the "Load" button).
- ``/analytics/evidence``: every intervention with its effects, intervals, design and citation.
- ``/analytics/savings``: a data set from the configured claims folder (analytics.datasets: no path
  outside it is read) and the contract terms; runs ``savings.run`` on DuckDB while the user waits.

Charts are Altair rendered to SVG on the server (analytics.charts), inlined in the page.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from markupsafe import Markup
from sqlalchemy.orm import Session

from socialcare.analytics import charts, datasets, evidence, forms, roi, service
from socialcare.analytics.evidence import TAG_MEANING
from socialcare.core.errors import InvalidInput, NotFound
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import is_htmx, render

log = logging.getLogger("socialcare.analytics")

router = APIRouter(tags=["analytics"])

NAV = [
    NavItem(label="ROI calculator", href="/analytics/roi", permission="analytics:use", order=80),
    NavItem(label="Shared savings", href="/analytics/savings", permission="analytics:savings", order=81),
]

User = Depends(require_page("analytics:use"))
FACTS_FILE = "shared-savings-facts.yaml"
SavingsUser = Depends(require_page("analytics:savings"))


def _svg(chart, label: str) -> Markup:
    """Inline SVG with an accessible name; the wrapper's CSS makes it shrink to the page width."""
    svg = charts.to_svg(chart)
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1))


def _problem_status(request: Request) -> int:
    # htmx 2 does not swap 4xx answers: the problems go in the results block with 200 for HTMX,
    # a full page with 422 otherwise
    return 200 if is_htmx(request) else 422


# ---------------------------------------------------------------- ROI calculator


def _roi_context(library, form: forms.RoiForm, sent: bool) -> dict:
    iv = next((i for i in library.interventions if i.id == form.intervention), None)
    if iv is None:
        raise NotFound(f"no intervention {form.intervention!r} in the evidence library")
    return {
        "library": library,
        "interventions": forms.interventions_with_effects(library),
        "iv": iv,
        "form": form,
        "rows": forms.category_rows(library, iv, form if sent else None),
        "per_options": forms.PER_OPTIONS,
        "tag_meaning": TAG_MEANING,
    }


@router.get("/analytics/roi")
def roi_page(
    request: Request,
    form: Annotated[forms.RoiForm, Query()],
    principal: Principal = User,
):
    library = evidence.load()
    intervention = form.intervention or forms.default_intervention(library)
    # a GET (first visit, or another intervention chosen) loads that intervention's defaults and
    # keeps the other values the form sent
    fresh = forms.defaults_for(library, intervention, form if form.intervention else None)
    ctx = _roi_context(library, fresh, sent=False)
    return render(request, "analytics/roi.html", ctx, block="roi_form")


@router.post("/analytics/roi", dependencies=[Depends(csrf_protect)])
def roi_run(
    request: Request,
    form: Annotated[forms.RoiForm, Form()],
    principal: Principal = User,
):
    library = evidence.load()
    if not form.intervention:
        form = form.model_copy(update={"intervention": forms.default_intervention(library)})
    ctx = _roi_context(library, form, sent=True)
    try:
        result = roi.calculate(forms.roi_inputs(form, library), library)
    except InvalidInput as exc:
        ctx["problems"] = forms.label_problems(exc.problems, forms.ROI_LABELS) or [exc.message]
        ctx["problem_title"] = exc.message
        return render(request, "analytics/roi.html", ctx, block="results", status_code=_problem_status(request))
    ctx.update(
        result=result,
        errors=[f for f in result.flags if f.severity == "error"],
        other_flags=[f for f in result.flags if f.severity != "error"],
        tornado_svg=_svg(charts.tornado_chart(result), "Sensitivity of net savings to each input")
        if result.tornado
        else None,
        cumulative_svg=_svg(charts.cumulative_chart(result), "Cumulative discounted net savings by month"),
    )
    return render(request, "analytics/roi.html", ctx, block="results")


@router.get("/analytics/evidence")
def evidence_page(request: Request, principal: Principal = User):
    library = evidence.load()
    return render(
        request,
        "analytics/evidence.html",
        {"library": library, "tag_meaning": TAG_MEANING, "pct": lambda d: forms.num(d * 100)},
    )


# ---------------------------------------------------------------- shared savings


def _savings_context(principal: Principal, form: forms.SavingsForm) -> dict:
    return {
        "datasets": datasets.available(principal),
        "form": form,
        "root": datasets.root(),
        "max_bootstrap": forms.MAX_WEB_BOOTSTRAP,
    }


@router.get("/analytics/savings")
def savings_page(
    request: Request,
    dataset: Annotated[str | None, Query(max_length=200)] = None,
    principal: Principal = SavingsUser,
):
    available = datasets.available(principal)
    chosen = datasets.resolve(dataset, principal) if dataset else (available[0] if available else None)
    form = forms.SavingsForm()
    if chosen is not None:
        form = forms.savings_form_for(chosen.defaults(), form.model_copy(update={"dataset": chosen.name}))
    ctx = _savings_context(principal, form)
    ctx["chosen"] = chosen
    return render(request, "analytics/savings.html", ctx, block="savings_form")


@router.post("/analytics/savings", dependencies=[Depends(csrf_protect)])
def savings_run(
    request: Request,
    db: DbSession,
    form: Annotated[forms.SavingsForm, Form()],
    principal: Principal = SavingsUser,
):
    ctx = _savings_context(principal, form)
    try:
        ds = datasets.resolve(form.dataset, principal)
        ctx["chosen"] = ds
        params = forms.savings_params(form)
        report = service.run_report(db, principal, ds, params)
    except InvalidInput as exc:
        ctx.setdefault("chosen", None)
        ctx["problems"] = forms.label_problems(exc.problems, forms.SAVINGS_LABELS) or [exc.message]
        ctx["problem_title"] = exc.message
        return render(request, "analytics/savings.html", ctx, block="results",
                      status_code=_problem_status(request))
    facts, refused = service.payment_handoff(report)
    ctx.update(
        report=report,
        verdict=forms.verdict(report),
        facts_yaml=service.facts_yaml(facts, report, FACTS_FILE) if facts else None,
        facts_refused=refused,
        facts_file=FACTS_FILE,
        chart_svg=_svg(charts.savings_chart(report), "Total cost of care per member-month by month"),
    )
    return render(request, "analytics/savings.html", ctx, block="results")


# ---------------------------------------------------------------- home


def home_cards(session: Session, principal: Principal) -> list[dict]:
    cards = []
    if principal.can("analytics:use"):
        library = evidence.load()
        n = len(forms.interventions_with_effects(library))
        cards.append({
            "title": "ROI calculator", "value": f"{n} interventions", "href": "/analytics/roi",
            "note": f"with published effects (evidence library {library.version})", "order": 80,
        })
    if principal.can("analytics:savings"):
        n = len(datasets.available(principal))
        cards.append({
            "title": "Claims data sets", "value": f"{n:,}", "href": "/analytics/savings",
            "note": "for the shared-savings report", "order": 81,
        })
    return cards
