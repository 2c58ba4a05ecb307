"""Reference code lists shared by every domain.

Need domains are our service taxonomy (tagging directory services, referrals and screenings);
each maps to the Gravity SDOH category code used in FHIR and to the ICD-10-CM Z code recorded
for a positive screen (codes validated against simple-icd-10-cm in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrgKind(StrEnum):
    HEALTH_PLAN = "health_plan"
    HUB = "community_care_hub"
    CBO = "cbo"


ORG_KIND_LABELS = {
    OrgKind.HEALTH_PLAN: "Health plan",
    OrgKind.HUB: "Community care hub",
    OrgKind.CBO: "Community-based organization",
}


class ProductLine(StrEnum):
    MEDICAID = "medicaid"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    DSNP = "dual_special_needs"
    COMMERCIAL = "commercial"


PRODUCT_LINE_LABELS = {
    ProductLine.MEDICAID: "Medicaid",
    ProductLine.MEDICARE_ADVANTAGE: "Medicare Advantage",
    ProductLine.DSNP: "Dual special needs (D-SNP)",
    ProductLine.COMMERCIAL: "Commercial",
}


@dataclass(frozen=True)
class NeedDomainInfo:
    code: str
    label: str
    sdoh_category: str  # Gravity SDOHCC-ValueSetSDOHCategory code (FHIR)
    z_code: str | None  # default ICD-10-CM code for a positive finding


class NeedDomain(StrEnum):
    FOOD = "food"
    HOUSING = "housing"
    TRANSPORTATION = "transportation"
    UTILITIES = "utilities"
    INTERPERSONAL_SAFETY = "interpersonal_safety"
    CARE_MANAGEMENT = "care_management"
    CAREGIVER_SUPPORT = "caregiver_support"
    LEGAL = "legal"
    MEDICAL_RESPITE = "medical_respite"
    HOME_CARE = "home_care"
    TRANSITION_SUPPORT = "transition_support"
    FINANCIAL = "financial"
    EMPLOYMENT = "employment"
    SOCIAL_CONNECTION = "social_connection"


NEED_DOMAINS: dict[NeedDomain, NeedDomainInfo] = {
    NeedDomain.FOOD: NeedDomainInfo("food", "Food", "food-insecurity", "Z59.41"),
    NeedDomain.HOUSING: NeedDomainInfo("housing", "Housing", "housing-instability", "Z59.819"),
    NeedDomain.TRANSPORTATION: NeedDomainInfo(
        "transportation", "Transportation", "transportation-insecurity", "Z59.82"
    ),
    NeedDomain.UTILITIES: NeedDomainInfo("utilities", "Utilities", "utility-insecurity", "Z59.12"),
    NeedDomain.INTERPERSONAL_SAFETY: NeedDomainInfo(
        "interpersonal_safety", "Interpersonal safety", "intimate-partner-violence", "Z63.0"
    ),
    NeedDomain.CARE_MANAGEMENT: NeedDomainInfo(
        "care_management", "Care management", "sdoh-category-unspecified", None
    ),
    NeedDomain.CAREGIVER_SUPPORT: NeedDomainInfo(
        "caregiver_support", "Caregiver support", "sdoh-category-unspecified", None
    ),
    NeedDomain.LEGAL: NeedDomainInfo("legal", "Legal", "sdoh-category-unspecified", "Z65.3"),
    NeedDomain.MEDICAL_RESPITE: NeedDomainInfo(
        "medical_respite", "Medical respite", "homelessness", "Z59.00"
    ),
    NeedDomain.HOME_CARE: NeedDomainInfo("home_care", "Home care", "sdoh-category-unspecified", None),
    NeedDomain.TRANSITION_SUPPORT: NeedDomainInfo(
        "transition_support", "Transition support", "sdoh-category-unspecified", None
    ),
    NeedDomain.FINANCIAL: NeedDomainInfo("financial", "Financial strain", "financial-insecurity", "Z59.869"),
    NeedDomain.EMPLOYMENT: NeedDomainInfo("employment", "Employment", "employment-status", "Z56.0"),
    NeedDomain.SOCIAL_CONNECTION: NeedDomainInfo(
        "social_connection", "Social connection", "social-connection", "Z60.2"
    ),
}


NPI_PREFIX = "80840"  # CMS: the NPI check digit is a Luhn check over 80840 + the NPI's digits


def npi_valid(value: str) -> bool:
    """Ten digits whose last is the NPI check digit."""
    if len(value) != 10 or not value.isdigit():
        return False
    from stdnum import luhn

    return luhn.is_valid(NPI_PREFIX + value)


def npi_with_check_digit(base9: str) -> str:
    """The NPI of nine digits: those digits and their check digit."""
    from stdnum import luhn

    return base9 + luhn.calc_check_digit(NPI_PREFIX + base9)
