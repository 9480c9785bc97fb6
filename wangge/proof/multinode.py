"""Global transactions over autonomous node databases, with and without tickets (篇7).

The seed's grid-database paper: a global transaction is split into sub-transactions on node
databases s1, s2, …; local transactions run on one node directly. Every node keeps its own schedule
serializable (here: PostgreSQL at SERIALIZABLE), yet the global order can break — T1 before T2 on
s1, after it on s2, through local transactions the global manager never sees (the paper's indirect
conflict). Its Theorem 2: the execution is serializable iff the graph over global and local
transactions is acyclic; ``wangge.proof.serializability`` finds such a ``global-cycle``.

The cure here is the optimistic ticket method (Georgakopoulos, Rusinkiewicz & Sheth): every global
sub-transaction first reads and increments its node's ticket row, which makes any two global
sub-transactions on a node conflict directly, so the node orders them by ticket. When all of a
global transaction's sub-transactions are done, the global manager checks that its ticket order
agrees with every committed global transaction on every shared node (no cycle in the ticket graph);
otherwise the global transaction is aborted and retried.

Global transactions here only read (as T1 and T2 in the paper), so a sub-transaction may commit as
soon as it is done and an abort merely discards what it read. Global transactions that write would
have to hold their sub-transactions prepared until validation (two-phase commit,
``PREPARE TRANSACTION``), which the server may have switched off (max_prepared_transactions = 0).

A scheduler drives the steps (begin, each read or append, commit) of all transactions in a chosen
or random interleaving, one connection per open sub-transaction. No step ever waits: writes lock
with NOWAIT, so a conflict aborts at once (PostgreSQL's 40001 or 55P03) and is retried.
Framework-free apart from psycopg; the history it records is the checker's JSONL format.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.LockNotAvailable,
             psycopg.errors.DeadlockDetected)  # fmt: skip


# Nodes -----------------------------------------------------------------------------------------


def create_nodes(admin_dsn: str, names: Sequence[str], prefix: str) -> dict[str, str]:
    """Create one database per node (dropping a leftover one) with its two tables; node → DSN."""
    dsns = {}
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        for name in names:
            database = f"{prefix}_{name}"
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=database)
            with psycopg.connect(dsn, autocommit=True) as node:
                node.execute("CREATE TABLE items (key TEXT PRIMARY KEY, tokens TEXT NOT NULL)")
                node.execute("CREATE TABLE ticket (id INT PRIMARY KEY, value BIGINT NOT NULL)")
                node.execute("INSERT INTO ticket VALUES (1, 0)")
            dsns[name] = dsn
    return dsns


def drop_nodes(admin_dsn: str, dsns: dict[str, str]) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        for dsn in dsns.values():
            database = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


class Pool:
    """A few open connections per node, SERIALIZABLE, handed out one per sub-transaction."""

    def __init__(self, dsns: dict[str, str], size: int = 8) -> None:
        self.free: dict[str, list[psycopg.Connection]] = {}
        for node, dsn in dsns.items():
            conns = []
            for _ in range(size):
                conn = psycopg.connect(dsn)
                conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
                conn.execute("SET synchronous_commit = off")  # a test cluster: no fsync per commit
                conn.commit()
                conns.append(conn)
            self.free[node] = conns

    def take(self, node: str) -> psycopg.Connection:
        return self.free[node].pop()

    def give(self, node: str, conn: psycopg.Connection) -> None:
        self.free[node].append(conn)

    def close(self) -> None:
        for conns in self.free.values():
            for conn in conns:
                conn.close()


@contextmanager
def cluster(admin_dsn: str, names: Sequence[str], prefix: str, size: int = 8) -> Iterator[Pool]:
    dsns = create_nodes(admin_dsn, names, prefix)
    pool = Pool(dsns, size)
    try:
        yield pool
    finally:
        pool.close()
        drop_nodes(admin_dsn, dsns)


# Transactions ----------------------------------------------------------------------------------


@dataclass
class Sub:
    """What a transaction does on one node: ("r", key) and ("append", key) operations."""

    node: str
    ops: list[tuple[str, str]]


@dataclass
class Txn:
    name: str
    subs: list[Sub]

    @property
    def is_global(self) -> bool:
        return len(self.subs) > 1


@dataclass
class _Running:
    """One sub-transaction being executed: its connection, where it is, what it saw."""

    txn: Txn
    attempt_name: str
    sub: Sub
    process: int
    conn: psycopg.Connection | None = None
    position: int = -1  # -1: not begun; len(ops): all ops done, commit next
    seen: list[list[Any]] = field(default_factory=list)
    ticket: int | None = None
    begun_at: int = 0
    done_at: int = 0
    state: str = "running"  # running, committed, failed


@dataclass
class RunResult:
    history: list[dict[str, Any]]
    aborted_globals: int = 0
    aborted_locals: int = 0
    committed: list[str] = field(default_factory=list)


class Scheduler:
    """Runs transactions step by step in the order a step list or a random generator chooses."""

    def __init__(
        self, pool: Pool, *, tickets: bool, key_prefix: str, max_attempts: int = 6
    ) -> None:
        self.pool = pool
        self.tickets = tickets
        self.prefix = key_prefix
        self.max_attempts = max_attempts
        self.tokens = itertools.count(1)
        self.processes = itertools.count(1)
        self.clock = itertools.count(1)
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.committed_tickets: dict[str, dict[str, int]] = {}
        self.result = RunResult(history=[])
        self.attempts: dict[str, int] = defaultdict(int)

    # The life of one attempt of a transaction ------------------------------------------------

    def start(self, txn: Txn) -> list[_Running]:
        self.attempts[txn.name] += 1
        attempt = self.attempts[txn.name]
        name = txn.name if attempt == 1 else f"{txn.name}.{attempt}"
        return [_Running(txn, name, sub, next(self.processes)) for sub in txn.subs]

    def step(self, running: _Running) -> bool:
        """Run the next step of one sub-transaction; False when it failed."""
        try:
            if running.position == -1:
                running.conn = self.pool.take(running.sub.node)
                running.begun_at = next(self.clock)
                if self.tickets and running.txn.is_global:
                    running.ticket = self._take_ticket(running.conn)
                running.position = 0
            elif running.position < len(running.sub.ops):
                kind, key = running.sub.ops[running.position]
                running.seen.append(self._do(running.conn, kind, self._key(key)))
                running.position += 1
            else:
                running.conn.commit()
                running.done_at = next(self.clock)
                running.state = "committed"
                self._release(running)
            return True
        except RETRYABLE:
            running.conn.rollback()
            running.done_at = next(self.clock)
            running.state = "failed"
            self._release(running)
            return False

    def finished(self, running: _Running) -> bool:
        return running.state != "running"

    def _release(self, running: _Running) -> None:
        if running.conn is not None:
            self.pool.give(running.sub.node, running.conn)
            running.conn = None

    def abandon(self, subs: list[_Running]) -> None:
        """Roll back every sub-transaction of a failed attempt that is still open."""
        for running in subs:
            if running.state == "running":
                if running.conn is not None:
                    running.conn.rollback()
                running.done_at = next(self.clock)
                running.state = "failed"
                self._release(running)

    def _take_ticket(self, conn: psycopg.Connection) -> int:
        conn.execute("SELECT value FROM ticket WHERE id = 1 FOR UPDATE NOWAIT")
        row = conn.execute("UPDATE ticket SET value = value + 1 WHERE id = 1 RETURNING value")
        return int(row.fetchone()[0])

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def _do(self, conn: psycopg.Connection, kind: str, key: str) -> list[Any]:
        if kind == "r":
            row = conn.execute("SELECT tokens FROM items WHERE key = %s", [key]).fetchone()
            return ["r", key, _parse(row[0]) if row else []]
        token = next(self.tokens)
        row = conn.execute(
            "SELECT tokens FROM items WHERE key = %s FOR UPDATE NOWAIT", [key]
        ).fetchone()
        before = _parse(row[0]) if row else []
        conn.execute(
            "UPDATE items SET tokens = %s WHERE key = %s",
            [",".join(str(t) for t in [*before, token]), key],
        )
        return ["append", key, token]

    def validate(self, txn: Txn, subs: list[_Running]) -> bool:
        """The ticket check: would this global transaction close a cycle of ticket orders?"""
        if not (self.tickets and txn.is_global):
            return True
        mine = {running.sub.node: running.ticket for running in subs}
        everyone = {**self.committed_tickets, "__new__": mine}
        edges: dict[str, set[str]] = defaultdict(set)
        by_node: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for name, tickets in everyone.items():
            for node, ticket in tickets.items():
                by_node[node].append((ticket, name))
        for ranked in by_node.values():
            ranked.sort()
            for (_t1, a), (_t2, b) in itertools.pairwise(ranked):
                edges[a].add(b)
        if _reaches(edges, "__new__", "__new__"):
            return False
        self.committed_tickets[txn.name + f"#{len(self.committed_tickets)}"] = mine
        return True

    def record(self, subs: list[_Running], outcome: str) -> None:
        """One invoke and one completion per sub-transaction; a failed attempt keeps the
        micro-operations it ran (its appends must never be seen by anyone)."""
        for running in subs:
            base = {
                "process": running.process,
                "node": running.sub.node,
                "txn": running.attempt_name,
            }
            invoke = [[f, k, None] if f == "r" else [f, k, v] for f, k, v in running.seen]
            start = running.begun_at or running.done_at
            self.events.append((start, {**base, "type": "invoke", "value": invoke}))
            self.events.append((running.done_at, {**base, "type": outcome, "value": running.seen}))

    def history(self) -> list[dict[str, Any]]:
        ordered = sorted(self.events, key=lambda pair: (pair[0], pair[1]["type"] != "invoke"))
        return [{**event, "time": at} for at, event in ordered]


def _parse(tokens: str) -> list[int]:
    return [int(token) for token in tokens.split(",") if token]


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    stack, seen = list(edges.get(start, ())), set()
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))
    return False


# Driving a run ---------------------------------------------------------------------------------


def run(
    pool: Pool,
    txns: Sequence[Txn],
    *,
    tickets: bool,
    key_prefix: str,
    order: Sequence[tuple[str, str]] | None = None,
    rng: random.Random | None = None,
) -> RunResult:
    """Execute ``txns``: in ``order`` (pairs of transaction name and node, each meaning "run that
    sub-transaction from begin to commit") or, with ``rng``, interleaving single steps at random.
    Failed attempts are retried at the end of the run (a bounded number of times)."""
    scheduler = Scheduler(pool, tickets=tickets, key_prefix=key_prefix)
    _seed_keys(pool, key_prefix, txns)
    queue: list[Txn] = list(txns)
    by_name = {txn.name: txn for txn in txns}
    active: dict[str, list[_Running]] = {}

    def begin(txn: Txn) -> None:
        active[txn.name] = scheduler.start(txn)

    def settle(txn: Txn) -> None:
        """After a step: decide the attempt when all its sub-transactions have finished."""
        subs = active[txn.name]
        failed = any(r.state == "failed" for r in subs)
        if failed:
            scheduler.abandon(subs)
        if not all(scheduler.finished(r) for r in subs):
            return
        ok = not failed and scheduler.validate(txn, subs)
        scheduler.record(subs, "ok" if ok else "fail")
        del active[txn.name]
        if ok:
            scheduler.result.committed.append(subs[0].attempt_name)
            return
        if txn.is_global:
            scheduler.result.aborted_globals += 1
        else:
            scheduler.result.aborted_locals += 1
        if scheduler.attempts[txn.name] < scheduler.max_attempts:
            retry_queue.append(txn)

    retry_queue: list[Txn] = []
    if order is not None:
        decided: set[str] = set()
        for name, node in order:
            txn = by_name[name]
            if name in decided:
                continue  # its attempt already failed; the retry runs at the end
            if name not in active:
                begin(txn)
            running = next(r for r in active[name] if r.sub.node == node)
            while not scheduler.finished(running):
                scheduler.step(running)
            settle(txn)
            if name not in active:
                decided.add(name)
    else:
        assert rng is not None  # noqa: S101
        for txn in queue:
            begin(txn)
        while active:
            name = rng.choice(sorted(active))
            candidates = [r for r in active[name] if not scheduler.finished(r)]
            scheduler.step(rng.choice(candidates))
            settle(by_name[name])
    # Retries run one after another, each in full.
    while retry_queue:
        txn = retry_queue.pop(0)
        begin(txn)
        for running in list(active[txn.name]):
            while not scheduler.finished(running):
                scheduler.step(running)
            if running.state == "failed":
                break
        settle(txn)
    # A final read of every key on every node fixes each key's version order for the checker.
    for node, keys in sorted(_keys_by_node(txns).items()):
        final = Txn(f"F{node}", [Sub(node, [("r", key) for key in sorted(keys)])])
        begin(final)
        by_name[final.name] = final
        for running in active[final.name]:
            while not scheduler.finished(running):
                scheduler.step(running)
        settle(final)
    scheduler.result.history = scheduler.history()
    return scheduler.result


def _keys_by_node(txns: Sequence[Txn]) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for txn in txns:
        for sub in txn.subs:
            keys[sub.node].update(key for _kind, key in sub.ops)
    return keys


def _seed_keys(pool: Pool, prefix: str, txns: Sequence[Txn]) -> None:
    for node, names in _keys_by_node(txns).items():
        conn = pool.take(node)
        try:
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO items (key, tokens) VALUES (%s, '') ON CONFLICT DO NOTHING",
                    [(f"{prefix}{key}",) for key in sorted(names)],
                )
            conn.commit()
        finally:
            pool.give(node, conn)


# The paper's example and random workloads -------------------------------------------------------

PAPER_TXNS = [
    Txn("T1", [Sub("s1", [("r", "a")]), Sub("s2", [("r", "c")])]),
    Txn("T2", [Sub("s1", [("r", "b")]), Sub("s2", [("r", "d")])]),
    Txn("T3", [Sub("s1", [("append", "a"), ("append", "b")])]),
    Txn("T4", [Sub("s2", [("append", "c"), ("append", "d")])]),
]
# S1: r1(a) c1 w3(a) w3(b) c3 r2(b) c2;  S2: r2(d) c2 w4(c) w4(d) c4 r1(c) c1 — the paper's S2 with
# T4 committed before T1 reads c (a strict schedule cannot let T1 read T4's uncommitted write).
PAPER_ORDER = [("T1", "s1"), ("T3", "s1"), ("T2", "s1"), ("T2", "s2"), ("T4", "s2"), ("T1", "s2")]


def random_txns(
    rng: random.Random, nodes: Sequence[str], *, globals_: int = 3, locals_: int = 4
) -> list[Txn]:
    """Read-only global transactions over two or more nodes, appending local ones on one node;
    two keys per node, so conflicts are frequent."""
    keys = ("x", "y")
    txns = []
    for index in range(globals_):
        chosen = rng.sample(list(nodes), k=rng.randint(2, len(nodes)))
        subs = [Sub(node, [("r", f"{node}{rng.choice(keys)}")]) for node in chosen]
        txns.append(Txn(f"G{index + 1}", subs))
    for index in range(locals_):
        node = rng.choice(list(nodes))
        ops = [("append", f"{node}{key}") for key in rng.sample(keys, k=rng.randint(1, 2))]
        txns.append(Txn(f"L{index + 1}", [Sub(node, ops)]))
    return txns
