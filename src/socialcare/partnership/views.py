"""The role map as an SVG swimlane: one lane per party, one column per stage of member interaction
(identification, engagement, enrollment, service provision, completion), each activity a box in its
responsible party's lane (an activity both parties share spans both lanes)."""

from __future__ import annotations

from html import escape

from socialcare.partnership import rules

COL_W, LANE_H, HEAD_W, HEAD_H, BOX_H, PAD = 170, 150, 130, 34, 34, 6


def _wrap(text: str, width: int = 22) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    return lines[:2] if len(lines) <= 2 else [lines[0], lines[1][: width - 1] + "…"]


def role_map_svg(rows: list[dict], plan_name: str, partner_name: str) -> str:
    stages = list(rules.STAGES)
    lanes = [("plan", plan_name), ("partner", partner_name)]
    width = HEAD_W + COL_W * len(stages)
    # how many boxes each (stage, lane) holds decides the lane heights
    per = {(s, lane): [r for r in rows if r["stage"] == s and r["party"] == lane] for s in stages
           for lane in ("plan", "partner", "both")}
    lane_h = {lane: max(LANE_H, max((len(per[(s, lane)]) + len(per[(s, "both")]) for s in stages), default=0)
                        * (BOX_H + PAD) + 2 * PAD) for lane, _ in lanes}
    height = HEAD_H + sum(lane_h.values())
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="rolemap-title" font-family="sans-serif" font-size="11">',
           '<title id="rolemap-title">Role map: who does what at each stage of member interaction</title>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff" stroke="#555"/>']
    for i, s in enumerate(stages):
        x = HEAD_W + i * COL_W
        out.append(f'<rect x="{x}" y="0" width="{COL_W}" height="{HEAD_H}" fill="#e8eef5" stroke="#555"/>')
        out.append(f'<text x="{x + COL_W / 2}" y="{HEAD_H / 2 + 4}" text-anchor="middle" font-weight="bold">'
                   f'{escape(rules.STAGES[s])}</text>')
    y = HEAD_H
    lane_y = {}
    for lane, name in lanes:
        lane_y[lane] = y
        out.append(f'<rect x="0" y="{y}" width="{width}" height="{lane_h[lane]}" fill="none" stroke="#555"/>')
        out.append(f'<rect x="0" y="{y}" width="{HEAD_W}" height="{lane_h[lane]}" fill="#f4f4f4" stroke="#555"/>')
        for j, line in enumerate(_wrap(name, 18)):
            out.append(f'<text x="8" y="{y + 20 + 14 * j}" font-weight="bold">{escape(line)}</text>')
        y += lane_h[lane]
    for i, s in enumerate(stages):
        x = HEAD_W + i * COL_W + PAD
        for lane, _ in lanes:
            items = per[(s, lane)] + per[(s, "both")]
            for k, r in enumerate(items):
                by = lane_y[lane] + PAD + k * (BOX_H + PAD)
                fill = "#fdf1d6" if r["party"] == "both" else "#dcecdc" if lane == "plan" else "#dce6f6"
                out.append(f'<rect x="{x}" y="{by}" width="{COL_W - 2 * PAD}" height="{BOX_H}" rx="4" '
                           f'fill="{fill}" stroke="#777"><title>{escape(r["activity"])} ({r["party"]})</title></rect>')
                for j, line in enumerate(_wrap(r["activity"])):
                    out.append(f'<text x="{x + 5}" y="{by + 14 + 13 * j}">{escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out)
