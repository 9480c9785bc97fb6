"""The 400/403/404/500 and CSRF failure pages, as production shows them (DEBUG off): the site's
header, a translated message and a way back, in Chinese and in English."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEXTS = {
    "zh-hans": {
        400: "无法理解该请求",
        403: "您无权打开此页面",
        404: "页面不存在",
        500: "服务器出了点问题",
        "csrf": "表单已过期",
        "back": "返回首页",
    },
    "en": {
        400: "The request could not be understood",
        403: "You may not open this page",
        404: "Page not found",
        500: "Something went wrong on our side",
        "csrf": "The form has expired",
        "back": "Back to the start page",
    },
}
LANGUAGES = list(TEXTS)


def assert_branded(response, language: str, key) -> None:
    text = response.content.decode()
    assert 'class="site-header"' in text
    assert '<span class="brand-zh" lang="zh-hans">网格</span>' in text
    assert TEXTS[language][key] in text, text
    assert TEXTS[language]["back"] in text
    assert 'href="/"' in text
    assert "Traceback" not in text and "DEBUG" not in text


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_missing_case_answers_the_branded_404_page(cast, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(cast.commander)
    response = client.get(reverse("web:console-case", args=["110102-2026-999999"]))
    assert response.status_code == 404
    assert_branded(response, language, 404)
    assert cast.commander.username in response.content.decode()  # the header knows who is signed in


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unknown_address_answers_the_branded_404_page_without_a_login(language):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/q/no-such-token/x/y/")
    assert response.status_code == 404
    assert_branded(response, language, 404)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_role_without_access_answers_the_branded_403_page(cast, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(cast.nobody)
    response = client.get(reverse("web:console"))
    assert response.status_code == 403
    assert_branded(response, language, 403)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_disallowed_host_answers_the_branded_400_page(settings, language):
    settings.ALLOWED_HOSTS = ["wangge.example"]
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(
        "/accounts/login/", HTTP_HOST="evil.example"
    )
    assert response.status_code == 400
    assert_branded(response, language, 400)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_crash_answers_the_branded_500_page(cast, monkeypatch, language):
    def crash():
        raise RuntimeError("boom")

    monkeypatch.setattr("wangge.web.views.grid_layer_list", crash)
    client = Client(HTTP_ACCEPT_LANGUAGE=language, raise_request_exception=False)
    client.force_login(cast.commander)
    response = client.get(reverse("web:map"))
    assert response.status_code == 500
    assert_branded(response, language, 500)
    assert "boom" not in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_form_sent_without_its_csrf_token_answers_the_branded_csrf_page(cast, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language, enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "commander", "password": "x"})
    assert response.status_code == 403
    assert_branded(response, language, "csrf")
