"""Demo step 80: a synthetic claims data set for the shared-savings report.

Writes ``<claims_dir>/org-<plan id>/demo/`` (analytics.datasets: only the demo plan's users see it)
with ``synth.generate``: 10,000 members over 24 months ending last month (about a million claim
lines, ~13 MB of Parquet, about a second), the UHC / Camden attribution of seed 002, and 35 % of
participants' emergency and inpatient lines averted in the performance period. Smaller sets (2,000
members) leave the difference-in-differences interval straddling zero, which shows nothing but
noise; at this size the planted effect is recovered and significant, so the report has a verdict
to explain. No database rows: claims live in files, as a plan's extract would.
"""

from __future__ import annotations

from datetime import date

from socialcare.analytics import datasets
from socialcare.analytics.synth import SynthSpec, generate
from socialcare.demo.context import DemoContext

ORDER = 80

MEMBERS = 10_000
MONTHS = 24
SEED = 80
EFFECT = 0.35


def _start(today: date, months: int) -> date:
    """First day of the month ``months`` before today's month: the data ends last month."""
    k = today.year * 12 + today.month - 1 - months
    return date(k // 12, k % 12 + 1, 1)


def build(ctx: DemoContext) -> None:
    ctx.set_total(1)
    plan_id = ctx.state.get("plan_id")
    folder = datasets.root() / (f"org-{plan_id}" if plan_id else "") / "demo"
    manifest = generate(
        SynthSpec(members=MEMBERS, months=MONTHS, seed=SEED, effect=EFFECT, start=_start(ctx.today, MONTHS)),
        folder,
    )
    ctx.state["claims_dataset"] = f"org-{plan_id}/demo" if plan_id else "demo"
    ctx.state["claims_lines"] = manifest["lines"]
    ctx.advance(1)
