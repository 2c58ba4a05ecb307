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
    # ids and facts earlier steps leave for later ones. The foundation's steps leave:
    #   directory (10): plan_id, plan_name, hub_id, hub_name, network_cbo_ids (the hub's nine),
    #     independent_cbo_ids (three), cbo_ids (all twelve), org_names {id: name}, counties (the
    #     eight), services [{id, organization_id, name, need_domain, service_code, unit,
    #     capacity_per_month, counties, zips, in_network}], service_ids_by_domain {domain: [ids]}
    #   members (20): member_id_range (first, last; contiguous ids), members_count, condition_codes
    #   security (30): logins {key: (username, password)}, user_ids {key: id}, login_orgs {key: org id}
    #     with keys plan_admin, plan_staff, hub_coordinator, cbo_staff, cbo_staff_independent, auditor
    # Bulk rows go in through socialcare.kit.bulk.bulk_insert (COPY on PostgreSQL).
    state: dict[str, Any] = field(default_factory=dict)
