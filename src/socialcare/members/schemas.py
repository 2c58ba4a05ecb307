"""Member API shapes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from socialcare.members.service import age, condition_label


class EnrollmentSpanOut(BaseModel):
    product_line: str
    start_date: date
    end_date: date | None


class ConditionOut(BaseModel):
    icd10_code: str
    description: str


class MemberSummary(BaseModel):
    id: int
    plan_id: int
    plan_member_id: str
    first_name: str
    last_name: str
    birth_date: date
    age: int
    sex: str
    county: str | None
    zip: str | None
    product_line: str


class MemberDetail(MemberSummary):
    race: str | None
    ethnicity: str | None
    preferred_language: str
    address_1: str | None
    city: str | None
    state: str | None
    phone: str | None
    pcp_name: str | None
    pcp_npi: str | None
    risk_score: Decimal | None = Field(description="plan risk score, exact decimal")
    enrollment_spans: list[EnrollmentSpanOut]
    conditions: list[ConditionOut]


class MemberPage(BaseModel):
    items: list[MemberSummary]
    total: int
    page: int
    page_size: int


def member_summary(m) -> MemberSummary:
    return MemberSummary(
        id=m.id, plan_id=m.plan_id, plan_member_id=m.plan_member_id, first_name=m.first_name,
        last_name=m.last_name, birth_date=m.birth_date, age=age(m.birth_date), sex=m.sex, county=m.county,
        zip=m.zip, product_line=m.product_line,
    )


def member_detail(m) -> MemberDetail:
    return MemberDetail(
        **member_summary(m).model_dump(),
        race=m.race, ethnicity=m.ethnicity, preferred_language=m.preferred_language, address_1=m.address_1,
        city=m.city, state=m.state, phone=m.phone, pcp_name=m.pcp_name, pcp_npi=m.pcp_npi,
        risk_score=m.risk_score,
        enrollment_spans=[
            EnrollmentSpanOut(product_line=s.product_line, start_date=s.start_date, end_date=s.end_date)
            for s in m.enrollment_spans
        ],
        conditions=[ConditionOut(icd10_code=c.icd10_code, description=condition_label(c.icd10_code)) for c in m.conditions],
    )
