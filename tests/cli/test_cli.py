"""The `socialcare` command: help, migrations, accounts, tokens, and errors a user can act on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from socialcare.cli.main import app
from socialcare.core.migrate import current_heads
from socialcare.core.settings import get_settings
from socialcare.security import service
from socialcare.security.models import ApiToken, User
from socialcare.security.passwords import verify_password
from tests.factories import make_org

runner = CliRunner()


def invoke(*args, input: str | None = None):
    return runner.invoke(app, list(args), input=input, env={"COLUMNS": "200"})


@pytest.fixture
def fresh_sqlite(tmp_path, monkeypatch):
    """Point the CLI at an empty SQLite file for one test (settings are cached, so clear them)."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("SOCIALCARE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    monkeypatch.undo()
    get_settings.cache_clear()


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("db", "demo", "serve", "users"):
        assert command in result.output
    assert "SOCIALCARE_DATABASE_URL" in result.output
    sub = invoke("users", "--help")
    assert sub.exit_code == 0 and "token" in sub.output and "add" in sub.output


def test_db_upgrade_builds_a_fresh_sqlite_file_and_reports_what_it_applied(fresh_sqlite):
    first = invoke("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "0001_foundation" in first.output
    engine = sa.create_engine(fresh_sqlite)
    with engine.connect() as conn:
        applied = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert applied == set(current_heads(fresh_sqlite))
    assert {"organization", "member", "user_account", "audit_event"} <= tables

    again = invoke("db", "upgrade")
    assert again.exit_code == 0 and "Already up to date" in again.output
    current = invoke("db", "current")
    assert current.exit_code == 0 and "Up to date" in current.output


def test_db_current_and_serve_on_an_empty_database_say_what_to_do(fresh_sqlite):
    current = invoke("db", "current")
    assert current.exit_code == 1
    assert "socialcare db upgrade" in current.output
    serve = invoke("serve", "--port", "8765")
    assert serve.exit_code == 1
    assert "no schema yet" in serve.output
    assert "Traceback" not in serve.output


def test_users_add_creates_an_account_that_can_sign_in(db):
    cbo = make_org(db, kind="cbo", name="Niagara Frontier Test Rides")
    result = invoke(
        "users", "add", "jrivera", "--role", "cbo_staff", "--org", "niagara frontier test rides",
        "--password", "a-long-enough-password", "--full-name", "Julia Rivera",
    )
    assert result.exit_code == 0, result.output
    user = db.scalar(sa.select(User).where(User.username == "jrivera"))
    assert user.organization_id == cbo.id and user.role == "cbo_staff" and user.full_name == "Julia Rivera"
    assert verify_password(user.password_hash, "a-long-enough-password")
    assert not verify_password(user.password_hash, "wrong-password-here")
    assert service.authenticate(db, "jrivera", "a-long-enough-password", via="cli").ok

    listed = invoke("users", "list", "--org", "Niagara Frontier Test Rides")
    assert listed.exit_code == 0 and "jrivera" in listed.output


def test_users_add_prompts_for_the_password_when_not_given(db):
    make_org(db, kind="health_plan", name="Prompt Test Plan")
    result = invoke(
        "users", "add", "pstaff", "--role", "plan_staff", "--org", "Prompt Test Plan",
        input="typed-at-the-prompt\ntyped-at-the-prompt\n",
    )
    assert result.exit_code == 0, result.output
    user = db.scalar(sa.select(User).where(User.username == "pstaff"))
    assert verify_password(user.password_hash, "typed-at-the-prompt")


def test_users_add_refuses_bad_input_in_red_without_a_traceback_and_writes_nothing(db):
    make_org(db, kind="cbo", name="Refusal Test CBO")
    short = invoke("users", "add", "shorty", "--role", "cbo_staff", "--org", "Refusal Test CBO", "--password", "short")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    assert "Traceback" not in short.output

    wrong_role = invoke(
        "users", "add", "planner", "--role", "plan_admin", "--org", "Refusal Test CBO", "--password", "x" * 14
    )
    assert wrong_role.exit_code == 1 and "does not fit" in wrong_role.output

    unknown_org = invoke("users", "add", "nobody", "--role", "cbo_staff", "--org", "Refusal", "--password", "x" * 14)
    assert unknown_org.exit_code == 1
    assert "Did you mean: Refusal Test CBO" in unknown_org.output
    assert db.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.username.in_(["shorty", "planner", "nobody"]))) == 0


def test_users_token_issues_a_working_bearer_token_shown_once(db):
    org = make_org(db, kind="community_care_hub", name="Token Test Hub")
    invoke("users", "add", "hubby", "--role", "hub_coordinator", "--org", org.name, "--password", "hub-password-123")
    result = invoke("users", "token", "hubby", "--name", "nightly export", "--days", "7")
    assert result.exit_code == 0, result.output
    token = next(line.strip() for line in result.output.splitlines() if line.strip().startswith("sc_"))
    row = db.scalar(sa.select(ApiToken).where(ApiToken.name == "nightly export"))
    assert row.token_hash == service.hash_token(token) and token not in row.token_hash
    principal = service.principal_for_api_token(db, token)
    assert principal.username == "hubby" and principal.org_id == org.id

    missing = invoke("users", "token", "nobody-at-all")
    assert missing.exit_code == 1 and "No user is named" in missing.output


def test_demo_on_a_non_default_database_asks_before_erasing(fresh_sqlite):
    assert invoke("db", "upgrade").exit_code == 0
    refused = invoke("demo", "--members", "50", "--no-serve", input="n\n")
    assert refused.exit_code == 1
    assert "erases everything" in refused.output
    engine = sa.create_engine(fresh_sqlite)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM organization")).scalar() == 0
    engine.dispose()


def test_demo_builds_and_prints_the_logins(fresh_sqlite):
    result = invoke("demo", "--members", "120", "--no-serve", "--yes", "--seed", "3", "--as-of", "2026-06-30")
    assert result.exit_code == 0, result.output
    for username in ("plan-admin", "plan-staff", "hub-coordinator", "cbo-staff", "cbo-independent", "auditor"):
        assert username in result.output
    assert "socialcare-demo" in result.output
    assert "members" in result.output and "total" in result.output  # per-step timings
    engine = sa.create_engine(fresh_sqlite)
    with engine.connect() as conn:
        # --members sizes the main plan's roster; the second (Medicare Advantage) plan brings its own few
        main_plan = sa.text("SELECT count(*) FROM member WHERE plan_id = "
                            "(SELECT id FROM organization WHERE name = 'Lakeshore Health Plan')")
        assert conn.execute(main_plan).scalar() == 120
    engine.dispose()


def test_domain_cli_modules_are_mounted_as_command_groups_and_clashes_refused():
    import types

    import typer

    from socialcare.cli.main import _Group, mount_domain_apps

    root = typer.Typer(cls=_Group)

    @root.command()
    def demo():  # a core command name
        pass

    referrals = typer.Typer()

    @referrals.command("route")
    def route(referral_id: int):
        typer.echo(f"routed {referral_id}")

    extra = typer.Typer()

    @extra.command("run")
    def run():
        typer.echo("settled")

    module = types.SimpleNamespace(__name__="socialcare.fake.cli", app=referrals, CLI_NAME="referrals",
                                   EXTRA_APPS={"settlement": extra})
    assert mount_domain_apps(root, [module]) == ["referrals", "settlement"]
    assert runner.invoke(root, ["referrals", "route", "12"]).output.strip() == "routed 12"
    assert runner.invoke(root, ["settlement", "run"]).output.strip() == "settled"

    clash = types.SimpleNamespace(__name__="socialcare.other.cli", app=typer.Typer(), CLI_NAME="db")
    with pytest.raises(RuntimeError, match="already taken"):
        mount_domain_apps(typer.Typer(), [clash])


def test_serve_runs_the_app_factory_on_the_configured_address(db, monkeypatch):
    import uvicorn

    from socialcare.jobs.worker import Worker

    calls, workers = [], []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    monkeypatch.setattr(Worker, "start", lambda self: workers.append("started") or self)
    monkeypatch.setattr(Worker, "stop", lambda self, timeout=10.0: workers.append("stopped"))
    result = invoke("serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    target, kw = calls[0]
    assert target == "socialcare.web.app:create_app" and kw["factory"] is True
    assert kw["host"] == get_settings().host and kw["port"] == 8123
    assert "http://127.0.0.1:8123" in result.output
    assert workers == ["started", "stopped"] and "a job worker" in result.output  # the embedded worker
    workers.clear()
    result = invoke("serve", "--port", "8123", "--no-worker", "--workers", "3")
    assert result.exit_code == 0 and workers == [] and calls[1][1]["workers"] == 3
