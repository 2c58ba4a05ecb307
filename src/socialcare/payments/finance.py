"""The finance and MLR view: amounts paid over time by contract, payment model and MLR category
(medical, quality improvement, administrative), with in-lieu-of-services and section 1115 waiver
spending marked. A payment is allocated to a statement's paid lines in proportion to their amounts
(cents by largest remainder, so the parts add up to the payment). Exportable as CSV; an Altair chart.
Only statements the viewer is a party to are counted."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.money import ZERO, cents
from socialcare.payments import repository as repo
from socialcare.payments.models import Statement, StatementEvent, StatementLine
from socialcare.security.principal import Principal

MLR_LABELS = {"medical": "Medical (incurred claims)", "quality_improvement": "Quality improvement",
              "administrative": "Administrative"}
AUTHORITY_LABELS = {"": "", "in_lieu_of_services": "in lieu of services", "section_1115_waiver": "1115 waiver"}


def allocate(amount: Decimal, weights: list[tuple[tuple, Decimal]]) -> list[tuple[tuple, Decimal]]:
    """Split ``amount`` over keys in proportion to their weights, to the cent, adding up exactly."""
    total = sum((w for _, w in weights), ZERO)
    if not weights or total == 0:
        return []
    raw = [(k, amount * w / total) for k, w in weights]
    out = [(k, cents(v) if v >= 0 else -cents(-v)) for k, v in raw]
    rest = amount - sum((v for _, v in out), ZERO)
    if rest:
        i = max(range(len(out)), key=lambda j: abs(raw[j][1]))
        out[i] = (out[i][0], out[i][1] + rest)
    return out


def paid_over_time(session: Session, principal: Principal, start: date | None = None,
                   end: date | None = None) -> list[dict]:
    """One row per month paid, contract, model, MLR category and authority."""
    principal.require("payments:ledger")
    q = (select(StatementEvent.statement_id, StatementEvent.amount, StatementEvent.paid_on, Statement.contract_id,
                Statement.total)
         .join(Statement, Statement.id == StatementEvent.statement_id)
         .where(StatementEvent.action == "payment", repo.visible(principal)))
    if start:
        q = q.where(StatementEvent.paid_on >= start)
    if end:
        q = q.where(StatementEvent.paid_on <= end)
    payments = session.execute(q).all()
    ids = sorted({p[0] for p in payments})
    weights: dict[int, list[tuple[tuple, Decimal]]] = defaultdict(list)
    for i in range(0, len(ids), 1000):
        acc: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
        for sid, model, mlr, authority, amount in session.execute(
                select(StatementLine.statement_id, StatementLine.model, StatementLine.mlr, StatementLine.authority,
                       StatementLine.amount)
                .where(StatementLine.statement_id.in_(ids[i:i + 1000]), StatementLine.paid)):
            acc[(sid, model, mlr, authority or "")] += amount
        for (sid, model, mlr, authority), amount in acc.items():
            weights[sid].append(((model, mlr, authority), amount))
    names = _names(session, {p[3] for p in payments})
    rows: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for sid, amount, paid_on, contract_id, total in payments:
        signed = amount if total >= 0 else -amount
        for (model, mlr, authority), part in allocate(signed, sorted(weights[sid])):
            rows[(paid_on.strftime("%Y-%m"), contract_id, model, mlr, authority)] += part
    return [{"month": m, "contract_id": cid, "contract": names.get(cid, str(cid)), "model": model, "mlr": mlr,
             "authority": authority, "amount": amount}
            for (m, cid, model, mlr, authority), amount in sorted(rows.items(), key=lambda kv: kv[0])]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    from socialcare.contracts.models import Contract

    return dict(session.execute(select(Contract.id, Contract.name).where(Contract.id.in_(ids))).all()) if ids else {}


def totals_by_mlr(rows: list[dict]) -> dict[str, Decimal]:
    out = {k: ZERO for k in MLR_LABELS}
    for r in rows:
        out[r["mlr"]] = out.get(r["mlr"], ZERO) + r["amount"]
    return out


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["month", "contract_id", "contract", "payment_model", "mlr_category", "authority", "amount_paid"])
    for r in rows:
        w.writerow([r["month"], r["contract_id"], r["contract"], r["model"], r["mlr"], r["authority"],
                    f"{r['amount']:.2f}"])
    return out.getvalue()


def chart_spec(rows: list[dict]) -> dict:
    """A stacked bar per month by MLR category (Altair / Vega-Lite)."""
    import altair as alt

    data = [{"month": r["month"] + "-01", "category": MLR_LABELS.get(r["mlr"], r["mlr"]),
             "amount": float(r["amount"])} for r in rows]  # drawing only; the figures stay Decimal
    chart = alt.Chart(alt.Data(values=data)).mark_bar().encode(
        x=alt.X("yearmonth(month):O", title=None),
        y=alt.Y("sum(amount):Q", title="paid (USD)"),
        color=alt.Color("category:N", legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["yearmonth(month):O", "category:N", alt.Tooltip("sum(amount):Q", format="$,.2f")],
    ).properties(width=560, height=240, title="Paid by month and MLR category")
    return chart.configure(font="DejaVu Sans").configure_view(stroke=None).to_dict()


def chart_svg(rows: list[dict]) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(json.dumps(chart_spec(rows)))
