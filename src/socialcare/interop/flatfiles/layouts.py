"""The flat-file layouts partners exchange, as data: every column, whether it is required, its
type and allowed values. docs/interop.md and ``socialcare exchange layouts`` are generated from
these, and the readers validate against them, so the documentation cannot drift from the code.

Which files move (seed 002, "operationalizing contracts": partners agree on "a spreadsheet or other
file exchanged by SFTP, or a FHIR connection"):

- member list / eligibility file: plan -> hub/CBO (and into socialcare from the plan's system);
- referral status updates: hub/CBO -> plan;
- service records and encounters: CBO -> hub -> plan;
- monthly reporting extract: socialcare -> plan and JOC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socialcare.delivery import rules as delivery_rules
from socialcare.kit.codes import NeedDomain, ProductLine
from socialcare.referrals import rules as referral_rules

SEX_CODES = {"female": "female", "f": "female", "male": "male", "m": "male", "other": "other", "o": "other",
             "unknown": "unknown", "u": "unknown"}
ETHNICITY_CODES = ("hispanic_or_latino", "not_hispanic_or_latino", "unknown")
RACE_CODES = ("american_indian_or_alaska_native", "asian", "black_or_african_american",
              "native_hawaiian_or_other_pacific_islander", "white", "other", "multiple", "unknown")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, id, date, code, zip, state, npi, phone, decimal, int, language
    required: bool = False
    max_len: int | None = None
    values: tuple[str, ...] | None = None  # allowed codes (kind "code"), compared lower-case
    description: str = ""
    example: str = ""


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    direction: str  # who sends it to whom
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # columns that identify a row: duplicates inside one file are refused
    importable: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


MEMBER_ELIGIBILITY = Layout(
    name="member_eligibility",
    title="Member list / eligibility file",
    direction="health plan -> socialcare (and -> hub/CBO as the scoped export)",
    description=(
        "One row per member and coverage span. A member already on the roster (same plan member id) is "
        "updated; a new one is added; a coverage span with a new start date is added to the member's "
        "enrollment history, one with a known start date has its end date updated."
    ),
    key=("plan_member_id", "coverage_start"),  # a row per coverage span: a member may have several
    columns=(
        Column("plan_member_id", "id", True, 40, description="The plan's member id (spaces and invisible "
               "characters are removed; letters, digits, - _ . remain)", example="M0012345"),
        Column("first_name", "text", True, 100, example="Ana"),
        Column("last_name", "text", True, 100, example="Rivera"),
        Column("birth_date", "date", True, description="YYYY-MM-DD (or MM/DD/YYYY)", example="1970-05-17"),
        Column("sex", "code", True, values=tuple(SEX_CODES), description="administrative sex: female, male, "
               "other, unknown (or F, M, O, U)", example="female"),
        Column("product_line", "code", True, values=tuple(p.value for p in ProductLine), example="medicaid"),
        Column("coverage_start", "date", True, description="first day of this coverage span", example="2025-01-01"),
        Column("coverage_end", "date", description="last day of coverage; empty while enrolled", example=""),
        Column("race", "code", values=RACE_CODES, description="OMB category", example="white"),
        Column("ethnicity", "code", values=ETHNICITY_CODES, example="hispanic_or_latino"),
        Column("preferred_language", "language", description="ISO 639-1 code; default en", example="es"),
        Column("address_1", "text", max_len=200, example="12 Elm St"),
        Column("city", "text", max_len=100, example="Buffalo"),
        Column("state", "state", example="NY"),
        Column("zip", "zip", description="five digits (ZIP+4 is cut to five)", example="14201"),
        Column("county", "text", max_len=100, example="Erie"),
        Column("phone", "phone", description="ten digits, any punctuation", example="716-555-0100"),
        Column("pcp_name", "text", max_len=200, example="Dr. Jan Water"),
        Column("pcp_npi", "npi", description="10-digit NPI with a valid check digit", example="1234567893"),
        Column("risk_score", "decimal", description="plan risk score, up to 3 decimals", example="1.250"),
    ),
)

REFERRAL_STATUS = Layout(
    name="referral_status",
    title="Referral status updates",
    direction="hub/CBO -> health plan",
    description=(
        "One row per status change of a referral, in the order they happened. Statuses are the FHIR SDOH "
        "Clinical Care Task statuses a referral target may set; business_status is the finer step from "
        "socialcare's local code system (see 'Task.businessStatus' above). Only the hub or CBO a referral "
        "was sent to reports its status."
    ),
    # a repeated row (same referral, status, business status, date and channel) is refused by the
    # importer, which compares the parsed values (empty cells included)
    columns=(
        Column("referral_id", "int", True, description="socialcare referral number", example="1042"),
        Column("plan_member_id", "id", True, 40, description="checked against the referral's member",
               example="M0012345"),
        Column("status", "code", True, values=("accepted", "rejected", "in-progress", "on-hold", "completed",
                                               "failed", "cancelled"), example="accepted"),
        Column("status_date", "date", True, description="when it happened; not in the future, not before the "
               "referral was requested or its last recorded step", example="2025-03-04"),
        Column("business_status", "code", values=tuple(referral_rules.BUSINESS_STATUSES),
               description="a code of the local code system that fits the status (see below)", example="contacted"),
        Column("reason", "text", max_len=500, description="required for rejected, cancelled, on-hold, failed, "
               "and completed with need-not-resolved", example=""),
        Column("channel", "code", values=tuple(referral_rules.CHANNELS), description="how the member was "
               "reached: phone, text, email, mail, in_person, home_visit, portal; required when the row records "
               "outreach or the first contact", example="phone"),
        Column("note", "text", max_len=2000, example="Reached member; first delivery Friday"),
    ),
)

SERVICE_RECORD = Layout(
    name="service_record",
    title="Service records and encounters",
    direction="CBO -> hub -> health plan",
    description=(
        "One row per service delivered to a member (a member-level service line that can become an 837P "
        "line or an invoice line), recorded by the organization that delivered it under a referral it was "
        "sent."
    ),
    # a repeated service line (same referral, date and code) is refused by the importer, which compares
    # the parsed values (S5170-U6 = s5170:u6, 2025-03-07 = 03/07/2025)
    columns=(
        Column("referral_id", "int", True, description="the referral the service answers", example="1042"),
        Column("plan_member_id", "id", True, 40, description="checked against the referral's member",
               example="M0012345"),
        Column("service_date", "date", True, description="not in the future, at most three years ago",
               example="2025-03-07"),
        Column("need_domain", "code", True, values=tuple(d.value for d in NeedDomain),
               description="the need domain of the service delivered (food, housing, transportation, utilities, "
               "care_management, ...)", example="food"),
        Column("service_code", "text", max_len=20, description="HCPCS/CPT with up to four modifiers, the code "
               "of one of your directory services (extra modifiers allowed); empty for a service without a "
               "billing code", example="S5170-U6"),
        Column("units", "int", True, description="whole units of the service's unit (meals, 15 minutes, "
               "trips), 1 to 9,999", example="10"),
        Column("place_of_service", "code", values=tuple(delivery_rules.PLACES_OF_SERVICE),
               description="CMS place of service code; empty: 12 (home)", example="12"),
        Column("rendering_npi", "npi", description="the NPI of who delivered it, if it has one (10 digits, "
               "valid check digit)", example=""),
        Column("diagnosis_code", "text", max_len=8, description="ICD-10-CM Z code for the claim line (e.g. "
               "Z59.41)", example="Z59.41"),
        Column("service_id", "int", description="your directory service id; needed only when several of your "
               "services in the need domain have the code", example=""),
        Column("note", "text", max_len=2000, example="10 medically tailored meals delivered"),
    ),
)

MONTHLY_REPORT = Layout(
    name="monthly_report",
    title="Monthly reporting extract",
    direction="socialcare -> health plan / joint operating committee",
    description="Referral counts per month, partner, need domain and status (no member-level data).",
    importable=False,
    columns=(
        Column("month", "text", True, example="2025-03"),
        Column("partner", "text", True, example="Buffalo Food Collaborative"),
        Column("need_domain", "code", True, values=tuple(d.value for d in NeedDomain), example="food"),
        Column("status", "text", True, example="completed"),
        Column("referrals", "int", True, example="42"),
    ),
)

LAYOUTS: dict[str, Layout] = {
    lay.name: lay for lay in (MEMBER_ELIGIBILITY, REFERRAL_STATUS, SERVICE_RECORD, MONTHLY_REPORT)
}


def layout(name: str) -> Layout:
    from socialcare.core.errors import InvalidInput, Problem

    try:
        return LAYOUTS[name]
    except KeyError:
        raise InvalidInput(
            f"Unknown file layout '{name}'.", [Problem(f"use one of: {', '.join(LAYOUTS)}", field="layout")]
        ) from None


def as_markdown(lay: Layout) -> str:
    lines = [f"### {lay.title} (`{lay.name}`)", "", f"Direction: {lay.direction}.", "", lay.description, "",
             "| column | required | type | allowed values / format | example |", "|---|---|---|---|---|"]
    for c in lay.columns:
        allowed = ", ".join(c.values) if c.values and len(c.values) <= 12 else (c.description or "")
        if c.max_len and not allowed:
            allowed = f"up to {c.max_len} characters"
        lines.append(f"| `{c.name}` | {'yes' if c.required else ''} | {c.kind} | {allowed} | {c.example} |")
    return "\n".join(lines) + "\n"
