"""What a plan's IT team wires into its monitoring: liveness and readiness, Prometheus metrics, JSON
logs carrying the request id, and a configuration that refuses to run production on demo settings."""

from __future__ import annotations

import io
import json
import logging

import pytest

from socialcare.core.settings import DEFAULT_SECRET_KEY, ProductionMisconfigured, Settings
from socialcare.web.logs import configure_logging

PG = "postgresql+psycopg://socialcare@db.internal/socialcare"
GOOD_SECRET = "x" * 48


def test_production_refuses_the_demo_secret_and_sqlite(tmp_path):
    with pytest.raises(ProductionMisconfigured, match="SECRET_KEY"):
        Settings(env="production", database_url=PG, secret_key=DEFAULT_SECRET_KEY).check_production()
    with pytest.raises(ProductionMisconfigured, match="SQLite"):
        Settings(env="production", database_url=f"sqlite:///{tmp_path / 'x.db'}",
                 secret_key=GOOD_SECRET).check_production()
    with pytest.raises(ProductionMisconfigured, match="CLOCK_FILE"):
        Settings(env="production", database_url=PG, secret_key=GOOD_SECRET,
                 clock_file=tmp_path / "c").check_production()
    Settings(env="production", database_url=PG, secret_key=GOOD_SECRET).check_production()
    Settings(env="development", data_dir=tmp_path).check_production()  # the demo runs as it is


def test_the_app_and_the_cli_refuse_to_start_in_production_on_demo_settings(monkeypatch):
    from typer.testing import CliRunner

    from socialcare.cli.main import app as cli
    from socialcare.core.settings import get_settings
    from socialcare.web.app import create_app

    monkeypatch.setenv("SOCIALCARE_ENV", "production")
    get_settings.cache_clear()
    try:
        with pytest.raises(ProductionMisconfigured):
            create_app()
        for args in (["serve"], ["worker"]):
            res = CliRunner().invoke(cli, args)
            assert res.exit_code != 0 and isinstance(res.exception, ProductionMisconfigured), res.output
    finally:
        monkeypatch.delenv("SOCIALCARE_ENV")
        get_settings.cache_clear()


def test_health_readiness_and_metrics(client, world, client_factory):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "migrations": "ok", "jobs": "ok"}
    staff = client_factory("staff_a")
    member = world.members_a[0].id
    assert staff.get(f"/members/{member}").status_code == 200
    text = client.get("/metrics").text
    assert 'socialcare_http_request_duration_seconds_count{method="GET",route="/members/{member_id}",status="2xx"}' in text
    for name in ("socialcare_job_queue_depth", "socialcare_job_runs", "socialcare_fhir_partner_errors",
                 "socialcare_job_failures"):
        assert f"# TYPE {name} gauge" in text


def test_metrics_token(client, monkeypatch):
    from socialcare.core.settings import get_settings

    monkeypatch.setenv("SOCIALCARE_METRICS_TOKEN", "scrape-me")
    get_settings.cache_clear()
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    finally:
        monkeypatch.delenv("SOCIALCARE_METRICS_TOKEN")
        get_settings.cache_clear()


def test_json_logs_carry_the_request_id(client, tmp_path):
    stream = io.StringIO()
    configure_logging(Settings(log_format="json", data_dir=tmp_path), stream=stream)
    try:
        r = client.get("/login", headers={"X-Request-ID": "trace-abc-123"})
        assert r.headers["x-request-id"] == "trace-abc-123"
        fresh = client.get("/login").headers["x-request-id"]
        assert len(fresh) == 32 and fresh != "trace-abc-123"
        assert client.get("/login", headers={"X-Request-ID": "bad id\nwith newline"}).headers["x-request-id"] != \
            "bad id\nwith newline"
        lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
        access = [x for x in lines if x["logger"] == "socialcare.access"]
        assert {"request_id": "trace-abc-123", "method": "GET", "path": "/login", "route": "/login",
                "status": 200}.items() <= access[0].items()
        assert access[0]["level"] == "info" and "duration_ms" in access[0]
    finally:
        root = logging.getLogger()
        for h in list(root.handlers):
            if getattr(h, "_socialcare", False):
                root.removeHandler(h)
