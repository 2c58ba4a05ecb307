#!/usr/bin/env python3
"""Set up and run socialcare with nothing but python3 (standard library only).

    python3 dev.py demo [socialcare demo options]   # venv, install, build the demo, serve it
    python3 dev.py test [pytest options]            # venv, install with test extras, run the suite

The virtual environment is ./.venv (or $SOCIALCARE_VENV, which .ci/run points at a fresh one).
Installs are skipped while pyproject.toml is unchanged. `make demo` / `make test` call this too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SOCIALCARE_VENV") or ROOT / ".venv")
MIN_PYTHON = (3, 11)


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*cmd: str | Path, **kw) -> None:
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(*packages: str) -> bool:
    """Install Debian packages when we may (root with apt-get); False when we cannot."""
    if not (is_root() and shutil.which("apt-get")):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", *packages, env=env)
    return True


def base_python() -> str:
    """This interpreter if it is new enough, else the newest python3.x on PATH that is."""
    if sys.version_info >= MIN_PYTHON:
        return sys.executable
    for minor in range(20, MIN_PYTHON[1] - 1, -1):
        found = shutil.which(f"python3.{minor}")
        if found:
            return found
    sys.exit(f"socialcare needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this is {sys.version.split()[0]}.")


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    py = venv_python()
    if py.exists():
        return py
    say(f"creating the virtual environment {VENV}")
    python = base_python()
    result = subprocess.run([python, "-m", "venv", str(VENV)])
    if result.returncode != 0:
        # Debian and Ubuntu ship venv's pip bootstrap separately
        shutil.rmtree(VENV, ignore_errors=True)
        version = subprocess.run(
            [python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        if not apt_install("python3-venv", f"python{version}-venv"):
            sys.exit("Could not create a virtual environment: install your distribution's python3-venv package.")
        run(python, "-m", "venv", VENV)
    run(py, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    return py


def ensure_installed(py: Path, extras: str = "") -> None:
    """pip install -e .[extras], skipped while pyproject.toml and the extras are unchanged."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()[:16]
    stamp = VENV / f".socialcare-installed-{digest}"
    if stamp.exists():
        return
    target = f".[{extras}]" if extras else "."
    say(f"installing socialcare{f'[{extras}]' if extras else ''} into {VENV}")
    run(py, "-m", "pip", "install", "--quiet", "-e", target, cwd=ROOT)
    for old in VENV.glob(".socialcare-installed-*"):
        old.unlink()
    stamp.touch()


def ensure_chromium() -> None:
    """The browser tests drive Debian's chromium through Playwright."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    say("installing Debian's chromium for the browser tests")
    if not apt_install("chromium"):
        print("    chromium is missing and cannot be installed without root: browser tests will be skipped",
              flush=True)


def demo(args: list[str]) -> int:
    py = ensure_venv()
    ensure_installed(py)
    return subprocess.call([str(py), "-m", "socialcare.cli", "demo", *args], cwd=ROOT)


def test(args: list[str]) -> int:
    py = ensure_venv()
    ensure_installed(py, "test")
    ensure_chromium()
    return subprocess.call([str(py), "-m", "pytest", *args], cwd=ROOT)


def main(argv: list[str]) -> int:
    commands = {"demo": demo, "test": test}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    try:
        return commands[argv[0]](argv[1:])
    except subprocess.CalledProcessError as exc:
        print(f"dev.py: {' '.join(map(str, exc.cmd))} failed with status {exc.returncode}", file=sys.stderr)
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
