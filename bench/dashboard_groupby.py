"""Baseline of live dashboard aggregations on PostgreSQL: plain SQL against the ORM.

Run from the repository root: ``.venv/bin/python bench/dashboard_groupby.py [--markdown]
[--quick] [--cases 100000] [--repeat 20]``.

There is no dashboard code yet; this measures what a live dashboard would ask the case table, so
the dashboard work starts from a baseline. The script creates a scratch database
(``wangge_bench_dashboard`` on 127.0.0.1:5432), migrates it with production-like settings (DEBUG
off), loads the Xicheng demo district (110102) and a year of demo cases with ``demo_data`` (100,000
by default, with their events; no population), runs ``ANALYZE``, and then times each aggregation
written twice, on the same Django connection:

* plain SQL through ``connection.cursor()`` (``fetchall``);
* the ORM, ``values(...).annotate(Count(...))``, evaluated to a list of dicts.

Aggregations over the last 365 days: cases per street × state (``substr(region_code, 1, 9)``: a
grid's code starts with its street's), and cases, open cases and overdue cases per grid (open =
the states of ``wangge.cases.workflow.OPEN_STATES``; overdue = the ``is_overdue`` flag). Each is
run twice to warm up, then ``--repeat`` times alternating SQL and ORM; median and p95 of the
client's time, the server's execution time (``EXPLAIN ANALYZE``, once) and the plan's top nodes.
It checks that both give the same groups and counts. Figures, not tests: the exit status is 1 only
when the answers differ. The scratch database is dropped at the end (``--keep-db`` keeps it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import results
from case_intake import database_url, production_env

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = "110102"
DB_NAME = "wangge_bench_dashboard"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="demo cases of the year")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query and variant")
    parser.add_argument("--quick", action="store_true", help="10,000 cases, 5 runs")
    parser.add_argument(
        "--server",
        default="host=127.0.0.1 port=5432 user=postgres dbname=postgres",
        help=f"libpq conninfo of a maintenance database (the scratch {DB_NAME!r} is made there)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the result there (read by bench/report.py)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.repeat = min(args.cases, 10_000), min(args.repeat, 5)
    return args


def recreate_database(server: str, *, create: bool = True) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        db = sql.Identifier(DB_NAME)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
        if create:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(db))


def load(cases: int) -> tuple[str, float]:
    """Migrate, then the demo district and its year of cases; returns the software line."""
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    t0 = time.perf_counter()
    call_command("demo_data", district=DISTRICT, cases=cases, population="none", stdout=sys.stdout)
    seconds = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("SELECT split_part(version(), ' ', 2)")
        pg = cur.fetchone()[0]
    print(f"demo district and {cases:,} cases loaded in {seconds:.0f} s")
    return f"Django {django.__version__}, PostgreSQL {pg} (same machine)", seconds


def queries() -> list[tuple[str, str, list[Any], Callable[[], list[tuple]]]]:
    """(label, plain SQL, its parameters, the ORM variant returning rows as tuples)."""
    from django.db.models import Count, Q
    from django.db.models.functions import Substr
    from django.utils import timezone

    from wangge.cases.models import Case
    from wangge.cases.workflow import OPEN_STATES

    since = timezone.now() - timedelta(days=365)
    open_states = sorted(OPEN_STATES)

    def street_state() -> list[tuple]:
        qs = (
            Case.objects.filter(created_at__gte=since)
            .annotate(street=Substr("region_code", 1, 9))
            .values("street", "state")
            .annotate(n=Count("id"))
            .order_by()
        )
        return [(r["street"], r["state"], r["n"]) for r in qs]

    def grid_overdue() -> list[tuple]:
        qs = (
            Case.objects.filter(created_at__gte=since)
            .values("grid")
            .annotate(
                n=Count("id"),
                open=Count("id", filter=Q(state__in=open_states)),
                overdue=Count("id", filter=Q(is_overdue=True)),
            )
            .order_by()
        )
        return [(r["grid"], r["n"], r["open"], r["overdue"]) for r in qs]

    return [
        (
            "cases per street × state, last 365 days",
            "SELECT substr(region_code, 1, 9), state, count(*) FROM cases_case "
            "WHERE created_at >= %s GROUP BY 1, 2",
            [since],
            street_state,
        ),
        (
            "cases, open and overdue per grid, last 365 days",
            "SELECT grid_id, count(*), count(*) FILTER (WHERE state = ANY(%s)), "
            "count(*) FILTER (WHERE is_overdue) FROM cases_case WHERE created_at >= %s "
            "GROUP BY grid_id",
            [open_states, since],
            grid_overdue,
        ),
    ]


def explain(sql: str, params: list[Any]) -> tuple[float, str]:
    """Server execution time (ms) and the plan's top nodes, from one EXPLAIN ANALYZE."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        doc = cur.fetchone()[0]
    doc = doc[0] if isinstance(doc, list) else doc
    nodes, node = [], doc["Plan"]
    while node is not None and len(nodes) < 4:
        nodes.append(node["Node Type"])
        node = (node.get("Plans") or [None])[0]
    return float(doc["Execution Time"]), " ← ".join(nodes)


def measure(repeat: int) -> tuple[list[dict[str, Any]], list[tuple[str, bool, str]]]:
    from django.db import connection

    rows, checks = [], []
    for label, sql, params, orm in queries():

        def plain(sql: str = sql, params: list[Any] = params) -> list[tuple]:
            with connection.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()

        for _ in range(2):
            plain(), orm()
        times: dict[str, list[float]] = {"sql": [], "orm": []}
        answers: dict[str, list[tuple]] = {}
        for _ in range(repeat):
            for name, fn in (("sql", plain), ("orm", orm)):
                t0 = time.perf_counter()
                answers[name] = fn()
                times[name].append((time.perf_counter() - t0) * 1e3)
        server_ms, plan = explain(sql, params)
        same = sorted(map(tuple, answers["sql"])) == sorted(answers["orm"])
        checks.append(
            (f"{label}: ORM = SQL", same, f"{len(answers['sql'])} / {len(answers['orm'])} groups")
        )
        med = {k: float(np.median(v)) for k, v in times.items()}
        p95 = {k: float(np.percentile(v, 95)) for k, v in times.items()}
        counted = sum(r[1] if "per grid" in label else r[2] for r in answers["sql"])
        rows.append(
            {
                "what": label,
                "groups": len(answers["sql"]),
                "cases": counted,
                "server_ms": server_ms,
                "plan": plan,
                "sql_median_ms": med["sql"],
                "sql_p95_ms": p95["sql"],
                "orm_median_ms": med["orm"],
                "orm_p95_ms": p95["orm"],
                "ratio": med["orm"] / med["sql"],
            }
        )
        print(
            f"  {label}: {len(answers['sql'])} groups over {counted:,} cases; server "
            f"{server_ms:.1f} ms ({plan}); SQL median {med['sql']:.1f} ms, ORM "
            f"{med['orm']:.1f} ms (× {med['orm'] / med['sql']:.2f})"
        )
    return rows, checks


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="wangge-bench-dashboard-"))
    (tmp / "var" / "static").mkdir(parents=True)
    env = production_env(database_url(args.server, DB_NAME), tmp / "var")
    recreate_database(args.server)
    try:
        os.environ.update(env)
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        software, load_seconds = load(args.cases)
        print(f"\n== {args.repeat} timed runs per query and variant")
        rows, checks = measure(args.repeat)

        def ms(v: float) -> str:
            return f"{v:,.1f} ms" if v >= 10 else f"{v:,.2f} ms"

        table = results.table(
            "Live aggregations over the demo year on PostgreSQL; client time of one query and "
            f"fetch, {args.repeat} runs each; ORM / SQL: the ORM's median over plain SQL's",
            [
                "aggregation",
                "groups",
                "cases",
                "server (EXPLAIN ANALYZE)",
                "plain SQL p50",
                "p95",
                "ORM values().annotate(Count) p50",
                "p95",
                "ORM / SQL",
            ],
            [
                [
                    r["what"],
                    f"{r['groups']:,}",
                    f"{r['cases']:,}",
                    ms(r["server_ms"]),
                    ms(r["sql_median_ms"]),
                    ms(r["sql_p95_ms"]),
                    ms(r["orm_median_ms"]),
                    ms(r["orm_p95_ms"]),
                    f"× {r['ratio']:.2f}",
                ]
                for r in rows
            ],
        )
        notes = [f"{r['what']}: plan {r['plan']}" for r in rows]
        notes.append(
            f"demo data: {args.cases:,} cases of the year with their events, generated by "
            f"demo_data in {load_seconds:.0f} s (not part of the figures); ANALYZE before timing"
        )
        print()
        results.print_text(table)
        for _, ok, detail in checks:
            print(f"  check {'ok  ' if ok else 'FAIL'} {detail}")
        if args.markdown:
            print("\n" + "\n".join(results.markdown(table)))
        figures = [
            {
                "what": r["what"],
                "unit": "ms median (ORM)",
                "value": r["orm_median_ms"],
                "baseline": "plain SQL, same connection",
                "baseline_value": r["sql_median_ms"],
                "ratio": r["ratio"],
                "server_ms": r["server_ms"],
            }
            for r in rows
        ]
        results.write(
            args.json,
            "dashboard_groupby",
            title="Live GROUP BY for dashboards",
            software=software,
            tables=[table],
            figures=figures,
            notes=notes,
            checks=checks,
            quick=args.quick,
        )
        return 0 if all(ok for _, ok, _ in checks) else 1
    finally:
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
        if not args.keep_db:
            recreate_database(args.server, create=False)
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
