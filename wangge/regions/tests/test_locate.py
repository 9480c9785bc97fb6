import numpy as np
import pytest
from shapely.geometry import Polygon, box

from wangge.regions import locate
from wangge.regions.services import territory_import
from wangge.testing.factories import MID_LAT, MID_LNG, collection, feature

pytestmark = pytest.mark.django_db


def test_point_inside_a_grid_finds_that_grid(territory):
    # North-west community 110102001001 spans 116.30–116.35 × 39.90–39.94; its NW quarter is 001.
    ref = locate.grid_at(116.31, 39.93)
    assert ref is not None
    assert ref.code == "110102001001001"
    assert locate.grid_at(116.34, 39.93).code == "110102001001002"
    assert locate.grid_at(116.31, 39.91).code == "110102001001003"


def test_each_layer_has_its_own_answer(territory):
    assert locate.grid_at(116.31, 39.93, "unit").code == "110102001001001"
    assert locate.grid_at(116.39, 39.87, "unit").code == "110102003002001"
    assert locate.grid_at(116.39, 39.87, "social").code == "110102003002004"


def test_point_outside_every_grid_finds_nothing(territory):
    assert locate.grid_at(116.50, 39.90) is None
    assert locate.grid_at(0.0, 0.0) is None


def test_point_on_a_shared_edge_resolves_to_the_smallest_code(territory):
    # The street border at 116.35 separates 110102001001002 (west) from 110102003001001 (east).
    assert locate.grid_at(MID_LNG, 39.93).code == "110102001001002"
    # The district's centre is a corner shared by four grids of four communities.
    assert locate.grid_at(MID_LNG, MID_LAT).code == "110102001001004"
    # A point on the outer border still belongs to the grid it bounds.
    assert locate.grid_at(116.30, 39.93).code == "110102001001001"


def test_bulk_lookup_agrees_with_single_lookups(territory):
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(116.29, 116.41, 500), rng.uniform(39.85, 39.95, 500)])
    points = np.vstack([points, [[MID_LNG, MID_LAT], [116.30, 39.93], [MID_LNG, 39.93]]])
    bulk = locate.grids_at(points)
    single = [locate.grid_at(x, y) for x, y in points]
    assert bulk == single
    assert any(ref is None for ref in bulk) and any(ref is not None for ref in bulk)


def test_a_point_in_a_hole_belongs_to_the_grid_that_fills_it(territory):
    # Rebuild community 110102001001's "police" layer as a ring with a hole and an island grid.
    ring = Polygon(
        box(116.30, 39.90, 116.35, 39.94).exterior.coords,
        [box(116.32, 39.91, 116.33, 39.92).exterior.coords],
    )
    island = box(116.32, 39.91, 116.33, 39.92)
    code = "110102001001"
    report = territory_import(
        data=collection(
            [
                feature(f"{code}001", "环", "grid", code, ring, layer="police"),
                feature(f"{code}002", "岛", "grid", code, island, layer="police"),
            ]
        ),
        actor=None,
    )
    assert report.ok, report.problems
    assert locate.grid_at(116.325, 39.915, "police").code == f"{code}002"
    assert locate.grid_at(116.31, 39.915, "police").code == f"{code}001"


def test_index_is_rebuilt_when_the_territory_changes(territory):
    assert locate.grid_at(116.31, 39.93, "police") is None
    code = "110102001001"
    report = territory_import(
        data=collection(
            [
                feature(
                    f"{code}001",
                    "警格1",
                    "grid",
                    code,
                    box(116.30, 39.90, 116.35, 39.94),
                    layer="police",
                )
            ]
        ),
        actor=None,
    )
    assert report.ok
    assert locate.grid_at(116.31, 39.93, "police").code == f"{code}001"
