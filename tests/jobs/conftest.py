from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from socialcare.core.db import make_engine
from socialcare.core.migrate import upgrade
from tests.factories import PASSWORD, make_member, make_org, make_user
from tests.jobs.live import Clock
from tests.web.fixtures import *  # noqa: F403


@dataclass
class FileWorld:
    url: str
    dir: Path
    clock: Clock
    plan_id: int
    cbo_id: int
    member_ids: list[int]
    password: str = PASSWORD


def build_world(url: str, data_dir: Path, members: int = 3) -> FileWorld:
    """A committed database of its own (the processes under test share it): a plan, a CBO, users, members."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            plan = make_org(s, "health_plan", "Lakeshore Plan")
            cbo = make_org(s, "cbo", "Buffalo Food Collaborative", city="Buffalo", county="Erie", state="NY")
            make_user(s, plan, "plan_admin", "admin")
            make_user(s, plan, "plan_staff", "staff")
            make_user(s, cbo, "cbo_staff", "cbo")
            ids = [make_member(s, plan, county="Erie", zip="14201").id for _ in range(members)]
            s.commit()
            world = FileWorld(url, data_dir, Clock(data_dir / "clock"), plan.id, cbo.id, ids)
    finally:
        engine.dispose()
    return world


@pytest.fixture
def file_world(tmp_path) -> FileWorld:
    return build_world(f"sqlite:///{tmp_path / 'live.db'}", tmp_path)
