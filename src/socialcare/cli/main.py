"""The ``socialcare`` command.

Core commands live here (db, demo, serve, users); every domain adds its own group by exporting
``app`` and ``CLI_NAME`` (and optionally ``EXTRA_APPS``) from its ``cli.py``, found through
``kit.discovery`` so there is no central list to edit. Errors meant for the user
(``core.errors``) print in red and exit with status 1, without a traceback.
"""

from __future__ import annotations

import os
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from typer.core import TyperGroup

from socialcare.core.errors import SocialcareError
from socialcare.core.settings import Settings, get_settings
from socialcare.kit.discovery import domain_modules

console = Console()
err_console = Console(stderr=True)


class _Group(TyperGroup):
    """Root group: every command runs inside it, so user-facing errors are caught in one place."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SocialcareError as exc:
            err_console.print(Text(str(exc), style="bold red"))
            raise typer.Exit(1) from None
        except sa_exc.OperationalError as exc:
            err_console.print(Text(f"The database could not be used: {exc.orig}", style="bold red"))
            raise typer.Exit(1) from None


app = typer.Typer(
    name="socialcare",
    cls=_Group,
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(no_args_is_help=True, help="The database schema (Alembic migrations).")
users_app = typer.Typer(no_args_is_help=True, help="User accounts and API tokens.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def _version(value: bool) -> None:
    if value:
        from socialcare import __version__

        console.print(f"socialcare {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Value-based social care partnerships between health plans, community care hubs and CBOs.

    Settings come from SOCIALCARE_* environment variables (or .env): SOCIALCARE_DATABASE_URL
    (default: an SQLite file in ./data), SOCIALCARE_HOST, SOCIALCARE_PORT, SOCIALCARE_SECRET_KEY.
    """


def _settings() -> Settings:
    return get_settings()


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# ---- db --------------------------------------------------------------------------------------


def _applied_revisions(url: str) -> list[str]:
    """Every revision the database has, oldest first (all ancestors of its current heads)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from socialcare.core.db import make_engine
    from socialcare.core.migrate import alembic_config

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    if not heads:
        return []
    script = ScriptDirectory.from_config(alembic_config(url))
    have = {s.revision for s in script.iterate_revisions(heads, "base")}
    return [s.revision for s in reversed(list(script.walk_revisions())) if s.revision in have]


def _script():
    from alembic.script import ScriptDirectory

    from socialcare.core.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(_settings().effective_database_url))


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("heads", help="Target revision; 'heads' applies every domain's migrations."),
) -> None:
    """Create or update the schema with Alembic (the only way a schema is made)."""
    from socialcare.core.migrate import upgrade

    url = _settings().effective_database_url
    before = set(_applied_revisions(url))
    upgrade(url, revision)
    applied = [r for r in _applied_revisions(url) if r not in before]
    script = _script()
    if not applied:
        console.print(f"[green]Already up to date[/green] ({_shown(url)}).")
        return
    console.print(f"Applied {len(applied)} migration(s) to {_shown(url)}:")
    for rev in applied:
        console.print(f"  [green]{rev}[/green]  {script.get_revision(rev).doc}")


@db_app.command("current")
def db_current() -> None:
    """Show which migrations the database has and whether any are missing."""
    url = _settings().effective_database_url
    script = _script()
    have = _applied_revisions(url)
    console.print(f"Database: {_shown(url)}")
    if not have:
        console.print("[yellow]No schema yet.[/yellow] Run `socialcare db upgrade` (or `socialcare demo`).")
        raise typer.Exit(1)
    for rev in have:
        console.print(f"  {rev}  {script.get_revision(rev).doc}")
    missing = [s.revision for s in script.walk_revisions() if s.revision not in set(have)]
    if missing:
        console.print(f"[yellow]{len(missing)} migration(s) not applied:[/yellow] {', '.join(sorted(missing))}")
        console.print("Run `socialcare db upgrade`.")
    else:
        console.print("[green]Up to date.[/green]")


# ---- serve -----------------------------------------------------------------------------------


def _serve(host: str | None, port: int | None, reload: bool = False, *, workers: int = 1,
           embedded_worker: bool = True) -> None:
    import uvicorn

    from socialcare.web.logs import LOGGING_ENV, configure_logging, uvicorn_log_config

    settings = _settings()
    settings.check_production()
    url = settings.effective_database_url
    have = _applied_revisions(url)
    if not have:
        raise SocialcareError(
            f"The database {_shown(url)} has no schema yet: run `socialcare db upgrade`, or `socialcare demo` "
            "for a demo partnership."
        )
    if len(have) < len(list(_script().walk_revisions())):
        err_console.print("[yellow]Some migrations are not applied yet; run `socialcare db upgrade`.[/yellow]")
    host, port = host or settings.host, port or settings.port
    configure_logging(settings)
    os.environ[LOGGING_ENV] = "1"  # uvicorn's worker processes (--workers N) configure theirs in create_app
    worker = None
    if embedded_worker and not reload:
        from socialcare.jobs.worker import Worker

        worker = Worker().start()
    console.print(f"Serving socialcare at [bold]http://{host}:{port}[/bold]"
                  + (f" with {workers} web processes" if workers > 1 else "")
                  + (" and a job worker" if worker else "") + "  (Ctrl+C to stop)")
    try:
        uvicorn.run("socialcare.web.app:create_app", factory=True, host=host, port=port, reload=reload,
                    workers=workers if workers > 1 else None, log_config=uvicorn_log_config(), access_log=False,
                    proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)
    finally:
        if worker is not None:
            worker.stop()


WORKER_OPTION = typer.Option(True, "--worker/--no-worker",
                             help="Run background jobs in this process too (the embedded worker); "
                             "--no-worker when separate `socialcare worker` processes run them.")


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default SOCIALCARE_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default SOCIALCARE_PORT, 8000)."),
    reload: bool = typer.Option(False, help="Restart when the code changes (development; no embedded worker)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Web server processes (uvicorn workers)."),
    embedded_worker: bool = WORKER_OPTION,
) -> None:
    """Serve the web app and the JSON API (/api/v1, docs at /docs), and run background jobs."""
    _serve(host, port, reload, workers=workers, embedded_worker=embedded_worker)


# ---- demo ------------------------------------------------------------------------------------


def _is_default_database(settings: Settings) -> bool:
    default = Settings(database_url=None, data_dir=settings.data_dir).effective_database_url
    return settings.database_url is None or settings.effective_database_url == default


@app.command()
def demo(
    members: int = typer.Option(20000, "--members", min=1, help="How many plan members to generate."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed and --as-of give the same data."),
    as_of: datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="The demo's 'today' (YYYY-MM-DD); default: today."
    ),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Serve the web app when built."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before erasing a non-default database."),
    host: str = typer.Option(None, help="Address to serve on (default SOCIALCARE_HOST)."),
    port: int = typer.Option(None, help="Port to serve on (default SOCIALCARE_PORT)."),
    embedded_worker: bool = WORKER_OPTION,
) -> None:
    """Rebuild the database as a demo partnership, then serve it at http://127.0.0.1:8000.

    A Medicaid plan, a community care hub with nine CBOs across eight counties, three independent
    CBOs, about twenty services, N members and one login per role (printed at the end).
    """
    from socialcare.demo.builder import build_demo

    settings = _settings()
    url = settings.effective_database_url
    if not _is_default_database(settings) and not yes:
        typer.confirm(
            f"`socialcare demo` erases everything in {_shown(url)} and builds a demo there. Continue?", abort=True
        )
    console.print(f"Building the demo partnership ({members:,} members, seed {seed}) in {_shown(url)}")
    result = build_demo(
        url, seed=seed, members=members, as_of=as_of.date() if as_of else None, progress=True, console=console
    )
    _print_timings(result["timings"])
    _print_logins(result)
    if serve_after:
        _serve(host, port, embedded_worker=embedded_worker)


def _print_timings(timings: dict[str, float]) -> None:
    table = Table(title="Build time", show_edge=False)
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, seconds in timings.items():
        style = "bold" if step == "total" else None
        table.add_row(step, f"{seconds:.2f}", style=style)
    console.print(table)


def _print_logins(result: dict) -> None:
    from socialcare.security.rules import ROLE_LABELS, Role

    state = result.get("state", {})
    names = state.get("org_names", {})
    orgs = state.get("login_orgs", {})
    roles = {key: role for key, _u, _n, role, _o in _demo_users()}
    table = Table(title="Demo logins", show_edge=False)
    for col in ("role", "organization", "username", "password"):
        table.add_column(col)
    for key, (username, password) in result["logins"].items():
        role = roles.get(key, key)
        label = ROLE_LABELS.get(Role(role), role) if role in set(Role) else role
        table.add_row(label, names.get(orgs.get(key), ""), username, password)
    console.print(table)


def _demo_users():
    from socialcare.security.demo import DEMO_USERS

    return DEMO_USERS


# ---- users -----------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="Sign-in name: letters, digits, dots, dashes, underscores."),
    role: str = typer.Option(..., "--role", help="plan_admin, plan_staff, hub_coordinator, cbo_staff or auditor."),
    org: str = typer.Option(..., "--org", help="The organization's name, as in the directory."),
    password: str = typer.Option(
        None, "--password", help="At least 12 characters; asked for (hidden) when not given."
    ),
    full_name: str = typer.Option(None, "--full-name", help="The person's name (default: the username)."),
    email: str = typer.Option(None, "--email"),
) -> None:
    """Add a user account to an organization."""
    from socialcare.core.db import unit_of_work
    from socialcare.security.admin import add_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with unit_of_work() as session:
        user = add_user(
            session, username=username, role=role, org_name=org, password=password, full_name=full_name, email=email
        )
        org_name = user.organization.name
    console.print(f"[green]Added[/green] {username} ({role}) at {org_name}.")


@users_app.command("list")
def users_list(org: str = typer.Option(None, "--org", help="Only this organization's accounts.")) -> None:
    """List user accounts by organization."""
    from socialcare.core.db import unit_of_work
    from socialcare.security.admin import list_users

    with unit_of_work() as session:
        rows = [
            (o.name, u.username, u.full_name, u.role, "yes" if u.is_active else "no", u.email or "")
            for u, o in list_users(session, org)
        ]
    if not rows:
        console.print("No user accounts yet. Add one with `socialcare users add`.")
        return
    table = Table(show_edge=False)
    for col in ("organization", "username", "name", "role", "active", "email"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


@users_app.command("token")
def users_token(
    username: str = typer.Argument(...),
    name: str = typer.Option("cli", "--name", help="What the token is for (shown in the token list)."),
    days: int = typer.Option(30, "--days", min=1, max=365, help="Days until it expires."),
) -> None:
    """Create an API bearer token for a user. It is shown once; only its hash is stored."""
    from socialcare.core.db import unit_of_work
    from socialcare.security.admin import issue_token

    with unit_of_work() as session:
        token, row = issue_token(session, username, name=name, days=days)
        expires = row.expires_at
    console.print(f"API token for {username} (expires {expires:%Y-%m-%d}); it will not be shown again:")
    console.print(token, markup=False, highlight=False)


@users_app.command("sign-in")
def users_sign_in(
    org: str = typer.Argument(..., help="The organization's name, as in the directory."),
    discovery_url: str = typer.Option(None, "--oidc-discovery-url", help="…/.well-known/openid-configuration"),
    client_id: str = typer.Option(None, "--client-id"),
    client_secret: str = typer.Option(None, "--client-secret", help="asked for (hidden) with --ask-secret"),
    ask_secret: bool = typer.Option(False, "--ask-secret", help="Prompt for the client secret."),
    domains: str = typer.Option(None, "--domains", help="Email domains, comma-separated."),
    role_claim: str = typer.Option(None, "--role-claim", help="The claim carrying the role (default groups)."),
    role_map: str = typer.Option(None, "--role-map", help="value=role pairs, comma-separated; first match wins."),
    passwords: bool = typer.Option(None, "--passwords/--no-passwords", help="Allow local passwords."),
    require_totp: bool = typer.Option(None, "--require-totp/--no-require-totp", help="Passwords need a TOTP code."),
    idle_minutes: int = typer.Option(None, "--idle-minutes", min=1, help="Idle timeout of a browser session."),
    lifetime_hours: int = typer.Option(None, "--lifetime-hours", min=1, help="Absolute session lifetime."),
) -> None:
    """Set how an organization signs in: OpenID Connect, passwords and TOTP, session limits."""
    from socialcare.core.db import unit_of_work
    from socialcare.security import sso
    from socialcare.security.admin import operator_principal, organization_by_name

    if ask_secret:
        client_secret = typer.prompt("Client secret", hide_input=True)
    fields = {
        "oidc_discovery_url": discovery_url, "oidc_client_id": client_id, "oidc_client_secret": client_secret,
        "allowed_email_domains": [d for d in (domains or "").split(",") if d.strip()] if domains is not None else None,
        "role_claim": role_claim,
        "role_map": dict(p.strip().split("=", 1) for p in role_map.split(",") if "=" in p) if role_map else None,
        "passwords_allowed": passwords, "require_totp": require_totp,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    if idle_minutes is not None:
        fields["idle_timeout_minutes"] = idle_minutes
    if lifetime_hours is not None:
        fields["absolute_lifetime_hours"] = lifetime_hours
    with unit_of_work() as session:
        organization = organization_by_name(session, org)
        cfg = sso.set_sign_in(session, operator_principal(organization), **fields)
        console.print(f"[green]{organization.name}[/green]: single sign-on "
                      f"{'on' if sso.is_configured(cfg) else 'off'}, passwords "
                      f"{'allowed' if cfg.passwords_allowed else 'off'}"
                      f"{' with TOTP' if cfg.require_totp else ''}; redirect URI {sso.redirect_uri()}")


@users_app.command("reset-totp")
def users_reset_totp(username: str = typer.Argument(...)) -> None:
    """Forget a user's authenticator (lost phone): they enrol a new one at their next sign-in."""
    from socialcare.core.db import unit_of_work
    from socialcare.security import repository as security_repo
    from socialcare.security import totp
    from socialcare.security.admin import operator_principal

    with unit_of_work() as session:
        user = security_repo.user_by_username(session, username)
        if user is None:
            raise SocialcareError(f"No user '{username}'. See `socialcare users list`.")
        totp.reset(session, operator_principal(user.organization), user)
    console.print(f"[green]{username}[/green] enrols a new authenticator at the next sign-in.")


# ---- domain commands -------------------------------------------------------------------------


CORE_COMMANDS = {"db", "users", "demo", "serve"}


def mount_domain_apps(root: typer.Typer, modules) -> list[str]:
    """Add each domain's ``app`` (as ``CLI_NAME``) and ``EXTRA_APPS`` to ``root``; returns the names."""
    taken = set(CORE_COMMANDS)
    mounted = []
    for module in modules:
        found = []
        sub, name = getattr(module, "app", None), getattr(module, "CLI_NAME", None)
        if sub is not None and name:
            found.append((name, sub))
        found += list(getattr(module, "EXTRA_APPS", {}).items())
        for name, sub in found:
            if name in taken:
                raise RuntimeError(f"{module.__name__}: the command name '{name}' is already taken")
            taken.add(name)
            root.add_typer(sub, name=name)
            mounted.append(name)
    return mounted


mount_domain_apps(app, domain_modules("cli"))


def main() -> None:  # pragma: no cover - console entry point alternative
    app()
