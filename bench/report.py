"""Run every benchmark of bench/ and rewrite the generated figure blocks of docs/performance.md.

Run from the repository root: ``make bench`` (= ``.venv/bin/python bench/report.py``) or ``make
bench-quick`` (= ``… bench/report.py --quick``).

Each benchmark runs as its own process, one after the other, with ``--json var/bench/<name>.json``
(and ``--quick`` for the quick variant); its output goes to the terminal and to
``var/bench/<name>.log``. A script that has no ``--json`` option is run with ``--markdown`` and the
markdown tables it prints are kept instead. Then every block between ``<!-- bench:<name>:begin -->``
and ``<!-- bench:<name>:end -->`` in the page is replaced by the figures of that benchmark: when and
how long it ran, the commit (with a flag when the working tree differs), the machine (CPU, cores,
load average when it started), the command, its tables (each figure with the baseline measured in
the same run and the ratio), its targets and notes and its correctness checks. The block
``bench:summary`` lists the headline figures of all benchmarks. Text outside the markers is never
touched; a block whose benchmark failed or was skipped is left as it was, and one not selected
(``--only``) is rendered from its last result of the same kind (quick or full) in var/bench/.

A full run writes docs/performance.md; a ``--quick`` run writes the rendered page to
``var/bench/performance.md`` instead (``--output`` chooses), so a smoke run never replaces the
figures of a full one. ``--render-only`` rewrites the page from the JSON files already in
var/bench/ without running anything. Exit status: 1 when a benchmark failed (its exit status is
non-zero only on correctness errors), else 0 — figures below a target do not fail the run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import results

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = ROOT / "var" / "bench"
DOC = ROOT / "docs" / "performance.md"
PY = ROOT / ".venv" / "bin" / "python"
BLOCK = re.compile(r"(<!-- bench:([a-z_]+):begin -->\n)(.*?)(<!-- bench:\2:end -->)", re.DOTALL)


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    postgres: bool  # needs PostgreSQL on 127.0.0.1:5432
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ("--quick",)


BENCHMARKS = [
    Benchmark("locate", "locate.py", postgres=False),
    Benchmark("case_intake", "case_intake.py", postgres=True),
    Benchmark("registry_import", "registry_import.py", postgres=True),
    Benchmark("dashboard_groupby", "dashboard_groupby.py", postgres=True),
]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the --quick variant of each script")
    parser.add_argument(
        "--only",
        type=lambda text: [n.strip() for n in text.split(",") if n.strip()],
        default=None,
        help="comma-separated benchmarks to run: " + ", ".join(b.name for b in BENCHMARKS),
    )
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the page from var/bench/*.json"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="page to write (default: docs/performance.md; var/bench/performance.md with --quick)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only or []) - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.output is None:
        args.output = OUT / "performance.md" if args.quick else DOC
    return args


def postgres_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), 2).close()
    except OSError:
        return False
    return True


# --- running -----------------------------------------------------------------------------------


def run(bench: Benchmark, quick: bool) -> dict[str, Any]:
    """Run one benchmark; returns its status (and leaves var/bench/<name>.json when it writes one)."""
    script = BENCH / bench.script
    status: dict[str, Any] = {"benchmark": bench.name, "quick": quick}
    if not script.exists():
        print(f"\n##### {bench.name}: {script.relative_to(ROOT)} does not exist: skipped")
        return {**status, "status": "missing"}
    if bench.postgres and not postgres_answers():
        print(f"\n##### {bench.name}: PostgreSQL does not answer on 127.0.0.1:5432: skipped")
        return {**status, "status": "skipped: no PostgreSQL"}
    result = OUT / f"{bench.name}.json"
    result.unlink(missing_ok=True)
    has_json = '"--json"' in script.read_text(encoding="utf-8")
    cmd = [str(PY), str(script.relative_to(ROOT)), *(bench.quick if quick else bench.full)]
    cmd += ["--json", str(result.relative_to(ROOT))] if has_json else ["--markdown"]
    print(f"\n##### {bench.name}: {' '.join(cmd[1:])}", flush=True)
    log = OUT / f"{bench.name}.log"
    load = float(Path("/proc/loadavg").read_text().split()[0])
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None  # noqa: S101 — Popen with stdout=PIPE
        for line in proc.stdout:
            sys.stdout.write(line)
            out.write(line)
        proc.wait()
    seconds = time.monotonic() - started
    status.update(seconds=round(seconds, 1), exit=proc.returncode)
    if not has_json and proc.returncode == 0:
        parsed = from_markdown(bench, log.read_text(encoding="utf-8"), cmd, load, seconds, quick)
        result.write_text(json.dumps(parsed, ensure_ascii=False, indent=1) + "\n", "utf-8")
    status["status"] = "ok" if proc.returncode == 0 and result.exists() else "failed"
    print(f"##### {bench.name}: {status['status']} in {seconds:.0f} s", flush=True)
    return status


def from_markdown(
    bench: Benchmark, text: str, cmd: list[str], load: float, seconds: float, quick: bool
) -> dict[str, Any]:
    """A result for a script without --json: the markdown tables and lines it printed."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Machine:")), 0)
    tables, notes, software = [], [], ""
    block: list[str] = []
    for line in [*lines[start:], ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in block]
            align = "".join("r" if c.endswith(":") else "l" for c in cells[1])
            tables.append(results.table("", cells[0], cells[2:], align))
            block = []
        if line.startswith("Machine:"):
            software = line.removeprefix("Machine:").strip()
        elif line.strip() and not line.startswith(("(run took", "result written")):
            notes.append(line.strip().removeprefix("- "))
    machine = results.machine()
    machine["load_at_start"] = load
    return {
        "benchmark": bench.name,
        "title": bench.name.replace("_", " "),
        "quick": quick,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(seconds, 1),
        "machine": machine,
        "software": software,
        "commit": results.commit(),
        "command": " ".join([".venv/bin/python", *cmd[1:]]),
        "tables": tables,
        "figures": [],
        "targets": [],
        "notes": notes,
        "checks": None,
    }


# --- rendering ---------------------------------------------------------------------------------


def header(r: dict[str, Any]) -> list[str]:
    m, c = r["machine"], r["commit"]
    dirty = {True: " + uncommitted changes", False: "", None: " (working tree unknown)"}
    load = m.get("load_at_start")
    lines = [
        f"Measured {r['finished']} ({r['seconds']:.0f} s) at commit `{c['hash']}`"
        f"{dirty[c['dirty']]}, on {m['cores']} × {m['cpu']}, load average "
        f"{'?' if load is None else f'{load:.2f}'} at start"
        + (" — **quick run: smaller sizes, indicative only**." if r.get("quick") else "."),
        "",
        f"Command: `{r['command']}`",
    ]
    if r.get("software"):
        lines += ["", f"Software: {r['software']}"]
    return lines


def render(r: dict[str, Any]) -> str:
    lines = [
        "<!-- generated by bench/report.py from var/bench/"
        f"{r['benchmark']}.json: edit the script, not this block -->",
        "",
        *header(r),
    ]
    for t in r["tables"]:
        lines.append("")
        if t.get("caption"):
            lines += [t["caption"] + ":", ""]
        lines += results.markdown(t)
    if r["targets"]:
        lines += ["", "Targets:", ""]
        for t in r["targets"]:
            verdict = {True: "PASS", False: "FAIL", None: "—"}[t["met"]]
            lines.append(f"- {verdict} {t['target']}: {t['measured']}")
    if r["notes"]:
        lines += ["", *(f"- {note}" for note in r["notes"])]
    checks = r.get("checks")
    if checks:
        failed = "; FAILED: " + "; ".join(checks["failed"]) if checks["failed"] else ""
        lines += [
            "",
            f"Correctness: {checks['passed']} of {checks['total']} checks passed{failed}.",
        ]
    return "\n".join(lines) + "\n"


def _number(v: float, unit: str) -> str:
    if "share" in unit:
        return f"{v:.2%}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.2f}" if abs(v) < 10 else f"{v:,.1f}"


def render_summary(found: dict[str, dict[str, Any]], statuses: dict[str, str]) -> str:
    rows = []
    for bench in BENCHMARKS:
        r = found.get(bench.name)
        if r is None:
            rows.append([bench.name, statuses.get(bench.name, "no result"), "", "", "", ""])
            continue
        figures = [f for f in r["figures"] if "value" in f]
        if not figures:
            rows.append([bench.name, "see its block", "", "", "", ""])
        for f in figures:
            base = f.get("baseline")
            rows.append(
                [
                    f"{bench.name}: {f['what']}",
                    f"{_number(f['value'], f['unit'])} {f['unit'].replace('share', '')}".strip(),
                    base or "",
                    "" if base is None else _number(f["baseline_value"], f["unit"]),
                    "" if f.get("ratio") is None else f"{f['ratio']:.3g}",
                    f"{r['finished']}{' (quick)' if r.get('quick') else ''}",
                ]
            )
    passed = sum(1 for r in found.values() for t in r["targets"] if t["met"])
    total = sum(1 for r in found.values() for t in r["targets"] if t["met"] is not None)
    commits = sorted(
        {r["commit"]["hash"] + ("+" if r["commit"]["dirty"] else "") for r in found.values()}
    )
    t = results.table(
        "",
        ["figure", "value", "baseline (same run)", "baseline value", "ratio", "measured"],
        rows,
        "llllrl",
    )
    lines = [
        "<!-- generated by bench/report.py from var/bench/*.json: edit the scripts, not this "
        "block -->",
        "",
        f"Commit(s): {', '.join(f'`{c}`' for c in commits) or '—'} ('+': uncommitted changes). "
        f"Targets met: {passed} of {total}; each benchmark's block below has the details.",
        "",
        *results.markdown(t),
    ]
    return "\n".join(lines) + "\n"


def rewrite(page: Path, output: Path, found: dict[str, dict[str, Any]], statuses: dict) -> None:
    text = page.read_text(encoding="utf-8")
    seen, rewritten = set(), set()

    def block(match: re.Match) -> str:
        name = match.group(2)
        seen.add(name)
        if name == "summary":
            body = render_summary(found, statuses)
        elif name in found:
            body = render(found[name])
        else:
            return match.group(0)
        rewritten.add(name)
        return match.group(1) + "\n" + body + "\n" + match.group(4)

    text = BLOCK.sub(block, text)
    for name in sorted(set(found) - seen):
        print(f"warning: {page.name} has no block <!-- bench:{name}:begin --> for its figures")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    kept = ", ".join(sorted(seen - rewritten)) or "none"
    print(f"\n{shown}: blocks rewritten: {', '.join(sorted(rewritten)) or 'none'}; kept: {kept}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    selected = [b for b in BENCHMARKS if args.only is None or b.name in args.only]
    statuses: dict[str, str] = {}
    started = time.monotonic()
    if not args.render_only:
        runs = [run(b, args.quick) for b in selected]
        statuses = {s["benchmark"]: s["status"] for s in runs}
        summary = {
            "quick": args.quick,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "seconds": round(time.monotonic() - started, 1),
            "runs": runs,
        }
        previous = OUT / "run.json"
        if previous.exists():  # keep the last status of the benchmarks not run this time
            with contextlib.suppress(ValueError, KeyError):
                older = json.loads(previous.read_text(encoding="utf-8"))["runs"]
                summary["runs"] += [r for r in older if r["benchmark"] not in statuses]
        previous.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    # This run's results, and for benchmarks not selected this time the last result of the same
    # kind (quick or full) still in var/bench/, so that a partial run keeps the others' blocks.
    found = {}
    for b in BENCHMARKS:
        path = OUT / f"{b.name}.json"
        if not path.exists() or statuses.get(b.name, "ok") != "ok":
            continue
        r = json.loads(path.read_text(encoding="utf-8"))
        if args.render_only or bool(r.get("quick")) == args.quick:
            found[b.name] = r
    rewrite(DOC, args.output, found, statuses)
    print("\n== benchmarks")
    for name, status in statuses.items():
        print(f"  {name}: {status}")
    print(f"(all took {time.monotonic() - started:.0f} s)")
    return 1 if any(s == "failed" for s in statuses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
