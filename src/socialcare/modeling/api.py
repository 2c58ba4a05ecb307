"""Payment modeling JSON API: compare payment models on the partners' inputs, and the fully loaded
unit cost of a service (a CBO user: their own organization's services only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, ValidationError

from socialcare.core.errors import InvalidInput, Problem
from socialcare.modeling import service
from socialcare.modeling.cost import UnitCostInputs
from socialcare.modeling.schemas import parse_inputs
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api

router = APIRouter(prefix="/modeling", tags=["modeling"])

User = Annotated[Principal, Depends(require_api("modeling:use"))]


class CompareRequest(BaseModel):
    inputs_yaml: str = Field(..., description="The modeling inputs (docs/modeling.md), YAML text.")
    scenarios: int = Field(10_000, ge=100, le=service.MAX_SCENARIOS)
    seed: int = Field(0, description="The same seed gives the same result.")


class CostRequest(BaseModel):
    service_id: int | None = Field(None, description="A directory service; required for a CBO user (their own).")
    inputs: dict[str, Any] = Field(..., description="UnitCostInputs (socialcare.modeling.cost); numbers as strings.")


@router.post("/compare", summary="Simulate and compare payment models")
def compare(body: CompareRequest, db: DbSession, principal: User) -> dict:
    """Per model the distribution of the CBO's margin and the plan's cost, the guide's summary table
    measured (with disagreements), the win3 check of the proposed model and the advisor's suggestion."""
    return service.compare(parse_inputs(body.inputs_yaml, "inputs_yaml"), body.scenarios, body.seed).as_dict()


@router.post("/cost", summary="Fully loaded unit cost of a service")
def cost(body: CostRequest, db: DbSession, principal: User) -> dict:
    data = {"service": "service", **body.inputs}
    try:
        inputs = UnitCostInputs.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("The cost inputs were refused", [
            Problem(e["msg"], field=".".join(str(x) for x in e["loc"]) or None) for e in exc.errors()]) from None
    svc, r = service.cost_for_service(db, principal, body.service_id, inputs)
    return {**r.as_dict(), "service": {"id": svc.id, "name": svc.name, "unit": svc.unit} if svc else None}
