"""Benchmark of the people ledger import on PostgreSQL, against a raw COPY of the same rows.

Run from the repository root: ``.venv/bin/python bench/registry_import.py [--rows 1000000]
[--quick] [--workers 2] [--markdown] [--json PATH] [--keep-db]``.

The script creates a scratch database (``wangge_bench_ledger_<pid>`` on 127.0.0.1:5432 by default,
so that two runs do not drop each other's),
migrates it with production-like settings (DEBUG off, random PII keys), imports the Xicheng demo
district (110102) and a community officer scoped to it, and writes a CSV people ledger of
``--rows`` generated rows (valid ID numbers with their check digits, mobile numbers, 15 % floating
residents with a moving-in date, ~30 people per building address, every social grid of the
district). Then, in the same run:

* **import**: the product's import job (``ledgers.importing.ledger_import_run``) on that file: read,
  check every row (ID number structure, birth date and check digit; phone; grid in scope;
  enumerations; dates), seal ID and phone (AES-256-GCM token + HMAC-SHA256 lookup hash + mask),
  reject duplicates, create the buildings and houses named, and write people, residencies and
  history rows with COPY, one transaction per 2,000 rows, with the job's progress;
* **COPY**: ``COPY bench_ledger_raw FROM STDIN (FORMAT csv, HEADER)`` of the same file into a
  plain table of 16 text columns, no index, through psycopg.

It checks the import's counts (every row added, none rejected; people = residencies = history rows
= rows) and prints rows/s for both and their ratio, with the CPU time per row of each part (this
process, the checking workers, the PostgreSQL backend: the machine may be shared, so CPU per row
is the figure to compare) and what a quiet machine of ``os.cpu_count()`` cores would reach at that
CPU cost. Figures, not tests: the exit status is 1 only when a count is wrong. The scratch database
is dropped at the end (``--keep-db`` keeps it and prints its name); ``--json PATH`` writes the
result for ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import os
import platform
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import results

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = "110102"
SEED = 2026
DB_NAME = f"wangge_bench_ledger_{os.getpid()}"
TARGET_RATE = 20_000.0
HEADERS = [
    "姓名", "性别", "公民身份号码", "联系电话", "民族", "户籍地址", "人员类型", "网格编码",
    "楼栋地址", "楼栋名称", "单元", "房号", "居住关系", "入住日期", "职业", "工作单位",
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力民永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"  # noqa: E501
ETHNICITIES = ["汉族"] * 18 + ["回族", "满族"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 rows (a smoke run)")
    parser.add_argument("--workers", type=int, default=2, help="processes checking rows")
    parser.add_argument(
        "--server", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the result there (read by bench/report.py)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 20_000
    return args


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


def recreate_database(server: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        db = sql.Identifier(DB_NAME)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
        if not drop_only:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(db))


def setup_django(url: str, var_dir: Path) -> None:
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "wangge.settings",
            "WANGGE_DEBUG": "0",
            "WANGGE_SECRET_KEY": secrets.token_urlsafe(48),
            "WANGGE_PII_KEYS": f"bench:{key()}",
            "WANGGE_PII_HASH_KEY": key(),
            "WANGGE_DATABASE_URL": url,
            "WANGGE_VAR_DIR": str(var_dir),
            "WANGGE_LOG_LEVEL": "WARNING",
        }
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrated in {time.perf_counter() - t0:.1f} s")


def load_territory() -> tuple[list[str], int]:
    """The demo district and an importing user; the social grid codes and the user's id."""
    from django.contrib.auth.models import Group

    from wangge.core.models import ScopeGrant, User
    from wangge.demo.territory import build_territory
    from wangge.regions.models import Grid
    from wangge.regions.services import territory_import

    t0 = time.perf_counter()
    data = build_territory(DISTRICT, ROOT / "wangge" / "demo" / "data", seed=SEED)
    result = territory_import(data=data, actor=None)
    if not result.ok:
        raise SystemExit(f"demo import failed: {result.problems[:5]}")
    grids = sorted(Grid.objects.filter(layer_id="social").values_list("code", flat=True))
    user = User.objects.create_user("bench_officer", password=None)
    ScopeGrant.objects.create(user=user, prefix=DISTRICT)
    user.groups.add(Group.objects.get(name="community_officer"))
    print(
        f"demo district {DISTRICT}: {len(grids)} social grids, in {time.perf_counter() - t0:.1f} s"
    )
    return grids, user.pk


def resident_id(born: date, sequence: int) -> str:
    body = f"{DISTRICT}{born:%Y%m%d}{sequence:03d}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def write_ledger(path: Path, rows: int, grids: list[str]) -> None:
    """``rows`` distinct people: IDs unique by (birth date, sequence)."""
    rng = random.Random(SEED)
    first_day = date(1930, 1, 1)
    t0 = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for n in range(rows):
            born = first_day + timedelta(days=n % 32_000)
            sequence = n // 32_000
            building = n // 30
            grid = grids[building % len(grids)]
            floating = rng.random() < 0.15
            writer.writerow(
                [
                    rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if n % 3 else ""),
                    "",
                    resident_id(born, sequence),
                    f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                    rng.choice(ETHNICITIES),
                    "北京市西城区" if not floating else "河北省保定市",
                    "流动" if floating else rng.choice(("户籍", "户籍", "常住")),
                    grid,
                    f"西城区测试街道{grid[-6:]}号院{building}号楼",
                    f"{building}号楼",
                    str(n % 4 + 1),
                    str(100 + n % 30 // 4 * 100 + n % 7),
                    "租户" if floating else rng.choice(("业主", "家属")),
                    (date(2020, 1, 1) + timedelta(days=n % 2000)).isoformat() if floating else "",
                    "",
                    "",
                ]
            )
    size = path.stat().st_size / 2**20
    print(f"ledger: {rows:,} rows, {size:.0f} MB CSV, written in {time.perf_counter() - t0:.1f} s")


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) a PostgreSQL backend on this machine has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and of its finished children (the checking workers)."""
    return main_cpu() + workers_cpu()


def main_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def workers_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class ImportRun:
    seconds: float
    job: Any
    main: float  # CPU seconds of this process
    workers: float  # of the checking workers
    postgres: float  # of the PostgreSQL backend


def run_import(path: Path, user_id: int, workers: int) -> ImportRun:
    from django.core.files import File
    from django.db import connection

    from wangge.core.models import User
    from wangge.registry.ledgers import importing
    from wangge.registry.models import LedgerImport

    job = LedgerImport(
        kind="people",
        file_name=path.name,
        file_format="csv",
        created_by=User.objects.get(pk=user_id),
    )
    with path.open("rb") as handle:
        job.source.save(path.name, File(handle), save=False)
    job.save()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    main0, workers0 = main_cpu(), workers_cpu()
    pg0, t0 = backend_cpu(backend), time.perf_counter()
    done = importing.ledger_import_run(job.pk, workers=workers)
    seconds = time.perf_counter() - t0
    run = ImportRun(
        seconds, done, main_cpu() - main0, workers_cpu() - workers0, backend_cpu(backend) - pg0
    )
    print(
        f"import CPU: main process {run.main:.1f} s, checking workers {run.workers:.1f} s, "
        f"PostgreSQL backend {run.postgres:.1f} s"
    )
    return run


def run_copy(conninfo: str, path: Path) -> tuple[float, float, float]:
    import psycopg

    columns = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
    with psycopg.connect(conninfo) as conn:
        conn.execute(f"CREATE TABLE bench_ledger_raw ({columns})")
        conn.commit()
        conn.execute("CHECKPOINT")
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        cpu0, pg0, t0 = own_cpu(), backend_cpu(backend), time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_ledger_raw FROM STDIN (FORMAT csv, HEADER)") as copy,
            path.open("rb") as handle,
        ):  # noqa: E501
            for block in iter(lambda: handle.read(1 << 20), b""):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - t0
        client_cpu, pg_cpu = own_cpu() - cpu0, backend_cpu(backend) - pg0
        count = conn.execute("SELECT count(*) FROM bench_ledger_raw").fetchone()[0]
    if count != sum(1 for _ in path.open(encoding="utf-8")) - 1:
        raise SystemExit("COPY loaded a different number of rows")
    return elapsed, client_cpu, pg_cpu


def environment() -> str:
    import django
    import psycopg
    from django.db import connection

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with connection.cursor() as cur:
        cur.execute(
            "SELECT split_part(version(), ' ', 2), current_setting('synchronous_commit'), "
            "current_setting('autovacuum')"
        )
        pg, sync, autovacuum = cur.fetchone()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        f"{os.cpu_count()} × {cpu}; Python {platform.python_version()}, Django {django.__version__}, "
        f"psycopg {psycopg.__version__}, PostgreSQL {pg} (synchronous_commit={sync}, "
        f"autovacuum={autovacuum}, same machine); commit {commit or '?'} (+ working tree)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="wangge-bench-ledger-"))
    (tmp / "var" / "static").mkdir(parents=True)
    recreate_database(args.server)
    ok = True
    try:
        setup_django(database_url(args.server, DB_NAME), tmp / "var")
        from wangge.registry.models import Person, PersonEvent, Residency

        machine = environment()
        print(machine)
        print(f"load average at start: {results.LOAD_AT_START}; scratch database {DB_NAME}")
        grids, user_id = load_territory()
        ledger = tmp / "people.csv"
        write_ledger(ledger, args.rows, grids)

        load = Path("/proc/loadavg").read_text().split()[0]
        run = run_import(ledger, user_id, args.workers)
        load_after = Path("/proc/loadavg").read_text().split()[0]
        job = run.job
        counts = (Person.objects.count(), Residency.objects.count(), PersonEvent.objects.count())
        checks = [
            ("status done", job.status == "done", f"{job.status} {job.error}".strip()),
            (
                "every row added",
                (job.created_count, job.rejected_count) == (args.rows, 0),
                f"added {job.created_count}, rejected {job.rejected_count}",
            ),
            (
                "people = residencies = history rows = rows",
                counts == (args.rows,) * 3,
                f"{counts}",
            ),
        ]
        for name, passed, detail in checks:
            print(f"  {'ok  ' if passed else 'FAIL'} {name}: {detail}")
        ok = all(passed for _name, passed, _detail in checks)
        copy_seconds, copy_client, copy_pg = run_copy(conninfo_for(args.server, DB_NAME), ledger)
        rate, copy_rate = args.rows / run.seconds, args.rows / copy_seconds

        def per_row(cpu: float) -> float:
            return cpu / args.rows * 1e6

        cpu_total = per_row(run.main + run.workers + run.postgres)
        cores = os.cpu_count() or 1
        # Every part busy all the time on every core: the best the CPU cost allows.
        quiet_rate = cores / cpu_total * 1e6 if cpu_total else 0.0
        target_cpu = cores / TARGET_RATE * 1e6
        verdict = "PASS" if rate >= TARGET_RATE else "FAIL"
        tables = [
            results.table(
                "rows/s and CPU per row (µs of CPU time: user + system, from getrusage and "
                "/proc/<pid>/stat of the PostgreSQL backend)",
                ["variant", "seconds", "rows/s", "vs COPY", "CPU µs/row: app + PostgreSQL"],
                [
                    [
                        "ledger import (check, seal, write people + residencies + history)",
                        f"{run.seconds:.1f}",
                        f"{rate:,.0f}",
                        f"{rate / copy_rate:.1%}",
                        f"{per_row(run.main + run.workers):.0f} + {per_row(run.postgres):.0f}",
                    ],
                    [
                        "raw COPY of the same CSV into a plain text table",
                        f"{copy_seconds:.1f}",
                        f"{copy_rate:,.0f}",
                        "100%",
                        f"{per_row(copy_client):.0f} + {per_row(copy_pg):.0f}",
                    ],
                ],
            ),
            results.table(
                "where the import's CPU goes",
                ["part", "CPU s", "CPU µs/row"],
                [
                    [
                        "main process (read, dedupe, look up, build COPY text, write)",
                        f"{run.main:.1f}",
                        f"{per_row(run.main):.0f}",
                    ],
                    [
                        f"{args.workers} checking workers (check, seal, prepare)"
                        if args.workers > 1
                        else "checking (in the main process: --workers 1)",
                        f"{run.workers:.1f}",
                        f"{per_row(run.workers):.0f}",
                    ],
                    [
                        "PostgreSQL backend (COPY, indexes, constraints, commit)",
                        f"{run.postgres:.1f}",
                        f"{per_row(run.postgres):.0f}",
                    ],
                    ["total", f"{run.main + run.workers + run.postgres:.1f}", f"{cpu_total:.0f}"],
                ],
            ),
        ]
        notes = [
            f"Rows: {args.rows:,}; workers checking rows: {args.workers}; load average before "
            f"the import {load}, after it {load_after}.",
            f"At {cpu_total:.0f} µs of CPU per row, {cores} quiet cores reach at most "
            f"{quiet_rate:,.0f} rows/s (every part busy all the time); {TARGET_RATE:,.0f} rows/s "
            f"needs ≤ {target_cpu:.0f} µs/row.",
            f"Import / COPY: {rate / copy_rate:.1%} (COPY is {copy_rate / rate:.1f}× faster). "
            "Buildings and houses created by the import are included in its time.",
        ]
        targets = [
            (
                f"ledger import ≥ {TARGET_RATE:,.0f} rows/s",
                rate >= TARGET_RATE,
                f"{rate:,.0f} rows/s",
            ),
            (
                f"ledger import CPU ≤ {target_cpu:.0f} µs/row ({TARGET_RATE:,.0f} rows/s on "
                f"{cores} quiet cores)",
                cpu_total <= target_cpu,
                f"{cpu_total:.0f} µs/row",
            ),
        ]
        print()
        if args.markdown:
            print(f"Machine: {machine}\n")
            for t in tables:
                print(f"({t['caption']})\n")
                print("\n".join(results.markdown(t)) + "\n")
            for name, met, value in targets:
                print(f"- {'PASS' if met else 'FAIL'} {name}: {value}")
            for note in notes:
                print(f"- {note}")
        else:
            for t in tables:
                results.print_text(t)
                print()
            for name, met, value in targets:
                print(f"  {'PASS' if met else 'FAIL'}  {name}: {value}")
            for note in notes:
                print(f"  {note}")
        print(f"Target ≥ {TARGET_RATE:,.0f} rows/s: {verdict}.")
        results.write(
            args.json,
            "registry_import",
            title="Registry ledger import",
            software=machine,
            tables=tables,
            figures=[
                {
                    "what": "people ledger import",
                    "unit": "rows/s",
                    "value": rate,
                    "cpu_us_per_row": {
                        "main": per_row(run.main),
                        "workers": per_row(run.workers),
                        "postgres": per_row(run.postgres),
                        "total": cpu_total,
                    },
                    "quiet_machine_rows_per_s": quiet_rate,
                    "baseline": "raw COPY of the same CSV",
                    "baseline_value": copy_rate,
                    "ratio": rate / copy_rate,
                },
            ],
            targets=targets,
            notes=notes,
            checks=checks,
            quick=args.quick,
        )
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep_db:
            print(f"scratch database {DB_NAME} kept (--keep-db)")
        else:
            recreate_database(args.server, drop_only=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
