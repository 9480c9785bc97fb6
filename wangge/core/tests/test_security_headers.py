"""Security headers on every response and no-store on personal data (docs/security.md)."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from wangge.cases.tests.factories import report
from wangge.core.middleware import carries_personal_data, tile_image_source
from wangge.registry.tests.factories import register
from wangge.testing.factories import client_for


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_carry_csp_nosniff_referrer_policy_and_frame_denial(db):
    response = Client().get(reverse("login"))
    policy = directives(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_api_answers_carry_the_same_headers(api, territory):
    response = api.get(reverse("api:regions"))
    assert response.status_code == 401
    assert directives(response)["frame-ancestors"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_map_may_load_tiles_from_the_configured_tile_host(cast, settings):
    settings.WANGGE_TILE_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"
    settings.WANGGE_CSP_IMG_HOSTS = ["https://tiles.example.org"]
    response = logged_in(cast.commander).get(reverse("web:map"))
    assert response.status_code == 200
    images = directives(response)["img-src"]
    assert "https://*.is.autonavi.com" in images and "https://tiles.example.org" in images
    assert "'self'" in images


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png", "http://10.0.0.5:8080"),
        ("https://a.{s}.example.org/{z}.png", None),
        ("", None),
        ("javascript:alert(1)", None),
    ],
)
def test_tile_urls_become_csp_host_sources(url, source):
    assert tile_image_source(url) == source


def test_registry_answers_are_not_stored(cast):
    person = register(name="王五").person
    response = client_for(cast.commander).get(reverse("api:person", args=[person.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_case_answers_and_pages_with_the_reporter_are_not_stored(cast):
    case = report(cast.grid_worker_a, reporter_name="李四", reporter_phone="13800138000")
    api = client_for(cast.commander)
    for response in (
        api.get(reverse("api:cases")),
        api.get(reverse("api:case", args=[case.number])),
        logged_in(cast.commander).get(reverse("web:console-case", args=[case.number])),
    ):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_pages_without_personal_data_may_be_cached(cast):
    response = logged_in(cast.commander).get(reverse("web:map"))
    assert "no-store" not in response.get("Cache-Control", "")


def _patterns(resolvers, namespace=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", entry.callback


def test_every_registry_and_case_url_is_covered_by_the_no_store_rule():
    covered = []
    for name, callback in _patterns(get_resolver().url_patterns):
        view = getattr(callback, "view_class", callback)
        registry_view = view.__module__.startswith("wangge.registry.")
        case_view = name.startswith(("api:case", "web:console-case", "web:mobile-case"))
        if registry_view or case_view:
            match = SimpleNamespace(func=callback, view_name=name)
            assert carries_personal_data(SimpleNamespace(resolver_match=match)), name
            covered.append(name)
    assert "api:person" in covered and "web:console-case" in covered


INLINE = re.compile(
    r"<style|\sstyle=\"|\son[a-z]+=\"|<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>",
    re.IGNORECASE,
)


def test_no_template_has_inline_script_style_or_event_handler():
    """The CSP allows scripts and styles from /static only (JSON data blocks are not scripts)."""
    roots = [Path(settings.BASE_DIR) / "wangge"]
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for root in roots
        for path in root.rglob("templates/**/*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if INLINE.search(re.sub(r"\{#.*?#\}", "", line))
    ]
    assert offenders == []
