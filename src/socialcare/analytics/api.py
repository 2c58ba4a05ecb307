"""Analytics JSON API: the ROI calculator and the evidence library.

POST /api/v1/roi            body: RoiInputs (docs/analytics.md) → the result with its explanation,
                            flags and tornado data (money as strings, exact)
GET  /api/v1/roi/evidence   the evidence library (version, interventions, effects, citations)
GET  /api/v1/savings/datasets  the claims data sets this organization may use (analytics.datasets)
POST /api/v1/savings        body: {"dataset": "<name>", "term_id": "savings", any SavingsParams field};
                            the periods and attribution default to the data set's manifest → the
                            shared-savings report (projected vs actual TCOC, DiD with its CI,
                            explanation, SQL), ``tcoc_facts`` and ``payment_facts`` (the ``tcoc``
                            section ``socialcare payments settle`` takes; null when the DiD does not
                            support the savings, with ``payment_facts_refused`` saying why)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from socialcare.analytics import datasets, evidence, forms, roi, savings, service
from socialcare.analytics.cli import roi_json
from socialcare.core.errors import InvalidInput, Problem
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(tags=["analytics"])

User = Annotated[Principal, Depends(require_api("analytics:use"))]
SavingsUser = Annotated[Principal, Depends(require_api("analytics:savings"))]


@router.post("/roi", summary="Run the ROI calculator")
def run_roi(principal: User, body: Annotated[dict[str, Any], Body(description="RoiInputs fields")]) -> dict:
    # parse_inputs raises InvalidInput (422 with every problem) instead of FastAPI's own shape,
    # so money given as JSON numbers is kept exact (converted through str)
    return roi_json(roi.calculate(roi.parse_inputs(body), evidence.load()))


@router.get("/roi/evidence", summary="The evidence library")
def get_evidence(principal: User) -> dict:
    return evidence.load().model_dump(mode="json")


@router.get("/savings/datasets", summary="Claims data sets for the shared-savings report")
def list_datasets(principal: SavingsUser) -> list[dict]:
    return [d.summary() for d in datasets.available(principal)]


SAVINGS_EXAMPLE = {
    "dataset": "demo",
    "term_id": "savings",
    "guaranteed_payments": "50000",
    "minimum_savings_rate": "0.02",
    "quality_metrics_met": 4,
    "quality_metrics_total": 5,
    "bootstrap": 1000,
}


@router.post("/savings", summary="Run the shared-savings report on a claims data set")
def run_savings(
    db: DbSession,
    principal: SavingsUser,
    body: Annotated[
        dict[str, Any],
        Body(
            description="dataset (a name from GET /savings/datasets) and any SavingsParams field; "
            "periods and attribution default to the data set's manifest",
            examples=[SAVINGS_EXAMPLE],
        ),
    ],
) -> dict:
    name = body.get("dataset")
    if not isinstance(name, str) or not name:
        raise InvalidInput("say which data set", [Problem("a data set name, e.g. demo", field="dataset")])
    term_id = body.get("term_id") or "savings"
    if not isinstance(term_id, str):
        raise InvalidInput("term_id is the contract's shared-savings term id", [Problem("text", field="term_id")])
    ds = datasets.resolve(name, principal)
    params = forms.params_from_json({k: v for k, v in body.items() if k != "term_id"}, ds.defaults())
    report = service.run_report(db, principal, ds, params)
    out = report.as_dict()
    out["dataset"] = ds.name
    out["tcoc_facts"] = _facts_json(savings.tcoc_facts(report))
    # the facts a payments settlement takes; refused (null, with the reason) when the DiD does not
    # support the savings
    out["payment_facts"], out["payment_facts_refused"] = service.payment_handoff(report, term_id)
    return out


def _facts_json(facts: savings.TcocFacts) -> dict:
    return {k: (str(v) if v is not None and not isinstance(v, bool | int | tuple) else v)
            for k, v in facts.as_dict().items()}
