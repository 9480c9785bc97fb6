"""SQLite under concurrent writers: 8 processes × 500 case creations, with the production SQLite
options (WAL, IMMEDIATE transactions, busy timeout) → no "database is locked", 4,000 rows.

Each process sets Django up on one temporary database file, migrated once; the writes go through
``case_create`` as a sensor's reports (device id + sequence as the idempotency key). The test runs
the same on the SQLite and the PostgreSQL runs: its database is its own file either way.
"""

from __future__ import annotations

import multiprocessing
import queue
import sqlite3
import time

import pytest
from django.conf import settings

from wangge.proof.faults import site
from wangge.proof.faults.sqlite_load import writer

PROCESSES = 8
WRITES = 500


@pytest.mark.slow
@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="pins the embedded SQLite database's options; the suite's SQLite run covers it",
)
def test_eight_processes_write_4000_cases_without_database_is_locked(tmp_path):
    db_file = tmp_path / "wangge.sqlite3"
    env = site.production_env(f"sqlite:///{db_file}", tmp_path / "var")
    prepared = site.prepare(env)

    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections
    start, results = ctx.Barrier(PROCESSES), ctx.Queue()
    processes = [
        ctx.Process(
            target=writer, args=(env, k, WRITES, prepared["category"], start, results), daemon=True
        )
        for k in range(PROCESSES)
    ]
    t0 = time.perf_counter()
    for process in processes:
        process.start()
    summaries = []
    try:
        for _ in processes:
            summaries.append(results.get(timeout=240))
    except queue.Empty:
        pytest.fail(f"only {len(summaries)} of {PROCESSES} writers finished: {summaries}")
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    elapsed = time.perf_counter() - t0

    # The writers ran with the options production uses, on the file given.
    for summary in summaries:
        assert summary["journal_mode"] == "wal", summary
        assert summary["transaction_mode"] == "IMMEDIATE", summary
        assert summary["busy_timeout_ms"] >= 5000, summary
        assert summary["database"] == str(db_file), summary
    assert sum(s["locked"] for s in summaries) == 0, summaries
    assert [s["errors"] for s in summaries] == [[]] * PROCESSES
    assert sum(s["created"] for s in summaries) == PROCESSES * WRITES

    with sqlite3.connect(db_file) as db:
        cases = db.execute("SELECT count(*), count(DISTINCT number) FROM cases_case").fetchone()
        events = db.execute("SELECT count(*) FROM cases_caseevent WHERE action = 'report'")
        keys = db.execute("SELECT count(*), count(DISTINCT client) FROM cases_intakekey")
        numbers = sorted(int(n[-6:]) for (n,) in db.execute("SELECT number FROM cases_case"))
        assert cases == (PROCESSES * WRITES, PROCESSES * WRITES)
        assert events.fetchone() == (PROCESSES * WRITES,)
        assert keys.fetchone() == (PROCESSES * WRITES, PROCESSES)
    # The district's numbering under contention: 1 … 4000, no gap, no repeat.
    assert numbers == list(range(1, PROCESSES * WRITES + 1))
    rate = PROCESSES * WRITES / max(s["seconds"] for s in summaries)
    print(  # noqa: T201 — figures for the docs
        f"\n{PROCESSES * WRITES} cases in {elapsed:.1f} s ({rate:.0f} creations/s while writing)"
    )
