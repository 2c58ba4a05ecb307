"""The measures as SQL: set operations (aggregates, CASE, window functions), never a loop over rows.

Every function takes a Session and a ``Scope`` (plan, and optionally contract and partner) that the
caller has already checked the principal may see (service.scope_for), and returns plain numbers.
The same statements run on SQLite and PostgreSQL (date arithmetic through measures/sqlfuncs.py);
docs/measures.md states each definition, and tests/measures checks them on both.

The unit of the engagement funnel is the member: a member counts at a step when any of their
referrals in the cohort reached it, and a step counts only when every earlier step did (so each
rate is conditional on the step before, as in the seed's sample scorecard).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Integer,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from socialcare.measures import rules
from socialcare.measures.definitions import FUNNEL_STEPS, STRATA_DIMENSIONS
from socialcare.measures.models import MeasureExclusion, ReportingSubmission
from socialcare.measures.sqlfuncs import add_days, day_of, days_between, hours_between
from socialcare.members.models import EnrollmentSpan, Member
from socialcare.referrals.models import Referral, ReferralBatch
from socialcare.screening.models import Screening, ScreeningAnswer

NOT_COUNTED = ("draft", "entered-in-error")  # never sent, or a mistake: not an assignment
TERMINAL = ("completed", "failed", "rejected", "cancelled")
MEDICARE_LINES = ("medicare_advantage", "dual_special_needs")


@dataclass(frozen=True)
class Scope:
    plan_id: int
    contract_id: int | None = None
    partner_org_id: int | None = None  # the hub or CBO whose referrals count (None: all the contract's)


def _analytic(session: Session) -> None:
    """Give PostgreSQL room to sort and hash a million rows in memory for this transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '128MB'"))


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _referral_filter(scope: Scope):
    r = Referral.__table__.c
    conds = [r.plan_id == scope.plan_id, r.status.not_in(NOT_COUNTED)]
    if scope.contract_id is not None:
        conds.append(r.contract_id == scope.contract_id)
    if scope.partner_org_id is not None:
        # a partner's own referrals: owned by it at the top level (direct contract) or routed to it by a hub
        conds.append(r.owner_org_id == scope.partner_org_id)
    else:
        conds.append(r.parent_id.is_(None))  # the plan's referral carries the end-to-end loop (mirrored)
    return and_(*conds)


def _assigned_in(first: date, last: date):
    """Assignment month: the batch's contract month when the referral came in a monthly list, else the request day.

    Written as semi-joins on the (small) batch table rather than a per-row lookup."""
    r = Referral.__table__.c
    b = ReferralBatch.__table__.c
    asked = func.coalesce(r.requested_at, r.created_at)
    batches_in = select(b.id).where(b.contract_month >= first, b.contract_month <= last)
    batches_without_month = select(b.id).where(b.contract_month.is_(None))
    return or_(
        r.batch_id.in_(batches_in),
        and_(or_(r.batch_id.is_(None), r.batch_id.in_(batches_without_month)),
             asked >= _start(first), asked < _start(rules.next_month(last))),
    )


def _cohort(scope: Scope, first: date, last: date):
    return and_(_referral_filter(scope), _assigned_in(first, last))


def _step_flags():
    """Per referral: 1/0 for each funnel step, each requiring the ones before."""
    r = Referral.__table__.c
    o = r.first_outreach_at.is_not(None)
    c = and_(o, r.contacted_at.is_not(None))
    a = and_(c, r.enrolled_at.is_not(None))
    s = and_(a, r.service_started_at.is_not(None))
    d = and_(s, r.status == "completed")
    one = literal(1)
    return {
        "outreached": case((o, one), else_=0),
        "contacted": case((c, one), else_=0),
        "accepted": case((a, one), else_=0),
        "service_started": case((s, one), else_=0),
        "completed": case((d, one), else_=0),
    }


def _member_steps(scope: Scope, first: date, last: date):
    """One row per member of the cohort with the furthest step any of their referrals reached."""
    r = Referral.__table__.c
    flags = _step_flags()
    return (
        select(r.member_id.label("member_id"), *[func.max(v).label(k) for k, v in flags.items()])
        .where(_cohort(scope, first, last))
        .group_by(r.member_id)
        .subquery("member_steps")
    )


def _sum_steps(ms):
    return [func.count().label("assigned")] + [
        func.coalesce(func.sum(ms.c[k]), 0).label(k) for k, _ in FUNNEL_STEPS[1:]
    ]


def funnel_counts(session: Session, scope: Scope, month: date, last: date | None = None) -> dict[str, int]:
    """Members at each funnel step for the members assigned in ``month`` (to ``last`` month, inclusive)."""
    ms = _member_steps(scope, month, last or month)
    row = session.execute(select(*_sum_steps(ms))).mappings().one()
    return {k: int(row[k] or 0) for k, _ in FUNNEL_STEPS}


def funnel_by_month(session: Session, scope: Scope, first: date, last: date) -> dict[date, dict[str, int]]:
    """The funnel of each assignment month from first to last, in one statement."""
    _analytic(session)
    r = Referral.__table__.c
    batch = ReferralBatch.__table__
    flags = _step_flags()
    asked = func.coalesce(r.requested_at, r.created_at)
    # the month as text 'YYYY-MM' the same way on both databases
    month_key = func.coalesce(func.substr(func.cast(batch.c.contract_month, _text()), 1, 7),
                              func.substr(func.cast(day_of(asked), _text()), 1, 7))
    per_member = (
        select(month_key.label("m"), r.member_id.label("member_id"),
               *[func.max(v).label(k) for k, v in flags.items()])
        .select_from(Referral.__table__.outerjoin(batch, batch.c.id == r.batch_id))
        .where(_cohort(scope, first, last))
        .group_by(month_key, r.member_id)
        .subquery()
    )
    rows = session.execute(select(per_member.c.m, *_sum_steps(per_member)).group_by(per_member.c.m)).mappings()
    out: dict[date, dict[str, int]] = {m: {k: 0 for k, _ in FUNNEL_STEPS} for m in rules.months_between(first, last)}
    for row in rows:
        m = rules.parse_month(row["m"])
        if m in out:
            out[m] = {k: int(row[k] or 0) for k, _ in FUNNEL_STEPS}
    return out


def _text():
    from sqlalchemy import String

    return String()


def _race_ethnicity():
    m = Member.__table__.c
    return case((m.ethnicity == "hispanic_or_latino", literal("hispanic_or_latino")),
                else_=func.coalesce(m.race, literal("unknown")))


def _dimension(name: str):
    m = Member.__table__.c
    return {
        "county": func.coalesce(m.county, literal("unknown")),
        "race_ethnicity": _race_ethnicity(),
        "language": func.coalesce(m.preferred_language, literal("unknown")),
        "product_line": m.product_line,
    }[name]


def funnel_strata(session: Session, scope: Scope, month: date, last: date | None = None,
                  dimensions: tuple[str, ...] = tuple(STRATA_DIMENSIONS)) -> list[rules.Cell]:
    """The funnel counts for each value of each dimension (county, race and ethnicity, language, product line)."""
    _analytic(session)
    ms = _member_steps(scope, month, last or month)
    m = Member.__table__
    cells: list[rules.Cell] = []
    for dim in dimensions:
        value = _dimension(dim).label("value")
        stmt = (
            select(value, *_sum_steps(ms))
            .select_from(ms.join(m, m.c.id == ms.c.member_id))
            .group_by(value)
            .order_by(value)
        )
        for row in session.execute(stmt).mappings():
            cells.append(rules.Cell(dimension=dim, value=str(row["value"]),
                                    counts={k: int(row[k] or 0) for k, _ in FUNNEL_STEPS}))
    return cells


# ---- timeliness, loop closure, documentation -----------------------------------------------------


def _median(session: Session, values_select) -> Decimal | None:
    """Median of a one-column select, with window functions (PostgreSQL's percentile_cont is not on SQLite)."""
    v = values_select.subquery("vals")
    ranked = select(
        v.c.v.label("v"),
        func.row_number().over(order_by=v.c.v).label("rn"),
        func.count().over().label("n"),
    ).subquery("ranked")
    stmt = select(func.avg(ranked.c.v)).where(
        ranked.c.rn >= (ranked.c.n + 1) // 2,
        ranked.c.rn <= (ranked.c.n + 2) // 2,
    )
    value = session.execute(stmt).scalar()
    return None if value is None else Decimal(str(round(float(value), 4)))


def timeliness(session: Session, scope: Scope, month: date, as_of: datetime,
               reassessment_days: int = 90) -> dict:
    """Time to first outreach, to service start and to reassessment for the month's cohort (referrals)."""
    _analytic(session)
    r = Referral.__table__.c
    cohort = _cohort(scope, month, month)
    asked = func.coalesce(r.requested_at, r.created_at)

    def within(done, due):
        # due: those whose clock ran out by as_of, or that already happened
        denom = and_(cohort, due.is_not(None), or_(done.is_not(None), due <= as_of))
        numer = and_(denom, done.is_not(None), done <= due)
        row = session.execute(select(
            func.count().filter(denom), func.count().filter(numer),
        )).one()
        return int(row[0]), int(row[1])

    out: dict = {}
    for key, done, due in (("outreach", r.first_outreach_at, r.outreach_due_at),
                           ("service", r.service_started_at, r.service_due_at)):
        d, n = within(done, due)
        out[f"{key}_within_standard"] = rules.Rate(n, d)
        hours = select((hours_between(done, asked) / 24.0).label("v")).where(cohort, done.is_not(None))
        out[f"median_days_to_{key}"] = _median(session, hours)

    # reassessment: the member's first screening after the service started
    s = Screening.__table__.c
    reassessed_at = (
        select(func.min(s.screened_at))
        .where(s.member_id == r.member_id, s.screened_at > r.service_started_at, s.status != "declined")
        .scalar_subquery()
    )
    started = and_(cohort, r.service_started_at.is_not(None))
    base = select(
        r.id.label("id"),
        r.service_started_at.label("started"),
        reassessed_at.label("reassessed"),
    ).where(started).subquery("reassess")
    days = days_between(day_of(base.c.reassessed), day_of(base.c.started))
    due_passed = add_days(day_of(base.c.started), reassessment_days) <= as_of.date()
    denom = or_(base.c.reassessed.is_not(None), due_passed)
    numer = and_(base.c.reassessed.is_not(None), days <= reassessment_days)
    row = session.execute(select(func.count().filter(denom), func.count().filter(numer))).one()
    out["reassessment_within_standard"] = rules.Rate(int(row[1]), int(row[0]))
    out["median_days_to_reassessment"] = _median(
        session, select(days.label("v")).select_from(base).where(base.c.reassessed.is_not(None))
    )
    out["reassessment_days"] = reassessment_days
    return out


def loop_and_documentation(session: Session, scope: Scope, month: date) -> dict[str, rules.Rate]:
    """Loop closure (an outcome reported back) and documentation completeness of closed referrals."""
    r = Referral.__table__.c
    cohort = _cohort(scope, month, month)
    closed = r.status.in_(TERMINAL)
    milestones_ok = case(
        (r.status == "completed", and_(
            r.first_outreach_at.is_not(None), r.contacted_at.is_not(None), r.enrolled_at.is_not(None),
            r.service_started_at.is_not(None), r.business_status.in_(("need-resolved", "need-not-resolved")))),
        (r.status == "failed", or_(r.business_status.is_not(None), r.status_reason.is_not(None))),
        else_=r.status_reason.is_not(None),  # rejected / cancelled: the reason is the documentation
    )
    complete = and_(closed, r.closed_at.is_not(None), milestones_ok)
    row = session.execute(select(
        func.count().filter(cohort),
        func.count().filter(and_(cohort, closed)),
        func.count().filter(and_(cohort, complete)),
    )).one()
    return {
        "loop_closure_rate": rules.Rate(int(row[1]), int(row[0])),
        "documentation_completeness": rules.Rate(int(row[2]), int(row[1])),
    }


def served_select(contract_id: int, first_day: date, last_day: date, partner_org_id: int | None = None):
    """Member ids served under the contract from first_day to last_day: the work attributed to it
    (contracts/attributing.py) that really happened: services recorded (not voided), care episodes
    started, pathways opened, confirmed engagements and flexible-fund disbursements, by their own dates.
    The scorecard, the renewal review, the JOC meeting and the settlement facts all count from here."""
    from socialcare.delivery.models import (
        CareEpisode,
        Engagement,
        FlexFundDisbursement,
        PathwayInstance,
        ServiceRecord,
    )

    parts = []
    for model, day, extra in ((ServiceRecord, "service_date", ("status", "recorded")),
                              (CareEpisode, "start_date", None), (PathwayInstance, "opened_on", None),
                              (Engagement, "engaged_on", None), (FlexFundDisbursement, "disbursed_on", None)):
        t = model.__table__.c
        conds = [t.contract_id == contract_id, t[day] >= first_day, t[day] <= last_day]
        if extra:
            conds.append(t[extra[0]] == extra[1])
        if partner_org_id is not None:
            conds.append(t.organization_id == partner_org_id)
        parts.append(select(t.member_id.label("member_id")).where(*conds))
    from sqlalchemy import union

    return union(*parts).subquery("served")


def members_served(session: Session, contract_id: int, first_day: date, last_day: date,
                   partner_org_id: int | None = None) -> int:
    """How many distinct members the contract served from first_day to last_day (see served_select)."""
    served = served_select(contract_id, first_day, last_day, partner_org_id)
    return int(session.scalar(select(func.count()).select_from(served)) or 0)


def volume(session: Session, scope: Scope, first: date, last: date) -> dict[str, int]:
    """Distinct members assigned, and served, from first to last month (inclusive).

    For a contract, served is the attributed work delivered (members_served); plan-wide, the members
    whose referral's service started."""
    r = Referral.__table__.c
    start, end = _start(first), _start(rules.next_month(last))
    assigned = select(func.count(func.distinct(r.member_id))).where(_cohort(scope, first, last)).scalar_subquery()
    if scope.contract_id is not None:
        served = members_served(session, scope.contract_id, first, rules.next_month(last) - _one_day(),
                                scope.partner_org_id)
        return {"members_served": served, "members_assigned": int(session.scalar(select(assigned)) or 0)}
    started = and_(_referral_filter(scope), r.service_started_at >= start, r.service_started_at < end)
    row = session.execute(select(
        select(func.count(func.distinct(r.member_id))).where(started).scalar_subquery(), assigned,
    )).one()
    return {"members_served": int(row[0]), "members_assigned": int(row[1])}


def _one_day():
    from datetime import timedelta

    return timedelta(days=1)


def latest_month_with_data(session: Session, contract_id: int, through: date) -> date | None:
    """The latest month (first day) with referrals or delivered work attributed to the contract, up to through."""
    from socialcare.delivery.models import ServiceRecord

    r = Referral.__table__.c
    sr = ServiceRecord.__table__.c
    last_ref = session.scalar(select(func.max(func.coalesce(r.requested_at, r.created_at))).where(
        r.contract_id == contract_id, r.status.not_in(NOT_COUNTED), r.parent_id.is_(None),
        func.coalesce(r.requested_at, r.created_at) < _start(rules.next_month(through))))
    last_sr = session.scalar(select(func.max(sr.service_date)).where(
        sr.contract_id == contract_id, sr.status == "recorded", sr.service_date <= through))
    days = [d.date() if isinstance(d, datetime) else d for d in (last_ref, last_sr) if d is not None]
    days = [date.fromisoformat(str(d)[:10]) if isinstance(d, str) else d for d in days]
    return max(days).replace(day=1) if days else None


def submissions(session: Session, contract_id: int, first: date, last: date, as_of: date) -> rules.Rate:
    """Months from first to last whose data was due by as_of: how many were submitted by their due date."""
    t = ReportingSubmission.__table__.c
    due = and_(t.contract_id == contract_id, t.period >= first, t.period <= last, t.due_on <= as_of)
    on_time = and_(due, t.submitted_at.is_not(None), day_of(t.submitted_at) <= t.due_on)
    row = session.execute(select(func.count().filter(due), func.count().filter(on_time))).one()
    return rules.Rate(int(row[1]), int(row[0]))


# ---- HEDIS SNS-E ---------------------------------------------------------------------------------


def _continuously_enrolled(plan_id: int, w: rules.SnsWindow):
    """Member ids enrolled through the window with at most one gap, and no more than 45 days uncovered.

    Spans are clipped to the window; gaps are counted with LAG over each member's spans. A member for
    whom the plan loaded no enrollment spans counts as enrolled (the roster row is the enrollment).
    """
    e = EnrollmentSpan.__table__.c
    m = Member.__table__.c
    ys, ye = w.year_start, w.through
    end = func.coalesce(e.end_date, ye)
    clip_start = case((e.start_date < ys, literal(ys)), else_=e.start_date)
    clip_end = case((end > ye, literal(ye)), else_=end)
    spans = (
        select(e.member_id.label("member_id"), clip_start.label("s"), clip_end.label("e"))
        .join(Member.__table__, m.id == e.member_id)
        .where(m.plan_id == plan_id, e.start_date <= ye, end >= ys)
        .subquery("spans")
    )
    prev_end = func.lag(spans.c.e).over(partition_by=spans.c.member_id, order_by=spans.c.s)
    lagged = select(
        spans.c.member_id, spans.c.s, spans.c.e, prev_end.label("prev_e"),
    ).subquery("lagged")
    inner_gap = and_(lagged.c.prev_e.is_not(None), days_between(lagged.c.s, lagged.c.prev_e) > 1)
    per_member = select(
        lagged.c.member_id.label("member_id"),
        func.min(lagged.c.s).label("first_s"),
        func.max(lagged.c.e).label("last_e"),
        func.sum(days_between(lagged.c.e, lagged.c.s) + 1).label("covered"),
        func.sum(case((inner_gap, 1), else_=0)).label("inner_gaps"),
    ).group_by(lagged.c.member_id).subquery("per_member")
    window_days = (ye - ys).days + 1
    gaps = (per_member.c.inner_gaps
            + case((per_member.c.first_s > ys, 1), else_=0)
            + case((per_member.c.last_e < ye, 1), else_=0))
    enrolled = select(per_member.c.member_id).where(
        gaps <= 1, literal(window_days) - per_member.c.covered <= rules.ENROLLMENT_GAP_DAYS
    )
    no_spans = select(m.id).where(
        m.plan_id == plan_id, ~exists(select(e.id).where(e.member_id == m.id))
    )
    return enrolled.union_all(no_spans)


def _excluded(plan_id: int, w: rules.SnsWindow):
    """Hospice or death in the year; I-SNP or long-term institutional for Medicare members 66 and older."""
    x = MeasureExclusion.__table__.c
    m = Member.__table__.c
    overlaps = and_(x.start_date <= w.through, or_(x.end_date.is_(None), x.end_date >= w.year_start))
    born_by = rules.born_on_or_before_for_age(rules.ISNP_LTI_MIN_AGE, w.age_as_of)
    return (
        select(x.member_id)
        .join(Member.__table__, m.id == x.member_id)
        .where(x.plan_id == plan_id, overlaps, or_(
            x.kind.in_(("hospice", "death")),
            and_(x.kind.in_(("isnp", "lti")), m.product_line.in_(MEDICARE_LINES), m.birth_date <= born_by),
        ))
    )


def _age_band_expr(w: rules.SnsWindow):
    m = Member.__table__.c
    b18 = rules.born_on_or_before_for_age(18, w.age_as_of)
    b65 = rules.born_on_or_before_for_age(65, w.age_as_of)
    return case((m.birth_date > b18, literal("0-17")), (m.birth_date > b65, literal("18-64")), else_=literal("65+"))


def sns_e(session: Session, scope: Scope, month: date, group_by: str | None = None) -> dict:
    """HEDIS SNS-E: six rates (screening and intervention for food, housing, transportation).

    Returns {domain: {"screening": Rate, "intervention": Rate}} and, with group_by ('product_line' or
    'age_band'), the same per stratum under "strata". The population is the plan's members (or, for a
    contract, the members with a referral on it), enrolled through the year to date, not excluded,
    and born by the end of the window.
    """
    w = rules.SnsWindow.for_month(month)
    m = Member.__table__.c
    s = Screening.__table__.c
    a = ScreeningAnswer.__table__.c
    r = Referral.__table__.c

    population = [
        m.plan_id == scope.plan_id,
        m.birth_date <= w.through,
        m.id.in_(_continuously_enrolled(scope.plan_id, w)),
        m.id.not_in(_excluded(scope.plan_id, w)),
    ]
    if scope.contract_id is not None:
        on_contract = [r.contract_id == scope.contract_id, r.status.not_in(NOT_COUNTED)]
        if scope.partner_org_id is not None:
            on_contract.append(r.owner_org_id == scope.partner_org_id)
        population.append(m.id.in_(select(r.member_id).where(*on_contract)))

    screen_day = day_of(s.screened_at)
    answers = (
        select(s.member_id.label("member_id"), a.domain.label("domain"), screen_day.label("day"),
               a.positive.label("positive"))
        .join(ScreeningAnswer.__table__, a.screening_id == s.id)
        .where(s.plan_id == scope.plan_id, s.status != "declined", a.answer_code.is_not(None),
               a.domain.in_(rules.SNS_DOMAINS), screen_day >= w.year_start)
        .subquery("answers")
    )
    per_member_domain = (
        select(
            answers.c.member_id, answers.c.domain,
            func.max(case((answers.c.day <= w.screen_last, 1), else_=0)).label("screened"),
            func.min(case((and_(answers.c.positive.is_(True), answers.c.day <= w.positive_last),
                           answers.c.day), else_=null())).label("first_positive"),
        )
        .group_by(answers.c.member_id, answers.c.domain)
        .subquery("pmd")
    )
    asked_day = day_of(func.coalesce(r.requested_at, r.created_at))
    intervened = exists(
        select(r.id).where(
            r.member_id == per_member_domain.c.member_id,
            r.need_domain == per_member_domain.c.domain,
            r.status.not_in(NOT_COUNTED),
            asked_day >= per_member_domain.c.first_positive,
            asked_day <= add_days(per_member_domain.c.first_positive, rules.INTERVENTION_DAYS),
        )
    )
    facts = select(
        per_member_domain.c.member_id, per_member_domain.c.domain, per_member_domain.c.screened,
        case((per_member_domain.c.first_positive.is_not(None), 1), else_=0).label("positive"),
        case((and_(per_member_domain.c.first_positive.is_not(None), intervened), 1), else_=0).label("intervened"),
    ).subquery("facts")

    # one row per member (the three domains side by side), so the population join stays one-to-one
    pivot = [facts.c.member_id]
    for d in rules.SNS_DOMAINS:
        is_d = facts.c.domain == d
        pivot += [func.max(case((is_d, facts.c[k]), else_=0)).label(f"{d}_{k}")
                  for k in ("screened", "positive", "intervened")]
    by_member = select(*pivot).group_by(facts.c.member_id).subquery("by_member")

    stratum = {"product_line": m.product_line, "age_band": _age_band_expr(w), None: literal("all")}[group_by]
    pop = select(m.id.label("member_id"), stratum.label("stratum")).where(*population).subquery("pop")
    cols = [pop.c.stratum, func.count().label("members")]
    for d in rules.SNS_DOMAINS:
        cols += [func.coalesce(func.sum(by_member.c[f"{d}_{k}"]), 0).label(f"{d}_{k}")
                 for k in ("screened", "positive", "intervened")]
    stmt = (
        select(*cols)
        .select_from(pop.outerjoin(by_member, by_member.c.member_id == pop.c.member_id))
        .group_by(pop.c.stratum)
        .order_by(pop.c.stratum)
    )
    _analytic(session)
    rows = session.execute(stmt).mappings().all()

    def rates(row) -> dict:
        members = int(row["members"])
        return {d: {"screening": rules.Rate(int(row[f"{d}_screened"]), members),
                    "intervention": rules.Rate(int(row[f"{d}_intervened"]), int(row[f"{d}_positive"]))}
                for d in rules.SNS_DOMAINS}

    total = {k: 0 for k in ("members", *[f"{d}_{x}" for d in rules.SNS_DOMAINS
                                          for x in ("screened", "positive", "intervened")])}
    for row in rows:
        for k in total:
            total[k] += int(row[k])
    out = {"window": w, "members": total["members"], "rates": rates(total)}
    if group_by:
        out["strata"] = {str(row["stratum"]): {"members": int(row["members"]), "rates": rates(row)} for row in rows}
    return out


__all__ = [
    "Scope", "funnel_counts", "funnel_by_month", "funnel_strata", "timeliness", "loop_and_documentation",
    "volume", "submissions", "sns_e", "Integer",
]
