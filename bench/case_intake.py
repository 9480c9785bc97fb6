"""Benchmark of case intake (POST /api/v1/cases/) on PostgreSQL, full stack, against raw inserts.

Run from the repository root: ``.venv/bin/python bench/case_intake.py [--markdown]``.

The script creates a scratch PostgreSQL database (``wangge_bench_intake`` on 127.0.0.1:5432 by
default), migrates it, imports the Xicheng demo district (110102), adds a category and a grid worker
with an API token, COPYs a history of archived cases (so the table and its indexes are not empty),
and then measures, in the same run and on the same rows:

* full stack: gunicorn (gthread workers, production-like settings: DEBUG off, secret and PII keys
  set, persistent database connections) serving the product's ``POST /api/v1/cases/`` with token
  authentication, loaded by keep-alive connections over loopback (one timed run per count of
  ``--connections``, 8, 16 and 32 by default, against the same gunicorn) with points drawn at random
  inside the district's social grids; creations/s, latency p50/p95/p99 and answers other than 2xx;
* bare Django: the same gunicorn settings serving ``bench/intake_bare_wsgi.py``, one view that only
  does ``Case.objects.create`` of the same columns (no authentication, validation, point lookup,
  numbering, deadline, event or detail), at the same connection counts;
* raw INSERT: single-row transactions of the same columns into ``cases_case``, with pgbench
  (``--pgbench-clients`` 4, 8, 16 plus the connection counts, prepared statements) and with psycopg
  (16 threads, one connection each); and raw COPY: the history rows loaded at set-up, one COPY,
  timed alone (rows/s into the real table with all its indexes);
* the point lookup's share of request time: ``py-spy record`` of every gunicorn worker under 16
  connections, in a separate pass after the timed runs (target < 5 %);
* where the time goes: CPU used per creation by gunicorn, PostgreSQL, the load generator and the
  rest of the machine (from /proc), what the database backends wait for (pg_stat_activity), and a
  cProfile of a few hundred API creations in-process (Django test client), grouped by step of the
  request, with the queries of one creation.

Each HTTP variant has a warm-up, then ``ANALYZE`` of the case tables (what autovacuum would do on a
live table; the server may run without it), then the timed part.

It checks that every 201 created exactly one row (and one event on the full stack) and that no
request failed, and prints the figures with PASS/FAIL against the targets of the issue. The targets
are figures, not tests: the exit status is 0 whatever the figures, and 1 only on correctness errors
(a non-201 answer, a failed request, a row count that does not match). The scratch database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import http.client
import itertools
import json
import os
import platform
import pstats
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import results

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DISTRICT = "110102"
SEED = 2026
DB_NAME = "wangge_bench_intake"
LAYER = "social"  # the layer case intake locates a point in (locate.DEFAULT_LAYER)
TARGET_RATE = 300.0
TARGET_P99_MS = 250.0
TARGET_RAW_SHARE = 0.03
TARGET_BARE_SHARE = 0.40
TARGET_LOCATE_SHARE = 0.05
API_PATH = "/api/v1/cases/"
BARE_PATH = "/bare/cases/"
DEADLINE = timedelta(hours=2)  # a fixed stage deadline for the bare and raw rows


# --- the columns of one case, shared with bench/intake_bare_wsgi.py -----------------------------


def case_columns(data: dict[str, Any], number: str, now: datetime) -> dict[str, Any]:
    """Every column case intake writes for a patrol report, by attname (the raw and bare rows)."""
    return {
        "number": number,
        "source": "patrol",
        "category_id": data["category"],
        "condition": "",
        "description": data["description"],
        "address": data["address"],
        "lng": data["lng"],
        "lat": data["lat"],
        "h3_cell": data["h3_cell"],
        "grid_id": data["grid_id"],
        "region_code": data["region_code"],
        "area_grade": "B",
        "reporter_id": data["reporter_id"],
        "reporter_name": "",
        "reporter_phone_token": "",
        "reporter_phone_hash": "",
        "reporter_phone_masked": "",
        "urgency": "normal",
        "state": "reported",
        "level": "grid",
        "owner_department_id": None,
        "owner_user_id": None,
        "handled_by_id": None,
        "stage": "accept",
        "stage_started_at": now,
        "stage_deadline": now + DEADLINE,
        "stage_unit": "working_hour",
        "is_overdue": False,
        "is_supervised": False,
        "is_suspended": False,
        "suspended_until": None,
        "extension_requested": False,
        "outcome": "",
        "satisfaction": "",
        "merged_into_id": None,
        "supporters": 0,
        "return_count": 0,
        "rework_count": 0,
        "self_handled": False,
        "created_at": now,
        "accepted_at": None,
        "closed_at": None,
        "updated_at": now,
        "version": 0,
    }


TIME_COLUMNS = {"stage_started_at", "stage_deadline", "created_at", "updated_at"}


# --- report ------------------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    requests: int
    seconds: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    cpu: dict[str, float] | None = None  # cores used during the timed run, by process group
    backends: dict[str, float] | None = None  # what the database backends were doing, shares
    non_2xx: int = 0  # answers other than 2xx, warm-up included
    failed: int = 0  # requests without an answer (connection errors)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def cpu_ms(self, group: str) -> float | None:
        """CPU milliseconds of ``group`` per creation."""
        return None if not self.cpu else self.cpu[group] / self.rate * 1e3


@dataclass
class Report:
    rows: dict[str, Row] = field(default_factory=dict)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    targets: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: list[tuple[str, float, float]] = field(default_factory=list)  # step, ms/req, share

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))
        print(f"  check {'ok  ' if ok else 'FAIL'} {name}: {detail}")


# --- set-up ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument(
        "--server",
        default="host=127.0.0.1 port=5432 user=postgres dbname=postgres",
        help="libpq conninfo of a maintenance database of the PostgreSQL server "
        f"(the scratch database {DB_NAME!r} is created and dropped there)",
    )
    parser.add_argument(
        "--connections",
        type=_int_list,
        default=[8, 16, 32],
        help="concurrent connections, one timed run each against the same gunicorn (e.g. 8,16,32)",
    )
    parser.add_argument(
        "--pgbench-clients",
        type=_int_list,
        default=[4, 8, 16],
        help="pgbench clients of the raw INSERT baseline, one run each; the --connections counts "
        "are added so that every intake run has its raw baseline",
    )
    parser.add_argument(
        "--pyspy-seconds",
        type=float,
        default=10.0,
        help="py-spy sampling of every gunicorn worker under 16 connections (0: skip)",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write the result there (read by bench/report.py)"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per HTTP variant")
    parser.add_argument("--raw-duration", type=float, default=10.0, help="seconds per raw variant")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds of load before timing")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--profile-requests", type=int, default=300, help="API creations profiled in-process"
    )
    parser.add_argument("--quick", action="store_true", help="5 s per variant, 100 profiled")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument(
        "--history", type=int, default=50_000, help="archived cases loaded before the runs"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random points")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.raw_duration, args.warmup, args.profile_requests = 4.0, 3.0, 2.0, 50
        args.history = min(args.history, 10_000)
        args.pyspy_seconds = min(args.pyspy_seconds, 4.0)
    return args


def _int_list(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"not a list of positive integers: {text!r}")
    return values


def conninfo_for(server: str, dbname: str) -> str:
    import psycopg

    params = psycopg.conninfo.conninfo_to_dict(server)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**params)


def database_url(server: str, dbname: str) -> str:
    import psycopg

    p = psycopg.conninfo.conninfo_to_dict(server)
    user = p.get("user", "postgres")
    auth = f"{user}:{p['password']}" if p.get("password") else user
    return f"postgres://{auth}@{p.get('host', '127.0.0.1')}:{p.get('port', 5432)}/{dbname}"


def create_database(server: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        db = sql.Identifier(DB_NAME)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(db))


def drop_database(server: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME))
        )


def production_env(url: str, var_dir: Path) -> dict[str, str]:
    """The environment of the bench process and of the gunicorns: DEBUG off, real keys."""

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "wangge.settings",
            "WANGGE_DEBUG": "0",
            "WANGGE_SECRET_KEY": secrets.token_urlsafe(48),
            "WANGGE_PII_KEYS": f"bench:{key()}",
            "WANGGE_PII_HASH_KEY": key(),
            "WANGGE_DATABASE_URL": url,
            "WANGGE_DB_CONN_MAX_AGE": "600",
            "WANGGE_ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on loopback: production would sit behind TLS (docs/operations.md).
            "WANGGE_SSL_REDIRECT": "0",
            "WANGGE_VAR_DIR": str(var_dir),
            "WANGGE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrated in {time.perf_counter() - t0:.1f} s")


def load_fixtures() -> dict[str, Any]:
    """Demo district, a small-class category, a grid worker with a token; returns their ids."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from wangge.cases.models import Category
    from wangge.core.models import ScopeGrant, User
    from wangge.demo.territory import build_territory
    from wangge.regions.models import Region
    from wangge.regions.services import territory_import

    t0 = time.perf_counter()
    data = build_territory(DISTRICT, ROOT / "wangge" / "demo" / "data", seed=SEED)
    built = time.perf_counter()
    result = territory_import(data=data, actor=None)
    if not result.ok:
        raise SystemExit(f"demo import failed: {result.problems[:5]}")
    print(
        f"demo district {DISTRICT}: {len(data['features'])} features built in {built - t0:.1f} s, "
        f"imported in {time.perf_counter() - built:.1f} s"
    )
    category = (
        Category.objects.filter(active=True, parent__isnull=False, parent__active=True)
        .order_by("id")
        .first()
    )
    if category is None:  # no taxonomy seed yet: a local big class and small class of our own
        big = Category.objects.create(
            kind=Category.Kind.MATTER,
            code="bench",
            name="基准测试大类",
            domain="city_management",
            is_local=True,
        )
        category = Category.objects.create(
            kind=Category.Kind.MATTER,
            code="bench001",
            name="基准测试小类",
            domain="city_management",
            parent=big,
            is_local=True,
        )
    user = User.objects.create_user("bench_worker", password=None)
    ScopeGrant.objects.create(user=user, prefix=DISTRICT)
    user.groups.add(Group.objects.get(name="grid_worker"))
    token = Token.objects.create(user=user)
    district = Region.objects.get(code=DISTRICT)
    print(f"category {category.code} {category.name} (id {category.pk}); user {user.username}")
    return {
        "category": category.pk,
        "category_label": f"{category.code} {category.name}",
        "user": user.pk,
        "token": token.key,
        "bbox": (district.min_lng, district.min_lat, district.max_lng, district.max_lat),
    }


def sample_points(bbox: tuple[float, ...], n: int, seed: int) -> list[dict[str, Any]]:
    """n points uniform in the district's social grids, with what intake derives from each."""
    from wangge.regions import locate

    rng = np.random.default_rng(seed)
    xs = rng.uniform(bbox[0], bbox[2], 3 * n)
    ys = rng.uniform(bbox[1], bbox[3], 3 * n)
    positions, refs = locate.grid_positions_at(xs, ys, LAYER)
    inside = np.flatnonzero(positions >= 0)[:n]
    if len(inside) < n:
        raise SystemExit(f"only {len(inside)} of {3 * n} random points fell in a {LAYER} grid")
    points = []
    for k, i in enumerate(inside.tolist()):
        ref = refs[positions[i]]
        lng, lat = round(float(xs[i]), 7), round(float(ys[i]), 7)
        points.append(
            {
                "lng": lng,
                "lat": lat,
                "description": f"井盖缺失，路面有坑 (bench {k})",
                "address": f"西城区测试路{k % 500 + 1}号",
                "grid_id": ref.id,
                "region_code": ref.code,
                "h3_cell": locate.h3_cell(lng, lat),
            }
        )
    return points


def load_history(
    conninfo: str, points: list[dict[str, Any]], fixtures: dict[str, Any], n: int, seed: int
) -> Row | None:
    """n archived cases of the past year, across the active small classes, COPYed in one go.

    A live case table has a history: the indexes intake updates are not empty, and the duplicate
    search (same category, 72 hours) must skip it through its index. The COPY itself (rows built
    beforehand) is timed: it is the bulk baseline of writing realistic case rows into the real
    table, with all its indexes and constraints.
    """
    import psycopg
    from psycopg import sql

    from wangge.cases.models import Category

    if n <= 0:
        return None
    t0 = time.perf_counter()
    categories = list(
        Category.objects.filter(active=True, parent__isnull=False).values_list("pk", flat=True)
    )
    rng = np.random.default_rng(seed + 1)
    now = datetime.now(UTC)
    ages = rng.uniform(4 * 86400, 365 * 86400, n)
    picks = rng.integers(0, len(categories), n)
    columns = list(case_columns(_data(points[0], fixtures), "", now))
    copy_sql = sql.SQL("COPY cases_case ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    rows = []
    for i in range(n):
        created = now - timedelta(seconds=float(ages[i]))
        closed = created + timedelta(days=2)
        data = {**_data(points[i % len(points)], fixtures), "category": categories[picks[i]]}
        row = case_columns(data, f"{DISTRICT}-H-{i + 1:07d}", created)
        row.update(
            state="archived",
            stage="",
            stage_started_at=None,
            stage_deadline=None,
            stage_unit="",
            outcome="fixed",
            accepted_at=created + timedelta(hours=1),
            closed_at=closed,
            updated_at=closed,
        )
        rows.append(list(row.values()))
    built = time.perf_counter()
    checkpoint()
    cpu_start = cpu_snapshot(None)
    t1 = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    seconds = time.perf_counter() - t1
    cpu = cpu_used(cpu_start, cpu_snapshot(None))
    print(
        f"history: {n:,} archived cases over {len(categories)} categories built in "
        f"{built - t0:.1f} s, COPYed in {seconds:.2f} s ({n / seconds:,.0f} rows/s)"
    )
    return Row("raw COPY of archived case rows (one COPY)", n, seconds, cpu=cpu)


def environment() -> str:
    import django
    import psycopg

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT split_part(version(), ' ', 2), current_setting('synchronous_commit'), "
            "current_setting('autovacuum')"
        )
        pg, sync, autovacuum = cur.fetchone()
    gunicorn = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return (
        f"{os.cpu_count()} × {cpu}; Python {platform.python_version()}, Django {django.__version__}, "
        f"gunicorn {gunicorn[-1].strip(')') if gunicorn else '?'}, psycopg {psycopg.__version__}, "
        f"PostgreSQL {pg} (synchronous_commit={sync}, autovacuum={autovacuum}, same machine)"
    )


# --- row counts --------------------------------------------------------------------------------


def counts() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM cases_case), (SELECT count(*) FROM cases_caseevent)"
        )
        return cur.fetchone()


def analyze() -> None:
    """Refresh the planner's statistics of the tables intake writes (autovacuum may be off)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE cases_case, cases_caseevent, cases_casenumbersequence")


def checkpoint() -> None:
    """Flush dirty pages before a variant, so no variant pays for an earlier one's checkpoint."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")


# --- CPU accounting ----------------------------------------------------------------------------

CPU_GROUPS = ("server", "postgres", "client", "other")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_snapshot(server_pid: int | None) -> tuple[float, dict[str, float]] | None:
    """(monotonic time, CPU seconds by group): the gunicorn master and its workers ("server"),
    PostgreSQL processes, the load generator ("client": this process or pgbench) and the rest of
    the machine.
    """
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields]
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / _TICKS  # all but idle and iowait
    groups = dict.fromkeys(CPU_GROUPS, 0.0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        pid, ppid, used = int(entry.name), int(rest[1]), (int(rest[11]) + int(rest[12])) / _TICKS
        if server_pid is not None and server_pid in (pid, ppid):
            groups["server"] += used
        elif name.startswith("postgres"):
            groups["postgres"] += used
        elif pid == os.getpid() or name == "pgbench":
            groups["client"] += used
    groups["other"] = busy - sum(groups.values())
    return time.monotonic(), groups


def cpu_used(
    start: tuple[float, dict[str, float]] | None, end: tuple[float, dict[str, float]] | None
) -> dict[str, float] | None:
    """Cores used by each group between two snapshots ("other" = machine busy minus the rest)."""
    if start is None or end is None:
        return None
    seconds = end[0] - start[0]
    return {g: max(0.0, (end[1][g] - start[1][g]) / seconds) for g in CPU_GROUPS}


def cpu_text(cpu: dict[str, float] | None) -> str:
    if not cpu:
        return ""
    return ", ".join(f"{g} {cpu[g]:.2f}" for g in CPU_GROUPS)


class WaitSampler:
    """Samples what the bench database's client backends are doing, 20 times a second."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.counts: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        query = (
            "SELECT CASE WHEN state = 'idle in transaction' THEN 'idle in transaction' "
            "WHEN state = 'idle' THEN 'idle' WHEN wait_event_type = 'Lock' THEN 'lock' "
            "WHEN wait_event_type IS NULL THEN 'running' "
            "ELSE lower(wait_event_type) END FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                self.counts.update(row[0] for row in conn.execute(query))

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def shares(self) -> dict[str, float]:
        total = sum(self.counts.values()) or 1
        return {state: n / total for state, n in self.counts.most_common()}


# --- gunicorn ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app: str, env: dict[str, str], args: argparse.Namespace, log: Path) -> Any:
    port = free_port()
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        app,
        "--pythonpath",
        str(BENCH),
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--keep-alive",
        "10",
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {proc.returncode}; see {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not listen on :{port}; see {log}") from None
                time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- HTTP load ---------------------------------------------------------------------------------


@dataclass
class Load:
    statuses: Counter  # every answer
    errors: list[str]
    timed: int  # answers completed within the duration
    seconds: float
    latencies_ms: np.ndarray  # of the answers within the duration
    sample: bytes = b""


def http_load(
    port: int,
    path: str,
    bodies: list[bytes],
    headers: dict[str, str],
    connections: int,
    duration: float,
    first_body: int = 0,
) -> Load:
    """``connections`` threads, one keep-alive connection each, POSTing bodies round robin."""
    next_body = itertools.count(first_body)
    t_end = time.perf_counter() + duration
    results: list[list[tuple[float, float, int]]] = [[] for _ in range(connections)]
    errors: list[str] = []
    sample: list[bytes] = []
    head = {"Content-Type": "application/json", "Host": "127.0.0.1", **headers}

    def worker(k: int) -> None:
        out = results[k]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        clock = time.perf_counter
        while True:
            t0 = clock()
            if t0 >= t_end:
                break
            body = bodies[next(next_body) % len(bodies)]
            try:
                conn.request("POST", path, body=body, headers=head)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            t1 = clock()
            out.append((t1, t1 - t0, response.status))
            if response.status != 201 and len(sample) < 3:
                sample.append(data[:500])
            elif not sample and k == 0 and len(out) == 50:
                sample.append(data[:300])
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [r for rs in results for r in rs]
    statuses = Counter(status for _, _, status in flat)
    timed = np.array([lat for t1, lat, _ in flat if t1 < t_end]) * 1e3
    return Load(statuses, errors, len(timed), duration, timed, b"\n".join(sample))


def bench_http(
    label: str,
    server: tuple[int, int],
    path: str,
    bodies: list[bytes],
    headers: dict[str, str],
    args: argparse.Namespace,
    report: Report,
    events_per_row: int,
    connections: int,
) -> Row:
    print(
        f"\n== {label}: {connections} connections, {args.warmup:g} s warm-up, "
        f"{args.duration:g} s timed"
    )
    checkpoint()
    before = counts()
    port, server_pid = server
    warm = http_load(port, path, bodies, headers, connections, args.warmup)
    # On a busy machine the first answers (each worker building its caches) may take longer than
    # the warm-up: warm up again until every connection has had answers, for at most 60 s.
    waited = args.warmup
    while warm.timed < 2 * connections and waited < 60:
        more = http_load(
            port, path, bodies, headers, connections, args.warmup, sum(warm.statuses.values())
        )
        waited += args.warmup
        warm.statuses += more.statuses
        warm.errors += more.errors
        warm.timed += more.timed
    analyze()  # what autovacuum would do on a live table: plans for the rows now there
    cpu_start = cpu_snapshot(server_pid)
    with WaitSampler(conninfo_for(args.server, DB_NAME)) as waits:
        load = http_load(
            port,
            path,
            bodies,
            headers,
            connections,
            args.duration,
            sum(warm.statuses.values()),
        )
    cpu = cpu_used(cpu_start, cpu_snapshot(server_pid))
    after = counts()
    load.statuses += warm.statuses
    load.errors += warm.errors
    created = load.statuses.get(201, 0)
    if not load.timed:
        raise SystemExit(f"{label}: no answer within {args.duration:g} s")
    p50, p95, p99 = np.percentile(load.latencies_ms, [50, 95, 99]).tolist()
    row = Row(label, load.timed, load.seconds, p50, p95, p99, cpu)
    row.non_2xx = sum(n for status, n in load.statuses.items() if not 200 <= status < 300)
    row.failed = len(load.errors)
    print(
        f"  {row.rate:,.0f} creations/s; latency p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms, max {load.latencies_ms.max():.0f} ms ({load.timed:,} timed, "
        f"{warm.timed:,} in the warm-up at {warm.timed / waited:,.0f}/s)"
    )
    if cpu:
        print(
            f"  cores used: {cpu_text(cpu)}; per creation: gunicorn {row.cpu_ms('server'):.2f} ms, "
            f"PostgreSQL {row.cpu_ms('postgres'):.2f} ms of CPU"
        )
    backends = ", ".join(f"{state} {share:.0%}" for state, share in waits.shares().items())
    print(f"  database backends (sampled every 50 ms): {backends}")
    row.backends = waits.shares()
    if load.sample:
        print(f"  sample answer: {load.sample[:300]!r}")
    others = {s: n for s, n in load.statuses.items() if s != 201}
    report.check(f"{label}: every answer 201", not others, f"other statuses: {others or 'none'}")
    report.check(
        f"{label}: no failed request",
        not load.errors,
        f"{len(load.errors)} errors" + (f", first: {load.errors[0]}" if load.errors else ""),
    )
    report.check(
        f"{label}: one row per 201",
        after[0] - before[0] == created,
        f"{after[0] - before[0]:,} rows for {created:,} answers 201",
    )
    if events_per_row:
        report.check(
            f"{label}: one event per 201",
            after[1] - before[1] == created * events_per_row,
            f"{after[1] - before[1]:,} events",
        )
    return row


# --- py-spy: where the workers' time goes under load -------------------------------------------

LOCATE_FILE = "wangge/regions/locate.py"
REQUEST_FRAME = "django/core/handlers/"  # a sample inside Django's request handling


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(entry.path, "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def pyspy_share(
    server: tuple[int, int],
    bodies: list[bytes],
    headers: dict[str, str],
    args: argparse.Namespace,
    tmp: Path,
    connections: int = 16,
) -> dict[str, Any] | None:
    """Share of the gunicorn workers' request-handling samples spent in the point lookup.

    A separate pass after the timed runs (so the sampler's CPU does not disturb their figures): the
    same gunicorn under ``connections`` keep-alive connections, and one ``py-spy record --format
    raw --rate 200 --nonblocking --idle`` per worker. A sample counts as request handling when its
    stack holds a frame of ``django/core/handlers/``, as point lookup when it also holds one of
    ``wangge/regions/locate.py``. ``--idle`` keeps the samples of threads that wait (for
    PostgreSQL, for the CPU): the share is one of the request's wall time, not of its CPU time.
    """
    exe = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    if args.pyspy_seconds <= 0 or not Path(exe).exists():
        print("\n== py-spy: skipped" + ("" if args.pyspy_seconds <= 0 else " (not installed)"))
        return None
    port, master = server
    pids = worker_pids(master)
    seconds = max(1, round(args.pyspy_seconds))
    print(f"\n== py-spy: {len(pids)} workers, {connections} connections, {seconds} s at 200 Hz")
    outputs = [tmp / f"pyspy-{pid}.txt" for pid in pids]
    load: dict[str, Load] = {}
    loader = threading.Thread(
        target=lambda: load.update(
            run=http_load(port, API_PATH, bodies, headers, connections, seconds + 2.0, 7_000)
        )
    )
    loader.start()
    time.sleep(1.0)
    spies = [
        subprocess.Popen(
            [exe, "record", "--format", "raw", "--rate", "200", "--nonblocking", "--idle", "-d",
             str(seconds), "-p", str(pid), "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pid, out in zip(pids, outputs, strict=True)
    ]  # fmt: skip
    problems = []
    for spy in spies:
        _, err = spy.communicate()
        if spy.returncode != 0:
            problems.append(err.strip().splitlines()[-1] if err.strip() else str(spy.returncode))
    loader.join()
    if problems:
        print(f"  py-spy failed: {problems[0]} (ptrace needs root or CAP_SYS_PTRACE)")
        return {"error": problems[0]}
    total = request = locate_samples = 0
    for out in outputs:
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            if REQUEST_FRAME in stack:
                request += n
                if LOCATE_FILE in stack:
                    locate_samples += n
    run = load.get("run")
    non_2xx = sum(n for st, n in run.statuses.items() if not 200 <= st < 300) if run else None
    share = locate_samples / request if request else None
    print(
        f"  {total:,} samples, {request:,} in request handling, {locate_samples:,} in "
        f"{LOCATE_FILE}: {share:.2%} of request time"
        if share is not None
        else f"  {total:,} samples, none in request handling"
    )
    return {
        "samples": total,
        "request_samples": request,
        "locate_samples": locate_samples,
        "share": share,
        "workers": len(pids),
        "seconds": seconds,
        "connections": connections,
        "non_2xx": non_2xx,
    }


# --- raw INSERT --------------------------------------------------------------------------------


def raw_prepare(conninfo: str, points: list[dict[str, Any]], fixtures: dict[str, Any]) -> list[str]:
    """A table bench_rows(id, the case columns) of the points for pgbench; returns the columns."""
    import psycopg
    from psycopg import sql

    now = datetime.now(UTC)
    columns = list(case_columns(_data(points[0], fixtures), "", now))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_rows (LIKE cases_case INCLUDING DEFAULTS)")
        conn.execute("CREATE SEQUENCE bench_raw_number")
        copy_sql = sql.SQL("COPY bench_rows ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, ["id", *columns]))
        )
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for i, point in enumerate(points, start=1):
                values = case_columns(_data(point, fixtures), f"T{i}", now)
                copy.write_row([i, *values.values()])
        conn.execute("ALTER TABLE bench_rows ADD PRIMARY KEY (id)")
        conn.execute("ANALYZE bench_rows")
    return columns


def _data(point: dict[str, Any], fixtures: dict[str, Any]) -> dict[str, Any]:
    return {**point, "category": fixtures["category"], "reporter_id": fixtures["user"]}


def bench_pgbench(
    conninfo: str,
    columns: list[str],
    n_points: int,
    args: argparse.Namespace,
    tmp: Path,
    clients: int,
) -> tuple[Row, int, int] | None:
    """pgbench: one INSERT … SELECT of a random bench_rows row per transaction."""
    import psycopg

    exe = shutil.which("pgbench")
    if exe is None:
        print("\n== raw INSERT, pgbench: pgbench not on PATH, skipped")
        return None
    times = {
        "number": "'R' || nextval('bench_raw_number')",
        "stage_deadline": f"now() + interval '{int(DEADLINE.total_seconds())} seconds'",
        **{c: "now()" for c in TIME_COLUMNS - {"stage_deadline"}},
    }
    select = ", ".join(times.get(c, c) for c in columns)
    script = tmp / "insert.sql"
    script.write_text(
        f"\\set i random(1, {n_points})\n"  # noqa: S608 — columns are Case's attnames
        f"INSERT INTO cases_case ({', '.join(columns)}) SELECT {select} "
        "FROM bench_rows WHERE id = :i;\n"
    )
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    cmd = [
        exe,
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        str(min(2, clients)),
        "-T",
        str(max(1, round(args.raw_duration))),
        "-f",
        str(script),
        "-l",
        "--log-prefix",
        str(tmp / "pgbench_log"),
        "-h",
        params.get("host", "127.0.0.1"),
        "-p",
        str(params.get("port", 5432)),
        "-U",
        params.get("user", "postgres"),
        DB_NAME,
    ]
    print(f"\n== raw INSERT, pgbench: {clients} clients, {args.raw_duration:g} s")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PGPASSWORD": params.get("password", "")},
    )
    seconds = max(1, round(args.raw_duration))
    time.sleep(min(1.0, seconds / 4))  # the clients are connected
    cpu_start = cpu_snapshot(None)
    time.sleep(seconds / 2)
    cpu = cpu_used(cpu_start, cpu_snapshot(None))
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        print(f"  pgbench failed ({proc.returncode}): {stderr.strip()[-500:]}")
        return None
    tps = float(re.search(r"tps = ([0-9.]+)", stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", stdout)
    done = int(re.search(r"number of transactions actually processed: (\d+)", stdout).group(1))
    lat = []
    for log in tmp.glob("pgbench_log*"):
        lat += [int(line.split()[2]) for line in log.read_text().splitlines() if line.strip()]
        log.unlink()
    p50, p95, p99 = np.percentile(np.array(lat) / 1e3, [50, 95, 99]).tolist() if lat else [None] * 3
    row = Row(
        f"raw INSERT, pgbench, {clients} clients",
        round(tps * args.raw_duration),
        args.raw_duration,
        p50,
        p95,
        p99,
        cpu,
    )
    print(f"  {tps:,.0f} inserts/s; latency p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms")
    if cpu:
        print(f"  cores used: {cpu_text(cpu)}")
    return row, done, int(failed.group(1)) if failed else 0


def bench_psycopg(
    conninfo: str,
    points: list[dict[str, Any]],
    fixtures: dict[str, Any],
    args: argparse.Namespace,
    clients: int,
) -> tuple[Row, int, list[str]]:
    """psycopg: threads with one autocommit connection each, one prepared INSERT per transaction."""
    import psycopg
    from psycopg import sql

    now = datetime.now(UTC)
    columns = list(case_columns(_data(points[0], fixtures), "", now))
    insert = sql.SQL("INSERT INTO cases_case ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    data = [_data(p, fixtures) for p in points]
    conns = [psycopg.connect(conninfo, autocommit=True) for _ in range(clients)]
    next_row = itertools.count()
    start = time.perf_counter()
    t_timed = start + min(args.warmup, 2.0)
    t_end = t_timed + args.raw_duration
    results: list[list[tuple[float, float]]] = [[] for _ in conns]
    errors: list[str] = []

    def worker(k: int) -> None:
        out, conn = results[k], conns[k]
        clock = time.perf_counter
        with conn.cursor() as cur:
            while True:
                t0 = clock()
                if t0 >= t_end:
                    break
                n = next(next_row)
                values = case_columns(data[n % len(data)], f"Q{n}", datetime.now(UTC)).values()
                try:
                    cur.execute(insert, tuple(values), prepare=True)
                except psycopg.Error as exc:
                    errors.append(str(exc))
                    continue
                t1 = clock()
                out.append((t1, t1 - t0))

    print(f"\n== raw INSERT, psycopg: {clients} threads, {args.raw_duration:g} s timed")
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(conns))]
    for t in threads:
        t.start()
    time.sleep(max(0.0, t_timed - time.perf_counter()))
    cpu_start = cpu_snapshot(None)
    time.sleep(max(0.0, t_end - time.perf_counter()))
    cpu = cpu_used(cpu_start, cpu_snapshot(None))
    for t in threads:
        t.join()
    for conn in conns:
        conn.close()
    flat = [r for rs in results for r in rs]
    timed = np.array([lat for t1, lat in flat if t_timed <= t1 < t_end]) * 1e3
    p50, p95, p99 = np.percentile(timed, [50, 95, 99]).tolist()
    row = Row(
        f"raw INSERT, psycopg, {clients} threads", len(timed), args.raw_duration, p50, p95, p99, cpu
    )
    print(
        f"  {row.rate:,.0f} inserts/s; latency p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms"
    )
    if cpu:
        print(f"  cores used: {cpu_text(cpu)}")
    return row, len(flat), errors


# --- where the time goes -----------------------------------------------------------------------

# (label, (file suffix, function), caller or None): cumulative time of the function, counted only
# when called from ``caller`` if one is given. Steps are disjoint, except the cross-cutting ones.
STEPS: list[tuple[str, tuple[str, str], tuple[str, str] | None]] = [
    (
        "token authentication (token + user query)",
        ("rest_framework/authentication.py", "authenticate"),
        ("rest_framework/request.py", "_authenticate"),
    ),
    (
        "permission check (per-process access cache)",
        ("wangge/core/rest.py", "has_permission"),
        None,
    ),
    ("input validation (CaseIn, cached small class)", ("wangge/core/rest.py", "validated"), None),
    ("locate: grid_at (STRtree, version recheck)", ("wangge/regions/locate.py", "grid_at"), None),
    (
        "deadline: cached time limit + calendar",
        ("wangge/cases/sla.py", "stage_deadline"),
        None,
    ),
    ("PII sealing (only with a reporter phone)", ("wangge/cases/services.py", "_seal_phone"), None),
    (
        "write: number + case + event in one statement (its own COMMIT)",
        ("wangge/cases/services.py", "_store"),
        None,
    ),
    ("answer: allowed_actions", ("wangge/cases/workflow.py", "allowed_actions"), None),
    (
        "answer: duplicate numbers (one SQL statement)",
        ("wangge/cases/selectors.py", "duplicate_numbers"),
        None,
    ),
    (
        "answer: body from the case in hand",
        ("wangge/cases/serializers.py", "case_created_body"),
        None,
    ),
    ("JSON rendering", ("rest_framework/renderers.py", "render"), None),
]
CROSS = [("all SQL: psycopg execute (round trip + fetch)", ("psycopg/cursor.py", "execute"), None)]


def _cumulative(
    stats: pstats.Stats, func: tuple[str, str], caller: tuple[str, str] | None
) -> float:
    total = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, ct, callers) in stats.stats.items():
        if name != func[1] or not filename.endswith(func[0]):
            continue
        if caller is None:
            total += ct
            continue
        for (cfile, _cline, cname), value in callers.items():
            if cname == caller[1] and cfile.endswith(caller[0]):
                total += value[3]
    return total


def profile_intake(
    fixtures: dict[str, Any], points: list[dict[str, Any]], n: int, report: Report
) -> None:
    """Serial API creations in-process: wall time without, then steps under cProfile; queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from wangge.core import pii

    print(f"\n== profile: {n} API creations in-process (Django test client), one at a time")
    analyze()
    client = Client(HTTP_AUTHORIZATION=f"Token {fixtures['token']}", HTTP_HOST="127.0.0.1")
    bodies = [_api_body(p, fixtures) for p in points]
    failures = 0

    def post(i: int) -> None:
        nonlocal failures
        response = client.post(API_PATH, bodies[i % len(bodies)], content_type="application/json")
        failures += response.status_code != 201

    for i in range(20):
        post(i)
    t0 = time.perf_counter()
    for i in range(n):
        post(1000 + i)
    wall_ms = (time.perf_counter() - t0) / n * 1e3
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        post(5000 + i)
    profiler.disable()
    with CaptureQueriesContext(connection) as queries:
        post(9000)
    report.check("profile: every answer 201", failures == 0, f"{failures} of {2 * n + 21} not 201")

    stats = pstats.Stats(profiler)
    if os.environ.get("WANGGE_BENCH_PSTATS"):  # for a closer look: python -m pstats FILE
        stats.dump_stats(os.environ["WANGGE_BENCH_PSTATS"])
    total = _cumulative(stats, ("django/test/client.py", "post"), ("case_intake.py", "post")) / n
    print(
        f"  {wall_ms:.1f} ms per creation without the profiler, {total * 1e3:.1f} ms under "
        f"cProfile; {len(queries.captured_queries)} SQL statements per creation"
    )
    report.notes.append(
        f"in-process, one at a time: {wall_ms:.1f} ms per creation ({1e3 / wall_ms:.0f}/s on one "
        f"connection); {len(queries.captured_queries)} SQL statements per creation, one more "
        "under gunicorn (the SELECT 1 of CONN_HEALTH_CHECKS at a request's first query)"
    )
    counted = 0.0
    for label, func, caller in STEPS:
        ms = _cumulative(stats, func, caller) / n * 1e3
        counted += ms
        report.profile.append((label, ms, ms / (total * 1e3)))
    rest = total * 1e3 - counted
    report.profile.append(
        ("the rest: middleware, DRF dispatch, test client", rest, rest / (total * 1e3))
    )
    for label, func, caller in CROSS:
        ms = _cumulative(stats, func, caller) / n * 1e3
        report.profile.append((label, ms, ms / (total * 1e3)))
    for label, ms, share in report.profile:
        print(f"  {ms:6.2f} ms {share:6.1%}  {label}")
    print("  queries of one creation:")
    for q in queries.captured_queries:
        print(f"    {q['sql'][:110]}")

    t0 = time.perf_counter()
    for _ in range(1000):
        pii.seal("13812345678", purpose=pii.PURPOSE_PHONE, mask=pii.mask_phone)
    seal_us = (time.perf_counter() - t0) / 1000 * 1e6
    report.notes.append(
        f"PII sealing of a reporter phone (not in the measured body): {seal_us:.0f} µs per call"
    )


# --- output ------------------------------------------------------------------------------------


def _ms(v: float | None) -> str:
    return "" if v is None else f"{v:,.1f} ms" if v >= 10 else f"{v:,.2f} ms"


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v:.1%}"


def runs_table(rows: list[Row]) -> dict[str, Any]:
    """Every timed run: rate, latency and CPU per created row."""
    import results

    cells = []
    for row in rows:
        app = "server" if row.what.startswith(("full", "bare")) else "client"
        cpu = "" if not row.cpu else f"{row.cpu_ms(app):.2f} + {row.cpu_ms('postgres'):.2f}"
        cells.append(
            [
                row.what,
                f"{row.requests:,}",
                f"{row.rate:,.0f}",
                _ms(row.p50_ms),
                _ms(row.p95_ms),
                _ms(row.p99_ms),
                cpu,
            ]
        )
    return results.table(
        "Every run of this benchmark (HTTP runs: warm-up excluded; CPU: application or client + "
        "PostgreSQL, per created row)",
        ["run", "rows", "rows/s", "p50", "p95", "p99", "CPU ms/row: app + PostgreSQL"],
        cells,
    )


def intake_table(
    connections: list[int], full: dict[int, Row], bare: dict[int, Row], raw: dict[int, Row]
) -> dict[str, Any]:
    """The full stack at each connection count against both baselines at the same count."""
    import results

    cells = []
    for c in connections:
        f, b, r = full[c], bare.get(c), raw.get(c)
        cells.append(
            [
                str(c),
                f"{f.rate:,.0f}",
                _ms(f.p50_ms),
                _ms(f.p95_ms),
                _ms(f.p99_ms),
                f"{f.non_2xx + f.failed}",
                "" if b is None else f"{b.rate:,.0f}",
                "" if b is None else _pct(f.rate / b.rate),
                "" if r is None else f"{r.rate:,.0f}",
                "" if r is None else _pct(f.rate / r.rate),
            ]
        )
    return results.table(
        "Full stack (POST /api/v1/cases/ under gunicorn) at each connection count, against the "
        "bare Django view and raw INSERT (pgbench) at the same count, measured in the same run",
        [
            "connections",
            "full stack req/s",
            "p50",
            "p95",
            "p99",
            "non-2xx",
            "bare view req/s",
            f"full / bare (goal ≥ {TARGET_BARE_SHARE:.0%})",
            "raw INSERT tx/s",
            f"full / raw (gate ≥ {TARGET_RAW_SHARE:.0%})",
        ],
        cells,
    )


def profile_table(report: Report) -> dict[str, Any]:
    import results

    return results.table(
        "Steps of one creation, in-process, one at a time, under cProfile (read the shares; "
        "steps that took no time on this commit are left out)",
        ["step", "ms", "share"],
        [
            [label, f"{ms:.2f}", f"{share:.1%}"]
            for label, ms, share in report.profile
            if ms >= 0.005
        ],
    )


# --- main --------------------------------------------------------------------------------------


def _api_body(point: dict[str, Any], fixtures: dict[str, Any]) -> bytes:
    body = {
        "source": "patrol",
        "category": fixtures["category"],
        "description": point["description"],
        "lng": point["lng"],
        "lat": point["lat"],
        "address": point["address"],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _bare_body(point: dict[str, Any], fixtures: dict[str, Any]) -> bytes:
    return json.dumps(_data(point, fixtures), ensure_ascii=False).encode()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="wangge-bench-intake-"))
    (tmp / "var" / "static").mkdir(parents=True)
    conninfo = conninfo_for(args.server, DB_NAME)
    env = production_env(database_url(args.server, DB_NAME), tmp / "var")
    report = Report()
    create_database(args.server)
    try:
        setup_django(env)
        from wangge.cases.models import Case

        machine = environment()
        print(machine)
        with contextlib.suppress(OSError):
            load1 = float(Path("/proc/loadavg").read_text().split()[0])
            print(f"load average at start: {load1:.2f}")
            if load1 > 1.0:
                print("  WARNING: the machine is busy; figures will be lower and noisier")
        fixtures = load_fixtures()
        points = sample_points(fixtures["bbox"], 20_000, args.seed)
        copy_row = load_history(conninfo, points, fixtures, args.history, args.seed)
        analyze()
        columns = set(case_columns(_data(points[0], fixtures), "", datetime.now(UTC)))
        concrete = {f.attname for f in Case._meta.concrete_fields} - {"id"}
        report.check(
            "bare and raw rows write every column of Case",
            columns == concrete,
            f"missing {sorted(concrete - columns)}, unknown {sorted(columns - concrete)}",
        )
        print(
            f"{len(points):,} random points in the {LAYER} grids; gunicorn: {args.workers} gthread "
            f"workers × {args.threads} threads; connections {args.connections}"
        )
        log = tmp / "gunicorn.log"
        token = {"Authorization": f"Token {fixtures['token']}"}
        api_bodies = [_api_body(p, fixtures) for p in points]
        full: dict[int, Row] = {}
        with gunicorn("wangge.wsgi:application", env, args, log) as server:
            for c in args.connections:
                full[c] = bench_http(
                    f"full stack: POST /api/v1/cases/, {c} connections",
                    server,
                    API_PATH,
                    api_bodies,
                    token,
                    args,
                    report,
                    events_per_row=1,
                    connections=c,
                )
            spy = pyspy_share(server, api_bodies, token, args, tmp)
        # Profiled now, on the rows the full stack has just created: the bare and raw rows to come
        # share its category and would inflate the duplicate search.
        if args.profile_requests > 0:
            profile_intake(fixtures, points, args.profile_requests, report)
        bare: dict[int, Row] = {}
        with gunicorn("intake_bare_wsgi:application", env, args, log) as server:
            for c in args.connections:
                bare[c] = bench_http(
                    f"bare Django view: Case.objects.create, {c} connections",
                    server,
                    BARE_PATH,
                    [_bare_body(p, fixtures) for p in points],
                    {},
                    args,
                    report,
                    events_per_row=0,
                    connections=c,
                )
        checkpoint()
        before = counts()
        psycopg_clients = 16
        raw_psycopg, attempted, errors = bench_psycopg(
            conninfo, points, fixtures, args, psycopg_clients
        )
        after = counts()
        report.check(
            "raw psycopg: every INSERT committed",
            not errors and after[0] - before[0] == attempted,
            f"{after[0] - before[0]:,} rows for {attempted:,} inserts, {len(errors)} errors",
        )
        raw_columns = raw_prepare(conninfo, points, fixtures)
        raw: dict[int, Row] = {}
        for clients in sorted(set(args.pgbench_clients) | set(args.connections)):
            checkpoint()
            before = counts()
            pg = bench_pgbench(conninfo, raw_columns, len(points), args, tmp, clients)
            if pg is None:
                if not shutil.which("pgbench"):
                    report.notes.append(
                        "pgbench is not installed (it comes with the PostgreSQL server package): "
                        "no raw INSERT rows, no ratio to raw INSERT"
                    )
                break
            raw[clients], done, failed = pg
            after = counts()
            report.check(
                f"raw pgbench, {clients} clients: every INSERT committed",
                failed == 0 and after[0] - before[0] == done,
                f"{after[0] - before[0]:,} rows for {done:,} transactions, {failed} failed",
            )

        conns = args.connections
        for c in conns:
            f, b, r = full[c], bare[c], raw.get(c)
            if r is not None:
                report.targets.append(
                    (
                        f"gate: full stack ≥ {TARGET_RAW_SHARE:.0%} of raw INSERT (pgbench), {c} "
                        "connections",
                        f.rate / r.rate >= TARGET_RAW_SHARE,
                        f"{f.rate / r.rate:.1%} ({f.rate:,.0f} / {r.rate:,.0f})",
                    )
                )
            report.targets.append(
                (
                    f"goal: full stack ≥ {TARGET_BARE_SHARE:.0%} of the bare Django view, {c} "
                    "connections",
                    f.rate / b.rate >= TARGET_BARE_SHARE,
                    f"{f.rate / b.rate:.1%} ({f.rate:,.0f} / {b.rate:,.0f})",
                )
            )
        if 16 in full:
            report.targets += [
                (
                    f"≥ {TARGET_RATE:.0f} creations/s at 16 connections",
                    full[16].rate >= TARGET_RATE,
                    f"{full[16].rate:,.0f}/s",
                ),
                (
                    f"p99 ≤ {TARGET_P99_MS:.0f} ms at 16 connections",
                    full[16].p99_ms <= TARGET_P99_MS,
                    f"{full[16].p99_ms:,.0f} ms",
                ),
            ]
        bad = sum(row.non_2xx + row.failed for row in [*full.values(), *bare.values()])
        report.targets.append(
            ("0 non-2xx answers and 0 failed requests (warm-up included)", bad == 0, f"{bad}")
        )
        if spy and spy.get("share") is not None:
            report.targets.append(
                (
                    f"point-in-polygon ({LOCATE_FILE}) < {TARGET_LOCATE_SHARE:.0%} of request "
                    "time (py-spy)",
                    spy["share"] < TARGET_LOCATE_SHARE,
                    f"{spy['share']:.2%} ({spy['locate_samples']:,} of {spy['request_samples']:,} "
                    f"request-handling samples; {spy['workers']} workers, {spy['seconds']} s at "
                    f"{spy['connections']} connections, a separate pass after the timed runs)",
                )
            )
        elif spy:
            report.notes.append(f"py-spy could not sample the workers: {spy.get('error')}")
        rows = [*full.values(), *bare.values(), *raw.values(), raw_psycopg]
        if copy_row is not None:
            rows.append(copy_row)
            raw16 = raw.get(16)
            report.notes.append(
                f"raw COPY of {copy_row.requests:,} realistic archived case rows into the real "
                f"table (all indexes): {copy_row.rate:,.0f} rows/s"
                + (f", × {copy_row.rate / raw16.rate:.1f} pgbench at 16 clients" if raw16 else "")
            )
        busy = [row for row in rows if row.cpu and row.cpu["other"] > 0.15]
        if busy:
            report.notes.append(
                f"WARNING: the machine was not quiet: other processes used more than 0.15 cores "
                f"during {len(busy)} of {len(rows)} runs ("
                + ", ".join(f"{row.what}: {row.cpu['other']:.2f}" for row in busy)
                + "); their figures are disturbed"
            )
        for row in full.values():
            if row.backends:
                states = ", ".join(f"{k} {v:.0%}" for k, v in row.backends.items())
                report.notes.append(f"{row.what}: database backends sampled: {states}")
        for c in conns:
            if c in raw:
                report.notes.append(
                    f"bare Django view at {c} connections: {bare[c].rate / raw[c].rate:.1%} of "
                    "raw INSERT (pgbench)"
                )

        tables = [intake_table(conns, full, bare, raw), runs_table(rows)]
        if report.profile:
            tables.append(profile_table(report))
        print("\n== figures")
        for t in tables:
            results.print_text(t)
            print()
        for note in report.notes:
            print(f"  {note}")
        print("\n== targets")
        for name, ok, value in report.targets:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value}")
        failed_checks = [name for name, ok, _ in report.checks if not ok]
        print(
            f"\n== correctness: {len(report.checks) - len(failed_checks)} of {len(report.checks)} "
            "checks ok" + (f"; FAILED: {', '.join(failed_checks)}" if failed_checks else "")
        )
        if args.markdown:
            print(f"\nMachine: {machine}\n")
            for t in tables:
                print("\n".join(results.markdown(t)) + "\n")
            for name, ok, value in report.targets:
                print(f"- {'PASS' if ok else 'FAIL'} {name}: {value}")
            for note in report.notes:
                print(f"- {note}")
        figures = []
        for c in conns:
            for base, label in ((raw.get(c), "raw INSERT, pgbench"), (bare[c], "bare Django view")):
                if base is not None:
                    figures.append(
                        {
                            "what": f"intake full stack, {c} connections",
                            "unit": "req/s",
                            "value": full[c].rate,
                            "p50_ms": full[c].p50_ms,
                            "p95_ms": full[c].p95_ms,
                            "p99_ms": full[c].p99_ms,
                            "non_2xx": full[c].non_2xx + full[c].failed,
                            "baseline": f"{label}, {c} {'clients' if 'raw' in label else 'conn.'}",
                            "baseline_value": base.rate,
                            "ratio": full[c].rate / base.rate,
                        }
                    )
        if copy_row is not None:
            figures.append(
                {"what": "raw COPY of case rows", "unit": "rows/s", "value": copy_row.rate}
            )
        for c, r in raw.items():
            figures.append(
                {"what": f"raw INSERT, pgbench, {c} clients", "unit": "tx/s", "value": r.rate}
            )
        if spy and spy.get("share") is not None:
            figures.append(
                {"what": "point-in-polygon share of request time", "unit": "share", **spy}
            )
        results.write(
            args.json,
            "case_intake",
            title="Case intake",
            software=machine,
            tables=tables,
            figures=figures,
            targets=report.targets,
            notes=report.notes,
            checks=report.checks,
            quick=args.quick,
        )
        return 1 if failed_checks else 0
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep_db:
            print(f"\nscratch database {DB_NAME} kept (--keep-db)")
        else:
            drop_database(args.server)
            print(f"\nscratch database {DB_NAME} dropped")
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
