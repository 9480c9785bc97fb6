"""An Elle-style serializability checker for list-append / read histories.

A history is what clients observed: each transaction is an ``invoke`` event followed by the same
process's ``ok`` (committed), ``fail`` (surely did not happen) or ``info`` (unknown) event, and its
value is a list of micro-operations on lists. A history may also hold completions only (no ``invoke``
line at all, ``process`` optional), as Elle's own examples and many recorders write them: the data
dependencies are inferred the same way, but no real-time order can be, and the result says so. Its
values are micro-operations: ``["append", key, token]`` or ``["r", key, [..]]``.
Because every token is appended once and a read returns the whole list, each read names the exact
version it saw and the longest read of a key gives that key's version order. From the orders we
infer the dependency graph of Adya's thesis (ww: wrote the next version, wr: read my version,
rw: did not see the next version) and, optionally, process and real-time order edges. A cycle in
that graph means no serial order explains what the clients saw.

Multi-node histories follow the grid-database paper (seed 篇7): each operation may name its node
database (``node``) and a global transaction id (``txn``) shared by its sub-transactions. Keys are
per node. Each node's own graph is checked on its own; a cycle of the union graph through two or
more nodes whose own graphs are acyclic is a ``global-cycle`` (the paper's indirect conflict).
Theorem 2 of the paper is exactly this: the execution is serializable if and only if the graph
over global and local transactions has no cycle.

Framework-free: standard library only.
"""

from __future__ import annotations

import gc
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Anomaly",
    "CheckResult",
    "HistoryFormatError",
    "Step",
    "check",
    "load_history",
]

Token = int | str
KeyName = int | str
Node = str | None
Key = tuple[Node, KeyName]

TYPES = ("invoke", "ok", "fail", "info")
DATA_KINDS = ("ww", "wr", "rw")
ORDER_KINDS = ("process", "realtime")

# The order in which classes are reported: the worst first.
CLASS_ORDER = (
    "duplicate-append",
    "duplicate-elements",
    "garbage-read",
    "internal",
    "incompatible-order",
    "G1a",
    "G1b",
    "G0",
    "G1c",
    "lost-update",
    "G-single",
    "G2-item",
    "global-cycle",
)

# Per strongly connected component and class, at most this many breadth-first searches are started
# (fewer in big components): enough to find a short witness, bounded on pathological histories.
_SEARCH_BUDGET = 2_000_000
_MAX_STARTS = 64
# Non-cycle anomalies of one class are capped so a badly broken history still reports quickly.
_MAX_WITNESSES = 1_000


class HistoryFormatError(ValueError):
    """A history that cannot be read; ``line`` is the 1-based line (or position) at fault."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


# --------------------------------------------------------------------------- results


def _fmt(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _key_words(key: KeyName | None, node: Node) -> str:
    text = str(key)
    return f"{text} on {node}" if node is not None else text


@dataclass(frozen=True)
class Step:
    """One edge of a witness cycle: ``src`` must come before ``dst``, and why."""

    kind: str  # ww, wr, rw, process, realtime
    src: str
    dst: str
    key: KeyName | None = None
    node: Node = None
    value: Token | None = None  # the token that ties the two (see words())
    prior: Token | None = None  # ww only: src's token just before dst's
    process: Any = None  # process only

    def words(self) -> str:
        where = _key_words(self.key, self.node)
        if self.kind == "wr":
            return f"{self.dst} read {self.src}'s append of {_fmt(self.value)} to {where}"
        if self.kind == "rw":
            return f"{self.src} did not see {self.dst}'s append of {_fmt(self.value)} to {where}"
        if self.kind == "ww":
            return (
                f"{self.dst} appended {_fmt(self.value)} to {where} "
                f"right after {self.src}'s append of {_fmt(self.prior)}"
            )
        if self.kind == "process":
            return f"process {_fmt(self.process)} ran {self.src} before {self.dst}"
        return f"{self.src} completed before {self.dst} began"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.kind, "from": self.src, "to": self.dst}
        if self.key is not None:
            data["key"] = self.key
            data["value"] = self.value
        if self.node is not None:
            data["node"] = self.node
        if self.prior is not None:
            data["prior"] = self.prior
        if self.process is not None:
            data["process"] = self.process
        return data


@dataclass(frozen=True)
class Anomaly:
    """One witness of one anomaly class: a cycle (``steps``) or a fact in words (``detail``)."""

    kind: str
    txns: tuple[str, ...]
    steps: tuple[Step, ...] = ()
    detail: str = ""
    shape: str | None = None  # global-cycle only: the Adya class the cycle would have on one node
    nodes: tuple[str, ...] = ()

    def explain(self) -> str:
        if not self.steps:
            return self.detail
        chain = " → ".join([*(s.src for s in self.steps), self.steps[0].src])
        head = f"{chain}: " if len(self.steps) > 1 else ""
        tail = ""
        if self.kind == "global-cycle":
            tail = f" (a {self.shape} cycle through nodes {', '.join(self.nodes)})"
        return head + "; ".join(s.words() for s in self.steps) + tail

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.kind, "txns": list(self.txns)}
        if self.steps:
            data["cycle"] = [s.to_json() for s in self.steps]
        if self.shape:
            data["shape"] = self.shape
        if self.nodes:
            data["nodes"] = list(self.nodes)
        data["explanation"] = self.explain()
        return data


@dataclass
class CheckResult:
    valid: bool
    anomalies: dict[str, list[Anomaly]]
    stats: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    def explain(self, *, limit: int | None = 3) -> str:
        """The verdict in words: "valid", or each class with up to ``limit`` witnesses; then the
        notes on what was left unchecked."""
        notes = [f"note: {note}" for note in self.notes]
        if self.valid:
            return "\n".join(["valid", *notes])
        lines: list[str] = []
        for kind, found in self.anomalies.items():
            lines.append(f"{kind} ({len(found)}):")
            shown = found if limit is None else found[:limit]
            lines.extend(f"  - {a.explain()}" for a in shown)
            if len(shown) < len(found):
                lines.append(f"  … and {len(found) - len(shown)} more")
        return "\n".join([*lines, *notes])

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "anomaly_types": list(self.anomalies),
            "anomalies": {k: [a.to_json() for a in v] for k, v in self.anomalies.items()},
            "stats": dict(self.stats),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- reading


def load_history(path_or_lines: str | os.PathLike[str] | Iterable[str]) -> list[dict[str, Any]]:
    """Read a JSONL history (a path, or the lines themselves) and check its shape.

    Blank lines are skipped; any other problem raises HistoryFormatError naming the line.
    """
    if isinstance(path_or_lines, str | os.PathLike):
        with open(path_or_lines, encoding="utf-8") as handle:
            return _load_lines(handle)
    return _load_lines(path_or_lines)


def _load_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    numbers: list[int] = []
    with _no_gc():
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HistoryFormatError(f"not valid JSON ({exc.msg})", number) from None
            if not isinstance(event, dict):
                raise HistoryFormatError("each line must be a JSON object", number)
            events.append(event)
            numbers.append(number)
        _pair(events, numbers)
    return events


class _Unit:
    """One invoke/completion pair: a transaction, or one node's sub-transaction of a global one."""

    __slots__ = ("complete", "invoke", "line", "node", "ops", "process", "txn", "type", "vertex")

    def __init__(
        self, process: Any, invoke: int, line: int, node: Node, txn: str | None, ops: list[Any]
    ) -> None:
        self.process = process
        self.invoke = invoke
        self.line = line
        self.node = node
        self.txn = txn
        self.ops = ops
        self.type = "info"
        self.complete: int | None = None
        self.vertex = -1


_TOKEN_TYPES = frozenset((int, str))


def _is_token(value: Any) -> bool:
    return type(value) in _TOKEN_TYPES


def _all_tokens(values: list[Any]) -> bool:
    return set(map(type, values)) <= _TOKEN_TYPES


def _parse_ops(raw: Any, kind: str, line: int) -> list[tuple[str, KeyName, Any]]:
    if not isinstance(raw, list):
        raise HistoryFormatError("'value' must be a list of micro-operations", line)
    ops: list[tuple[str, KeyName, Any]] = []
    for i, mop in enumerate(raw, start=1):
        if not isinstance(mop, list) or len(mop) != 3:
            raise HistoryFormatError(f"micro-operation {i} must be [f, key, value]", line)
        f, key, value = mop
        if not _is_token(key):
            raise HistoryFormatError(f"micro-operation {i}: key must be a string or integer", line)
        if f == "append":
            if not _is_token(value):
                raise HistoryFormatError(
                    f"micro-operation {i}: appended value must be a string or integer", line
                )
        elif f == "r":
            if value is None:
                if kind == "ok":
                    raise HistoryFormatError(
                        f"micro-operation {i}: a committed read of {key} has no value", line
                    )
            elif type(value) is not list or not _all_tokens(value):
                raise HistoryFormatError(
                    f"micro-operation {i}: read value must be null or a list of strings or "
                    "integers",
                    line,
                )
        else:
            raise HistoryFormatError(f"micro-operation {i}: f must be 'append' or 'r'", line)
        ops.append((f, key, value))
    return ops


def completions_only(events: Sequence[Mapping[str, Any]]) -> bool:
    """True when the history holds no ``invoke`` line: each completion is a whole transaction."""
    return not any(isinstance(e, Mapping) and e.get("type") == "invoke" for e in events)


def _pair(events: Sequence[Mapping[str, Any]], numbers: Sequence[int] | None = None) -> list[_Unit]:
    """Validate events and pair each invoke with its process's completion (or, in a history of
    completions only, make each completion a transaction of its own)."""
    units: list[_Unit] = []
    open_: dict[Any, _Unit] = {}
    alone = completions_only(events)
    for position, event in enumerate(events):
        line = numbers[position] if numbers is not None else position + 1
        if not isinstance(event, Mapping):
            raise HistoryFormatError("each event must be an object", line)
        kind = event.get("type")
        if kind not in TYPES:
            raise HistoryFormatError("'type' must be one of invoke, ok, fail, info", line)
        if "process" not in event and not alone:
            raise HistoryFormatError("'process' is missing", line)
        process = event.get("process")
        if process is not None and not _is_token(process):
            raise HistoryFormatError("'process' must be an integer or a string", line)
        node = event.get("node")
        if node is not None and not isinstance(node, str):
            raise HistoryFormatError("'node' must be a string", line)
        txn = event.get("txn")
        if txn is not None and not _is_token(txn):
            raise HistoryFormatError("'txn' must be a string or an integer", line)
        ops = _parse_ops(event.get("value"), kind, line)
        if alone:
            unit = _Unit(process, position, line, node, None if txn is None else str(txn), ops)
            unit.type = kind
            unit.complete = position
            units.append(unit)
            continue
        if kind == "invoke":
            if process in open_:
                raise HistoryFormatError(
                    f"process {_fmt(process)} invokes again before its previous transaction "
                    f"(line {open_[process].line}) completed",
                    line,
                )
            unit = _Unit(process, position, line, node, None if txn is None else str(txn), ops)
            open_[process] = unit
            units.append(unit)
            continue
        unit_or_none = open_.pop(process, None)
        if unit_or_none is None:
            raise HistoryFormatError(
                f"'{kind}' for process {_fmt(process)}, which has no open invoke", line
            )
        unit = unit_or_none
        if len(ops) != len(unit.ops) or any(
            a[0] != b[0] or a[1] != b[1] or (a[0] == "append" and a[2] != b[2])
            for a, b in zip(ops, unit.ops, strict=True)
        ):
            raise HistoryFormatError(
                f"completion does not match its invoke (line {unit.line}): same micro-operations, "
                "keys and appended values expected",
                line,
            )
        if node is not None and node != unit.node:
            raise HistoryFormatError(f"node {node!r} differs from its invoke's", line)
        if txn is not None and str(txn) != unit.txn:
            raise HistoryFormatError(f"txn {txn!r} differs from its invoke's", line)
        unit.type = kind
        unit.complete = position
        if kind == "ok":
            unit.ops = ops
    return units


# --------------------------------------------------------------------------- analysis


class _Graph:
    """Dependency edges per node and kind, plus order edges; evidence for the first of each."""

    def __init__(self) -> None:
        self.data: dict[Node, dict[str, dict[int, set[int]]]] = {}
        self.order: dict[str, dict[int, set[int]]] = {k: {} for k in ORDER_KINDS}
        self.evidence: dict[tuple[str, Node, int, int], tuple[Any, ...]] = {}
        self.count = 0

    def table(self, kind: str, node: Node) -> dict[int, set[int]]:
        if kind in ORDER_KINDS:
            return self.order[kind]
        per_node = self.data.get(node)
        if per_node is None:
            per_node = self.data[node] = {k: {} for k in DATA_KINDS}
        return per_node[kind]

    def add(
        self,
        table: dict[int, set[int]],
        kind: str,
        node: Node,
        u: int,
        v: int,
        *evidence: Any,
    ) -> None:
        targets = table.get(u)
        if targets is None:
            targets = table[u] = set()
        elif v in targets:
            return
        if u != v:
            targets.add(v)
            self.count += 1
            self.evidence[(kind, node, u, v)] = evidence


Edge = tuple[int, int, str, Node]  # u, v, kind, node


class _View:
    """A subgraph: some nodes' data edges of some kinds, order edges if wanted, within members."""

    def __init__(
        self,
        graph: _Graph,
        nodes: Iterable[Node],
        kinds: Iterable[str],
        members: set[int] | None = None,
    ) -> None:
        kinds = tuple(kinds)
        self.tables: list[tuple[dict[int, set[int]], str, Node]] = []
        for node in nodes:
            per_node = graph.data.get(node)
            if per_node is None:
                continue
            self.tables.extend((per_node[k], k, node) for k in kinds if k in per_node)
        self.tables.extend((graph.order[k], k, None) for k in kinds if k in ORDER_KINDS)
        self.members = members

    def out(self, u: int) -> Iterator[Edge]:
        members = self.members
        for table, kind, node in self.tables:
            targets = table.get(u)
            if targets:
                for v in targets:
                    if members is None or v in members:
                        yield (u, v, kind, node)

    def edges(self) -> Iterator[Edge]:
        members = self.members
        for table, kind, node in self.tables:
            for u, targets in table.items():
                if members is not None and u not in members:
                    continue
                for v in targets:
                    if members is None or v in members:
                        yield (u, v, kind, node)


def _sccs(view: _View) -> list[set[int]]:
    """Strongly connected components with more than one vertex (iterative Tarjan)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    found: list[set[int]] = []
    counter = 0
    adjacency: dict[int, list[int]] = {}
    for u, v, _k, _n in view.edges():
        adjacency.setdefault(u, []).append(v)
    for root in adjacency:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work: list[tuple[int, Iterator[int]]] = [(root, iter(adjacency.get(root, ())))]
        while work:
            u, children = work[-1]
            advanced = False
            for v in children:
                if v not in index:
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, iter(adjacency.get(v, ()))))
                    advanced = True
                    break
                if v in on_stack and index[v] < low[u]:
                    low[u] = index[v]
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[u] < low[parent]:
                    low[parent] = low[u]
            if low[u] == index[u]:
                component: set[int] = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.add(w)
                    if w == u:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _bfs(
    starts: Iterable[tuple[Any, list[Edge]]],
    expand: Callable[[Any], Iterator[tuple[Any, Edge]]],
    is_goal: Callable[[Any], bool],
    max_len: int | None,
) -> list[Edge] | None:
    """Shortest edge path from the start states (each reached by a given prefix) to a goal."""
    parent: dict[Any, tuple[Any, Edge] | None] = {}
    prefix: dict[Any, list[Edge]] = {}
    frontier: deque[tuple[Any, int]] = deque()
    for state, pre in starts:
        if state in parent:
            continue
        parent[state] = None
        prefix[state] = pre
        frontier.append((state, len(pre)))
    while frontier:
        state, depth = frontier.popleft()
        if max_len is not None and depth >= max_len:
            continue
        for nxt, edge in expand(state):
            if nxt in parent:
                continue
            parent[nxt] = (state, edge)
            if is_goal(nxt):
                path: list[Edge] = []
                cursor: Any = nxt
                link = parent[cursor]
                while link is not None:
                    cursor, e = link
                    path.append(e)
                    link = parent[cursor]
                path.reverse()
                return prefix[cursor] + path
            frontier.append((nxt, depth + 1))
    return None


def _starts_for(component: set[int], view: _View) -> int:
    size = len(component) + sum(1 for _ in view.edges())
    return max(1, min(_MAX_STARTS, _SEARCH_BUDGET // max(size, 1)))


def _shortest_cycle(view: _View, component: set[int], needs: str | None) -> list[Edge] | None:
    """Shortest cycle in the view, containing at least one edge of kind ``needs`` if given."""
    best: list[Edge] | None = None
    budget = _starts_for(component, view)
    if needs is None:
        candidates: Iterable[list[Edge]] = (list(view.out(u)) for u in sorted(component))
    else:
        candidates = ([e] for e in view.edges() if e[2] == needs)
    for tried, firsts in enumerate(candidates):
        if tried >= budget or (best is not None and len(best) <= 2):
            break
        if not firsts:
            continue
        u = firsts[0][0]
        limit = None if best is None else len(best) - 1
        path = _bfs(
            [(e[1], [e]) for e in firsts],
            lambda s: ((e[1], e) for e in view.out(s)),
            lambda s, target=u: s == target,
            limit,
        )
        if path is not None and (best is None or len(path) < len(best)):
            best = path
    return best


def _single_cycle(
    graph: _Graph, nodes: Sequence[Node], component: set[int], extra: tuple[str, ...]
) -> list[Edge] | None:
    """Shortest cycle with exactly one rw edge: rw a→b, then b ⇝ a over ww/wr (and ``extra``)."""
    rw_view = _View(graph, nodes, ("rw",), component)
    path_view = _View(graph, nodes, ("ww", "wr", *extra), component)
    best: list[Edge] | None = None
    budget = _starts_for(component, path_view)
    for tried, first in enumerate(rw_view.edges()):
        if tried >= budget or (best is not None and len(best) <= 2):
            break
        a, b = first[0], first[1]
        path = _bfs(
            [(b, [first])],
            lambda s: ((e[1], e) for e in path_view.out(s)),
            lambda s, target=a: s == target,
            None if best is None else len(best) - 1,
        )
        if path is not None and (best is None or len(path) < len(best)):
            best = path
    return best


def _two_rw_cycle(
    graph: _Graph, nodes: Sequence[Node], component: set[int], extra: tuple[str, ...]
) -> list[Edge] | None:
    """Shortest cycle with at least two rw edges: rw a→b, then b ⇝ a using one more rw."""
    view = _View(graph, nodes, (*DATA_KINDS, *extra), component)
    best: list[Edge] | None = None
    budget = _starts_for(component, view)
    rw_edges = (e for e in view.edges() if e[2] == "rw")
    for tried, first in enumerate(rw_edges):
        if tried >= budget or (best is not None and len(best) <= 2):
            break
        a, b = first[0], first[1]

        def expand(state: tuple[int, bool]) -> Iterator[tuple[tuple[int, bool], Edge]]:
            for e in view.out(state[0]):
                yield (e[1], state[1] or e[2] == "rw"), e

        path = _bfs(
            [((b, False), [first])],
            expand,
            lambda s, target=a: s == (target, True),
            None if best is None else len(best) - 1,
        )
        if path is not None:
            path = _reduce_walk(path, _two_rw)
        if path is not None and (best is None or len(path) < len(best)):
            best = path
    return best


def _multi_node_cycle(view: _View, component: set[int]) -> list[Edge] | None:
    """Shortest closed walk whose data edges come from two or more nodes."""
    best: list[Edge] | None = None
    budget = _starts_for(component, view)
    many = "*"

    # The node seen so far is wrapped in a tuple, so untagged operations (node None) differ from
    # "no data edge yet" (None).
    def expand(state: tuple[int, Any]) -> Iterator[tuple[tuple[int, Any], Edge]]:
        u, seen = state
        for e in view.out(u):
            tag = ("node", e[3])
            if e[2] in ORDER_KINDS or seen == tag or seen == many:
                yield (e[1], seen), e
            elif seen is None:
                yield (e[1], tag), e
            else:
                yield (e[1], many), e

    for tried, start in enumerate(sorted(component)):
        if tried >= budget or (best is not None and len(best) <= 2):
            break
        path = _bfs(
            [((start, None), [])],
            expand,
            lambda s, target=start: s == (target, many),
            None if best is None else len(best) - 1,
        )
        if path is not None:
            path = _reduce_walk(path, _spans_nodes)
            if path is not None and (best is None or len(path) < len(best)):
                best = path
    return best


def _reduce_walk(walk: list[Edge], keep: Callable[[Sequence[Edge]], bool]) -> list[Edge] | None:
    """Cut a closed walk that revisits a vertex down to a simple cycle that still satisfies
    ``keep`` (breadth-first search over product states may return such walks)."""
    seen_at: dict[int, int] = {}
    for i, edge in enumerate(walk):
        u = edge[0]
        if u in seen_at:
            j = seen_at[u]
            for part in (walk[j:i], walk[:j] + walk[i:]):
                if keep(part):
                    return _reduce_walk(part, keep)
            return None
        seen_at[u] = i
    return walk


def _spans_nodes(path: Sequence[Edge]) -> bool:
    return len(_nodes_of(path)) >= 2


def _two_rw(path: Sequence[Edge]) -> bool:
    return sum(1 for e in path if e[2] == "rw") >= 2


def _nodes_of(path: Sequence[Edge]) -> set[Node]:
    return {e[3] for e in path if e[2] in DATA_KINDS}


def _classify(path: Sequence[Edge]) -> str:
    kinds = [e[2] for e in path]
    rw = kinds.count("rw")
    if rw == 1:
        return "G-single"
    if rw >= 2:
        return "G2-item"
    return "G1c" if "wr" in kinds else "G0"


class _Checker:
    def __init__(self, units: list[_Unit], *, realtime: bool, process: bool) -> None:
        self.units = units
        self.realtime = realtime
        self.process = process
        self.anomalies: dict[str, list[Anomaly]] = {}
        self.graph = _Graph()
        self.names: list[str] = []
        self.vertex_of_txn: dict[str, int] = {}

    # ---- helpers

    def report(self, kind: str, anomaly: Anomaly) -> None:
        found = self.anomalies.setdefault(kind, [])
        if len(found) < _MAX_WITNESSES:
            found.append(anomaly)

    def name(self, unit: _Unit) -> str:
        return self.names[unit.vertex]

    def assign_vertices(self) -> None:
        given = {u.txn for u in self.units if u.txn is not None}
        counter = 0
        for unit in self.units:
            if unit.txn is not None:
                vertex = self.vertex_of_txn.get(unit.txn)
                if vertex is None:
                    vertex = self.vertex_of_txn[unit.txn] = len(self.names)
                    self.names.append(unit.txn)
                unit.vertex = vertex
                continue
            counter += 1
            while f"T{counter}" in given:
                counter += 1
            unit.vertex = len(self.names)
            self.names.append(f"T{counter}")

    # ---- the analysis

    def run(self) -> CheckResult:
        self.assign_vertices()
        writers, appends_by_unit = self.index_appends()
        reads = self.external_reads()
        self.version_orders(writers, appends_by_unit, reads)
        if self.process:
            self.process_edges()
        if self.realtime:
            self.realtime_edges()
        self.cycles()
        ordered = {k: self.anomalies[k] for k in CLASS_ORDER if k in self.anomalies}
        ordered.update({k: v for k, v in self.anomalies.items() if k not in ordered})
        stats = {
            "transactions": len(self.names),
            "sub_transactions": len(self.units),
            "operations": sum(len(u.ops) for u in self.units),
            "edges": self.graph.count,
        }
        return CheckResult(valid=not ordered, anomalies=ordered, stats=stats)

    def index_appends(
        self,
    ) -> tuple[dict[Key, dict[Token, tuple[_Unit, bool]]], dict[tuple[int, Key], list[Token]]]:
        """Who appended each token to each key; flags duplicates."""
        writers: dict[Key, dict[Token, tuple[_Unit, bool]]] = {}
        appends_by_unit: dict[tuple[int, Key], list[Token]] = {}
        for i, unit in enumerate(self.units):
            last: dict[Key, Token] = {}
            for f, key_name, value in unit.ops:
                if f != "append":
                    continue
                key = (unit.node, key_name)
                last[key] = value
                appends_by_unit.setdefault((i, key), []).append(value)
            for key, tokens in ((k, appends_by_unit[(i, k)]) for k in last):
                per_key = writers.setdefault(key, {})
                for token in tokens:
                    if token in per_key:
                        other = per_key[token][0]
                        self.report(
                            "duplicate-append",
                            Anomaly(
                                "duplicate-append",
                                (self.name(other), self.name(unit)),
                                detail=(
                                    f"{_fmt(token)} was appended to {_key_words(key[1], key[0])} "
                                    f"twice (lines {other.line} and {unit.line}); append tokens "
                                    "must be unique per key"
                                ),
                            ),
                        )
                        continue
                    per_key[token] = (unit, token == last[key])
        return writers, appends_by_unit

    def external_reads(self) -> dict[Key, list[tuple[_Unit, list[Token]]]]:
        """Each committed unit's first view of each key it read (own appends stripped); checks
        that later reads in the same unit agree with it and with the unit's own appends."""
        reads: dict[Key, list[tuple[_Unit, list[Token]]]] = {}
        for unit in self.units:
            if unit.type != "ok":
                continue
            known: dict[Key, list[Token]] = {}
            pending: dict[Key, list[Token]] = {}
            for f, key_name, value in unit.ops:
                key = (unit.node, key_name)
                if f == "append":
                    if key in known:
                        known[key] = [*known[key], value]
                    else:
                        pending.setdefault(key, []).append(value)
                    continue
                expected = known.get(key)
                if expected is not None:
                    if value != expected:
                        self.internal(unit, key, value, f"{_fmt(expected)}")
                    continue
                own = pending.get(key, [])
                if own and value[len(value) - len(own) :] != own:
                    self.internal(unit, key, value, f"a list ending with its own {_fmt(own)}")
                    known[key] = list(value)
                    continue
                external = value[: len(value) - len(own)] if own else value
                reads.setdefault(key, []).append((unit, external))
                known[key] = list(value)
        return reads

    def internal(self, unit: _Unit, key: Key, value: list[Token], expected: str) -> None:
        self.report(
            "internal",
            Anomaly(
                "internal",
                (self.name(unit),),
                detail=(
                    f"{self.name(unit)} read {_fmt(value)} from {_key_words(key[1], key[0])} but "
                    f"its own earlier reads and appends imply {expected}"
                ),
            ),
        )

    def version_orders(
        self,
        writers: dict[Key, dict[Token, tuple[_Unit, bool]]],
        appends_by_unit: dict[tuple[int, Key], list[Token]],
        reads: dict[Key, list[tuple[_Unit, list[Token]]]],
    ) -> None:
        graph = self.graph
        unit_index = {id(u): i for i, u in enumerate(self.units)}
        for key, key_reads in reads.items():
            node, key_name = key
            where = _key_words(key_name, node)
            per_key = writers.get(key, {})
            order = max((r for _u, r in key_reads), key=len)
            compatible: list[tuple[_Unit, list[Token]]] = []
            for unit, value in key_reads:
                if order[: len(value)] == value:
                    compatible.append((unit, value))
                    continue
                longest_reader = next(u for u, r in key_reads if r is order)
                self.report(
                    "incompatible-order",
                    Anomaly(
                        "incompatible-order",
                        (self.name(unit), self.name(longest_reader)),
                        detail=(
                            f"{self.name(unit)} read {_fmt(value)} from {where} but "
                            f"{self.name(longest_reader)} read {_fmt(order)}: neither is a "
                            "prefix of the other, so no single order of appends explains both"
                        ),
                    ),
                )
            if len(set(order)) != len(order):
                dup = next(t for i, t in enumerate(order) if t in order[:i])
                self.report(
                    "duplicate-elements",
                    Anomaly(
                        "duplicate-elements",
                        (),
                        detail=f"a read of {where} holds {_fmt(dup)} more than once: {_fmt(order)}",
                    ),
                )
            # Writer vertex of each position; failed or unknown writers are left out of the graph.
            owners: list[int] = []
            first_aborted: int | None = None
            for position, token in enumerate(order):
                entry = per_key.get(token)
                if entry is None:
                    self.report(
                        "garbage-read",
                        Anomaly(
                            "garbage-read",
                            (),
                            detail=(
                                f"{where} was read holding {_fmt(token)}, which no transaction "
                                "appended"
                            ),
                        ),
                    )
                    owners.append(-1)
                    continue
                writer = entry[0]
                if writer.type == "fail":
                    if first_aborted is None:
                        first_aborted = position
                    owners.append(-1)
                    continue
                owners.append(writer.vertex)
            ww, wr, rw = (graph.table(kind, node) for kind in DATA_KINDS)
            # ww: each version to the next one by a different (non-failed) transaction.
            previous = -1
            previous_token: Token | None = None
            for position, owner in enumerate(owners):
                if owner < 0:
                    continue
                if previous >= 0 and previous != owner:
                    graph.add(
                        ww, "ww", node, previous, owner, key_name, order[position], previous_token
                    )
                previous, previous_token = owner, order[position]
            for unit, value in compatible:
                reader = unit.vertex
                length = len(value)
                if first_aborted is not None and length > first_aborted:
                    token = order[first_aborted]
                    writer = per_key[token][0]
                    self.report(
                        "G1a",
                        Anomaly(
                            "G1a",
                            (self.name(unit), self.name(writer)),
                            detail=(
                                f"{self.name(unit)} read {self.name(writer)}'s append of "
                                f"{_fmt(token)} to {where}, but {self.name(writer)} failed "
                                "(aborted read)"
                            ),
                        ),
                    )
                if length:
                    token = value[-1]
                    entry = per_key.get(token)
                    owner = owners[length - 1]
                    if entry is not None and owner >= 0 and owner != reader:
                        if not entry[1]:
                            writer = entry[0]
                            later = appends_by_unit[(unit_index[id(writer)], key)]
                            self.report(
                                "G1b",
                                Anomaly(
                                    "G1b",
                                    (self.name(unit), self.name(writer)),
                                    detail=(
                                        f"{self.name(unit)} read {_fmt(value)} from {where}, "
                                        f"ending in {self.name(writer)}'s append of "
                                        f"{_fmt(token)}, which {self.name(writer)} followed "
                                        f"with {_fmt(later[later.index(token) + 1 :])} "
                                        "(intermediate read)"
                                    ),
                                ),
                            )
                        graph.add(wr, "wr", node, owner, reader, key_name, token)
                # rw: the reader did not see the next version.
                for position in range(length, len(order)):
                    owner = owners[position]
                    if owner >= 0:
                        if owner != reader:
                            graph.add(rw, "rw", node, reader, owner, key_name, order[position])
                        break
            self.lost_updates(key, compatible, appends_by_unit, unit_index)

    def lost_updates(
        self,
        key: Key,
        compatible: list[tuple[_Unit, list[Token]]],
        appends_by_unit: dict[tuple[int, Key], list[Token]],
        unit_index: dict[int, int],
    ) -> None:
        by_version: dict[int, list[_Unit]] = {}
        for unit, value in compatible:
            if (unit_index[id(unit)], key) in appends_by_unit:
                by_version.setdefault(len(value), []).append(unit)
        for length, units in by_version.items():
            vertices = {u.vertex for u in units}
            if len(vertices) < 2:
                continue
            seen = next(v for u, v in compatible if len(v) == length)
            names = tuple(dict.fromkeys(self.name(u) for u in units))
            self.report(
                "lost-update",
                Anomaly(
                    "lost-update",
                    names,
                    detail=(
                        f"{' and '.join(names)} {'both' if len(names) == 2 else 'all'} read "
                        f"{_fmt(seen)} from "
                        f"{_key_words(key[1], key[0])} and then appended to it; each update "
                        "was made without seeing the others (lost update)"
                    ),
                ),
            )

    def graph_units(self) -> list[_Unit]:
        return [u for u in self.units if u.type != "fail"]

    def process_edges(self) -> None:
        last: dict[Any, _Unit] = {}
        table = self.graph.table("process", None)
        for unit in self.graph_units():
            if unit.process is None:  # a completion-only history may leave processes unnamed
                continue
            previous = last.get(unit.process)
            if previous is not None and previous.type == "ok":
                self.graph.add(table, "process", None, previous.vertex, unit.vertex, unit.process)
            last[unit.process] = unit

    def realtime_edges(self) -> None:
        # A vertex (global transaction) spans from its first invoke to its last completion.
        begin: dict[int, int] = {}
        end: dict[int, int | None] = {}
        for unit in self.graph_units():
            v = unit.vertex
            begin[v] = min(begin.get(v, unit.invoke), unit.invoke)
            done = unit.complete if unit.type == "ok" else None
            if v in end:
                previous = end[v]
                end[v] = None if previous is None or done is None else max(previous, done)
            else:
                end[v] = done
        events = sorted(
            [(t, 1, v) for v, t in begin.items()]
            + [(t, 0, v) for v, t in end.items() if t is not None]
        )
        frontier: set[int] = set()
        table = self.graph.table("realtime", None)
        preceded: dict[int, set[int]] = {}
        for _t, is_begin, v in events:
            if is_begin:
                preceded[v] = set(frontier)
                for p in frontier:
                    self.graph.add(table, "realtime", None, p, v)
            else:
                frontier -= preceded.get(v, set())
                frontier.add(v)

    # ---- cycles

    def rotate(self, path: Sequence[Edge]) -> list[Edge]:
        """Start a cycle at its first-named transaction (T2 before T10), so reports are stable."""
        names = self.names

        def natural(i: int) -> tuple[int, str]:
            return (len(names[path[i][0]]), names[path[i][0]])

        first = min(range(len(path)), key=natural)
        return [*path[first:], *path[:first]]

    def steps(self, path: Sequence[Edge]) -> tuple[Step, ...]:
        result: list[Step] = []
        for u, v, kind, node in path:
            evidence = self.graph.evidence[(kind, node, u, v)]
            src, dst = self.names[u], self.names[v]
            if kind == "ww":
                result.append(Step(kind, src, dst, evidence[0], node, evidence[1], evidence[2]))
            elif kind in DATA_KINDS:
                result.append(Step(kind, src, dst, evidence[0], node, evidence[1]))
            elif kind == "process":
                result.append(Step(kind, src, dst, process=evidence[0]))
            else:
                result.append(Step(kind, src, dst))
        return tuple(result)

    def cycle_anomaly(self, kind: str, path: Sequence[Edge]) -> Anomaly:
        steps = self.steps(self.rotate(path))
        return Anomaly(kind, tuple(s.src for s in steps), steps)

    def cycles(self) -> None:
        order_kinds = tuple(
            k for k, on in (("process", self.process), ("realtime", self.realtime)) if on
        )
        nodes = list(self.graph.data)
        for node in nodes:
            self.cycles_on((node,), order_kinds)
        # The paper's indirect conflicts: cycles through nodes whose own graphs are acyclic (a node
        # with a cycle of its own is already reported above).
        nodes = [n for n in nodes if not _sccs(_View(self.graph, (n,), DATA_KINDS))]
        if len(nodes) >= 2:
            view = _View(self.graph, nodes, (*DATA_KINDS, *order_kinds))
            for component in _sccs(view):
                local = _View(self.graph, nodes, (*DATA_KINDS, *order_kinds), component)
                path = _multi_node_cycle(local, component)
                if path is None:
                    continue
                steps = self.steps(self.rotate(path))
                used = sorted(str(n) for n in _nodes_of(path))
                self.report(
                    "global-cycle",
                    Anomaly(
                        "global-cycle",
                        tuple(s.src for s in steps),
                        steps,
                        shape=_classify(path),
                        nodes=tuple(used),
                    ),
                )

    def cycles_on(self, nodes: Sequence[Node], order_kinds: tuple[str, ...]) -> None:
        """Per component: the shortest witness of each class on data edges alone; then, with
        process/real-time edges, the classes that only order edges complete (``-realtime``)."""
        for component in _sccs(_View(self.graph, nodes, (*DATA_KINDS, *order_kinds))):
            plain = self.witnesses(nodes, component, ())
            for kind, path in plain.items():
                self.report(kind, self.cycle_anomaly(kind, path))
            if not order_kinds:
                continue
            for kind, path in self.witnesses(nodes, component, order_kinds).items():
                kinds = {e[2] for e in path}
                if kind in plain or not kinds & set(ORDER_KINDS):
                    continue
                label = f"{kind}-realtime" if "realtime" in kinds else f"{kind}-process"
                self.report(label, self.cycle_anomaly(label, path))

    def witnesses(
        self, nodes: Sequence[Node], component: set[int], extra: tuple[str, ...]
    ) -> dict[str, list[Edge]]:
        graph = self.graph
        found: dict[str, list[Edge]] = {}
        for kind, kinds, needs in (("G0", ("ww",), None), ("G1c", ("ww", "wr"), "wr")):
            view = _View(graph, nodes, (*kinds, *extra), component)
            for sub in _sccs(view):
                path = _shortest_cycle(_View(graph, nodes, (*kinds, *extra), sub), sub, needs)
                if path:
                    found[kind] = path
                    break
        path = _single_cycle(graph, nodes, component, extra)
        if path:
            found["G-single"] = path
        path = _two_rw_cycle(graph, nodes, component, extra)
        if path:
            found["G2-item"] = path
        return found


def check(
    history: Iterable[Mapping[str, Any]], *, realtime: bool = False, process: bool = False
) -> CheckResult:
    """Check a list-append history for serializability (strict, with ``realtime=True``).

    Raises HistoryFormatError (with the 1-based position as ``line``) for malformed events.
    """
    events = history if isinstance(history, Sequence) else list(history)
    notes: list[str] = []
    if realtime and events and completions_only(events):
        # Without invoke lines nobody knows when a transaction began: no real-time edge is sound.
        realtime = False
        notes.append(
            "the history holds completed operations only (no invoke lines): real-time order "
            "cannot be inferred, so strict serializability was not checked"
        )
    with _no_gc():
        units = _pair(events)
        result = _Checker(units, realtime=realtime, process=process).run()
    result.notes.extend(notes)
    return result


@contextmanager
def _no_gc() -> Iterator[None]:
    """The checker builds millions of small objects and frees none until it returns; the cyclic
    garbage collector would rescan them all again and again (it doubles the running time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None, *, out: Any = None, err: Any = None) -> int:
    """``python -m wangge.proof.serializability FILE``: the checker without Django (no settings
    loaded, nothing printed but the verdict). Exit 0: valid; 1: anomalies; 2: malformed file."""
    import argparse
    import sys

    out = out or sys.stdout
    err = err or sys.stderr
    parser = argparse.ArgumentParser(
        prog="check_history",
        description="Check a JSONL list-append/read history for serializability.",
    )
    parser.add_argument("file", help="the history, one JSON event per line")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument(
        "--realtime", action="store_true", help="add real-time edges: strict serializability"
    )
    parser.add_argument("--process", action="store_true", help="add per-process order edges")
    args = parser.parse_args(argv)
    try:
        history = load_history(args.file)
    except HistoryFormatError as exc:
        err.write(f"{args.file}: {exc}\n")
        return 2
    except OSError as exc:
        err.write(f"{args.file}: {exc.strerror or exc}\n")
        return 2
    result = check(history, realtime=args.realtime, process=args.process)
    if args.json:
        out.write(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(result.explain(limit=1) + "\n")
    return 0 if result.valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
