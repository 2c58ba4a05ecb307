"""A real server for the browser tests: uvicorn in a background thread on a free port, against its
OWN database (a temporary SQLite file, or ``<testdb>_browser`` on PostgreSQL, created and dropped
here), migrated by Alembic and filled by the demo builder; Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def browser_database():
    base = os.environ.get("SOCIALCARE_DATABASE_URL", "")
    if base.startswith("postgresql"):
        parsed = make_url(base)
        name = f"{parsed.database}_browser"
        url = parsed.set(database=name).render_as_string(hide_password=False)
        admin = sa.create_engine(_admin_url(base), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        tmp = Path(tempfile.mkdtemp(prefix="socialcare-browser-"))
        yield f"sqlite:///{tmp / 'browser.db'}"
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_logins(browser_database) -> dict:
    from socialcare.demo.builder import build_demo

    result = build_demo(browser_database, seed=11, members=300, progress=False)
    return result["logins"]


@pytest.fixture(scope="session")
def live_server(browser_database, demo_logins):
    import uvicorn

    from socialcare.web.app import create_app

    app = create_app(database_url=browser_database)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class ConsoleWatch:
    """Console errors and uncaught page errors; expected refusals (a 403 we asked for) can be allowed."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def unexpected(self, allow_status: tuple[int, ...] = ()) -> list[str]:
        return [
            e for e in self.errors
            if not any(f"status of {s}" in e for s in allow_status)
        ]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    p = context.new_page()
    p.set_default_timeout(15000)
    p.console = ConsoleWatch(p)
    yield p
    context.close()
