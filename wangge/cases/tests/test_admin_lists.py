"""The admin's case and case-event lists stay fast on a year of a district: no query of theirs reads
every row (a date hierarchy's DISTINCT over converted dates, the default filters' DISTINCT values,
a second count of the whole table)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wangge.cases.tests.factories import act, report
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db

WHOLE_TABLE_READS = ("DISTINCT", "MIN(", "MAX(", "django_datetime_trunc", "django_date_trunc")


@pytest.fixture
def admin_client(client, cast):
    superuser = make_user("root", role="system_admin", scope="110102", is_staff=True)
    superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?action=accept",
        "?to_state=accepted",
        "?created_at__gte=2020-01-01+00:00:00%2B08:00",
        "?q=",
        "?_facets=True",
    ],
)
@pytest.mark.parametrize("model", ["caseevent", "case"])
def test_admin_lists_read_no_whole_table_aggregates(admin_client, cast, model, query):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    if query == "?q=":
        query = f"?q={case.number[-8:]}"
    if model == "case" and query.startswith(("?action", "?to_state")):
        query = "?state=accepted"
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(f"/admin/cases/{model}/{query}")
    assert response.status_code == 200
    assert case.number in response.content.decode()
    reads = [q["sql"] for q in queries.captured_queries if "cases_case" in q["sql"]]
    assert reads
    assert not [sql for sql in reads if any(word in sql for word in WHOLE_TABLE_READS)]
    counts = [sql for sql in reads if "COUNT(" in sql]
    assert len(counts) <= 1  # no second count of the whole table beside the filtered one


def test_event_filters_list_the_workflow_actions_and_find_events_by_case_number(admin_client, cast):
    case = report(cast.grid_worker_a)
    act(case, "accept", cast.operator)
    other = report(cast.grid_worker_b, at=(116.39, 39.87))
    page = admin_client.get("/admin/cases/caseevent/").content.decode()
    assert "?action=verify" in page and "?action=overdue" in page and "?to_state=archived" in page
    found = admin_client.get(f"/admin/cases/caseevent/?q={case.number}").content.decode()
    assert case.number in found and other.number not in found
    accepted = admin_client.get("/admin/cases/caseevent/?action=accept").content.decode()
    assert case.number in accepted and other.number not in accepted
