"""Charts (Altair, rendered to SVG server-side with vl-convert: no JS chart library in pages)."""

from __future__ import annotations

import altair as alt

from socialcare.analytics.roi import RoiResult
from socialcare.analytics.savings import SavingsReport


def tornado_chart(result: RoiResult, width: int = 560) -> alt.LayerChart:
    """Net savings when each input moves to its low / high value; the rule marks the base case."""
    rows = []
    for b in result.tornado:
        rows.append(
            {
                "input": b.input,
                "case": f"low ({b.low_value})",
                "net": float(b.net_at_low),
                "order": -float(b.swing),
            }
        )
        rows.append(
            {
                "input": b.input,
                "case": f"high ({b.high_value})",
                "net": float(b.net_at_high),
                "order": -float(b.swing),
            }
        )
    base = float(result.net_savings)
    data = alt.Data(values=rows)
    y = alt.Y(
        "input:N",
        sort=alt.EncodingSortField(field="order", order="ascending"),
        title=None,
        axis=alt.Axis(labelLimit=300),
    )
    bars = (
        alt.Chart(data)
        .transform_calculate(side="datum.case[0] == 'l' ? 'low' : 'high'", base=f"{base}")
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("base:Q", title="net savings ($)", axis=alt.Axis(format="$,.0f")),
            x2="net:Q",
            color=alt.Color(
                "side:N",
                scale=alt.Scale(domain=["low", "high"], range=["#b45309", "#1d4ed8"]),
                title="input at",
            ),
            tooltip=["input:N", "case:N", alt.Tooltip("net:Q", format="$,.0f")],
        )
    )
    rule = alt.Chart(alt.Data(values=[{"x": base}])).mark_rule(color="black").encode(x="x:Q")
    return (bars + rule).properties(
        width=width, height=max(120, 28 * len(result.tornado)), title="Sensitivity of net savings"
    )


def cumulative_chart(result: RoiResult, width: int = 560) -> alt.Chart:
    rows = [{"month": r.month, "cumulative net": float(r.cumulative_net)} for r in result.monthly]
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=True)
        .encode(x=alt.X("month:O", title="month"), y=alt.Y("cumulative net:Q", axis=alt.Axis(format="$,.0f")))
        .properties(width=width, height=200, title="Cumulative discounted net savings")
    )


def savings_chart(report: SavingsReport, width: int = 560) -> alt.LayerChart:
    """PMPM by month for participants and non-participants, with the performance period shaded."""
    rows = [
        {"month": r["month"].isoformat(), "group": r["group"], "pmpm": float(r["pmpm"])}
        for r in report.monthly
    ]
    p = report.params
    band = (
        alt.Chart(
            alt.Data(
                values=[{"start": p.performance_start.isoformat(), "end": p.performance_end.isoformat()}]
            )
        )
        .mark_rect(opacity=0.08, color="#1d4ed8")
        .encode(x="start:T", x2="end:T")
    )
    lines = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title="month"),
            y=alt.Y("pmpm:Q", title="paid per member-month", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("group:N", title=None),
            tooltip=["month:T", "group:N", alt.Tooltip("pmpm:Q", format="$,.2f")],
        )
    )
    return (band + lines).properties(
        width=width, height=240, title="Total cost of care PMPM (performance period shaded)"
    )


def to_svg(chart) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())
