"""Schemathesis over the whole OpenAPI document, in-process through the WSGI application.

Every operation the schema describes — the Open311 endpoints too, once they exist — gets generated
requests, signed with a DRF token of a persona; every answer must not be a server error and must
match the schema (status codes and bodies). The schema is generated from the code at run time, so
a new endpoint is fuzzed without touching this file.

Bounded for CI: ``WANGGE_FUZZ_EXAMPLES`` examples per operation (default 10), a fixed seed
(derandomize), no coverage phase. The long run is in docs/testing.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from wangge.proof.tests.world import build_world
from wangge.testing import logcapture
from wangge.testing.factories import load_test_territory, make_user

EXAMPLES = int(os.environ.get("WANGGE_FUZZ_EXAMPLES", "10"))
COVERAGE = os.environ.get("WANGGE_FUZZ_COVERAGE") == "1"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _openapi() -> schemathesis.BaseSchema:
    config = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}})
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(document, config=config)
    loaded.app = WSGIHandler()
    return loaded


schema = _openapi()


@pytest.fixture(scope="module")
def token(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The test district, the world of the scope matrix and the commander's API token, made once
    for the module inside a transaction that is rolled back at its end (each operation's test runs
    in a savepoint within it, like Django's TestCase.setUpTestData)."""
    outer = transaction.atomic()
    outer._from_testcase = True  # as TestCase marks its class-wide block (see core/transactions.py)
    with django_db_blocker.unblock(), outer:
        load_test_territory()
        commander = make_user("fuzzer", role="district_commander", scope="110102")
        with override_settings(MEDIA_ROOT=tempfile.mkdtemp(prefix="wangge-fuzz-")):
            build_world(home_importer=commander)
            yield Token.objects.create(user=commander).key
        transaction.set_rollback(True)


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """Requests through the WSGI handler close the connection when they start and finish; the
    test's transaction must survive them, as it does with Django's test client."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_schema(case, token, in_test_transaction):
    with logcapture.paused():  # random paths such as /people/13912345678/ would look like PII
        response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=CHECKS)
