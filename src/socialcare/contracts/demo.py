"""Demo step 40: the partnership's contracts, one for each payment example of seed
002_9f9b125fbb7ccb6a.txt ("A Health Plan's Guide to Paying CBOs for Social Care"), in different phases
of the lifecycle ("Operationalizing Contracts"), each with a scope of work:

| example in the seed                          | here, between the plan and ...            | phase          |
|----------------------------------------------|-------------------------------------------|----------------|
| Camden Coalition fixed-price pilot (30 high-risk members, SDOH screening) | Buffalo East Side Community Kitchen | renewal |
| MARC / BlueKC fee-for-service meals (invoices first, then member claims)  | Erie Home Meals Collaborative       | ended (amended once) |
| MARC / BlueKC case rate for up to three months of case management         | the community care hub              | pre-launch (launch blocked) |
| BayAging PMPM capitation with escalating penalties ($1,000, +5% each)     | the community care hub              | scoping (checklist incomplete) |
| WNYICC hybrid: upfront capitation + per-meal FFS supplement               | the community care hub              | implementation |
| UHC / Camden Coalition fixed payment + 40-50% shared savings               | Buffalo Housing Stability Coalition | shared vision |
| Buckeye / Northwest Ohio Pathways Community HUB (50% engagement, 50% OBU)  | the community care hub              | implementation |

The payment terms are YAML in the payments domain's format (as examples/payments/*.yaml), validated
by ``socialcare.payments.schemas.parse_terms``. Amounts follow the seed where it gives them (BayAging's
penalties, the 40-50% savings share, the 50/50 HUB split); the rest are illustrative, as the terms'
comments say.
"""

from __future__ import annotations

from datetime import date, timedelta

from socialcare.contracts import rules, schemas, service
from socialcare.contracts.rules import add_months
from socialcare.demo.context import DemoContext
from socialcare.kit.codes import OrgKind
from socialcare.security.principal import system_principal

ORDER = 40

def payment_terms(key: str, start: date, plan: str, partner: str, partner_org=None) -> str:
    """The contract's payment terms in the payments domain's YAML (as examples/payments/*.yaml)."""
    head = f"version: 1\ncontract: {plan} x {partner}\nplan: {plan}\npartner: {partner}\n"
    q = [add_months(start, m).isoformat() for m in (0, 3, 6, 9, 12)]
    if key == "fixed_price":
        return head + f"""\
# Camden Coalition fixed-price pilot (seed 002). The price is illustrative.
billing: {{mode: invoice}}
terms:
  - id: pilot
    model: fixed_price
    name: Pilot fixed price
    total: "180000.00"
    installments:
      - {{due: {q[0]}, amount: "60000.00", label: "Start-up: staffing, workflows, technology"}}
      - {{due: {q[1]}, amount: "40000.00", label: "Second quarter"}}
      - {{due: {q[2]}, amount: "40000.00", label: "Third quarter"}}
      - {{due: {q[3]}, amount: "40000.00", label: "Fourth quarter"}}
    covered_services: [T1016, G0136]
    volume_targets:
      - {{label: "High-risk members in intensive care management (up to 30)", target: 30, service_codes: [T1016], distinct_members: true}}
      - {{label: "SDOH screenings at EDs and primary care sites", target: 600, service_codes: [G0136]}}
      - {{label: "Site visits hosted for the plan", target: 2, metric: site_visits}}
"""
    if key == "fee_for_service":
        return head + """\
# MARC / BlueKC fee-for-service, phase one (seed 002): invoices with a stated number of services.
billing: {mode: invoice}
terms:
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {service_code: S9977, unit: day, rate: "21.50", description: "Medically tailored meals, two a day", max_units: 4000}
      - {service_code: S9452, unit: class, rate: "45.00", description: "Nutrition class", min_units: 20}
"""
    if key == "fee_for_service_claims":
        o = partner_org
        return head + f"""\
# MARC / BlueKC phase two (seed 002): the same fee schedule, billed as individual member claims (837P).
billing:
  mode: claims
  submitter: {{name: {partner[:60]}, id: PARTNER01}}
  receiver: {{name: {plan}, id: LAKESHORE}}
  payer: {{name: {plan}, id: LAKESHORE01}}
  billing_provider:
    name: {partner[:60]}
    npi: "{o.npi}"
    taxonomy: {o.taxonomy_code}
    ein: "{(o.tax_id or '').replace('-', '')}"
    address: {o.address_1}
    city: {o.city}
    state: {o.state}
    zip: "{o.postal_code}0001"
  diagnosis: Z5941
  place_of_service: "12"
terms:
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {{service_code: S9977, unit: day, rate: "21.50", description: "Medically tailored meals, two a day", max_units: 4000}}
      - {{service_code: S9452, unit: class, rate: "45.00", description: "Nutrition class", min_units: 20}}
"""
    if key == "bundled":
        return head + """\
# MARC / BlueKC case rate (seed 002): one payment per episode of up to three months; one renewal
# period when the plan approves it; meals carved out and paid fee-for-service. Rates illustrative.
billing: {mode: invoice}
terms:
  - id: case-management
    model: bundled
    billing_code: T1016
    episode_rate: "675.00"
    episode_days: 90
    max_renewals: 1
    services_carved_in: [G0019, G0022]
    services_carved_out: [S5170]
  - id: meals
    model: fee_for_service
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "9.75", description: "Home-delivered meal"}
"""
    if key == "capitation":
        return head + """\
# BayAging (seed 002): PMPM for fully delegated care management, plus the state's penalties the hub
# shares: $1,000 for the first occurrence, then in 5 percent increments. The PMPM is illustrative.
billing: {mode: invoice}
terms:
  - id: delegated-care-management
    model: capitation
    pmpm: "38.00"
    covered_services: [T2022]
  - id: state-penalties
    model: escalating_penalty
    first_amount: "1000.00"
    escalation: linear
    increment_percent: 5
    measures: [care plan development, person-centered goals documented, all-cause readmissions, vaccine administration]
"""
    if key == "hybrid":
        return head + """\
# WNYICC / Independent Health (seed 002): capitation for post-discharge meals (two a day for two
# weeks); FFS per meal computed monthly, the balance paid when FFS exceeds it. Amounts illustrative.
billing: {mode: invoice}
terms:
  - id: post-discharge-meals
    model: hybrid_ffs_capitation
    capitation: {amount_per_month: "20000.00"}
    fee_schedule:
      - {service_code: S5170, unit: meal, rate: "9.75", description: "Home-delivered meal (two a day, 14 days)"}
"""
    if key == "shared_savings":
        return head + f"""\
# UHC / Camden Coalition (seed 002): a guaranteed fixed annual payment plus 40-50 percent of the
# savings net of it, the percentage set by seven quality metrics. Amounts illustrative.
billing: {{mode: invoice}}
terms:
  - id: guaranteed
    model: fixed_price
    mlr: medical
    total: "450000.00"
    installments:
      - {{due: {q[1]}, amount: "112500.00"}}
      - {{due: {q[2]}, amount: "112500.00"}}
      - {{due: {q[3]}, amount: "112500.00"}}
      - {{due: {q[4]}, amount: "112500.00"}}
  - id: savings
    model: shared_savings
    net_of_terms: [guaranteed]
    sharing: {{min_percent: 40, max_percent: 50, metrics_total: 7}}
    quality_metrics:
      - {{metric: patient_satisfaction, target: 85}}
      - {{metric: followup_7_days_percent, target: 60}}
      - {{metric: prenatal_care_initiation_percent, target: 80}}
      - {{metric: breast_cancer_screening_percent, target: 70}}
      - {{metric: cervical_cancer_screening_percent, target: 70}}
      - {{metric: colorectal_cancer_screening_percent, target: 60}}
      - {{metric: ed_visits_per_1000, target: 900, direction: at_most}}
    minimum_savings_rate_percent: 2
    cap_percent_of_projected: 10
"""
    if key == "outcome_based":
        return head + """\
# Buckeye / Northwest Ohio Pathways Community HUB (seed 002): pay per confirmed engagement (home
# visit) and outcome-based units per completed pathway, about half each. Weights and rates illustrative.
terms:
  - id: hub
    model: outcome_based
    engagement_rate: "150.00"
    obu_rate: "60.00"
    target_engagement_percent: 50
    pathways:
      - {pathway: food security, obu: 2}
      - {pathway: housing, obu: 4}
      - {pathway: medical home, obu: 2}
      - {pathway: social service referral, obu: 1}
      - {pathway: medication management, obu: 2}
"""
    raise KeyError(key)


def _d(day: date, months: int = 0, days: int = 0) -> str:
    return (add_months(day, months) + timedelta(days=days)).isoformat()


def full_scope_of_work(today: date, *, population: dict, volume: dict, prioritization: dict | None,
                       services: list[dict], hub: bool, licensed: bool = False) -> dict:
    """A scope of work with every checklist row (and every also-recommended element) filled in."""
    staffing = {
        "staff_roles": ["community health workers", "care coordinators", "program manager"],
        "licensure_required": licensed,
        "licensures": [{"role": "care manager", "license": "RN or LCSW (New York)", "credentialing_required": True}]
        if licensed else [],
        "credentialing_process": "The plan's credentialing committee verifies licenses (NYSED) and checks the OIG "
                                 "exclusion list before the staff member sees members; re-verified yearly."
        if licensed else "",
        "credentialing_due": _d(today, 1) if licensed else None,
        "other_requirements": ["cultural humility training", "background check", "HIPAA privacy training"],
        "trainings": [
            {"name": "Program workflows and the referral platform", "audience": "partner staff", "due_date": _d(today, 1)},
            {"name": "Community resources and social needs screening", "audience": "plan care managers",
             "due_date": _d(today, 1, 14)},
        ],
        "contacts": [
            {"organization": "plan", "area": "client referrals", "name": "Dana Whitfield", "title": "Social care program manager",
             "email": "dwhitfield@lakeshorehealth.example.org"},
            {"organization": "plan", "area": "data transmission and reporting", "name": "Omar Haddad",
             "title": "Data integration lead", "email": "ohaddad@lakeshorehealth.example.org"},
            {"organization": "hub" if hub else "cbo", "area": "client referrals and evaluation", "name": "Keisha Banks",
             "title": "Program director", "email": "kbanks@partner.example.org"},
        ],
        "escalation_pathway": [
            {"level": 1, "contact": "Plan social care program manager", "respond_within_days": 2,
             "contact_username": "plan-staff", "backup": "Plan program administrator", "backup_username": "plan-admin",
             "business_days": True},
            {"level": 2, "contact": "Plan director of care management and partner executive director",
             "respond_within_days": 5, "contact_username": "plan-admin"},
            {"level": 3, "contact": "Joint operating committee executive sponsors", "respond_within_days": 10},
        ],
        "escalation_due": _d(today, 0, 30),
    }
    workflows = [
        {"activity": "communicate_availability", "responsible": "plan",
         "description": "The plan announces the service to members (mailer, member portal) and to network PCPs "
                        "(provider bulletin); the partner does community outreach."},
        {"activity": "identify_and_enroll", "responsible": "both",
         "description": "The plan sends a monthly prioritized member list; the partner contacts members, confirms "
                        "eligibility in the plan's portal and records enrollment within 5 business days."},
        {"activity": "timing", "responsible": "partner",
         "description": "First contact within 3 business days of referral; services start within 7 days."},
        {"activity": "recording_reporting_billing", "responsible": "partner",
         "description": "Each service is recorded in the referral platform on the day it is delivered; claims or "
                        "invoices are submitted monthly by the 10th."},
        {"activity": "escalation", "responsible": "both",
         "description": "Issues the teams cannot solve go to the escalation pathway; each is logged and reviewed "
                        "at the next joint operating committee."},
    ]
    if hub:
        workflows.insert(2, {"activity": "hub_network_referral", "responsible": "hub",
                             "description": "The hub routes each referral to a network CBO serving the member's "
                                            "county and language, and collects their service records."})

    def pre(desc: str, owner: str, months: int, days: int = 0, required: bool = True) -> dict:
        return {"description": desc, "owner": owner, "due_date": _d(today, months, days), "required": required}

    prelaunch = {
        "project_management_plan": pre("Shared project plan with weekly check-ins until launch", "both", 0, 14),
        "program_compliance": pre("NPI and Medicaid provider enrollment for billing", "partner", 1),
        "credentialing": pre("Credential licensed care managers", "plan", 1) if licensed else None,
        "staff_training": pre("Train partner and plan staff on workflows and the platform", "both", 1),
        "data_security_review": pre("The plan's vendor security review, scaled to the partner's risk", "plan", 0, 21),
        "technology_onboarding": pre("Accounts on the referral platform and SFTP credentials", "plan", 1),
        "workflow_development": pre("Write the referral and reporting workflows together", "both", 0, 21),
        "workflow_testing": pre("Test referral, reporting and billing end to end with ten test members", "both", 1, 14),
        "prepayment_release": pre("Release start-up funds for staffing and technology", "plan", 0, 14, required=False),
        "compensation": "Pre-launch work is paid upfront and not recouped from service payments.",
    }
    return {
        "who": {
            "population": {
                "description": population.pop("description"),
                "rule": population,
                "prioritization": prioritization,
                "volume": volume,
            },
            "staffing": staffing,
        },
        "what": {
            "services": services,
            "workflows": workflows,
            "timing_expectations": [{"milestone": "contact", "within": 3, "unit": "business_days"},
                                    {"milestone": "service", "within": 7, "unit": "days"}],
            "prelaunch": prelaunch,
            "evaluation": {
                "plan": "Compare utilization and total cost of care of served members with matched eligible members "
                        "not yet served; engagement and completion rates reviewed monthly at the JOC.",
                "due_date": _d(today, 3),
                "resources": "Plan analytics team, 0.1 FTE; the partner's program data.",
            },
        },
        "how": {
            "joc": {
                "participants": ["plan social care program manager", "plan medical director", "partner executive director",
                                 "partner program lead", "frontline staff representative"],
                "purpose": "Review referral volume, engagement, sub-population trends and payments; solve problems together.",
                "frequency": "monthly",
                "compensated_hours_per_month": "6",
            },
            "case_conferencing": {
                "participants": ["plan care managers", "partner community health workers"],
                "purpose": "Work through members with unresolved issues.",
                "frequency": "biweekly",
                "compensated_hours_per_month": "4",
            },
            "data_sharing": {
                "to_partner": {
                    "elements": ["member name", "member ID", "phone", "address", "preferred language",
                                 "reason for referral", "recent discharge date"],
                    "form": ["structured"], "source": "plan enrollment and care management systems",
                    "level": "individual", "frequency": "monthly list and each referral",
                    "timeliness": "within 1 business day of referral", "exchange": ["fhir", "sftp_file"],
                },
                "to_plan": {
                    "elements": ["service date", "service code (HCPCS)", "units", "screening results (LOINC)",
                                 "social needs found (ICD-10 Z codes)", "referral outcome"],
                    "form": ["structured"], "source": "the partner's referral platform",
                    "level": "both", "frequency": "each encounter; monthly summary",
                    "timeliness": "within 5 days of the service", "exchange": ["fhir", "sftp_file"],
                },
                "standards": ["ICD-10-CM Z codes", "HCPCS", "CPT", "LOINC", "FHIR SDOH Clinical Care IG"],
                "platforms": ["socialcare referral platform", "plan provider portal", "HealtheLink (regional HIE)"],
                "portal_access": "The partner views eligibility in the plan's provider portal.",
                "baa_required": True,
                "baa_signed_on": _d(today, -1),
                "consent": "Members consent to sharing with the partner at enrollment.",
                "shared_analysis": True,
            },
            "flexibility": {
                "revisit_date": _d(today, 6),
                "terms_to_revisit": ["payment rates", "member eligibility", "volume"],
                "description": "After six months the parties revisit rates, eligibility and volume based on the data.",
            },
        },
    }


def _service(name, domain, code, unit, *, activities, settings, timing, frequency, max_duration, completion,
             repeat, milestones=()) -> dict:
    return {
        "name": name, "need_domain": domain, "service_code": code, "unit": unit,
        "responsibilities": "The partner delivers the service; the plan refers, verifies eligibility and pays.",
        "initiation": {
            "identification": "From the plan's prioritized member list, or a referral by a plan care manager or PCP.",
            "engagement": "The partner calls the member (three attempts over ten days) in the member's language.",
            "enrollment": "The member accepts; the partner records enrollment on the referral platform.",
            "eligibility_verification": "The partner checks eligibility in the plan's portal before the first service.",
        },
        "provision": {"activities": list(activities), "settings": list(settings), "frequency": frequency,
                      "timing": timing, "milestones": list(milestones),
                      "assessment": "Social needs screening (AHC HRSN) at enrollment.",
                      "care_planning": "A person-centered plan agreed with the member."},
        "conclusion": {"max_duration": max_duration, "completion": completion, "repeat_eligibility": repeat},
    }


def contract_specs(today: date, hub_id: int, cbo_ids: dict[str, int]) -> list[dict]:
    """The seven contracts: (create payload, phase, months since start...)."""
    all_counties = ["Erie", "Niagara", "Chautauqua", "Cattaraugus", "Genesee", "Allegany", "Orleans", "Wyoming"]
    chw_cm = _service(
        "Intensive community health worker care management", "care_management", "T1016", "15 minutes",
        activities=["assessment", "care planning", "accompaniment to appointments", "benefits navigation",
                    "medication reconciliation with the PCP"],
        settings=["home", "community", "telephone"], timing="First home visit within 7 days of enrollment",
        frequency="at least weekly contact", max_duration="6 months", completion="care plan goals met or graduated",
        repeat="Once more after 12 months, with plan approval", milestones=["care plan at 30 days", "graduation"],
    )
    screening = _service(
        "SDOH screening at emergency departments and primary care sites", "care_management", "G0136", "screening",
        activities=["AHC HRSN screening", "referral to community resources"], settings=["hospital", "clinic"],
        timing="During the visit", frequency="once per visit", max_duration="one encounter",
        completion="screening recorded and referrals made", repeat="Yearly",
    )
    mtm = _service(
        "Medically tailored meals", "food", "S9977", "day",
        activities=["dietitian assessment", "two medically tailored meals a day delivered", "nutrition education"],
        settings=["home"], timing="First delivery within 72 hours of referral", frequency="deliveries twice a week",
        max_duration="12 weeks", completion="12 weeks delivered or member declines", repeat="Once a year",
    )
    case_mgmt = _service(
        "Community care management episode", "care_management", "T1016", "episode",
        activities=["assessment", "care plan", "service coordination", "benefits enrollment", "transition support"],
        settings=["home", "telephone", "community"], timing="Outreach within 3 business days",
        frequency="at least two contacts a month", max_duration="3 months, renewable once with plan approval",
        completion="care plan goals met at 90 days", repeat="After a renewal period, with plan approval",
        milestones=["assessment in 14 days", "care plan in 30 days"],
    )
    delegated = _service(
        "Delegated care management", "care_management", "T2022", "month",
        activities=["health risk assessment", "person-centered care plan", "care transitions", "vaccine outreach"],
        settings=["home", "telephone"], timing="Assessment within 30 days of enrollment",
        frequency="monthly contact", max_duration="while enrolled", completion="disenrollment",
        repeat="Continuous",
    )
    meals = _service(
        "Home-delivered meals after discharge", "food", "S5170", "meal",
        activities=["two meals a day delivered for two weeks", "wellness check at delivery"], settings=["home"],
        timing="First delivery within 24 hours after discharge", frequency="daily deliveries",
        max_duration="14 days", completion="28 meals delivered", repeat="After each qualifying discharge",
    )
    housing = _service(
        "Housing navigation and tenancy support", "housing", "H0043", "day",
        activities=["housing assessment", "applications", "landlord mediation", "move-in support", "tenancy support"],
        settings=["home", "community", "shelter"], timing="Contact within 2 business days",
        frequency="weekly", max_duration="12 months", completion="housed and stable for 6 months",
        repeat="After 12 months",
    )
    pathways = _service(
        "Pathways Community HUB care coordination", "care_management", "T1016", "pathway",
        activities=["home visit", "checklists", "open and complete standard pathways", "confirm outcomes"],
        settings=["home", "community"], timing="Home visit within 14 days of referral",
        frequency="at least monthly", max_duration="12 months", completion="pathways closed with outcomes confirmed",
        repeat="New pathways when new risk factors are found",
    )
    ready_cms = {"risk": {"kind": "risk", "min_score": "2.0"}}
    return [
        dict(
            key="fixed_price", phase=rules.Phase.RENEWAL, start=add_months(today, -10), end=add_months(today, 2),
            counterparty=cbo_ids["Buffalo East Side Community Kitchen"], contract_type="vendor",
            name="Intensive care management pilot (fixed price)",
            vision="Prove that community health workers can engage the plan's highest-risk members on Buffalo's "
                   "East Side, and learn how to work together before a larger contract.",
            services=[chw_cm, screening],
            sow=dict(population={"kind": "group", "op": "and", "description":
                                 "High-risk adult Medicaid members living in Erie County with two or more chronic "
                                 "conditions or a serious mental illness.",
                                 "rules": [
                                     {"kind": "geography", "counties": ["Erie"]},
                                     {"kind": "age", "min_age": 18, "max_age": 64},
                                     {"kind": "product_line", "product_lines": ["medicaid", "dual_special_needs"]},
                                     ready_cms["risk"],
                                 ]},
                     volume={"minimum": 20, "maximum": 30, "unit": "members", "period": "term",
                             "notification": "The plan's care managers refer; the partner does outreach."},
                     prioritization={"description": "Highest risk first; each race and ethnicity keeps its share.",
                                     "rank_by": [{"key": "risk_score"}, {"key": "condition_count"}],
                                     "proportional_strata": ["race_ethnicity"]},
                     hub=False),
        ),
        dict(
            key="fee_for_service", phase=rules.Phase.ENDED, start=add_months(today, -30), end=add_months(today, -6),
            counterparty=cbo_ids["Erie Home Meals Collaborative"], contract_type="vendor",
            name="Medically tailored meals (fee-for-service)",
            vision="Medically tailored meals for members with diet-sensitive conditions, paid per day of meals.",
            services=[mtm],
            sow=dict(population={"kind": "group", "op": "and", "description":
                                 "Adults in Erie County with diabetes, heart failure or chronic kidney disease.",
                                 "rules": [
                                     {"kind": "geography", "counties": ["Erie"]},
                                     {"kind": "age", "min_age": 18},
                                     {"kind": "condition", "icd10_prefixes": ["E11", "I50", "N18"]},
                                 ]},
                     volume={"minimum": 100, "maximum": 400, "unit": "members", "period": "year"},
                     prioritization={"description": "Highest risk first.", "rank_by": [{"key": "risk_score"}]},
                     hub=False),
        ),
        dict(
            key="bundled", phase=rules.Phase.PRE_LAUNCH, start=add_months(today, 1), end=add_months(today, 13),
            counterparty=hub_id, contract_type="vendor", name="Community care management (case rate)",
            vision="One case rate for up to three months of community care management through the hub's network.",
            services=[case_mgmt],
            sow=dict(population={"kind": "group", "op": "and", "description":
                                 "Adults with diabetes, heart failure or CKD and a risk score of 2 or more, "
                                 "in the hub's eight counties.",
                                 "rules": [
                                     {"kind": "geography", "counties": all_counties},
                                     {"kind": "age", "min_age": 18},
                                     {"kind": "group", "op": "or", "label": "A qualifying condition", "rules": [
                                         {"kind": "condition", "icd10_prefixes": ["E11"]},
                                         {"kind": "condition", "icd10_prefixes": ["I50"]},
                                         {"kind": "condition", "icd10_prefixes": ["N18"]},
                                     ]},
                                     ready_cms["risk"],
                                 ]},
                     volume={"minimum": 100, "maximum": 250, "unit": "members", "period": "year"},
                     prioritization={"description": "Highest risk first; counties keep their share.",
                                     "rank_by": [{"key": "risk_score"}, {"key": "condition_count"}],
                                     "proportional_strata": ["county"]},
                     hub=True),
        ),
        dict(
            key="capitation", phase=rules.Phase.SCOPING, start=add_months(today, 3), end=add_months(today, 27),
            counterparty=hub_id, contract_type="provider", name="Delegated care management (capitation)",
            vision="The hub takes on fully delegated care management for dual-eligible members, paid per member "
                   "per month, sharing the state's penalties if measures are missed.",
            services=[delegated],
            sow=dict(population={"kind": "group", "op": "and", "description":
                                 "Dual-eligible (D-SNP) members in the eight counties.",
                                 "rules": [
                                     {"kind": "geography", "counties": all_counties},
                                     {"kind": "product_line", "product_lines": ["dual_special_needs"]},
                                 ]},
                     volume={"minimum": 500, "unit": "members", "period": "month"},
                     prioritization=None, hub=True, licensed=True),
            # Still being scoped: no escalation process, no data to the hub yet, no revisit date.
            incomplete=True,
        ),
        dict(
            key="hybrid", phase=rules.Phase.IMPLEMENTATION, start=add_months(today, -10), end=add_months(today, 14),
            counterparty=hub_id, contract_type="vendor", name="Post-discharge home-delivered meals (hybrid)",
            vision="Every member discharged after an overnight stay gets two weeks of meals, anywhere in the "
                   "eight counties, through one contract with the hub and its nine meal partners.",
            services=[meals],
            sow=dict(population={"kind": "group", "op": "and", "description":
                                 "Medicare Advantage and D-SNP members in the eight counties (the hub confirms the "
                                 "discharge with an overnight stay).",
                                 "rules": [
                                     {"kind": "geography", "counties": all_counties},
                                     {"kind": "product_line", "product_lines": ["medicare_advantage", "dual_special_needs"]},
                                 ]},
                     volume={"minimum": 1500, "unit": "members", "period": "year",
                             "notification": "Hospital discharge planners and the plan's transition nurses refer."},
                     prioritization=None, hub=True),
        ),
        dict(
            key="shared_savings", phase=rules.Phase.SHARED_VISION, start=add_months(today, 6), end=add_months(today, 42),
            counterparty=cbo_ids["Buffalo Housing Stability Coalition"], contract_type="vendor",
            name="Housing stability and care coordination (shared savings)",
            vision="Members with a history of high utilization find and keep housing; the plan and the coalition "
                   "share the savings in total cost of care, earned through seven quality metrics.",
            services=[housing, chw_cm],
            sow=dict(population={"kind": "group", "op": "and", "description":
                                 "Members in Buffalo's East and West Side zip codes with a high risk score.",
                                 "rules": [
                                     {"kind": "geography", "zips": ["14204", "14206", "14207", "14208", "14209",
                                                                   "14211", "14212", "14213", "14214", "14215"]},
                                     {"kind": "risk", "min_score": "2.5"},
                                 ]},
                     volume={"minimum": 150, "maximum": 300, "unit": "members", "period": "year"},
                     prioritization={"description": "Highest risk first; languages keep their share.",
                                     "rank_by": [{"key": "risk_score"}], "proportional_strata": ["language"]},
                     hub=False),
        ),
        dict(
            key="outcome_based", phase=rules.Phase.IMPLEMENTATION, start=add_months(today, -8), end=add_months(today, 16),
            counterparty=hub_id, contract_type="vendor", name="Pathways Community HUB care coordination",
            vision="Community health workers in the hub's agencies address members' health and social risk "
                   "factors, paid half for engagement and half for completed pathways.",
            services=[pathways],
            sow=dict(population={"kind": "group", "op": "and", "description":
                                 "Medicaid adults in Erie and Niagara counties with a risk score of 1.5 or more, or "
                                 "any adult with a serious mental illness.",
                                 "rules": [
                                     {"kind": "geography", "counties": ["Erie", "Niagara"]},
                                     {"kind": "product_line", "product_lines": ["medicaid"]},
                                     {"kind": "age", "min_age": 18},
                                     {"kind": "group", "op": "or", "label": "High risk or serious mental illness",
                                      "rules": [
                                          {"kind": "risk", "min_score": "1.5"},
                                          {"kind": "condition", "icd10_prefixes": ["F20", "F31"]},
                                      ]},
                                 ]},
                     volume={"minimum": 300, "maximum": 600, "unit": "members", "period": "year"},
                     prioritization={"description": "Highest risk first; counties and race and ethnicity keep "
                                                    "their share.",
                                     "rank_by": [{"key": "risk_score"}, {"key": "condition_count"}],
                                     "proportional_strata": ["county", "race_ethnicity"]},
                     hub=True),
        ),
    ]


def _sow(today: date, spec: dict) -> dict:
    s = dict(spec["sow"])
    sow = full_scope_of_work(today, population=dict(s["population"]), volume=s["volume"],
                             prioritization=s["prioritization"], services=spec["services"], hub=s["hub"],
                             licensed=s.get("licensed", False))
    if spec.get("incomplete"):
        sow["what"]["workflows"] = [w for w in sow["what"]["workflows"] if w["activity"] != "escalation"]
        sow["how"]["data_sharing"]["to_partner"] = {}
        sow["how"]["flexibility"] = {}
        sow["who"]["staffing"]["credentialing_process"] = ""
    return sow


def build(ctx: DemoContext) -> None:
    s, st = ctx.session, ctx.state
    plan = system_principal(st["plan_id"], OrgKind.HEALTH_PLAN, username="demo")
    names = st["org_names"]
    cbo_ids = {names[i]: i for i in st["cbo_ids"]}
    specs = contract_specs(ctx.today, st["hub_id"], cbo_ids)
    ctx.set_total(len(specs))
    made = {}
    for spec in specs:
        # Dates of the version are the contract's own; the scope of work's due dates are relative to its start.
        anchor = spec["start"] if spec["start"] > ctx.today else add_months(spec["start"], -2)
        data = schemas.ContractCreate(
            name=spec["name"], counterparty_id=spec["counterparty"], contract_type=spec["contract_type"],
            start_date=spec["start"], end_date=spec["end"], vision=spec["vision"],
            services_covered=[schemas.ServiceCovered(name=x["name"], need_domain=x["need_domain"],
                                                     service_code=x["service_code"], unit=x["unit"])
                              for x in spec["services"]],
            payment_terms_yaml=payment_terms(spec["key"], spec["start"], st["plan_name"], names[spec["counterparty"]]),
            scope_of_work=schemas.ScopeOfWork.model_validate(_sow(anchor, spec)),
        )
        c = service.create(s, plan, data, effective_date=spec["start"])
        made[spec["key"]] = c
        _walk_phases(s, plan, c, spec, ctx.today, st)
        ctx.advance(1)
    st["contract_ids"] = {k: c.id for k, c in made.items()}


def _walk_phases(s, plan, c, spec, today: date, st: dict) -> None:
    """Move the contract along the lifecycle to its demo phase, the way a team would."""
    target = spec["phase"]
    if target == rules.Phase.SHARED_VISION:
        return
    service.change_phase(s, plan, c.id, rules.Phase.SCOPING, "Shared vision agreed at the site visit")
    if target == rules.Phase.SCOPING:
        return
    service.change_phase(s, plan, c.id, rules.Phase.PRE_LAUNCH, "Scope of work signed")
    s.refresh(c)
    launched = target != rules.Phase.PRE_LAUNCH
    for t in c.tasks:
        if launched:
            status = "done" if t.required else "waived"
            reason = None
            if status == "waived":
                reason = ("No licensed staff are required by this scope of work" if t.kind == "credentialing"
                          else "Not needed: the partner had cash on hand for start-up")
        else:  # pre-launch: some done, the workflow tests still open (launch is blocked)
            status = "done" if t.kind in ("credentialing", "staff_training", "data_security_review") else (
                "in_progress" if t.kind == "technology_onboarding" else "open")
            reason = None
        service.update_task(s, plan, c.id, t.id, schemas.TaskUpdate(status=status, waived_reason=reason))
    if not launched:
        return
    service.change_phase(s, plan, c.id, rules.Phase.IMPLEMENTATION, "Launched")
    if spec["key"] == "fee_for_service":
        # MARC's phased implementation: invoices first, then individual member claims (seed 002).
        from socialcare.directory.models import Organization

        partner = s.get(Organization, c.counterparty_id)
        terms = payment_terms("fee_for_service_claims", spec["start"], st["plan_name"], partner.name, partner)
        service.amend(s, plan, c.id, schemas.Amendment(
            reason="Phase two: MARC-style move from invoices to individual member claims after six months.",
            effective_date=add_months(spec["start"], 6), payment_terms_yaml=terms))
    if spec["key"] in ("fixed_price", "outcome_based", "hybrid"):
        service.create_selection(s, plan, c.id, schemas.SelectionRequest(as_of=today))
    if target == rules.Phase.RENEWAL:
        service.change_phase(s, plan, c.id, rules.Phase.RENEWAL, "Renewal review opened four months before the end")
    elif target == rules.Phase.ENDED:
        service.change_phase(s, plan, c.id, rules.Phase.ENDED,
                             "Meals moved to the hub's post-discharge meals contract at the end of the term")
