"""What the ledger pages and the API show of a stored statement (no database access)."""

from __future__ import annotations

from decimal import Decimal

from socialcare.core.money import fmt_usd
from socialcare.payments import lifecycle as lc
from socialcare.payments.models import Statement


def summary(st: Statement, paid: Decimal | None = None) -> dict:
    return {
        "id": st.id, "contract_id": st.contract_id, "kind": st.kind, "adjusts_id": st.adjusts_id,
        "period": st.period_label, "period_start": st.period_start.isoformat(), "period_end": st.period_end.isoformat(),
        "status": st.status, "status_label": lc.LABELS.get(st.status, st.status), "total": str(st.total),
        "reported_total": str(st.reported_total), "paid": None if paid is None else str(paid),
        "by_mlr": st.by_mlr, "payment_model": st.payment_model, "billing_mode": st.billing_mode,
        "contract_version": st.contract_version, "terms_sha256": st.terms_sha256, "facts_sha256": st.facts_sha256,
        "created_by": st.created_by, "created_at": st.created_at.isoformat() if st.created_at else None,
        "reason": st.reason,
    }


def detail(st: Statement, paid: Decimal) -> dict:
    return {**summary(st, paid), "inputs": st.inputs, "notes": st.notes, "carried_forward": st.carry,
            "lines": [{"term_id": ln.term_id, "model": ln.model, "component": ln.component,
                       "description": ln.description, "formula": ln.formula, "inputs": ln.inputs,
                       "amount": str(ln.amount), "mlr": ln.mlr, "status": "paid" if ln.paid else "reported_only",
                       "month": ln.month, "service_code": ln.service_code, "units": ln.units, "rate": ln.rate}
                      for ln in st.lines],
            "events": [{"action": e.action, "from": e.from_status, "to": e.to_status, "note": e.note,
                        "amount": None if e.amount is None else str(e.amount),
                        "paid_on": e.paid_on.isoformat() if e.paid_on else None, "reference": e.reference,
                        "by": e.by_user, "at": e.at.isoformat() if e.at else None} for e in st.events]}


def actions_for(st: Statement, side: str | None, can_settle: bool) -> list[tuple[str, str]]:
    """(action, label) the viewer may take now."""
    out = []
    for action, (who, froms, _to) in lc.ACTIONS.items():
        if st.status not in froms or side is None:
            continue
        if who != "either" and who != side:
            continue
        if side == "payer" and not can_settle:
            continue
        if action == "invoice" and st.billing_mode == "claims" or action == "submit_claims" and st.billing_mode != "claims":
            continue
        out.append((action, lc.ACTION_LABELS[action]))
    return out


def pdf_html(st: Statement, paid: Decimal, parties: tuple[str, str]) -> str:
    from html import escape

    rows = "".join(
        f"<tr><td>{escape(ln.term_id)}</td><td>{escape(ln.component)}{' (' + ln.month + ')' if ln.month else ''}</td>"
        f"<td>{escape(ln.formula)}</td><td style='text-align:right'>{fmt_usd(ln.amount)}</td>"
        f"<td>{'' if ln.paid else 'reported only'}</td></tr>" for ln in st.lines)
    kind = "Adjustment" if st.kind == "adjustment" else "Invoice"
    return f"""<html><head><meta charset="utf-8"><style>
body{{font-family:sans-serif;font-size:10pt}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ccc;padding:3px;vertical-align:top}} th{{text-align:left}}</style></head><body>
<h1>{kind} {st.id}: {escape(st.contract.name if st.contract else '')}</h1>
<p>From {escape(parties[1])} to {escape(parties[0])}. Period {escape(st.period_label)} ({st.period_start} to
{st.period_end}). Contract version {st.contract_version}. Status: {escape(lc.LABELS.get(st.status, st.status))}.</p>
{f'<p>Adjusts statement {st.adjusts_id}: {escape(st.reason)}</p>' if st.adjusts_id else ''}
<table><thead><tr><th>Term</th><th>Component</th><th>Formula</th><th>Amount</th><th></th></tr></thead>
<tbody>{rows}</tbody></table>
<p><strong>Total due: {fmt_usd(st.total)}</strong> · paid {fmt_usd(paid)} · outstanding {fmt_usd(abs(st.total) - paid)}</p>
<p style="font-size:8pt">Terms fingerprint {st.terms_sha256}; facts fingerprint {st.facts_sha256}.</p>
</body></html>"""
