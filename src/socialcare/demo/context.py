"""What demo steps share. Each domain's demo.py receives this and adds its data with bulk inserts."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy.orm import Session


@dataclass
class DemoContext:
    session: Session
    seed: int
    members_count: int
    today: date  # the demo's "today" (--as-of, default the real today): with the seed it fixes the data
    rng: random.Random  # per step, seeded from --seed and the step's module name
    np_rng: np.random.Generator
    # advance(n) moves the progress bar of the current step; set_total(n) sizes it
    advance: Callable[[int], None] = lambda n: None
    set_total: Callable[[int], None] = lambda n: None
    # ids and facts earlier steps leave for later ones, e.g. plan_id, hub_id, cbo_ids,
    # service_ids_by_domain, member_id_range, logins (role -> (username, password))
    state: dict[str, Any] = field(default_factory=dict)
