"""The scope of work as a document, and the shapes at the API's edge.

The scope of work follows the WHO / WHAT / HOW of seed 002_9f9b125fbb7ccb6a.txt ("A Health Plan's
Guide to Developing CBO Contract Scopes of Work"):

- WHO: population definition (eligible population as a rule over the roster, prioritization criteria,
  minimum and maximum service volume) and staffing (licensure, credentialing, trainings,
  organizational contacts, escalation pathway);
- WHAT: each service's initiation, provision and conclusion; workflows for the major activities;
  pre-launch activities and the evaluation plan;
- HOW: the joint operating committee and case conferencing; data sharing and documentation;
  flexibility (a date to revisit terms).

Every field is optional so a draft can be saved while scoping; the checklist (rules.checklist) says
what is still missing. The document is stored as JSON on each contract version.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from socialcare.kit.codes import NeedDomain, ProductLine


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- WHO: population definition ----------------------------------------------------------------
# The guide's criteria: geography of residence, age, clinical condition(s), social condition/need,
# health risk, health insurance type, primary care provider. Combinable with and/or (RuleGroup).


class Geography(Doc):
    kind: Literal["geography"] = "geography"
    counties: list[str] = []
    zips: list[str] = []  # five-digit zips, or a 3-digit prefix ("142")
    negate: bool = False

    @field_validator("zips")
    @classmethod
    def _zips(cls, v: list[str]) -> list[str]:
        for z in v:
            if not (z.isdigit() and len(z) in (3, 5)):
                raise ValueError(f"zip {z!r} must be 5 digits (or a 3-digit prefix)")
        return v


class Age(Doc):
    kind: Literal["age"] = "age"
    min_age: int | None = Field(None, ge=0, le=120)
    max_age: int | None = Field(None, ge=0, le=120)
    negate: bool = False


class ClinicalCondition(Doc):
    """Members with a condition whose ICD-10-CM code starts with one of the prefixes (E11 = type 2 diabetes)."""

    kind: Literal["condition"] = "condition"
    icd10_prefixes: list[str] = Field(min_length=1)
    negate: bool = False

    @field_validator("icd10_prefixes")
    @classmethod
    def _prefixes(cls, v: list[str]) -> list[str]:
        out = []
        for p in v:
            p = p.strip().upper()
            if not (p[:1].isalpha() and len(p) >= 2 and all(c.isalnum() or c == "." for c in p)):
                raise ValueError(f"{p!r} is not an ICD-10-CM code prefix (e.g. E11, I50, N18.3)")
            out.append(p)
        return out


class SocialNeed(Doc):
    """Members whose screening found a need in one of the domains (within the last N days)."""

    kind: Literal["social_need"] = "social_need"
    need_domains: list[NeedDomain] = Field(min_length=1)
    within_days: int | None = Field(365, ge=1)
    negate: bool = False


class HealthRisk(Doc):
    kind: Literal["risk"] = "risk"
    min_score: Decimal | None = None
    max_score: Decimal | None = None
    negate: bool = False


class InsuranceType(Doc):
    kind: Literal["product_line"] = "product_line"
    product_lines: list[ProductLine] = Field(min_length=1)
    negate: bool = False


class PrimaryCareProvider(Doc):
    kind: Literal["pcp"] = "pcp"
    npis: list[str] = Field(min_length=1)
    negate: bool = False


Criterion = Annotated[
    Geography | Age | ClinicalCondition | SocialNeed | HealthRisk | InsuranceType | PrimaryCareProvider,
    Field(discriminator="kind"),
]


class RuleGroup(Doc):
    kind: Literal["group"] = "group"
    op: Literal["and", "or"] = "and"
    label: str | None = None
    rules: list[Annotated[Criterion | RuleGroup, Field(discriminator="kind")]] = Field(min_length=1)


class RankCriterion(Doc):
    """One ranking key, in declared order (the first decides, the next breaks ties...)."""

    key: Literal["risk_score", "condition_count", "age", "unmet_needs", "recent_screening"]
    direction: Literal["desc", "asc"] = "desc"


STRATA = ("county", "race_ethnicity", "language", "product_line")


class Prioritization(Doc):
    description: str = ""
    rank_by: list[RankCriterion] = []
    # Keep each stratum's share of the selection proportional to the eligible population, so a cap
    # does not widen disparities (largest-remainder allocation of the cap across strata).
    proportional_strata: list[Literal["county", "race_ethnicity", "language", "product_line"]] = []


class Volume(Doc):
    minimum: int | None = Field(None, ge=0)
    maximum: int | None = Field(None, ge=1)
    unit: str = "members"  # members, meals, episodes...
    period: Literal["month", "quarter", "year", "term"] = "term"
    notification: str = ""  # how the eligible population or providers learn of the service


class Population(Doc):
    description: str = ""
    rule: RuleGroup | None = None
    prioritization: Prioritization | None = None
    volume: Volume | None = None


# ---- WHO: staffing, training and accountability ------------------------------------------------


class Licensure(Doc):
    role: str
    license: str
    credentialing_required: bool = False


class Training(Doc):
    name: str
    audience: str = ""
    due_date: date | None = None


class Contact(Doc):
    organization: Literal["plan", "partner", "hub", "cbo"]
    area: str  # data transmission and reporting, client referrals, evaluation...
    name: str
    title: str = ""
    email: str = ""
    phone: str = ""


class EscalationLevel(Doc):
    level: int = Field(ge=1)
    contact: str
    respond_within_days: int | None = Field(None, ge=0)
    # who receives an escalation at this level: a username of either party (or its backup's)
    contact_username: str | None = None
    backup: str = ""
    backup_username: str | None = None
    business_days: bool = False  # respond_within_days counts Monday to Friday only


class Staffing(Doc):
    staff_roles: list[str] = []  # community health workers, case workers, peer recovery specialists...
    licensure_required: bool | None = None  # None: not discussed; False: not required (say so)
    licensures: list[Licensure] = []
    credentialing_process: str = ""
    credentialing_due: date | None = None
    other_requirements: list[str] = []  # cultural competency, background checks...
    trainings: list[Training] = []
    contacts: list[Contact] = []
    escalation_pathway: list[EscalationLevel] = []
    escalation_due: date | None = None


class Who(Doc):
    population: Population = Population()
    staffing: Staffing = Staffing()


# ---- WHAT: the service, workflows, pre-launch and evaluation -----------------------------------


class Initiation(Doc):
    identification: str = ""
    engagement: str = ""
    enrollment: str = ""
    eligibility_verification: str = ""


class Provision(Doc):
    activities: list[str] = []
    assessment: str = ""
    care_planning: str = ""
    settings: list[Literal["home", "clinic", "telephone", "video", "community", "hospital", "shelter"]] = []
    frequency: str = ""  # minimum frequency of contact
    timing: str = ""  # e.g. within 24 hours after discharge
    milestones: list[str] = []


class Conclusion(Doc):
    max_duration: str = ""
    completion: str = ""
    repeat_eligibility: str = ""  # may a member receive it again, and with what restriction


class ServiceDefinition(Doc):
    name: str
    need_domain: NeedDomain | None = None
    service_code: str | None = None
    unit: str | None = None
    responsibilities: str = ""
    initiation: Initiation = Initiation()
    provision: Provision = Provision()
    conclusion: Conclusion = Conclusion()


WORKFLOW_ACTIVITIES = {
    "communicate_availability": "How the availability of the service is communicated to members and network providers",
    "identify_and_enroll": "Who identifies recipients, confirms eligibility and documents enrollment",
    "hub_network_referral": "Referral and reporting between the community care hub and its network members",
    "timing": "Time expectations for initiation and completion of services",
    "recording_reporting_billing": "Service recording, data reporting and billing submission",
    "escalation": "Escalation process for problems the teams on the ground cannot resolve",
}


class Workflow(Doc):
    activity: Literal[
        "communicate_availability", "identify_and_enroll", "hub_network_referral", "timing",
        "recording_reporting_billing", "escalation", "other",
    ]
    description: str
    responsible: str = ""


class PrelaunchActivity(Doc):
    description: str = ""
    owner: Literal["plan", "partner", "both"] = "partner"
    due_date: date | None = None
    required: bool = True


class Prelaunch(Doc):
    project_management_plan: PrelaunchActivity | None = None
    program_compliance: PrelaunchActivity | None = None  # Medicaid provider number, NPI
    credentialing: PrelaunchActivity | None = None
    staff_training: PrelaunchActivity | None = None
    data_security_review: PrelaunchActivity | None = None
    technology_onboarding: PrelaunchActivity | None = None
    workflow_development: PrelaunchActivity | None = None  # referral and reporting workflows
    workflow_testing: PrelaunchActivity | None = None  # referral, reporting and billing workflow tests
    prepayment_release: PrelaunchActivity | None = None
    compensation: str = ""  # how pre-launch work is paid (upfront, recouped, built into fees)


class Evaluation(Doc):
    plan: str = ""
    due_date: date | None = None
    resources: str = ""


class TimingExpectation(Doc):
    """A clock the referrals under this contract run on, e.g. contact within 3 business days."""

    milestone: Literal["outreach", "contact", "service"]
    within: int = Field(ge=0)
    unit: Literal["hours", "days", "business_days"] = "days"


class What(Doc):
    services: list[ServiceDefinition] = []
    timing_expectations: list[TimingExpectation] = []
    workflows: list[Workflow] = []
    prelaunch: Prelaunch = Prelaunch()
    evaluation: Evaluation = Evaluation()


# ---- HOW: coordination, data sharing, flexibility ----------------------------------------------


class Meeting(Doc):
    participants: list[str] = []
    purpose: str = ""
    frequency: str = ""  # monthly, biweekly...
    compensated_hours_per_month: Decimal | None = None


class DataFlow(Doc):
    elements: list[str] = []
    form: list[Literal["structured", "free_text", "attachments"]] = []
    source: str = ""
    level: Literal["individual", "aggregate", "both"] | None = None
    frequency: str = ""  # each encounter, monthly, beginning/end of service
    timeliness: str = ""  # real time, within 5 days, monthly
    exchange: list[Literal["sftp_file", "fhir", "portal", "hie", "referral_platform", "email_secure", "double_entry"]] = []


class DataSharing(Doc):
    to_partner: DataFlow = DataFlow()  # data to the CBO / community care hub
    to_plan: DataFlow = DataFlow()  # data reporting to the health care partner
    standards: list[str] = []  # ICD-10 Z codes, CPT, HCPCS, LOINC, bespoke codes
    platforms: list[str] = []  # IT platforms the parties use
    portal_access: str = ""
    baa_required: bool | None = None
    baa_signed_on: date | None = None
    consent: str = ""
    shared_analysis: bool = False
    # the data security review recurs (seed 002: "annual data security review"); when it is overdue,
    # member-level sharing under this contract stops if block_when_review_overdue
    security_review_every_months: int | None = Field(None, ge=1, le=60)
    block_when_review_overdue: bool = True


class Flexibility(Doc):
    revisit_date: date | None = None
    terms_to_revisit: list[str] = []  # payment rates, member eligibility...
    description: str = ""


class How(Doc):
    joc: Meeting = Meeting()
    case_conferencing: Meeting = Meeting()
    data_sharing: DataSharing = DataSharing()
    flexibility: Flexibility = Flexibility()


class ScopeOfWork(Doc):
    who: Who = Who()
    what: What = What()
    how: How = How()


# ---- API edges ---------------------------------------------------------------------------------


class ServiceCovered(Doc):
    name: str
    need_domain: NeedDomain | None = None
    service_code: str | None = None
    unit: str | None = None


class ContractCreate(Doc):
    name: str = Field(min_length=3, max_length=200)
    counterparty_id: int
    contract_type: Literal["vendor", "provider"] = "vendor"
    start_date: date
    end_date: date
    renewal_window_months: int = Field(4, ge=0, le=24)
    vision: str = ""
    services_covered: list[ServiceCovered] = []
    payment_terms_yaml: str = ""
    scope_of_work: ScopeOfWork = ScopeOfWork()


class Amendment(Doc):
    reason: str = Field(min_length=3)
    effective_date: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    services_covered: list[ServiceCovered] | None = None
    payment_terms_yaml: str | None = None
    scope_of_work: ScopeOfWork | None = None


class PhaseChange(Doc):
    to_phase: str
    note: str = ""


class TaskUpdate(Doc):
    status: Literal["open", "in_progress", "done", "waived"]
    waived_reason: str | None = None
    due_date: date | None = None
    owner_name: str | None = None


class TaskCreate(Doc):
    kind: str = "other"
    title: str = Field(min_length=3)
    owner: Literal["plan", "partner", "both"] = "partner"
    owner_name: str = ""
    due_date: date | None = None
    required: bool = True


class SelectionRequest(Doc):
    as_of: date | None = None
    cap: int | None = Field(None, ge=1)  # default: the scope of work's maximum volume
    rank_by: list[RankCriterion] | None = None  # default: the scope of work's prioritization
    proportional_strata: list[Literal["county", "race_ethnicity", "language", "product_line"]] | None = None


class ContractOut(BaseModel):
    id: int
    name: str
    plan_id: int
    plan_name: str
    counterparty_id: int
    counterparty_name: str
    counterparty_kind: str
    contract_type: str
    payment_model: str
    phase: str
    start_date: date
    end_date: date
    current_version: int
    renewal_opens_on: date


class ContractDetail(ContractOut):
    vision: str
    services_covered: list[dict]
    payment_terms_yaml: str
    scope_of_work: dict
    tasks: list[dict]
    versions: list[dict]
