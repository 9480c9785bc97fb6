"""Under /api/ every error is JSON, also the ones Django answers itself; pages keep HTML."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from wangge.testing.factories import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v2/cases/", "/api/"])
def test_an_unknown_api_path_is_a_json_404(cast, path):
    answer = client_for(cast.grid_worker_a).get(path)
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["detail"] == f"No API endpoint at {path}."


def test_an_unknown_api_path_answers_json_without_a_login_too():
    answer = Client().get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 404
    assert "/api/v1/no-such-thing/" in answer.json()["detail"]


def test_an_over_large_json_body_is_a_json_413(cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"description": "x" * 20_000})
    answer = client_for(cast.grid_worker_a).post(
        "/api/v1/cases/", body, content_type="application/json"
    )
    assert answer.status_code == 413
    assert answer.json() == {"detail": "The request body is too large."}


def test_an_over_large_form_field_is_a_json_413(cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    answer = client_for(cast.grid_worker_a).post(
        "/api/v1/cases/", {"description": "x" * 20_000}, format="multipart"
    )
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"


def test_pages_keep_their_html_errors(cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = Client()
    client.force_login(cast.grid_worker_a)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("text/html")
    too_big = client.post("/accounts/login/", {"username": "x" * 20_000})
    assert too_big.status_code == 400
    assert too_big["Content-Type"].startswith("text/html")


def test_api_errors_of_the_views_are_left_as_they_are(cast):
    answer = client_for(cast.grid_worker_a).get("/api/v1/cases/110102-1999-999999/")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "No case 110102-1999-999999."}
