# ci-args: --scenarios 2000
"""Benchmark: the payment-model risk simulation, N scenarios (default 100,000) × six models.

    .venv/bin/python bench/bench_simulation.py                     # 100,000 scenarios
    .venv/bin/python bench/bench_simulation.py --scenarios 2000    # CI

Times socialcare.modeling.simulate.simulate on examples/modeling/meals_scale_up.yaml (draw the
drivers, settle every scenario under fixed price, FFS with a cap, bundled, capitation, P4P and the
hybrid, the margin/plan-cost statistics and the marginal-member and efficiency finite differences),
and checks that the same seed reproduces the result. docs/modeling.md keeps the measured figure.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from socialcare.modeling.schemas import load_inputs
from socialcare.modeling.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    inputs = load_inputs(ROOT / "examples" / "modeling" / "meals_scale_up.yaml")
    t0 = time.perf_counter()
    result = simulate(inputs, args.scenarios, args.seed)
    elapsed = time.perf_counter() - t0
    again = simulate(inputs, args.scenarios, args.seed)
    same = all(again.models[m].as_dict() == r.as_dict() for m, r in result.models.items())
    print(f"{args.scenarios:,} scenarios × {len(result.models)} models: {elapsed:.2f} s "
          f"({args.scenarios * len(result.models) / elapsed:,.0f} model-scenarios/s); reproducible: {same}")
    for r in result.models.values():
        print(f"  {r.label:<40} margin median ${r.margin_median:>10,.0f}  P(loss) {r.p_loss:6.1%}  "
              f"plan cost CV {r.plan_cost_cv:6.1%}")
    if not same:
        raise SystemExit("the same seed gave a different result")


if __name__ == "__main__":
    main()
