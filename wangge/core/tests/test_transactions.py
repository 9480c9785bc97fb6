"""The retry wrapper: serializable on PostgreSQL, bounded retries, never inside an outer block."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction

from wangge.api.errors import exception_handler
from wangge.core.errors import ConflictError, InvalidInputError
from wangge.core.models import Department
from wangge.core.transactions import (
    MAX_DELAY,
    NestedTransactionError,
    RetriesExhaustedError,
    backoff_delay,
    in_serializable,
    is_retryable,
    run_serializable,
    serializable,
)
from wangge.proof.workload import serialization_failure

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SERIALIZABLE and SQLSTATE 40001 exist on PostgreSQL only; SQLite runs IMMEDIATE",
)


def test_it_refuses_to_run_inside_an_outer_atomic_block():
    with transaction.atomic(), pytest.raises(NestedTransactionError, match="inside an atomic"):
        run_serializable(lambda: Department.objects.create(code="x", name="x"))
    assert not Department.objects.filter(code="x").exists()


def test_a_serialization_failure_is_retried_and_the_failed_attempt_leaves_nothing():
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        Department.objects.create(code=f"try{len(calls)}", name="attempt")
        if len(calls) == 1:
            raise serialization_failure()
        return len(calls)

    retried: list[int] = []
    result = run_serializable(work, base_delay=0, on_retry=lambda n, exc: retried.append(n))
    assert result == 2 and retried == [1]
    assert list(Department.objects.filter(name="attempt").values_list("code", flat=True)) == [
        "try2"
    ]


def test_it_gives_up_after_the_last_attempt_with_a_409_conflict():
    calls: list[int] = []

    def always_conflicts() -> None:
        calls.append(1)
        Department.objects.create(code=f"c{len(calls)}", name="doomed")
        raise serialization_failure()

    with pytest.raises(RetriesExhaustedError) as caught:
        run_serializable(always_conflicts, attempts=3, base_delay=0)
    assert len(calls) == 3 and caught.value.attempts == 3
    assert isinstance(caught.value, ConflictError)
    assert not Department.objects.filter(name="doomed").exists()
    response = exception_handler(caught.value, {})
    assert response.status_code == 409 and "Try again" in response.data["detail"]


def test_domain_errors_and_other_database_errors_are_not_retried():
    calls: list[str] = []

    def refuses() -> None:
        calls.append("domain")
        raise InvalidInputError("no", {"field": ["bad"]})

    with pytest.raises(InvalidInputError):
        run_serializable(refuses)
    Department.objects.create(code="dup", name="one")

    def duplicates() -> None:
        calls.append("integrity")
        Department.objects.create(code="dup", name="two")

    with pytest.raises(IntegrityError):
        run_serializable(duplicates)
    assert calls == ["domain", "integrity"]


def test_which_errors_are_retryable():
    assert is_retryable(serialization_failure(), "postgresql")
    assert is_retryable(serialization_failure("40P01"), "postgresql")
    assert not is_retryable(serialization_failure("23505"), "postgresql")
    assert is_retryable(OperationalError("database is locked"), "sqlite")
    assert not is_retryable(OperationalError("database is locked"), "postgresql")
    assert not is_retryable(ValueError("40001"), "postgresql")


def test_the_pause_grows_with_jitter_and_is_capped():
    rng = random.Random(7)
    first = [backoff_delay(1, 0.01, rng) for _ in range(50)]
    fifth = [backoff_delay(5, 0.01, rng) for _ in range(50)]
    assert max(first) <= 0.01 and max(fifth) <= 0.16 and max(fifth) > 0.01
    assert len(set(first)) > 40  # jittered, not a fixed step
    assert backoff_delay(30, 0.01, rng) <= MAX_DELAY


def test_a_nested_call_joins_the_running_one_and_the_outer_one_retries():
    outer_calls: list[int] = []

    def inner() -> str:
        assert in_serializable()
        Department.objects.create(code=f"in{len(outer_calls)}", name="inner")
        return "inner"

    def outer() -> str:
        outer_calls.append(1)
        result = run_serializable(inner)
        if len(outer_calls) == 1:
            raise serialization_failure()
        return result

    assert run_serializable(outer, base_delay=0) == "inner"
    assert list(Department.objects.filter(name="inner").values_list("code", flat=True)) == ["in2"]
    assert not in_serializable()


def test_the_decorator_form():
    @serializable(attempts=2, base_delay=0)
    def make(code: str) -> Department:
        return Department.objects.create(code=code, name="decorated")

    assert make("deco").code == "deco" and make.__name__ == "make"


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="attempts"):
        run_serializable(lambda: None, attempts=0)
    with pytest.raises(ValueError, match="isolation"):
        run_serializable(lambda: None, isolation="chaos")


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_the_transaction_runs_serializable():
    def level() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            return cursor.fetchone()[0]

    assert run_serializable(level) == "serializable"
    assert run_serializable(level, isolation="read committed") == "read committed"


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_a_real_write_skew_is_retried_and_both_end_serially():
    """Two on-call rosters: each transaction takes a doctor off duty if another is still on.
    At SERIALIZABLE one of the two gets 40001, is retried, sees the other's change and refuses."""
    Department.objects.create(code="a", name="on")
    Department.objects.create(code="b", name="on")
    barrier = threading.Barrier(2)
    retries: list[int] = []
    outcomes: list[str] = []

    def go_off(code: str) -> None:
        try:
            first = [True]

            def work() -> str:
                on_duty = Department.objects.filter(name="on").count()
                if first[0]:
                    first[0] = False
                    barrier.wait(timeout=5)
                if on_duty < 2:
                    return "refused"
                Department.objects.filter(code=code).update(name="off")
                return "off"

            outcomes.append(
                run_serializable(work, base_delay=0.001, on_retry=lambda n, e: retries.append(n))
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go_off, args=(code,)) for code in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["off", "refused"]
    assert retries[:1] == [1]  # the loser was retried (more than once if the winner was slow)
    assert Department.objects.filter(name="on").count() == 1
