"""Every endpoint declares who may call it the one way (``wangge.core.rest.ApiView``), and no
domain app reaches up into this face for what the kit gives."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver
from drf_spectacular.views import SpectacularAPIView

from wangge.api import urls
from wangge.core.auth import ObtainTokenApi
from wangge.core.rest import ApiView

PACKAGE = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")
# Open by design: the token endpoint is how a caller signs in; the schema is public documentation.
OPEN = {ObtainTokenApi, SpectacularAPIView}


def _views(patterns: list) -> list[tuple[str, type]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            found.append((str(pattern.pattern), pattern.callback.cls))
    return found


ENDPOINTS = [(route, view) for route, view in _views(urls.urlpatterns) if view not in OPEN]


@pytest.mark.parametrize(("route", "view"), ENDPOINTS, ids=[r for r, _ in ENDPOINTS])
def test_every_method_of_every_endpoint_declares_its_permissions(route, view):
    assert issubclass(view, ApiView), f"{route}: {view.__name__} is not a core.rest.ApiView"
    assert "permission_classes" not in vars(view), f"{route}: declare read/write instead"
    for method in METHODS:
        if hasattr(view, method):
            assert view().required_permissions(method.upper()) is not None, (
                f"{route}: {view.__name__}.{method} declares no permissions"
            )


def test_no_domain_module_imports_the_api_face():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if (
            relative.parts[0] == "api"
            or "tests" in relative.parts
            or "migrations" in relative.parts
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [
                f"{relative}: {n}" for n in names if n.split(".")[:2] == ["wangge", "api"]
            ]
    assert offenders == []
