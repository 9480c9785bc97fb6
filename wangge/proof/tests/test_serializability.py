"""The serializability checker: golden histories, the paper's two-node example, random serial
histories (always valid) and mutations of them (always caught, with the right class)."""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wangge.proof.serializability import HistoryFormatError, check, load_history

HISTORIES = Path(__file__).parent / "histories"


def classes(name: str, **options: bool) -> set[str]:
    return set(check(load_history(HISTORIES / name), **options).anomalies)


# --------------------------------------------------------------------------- golden histories


def test_serial_history_is_valid():
    result = check(load_history(HISTORIES / "serial.jsonl"), realtime=True, process=True)
    assert result.valid and result.anomalies == {}
    assert result.explain() == "valid"
    assert result.stats["transactions"] == 4


def test_elle_readme_example_is_g1c_with_its_two_steps():
    result = check(load_history(HISTORIES / "elle_g1c.jsonl"))
    assert set(result.anomalies) == {"G1c"}
    [witness] = result.anomalies["G1c"]
    assert [(s.kind, s.src, s.dst, s.key) for s in witness.steps] == [
        ("ww", "T1", "T2", "x"),
        ("wr", "T2", "T1", "y"),
    ]
    assert "T1 read T2's append of 1 to y" in witness.explain()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lost_update.jsonl", {"lost-update", "G-single"}),
        ("read_skew.jsonl", {"G-single"}),
        ("write_skew.jsonl", {"G2-item"}),
        ("g0.jsonl", {"G0"}),
        ("g1a.jsonl", {"G1a"}),
        ("g1b.jsonl", {"G1b"}),
    ],
)
def test_golden_history_gets_its_label(name, expected):
    assert classes(name) == expected


def test_write_skew_is_told_in_words():
    result = check(load_history(HISTORIES / "write_skew.jsonl"))
    text = result.explain()
    assert "T1 did not see T2's append of 2 to case:7" in text
    assert "T2 did not see T1's append of 1 to grid:42" in text
    assert result.to_json()["anomaly_types"] == ["G2-item"]
    json.dumps(result.to_json())  # serializable as it stands


def test_paper_s1_s2_is_a_global_cycle_although_each_node_is_acyclic():
    """篇7, Figure 2. Schedules S1 (node s1) and S2 (node s2) each have a serial order —
    s1: T1 → T3 → T2, s2: T2 → T4 → T1 — but together T1 precedes and follows T2."""
    history = load_history(HISTORIES / "paper_s1_s2.jsonl")
    result = check(history)
    assert set(result.anomalies) == {"global-cycle"}
    [witness] = result.anomalies["global-cycle"]
    assert witness.txns == ("T1", "T3", "T2", "T4")
    assert witness.nodes == ("s1", "s2")
    assert witness.shape == "G2-item"
    assert witness.explain().startswith("T1 → T3 → T2 → T4 → T1: T1 did not see T3's append")
    for node in ("s1", "s2"):
        assert check([e for e in history if e["node"] == node]).valid


def test_the_same_cycle_on_one_node_is_an_ordinary_g2_item():
    # One database holding a..d: the per-node check alone now sees the whole cycle.
    history = [{k: v for k, v in e.items() if k != "node"} for e in paper_events()]
    assert set(check(history).anomalies) == {"G2-item"}


def test_multi_node_serial_global_transactions_are_valid_and_local_cycles_name_their_node():
    def sub(process: int, txn: str, node: str, ops: list[list[Any]]) -> list[dict[str, Any]]:
        invoke = [[f, k, None if f == "r" else v] for f, k, v in ops]
        return [
            {"process": process, "type": "invoke", "value": invoke, "node": node, "txn": txn},
            {"process": process, "type": "ok", "value": ops, "node": node, "txn": txn},
        ]

    serial = [
        *sub(1, "G1", "s1", [["r", "a", []], ["append", "a", 1]]),
        *sub(2, "G1", "s2", [["r", "c", []], ["append", "c", 1]]),
        *sub(1, "G2", "s1", [["r", "a", [1]], ["append", "a", 2]]),
        *sub(2, "G2", "s2", [["r", "c", [1]], ["append", "c", 2]]),
        *sub(3, "L1", "s1", [["r", "a", [1, 2]]]),
        *sub(4, "L2", "s2", [["r", "c", [1, 2]]]),
    ]
    assert check(serial, realtime=True, process=True).valid
    # On s2 both global transactions read the empty list and append: a cycle on one node.
    local = [*serial[:6], *sub(2, "G2", "s2", [["r", "c", []], ["append", "c", 2]]), *serial[8:]]
    result = check(local)
    assert {"lost-update", "G-single"} <= set(result.anomalies)
    assert "global-cycle" not in result.anomalies
    assert "to c on s2" in result.anomalies["G-single"][0].explain()


def paper_events() -> list[dict[str, Any]]:
    return load_history(HISTORIES / "paper_s1_s2.jsonl")


def test_realtime_edges_catch_a_stale_read_that_plain_serializability_allows():
    history = [
        {"process": 0, "type": "invoke", "value": [["append", "x", 1]]},
        {"process": 0, "type": "ok", "value": [["append", "x", 1]]},
        {"process": 1, "type": "invoke", "value": [["r", "x", None]]},
        {"process": 1, "type": "ok", "value": [["r", "x", []]]},
        {"process": 2, "type": "invoke", "value": [["r", "x", None]]},
        {"process": 2, "type": "ok", "value": [["r", "x", [1]]]},
    ]
    assert check(history).valid
    result = check(history, realtime=True)
    assert set(result.anomalies) == {"G-single-realtime"}
    assert "T1 completed before T2 began" in result.explain()


def test_process_order_edges():
    history = [
        {"process": 0, "type": "invoke", "value": [["append", "x", 1]]},
        {"process": 0, "type": "ok", "value": [["append", "x", 1]]},
        {"process": 0, "type": "invoke", "value": [["r", "x", None]]},
        {"process": 0, "type": "ok", "value": [["r", "x", []]]},
        {"process": 1, "type": "invoke", "value": [["r", "x", None]]},
        {"process": 1, "type": "ok", "value": [["r", "x", [1]]]},
    ]
    assert check(history).valid
    assert set(check(history, process=True).anomalies) == {"G-single-process"}


def test_internal_inconsistency_and_duplicates_and_garbage():
    history = [
        {"process": 0, "type": "invoke", "value": [["append", "x", 1], ["r", "x", None]]},
        {"process": 0, "type": "ok", "value": [["append", "x", 1], ["r", "x", []]]},
        {"process": 1, "type": "invoke", "value": [["append", "y", 5]]},
        {"process": 1, "type": "ok", "value": [["append", "y", 5]]},
        {"process": 2, "type": "invoke", "value": [["append", "y", 5]]},
        {"process": 2, "type": "ok", "value": [["append", "y", 5]]},
        {"process": 3, "type": "invoke", "value": [["r", "z", None]]},
        {"process": 3, "type": "ok", "value": [["r", "z", [99]]]},
    ]
    result = check(history)
    assert set(result.anomalies) == {"internal", "duplicate-append", "garbage-read"}
    assert "T1 read [] from x" in result.anomalies["internal"][0].explain()


def test_indeterminate_transactions_count_when_observed():
    history = [
        {"process": 0, "type": "invoke", "value": [["append", "x", 1]]},
        {"process": 0, "type": "info", "value": [["append", "x", 1]]},
        {"process": 1, "type": "invoke", "value": [["append", "x", 2]]},  # never completes
        {"process": 2, "type": "invoke", "value": [["r", "x", None]]},
        {"process": 2, "type": "ok", "value": [["r", "x", [1, 2]]]},
    ]
    result = check(history, realtime=True, process=True)
    assert result.valid


# --------------------------------------------------------------------------- format errors


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (['{"process": 0, "type": "invoke", "value": []}', "{oops"], 2, "not valid JSON"),
        (["[1, 2]"], 1, "JSON object"),
        (['{"process": 0, "type": "begin", "value": []}'], 1, "'type'"),
        (['{"type": "invoke", "value": []}'], 1, "'process' is missing"),
        (['{"process": 0, "type": "invoke", "value": [["w", "x", 1]]}'], 1, "'append' or 'r'"),
        (['{"process": 0, "type": "invoke", "value": [["append", "x", null]]}'], 1, "appended"),
        (
            ['{"process": 0, "type": "ok", "value": []}', '{"process": 1, "type": "invoke"}'],
            1,
            "no open invoke",
        ),
        (
            [
                '{"process": 0, "type": "invoke", "value": []}',
                "",
                '{"process": 0, "type": "invoke", "value": []}',
            ],
            3,
            "invokes again",
        ),
        (
            [
                '{"process": 0, "type": "invoke", "value": [["r", "x", null]]}',
                '{"process": 0, "type": "ok", "value": [["r", "x", null]]}',
            ],
            2,
            "has no value",
        ),
        (
            [
                '{"process": 0, "type": "invoke", "value": [["append", "x", 1]]}',
                '{"process": 0, "type": "ok", "value": [["append", "x", 2]]}',
            ],
            2,
            "does not match its invoke",
        ),
    ],
)
def test_malformed_history_names_the_line(lines, line, words):
    with pytest.raises(HistoryFormatError) as caught:
        load_history(lines)
    assert caught.value.line == line
    assert words in str(caught.value) and str(caught.value).startswith(f"line {line}:")


def test_check_validates_events_given_directly():
    with pytest.raises(HistoryFormatError) as caught:
        check([{"process": 0, "type": "invoke", "value": "x"}])
    assert caught.value.line == 1


# --------------------------------------------------------------------------- random histories


@dataclass
class Txn:
    ops: list[list[Any]]
    outcome: str = "ok"  # ok, fail, info
    applied: bool = True  # info only: did it take effect?
    results: list[Any] = field(default_factory=list)


class Workload:
    """A serial execution of random transactions, written down as a concurrent-looking history.

    Transactions run one after another (``steps`` may interleave two of them on purpose, which is
    how the mutations make anomalies); invoke and completion times overlap their neighbours' only
    in ways a serial order explains, so the history is valid with real-time edges too.
    """

    def __init__(
        self,
        rnd: random.Random,
        *,
        txns: int,
        keys: int,
        max_ops: int = 4,
        max_writes_per_key: int | None = None,
    ) -> None:
        self.rnd = rnd
        self.keys = [f"k{i}" for i in range(keys)]
        self.next_token = 0
        self.txns: list[Txn] = []
        active = list(self.keys)
        writes: dict[str, int] = {}
        for _ in range(txns):
            ops = []
            for _ in range(rnd.randint(1, max_ops)):
                slot = rnd.randrange(len(active))
                key = active[slot]
                if rnd.random() < 0.5:
                    ops.append(["r", key])
                    continue
                ops.append(["append", key, self.token()])
                writes[key] = writes.get(key, 0) + 1
                if max_writes_per_key and writes[key] >= max_writes_per_key:
                    # Retire a long list for a fresh key, as Elle's generator does.
                    active[slot] = f"k{len(self.keys)}"
                    self.keys.append(active[slot])
            outcome = rnd.choices(["ok", "fail", "info"], weights=[90, 5, 5])[0]
            self.txns.append(Txn(ops, outcome, applied=rnd.random() < 0.5))
        self.pairs: dict[int, list[tuple[int, int]]] = {}

    def token(self) -> int:
        self.next_token += 1
        return self.next_token

    def insert_pair(self, first: list[list[Any]], second: list[list[Any]], order: str) -> int:
        """Insert two committed transactions that interleave as ``order`` says ("abab" = a's
        first op, then b's first, ...)."""
        at = self.rnd.randint(0, len(self.txns))
        self.txns[at:at] = [Txn(first), Txn(second)]
        self.pairs = {(i if i < at else i + 2): s for i, s in self.pairs.items()}
        counters = {"a": 0, "b": 0}
        steps = []
        for who in order:
            steps.append((at if who == "a" else at + 1, counters[who]))
            counters[who] += 1
        self.pairs[at] = steps
        return at

    def run(self) -> None:
        state: dict[str, list[int]] = {k: [] for k in self.keys}
        for txn in self.txns:
            txn.results = [None] * len(txn.ops)
        order: list[tuple[int, int]] = []
        i = 0
        while i < len(self.txns):
            if i in self.pairs:
                order.extend(self.pairs[i])
                i += 2
                continue
            order.extend((i, j) for j in range(len(self.txns[i].ops)))
            i += 1
        for i, j in order:
            txn = self.txns[i]
            effective = txn.outcome == "ok" or (txn.outcome == "info" and txn.applied)
            f, key, *rest = txn.ops[j]
            if f == "append":
                if effective:
                    state[key].append(rest[0])
            else:
                txn.results[j] = list(state[key])
        final = Txn([["r", k] for k in self.keys])
        final.results = [list(state[k]) for k in self.keys]
        self.final = final

    def history(self) -> list[dict[str, Any]]:
        rnd = self.rnd
        txns = [*self.txns, self.final]
        spans = []
        for i, _txn in enumerate(txns):
            spans.append((i - rnd.random() * 1.5, i + 0.01 + rnd.random() * 1.5, i))
        free_at: dict[int, float] = {}
        process_of: dict[int, int] = {}
        retired: set[int] = set()
        for begin, end, i in sorted(spans):
            free = [p for p, t in free_at.items() if t < begin and p not in retired]
            process = rnd.choice(free) if free else len(free_at)
            free_at[process] = end
            process_of[i] = process
            if txns[i].outcome == "info":
                retired.add(process)  # after an info, a process never invokes again
        events: list[tuple[float, dict[str, Any]]] = []
        for begin, end, i in spans:
            txn = txns[i]
            invoke = [[f, k, (rest[0] if f == "append" else None)] for f, k, *rest in txn.ops]
            events.append((begin, {"process": process_of[i], "type": "invoke", "value": invoke}))
            if txn.outcome == "ok":
                value = [
                    [f, k, (rest[0] if f == "append" else txn.results[j])]
                    for j, (f, k, *rest) in enumerate(txn.ops)
                ]
            else:
                value = invoke
            events.append((end, {"process": process_of[i], "type": txn.outcome, "value": value}))
        events.sort(key=lambda item: item[0])
        return [{**e, "time": int(t * 1000)} for t, e in events]

    def external_reads(self) -> list[tuple[int, int]]:
        """(txn, op) of committed reads that are their transaction's first touch of the key and
        saw at least two elements."""
        found = []
        for i, txn in enumerate(self.txns):
            if txn.outcome != "ok":
                continue
            touched: set[str] = set()
            for j, (f, key, *_rest) in enumerate(txn.ops):
                if f == "r" and key not in touched and len(txn.results[j]) >= 2:
                    found.append((i, j))
                touched.add(key)
        return found


workloads = st.builds(
    lambda rnd, txns, keys: Workload(rnd, txns=txns, keys=keys),
    st.randoms(use_true_random=False),
    st.integers(min_value=5, max_value=60),
    st.integers(min_value=1, max_value=6),
)
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(workloads)
def test_random_serial_histories_are_valid(workload):
    workload.run()
    result = check(workload.history(), realtime=True, process=True)
    assert result.valid, result.explain()


def two_keys(workload: Workload) -> tuple[str, str]:
    workload.keys.append(f"k{len(workload.keys)}")
    first, second = workload.rnd.sample(workload.keys, 2)
    return first, second


MUTATIONS = {
    # A read that no order explains: two appends swapped, or an element dropped from the middle.
    "swap": "incompatible-order",
    "drop": "incompatible-order",
    # A committed read of a failed transaction's append.
    "aborted-read": "G1a",
    # A read of a transaction's state between two of its appends.
    "intermediate-read": "G1b",
    # Both transactions read the same version of k and append to it.
    "lost-update": "lost-update",
    # Two transactions append to two keys in opposite orders.
    "write-cycle": "G0",
    # Each transaction reads the other's append.
    "circular-flow": "G1c",
    # A reader sees one of a writer's appends but not the other.
    "read-skew": "G-single",
    # Each reads what the other then changes (cyclic rw pattern).
    "write-skew": "G2-item",
    # A transaction reads a key without its own earlier append.
    "internal": "internal",
}


def mutate(workload: Workload, mutation: str) -> bool:
    """Apply one mutation; False when this workload has no place for it."""
    w = workload
    if mutation == "lost-update":
        k, _ = two_keys(w)
        w.insert_pair(
            [["r", k], ["append", k, w.token()]], [["r", k], ["append", k, w.token()]], "abab"
        )
    elif mutation == "write-cycle":
        k1, k2 = two_keys(w)
        a = [["append", k1, w.token()], ["append", k2, w.token()]]
        b = [["append", k1, w.token()], ["append", k2, w.token()]]
        w.insert_pair(a, b, "abba")
    elif mutation == "circular-flow":
        k1, k2 = two_keys(w)
        w.insert_pair(
            [["append", k1, w.token()], ["r", k2]], [["append", k2, w.token()], ["r", k1]], "abab"
        )
    elif mutation == "read-skew":
        k1, k2 = two_keys(w)
        w.insert_pair(
            [["append", k1, w.token()], ["append", k2, w.token()]], [["r", k1], ["r", k2]], "baab"
        )
    elif mutation == "write-skew":
        k1, k2 = two_keys(w)
        w.insert_pair(
            [["r", k2], ["append", k1, w.token()]], [["r", k1], ["append", k2, w.token()]], "abab"
        )
    elif mutation == "intermediate-read":
        k, _ = two_keys(w)
        w.insert_pair([["append", k, w.token()], ["append", k, w.token()]], [["r", k]], "aba")
    elif mutation == "internal":
        k, _ = two_keys(w)
        at = w.rnd.randint(0, len(w.txns))
        forgetful = Txn([["append", k, w.token()], ["r", k]])
        w.txns.insert(at, forgetful)
        w.pairs = {(i if i < at else i + 1): s for i, s in w.pairs.items()}
    w.run()
    if mutation == "internal":
        forgetful.results[1] = forgetful.results[1][:-1]  # does not see its own append
    elif mutation in ("swap", "drop"):
        reads = w.external_reads()
        if not reads:
            return False
        i, j = w.rnd.choice(reads)
        value = w.txns[i].results[j]
        at = w.rnd.randrange(len(value) - 1)
        if mutation == "swap":
            value[at], value[at + 1] = value[at + 1], value[at]
        else:
            del value[at]
    elif mutation == "aborted-read":
        writers = [
            t for t in w.txns if t.outcome == "ok" and any(op[0] == "append" for op in t.ops)
        ]
        if not writers:
            return False
        w.rnd.choice(writers).outcome = "fail"  # its appends stay visible: the bug under test
    return True


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads)
def test_every_mutation_is_caught_with_its_class(mutation, workload):
    if not mutate(workload, mutation):
        return
    result = check(workload.history())
    assert MUTATIONS[mutation] in result.anomalies, result.explain()


# --------------------------------------------------------------------------- size


@pytest.mark.slow
@pytest.mark.parametrize("max_writes_per_key", [32, None])
def test_a_100000_operation_history_checks_in_under_ten_seconds(tmp_path, max_writes_per_key):
    """Lists capped at 32 appends per key (as Elle's generator does), and uncapped lists on 500
    keys, whose reads grow to hundreds of elements (a 24 MB file). The limit is on the CPU time
    of this process, so other jobs on the machine do not make the test flaky."""
    workload = Workload(
        random.Random(7), txns=40_000, keys=500, max_writes_per_key=max_writes_per_key
    )
    workload.run()
    events = workload.history()
    operations = sum(len(e["value"]) for e in events if e["type"] == "invoke")
    assert operations >= 100_000
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    cpu, wall = time.process_time(), time.perf_counter()
    result = check(load_history(path), realtime=True, process=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert result.valid, result.explain()
    assert cpu < 10, f"{operations} operations took {cpu:.1f} s of CPU ({wall:.1f} s wall)"


# --------------------------------------------------------------------------- completions only


def test_a_history_of_completions_only_is_checked_like_elles_readme_example():
    """Elle's README writes its example without invoke lines or processes: T1 read T2's append
    to y while T2 appended to x after T1, a G1c cycle."""
    result = check(load_history(HISTORIES / "completed_only_g1c.jsonl"))
    assert list(result.anomalies) == ["G1c"]
    assert result.anomalies["G1c"][0].txns == ("T1", "T2")
    assert result.notes == []


def test_completions_only_cannot_give_real_time_order_and_the_result_says_so():
    history = [
        {"type": "ok", "value": [["append", "x", 1]]},
        {"type": "ok", "value": [["r", "x", []]]},  # stale only if real time were known
    ]
    result = check(history, realtime=True)
    assert result.valid
    assert "real-time order cannot be inferred" in result.explain()
    assert result.to_json()["notes"] == result.notes != []


def test_completions_only_keep_process_order_where_processes_are_named():
    history = [
        {"process": 0, "type": "ok", "value": [["append", "x", 1]]},
        {"process": 0, "type": "ok", "value": [["r", "x", []]]},
        {"process": 1, "type": "ok", "value": [["r", "x", [1]]]},
    ]
    assert set(check(history, process=True).anomalies) == {"G-single-process"}
    assert check(history).valid


def test_a_missing_process_is_an_error_once_the_history_has_invoke_lines():
    lines = ['{"process": 0, "type": "invoke", "value": []}', '{"type": "ok", "value": []}']
    with pytest.raises(HistoryFormatError, match="'process' is missing"):
        load_history(lines)


def test_the_framework_free_command_prints_only_its_verdict():
    """No Django settings are loaded, so no unrelated start-up warning precedes the verdict."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DJANGO_"))}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "wangge.proof.serializability", str(HISTORIES / "serial.jsonl")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "valid\n", "")
    assert (
        "django"
        not in subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-c",
                "import sys, wangge.proof.serializability; print(sorted(m for m in sys.modules))",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    )
