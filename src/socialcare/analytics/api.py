"""Analytics JSON API: the ROI calculator and the evidence library.

POST /api/v1/roi            body: RoiInputs (docs/analytics.md) → the result with its explanation,
                            flags and tornado data (money as strings, exact)
GET  /api/v1/roi/evidence   the evidence library (version, interventions, effects, citations)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from socialcare.analytics import evidence, roi
from socialcare.analytics.cli import roi_json
from socialcare.security.principal import Principal
from socialcare.web.deps import require_api

router = APIRouter(tags=["analytics"])

User = Annotated[Principal, Depends(require_api("analytics:use"))]


@router.post("/roi", summary="Run the ROI calculator")
def run_roi(principal: User, body: Annotated[dict[str, Any], Body(description="RoiInputs fields")]) -> dict:
    # parse_inputs raises InvalidInput (422 with every problem) instead of FastAPI's own shape,
    # so money given as JSON numbers is kept exact (converted through str)
    return roi_json(roi.calculate(roi.parse_inputs(body), evidence.load()))


@router.get("/roi/evidence", summary="The evidence library")
def get_evidence(principal: User) -> dict:
    return evidence.load().model_dump(mode="json")
