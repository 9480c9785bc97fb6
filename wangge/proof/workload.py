"""A workload harness for the cross-grid operations, recorded as a list-append history (篇7).

Clients (threads, each with its own database connection) run case transfers, resident moves, grid
worker reassignments and read-only census reads against a small world of grids, cases, houses,
people and workers. Each operation also touches a test-only append log, ``wangge_workload_log``
(one row per object: ``case:<number>``, ``grid:<code>``, ``house:<id>``, ``person:<id>``,
``worker:<username>``), in the same transaction as the business change: it reads the current list
of every key it reads and appends a unique token to every key it writes. The history of those reads
and appends is what ``wangge.proof.serializability.check`` checks; the business invariants are
checked on the tables themselves.

Isolation modes:

- ``serializable``: every operation through ``run_serializable`` (SERIALIZABLE + retries on
  PostgreSQL, IMMEDIATE transactions on SQLite). The history must be valid.
- ``read-committed``: the positive control. READ COMMITTED, one attempt, and the append log written
  as a naive read-modify-write (SELECT, then UPDATE with the list read): concurrent appends get
  lost and reads skew, and the checker must say so.

It lives on the proof floor: it drives cases, registry and regions, and is imported only by its
management command and tests, never by the product.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from django.db import DatabaseError, OperationalError, connection, connections
from django.db.models import Count
from django.utils import timezone

from wangge.core.errors import DomainError
from wangge.core.models import AuditLog, ScopeGrant, User
from wangge.core.transactions import run_serializable

LOG_TABLE = "wangge_workload_log"
ISOLATIONS = ("serializable", "read-committed")
OPERATIONS = ("transfer", "move", "reassign", "census")


class _SqlStateError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.sqlstate = code


def serialization_failure(code: str = "40001") -> OperationalError:
    """A database error as Django raises it for SQLSTATE ``code`` (for tests and fault injection)."""
    error = OperationalError(f"could not serialize access (SQLSTATE {code})")
    error.__cause__ = _SqlStateError(code)
    return error


# The append log ---------------------------------------------------------------------------------


def log_install() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {LOG_TABLE} "
            "(key VARCHAR(80) PRIMARY KEY, tokens TEXT NOT NULL DEFAULT '')"
        )


def log_reset(keys: Iterable[str]) -> None:
    """Empty the log and create one row per key (so that no append races an INSERT)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LOG_TABLE}")  # noqa: S608 — constant table name
        cursor.executemany(
            f"INSERT INTO {LOG_TABLE} (key, tokens) VALUES (%s, '')",  # noqa: S608
            [(key,) for key in keys],
        )


def _parse(tokens: str) -> list[int]:
    return [int(token) for token in tokens.split(",") if token]


def log_read(key: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tokens FROM {LOG_TABLE} WHERE key = %s", [key])  # noqa: S608
        row = cursor.fetchone()
    return _parse(row[0]) if row else []


def log_write(key: str, tokens: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {LOG_TABLE} SET tokens = %s WHERE key = %s",  # noqa: S608
            [",".join(str(t) for t in tokens), key],
        )


class Txn:
    """The micro-operations of one attempt, in the order they ran.

    An operation first reads the lists of the keys it will write (``read_for_append``), then does
    its business change, then writes each list back with its token appended (``append_all``): a
    read-modify-write spanning the whole transaction, as a naive implementation would do it.
    """

    def __init__(self, token: int) -> None:
        self.token = token
        self.ops: list[list[Any]] = []
        self.pending: dict[str, list[int]] = {}

    def read(self, key: str) -> list[int]:
        value = log_read(key)
        self.ops.append(["r", key, value])
        return value

    def read_for_append(self, *keys: str) -> None:
        for key in dict.fromkeys(keys):
            self.pending[key] = self.read(key)

    def append_all(self) -> None:
        for key, before in self.pending.items():
            log_write(key, [*before, self.token])
            self.ops.append(["append", key, self.token])
        self.pending = {}


# The world --------------------------------------------------------------------------------------


@dataclass
class World:
    actor: User
    grids: list[str]
    cases: list[str]
    houses: list[int]
    people: list[int]
    workers: list[str]
    capacity: int
    tag: str

    def keys(self) -> list[str]:
        return [
            *(f"grid:{code}" for code in self.grids),
            *(f"case:{number}" for number in self.cases),
            *(f"house:{pk}" for pk in self.houses),
            *(f"person:{pk}" for pk in self.people),
            *(f"worker:{name}" for name in self.workers),
        ]


def build_world(
    *,
    grids: int = 6,
    cases: int = 24,
    houses: int = 12,
    people: int = 18,
    workers: int = 6,
    capacity: int = 3,
    seed: int = 1,
) -> World:
    """Create the objects the clients work on, inside the first district with enough grids."""
    from wangge.cases.models import Case, Category
    from wangge.regions.locate import DEFAULT_LAYER
    from wangge.regions.models import Grid
    from wangge.registry.lifecycle import PersonDetails, person_register
    from wangge.registry.models import Building, House, Person

    rng = random.Random(seed)  # noqa: S311 — a reproducible test world
    tag = secrets.token_hex(3)
    chosen = list(Grid.objects.filter(layer_id=DEFAULT_LAYER).order_by("code")[:grids])
    if len(chosen) < 2:
        raise ValueError("the workload needs at least two social grids; load a territory first")
    district = chosen[0].code[:6]
    actor = User.objects.create(username=f"workload-{tag}")
    ScopeGrant.objects.create(user=actor, prefix=district)
    actor.groups.add(Group.objects.get(name="community_officer"))
    category = Category.objects.filter(active=True).order_by("id").first() or (
        Category.objects.create(kind="matter", code="W0001", name="负载测试", domain="emergency")
    )
    now = timezone.now()
    case_numbers = []
    for index in range(cases):
        grid = chosen[index % len(chosen)]
        case = Case.objects.create(
            number=f"WL{tag}-{index:05d}",
            source=Case.Source.PATROL,
            category=category,
            description="负载测试案件",
            grid=grid,
            region_code=grid.code,
            state=Case.State.ACCEPTED,
            level=Case.Level.GRID,
            created_at=now,
        )
        case_numbers.append(case.number)
    house_ids = []
    for index in range(houses):
        grid = chosen[index % len(chosen)]
        building = Building.objects.create(
            grid=grid, region_code=grid.code, name=f"{index}号楼", address=f"负载路{tag}-{index}号"
        )
        house = House.objects.create(
            building=building,
            region_code=grid.code,
            room="101",
            qr_token=secrets.token_urlsafe(16),
            capacity=capacity,
        )
        house_ids.append(house.pk)
    person_ids = []
    moved_in = timezone.localdate() - timedelta(days=400)
    houses_by_id = {house.pk: house for house in House.objects.filter(pk__in=house_ids)}
    for index in range(people):
        # Fill houses round-robin, never beyond capacity.
        house = houses_by_id[house_ids[index % len(house_ids)]]
        registration = person_register(
            details=PersonDetails(name=f"居民{tag}{index}", residency_type="registered"),
            house=house,
            relation="owner",
            moved_in_on=moved_in,
            actor=None,
        )
        person_ids.append(registration.person.pk)
    worker_names = []
    group = Group.objects.get(name="grid_worker")
    for index in range(workers):
        worker = User.objects.create(username=f"wl-{tag}-w{index}")
        ScopeGrant.objects.create(user=worker, prefix=rng.choice(chosen).code)
        worker.groups.add(group)
        worker_names.append(worker.username)
    assert Person.objects.filter(pk__in=person_ids).count() == people  # noqa: S101
    return World(
        actor=actor,
        grids=[grid.code for grid in chosen],
        cases=case_numbers,
        houses=house_ids,
        people=person_ids,
        workers=worker_names,
        capacity=capacity,
        tag=tag,
    )


# Operations -------------------------------------------------------------------------------------


def _transfer(world: World, rng: random.Random, txn: Txn) -> dict[str, Any]:
    from wangge.cases.models import Case
    from wangge.cases.transfers import case_transfer

    number = rng.choice(world.cases)
    current = Case.objects.filter(number=number).values_list("region_code", flat=True).get()
    target = rng.choice([code for code in world.grids if code != current])
    txn.read_for_append(f"case:{number}", f"grid:{current}", f"grid:{target}")
    case_transfer(number=number, to_grid_code=target, reason="负载测试转办", actor=world.actor)
    txn.append_all()
    return {"case": number, "from": current, "to": target}


def _move(world: World, rng: random.Random, txn: Txn) -> dict[str, Any]:
    from wangge.registry.models import Residency
    from wangge.registry.moves import resident_move

    person = rng.choice(world.people)
    residency = (
        Residency.objects.filter(
            person_id=person, moved_out_on__isnull=True, deregistered_at__isnull=True
        )
        .values_list("pk", "house_id")
        .get()
    )
    target = rng.choice([pk for pk in world.houses if pk != residency[1]])
    txn.read_for_append(f"person:{person}", f"house:{residency[1]}", f"house:{target}")
    resident_move(
        residency_id=residency[0],
        to_house_id=target,
        moved_on=timezone.localdate(),
        actor=world.actor,
    )
    txn.append_all()
    return {"person": person, "from": residency[1], "to": target}


def _reassign(world: World, rng: random.Random, txn: Txn) -> dict[str, Any]:
    from wangge.regions.assignments import worker_reassign

    username = rng.choice(world.workers)
    current = (
        ScopeGrant.objects.filter(user__username=username).values_list("prefix", flat=True).get()
    )
    target = rng.choice([code for code in world.grids if code != current])
    txn.read_for_append(f"worker:{username}", f"grid:{current}", f"grid:{target}")
    worker_reassign(
        username=username, to_grid_code=target, reason="负载测试调整", actor=world.actor
    )
    txn.append_all()
    return {"worker": username, "from": current, "to": target}


def _census(world: World, rng: random.Random, txn: Txn) -> dict[str, Any]:
    from wangge.cases.models import Case

    codes = rng.sample(world.grids, k=min(3, len(world.grids)))
    counts = {}
    for code in codes:
        txn.read(f"grid:{code}")
        counts[code] = Case.objects.filter(region_code=code).count()
    return {"counts": counts}


RUNNERS: dict[str, Callable[[World, random.Random, Txn], dict[str, Any]]] = {
    "transfer": _transfer,
    "move": _move,
    "reassign": _reassign,
    "census": _census,
}


# Running ----------------------------------------------------------------------------------------


@dataclass
class WorkloadResult:
    isolation: str
    vendor: str
    history: list[dict[str, Any]]
    outcomes: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)
    completed: dict[str, int] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)

    def write_jsonl(self, path: str | Path) -> None:
        with open(path, "w", encoding="utf-8") as out:
            for op in self.history:
                out.write(json.dumps(op, ensure_ascii=False) + "\n")

    def summary(self) -> str:
        parts = [f"{key}={value}" for key, value in sorted(self.outcomes.items())]
        return (
            f"{self.vendor} {self.isolation}: {len(self.history) // 2} operations in "
            f"{self.seconds:.1f} s, {' '.join(parts)}, {self.retries} retries, "
            f"{len(self.violations)} invariant violations"
        )


def run_workload(
    world: World,
    *,
    clients: int = 8,
    ops: int = 200,
    isolation: str = "serializable",
    seed: int = 1,
    mix: dict[str, float] | None = None,
    attempts: int = 30,
) -> WorkloadResult:
    """Run ``ops`` operations spread over ``clients`` threads; returns the history and figures."""
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}")
    mix = mix or {"transfer": 0.35, "move": 0.3, "reassign": 0.15, "census": 0.2}
    log_install()
    log_reset(world.keys())
    result = WorkloadResult(isolation=isolation, vendor=connection.vendor, history=[])
    lock = threading.Lock()
    start = time.monotonic_ns()
    tokens = itertools.count(1)
    per_client = [ops // clients + (1 if i < ops % clients else 0) for i in range(clients)]
    barrier = threading.Barrier(clients)
    completed: Counter[str] = Counter()

    def record(op: dict[str, Any]) -> None:
        with lock:
            op["time"] = time.monotonic_ns() - start
            result.history.append(op)

    def client(process: int) -> None:
        rng = random.Random(seed * 1000 + process)  # noqa: S311 — reproducible choices
        try:
            barrier.wait(timeout=30)
            for _ in range(per_client[process]):
                kind = rng.choices(list(mix), weights=list(mix.values()))[0]
                with lock:
                    token = next(tokens)
                attempt_ops: list[Txn] = []
                record({"process": process, "type": "invoke", "f": kind, "value": None})

                def body(
                    kind: str = kind, token: int = token, attempt_ops: list[Txn] = attempt_ops
                ) -> dict[str, Any]:
                    txn = Txn(token)
                    attempt_ops.append(txn)
                    return {"details": RUNNERS[kind](world, rng, txn), "txn": txn}

                outcome, value = "ok", None
                try:
                    if isolation == "serializable":
                        done = run_serializable(
                            body,
                            attempts=attempts,
                            base_delay=0.005,
                            on_retry=lambda n, exc: _count_retry(result, lock),
                        )
                    else:
                        done = run_serializable(body, attempts=1, isolation="read committed")
                    value = done["txn"].ops
                except (DomainError, DatabaseError) as exc:
                    outcome = "fail"
                    value = attempt_ops[-1].ops if attempt_ops else []
                    with lock:
                        result.refusals[f"{kind}: {type(exc).__name__}: {exc}"[:90]] += 1
                record({"process": process, "type": outcome, "f": kind, "value": value})
                with lock:
                    result.outcomes[f"{kind}:{outcome}"] += 1
                    if outcome == "ok":
                        completed[kind] += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = (time.monotonic_ns() - start) / 1e9
    _fill_invokes(result.history)
    result.completed = dict(completed)
    return result


def _count_retry(result: WorkloadResult, lock: threading.Lock) -> None:
    with lock:
        result.retries += 1


def _fill_invokes(history: list[dict[str, Any]]) -> None:
    """An invoke carries its completion's micro-ops with the reads left open (Elle's form)."""
    pending: dict[int, dict[str, Any]] = {}
    for op in history:
        if op["type"] == "invoke":
            pending[op["process"]] = op
        else:
            invoke = pending.pop(op["process"])
            invoke["value"] = [
                [f, key, None] if f == "r" else [f, key, value] for f, key, value in op["value"]
            ]


# Invariants ------------------------------------------------------------------------------------


def check_invariants(world: World, result: WorkloadResult | None = None) -> list[str]:
    """Business rules that must hold after any run at SERIALIZABLE; each broken one, in words."""
    from wangge.cases.models import Case, CaseEvent, Notification
    from wangge.registry.models import House, Person, Residency

    problems: list[str] = []
    cases = list(
        Case.objects.filter(number__in=world.cases).values_list(
            "number", "grid__code", "region_code"
        )
    )
    for number, grid_code, region_code in cases:
        if grid_code is None or grid_code != region_code:
            problems.append(f"case {number} has grid {grid_code} but region code {region_code}")
    per_grid = Counter(code for _n, code, _r in cases)
    if sum(per_grid.values()) != len(world.cases) or len(cases) != len(world.cases):
        problems.append(f"per-grid counts {dict(per_grid)} do not add up to {len(world.cases)}")
    # Replaying the committed transfer events from the first grid gives the current one.
    replay: dict[str, str] = {}
    first = {n: world.grids[i % len(world.grids)] for i, n in enumerate(world.cases)}
    for number, payload in (
        CaseEvent.objects.filter(case__number__in=world.cases, action="transfer")
        .order_by("created_at", "id")
        .values_list("case__number", "payload")
    ):
        expected = replay.get(number, first[number])
        if payload["from_grid"] != expected:
            problems.append(f"case {number} moved from {payload['from_grid']}, was in {expected}")
        replay[number] = payload["to_grid"]
    for number, grid_code, _r in cases:
        if replay.get(number, first[number]) != grid_code:
            problems.append(f"case {number} is in {grid_code}; its events say otherwise")
    duplicated = (
        Notification.objects.filter(case__number__in=world.cases)
        .values("event", "recipient", "channel")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    if duplicated.exists():
        problems.append(f"{duplicated.count()} notifications written twice")
    occupancy = Counter(
        Residency.objects.filter(
            house_id__in=world.houses, moved_out_on__isnull=True, deregistered_at__isnull=True
        ).values_list("house_id", flat=True)
    )
    for house in House.objects.filter(pk__in=world.houses):
        if house.capacity is not None and occupancy[house.pk] > house.capacity:
            problems.append(
                f"house {house.pk} has {occupancy[house.pk]} residents, capacity {house.capacity}"
            )
    current = defaultdict(list)
    for person_id, region_code in Residency.objects.filter(
        person_id__in=world.people, moved_out_on__isnull=True, deregistered_at__isnull=True
    ).values_list("person_id", "region_code"):
        current[person_id].append(region_code)
    for person in Person.objects.filter(pk__in=world.people):
        homes = current[person.pk]
        if len(homes) != 1 or homes[0] != person.region_code:
            problems.append(f"person {person.pk} lives in {homes}, home grid {person.region_code}")
    covered: dict[str, list[str]] = {username: [] for username in world.workers}
    for username, scope in ScopeGrant.objects.filter(user__username__in=world.workers).values_list(
        "user__username", "prefix"
    ):
        covered[username].append(scope)
    for username, scopes in covered.items():
        if len(scopes) != 1 or scopes[0] not in world.grids:
            problems.append(f"worker {username} covers {scopes!r}, not one grid of the world")
    if result is not None:
        expected = {
            "transfer": ("cases.case_transfer", result.completed.get("transfer", 0)),
            "reassign": ("core.worker_reassign", result.completed.get("reassign", 0)),
        }
        for kind, (action, count) in expected.items():
            audited = AuditLog.objects.filter(action=action, actor=world.actor).count()
            if audited != count:
                problems.append(f"{count} {kind} operations committed but {audited} audit rows")
        events = CaseEvent.objects.filter(case__number__in=world.cases, action="transfer").count()
        if events != result.completed.get("transfer", 0):
            problems.append(f"{result.completed.get('transfer', 0)} transfers, {events} events")
    return problems


# SQLite: a file copy of the test database, so threads can share it -----------------------------


@contextmanager
def sqlite_file_copy(path: Path) -> Iterator[None]:
    """Point new connections of ``default`` at a file copy of the current SQLite database.

    The test suite's SQLite database lives in memory, where concurrent writers fail at once instead
    of queueing on the busy timeout; production runs on a file. Only threads that open their
    connection inside the block use the copy; the caller's own connection is left alone.
    """
    if connection.vendor != "sqlite":
        raise RuntimeError("sqlite_file_copy is for SQLite only")
    connection.ensure_connection()
    target = sqlite3.connect(str(path))
    connection.connection.backup(target)
    target.close()
    settings_dict = connections.settings["default"]
    saved = settings_dict["NAME"]
    settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        settings_dict["NAME"] = saved


def in_own_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a fresh thread (so with a fresh connection) and return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 — re-raised in the caller
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
