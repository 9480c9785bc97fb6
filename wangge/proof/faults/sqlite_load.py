"""Writer processes for the SQLite concurrency test: each sets Django up on one database file with
the production settings and creates cases through the service layer, as a sensor would."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any


def writer(
    env: dict[str, str], worker: int, count: int, category_id: int, start: Any, results: Any
) -> None:
    """Create ``count`` cases; put a summary on ``results``. ``start`` is a shared barrier."""
    # The parent's own WANGGE_* (a PostgreSQL URL on that run) must not leak in.
    for name in [n for n in os.environ if n.startswith(("WANGGE_", "DJANGO_"))]:
        del os.environ[name]
    os.environ.update(env)
    import django

    django.setup()
    from django.db import OperationalError, connection

    from wangge.cases.models import Case, Category
    from wangge.cases.services import Intake, case_create
    from wangge.proof.faults.site import DISTRICT_BOX

    category = Category.objects.get(pk=category_id)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        (journal_mode,) = cursor.fetchone()
        cursor.execute("PRAGMA busy_timeout")
        (busy_timeout,) = cursor.fetchone()
    rng = random.Random(worker)  # noqa: S311 — test data, not secrets
    created = locked = 0
    errors: list[str] = []
    start.wait()
    t0 = time.perf_counter()
    for seq in range(count):
        intake = Intake(
            source=Case.Source.SENSOR,
            category=category,
            description=f"传感器{worker}报警 #{seq}",
            lng=rng.uniform(DISTRICT_BOX[0], DISTRICT_BOX[2]),
            lat=rng.uniform(DISTRICT_BOX[1], DISTRICT_BOX[3]),
            idempotency_key=str(seq),
        )
        try:
            case_create(intake=intake, actor=None, client=f"sensor:device-{worker}")
            created += 1
        except OperationalError as exc:
            if "locked" in str(exc):
                locked += 1
            else:
                errors.append(repr(exc))
        except Exception as exc:  # noqa: BLE001 — reported to the parent, which fails the test
            errors.append(repr(exc))
    results.put(
        {
            "worker": worker,
            "created": created,
            "locked": locked,
            "errors": errors[:5],
            "seconds": time.perf_counter() - t0,
            "journal_mode": journal_mode,
            "busy_timeout_ms": busy_timeout,
            "transaction_mode": connection.settings_dict["OPTIONS"].get("transaction_mode"),
            "database": str(Path(connection.settings_dict["NAME"])),
        }
    )
