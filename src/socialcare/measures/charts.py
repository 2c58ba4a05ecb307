"""Scorecard charts: Altair specs rendered server-side (vl-convert) to SVG for pages and PNG for PDFs.

Each chart is built from a scorecard dict (already suppressed when it is shown outside the plan) and
is meant to be read at a glance by an executive: one message per chart, goals drawn as marks, and
the plain-language caption (service.captions) printed under it.
"""

from __future__ import annotations

import base64
from functools import lru_cache

import altair as alt
import vl_convert as vlc

from socialcare.measures import rules

BLUE, GREY, RED, GREEN, AMBER = "#1d4ed8", "#9ca3af", "#b91c1c", "#15803d", "#b45309"
FONT = "DejaVu Sans"  # installed with WeasyPrint's dependencies; vl-convert draws no text in a missing font


def _config(chart):
    return chart.configure(font=FONT).configure_view(stroke=None).configure_axis(labelFontSize=11, titleFontSize=11)


def funnel_chart(card: dict, width: int = 520):
    """Members at each step, with each conditional rate and its goal."""
    rates = {r["key"]: r for r in card["funnel"]["rates"]}
    rate_of = {"outreached": "outreach_rate", "contacted": "contact_rate", "accepted": "accepted_rate",
               "service_started": "service_start_rate", "completed": "completion_rate"}
    rows = []
    for i, step in enumerate(card["funnel"]["steps"]):
        r = rates.get(rate_of.get(step["key"], ""), {})
        label = r.get("display", "") if r else ""
        if r and r.get("goal") is not None:
            label += f" (goal {rules.display_percent(int(float(r['goal']) * 100), 10000)}%)"
        color = "no goal" if not r or r.get("met") is None else ("met" if r["met"] else "below")
        rows.append({"step": step["label"], "order": i, "members": step["count"], "label": label, "goal": color})
    data = alt.Data(values=rows)
    # an explicit order (layers with a sort field fall back to alphabetical)
    y = alt.Y("step:N", sort=[r["step"] for r in rows], title=None, axis=alt.Axis(labelLimit=160))
    bars = alt.Chart(data).mark_bar(height=22).encode(
        y=y,
        x=alt.X("members:Q", title="members", axis=alt.Axis(tickCount=5, format=",.0f")),
        color=alt.Color("goal:N", scale=alt.Scale(domain=["met", "below", "no goal"], range=[GREEN, AMBER, BLUE]),
                        legend=alt.Legend(title="against goal", orient="bottom")),
        tooltip=["step:N", "members:Q", "label:N"],
    )
    counts = alt.Chart(data).mark_text(align="left", dx=4, fontSize=11).encode(
        y=y, x="members:Q", text=alt.Text("members:Q", format=","))
    labels = alt.Chart(data).mark_text(align="left", dx=4, dy=12, fontSize=10, color="#374151").encode(
        y=y, x="members:Q", text="label:N")
    return _config((bars + counts + labels).properties(width=width, height=36 * len(rows),
                                                       title=f"Engagement funnel, {card['month_label']}"))


def trend_chart(card: dict, width: int = 520):
    """Outreach, contact and support-provided rates by assignment month, goals as dashed rules."""
    names = {"outreach_rate": "Outreach", "contact_rate": "Contact", "accepted_rate": "Support provided"}
    rows = [{"month": t["month"] + "-01", "rate": names[k], "percent": float(t[k])}
            for t in card["trend"] for k in names if t.get(k) is not None]
    goals = [{"rate": names[r["key"]], "goal": float(r["goal"])} for r in card["funnel"]["rates"]
             if r["key"] in names and r.get("goal") is not None]
    color = alt.Color("rate:N", scale=alt.Scale(domain=list(names.values()), range=[BLUE, GREEN, AMBER]),
                      legend=alt.Legend(title=None, orient="bottom"))
    lines = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="month")),
        y=alt.Y("percent:Q", title="percent", scale=alt.Scale(domain=[0, 100])),
        color=color, tooltip=["month:T", "rate:N", alt.Tooltip("percent:Q", format=".1f")],
    )
    layers = [lines]
    if goals:
        layers.append(alt.Chart(alt.Data(values=goals)).mark_rule(strokeDash=[4, 4]).encode(y="goal:Q", color=color))
    return _config(alt.layer(*layers).properties(width=width, height=220, title="Rates by month of assignment"))


def sns_chart(card: dict, width: int = 520):
    """SNS-E: screening and intervention rates for food, housing and transportation."""
    rows = [{"domain": r["domain"].capitalize(), "rate": r["step"].capitalize(),
             "percent": float(r["percent"]) if r["percent"] is not None else 0.0, "display": r["display"]}
            for r in card["sns_e"]["rates"]]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("rate:N", title=None),
        x=alt.X("percent:Q", title="percent", scale=alt.Scale(domain=[0, 100]), axis=alt.Axis(values=[0, 50, 100])))
    bars = base.mark_bar().encode(color=alt.Color("rate:N", legend=None, scale=alt.Scale(range=[BLUE, GREEN])))
    text = base.mark_text(align="left", dx=4, fontSize=11).encode(text="display:N")
    return _config((bars + text).properties(width=width // 3 - 30, height=60).facet(
        column=alt.Column("domain:N", title=None)).properties(
        title=f"HEDIS SNS-E, year to {card['sns_e']['year_to']}"))


def strata_chart(card: dict, dimension: str = "county", width: int = 520):
    """Outreach rate per stratum of one dimension (suppressed cells are left out and said so)."""
    from socialcare.measures.service import strata_rates

    rows = [{"stratum": s["label"], "percent": s["outreach_rate_value"], "display": s["outreach_rate"],
             "assigned": s["assigned"]}
            for s in strata_rates(card) if s["dimension"] == dimension and s.get("outreach_rate_value") is not None]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("stratum:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200)),
        x=alt.X("percent:Q", title="outreach rate (percent)", scale=alt.Scale(domain=[0, 100])))
    bars = base.mark_bar(color=BLUE)
    text = base.mark_text(align="left", dx=4, fontSize=10).encode(text="display:N")
    layers = [bars, text]
    goal = next((r["goal"] for r in card["funnel"]["rates"] if r["key"] == "outreach_rate"), None)
    if goal is not None:
        layers.append(alt.Chart(alt.Data(values=[{"g": float(goal)}])).mark_rule(color=RED, strokeDash=[4, 4])
                      .encode(x="g:Q"))
    from socialcare.measures.definitions import STRATA_DIMENSIONS

    return _config(alt.layer(*layers).properties(width=width - 200, height=max(60, 20 * len(rows)),
                                                  title=f"Outreach rate by {STRATA_DIMENSIONS[dimension].lower()}"))


CHARTS = {"funnel": funnel_chart, "trend": trend_chart, "sns_e": sns_chart, "county": strata_chart}


@lru_cache(maxsize=256)
def _svg(spec_json: str) -> str:
    return vlc.vegalite_to_svg(spec_json)


@lru_cache(maxsize=64)
def _png(spec_json: str, scale: float) -> bytes:
    return vlc.vegalite_to_png(spec_json, scale=scale)


def to_svg(chart) -> str:
    return _svg(chart.to_json())


def to_png_data_uri(chart, scale: float = 2.0) -> str:
    return "data:image/png;base64," + base64.b64encode(_png(chart.to_json(), scale)).decode()


def render_all(card: dict, fmt: str = "svg") -> dict[str, str]:
    """Every chart of the scorecard: SVG markup (pages) or PNG data URIs (PDF)."""
    out = {}
    for name, fn in CHARTS.items():
        chart = fn(card)
        out[name] = to_svg(chart) if fmt == "svg" else to_png_data_uri(chart)
    return out
