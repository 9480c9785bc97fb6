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


# --- the point door: locate_point ------------------------------------------------------------

# Points well inside grids of both layers: NW social grid 001 of community 110102001001 and SE
# social grid 004 of community 110102003002.
INSIDE = [(116.31, 39.93), (116.39, 39.87), (116.36, 39.925)]


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "GCJ02"])
def test_a_point_in_another_coordinate_system_finds_the_grid_of_its_wgs84_point(territory, crs):
    from wangge.lib.coords import from_wgs84

    for lng, lat in INSIDE:
        given = from_wgs84(lng, lat, crs.lower())
        assert given != pytest.approx((lng, lat), abs=1e-4)  # the systems differ by ≈ 500 m here
        located = locate.locate_point(*given, crs=crs, layers=("social", "unit"))
        assert (located.lng, located.lat) == pytest.approx((lng, lat), abs=1e-9)
        expected = locate.locate_point(lng, lat, layers=("social", "unit"))
        assert located.grids == expected.grids
        assert located.grid("social") == locate.grid_at(lng, lat, "social")


def test_a_wgs84_point_is_used_as_given(territory):
    located = locate.locate_point(116.31, 39.93)
    assert (located.lng, located.lat) == (116.31, 39.93)
    assert located.grid().code == "110102001001001"
    assert located.grids == {"social": located.grid()} and located.refused == frozenset()


def test_several_layers_are_answered_at_once_in_the_order_asked(territory):
    located = locate.locate_point(116.39, 39.87, layers=("unit", "social"))
    assert list(located.grids) == ["unit", "social"]
    assert located.grid("unit").code == "110102003002001"
    assert located.grid("social").code == "110102003002004"
    assert located.grid("unit").layer == "unit" and located.grid("social").layer == "social"
    # A layer without a grid at the point answers None, not a missing key.
    assert locate.locate_point(116.39, 39.87, layers=("social", "police")).grids == {
        "social": located.grid("social"),
        "police": None,
    }


def test_no_layer_only_converts_the_point(territory):
    from wangge.lib.coords import from_wgs84

    located = locate.locate_point(*from_wgs84(116.31, 39.93, "gcj02"), crs="gcj02", layers=())
    assert located.grids == {}
    assert (located.lng, located.lat) == pytest.approx((116.31, 39.93), abs=1e-9)


def test_within_refuses_a_grid_outside_the_scope(territory):
    # 116.31, 39.93 lies in 110102001001001 (street 001); street 003 does not cover it.
    refused = locate.locate_point(116.31, 39.93, layers=("social", "unit"), within={"110102003"})
    assert refused.grids == {"social": None, "unit": None}
    assert refused.refused == frozenset({"social", "unit"})

    kept = locate.locate_point(116.31, 39.93, within=("110102003", "110102001001"))
    assert kept.grid().code == "110102001001001" and kept.refused == frozenset()
    assert locate.locate_point(116.31, 39.93, within=[""]).grid() is not None  # everything
    assert locate.locate_point(116.31, 39.93, within="110102001").grid() is not None
    nothing = locate.locate_point(116.31, 39.93, within=())
    assert nothing.grid() is None and nothing.refused == {"social"}


def test_within_a_scope_a_point_outside_every_grid_is_not_refused_but_absent(territory):
    located = locate.locate_point(116.50, 39.90, within={"110102003"})
    assert located.grid() is None and located.refused == frozenset()


def test_within_a_user_answers_only_grids_of_his_data_scope(cast):
    mine = locate.locate_point(116.31, 39.93, within=cast.grid_worker_a)
    assert mine.grid().code == "110102001001001"
    not_mine = locate.locate_point(116.39, 39.87, within=cast.grid_worker_a)
    assert not_mine.grid() is None and not_mine.refused == {"social"}
    assert locate.locate_point(116.39, 39.87, within=cast.commander).grid() is not None
    assert locate.locate_point(116.31, 39.93, within=cast.nobody).refused == {"social"}


def test_a_point_lookup_costs_no_query_once_the_index_is_built(
    territory, settings, django_assert_num_queries
):
    settings.WANGGE_LOCATE_RECHECK_SECONDS = 60.0  # the tests' 0 rechecks the version every call
    locate.locate_point(116.31, 39.93, layers=("social", "unit"))
    with django_assert_num_queries(0):
        for crs in ("wgs84", "gcj02", "bd09"):
            locate.locate_point(116.31, 39.93, crs=crs, layers=("social", "unit"))


def test_the_h3_cell_of_a_point_is_taken_at_the_one_resolution():
    import h3

    cell = locate.h3_cell(116.31, 39.93)
    assert h3.get_resolution(cell) == locate.H3_RESOLUTION == 10
    assert h3.cell_to_latlng(cell) == pytest.approx((39.93, 116.31), abs=1e-3)  # lat first in h3
    disk = locate.h3_disk(116.31, 39.93)
    assert cell in disk and len(disk) == 7
