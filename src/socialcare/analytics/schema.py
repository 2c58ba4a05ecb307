"""The documented claims, eligibility and program-roster schema (what a plan extracts).

Files are Parquet or CSV (one file, a glob, or a directory of part files). Column names are
lower-case; extra columns are ignored. Types are what the analytics cast to, so a CSV with text
dates or money as text works: ``conform()`` casts every documented column explicitly (dates to
``date``, money to ``decimal(18,2)``) before anything is summed (docs/analytics.md).

claims: one row per claim line
    claim_id          string   the plan's claim number
    line_number       int      line within the claim (claim_id + line_number is unique)
    member_id         string   the plan's member id (same as eligibility)
    service_from      date     first date of service; the line counts in this calendar month
    service_to        date     last date of service
    place_of_service  string   CMS place-of-service code (11 office, 21 inpatient, 22 outpatient
                               hospital, 23 emergency room, 81 lab, 01 pharmacy ...)
    claim_type        string   professional | institutional | pharmacy
    allowed_amount    money    allowed amount of the line
    paid_amount       money    what the plan paid (total cost of care sums this)
    dx1, dx2          string   ICD-10-CM diagnosis codes (dx2 may be empty)

eligibility: one row per member per month enrolled
    member_id         string
    month             date     first day of the enrolled month
    zip_code          string   5-digit residence zip in that month (attribution)
    practice_id       string   attributed primary care practice in that month (attribution)
    date_of_birth     date
    sex               string   F | M | U
    risk_score        float    the plan's risk score (e.g. HCC) in that month; optional (matching)

program: one row per member enrolled in the social care program (the treated group)
    member_id         string
    enrolled_on       date
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from socialcare.core.errors import InvalidInput, Problem

MONEY = "decimal(18, 2)"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    required: bool = True
    doc: str = ""


CLAIMS = (
    Column("claim_id", "string"),
    Column("line_number", "int64"),
    Column("member_id", "string"),
    Column("service_from", "date"),
    Column("service_to", "date", required=False),
    Column("place_of_service", "string"),
    Column("claim_type", "string"),
    Column("allowed_amount", MONEY, required=False),
    Column("paid_amount", MONEY),
    Column("dx1", "string", required=False),
    Column("dx2", "string", required=False),
)
ELIGIBILITY = (
    Column("member_id", "string"),
    Column("month", "date"),
    Column("zip_code", "string"),
    Column("practice_id", "string"),
    Column("date_of_birth", "date"),
    Column("sex", "string"),
    Column("risk_score", "float64", required=False),
)
PROGRAM = (
    Column("member_id", "string"),
    Column("enrolled_on", "date"),
)
SCHEMAS = {"claims": CLAIMS, "eligibility": ELIGIBILITY, "program": PROGRAM}


def conform(table: ir.Table, kind: str, source: str | None = None) -> ir.Table:
    """Select and cast the documented columns of ``kind``; missing required columns are an error
    naming the file and column; a missing optional column becomes a typed NULL."""
    columns = SCHEMAS[kind]
    have = {c.lower(): c for c in table.columns}
    problems = [
        Problem(
            f"required {kind} column is missing (have: {', '.join(table.columns)})", field=c.name, file=source
        )
        for c in columns
        if c.required and c.name not in have
    ]
    if problems:
        raise InvalidInput(f"{kind} file does not match the documented schema (docs/analytics.md)", problems)
    out = {}
    for c in columns:
        if c.name in have:
            col = table[have[c.name]]
            if c.dtype == "string":
                # zip codes and ids read from CSV may come back as integers
                out[c.name] = col.cast("string")
                if c.name == "zip_code":
                    out[c.name] = out[c.name].lpad(5, "0")  # 08102 read as 8102
            else:
                out[c.name] = col.cast(c.dtype)
        else:
            out[c.name] = ibis.literal(None, type=c.dtype)
    return table.select(**out)
