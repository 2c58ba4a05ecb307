"""The meeting's follow-up: notes and scorecard as one report, HTML and PDF (WeasyPrint).

The report is what the template's "Maintaining follow-up" sends to the core team and those not in
attendance, so it is always the shared view: small cells suppressed, no plan-internal notes, no
escalation free text (category, severity and status only), and the member story as checked.
Charts are embedded as PNG data URIs, so the HTML file and the PDF stand alone.
"""

from __future__ import annotations

from markupsafe import Markup
from sqlalchemy.orm import Session

from socialcare.joc import service
from socialcare.measures import charts
from socialcare.measures import rules as mrules
from socialcare.measures import service as measures
from socialcare.measures.definitions import STRATA_DIMENSIONS
from socialcare.partnership.workspace import joc_context as partnership_context
from socialcare.referrals.rules import ESCALATION_CATEGORIES
from socialcare.security.principal import Principal
from socialcare.web.templating import env


def report_context(session: Session, principal: Principal, meeting_id: int) -> dict:
    a = service.agenda(session, principal, meeting_id)
    card = measures.shareable(a.meeting.scorecard) if a.meeting.scorecard else None
    chart_imgs = {}
    if card:
        chart_imgs = {name: Markup(f'<img alt="{name} chart" src="{uri}">')
                      for name, uri in charts.render_all(card, fmt="png").items()}
    return {
        "a": a, "card": card, "chart_imgs": chart_imgs, "charts": chart_imgs,
        "strata": measures.strata_rates(card) if card else [],
        "strata_dimensions": STRATA_DIMENSIONS,
        "month_label": mrules.month_label(a.meeting.month),
        "escalation_labels": ESCALATION_CATEGORIES,
        **partnership_context(session, a.contract.id),
    }


def report_html(session: Session, principal: Principal, meeting_id: int) -> str:
    return env.get_template("joc/report.html").render(**report_context(session, principal, meeting_id))


def report_pdf(session: Session, principal: Principal, meeting_id: int) -> bytes:
    from socialcare.kit.pdf import html_to_pdf

    return html_to_pdf(report_html(session, principal, meeting_id))


def filename(session: Session, principal: Principal, meeting_id: int, ext: str) -> str:
    m, c, _contract = service.meeting(session, principal, meeting_id)
    slug = "".join(ch if ch.isalnum() else "-" for ch in c.name.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"joc-{slug[:50]}-{m.month.strftime('%Y-%m')}.{ext}"
