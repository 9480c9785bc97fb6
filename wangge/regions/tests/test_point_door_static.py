"""One point door: only ``regions/locate.py`` turns a coordinate into a grid (a static check).

Every module of ``wangge/`` (tests excluded) finds the grid at a point through
``locate.locate_point``: none may call the STRtree engine behind it (``grid_at``, ``grids_at``,
``grid_positions_at``, ``_layer_index``), convert a coordinate to WGS-84 itself (the point door
does it, from the ``crs`` it is given), or take an H3 cell at a resolution of its own
(``locate.h3_cell`` / ``h3_disk`` at ``locate.H3_RESOLUTION``). ``lib/coords.py`` defines the
conversions and is exempt; converting *from* WGS-84 for display is not finding a grid and is
allowed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "wangge"
DOOR = "wangge/regions/locate.py"
EXEMPT = {DOOR, "wangge/lib/coords.py"}

ENGINE = {"grid_at", "grids_at", "grid_positions_at", "_layer_index", "_build"}
TO_WGS84 = {
    "to_wgs84",
    "to_wgs84_array",
    "gcj02_to_wgs84",
    "bd09_to_wgs84",
    "bd09_to_gcj02",
    "_gcj02_invert",
    "_bd09_invert",
}
H3_CELL = {"latlng_to_cell", "geo_to_h3", "H3_RESOLUTION"}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "tests" in path.relative_to(PACKAGE).parts or relative in EXEMPT:
            continue
        if "migrations" in path.parts:
            continue
        yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)


def _offences(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if node.module == "wangge.regions.locate" and alias.name in ENGINE:
                    yield node.lineno, f"imports the locate engine {alias.name}"
                elif node.module == "wangge.lib.coords" and alias.name in TO_WGS84:
                    yield node.lineno, f"imports the conversion {alias.name}"
                elif node.module == "h3" and alias.name in H3_CELL:
                    yield node.lineno, f"imports h3.{alias.name}"
        elif isinstance(node, ast.Attribute):
            if node.attr in ENGINE | TO_WGS84 | H3_CELL:
                yield node.lineno, f"uses .{node.attr}"
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            if node.id in H3_CELL:
                yield node.lineno, f"defines its own {node.id}"


def test_only_the_point_door_turns_a_coordinate_into_a_grid():
    found = [
        f"{module}:{line}: {what}" for module, tree in _modules() for line, what in _offences(tree)
    ]
    assert not found, (
        "find the grid of a point with regions.locate.locate_point(lng, lat, crs=…, layers=…, "
        "within=…), and its H3 cell with locate.h3_cell / h3_disk:\n" + "\n".join(found)
    )


def test_the_static_check_sees_each_kind_of_offence():
    source = """
from wangge.regions.locate import grid_at
from wangge.lib.coords import to_wgs84
from h3 import latlng_to_cell
from wangge.regions import locate
locate.grids_at([(1, 2)])
coords.gcj02_to_wgs84(1, 2)
h3.latlng_to_cell(2, 1, 10)
H3_RESOLUTION = 9
"""
    found = [what for _line, what in sorted(_offences(ast.parse(source)))]
    assert found == [
        "imports the locate engine grid_at",
        "imports the conversion to_wgs84",
        "imports h3.latlng_to_cell",
        "uses .grids_at",
        "uses .gcj02_to_wgs84",
        "uses .latlng_to_cell",
        "defines its own H3_RESOLUTION",
    ]


def test_the_door_itself_holds_what_the_others_may_not_use():
    door = ast.parse((ROOT / DOOR).read_text(encoding="utf-8"))
    names = {n.name for n in ast.walk(door) if isinstance(n, ast.FunctionDef)}
    assert {"locate_point", "h3_cell", "h3_disk", "grid_at"} <= names
