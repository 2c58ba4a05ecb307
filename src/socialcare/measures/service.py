"""Measure use cases: who may see which contract's measures, the month's scorecard, P4P metric values.

A scorecard is a plain JSON-able dict (a meeting freezes it as is). It holds full counts; what is
shown outside the plan goes through ``shareable()``, which hides small cells (measures/rules.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.contracts.models import Contract
from socialcare.core.clock import today, utcnow
from socialcare.core.errors import InvalidInput, NotFound, Problem
from socialcare.directory.models import Organization
from socialcare.measures import engine, rules
from socialcare.measures.definitions import (
    FUNNEL_RATES,
    FUNNEL_STEPS,
    MEASURES,
    RACE_ETHNICITY_LABELS,
    STRATA_DIMENSIONS,
)
from socialcare.measures.engine import Scope
from socialcare.measures.models import MeasureGoal, ReportingSubmission
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.security.rules import is_plan_role

SCORECARD_VERSION = 1
TREND_MONTHS = 12
SUBMISSION_DUE_DAYS = 10  # default: the month's data is due 10 days after the month ends


# ---- access -----------------------------------------------------------------------------------------


def sees_full_counts(principal: Principal, contract: Contract) -> bool:
    """Only the plan's own staff see strata with small cells; everything else is 'shared outside the plan'."""
    return principal.is_plan and is_plan_role(principal.role) and principal.org_id == contract.plan_id


def contract_for(session: Session, principal: Principal, contract_id: int) -> Contract:
    """The contract, if the principal's organization is a party to it (the plan, or the hub/CBO)."""
    contract = session.get(Contract, contract_id)
    allowed = contract is not None and (
        (principal.is_plan and principal.org_id == contract.plan_id)
        or principal.org_id == contract.counterparty_id
    )
    if not allowed:
        audit.record_denied(session, principal, "measures.denied", object_type="contract", object_id=contract_id,
                            reason="not a party to this contract")
        raise NotFound(f"No contract {contract_id} that your organization is a party to.")
    return contract


def contracts_visible(session: Session, principal: Principal) -> list[Contract]:
    c = Contract
    stmt = select(c).order_by(c.name)
    if principal.is_plan:
        stmt = stmt.where(c.plan_id == principal.org_id)
    else:
        stmt = stmt.where(c.counterparty_id == principal.org_id)
    return list(session.scalars(stmt))


def scope_for(contract: Contract, partner_org_id: int | None = None) -> Scope:
    return Scope(plan_id=contract.plan_id, contract_id=contract.id, partner_org_id=partner_org_id)


# ---- goals -----------------------------------------------------------------------------------------


def goals_for(session: Session, contract_id: int) -> dict[str, rules.Goal]:
    rows = session.scalars(select(MeasureGoal).where(MeasureGoal.contract_id == contract_id))
    return {g.measure: rules.Goal(Decimal(g.target), g.direction) for g in rows}


def set_goal(session: Session, principal: Principal, contract: Contract, measure: str, target: str | Decimal,
             note: str = "") -> MeasureGoal:
    """Set (or change) a contract's goal for a measure. Only the plan sets goals (they are contract terms)."""
    if not (principal.is_plan and principal.org_id == contract.plan_id and principal.can("contracts:read")):
        raise NotFound(f"No contract {contract.id} whose goals you may set.")
    problems = []
    if measure not in MEASURES:
        problems.append(Problem(f"unknown measure '{measure}'; one of {', '.join(MEASURES)}", field="measure"))
    try:
        value = Decimal(str(target))
        if not value.is_finite() or value < 0 or (MEASURES.get(measure) and MEASURES[measure].kind == "rate"
                                                  and value > 100):
            raise ValueError
    except (ArithmeticError, ValueError):
        problems.append(Problem(f"'{target}' is not a goal: a percent from 0 to 100 (or days)", field="target"))
    if problems:
        raise InvalidInput("The goal was not saved.", problems)
    goal = session.scalar(select(MeasureGoal).where(MeasureGoal.contract_id == contract.id,
                                                     MeasureGoal.measure == measure))
    if goal is None:
        goal = MeasureGoal(contract_id=contract.id, measure=measure)
        session.add(goal)
    goal.target = value
    goal.direction = MEASURES[measure].direction
    goal.note = note
    goal.set_by = principal.username
    goal.updated_at = utcnow()
    session.flush()
    audit.record(session, principal, "measures.goal_set", object_type="contract", object_id=contract.id,
                 detail={"measure": measure, "target": str(value)})
    return goal


# ---- reporting submissions ------------------------------------------------------------------------------


def record_submission(session: Session, principal: Principal, contract: Contract, period: date,
                      submitted_at: datetime | None = None, via: str = "portal", note: str = "") -> ReportingSubmission:
    """The partner's data for ``period`` was submitted (pay for reporting); the due date is fixed when first known."""
    period = rules.parse_month(period)
    row = session.scalar(select(ReportingSubmission).where(ReportingSubmission.contract_id == contract.id,
                                                            ReportingSubmission.period == period))
    if row is None:
        due = rules.month_end(period) + timedelta(days=SUBMISSION_DUE_DAYS)
        row = ReportingSubmission(contract_id=contract.id, period=period, due_on=due)
        session.add(row)
    row.submitted_at = submitted_at or utcnow()
    row.submitted_by = principal.username
    row.via = via
    row.note = note
    session.flush()
    return row


# ---- the scorecard ---------------------------------------------------------------------------------


def _rate_entry(key: str, rate: rules.Rate, goals: dict[str, rules.Goal]) -> dict:
    d = MEASURES[key]
    goal = goals.get(key)
    entry = {"key": key, "label": d.label, **rate.as_dict(), "numerator_label": d.numerator,
             "denominator_label": d.denominator}
    entry["goal"] = None if goal is None else f"{goal.target.normalize():f}"
    entry["met"] = None if goal is None else goal.met(rate.value)
    return entry


def _stratum_label(dimension: str, value: str) -> str:
    if dimension == "race_ethnicity":
        return RACE_ETHNICITY_LABELS.get(value, value.replace("_", " ").capitalize())
    if dimension == "product_line":
        from socialcare.kit.codes import PRODUCT_LINE_LABELS

        return {str(k): v for k, v in PRODUCT_LINE_LABELS.items()}.get(value, value)
    return value


def _volume_bounds(contract: Contract, months_to_date: int) -> dict:
    """The scope of work's minimum/maximum volume, and what part of it applies to the months so far."""
    version = next((v for v in contract.versions if v.version == contract.current_version), None)
    sow = (version.scope_of_work if version else None) or {}
    vol = ((sow.get("who") or {}).get("population") or {}).get("volume") or {}
    if not vol:
        return {}
    term_months = len(rules.months_between(contract.start_date, contract.end_date)) or 1
    per = {"month": 1, "quarter": 3, "year": 12, "term": term_months}.get(vol.get("period") or "term", term_months)
    return {"minimum": vol.get("minimum"), "maximum": vol.get("maximum"), "unit": vol.get("unit") or "members",
            "period": vol.get("period") or "term", "period_months": per, "months_to_date": months_to_date}


def scorecard(session: Session, principal: Principal, contract: Contract, month: date,
              partner_org_id: int | None = None, as_of: datetime | None = None) -> dict:
    """Everything the data presentation shows for one contract and month (full counts; see shareable())."""
    month = rules.parse_month(month)
    as_of = as_of or utcnow()
    scope = scope_for(contract, partner_org_id)
    goals = goals_for(session, contract.id)
    counts = engine.funnel_counts(session, scope, month)
    rates = {key: rules.Rate(counts[num], counts[den]) for key, num, den in FUNNEL_RATES}
    rates["engagement_rate"] = rules.Rate(counts["accepted"], counts["assigned"])

    first = max(contract.start_date.replace(day=1), _minus_months(month, TREND_MONTHS - 1))
    trend_counts = engine.funnel_by_month(session, scope, first, month) if first <= month else {}
    trend = []
    for m, c in trend_counts.items():
        row = {"month": m.strftime("%Y-%m"), "assigned": c["assigned"]}
        for key, num, den in FUNNEL_RATES[:3]:
            r = rules.Rate(c[num], c[den])
            row[key] = None if r.value is None else str(r.value)
        trend.append(row)

    sns = engine.sns_e(session, scope, month, group_by="product_line")
    reassess_goal = goals.get("reassessment_days")
    timely = engine.timeliness(session, scope, month, as_of,
                               reassessment_days=int(reassess_goal.target) if reassess_goal else 90)
    quality = engine.loop_and_documentation(session, scope, month)
    quality["data_submission_on_time"] = engine.submissions(session, contract.id, contract.start_date, month,
                                                            as_of.date())
    months_to_date = len(rules.months_between(contract.start_date.replace(day=1), month))
    vol_month = engine.volume(session, scope, month, month)
    vol_to_date = engine.volume(session, scope, contract.start_date.replace(day=1), month)
    strata = engine.funnel_strata(session, scope, month)

    partner_name = None
    if partner_org_id:
        org = session.get(Organization, partner_org_id)
        partner_name = org.name if org else None
    card = {
        "version": SCORECARD_VERSION,
        "contract": {"id": contract.id, "name": contract.name, "plan": contract.plan.name,
                     "partner": contract.counterparty.name, "start": contract.start_date.isoformat(),
                     "end": contract.end_date.isoformat()},
        "partner_filter": partner_name,
        "month": month.strftime("%Y-%m"),
        "month_label": rules.month_label(month),
        "computed_at": as_of.isoformat(timespec="seconds"),
        "funnel": {
            "counts": counts,
            "steps": [{"key": k, "label": label, "count": counts[k]} for k, label in FUNNEL_STEPS],
            "rates": [_rate_entry(k, rates[k], goals) for k in (*[r[0] for r in FUNNEL_RATES], "engagement_rate")],
        },
        "trend": trend,
        "sns_e": {
            "year_to": sns["window"].through.isoformat(),
            "members": sns["members"],
            "rates": _sns_rates(sns["rates"], goals),
            "by_product_line": {k: {"members": v["members"], "rates": _sns_rates(v["rates"], goals)}
                                for k, v in sns.get("strata", {}).items()},
        },
        "timeliness": {
            "rates": [_rate_entry(k, timely[k], goals) for k in
                      ("outreach_within_standard", "service_within_standard", "reassessment_within_standard")],
            "median_days": {k: (None if timely[k] is None else str(timely[k])) for k in
                            ("median_days_to_outreach", "median_days_to_service", "median_days_to_reassessment")},
            "reassessment_days": timely["reassessment_days"],
        },
        "quality": [_rate_entry(k, quality[k], goals) for k in
                    ("loop_closure_rate", "documentation_completeness", "data_submission_on_time")],
        "volume": {"month": vol_month, "to_date": vol_to_date, "bounds": _volume_bounds(contract, months_to_date)},
        "strata": [
            {"dimension": c.dimension, "dimension_label": STRATA_DIMENSIONS[c.dimension], "value": c.value,
             "label": _stratum_label(c.dimension, c.value), "counts": c.counts}
            for c in strata
        ],
    }
    card["volume"]["status"] = _volume_status(card["volume"])
    card["captions"] = captions(card)
    audit.record(session, principal, "measures.scorecard", object_type="contract", object_id=contract.id,
                 detail={"month": card["month"], "partner": partner_org_id})
    return card


def _minus_months(month: date, n: int) -> date:
    y, m = divmod(month.year * 12 + month.month - 1 - n, 12)
    return date(y, m + 1, 1)


def _sns_rates(rates: dict, goals: dict) -> list[dict]:
    out = []
    for d, pair in rates.items():
        for step, rate in pair.items():
            out.append({"domain": d, "step": step, **_rate_entry(f"sns_{d}_{step}", rate, goals)})
    return out


def _volume_status(vol: dict) -> str:
    b = vol.get("bounds") or {}
    if not b:
        return "The scope of work sets no minimum or maximum volume."
    served = vol["to_date"]["members_served"]
    share = Decimal(min(b["months_to_date"], b["period_months"])) / Decimal(b["period_months"])
    lo = None if b.get("minimum") is None else (Decimal(b["minimum"]) * share)
    hi = b.get("maximum")
    unit = b["unit"]
    if hi is not None and served > hi:
        return f"{served:,} {unit} served so far: above the maximum of {hi:,} per {b['period']}."
    if lo is not None and served < lo:
        return (f"{served:,} {unit} served so far: below the pace for the minimum of {b['minimum']:,} per "
                f"{b['period']} ({int(lo):,} expected by now).")
    return f"{served:,} {unit} served so far: within the contract's volume."


# ---- plain-language captions (the template: explain data in language accessible to all) ---------------


def captions(card: dict) -> dict[str, str]:
    rates = {r["key"]: r for r in card["funnel"]["rates"]}
    c = card["funnel"]["counts"]
    out = {}

    def sentence(key, of_what, numer_what, label):
        r = rates[key]
        if r["suppressed"]:
            return f"{label} is not shown: fewer than 11 members."
        if not r["denominator"]:
            return f"{label}: no members {of_what} yet."
        s = f"{label} was {r['display']}: out of {r['denominator']:,} {of_what}, {r['numerator']:,} {numer_what}."
        if r["goal"] is not None:
            s = f"{label.split()[0]} goal was {Decimal(r['goal']).normalize():f}%. " + s
        return s

    out["funnel"] = " ".join([
        sentence("outreach_rate", "members assigned", "were outreached", "Outreach rate"),
        sentence("contact_rate", "members outreached", "were successfully contacted", "Contact rate"),
        sentence("accepted_rate", "members contacted", "accepted support", "Support-provided rate"),
    ])
    missed = [r["label"].lower() for r in card["funnel"]["rates"] if r["met"] is False]
    met = [r["label"].lower() for r in card["funnel"]["rates"] if r["met"] is True]
    if met or missed:
        out["goals"] = ("Goals met: " + (", ".join(met) or "none") + ". Below goal: " + (", ".join(missed) or "none")
                        + ".")
    trend = [t for t in card["trend"] if t.get("outreach_rate") is not None]
    if len(trend) >= 2:
        first, last = Decimal(trend[0]["outreach_rate"]), Decimal(trend[-1]["outreach_rate"])
        direction = "up" if last > first else "down" if last < first else "flat"
        out["trend"] = (f"Since {trend[0]['month']}, the outreach rate went {direction} from "
                        f"{rules.display_percent(int(first * 100), 10000)}% to "
                        f"{rules.display_percent(int(last * 100), 10000)}% ({len(trend)} months of lists).")
    sns = {(r["domain"], r["step"]): r for r in card["sns_e"]["rates"]}
    parts = []
    for d in rules.SNS_DOMAINS:
        s, i = sns[(d, "screening")], sns[(d, "intervention")]
        parts.append(f"{d}: {s['display']} screened, {i['display']} of positives helped within 30 days")
    out["sns_e"] = (f"HEDIS SNS-E, year to {card['sns_e']['year_to']}, {card['sns_e']['members']:,} members: "
                    + "; ".join(parts) + ".")
    med = card["timeliness"]["median_days"]
    if med["median_days_to_outreach"] is not None:
        out["timeliness"] = (f"Half of this month's members got their first outreach within "
                             f"{Decimal(med['median_days_to_outreach']).quantize(Decimal('0.1'))} days.")
    out["volume"] = card["volume"]["status"]
    out["assigned"] = f"{c['assigned']:,} members were assigned in {card['month_label']}."
    return out


# ---- what may be shown outside the plan -----------------------------------------------------------------


def shareable(card: dict) -> dict:
    """A copy of the scorecard for anything shared outside the plan: strata cells of 1-10 hidden
    (with complementary suppression), and SNS-E product-line rates on fewer than 11 members hidden."""
    out = dict(card)
    cells = [rules.Cell(s["dimension"], s["value"], dict(s["counts"])) for s in card["strata"]]
    hidden = {(c.dimension, c.value) for c in rules.suppress_cells(cells, "assigned") if c.suppressed}
    out["strata"] = [
        ({**s, "counts": None, "suppressed": True} if (s["dimension"], s["value"]) in hidden
         else {**s, "suppressed": False})
        for s in card["strata"]
    ]
    by_pl = {}
    for k, v in card["sns_e"].get("by_product_line", {}).items():
        if rules.is_small(v["members"]):
            by_pl[k] = {"members": None, "suppressed": True, "rates": []}
        else:
            by_pl[k] = {**v, "rates": [_suppress_rate(r) for r in v["rates"]]}
    out["sns_e"] = {**card["sns_e"], "by_product_line": by_pl}
    out["suppressed_for_sharing"] = True
    return out


def _suppress_rate(r: dict) -> dict:
    if rules.is_small(r.get("numerator")) or rules.is_small(r.get("denominator")):
        return {**r, "numerator": None, "denominator": None, "percent": None, "display": "suppressed",
                "suppressed": True}
    return r


def for_viewer(card: dict, principal: Principal, contract: Contract) -> dict:
    return card if sees_full_counts(principal, contract) else shareable(card)


def strata_rates(card: dict) -> list[dict]:
    """Each stratum's outreach, contact and support-provided rates (display), for tables and charts."""
    out = []
    for s in card["strata"]:
        row = {k: v for k, v in s.items() if k != "counts"}
        if s.get("counts"):
            c = s["counts"]
            row["assigned"] = c["assigned"]
            for key, num, den in FUNNEL_RATES[:3]:
                r = rules.Rate(c[num], c[den])
                row[key] = r.display
                row[key + "_value"] = None if r.value is None else float(r.value)
        out.append(row)
    return out


# ---- pay for performance ------------------------------------------------------------------------------------


def metric_values(session: Session, contract_id: int, month: date | str,
                  as_of: datetime | None = None) -> dict[str, Decimal]:
    """The month's measure values keyed as P4P terms name metrics (definitions.MEASURES keys).

    Rates are the stored percent (4 places); median days to 4 places; counts as whole numbers.
    A rate with an empty denominator is left out (settlement then reports the metric as missing).
    Called by settlement as a system job: the contract id is the scope, no principal is involved.
    """
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"No contract {contract_id}.")
    month = rules.parse_month(month)
    as_of = as_of or utcnow()
    scope = scope_for(contract)
    counts = engine.funnel_counts(session, scope, month)
    values: dict[str, Decimal | None] = {}
    for key, num, den in FUNNEL_RATES:
        values[key] = rules.Rate(counts[num], counts[den]).value
    values["engagement_rate"] = rules.Rate(counts["accepted"], counts["assigned"]).value
    sns = engine.sns_e(session, scope, month)
    for d, pair in sns["rates"].items():
        for step, rate in pair.items():
            values[f"sns_{d}_{step}"] = rate.value
    goals = goals_for(session, contract.id)
    reassess = int(goals["reassessment_days"].target) if "reassessment_days" in goals else 90
    timely = engine.timeliness(session, scope, month, as_of, reassessment_days=reassess)
    for k in ("outreach_within_standard", "service_within_standard", "reassessment_within_standard"):
        values[k] = timely[k].value
    for k in ("median_days_to_outreach", "median_days_to_service", "median_days_to_reassessment"):
        values[k] = timely[k]
    for k, rate in engine.loop_and_documentation(session, scope, month).items():
        values[k] = rate.value
    values["data_submission_on_time"] = engine.submissions(session, contract.id, contract.start_date, month,
                                                           as_of.date()).value
    vol = engine.volume(session, scope, month, month)
    values["members_served"] = Decimal(vol["members_served"])
    values["members_assigned"] = Decimal(vol["members_assigned"])
    return {k: v for k, v in values.items() if v is not None}


def default_month(session: Session | None = None, contract: Contract | None = None) -> date:
    """For a contract: the latest full month with its attributed work (within its term; the month under way
    when it is the only one), so a scorecard never opens on an empty month. Otherwise the last full month: what a JOC meeting usually reviews."""
    t = today()
    if session is not None and contract is not None:
        through = min(t, contract.end_date)
        # a full month first (the month under way is still filling), else the month under way
        for last in (min(through, t.replace(day=1) - timedelta(days=1)), through):
            found = engine.latest_month_with_data(session, contract.id, last)
            if found is not None:
                return found
        return min(through, max(contract.start_date, t)).replace(day=1)
    return _minus_months(t.replace(day=1), 1)
