"""Sample files in the documented layouts (for partners testing their exports, the benchmark and
the tests): deterministic for a seed."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from socialcare.interop.flatfiles.layouts import MEMBER_ELIGIBILITY

FIRST = ["Ana", "Luis", "Maria", "James", "Aisha", "Wei", "Fatima", "John", "Rosa", "Kevin", "Lena", "Omar"]
LAST = ["Rivera", "Smith", "Nguyen", "Johnson", "Garcia", "Brown", "Khan", "Lopez", "Kowalski", "Jones"]
COUNTIES = [("Erie", "14201"), ("Niagara", "14301"), ("Monroe", "14604"), ("Onondaga", "13202")]
NPIS = ["1234567893", "1245319599", "1679576722"]


def member_rows(n: int, seed: int = 1, prefix: str = "M") -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        county, zip_code = COUNTIES[i % len(COUNTIES)]
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 75))
        rows.append({
            "plan_member_id": f"{prefix}{i:08d}", "first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
            "birth_date": born.isoformat(), "sex": rng.choice(["female", "male", "F", "M"]),
            "product_line": rng.choice(["medicaid", "medicaid", "medicare_advantage", "dual_special_needs"]),
            "coverage_start": "2025-01-01", "coverage_end": "",
            "race": rng.choice(["white", "black_or_african_american", "asian", "unknown", ""]),
            "ethnicity": rng.choice(["hispanic_or_latino", "not_hispanic_or_latino", ""]),
            "preferred_language": rng.choice(["en", "en", "es", ""]), "address_1": f"{rng.randrange(1, 999)} Main St",
            "city": "Buffalo", "state": "NY", "zip": zip_code, "county": county,
            "phone": f"716-555-{rng.randrange(0, 9999):04d}", "pcp_name": "", "pcp_npi": rng.choice(NPIS + [""]),
            "risk_score": f"{rng.uniform(0.3, 4):.3f}",
        })
    return rows


def to_csv(rows: list[dict], columns: list[str] | None = None) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns or MEMBER_ELIGIBILITY.column_names, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def to_xlsx(rows: list[dict], columns: list[str] | None = None) -> bytes:
    from openpyxl import Workbook

    cols = columns or MEMBER_ELIGIBILITY.column_names
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("members")
    ws.append(cols)
    for r in rows:
        ws.append([r.get(c, "") for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
