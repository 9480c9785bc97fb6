"""Machine-readable results of the benchmarks: one JSON file per run, read by bench/report.py.

Every script of bench/ takes ``--json PATH``; at the end of a run it writes, with :func:`write`, what
it measured: the machine (CPU, cores, load average when the script started), the commit (short hash
and whether the working tree differed from it), the command, and its figures as tables whose rows
carry the baseline measured in the same run and the ratio to it, with targets, notes and the count
of correctness checks. ``bench/report.py`` turns these files into the generated blocks of
docs/performance.md. Figures are kept as numbers (``figures``) beside the rendered tables so that
other tools can compare runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STARTED = time.time()


def _load_average() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return float(Path("/proc/loadavg").read_text().split()[0])
    return None


LOAD_AT_START = _load_average()  # read at import, i.e. when the benchmark script starts


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def commit() -> dict[str, Any]:
    """Short hash of HEAD and whether tracked files differ from it (untracked files ignored)."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        )

    head = git("rev-parse", "--short", "HEAD").stdout.strip() or "?"
    status = git("status", "--porcelain", "--untracked-files=no")
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return {"hash": head, "dirty": dirty}


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_at_start": LOAD_AT_START,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def command() -> str:
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(ROOT)
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def table(
    caption: str, header: list[str], rows: list[list[str]], align: str | None = None
) -> dict[str, Any]:
    """A rendered table: ``align`` has one letter per column, ``l`` or ``r`` (default: l then r)."""
    align = align or "l" + "r" * (len(header) - 1)
    return {"caption": caption, "header": header, "rows": rows, "align": align}


def write(
    path: str | Path | None,
    name: str,
    *,
    title: str,
    software: str = "",
    tables: list[dict[str, Any]],
    figures: list[dict[str, Any]] | None = None,
    targets: list[tuple[str, bool | None, str]] | None = None,
    notes: list[str] | None = None,
    checks: list[tuple[str, bool, str]] | None = None,
    quick: bool = False,
) -> None:
    """Write the result of one run to ``path`` (nothing when ``path`` is None)."""
    if not path:
        return
    checks = checks or []
    payload = {
        "benchmark": name,
        "title": title,
        "quick": quick,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(time.time() - STARTED, 1),
        "machine": machine(),
        "software": software,
        "commit": commit(),
        "command": command(),
        "tables": tables,
        "figures": figures or [],
        "targets": [
            {"target": t, "met": ok, "measured": value} for t, ok, value in (targets or [])
        ],
        "notes": notes or [],
        "checks": {
            "passed": sum(1 for _, ok, _ in checks if ok),
            "total": len(checks),
            "failed": [f"{n}: {d}" for n, ok, d in checks if not ok],
        },
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nresult written to {path}")


def markdown(t: dict[str, Any]) -> list[str]:
    """The lines of a table of :func:`table` as markdown."""
    sep = ["---" if a == "l" else "--:" for a in t["align"]]
    lines = ["| " + " | ".join(t["header"]) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in t["rows"]]
    return lines


def print_text(t: dict[str, Any]) -> None:
    """A table of :func:`table` as aligned plain text, on stdout."""
    lines = [t["header"], *t["rows"]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(t["header"]))]
    if t.get("caption"):
        print(f"({t['caption']})")
    for k, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(w) if a == "l" else cell.rjust(w)
                for cell, w, a in zip(line, widths, t["align"], strict=True)
            ).rstrip()
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))
