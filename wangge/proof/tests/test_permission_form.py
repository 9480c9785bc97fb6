"""One permission form: who may do what is asked of an app's ``permissions.py`` only.

A static check of every shipped module: outside ``*/permissions.py`` and the few homes of the
rules themselves (``cases/workflow.py``'s Refusal rules, ``core/scope.py``, ``core/roles.py``,
``core/rest.py``), no module calls ``has_perm``/``has_perms``, tests role membership by hand
(``"x" in roles``, ``roles & ROLES``, ``… in user_roles(user)``) or compares a region code with
``startswith``. The few places that still do are listed in ``ALLOWED`` with the reason; the list
is kept exact, so a new inline test fails and a moved one must leave the list.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "wangge"

HOMES = {
    "wangge/cases/workflow.py",
    "wangge/core/scope.py",
    "wangge/core/roles.py",
    "wangge/core/rest.py",
}
SKIPPED_DIRS = {"tests", "migrations", "proof", "testing"}
# A receiver or argument spelt like a region code (``code``, ``grid_code``, ``area``, ``scope``).
REGION_CODE = re.compile(r"code|area|scope", re.IGNORECASE)
ROLES = re.compile(r"(^|_)roles$|user_roles\(", re.IGNORECASE)

# (module, function, kind) → why the inline test stays where it is.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("wangge/cases/selectors.py", "action_q", "roles"): "the queryset twin of workflow's "
    "Refusal.ROLE/LEVEL rules (cases/tests/test_queues.py proves them equal)",
    ("wangge/cases/selectors.py", "_transfer_q", "roles"): "the queryset twin of "
    "workflow._transfer_refusal's Refusal.ROLE",
    ("wangge/web/views.py", "landing_page", "roles"): "which page is a user's home: navigation",
    ("wangge/web/views_cases.py", "console_for", "roles"): "which queues the console shows a "
    "role: navigation (each queue is filtered by the workflow's rules)",
    ("wangge/core/pii.py", "unseal_for_user", "has_perm"): "the kernel's unmask helper is handed "
    "the permission by the app that calls it",
    ("wangge/core/auth.py", "totp_required", "roles"): "a login rule of the kernel: the roles "
    "of settings.WANGGE_TOTP_ROLES need a second factor",
    ("wangge/regions/locate.py", "locate_point", "startswith"): "the point door's hot loop: "
    "core.scope's prefix test inlined on a tuple (no function call per layer)",
    ("wangge/lib/regioncodes.py", "*", "startswith"): "the region-code library itself "
    "(a child code extends its parent's)",
    ("wangge/demo/territory.py", "*", "startswith"): "the demo generator checks its own CSV",
    ("wangge/demo/population.py", "*", "startswith"): "a component class code, not a region",
}


def shipped_modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if not SKIPPED_DIRS & set(path.relative_to(PACKAGE).parts[:-1])
        and path.name != "permissions.py"
        and path.relative_to(ROOT).as_posix() not in HOMES
        and path.name not in {"conftest.py", "settings_test.py"}
    )


def inline_tests(source: str) -> Iterator[tuple[str, str, int]]:
    """(function, kind, line) of every inline permission, role or region-prefix test."""

    def visit(node: ast.AST, function: str) -> Iterator[tuple[str, str, int]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        kind = _kind(node)
        if kind:
            yield function, kind, node.lineno  # type: ignore[attr-defined]
        for child in ast.iter_child_nodes(node):
            yield from visit(child, function)

    yield from visit(ast.parse(source), "<module>")


def _kind(node: ast.AST) -> str:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in {"has_perm", "has_perms"}:
            return "has_perm"
        if node.func.attr == "startswith":
            spelt = [ast.unparse(node.func.value), *(ast.unparse(a) for a in node.args)]
            if any(REGION_CODE.search(text) for text in spelt):
                return "startswith"
    if isinstance(node, ast.Compare) and any(isinstance(o, ast.In | ast.NotIn) for o in node.ops):
        if any(ROLES.search(ast.unparse(c)) for c in node.comparators):
            return "roles"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
        if any(ROLES.search(ast.unparse(side)) for side in (node.left, node.right)):
            return "roles"
    return ""


def found_tests() -> dict[tuple[str, str, str], list[int]]:
    found: dict[tuple[str, str, str], list[int]] = {}
    for path in shipped_modules():
        module = path.relative_to(ROOT).as_posix()
        for function, kind, line in inline_tests(path.read_text(encoding="utf-8")):
            key = (module, function, kind)
            if (module, "*", kind) in ALLOWED:
                key = (module, "*", kind)
            found.setdefault(key, []).append(line)
    return found


def test_the_check_sees_each_kind_of_inline_test():
    planted = (
        "def view(request, user, roles, grid_code, area):\n"
        "    if request.user.has_perm('registry.view_person'):\n"
        "        pass\n"
        "    if 'assessor' in roles or roles & DECIDERS:\n"
        "        pass\n"
        "    return grid_code.startswith(area)\n"
    )
    kinds = sorted({kind for _function, kind, _line in inline_tests(planted)})
    assert kinds == ["has_perm", "roles", "startswith"]


def test_the_check_leaves_unrelated_prefix_tests_alone():
    assert not list(inline_tests("def f(text):\n    return text.startswith('[')\n"))


def test_every_shipped_module_is_checked():
    modules = {path.relative_to(ROOT).as_posix() for path in shipped_modules()}
    assert "wangge/web/views_registry.py" in modules
    assert "wangge/registry/ledgers/exporting.py" in modules
    assert "wangge/registry/permissions.py" not in modules


def test_permissions_are_asked_of_permissions_modules_only():
    found = found_tests()
    unexplained = sorted(
        f"{module}:{lines} {function}: {kind}"
        for (module, function, kind), lines in found.items()
        if (module, function, kind) not in ALLOWED
    )
    stale = sorted(f"{key} no longer tests inline" for key in ALLOWED if key not in found)
    assert not unexplained, "ask the app's permissions.py (or explain in ALLOWED):\n" + "\n".join(
        unexplained
    )
    assert not stale, "\n".join(stale)
