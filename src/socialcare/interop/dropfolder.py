"""An SFTP-style drop folder: partners (or the SFTP server) put files in DIR; each new file is
imported, a result file is written beside it (``<name>.result.txt``: accepted, or the error report
with every bad row and field) and the file moves to ``processed/`` or ``rejected/``.

Which layout a file is: by a name prefix (``member_eligibility*.csv``, ``eligibility*``,
``members*``, ``referral_status*``, ``service_record*``) or a subfolder named after the layout
(``DIR/member_eligibility/any.csv``). A file still being written is left for the next scan: it
must not have changed size since the previous scan (and be at least ``settle_seconds`` old).
Each file is imported in its own transaction, as the user the folder runs for.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from socialcare.core.db import unit_of_work
from socialcare.core.errors import SocialcareError
from socialcare.interop.flatfiles.layouts import LAYOUTS
from socialcare.interop.flatfiles.service import ImportResult, error_report_csv, import_file
from socialcare.security.principal import Principal

SUFFIXES = (".csv", ".xlsx", ".xlsm")
PREFIXES = {
    "member_eligibility": "member_eligibility", "eligibility": "member_eligibility", "members": "member_eligibility",
    "referral_status": "referral_status", "service_record": "service_record", "encounters": "service_record",
}


@dataclass
class DropOutcome:
    path: Path
    moved_to: Path
    status: str
    summary: str


def layout_for(path: Path, root: Path) -> str | None:
    if path.parent != root and path.parent.name in LAYOUTS:
        return path.parent.name
    name = path.name.lower()
    for prefix, lay in sorted(PREFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(prefix):
            return lay
    return None


def _candidates(root: Path) -> list[Path]:
    """Regular files in the root and its layout folders. A link (to a file or a folder) is never
    followed: a planted link could read a file outside the drop folder."""
    out = []
    subdirs = [d for d in root.iterdir() if d.name in LAYOUTS and not d.is_symlink() and d.is_dir()]
    for p in [*root.iterdir(), *(q for d in subdirs for q in d.iterdir())]:
        if p.is_symlink() or not p.is_file():
            continue
        if p.suffix.lower() in SUFFIXES and not p.name.startswith("."):
            out.append(p)
    return sorted(out)


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def _read(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _write_text(path: Path, text: str) -> None:
    """Write a new file; a link (or anything) already at that name is removed first, never written through."""
    if path.is_symlink() or path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _result_text(result: ImportResult | None, error: str | None) -> str:
    if result is None:
        return f"REJECTED\n{error}\n"
    head = "ACCEPTED" if result.accepted else ("DUPLICATE" if result.status == "duplicate" else "REJECTED")
    text = f"{head}\n{result.summary()}\nsha256: {result.sha256}\nimport: #{result.import_id}\n"
    if not result.accepted:
        text += "\n" + error_report_csv(result)
    return text


def _move(path: Path, folder: Path) -> Path:
    if folder.is_symlink():  # a planted link would move the file outside the drop folder
        folder.unlink()
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{int(time.time())}{path.suffix}"
    shutil.move(str(path), target)
    return target


def scan_once(root: Path, principal: Principal, sizes: dict[Path, int] | None = None,
              settle_seconds: float = 0.0) -> list[DropOutcome]:
    """Process every settled file in ``root`` once. ``sizes`` remembers sizes between scans (watch)."""
    root = root.resolve()
    outcomes = []
    for path in _candidates(root):
        size = path.stat().st_size
        if sizes is not None and sizes.get(path) != size:
            sizes[path] = size  # seen for the first time or still growing: wait a scan
            continue
        if settle_seconds and time.time() - path.stat().st_mtime < settle_seconds:
            continue
        if sizes is not None:
            sizes.pop(path, None)
        base = path.parent if path.parent != root else root
        lay = layout_for(path, root)
        result, error = None, None
        if lay is None:
            error = (f"{path.name}: which layout is this file? Name it member_eligibility_*.csv, "
                     "referral_status_*.csv or service_record_*.csv, or put it in a folder named after the layout.")
        else:
            try:
                with unit_of_work() as session:
                    result = import_file(session, replace(principal, via="drop"), lay, path.name, _read(path),
                                         via="drop")
            except SocialcareError as exc:
                error = f"{path.name}: {exc}"
        status = result.status if result else "rejected"
        if not _inside(base, root):
            continue
        _write_text(base / f"{path.name}.result.txt", _result_text(result, error))
        dest = _move(path, base / ("processed" if status == "accepted" else "rejected"))
        _move(base / f"{path.name}.result.txt", dest.parent)
        outcomes.append(DropOutcome(path, dest, status, result.summary() if result else (error or "")))
    return outcomes


def watch(root: Path, principal: Principal, *, interval: float = 5.0, once: bool = False,
          on_outcome: Callable[[DropOutcome], None] | None = None) -> None:
    """Scan ``root`` every ``interval`` seconds until interrupted (``once``: one settled pass)."""
    sizes: dict[Path, int] = {}
    while True:
        for outcome in scan_once(root, principal, None if once else sizes):
            if on_outcome:
                on_outcome(outcome)
        if once:
            return
        time.sleep(interval)
