"""Global transactions over node databases (篇7): the paper's indirect conflict, and tickets."""

from __future__ import annotations

import random

import psycopg
import pytest
from django.db import connection

from wangge.proof import multinode
from wangge.proof.serializability import check

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the node databases are PostgreSQL databases created by the test",
)


@pytest.fixture(scope="module")
def pool():
    settings = connection.settings_dict
    admin = psycopg.conninfo.make_conninfo(
        dbname="postgres",
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
    )
    prefix = f"{settings['TEST'].get('NAME') or 'test_' + settings['NAME']}_node"
    with multinode.cluster(admin, ["s1", "s2", "s3"], prefix) as nodes:
        yield nodes


def test_the_papers_schedules_without_tickets_make_a_global_cycle(pool):
    result = multinode.run(
        pool, multinode.PAPER_TXNS, tickets=False, key_prefix="p0:", order=multinode.PAPER_ORDER
    )
    verdict = check(result.history)
    assert set(verdict.anomalies) == {"global-cycle"}, verdict.explain()
    [witness] = verdict.anomalies["global-cycle"]
    assert set(witness.txns) == {"T1", "T2", "T3", "T4"} and witness.nodes == ("s1", "s2")
    for node in ("s1", "s2"):  # each node on its own is serializable
        assert check([e for e in result.history if e["node"] == node]).valid


def test_with_tickets_the_same_schedule_aborts_t1_and_its_retry_is_serializable(pool):
    result = multinode.run(
        pool, multinode.PAPER_TXNS, tickets=True, key_prefix="p1:", order=multinode.PAPER_ORDER
    )
    verdict = check(result.history)
    assert verdict.valid, verdict.explain()
    assert result.aborted_globals == 1
    assert sorted(result.committed) == ["Fs1", "Fs2", "T1.2", "T2", "T3", "T4"]


def random_runs(pool, runs: int, *, tickets: bool, seed: int) -> tuple[int, int, list[str]]:
    """(runs with a global cycle, runs with any anomaly, explanations of the first few)."""
    rng = random.Random(seed)
    cycles = anomalous = 0
    shown: list[str] = []
    for number in range(runs):
        txns = multinode.random_txns(rng, ["s1", "s2", "s3"])
        result = multinode.run(
            pool, txns, tickets=tickets, key_prefix=f"{seed}-{tickets:d}-{number}:", rng=rng
        )
        verdict = check(result.history)
        if not verdict.valid:
            anomalous += 1
            cycles += "global-cycle" in verdict.anomalies
            if len(shown) < 3:
                shown.append(verdict.explain())
    return cycles, anomalous, shown


def test_random_interleavings_without_tickets_break_global_serializability(pool):
    cycles, anomalous, shown = random_runs(pool, 60, tickets=False, seed=11)
    assert cycles > 0 and anomalous == cycles, shown


def test_random_interleavings_with_tickets_never_make_a_global_cycle(pool):
    cycles, anomalous, shown = random_runs(pool, 50, tickets=True, seed=12)
    assert (cycles, anomalous) == (0, 0), shown


@pytest.mark.slow
def test_a_thousand_random_runs_with_tickets_have_no_global_cycle(pool):
    cycles, anomalous, shown = random_runs(pool, 1000, tickets=True, seed=13)
    assert (cycles, anomalous) == (0, 0), shown
