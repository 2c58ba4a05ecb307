"""Payments JSON API: settle payment terms on a period's facts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from socialcare.payments import service
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, require_api
from socialcare.web.limits import upload_limit

router = APIRouter(prefix="/payments", tags=["payments"])

Settler = Annotated[Principal, Depends(require_api("payments:read"))]


class SettleRequest(BaseModel):
    terms_yaml: str = Field(..., description="The payment terms (docs/payments.md), YAML text.")
    period: str = Field(..., description="YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD", examples=["2025-03"])
    facts_yaml: str = Field("", description="Other facts (member_months, episodes, metrics, tcoc...), YAML or JSON.")
    services_csv: str = Field("", description="Delivered services CSV: member_id,service_code,service_date,units")
    output: service.Output = Field("statement", description="Also return the invoice CSV, claims CSV or X12 837P.")


@router.post("/settle", summary="Settle payment terms for a period", max_body_size=upload_limit())
def settle(body: SettleRequest, db: DbSession, principal: Settler) -> dict:
    """The statement: one line per term and component (formula, inputs, amount, MLR category,
    paid or reported only) and totals. Amounts are strings (exact decimals). Bad terms or facts
    answer 422 with problems naming the file, row and field."""
    statement, extras = service.settle_texts(
        principal, terms_yaml=body.terms_yaml, period=body.period, facts_yaml=body.facts_yaml,
        services_csv=body.services_csv, output=body.output)
    return {**statement.as_dict(), **extras}
