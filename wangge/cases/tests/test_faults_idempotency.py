"""Idempotent intake under faults: the same report sent 20 times at once, or again after the client
gave up waiting, makes one case, and every answer names it; a database constraint backs it.

The concurrent and time-out tests go through a real HTTP server (pytest-django's live server, a
thread per request, each with its own database connection), so they run on PostgreSQL only: the
SQLite run's in-memory database is one connection shared by every thread.
"""

from __future__ import annotations

import threading
import time
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.authtoken.models import Token

from wangge.cases import services, sla
from wangge.cases.models import Case, CaseEvent, IntakeKey
from wangge.cases.services import Intake, case_create
from wangge.cases.tests.factories import IN_GRID_A, category
from wangge.proof.faults.http import Answer, post_json
from wangge.testing.factories import client_for

CASES_PATH = "/api/v1/cases/"

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs a connection per thread; the SQLite run's in-memory database is one shared "
    "connection",
)


def report_body() -> dict:
    return {
        "source": "patrol",
        "category": category().id,
        "description": "井盖破损，存在安全隐患",
        "lng": IN_GRID_A[0],
        "lat": IN_GRID_A[1],
        "address": "测试路1号",
    }


def server(live_server) -> tuple[str, int]:
    parts = urlsplit(live_server.url)
    return parts.hostname, parts.port


def counts() -> tuple[int, int, int]:
    return Case.objects.count(), IntakeKey.objects.count(), CaseEvent.objects.count()


# The constraint ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_second_use_of_a_key_by_the_same_client(cast):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, IntakeKey._meta.db_table)
    unique_columns = [
        sorted(c["columns"]) for c in constraints.values() if c["unique"] and not c["primary_key"]
    ]
    assert ["client", "key"] in unique_columns

    first = case_create(
        intake=Intake(
            source="patrol",
            category=category(),
            description="x",
            lng=IN_GRID_A[0],
            lat=IN_GRID_A[1],
        ),
        actor=cast.grid_worker_a,
    )[0]
    IntakeKey.objects.create(client="user:1", key="k-1", case=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        IntakeKey.objects.create(client="user:1", key="k-1", case=first)
    IntakeKey.objects.create(client="user:2", key="k-1", case=first)  # keys are per client


# A sensor: device id + sequence ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_sensor_resending_a_sequence_number_gets_its_first_case(territory):
    """The service takes the device as the key's client: (device, sequence) names one report."""

    def send(device: str, seq: int) -> tuple[Case, bool]:
        intake = Intake(
            source=Case.Source.SENSOR,
            category=category(),
            description=f"{device} 水位报警",
            lng=IN_GRID_A[0],
            lat=IN_GRID_A[1],
            idempotency_key=str(seq),
        )
        return case_create(intake=intake, actor=None, client=f"sensor:{device}")

    first, created = send("WL-0007", 1042)
    assert created
    again = [send("WL-0007", 1042) for _ in range(3)]
    assert [(c.number, made) for c, made in again] == [(first.number, False)] * 3
    other_device, created = send("WL-0008", 1042)
    next_reading, created_next = send("WL-0007", 1043)
    assert created and created_next
    assert len({first.number, other_device.number, next_reading.number}) == 3
    assert counts() == (3, 3, 3)


@pytest.mark.django_db
def test_a_sensor_gateway_uses_device_and_sequence_as_its_key_over_the_api(cast):
    """Over HTTP the key's client is the authenticated account, so a gateway account sends
    "device:sequence" as the Idempotency-Key."""
    gateway = client_for(cast.grid_worker_a)
    answers = [
        gateway.post(CASES_PATH, report_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
        for key in ("WL-0007:1042", "WL-0007:1042", "WL-0008:1042", "WL-0007:1042")
    ]
    assert [a.status_code for a in answers] == [201, 200, 201, 200]
    numbers = [a.json()["number"] for a in answers]
    assert numbers[0] == numbers[1] == numbers[3] != numbers[2]
    assert counts() == (2, 2, 2)


# Twenty at once -------------------------------------------------------------------------------


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_concurrent_posts_with_one_key_make_one_case(cast, live_server):
    host, port = server(live_server)
    token = Token.objects.create(user=cast.grid_worker_a).key
    body = report_body()
    barrier = threading.Barrier(20)
    answers: list[Answer] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        answer = post_json(
            port,
            CASES_PATH,
            body,
            host=host,
            headers={"Authorization": f"Token {token}", "Idempotency-Key": "report-20x"},
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 20
    # They overlapped: the race was run, not twenty polite retries one after the other.
    in_flight = max(sum(b.started <= a.started < b.ended for b in answers) for a in answers)
    assert in_flight >= 10, in_flight
    assert sorted(a.status for a in answers) == [200] * 19 + [201], [
        (a.status, a.error, a.body[:200]) for a in answers
    ]
    assert len({a.json()["number"] for a in answers}) == 1
    assert counts() == (1, 1, 1)
    assert IntakeKey.objects.get().case.number == answers[0].json()["number"]


# The client gives up before the answer, then retries ------------------------------------------


def slow_first_call(target, seconds: float):
    """Wrap ``target`` so its first call sleeps ``seconds`` first; ``.entered``/``.left`` tell."""
    entered, left = threading.Event(), threading.Event()

    def wrapper(*args, **kwargs):
        first = not entered.is_set()
        entered.set()
        try:
            if first:
                time.sleep(seconds)
            return target(*args, **kwargs)
        finally:
            if first:
                left.set()

    wrapper.entered, wrapper.left = entered, left
    return wrapper


def slow_commit_of_first_call(store, seconds: float):
    """Wrap the one-statement store of a report so its first call runs in a transaction that
    waits ``seconds`` before its COMMIT, holding the number it took and its key."""
    entered, left = threading.Event(), threading.Event()

    def wrapper(*args):
        if entered.is_set():
            return store(*args)
        entered.set()
        try:
            with transaction.atomic():
                store(*args)
                time.sleep(seconds)
        finally:
            left.set()

    wrapper.entered, wrapper.left = entered, left
    return wrapper


def give_up_then_retry(port: int, host: str, token: str, key: str, slow) -> list[Answer]:
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": key}
    body = report_body()
    abandoned = post_json(port, CASES_PATH, body, host=host, headers=headers, timeout=0.4)
    assert abandoned.status is None and "timed out" in abandoned.error, abandoned
    assert slow.entered.is_set()
    # Retried at once, while the first request is still being served …
    during = post_json(port, CASES_PATH, body, host=host, headers=headers)
    # … and once more after it has finished.
    assert slow.left.wait(10)
    time.sleep(0.3)  # the abandoned request's commit and response
    after = post_json(port, CASES_PATH, body, host=host, headers=headers)
    return [during, after]


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_after_a_time_out_before_numbering_returns_one_case(cast, live_server):
    """The first request stalls before it takes a number (deadline lookup): the retry overtakes
    it and creates the case; the stalled one then finds the key taken and creates nothing."""
    host, port = server(live_server)
    token = Token.objects.create(user=cast.grid_worker_a).key
    slow = slow_first_call(sla.stage_deadline, 1.5)
    with mock.patch.object(sla, "stage_deadline", slow):
        answers = give_up_then_retry(port, host, token, "lost-answer-1", slow)
    assert [a.status for a in answers] == [201, 200], [a.body[:300] for a in answers]
    assert answers[0].json()["number"] == answers[1].json()["number"]
    assert counts() == (1, 1, 1)


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_after_a_time_out_inside_the_transaction_returns_one_case(cast, live_server):
    """The first request stalls after it took its number, inside its transaction (before its
    COMMIT): the retry waits for it and answers with its case."""
    host, port = server(live_server)
    token = Token.objects.create(user=cast.grid_worker_a).key
    slow = slow_commit_of_first_call(services._store_in_one_statement, 1.5)
    with mock.patch.object(services, "_store_in_one_statement", slow):
        answers = give_up_then_retry(port, host, token, "lost-answer-2", slow)
    assert [a.status for a in answers] == [200, 200], [a.body[:300] for a in answers]
    assert answers[0].json()["number"] == answers[1].json()["number"]
    assert counts() == (1, 1, 1)
    assert Case.objects.get().number == answers[0].json()["number"]
