"""The measure catalogue: one entry per measure, with the key pay-for-performance terms use.

A P4P term (payments/schemas.py ``MetricRule.metric``) names a measure by its key, e.g.::

    - model: pay_for_performance
      metrics:
        - {metric: outreach_rate, target: "80", bonus: "2500.00"}

and settlement reads the value ``measures.service.metric_values(...)`` computes for the month
(the stored percent, 4 decimal places, or the count / days for the other kinds). docs/measures.md
states each definition in full; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MeasureDef:
    key: str
    label: str
    kind: str  # rate (percent) | days (median) | count
    numerator: str
    denominator: str
    group: str  # funnel | sns_e | timeliness | quality | volume
    default_goal: str | None = None  # percent (rates) or days (timeliness standards)
    direction: str = "at_least"


FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("assigned", "Assigned"),
    ("outreached", "Outreached"),
    ("contacted", "Contacted"),
    ("accepted", "Accepted support"),
    ("service_started", "Service started"),
    ("completed", "Completed"),
)

_M = MeasureDef
MEASURES: dict[str, MeasureDef] = {
    m.key: m
    for m in [
        _M("outreach_rate", "Outreach rate", "rate", "members outreached", "members assigned", "funnel", "80"),
        _M("contact_rate", "Contact rate", "rate", "members contacted", "members outreached", "funnel", "55"),
        _M("accepted_rate", "Support-provided rate", "rate", "members who accepted support",
           "members contacted", "funnel", "50"),
        _M("service_start_rate", "Service start rate", "rate", "members whose service started",
           "members who accepted support", "funnel"),
        _M("completion_rate", "Completion rate", "rate", "members whose service was completed",
           "members whose service started", "funnel"),
        _M("engagement_rate", "Engagement rate (end to end)", "rate", "members who accepted support",
           "members assigned", "funnel"),
        *[
            _M(f"sns_{d}_{step}", f"SNS-E {d.capitalize()} {step.capitalize()}", "rate",
               "screened for the domain" if step == "screening" else "intervention within 30 days of the first positive",
               "members in the measure population" if step == "screening" else "members with a positive screen",
               "sns_e")
            for d in ("food", "housing", "transportation")
            for step in ("screening", "intervention")
        ],
        _M("outreach_within_standard", "First outreach within standard", "rate",
           "referrals first outreached by their due time", "referrals due (or outreached)", "timeliness"),
        _M("service_within_standard", "Service start within standard", "rate",
           "referrals whose service started by its due time", "referrals due (or started)", "timeliness"),
        _M("reassessment_within_standard", "Reassessment within standard", "rate",
           "services reassessed within the contract's days", "services due a reassessment (or reassessed)",
           "timeliness"),
        _M("median_days_to_outreach", "Median days to first outreach", "days", "", "referrals outreached",
           "timeliness", direction="at_most"),
        _M("median_days_to_service", "Median days to service start", "days", "", "referrals started",
           "timeliness", direction="at_most"),
        _M("median_days_to_reassessment", "Median days to reassessment", "days", "", "services reassessed",
           "timeliness", direction="at_most"),
        _M("reassessment_days", "Reassessment standard (days)", "days", "", "", "timeliness", "90", "at_most"),
        _M("loop_closure_rate", "Referral loop closure rate", "rate", "referrals with an outcome reported",
           "referrals sent", "quality"),
        _M("documentation_completeness", "Documentation completeness", "rate",
           "closed referrals documented completely", "closed referrals", "quality"),
        _M("data_submission_on_time", "Data submitted on time (pay for reporting)", "rate",
           "months whose data was submitted by the due date", "months due so far in the contract", "quality"),
        _M("members_served", "Members served (work delivered under the contract)", "count", "distinct members", "", "volume"),
        _M("members_assigned", "Members assigned", "count", "distinct members", "", "volume"),
    ]
}

FUNNEL_RATES: tuple[tuple[str, str, str], ...] = (
    # rate key, numerator step, denominator step (each rate is conditional on the step before)
    ("outreach_rate", "outreached", "assigned"),
    ("contact_rate", "contacted", "outreached"),
    ("accepted_rate", "accepted", "contacted"),
    ("service_start_rate", "service_started", "accepted"),
    ("completion_rate", "completed", "service_started"),
)

STRATA_DIMENSIONS: dict[str, str] = {
    "county": "County",
    "race_ethnicity": "Race and ethnicity",
    "language": "Preferred language",
    "product_line": "Product line",
}

RACE_ETHNICITY_LABELS = {
    "hispanic_or_latino": "Hispanic or Latino (any race)",
    "white": "White",
    "black": "Black or African American",
    "black_or_african_american": "Black or African American",
    "asian": "Asian",
    "american_indian_or_alaska_native": "American Indian or Alaska Native",
    "native_hawaiian_or_pacific_islander": "Native Hawaiian or Pacific Islander",
    "native_hawaiian_or_other_pacific_islander": "Native Hawaiian or Other Pacific Islander",
    "two_or_more": "More than one race",
    "other": "Other race",
    "multiple": "More than one race",
    "unknown": "Unknown",
}
