"""With only `socialcare serve` running (what `socialcare demo` ends with), a referral to a partner
with its own FHIR server goes out, is retried after the partner's server fails, and the partner's
progress comes back: the embedded worker does it all, on an injected clock, with no other command."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.db import make_engine
from socialcare.interop.fhir import outbound
from socialcare.interop.models import FhirOutbound
from socialcare.jobs.models import JobRun
from socialcare.security.models import User
from socialcare.security.service import principal_for_user
from tests.jobs import live


@pytest.fixture
def partner():
    p = live.LivePartner()
    yield p
    p.stop()


def test_serve_alone_pushes_retries_and_polls_a_direct_partner(file_world, partner, tmp_path):
    w = file_world
    engine = make_engine(w.url)
    with Session(engine) as s:
        admin = principal_for_user(s.scalar(select(User).where(User.username == "admin")))
        outbound.set_endpoint(s, admin, w.cbo_id, mode="direct", base_url=partner.url,
                              bearer_token=partner.server.token)
        s.commit()
    partner.server.fail_next = [503]  # the partner's server is down for the first try

    server = live.serve(live.process_env(w.url, w.dir, w.clock), tmp_path / "serve.log")
    try:
        server.wait_ready()
        api = httpx.Client(base_url=server.url, timeout=30)
        token = api.post("/api/v1/tokens", json={"username": "staff", "password": w.password}).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        r = api.post("/api/v1/referrals", json={
            "member_id": w.member_ids[0], "need_domain": "food", "owner_org_id": w.cbo_id,
            "reason": "Positive Hunger Vital Sign", "urgency": "urgent", "consent_scope": "referral"})
        assert r.status_code == 201, r.text
        ref_id = r.json()["id"]
        task_id = f"socialcare-referral-{ref_id}"

        def rows():
            with Session(engine) as s:
                return list(s.scalars(select(FhirOutbound).where(FhirOutbound.referral_id == ref_id)))

        # a minute at a time: the dispatch is due each minute, the push waits out its backoff
        live.eventually(lambda: task_id in partner.server.tasks, step=lambda: w.clock.advance(40),
                        what="the push of the referral", timeout=90)
        [row] = rows()
        assert (row.status, row.attempts) == ("sent", 2)  # the 503, then through
        assert partner.server.puts() == [f"/fhir/Task/{task_id}"] * 2
        assert partner.server.tasks[task_id]["status"] == "requested"

        # the CBO accepts on its own server; a poll (every 15 minutes) brings it back
        partner.server.tasks[task_id]["status"] = "accepted"
        live.eventually(lambda: api.get(f"/api/v1/referrals/{ref_id}").json()["status"] == "accepted",
                        step=lambda: w.clock.advance(300), what="the partner's acceptance coming back", timeout=90)
        timeline = api.get(f"/api/v1/referrals/{ref_id}").json()
        assert any(e["action"] == "accept" for e in timeline["timeline"]), timeline

        with Session(engine) as s:
            runs = list(s.scalars(select(JobRun)))
        pushes = [r for r in runs if r.name == "interop.fhir_push"]
        polls = [r for r in runs if r.name == "interop.fhir_poll"]
        assert len(pushes) >= 2 and polls and all(r.status in ("succeeded", "queued", "running") for r in pushes + polls)
        assert all(r.attempts <= 1 for r in runs)  # nothing ran twice
        assert any(r.kwargs == {"endpoint_id": row.endpoint_id} for r in pushes)
    except BaseException:
        print(server.output())
        raise
    finally:
        server.stop()
        engine.dispose()
