"""Views read scoped rows only through selectors: a static check of every API and page module.

A view module (every module under ``wangge/web/``, every ``wangge/*/api*.py`` and ``api/`` package,
every ``wangge/*/views*.py``) must not
query a scoped model (one placed in the territory: a ``region_code`` column, a region or grid, or
a row hanging off one of those) through ``Model.objects`` / ``_default_manager`` itself; it calls
the app's selectors (``selectors.*``) and permissions (``access_*_for_user``), which apply
``wangge.core.scope``.
The few places that do query directly are listed in ``ALLOWED`` with the reason; the list is kept
exact, so a new direct query fails the test and a fixed one must leave the list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "wangge"

# (module, function, model) → why the direct query does not bypass the scope.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("wangge/cases/api.py", "case_detail", "Case"): "re-reads, with its relations, a case the "
    "view fetched through permissions.access_case_for_user",
    ("wangge/cases/api.py", "case_detail", "CaseEvent"): "the events of that same case",
    ("wangge/cases/api.py", "CasePhotoFileApi.get", "CasePhoto"): "a photo of a case fetched "
    "through access_case_for_user (filtered by that case)",
    ("wangge/web/views_cases.py", "_case_context", "Case"): "re-reads a case fetched through "
    "access_case_for_user, with its relations",
    ("wangge/web/views_cases.py", "_case_context", "CaseEvent"): "the events of that same case",
    ("wangge/web/views_cases.py", "case_photo", "CasePhoto"): "a photo of a case fetched through "
    "access_case_for_user (filtered by that case)",
    ("wangge/registry/api.py", "_unit_grid", "Grid"): "a unit grid named in a component's body: "
    "territory, not scoped data; the service checks the component's place against the scope",
    ("wangge/registry/api.py", "_component_detail", "Region"): "the names of the street and "
    "community above a component already fetched through access_component_for_user",
    ("wangge/web/views_registry.py", "_grid_of", "Grid"): "the grid of a building or organization "
    "already fetched through its access function (its own region code)",
    ("wangge/web/views_registry.py", "house_page", "Residency"): "the residencies of a house "
    "fetched through access_house_for_user; the people among them are then filtered by "
    "selectors.person_list",
    ("wangge/web/views_registry.py", "household_page", "Residency"): "the members of a household "
    "fetched through access_household_for_user; the people are filtered by person_list",
    ("wangge/web/views_cases.py", "_names_in", "Grid"): "the names of the grids an event of a "
    "visible case names (a transfer's from and to): the published territory, not scoped rows",
    ("wangge/web/views_registry_reports.py", "qr_stats_page", "Region"): "the names of the "
    "communities above grids the scan-rate selector already filtered by scope",
    ("wangge/web/views_registry.py", "person_page", "Household"): "the care classes of the "
    "households of a person fetched through access_person_for_user",
}


def view_modules() -> list[Path]:
    """Every module that answers requests: all of ``web/`` (pages by domain, their helpers and
    context processors), the REST face ``api/``, each app's ``api*.py`` and ``api/`` package, and
    any ``views*.py``."""
    found = (
        set(PACKAGE.glob("web/**/*.py"))
        | set(PACKAGE.glob("api/**/*.py"))
        | set(PACKAGE.glob("*/api*.py"))
        | set(PACKAGE.glob("*/api/**/*.py"))
        | set(PACKAGE.glob("*/views*.py"))
    )
    return sorted(p for p in found if "tests" not in p.parts and "static" not in p.parts)


def scoped_models() -> dict[str, type[models.Model]]:
    """Models placed in the territory, and the models whose rows belong to one of those."""
    placed = {
        model
        for model in apps.get_models()
        if model._meta.app_label.startswith(("regions", "registry", "cases"))
        and (
            any(f.name == "region_code" for f in model._meta.get_fields())
            or model._meta.label in ("regions.Region", "regions.Grid")
        )
    }
    hanging = {
        model
        for model in apps.get_models()
        for f in model._meta.get_fields()
        if isinstance(f, models.ForeignKey) and f.related_model in placed
    }
    return {m.__name__: m for m in placed | hanging}


def direct_queries(path: Path, names: set[str]) -> Iterator[tuple[str, str, int]]:
    """(function, model, line) for each ``Model.objects`` / ``Model._default_manager`` use."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    stack: list[str] = []

    def visit(node: ast.AST) -> Iterator[tuple[str, str, int]]:
        scoped = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        if scoped:
            stack.append(node.name)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("objects", "_default_manager", "_base_manager")
            and isinstance(node.value, ast.Name)
            and node.value.id in names
        ):
            yield ".".join(stack) or "<module>", node.value.id, node.lineno
        for child in ast.iter_child_nodes(node):
            yield from visit(child)
        if scoped:
            stack.pop()

    yield from visit(tree)


def found_queries() -> dict[tuple[str, str, str], list[int]]:
    names = set(scoped_models())
    found: dict[tuple[str, str, str], list[int]] = {}
    for path in view_modules():
        module = str(path.relative_to(ROOT))
        for function, model, line in direct_queries(path, names):
            found.setdefault((module, function, model), []).append(line)
    return found


def test_the_scoped_models_are_found():
    names = set(scoped_models())
    assert {"Case", "CaseEvent", "CasePhoto", "Person", "Residency", "House", "Building"} <= names
    assert {"Region", "Grid", "Organization", "Component", "Household"} <= names
    assert "Category" not in names
    assert "User" not in names


def test_every_module_that_answers_requests_is_checked():
    modules = {str(p.relative_to(ROOT)) for p in view_modules()}
    assert {"wangge/web/urls.py", "wangge/web/views_cases.py", "wangge/cases/api.py"} <= modules
    assert {"wangge/api/errors.py", "wangge/registry/api_ledgers.py"} <= modules
    assert not any("/tests/" in m or m.endswith("conftest.py") for m in modules)


def test_the_check_sees_a_direct_query(tmp_path):
    module = tmp_path / "api.py"
    module.write_text(
        "class CaseListApi:\n    def get(self, request):\n        return Case.objects.all()\n",
        encoding="utf-8",
    )
    assert list(direct_queries(module, {"Case"})) == [("CaseListApi.get", "Case", 3)]


@pytest.mark.django_db
def test_views_query_scoped_models_only_through_selectors():
    found = found_queries()
    unexplained = {
        f"{module}:{lines} {function} uses {model}.objects"
        for (module, function, model), lines in found.items()
        if (module, function, model) not in ALLOWED
    }
    stale = sorted(f"{key} no longer queries directly" for key in ALLOWED if key not in found)

    assert not unexplained, "query through a selector (or explain in ALLOWED):\n" + "\n".join(
        sorted(unexplained)
    )
    assert not stale, "\n".join(stale)
