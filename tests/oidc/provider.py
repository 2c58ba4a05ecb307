"""Start the real OpenID provider (tests/oidc/provider.js on Node) for a test session."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OpenIdProvider:
    def __init__(self, clients: list[dict], accounts: dict):
        if not shutil.which("node") or not shutil.which("npm"):
            pytest.skip("Node.js is not installed: the OpenID provider tests need it")
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            subprocess.run([str(HERE / "install.sh")], check=True, timeout=300)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        config = {"port": self.port, "clients": clients, "accounts": accounts}
        self.proc = subprocess.Popen(["node", str(HERE / "provider.js"), json.dumps(config)], cwd=HERE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.discovery_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                self.stop()
                raise RuntimeError(f"the OpenID provider did not start:\n{out}")
            time.sleep(0.2)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def sign_in(self, authorize_url: str, login: str, password: str, stop_at: str) -> str:
        """Play the person at the provider: open the authorization URL, fill in the sign-in form,
        follow the redirects; returns the URL the provider sends the browser back to (``stop_at``...)."""
        with httpx.Client(timeout=15) as browser:
            url = authorize_url
            for _ in range(12):
                if url.startswith(stop_at):
                    return url
                r = browser.get(url)
                if r.status_code in (302, 303):
                    url = httpx.URL(url).join(r.headers["location"]).__str__()
                    continue
                assert r.status_code == 200 and "/login" in r.text, r.text[:500]
                action = r.text.split('action="', 1)[1].split('"', 1)[0]
                r = browser.post(httpx.URL(url).join(action), data={"login": login, "password": password})
                assert r.status_code in (302, 303), r.text[:500]
                url = httpx.URL(url).join(r.headers["location"]).__str__()
            raise AssertionError(f"the provider never sent the browser back (last: {url})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
