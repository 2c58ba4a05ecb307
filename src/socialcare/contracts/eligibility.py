"""Population rule -> SQL, and prioritization when the volume is capped. All in the database.

The eligible population (seed 002_9f9b125fbb7ccb6a.txt, "Population Definition") is a rule tree over
the plan's member roster: geography, age, clinical conditions (ICD-10-CM prefixes), social needs (from
screenings), health risk, insurance type (product line), primary care provider, combined with and/or.
``compile_rule`` turns it into ONE SQLAlchemy boolean expression over ``member`` (conditions and
screenings as correlated EXISTS), so evaluation is a single scan on SQLite and PostgreSQL alike; the
counts of members failing each criterion come from the same scan (SUM(CASE ...)).

"When the service population is capped, the contract should define how eligible members are
prioritized to ensure equity": ``selection_select`` ranks the eligible members by the declared
criteria with ROW_NUMBER(); with proportional strata it first allocates the cap across strata by
largest remainder (each stratum keeps its share of the eligible population), then takes the top
members of each stratum. Ties break on member id so both databases give the same list.

Every criterion is null-safe: a member with no risk score fails "risk score >= 2", rather than the
expression being NULL and behaving differently under NOT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from socialcare.contracts import schemas
from socialcare.contracts.rules import add_months
from socialcare.core.errors import InvalidInput, Problem
from socialcare.kit.codes import NEED_DOMAINS, PRODUCT_LINE_LABELS
from socialcare.members.models import EnrollmentSpan, Member, MemberCondition

SCREENING_UNAVAILABLE = (
    "Screening data not available: the social need criterion needs the screening domain's results, "
    "which this installation does not have yet."
)


@dataclass(frozen=True)
class Node:
    """One node of the rule tree (criterion or group), its label and its SQL expression."""

    key: str  # "1", "1.2"...
    depth: int
    label: str
    kind: str
    expr: ColumnElement[bool]


def _icd_prefix(p: str) -> str:
    p = p.strip().upper()
    if len(p) > 3 and "." not in p:  # N183 -> N18.3: codes are stored with their dot
        p = p[:3] + "." + p[3:]
    return p


def _county(c: str) -> str:
    c = c.strip()
    return c[: -len(" county")] if c.lower().endswith(" county") else c


def screening_available() -> bool:
    try:
        from socialcare.screening import eligibility  # noqa: F401  # type: ignore[attr-defined]
    except ImportError:
        return False
    return True


def _social_need_expr(c: schemas.SocialNeed, as_of: date) -> ColumnElement[bool]:
    try:
        from socialcare.screening import eligibility as screening_eligibility  # type: ignore[attr-defined]
    except ImportError:
        raise InvalidInput(SCREENING_UNAVAILABLE, [Problem(SCREENING_UNAVAILABLE, field="social_need")]) from None
    since = as_of - timedelta(days=c.within_days) if c.within_days else None
    return screening_eligibility.member_has_need(Member.id, [d.value for d in c.need_domains], since, as_of)


def _leaf(c, as_of: date) -> tuple[str, ColumnElement[bool]]:
    if isinstance(c, schemas.Geography):
        parts, label = [], []
        if c.counties:
            parts.append(and_(Member.county.is_not(None),
                              func.lower(Member.county).in_([_county(x).lower() for x in c.counties])))
            label.append("county in " + ", ".join(_county(x) for x in c.counties))
        five = [z for z in c.zips if len(z) == 5]
        three = [z for z in c.zips if len(z) == 3]
        if five:
            parts.append(and_(Member.zip.is_not(None), func.substr(Member.zip, 1, 5).in_(five)))
        if three:
            parts.append(and_(Member.zip.is_not(None), func.substr(Member.zip, 1, 3).in_(three)))
        if c.zips:
            label.append("zip in " + ", ".join(z if len(z) == 5 else z + "xx" for z in c.zips))
        if not parts:
            raise InvalidInput("Empty geography", [Problem("name at least one county or zip", field="geography")])
        return "Lives in " + " or ".join(label), or_(*parts)
    if isinstance(c, schemas.Age):
        parts, label = [], ""
        if c.min_age is not None:  # age >= min  <=>  born on or before as_of - min years
            parts.append(Member.birth_date <= add_months(as_of, -12 * c.min_age))
        if c.max_age is not None:  # age <= max  <=>  born after as_of - (max + 1) years
            parts.append(Member.birth_date > add_months(as_of, -12 * (c.max_age + 1)))
        if c.min_age is not None and c.max_age is not None:
            label = f"Age {c.min_age} to {c.max_age}"
        elif c.min_age is not None:
            label = f"Age {c.min_age} or older"
        elif c.max_age is not None:
            label = f"Age {c.max_age} or younger"
        else:
            raise InvalidInput("Empty age criterion", [Problem("give a minimum or maximum age", field="age")])
        return label, and_(Member.birth_date.is_not(None), *parts)
    if isinstance(c, schemas.ClinicalCondition):
        prefixes = [_icd_prefix(p) for p in c.icd10_prefixes]
        cond = exists().where(
            MemberCondition.member_id == Member.id,
            or_(*[MemberCondition.icd10_code.like(p + "%") for p in prefixes]),
        )
        return "Has a condition coded " + ", ".join(p + "*" for p in prefixes), cond
    if isinstance(c, schemas.SocialNeed):
        labels = ", ".join(NEED_DOMAINS[d].label.lower() for d in c.need_domains)
        return f"Screened positive for {labels}", _social_need_expr(c, as_of)
    if isinstance(c, schemas.HealthRisk):
        parts = [Member.risk_score.is_not(None)]
        label = []
        if c.min_score is not None:
            parts.append(Member.risk_score >= c.min_score)
            label.append(f"at least {c.min_score}")
        if c.max_score is not None:
            parts.append(Member.risk_score <= c.max_score)
            label.append(f"at most {c.max_score}")
        if len(parts) == 1:
            raise InvalidInput("Empty risk criterion", [Problem("give a minimum or maximum score", field="risk")])
        return "Risk score " + " and ".join(label), and_(*parts)
    if isinstance(c, schemas.InsuranceType):
        names = ", ".join(PRODUCT_LINE_LABELS[p] for p in c.product_lines)
        return f"Product line {names}", Member.product_line.in_([p.value for p in c.product_lines])
    if isinstance(c, schemas.PrimaryCareProvider):
        return "PCP NPI in " + ", ".join(c.npis), and_(Member.pcp_npi.is_not(None), Member.pcp_npi.in_(c.npis))
    raise TypeError(f"unknown criterion {c!r}")  # pragma: no cover - the schema forbids it


def _walk(rule: schemas.RuleGroup, leaf_value, as_of: date) -> tuple[ColumnElement[bool], list[Node]]:
    """Combine the tree with and/or; ``leaf_value(key, expr)`` gives the expression used for each leaf."""
    nodes: list[Node] = []

    def walk(node, key: str, depth: int) -> ColumnElement[bool]:
        if isinstance(node, schemas.RuleGroup):
            children = [walk(ch, f"{key}.{i}" if key else str(i), depth + 1) for i, ch in enumerate(node.rules, 1)]
            expr = and_(*children) if node.op == "and" else or_(*children)
            if key:  # the root is reported as "eligible"
                label = node.label or ("All of" if node.op == "and" else "Any of")
                nodes.append(Node(key, depth, label, "group", expr))
            return expr
        label, expr = _leaf(node, as_of)
        if node.negate:
            label, expr = "Not: " + label[0].lower() + label[1:], not_(expr)
        value = leaf_value(key, expr)
        nodes.append(Node(key, depth, label, node.kind, value))
        return value

    expr = walk(rule, "", 0)
    nodes.sort(key=lambda n: [int(x) for x in n.key.split(".")])
    return expr, nodes


def compile_rule(rule: schemas.RuleGroup, as_of: date) -> tuple[ColumnElement[bool], list[Node]]:
    """The rule as one boolean expression over Member, and every node (for failed-criterion counts)."""
    return _walk(rule, lambda _key, expr: expr, as_of)


def enrolled_on(as_of: date) -> ColumnElement[bool]:
    """The member has an enrollment span covering the date (members who left the plan are not eligible).

    A correlated EXISTS, not IN (subquery): PostgreSQL hashes an IN set only when it fits work_mem and
    otherwise rescans it for every member, while EXISTS is an index probe on both databases."""
    return exists().where(
        EnrollmentSpan.member_id == Member.id,
        EnrollmentSpan.start_date <= as_of,
        or_(EnrollmentSpan.end_date.is_(None), EnrollmentSpan.end_date >= as_of),
    )


def eligible_where(plan_id: int, rule: schemas.RuleGroup | None, as_of: date) -> ColumnElement[bool]:
    expr = compile_rule(rule, as_of)[0] if rule is not None else true()
    # cheap column tests first, the enrollment EXISTS last
    return and_(Member.plan_id == plan_id, expr, enrolled_on(as_of))


def _flag(expr: ColumnElement[bool]):
    return case((expr, 1), else_=0)


def counts_select(plan_id: int, rule: schemas.RuleGroup | None, as_of: date) -> tuple[Select, list[Node]]:
    """One scan of the plan's roster: roster size, enrolled, eligible, and members failing each node.

    Each criterion is evaluated once per member into a 0/1 flag (a MATERIALIZED CTE, so neither
    SQLite's flattener nor PostgreSQL's inliner re-evaluates the EXISTS subqueries for every count);
    groups and the whole rule are then combined from the flags.
    """
    leaves: dict[str, ColumnElement[bool]] = {}

    def collect(key, expr):
        leaves[key] = expr
        return expr

    if rule is not None:
        _walk(rule, collect, as_of)
    # Enrollment as a join with the set of enrolled ids (one hash or index build), not a probe per member.
    enrolled_ids = (
        select(EnrollmentSpan.member_id)
        .where(EnrollmentSpan.start_date <= as_of,
               or_(EnrollmentSpan.end_date.is_(None), EnrollmentSpan.end_date >= as_of))
        .distinct()
        .subquery("enrolled_ids")
    )
    flag_cols = [case((enrolled_ids.c.member_id.is_not(None), 1), else_=0).label("enrolled")]
    flag_cols += [_flag(expr).label(f"f_{key.replace('.', '_')}") for key, expr in leaves.items()]
    flags = (
        select(*flag_cols)
        .select_from(Member.__table__.outerjoin(enrolled_ids, enrolled_ids.c.member_id == Member.id))
        .where(Member.plan_id == plan_id)
        .cte("criterion_flags").prefix_with("MATERIALIZED")
    )
    if rule is None:
        expr, nodes = true(), []
    else:
        expr, nodes = _walk(rule, lambda key, _e: flags.c[f"f_{key.replace('.', '_')}"] == 1, as_of)
    enrolled = flags.c.enrolled == 1
    cols = [
        func.count().label("roster"),
        func.coalesce(func.sum(flags.c.enrolled), 0).label("enrolled"),
        func.coalesce(func.sum(_flag(and_(enrolled, expr))), 0).label("eligible"),
    ]
    # Failures are counted among enrolled members: they are the ones the rule decides about.
    cols += [
        func.coalesce(func.sum(_flag(and_(enrolled, not_(n.expr)))), 0).label(f"n{i}")
        for i, n in enumerate(nodes)
    ]
    return select(*cols).select_from(flags), nodes


# ---- prioritization ----------------------------------------------------------------------------

UNAVAILABLE_RANKS = {
    "unmet_needs": "Ranking by unmet needs needs the screening domain's results, which are not available yet.",
    "recent_screening": "Ranking by recent screening needs the screening domain's results, which are not available yet.",
}


# every dimension a selection may be stratified by; the eligible-versus-selected report covers them all
STRATUM_DIMENSIONS = ("county", "race_ethnicity", "language", "product_line")


def stratum_expr(name: str):
    if name == "county":
        return func.coalesce(Member.county, "unknown")
    if name == "race_ethnicity":
        # Hispanic or Latino members form one stratum whatever their race (the usual reporting rule).
        return case(
            (Member.ethnicity == "hispanic_or_latino", literal("hispanic_or_latino")),
            else_=func.coalesce(Member.race, "unknown"),
        )
    if name == "language":
        return func.coalesce(Member.preferred_language, "unknown")
    if name == "product_line":
        return Member.product_line
    raise ValueError(name)


def _rank_expr(key: str):
    if key == "risk_score":
        return Member.risk_score
    if key == "condition_count":
        return (
            select(func.count()).select_from(MemberCondition).where(MemberCondition.member_id == Member.id)
            .correlate(Member).scalar_subquery()
        )
    if key == "age":
        # older first when descending: age order is the reverse of birth date order
        return Member.birth_date
    if key in UNAVAILABLE_RANKS:
        try:
            from socialcare.screening import eligibility as screening_eligibility  # type: ignore[attr-defined]
        except ImportError:
            raise InvalidInput(UNAVAILABLE_RANKS[key], [Problem(UNAVAILABLE_RANKS[key], field="rank_by")]) from None
        return screening_eligibility.rank_expr(key, Member.id)
    raise ValueError(key)


def _order_by(ranked, rank_by: list[schemas.RankCriterion]):
    out = []
    for i, r in enumerate(rank_by):
        col = ranked.c[f"r{i}"]
        # "age desc" means oldest first = earliest birth date first
        descending = (r.direction == "desc") != (r.key == "age")
        out.append(col.desc().nulls_last() if descending else col.asc().nulls_last())
    out.append(ranked.c.member_id.asc())
    return out


def selection_select(
    plan_id: int,
    rule: schemas.RuleGroup | None,
    as_of: date,
    *,
    cap: int | None,
    rank_by: list[schemas.RankCriterion],
    strata: list[str],
) -> Select:
    """SELECT member_id, rank, stratum of the selected members (capped and prioritized), in SQL.

    Without proportional strata: ROW_NUMBER() over the ranking, keep rank <= cap.
    With strata: n_s eligible per stratum, N in all; each stratum gets floor(cap * n_s / N) places, and
    the places left go one each to the strata with the largest remainders (ties: larger stratum, then
    name); within each stratum the best-ranked members fill its places; the final rank orders the
    selection by the ranking again.
    """
    stratum_cols = [stratum_expr(s).label(f"s_{s}") for s in strata]
    rank_cols = [_rank_expr(r.key).label(f"r{i}") for i, r in enumerate(rank_by)]
    elig = (
        select(Member.id.label("member_id"), *stratum_cols, *rank_cols)
        .where(eligible_where(plan_id, rule, as_of))
        .cte("eligible")
    )
    if strata:
        stratum_text = elig.c[f"s_{strata[0]}"]
        for s in strata[1:]:
            stratum_text = stratum_text + literal(" | ") + elig.c[f"s_{s}"]
    else:
        stratum_text = literal(None)

    if cap is None or not strata:
        ranked = select(
            elig.c.member_id,
            stratum_text.label("stratum"),
            func.row_number().over(order_by=_order_by(elig, rank_by)).label("rank"),
        ).subquery("ranked")
        stmt = select(ranked.c.member_id, ranked.c.rank, ranked.c.stratum)
        if cap is not None:
            stmt = stmt.where(ranked.c.rank <= cap)
        return stmt.order_by(ranked.c.rank)

    s_cols = [elig.c[f"s_{s}"] for s in strata]
    sizes = select(*s_cols, func.count().label("n")).group_by(*s_cols).cte("stratum_size")
    total = select(func.count()).select_from(elig).scalar_subquery()
    size_cols = [sizes.c[f"s_{s}"] for s in strata]
    base = select(
        *size_cols,
        sizes.c.n,
        ((literal(cap) * sizes.c.n) // total).label("base"),
        ((literal(cap) * sizes.c.n) % total).label("remainder"),
    ).cte("stratum_base")
    base_cols = [base.c[f"s_{s}"] for s in strata]
    ordered = select(
        *base_cols,
        base.c.base,
        func.row_number().over(order_by=[base.c.remainder.desc(), base.c.n.desc(), *[c.asc() for c in base_cols]])
        .label("rr"),
        func.sum(base.c.base).over().label("base_total"),
    ).cte("stratum_order")
    quota = select(
        *[ordered.c[f"s_{s}"] for s in strata],
        (ordered.c.base + case((ordered.c.rr <= literal(cap) - ordered.c.base_total, 1), else_=0))
        .label("quota"),
    ).cte("stratum_quota")

    within = select(
        elig,
        stratum_text.label("stratum"),
        func.row_number().over(partition_by=s_cols, order_by=_order_by(elig, rank_by)).label("rn"),
    ).subquery("within_stratum")
    join_on = and_(*[within.c[f"s_{s}"] == quota.c[f"s_{s}"] for s in strata])
    kept = (
        select(within)
        .join(quota, join_on)
        .where(within.c.rn <= quota.c.quota)
        .subquery("kept")
    )
    final = select(
        kept.c.member_id,
        kept.c.stratum,
        func.row_number().over(order_by=_order_by(kept, rank_by)).label("rank"),
    ).subquery("final")
    return select(final.c.member_id, final.c.rank, final.c.stratum).order_by(final.c.rank)


def strata_report_select(plan_id: int, rule: schemas.RuleGroup | None, as_of: date, selected_ids_table) -> Select:
    """Eligible vs selected by every stratum dimension (STRATUM_DIMENSIONS), one scan (rolled up per
    dimension by the caller)."""
    cols = [stratum_expr(s).label(s) for s in STRATUM_DIMENSIONS]
    sel = selected_ids_table
    return (
        select(*cols, func.count().label("eligible"), func.count(sel.c.member_id).label("selected"))
        .select_from(Member)
        .outerjoin(sel, sel.c.member_id == Member.id)
        .where(eligible_where(plan_id, rule, as_of))
        .group_by(*cols)
    )


__all__ = [
    "Node", "compile_rule", "counts_select", "eligible_where", "enrolled_on", "selection_select",
    "strata_report_select", "stratum_expr", "SCREENING_UNAVAILABLE", "STRATUM_DIMENSIONS",
]
