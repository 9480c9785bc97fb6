"""One way to run a state change that must be serializable: :func:`run_serializable`.

On PostgreSQL the function opens a transaction at ``SERIALIZABLE`` and, when the database aborts it
with a serialization failure (SQLSTATE 40001) or a deadlock (40P01), runs the whole function again
after a short jittered, growing pause, a bounded number of times. On SQLite every write transaction
already begins ``IMMEDIATE`` (settings.py), so writers queue on the database lock and the function
runs once; a "database is locked" that outlasts the busy timeout is retried the same way.

Because a retry re-runs everything, the function must read what it decides on inside itself, and
write its outbox rows there too: an attempt that rolls back leaves no row behind, and the committed
attempt leaves exactly one set. Side effects go through ``transaction.on_commit``.

It refuses to run inside an outer ``atomic`` block: a retry could not undo the outer block's work,
and the isolation level can only be chosen before a transaction's first statement. Called while
another ``run_serializable`` is running in the same thread, it joins it (the outer one retries).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils.translation import gettext as _

from wangge.core.errors import ConflictError

logger = logging.getLogger(__name__)

T = TypeVar("T")

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
RETRYABLE_SQLSTATES = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})
ISOLATION_LEVELS = frozenset({"serializable", "repeatable read", "read committed"})
MAX_DELAY = 1.0  # seconds; the pause never grows beyond this

_local = threading.local()


class NestedTransactionError(RuntimeError):
    """A programming error: ``run_serializable`` was called inside an outer ``atomic`` block."""


class RetriesExhaustedError(ConflictError):
    """The operation collided with concurrent changes on every attempt (HTTP 409: try again)."""

    def __init__(self, attempts: int, cause: BaseException) -> None:
        super().__init__(
            _(
                "Others changed the same records at the same moment %(attempts)s times in a row; "
                "nothing was saved. Try again."
            )
            % {"attempts": attempts},
            current={"attempts": attempts},
        )
        self.attempts = attempts
        self.__cause__ = cause


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django wraps the driver's exception as ``__cause__``)."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def is_retryable(exc: BaseException, vendor: str) -> bool:
    if not isinstance(exc, DatabaseError):
        return False
    if sqlstate(exc) in RETRYABLE_SQLSTATES:
        return True
    return vendor == "sqlite" and "database is locked" in str(exc)


def backoff_delay(attempt: int, base_delay: float, rng: random.Random | None = None) -> float:
    """Full jitter: a random pause up to ``base_delay * 2**(attempt-1)``, capped at MAX_DELAY."""
    ceiling = min(MAX_DELAY, base_delay * 2 ** (attempt - 1))
    return (rng or random).uniform(0, ceiling)  # noqa: S311 — jitter, not security


def _inside_outer_block(using: str) -> bool:
    """True inside an ``atomic`` block someone opened; a test case's own wrapper does not count.

    This is Django's rule for ``atomic(durable=True)``: pytest-django wraps each test in a
    transaction that stands for "outside", so services can be tested without committing.
    """
    connection = connections[using]
    return connection.in_atomic_block and not connection.atomic_blocks[-1]._from_testcase


def _under_test_transaction(using: str) -> bool:
    connection = connections[using]
    return connection.in_atomic_block and connection.atomic_blocks[-1]._from_testcase


@contextmanager
def _active(using: str) -> Iterator[None]:
    active: set[str] = getattr(_local, "active", set())
    _local.active = active | {using}
    try:
        yield
    finally:
        _local.active = active


def in_serializable(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the current thread is inside ``run_serializable`` on ``using``."""
    return using in getattr(_local, "active", set())


def run_serializable(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    base_delay: float = 0.01,
    using: str = DEFAULT_DB_ALIAS,
    isolation: str = "serializable",
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> T:
    """Run ``fn`` in one transaction at ``isolation`` (PostgreSQL), retrying conflicts.

    ``attempts`` bounds the number of runs; when the last one fails too, :class:`RetriesExhaustedError`
    (a ``ConflictError``, so the API answers 409) is raised with the database error as its cause.
    Domain errors raised by ``fn`` roll the transaction back and propagate at once, unretried.
    ``isolation`` other than serializable exists for the workload harness's control runs.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if isolation not in ISOLATION_LEVELS:
        raise ValueError(f"isolation must be one of {sorted(ISOLATION_LEVELS)}")
    if in_serializable(using):
        return fn()
    if _inside_outer_block(using):
        raise NestedTransactionError(
            "run_serializable() was called inside an atomic block; call it outside any "
            "transaction so that it can choose the isolation level and retry the whole operation."
        )
    connection = connections[using]
    # Under a test case's transaction the block is a savepoint; the level is already fixed.
    set_level = connection.vendor == "postgresql" and not _under_test_transaction(using)
    for attempt in range(1, attempts + 1):
        try:
            with _active(using), transaction.atomic(using=using, durable=True):
                if set_level:
                    with connection.cursor() as cursor:
                        cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation.upper()}")
                return fn()
        except DatabaseError as exc:
            if not is_retryable(exc, connection.vendor):
                raise
            if attempt == attempts:
                logger.warning("gave up after %s attempts: %s", attempts, exc)
                raise RetriesExhaustedError(attempts, exc) from exc
            if on_retry is not None:
                on_retry(attempt, exc)
            time.sleep(backoff_delay(attempt, base_delay))
    raise AssertionError("unreachable")  # pragma: no cover


def serializable(
    *, attempts: int = 5, base_delay: float = 0.01
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator form: ``@serializable()`` runs the function through :func:`run_serializable`."""

    def wrap(function: Callable[..., T]) -> Callable[..., T]:
        def wrapper(*args: object, **kwargs: object) -> T:
            return run_serializable(
                lambda: function(*args, **kwargs), attempts=attempts, base_delay=base_delay
            )

        wrapper.__name__ = function.__name__
        wrapper.__doc__ = function.__doc__
        wrapper.__wrapped__ = function  # type: ignore[attr-defined]
        return wrapper

    return wrap
