"""Tests of the synthetic demo territory (plain pytest, no Django: run with ``-p no:django``)."""

import csv
import hashlib
import json
import math
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Transformer
from shapely import STRtree
from shapely.geometry import Polygon, shape

from wangge.demo import territory
from wangge.demo.territory import DISTRICTS, Community, allocate, build_territory

DATA_DIR = Path("/work/shared/demo")
pytestmark = pytest.mark.skipif(not DATA_DIR.is_dir(), reason="demo data not available")

# Areas in the equal-area conic; tolerance checks in an affine local plane, which keeps a child's
# vertex on its parent's straight lng/lat edge (a curved projection would bow the edge away).
_AEA = Transformer.from_crs(
    "EPSG:4326", "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84", always_xy=True
)
_BUILT: dict[str, tuple[dict[str, Any], float]] = {}


def _build(code: str) -> dict[str, Any]:
    if code not in _BUILT:
        started = time.perf_counter()
        fc = build_territory(code, DATA_DIR)
        elapsed = time.perf_counter() - started
        print(f"\nbuild_territory({code}) took {elapsed:.2f} s")  # noqa: T201 — timing report
        _BUILT[code] = (fc, elapsed)
    return _BUILT[code][0]


def _digest(fc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _equal_area_m2(geom: Any) -> float:
    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(_AEA.transform(coords[:, 0], coords[:, 1]))

    return float(shapely.area(shapely.transform(geom, project)))


def _local_metres(geoms: list[Any], origin_lat: float) -> np.ndarray:
    scale = np.array([111_320.0 * math.cos(math.radians(origin_lat)), 110_574.0])
    return shapely.transform(np.array(geoms, dtype=object), lambda c: c * scale)


class Parsed:
    """Features of a territory grouped the way the checks need them."""

    def __init__(self, fc: dict[str, Any]) -> None:
        self.features = fc["features"]
        self.props = [f["properties"] for f in self.features]
        self.geoms = [shape(f["geometry"]) for f in self.features]
        district = self.geoms[0]
        self.metric = _local_metres(self.geoms, district.centroid.y)
        self.by_level: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self.props):
            key = p["level"] if p["level"] != "grid" else f"grid:{p['layer']}"
            self.by_level[key].append(i)
        self.index = {p["code"]: i for i, p in enumerate(self.props) if p["level"] != "grid"}

    def children(self, level: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(list)
        for i in self.by_level[level]:
            out[self.props[i]["parent_code"]].append(i)
        return out


_PARSED: dict[str, Parsed] = {}


def _parsed(code: str) -> Parsed:
    if code not in _PARSED:
        _PARSED[code] = Parsed(_build(code))
    return _PARSED[code]


def _csv_rows(name: str, county: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["county_code"] == county]


# --------------------------------------------------------------------------------------------
# Counts, codes, names


@pytest.mark.parametrize(
    ("code", "streets", "communities"), [("110102", 15, 263), ("420502", 10, 83)]
)
def test_counts_codes_and_names(code: str, streets: int, communities: int) -> None:
    t = _parsed(code)
    spec = DISTRICTS[code]
    assert t.by_level["district"] == [0]
    assert len(t.by_level["street"]) == streets
    assert len(t.by_level["community"]) == communities
    n_social = len(t.by_level["grid:social"])
    n_unit = len(t.by_level["grid:unit"])
    assert abs(n_social - spec.social_grids) <= 0.05 * spec.social_grids
    assert abs(n_unit - spec.unit_grids_expected) <= 0.10 * spec.unit_grids_expected

    district = t.props[t.by_level["district"][0]]
    assert (district["code"], district["name"]) == (code, spec.name)
    want_streets = {
        r["street_code"]: r["street_name"] for r in _csv_rows(territory.STREETS_CSV, code)
    }
    got_streets = {t.props[i]["code"]: t.props[i]["name"] for i in t.by_level["street"]}
    assert got_streets == want_streets
    want_comms = {
        r["community_code"]: (r["community_name"], r["street_code"])
        for r in _csv_rows(territory.COMMUNITIES_CSV, code)
    }
    got_comms = {
        t.props[i]["code"]: (t.props[i]["name"], t.props[i]["parent_code"])
        for i in t.by_level["community"]
    }
    assert got_comms == want_comms


def test_xicheng_targets() -> None:
    t = _parsed("110102")
    assert abs(len(t.by_level["grid:social"]) - 1623) <= 81
    assert abs(len(t.by_level["grid:unit"]) - 2432) <= 243
    district_area = _equal_area_m2(t.geoms[t.by_level["district"][0]])
    assert district_area == pytest.approx(50.4e6, rel=0.01)
    unit_area = [_equal_area_m2(t.geoms[i]) for i in t.by_level["grid:unit"]]
    assert 18_000 < float(np.mean(unit_area)) < 23_000
    assert min(unit_area) > 0.4 * 20_000 * 0.9  # slivers were merged (edge pieces may be trimmed)


@pytest.mark.parametrize("code", ["110102", "420502"])
def test_code_structure_and_parents(code: str) -> None:
    t = _parsed(code)
    lengths = {"district": 6, "street": 9, "community": 12, "grid": 15}
    parent_level = {"street": "district", "community": "street", "grid": "community"}
    seen: Counter[tuple[str, str | None]] = Counter()
    for p in t.props:
        assert isinstance(p["code"], str)
        assert p["code"].isdigit()
        assert len(p["code"]) == lengths[p["level"]]
        seen[(p["code"], p.get("layer"))] += 1
        if p["level"] == "district":
            assert p["parent_code"] is None
            assert p["synthetic"] is False
            continue
        assert p["synthetic"] is True
        parent = t.props[t.index[p["parent_code"]]]
        assert parent["level"] == parent_level[p["level"]]
        assert p["code"].startswith(p["parent_code"])
        if p["level"] == "grid":
            assert p["layer"] in {"social", "unit"}
        else:
            assert "layer" not in p
            assert "grid_type" not in p
    assert max(seen.values()) == 1  # codes unique within a layer


@pytest.mark.parametrize("code", ["110102", "420502"])
def test_grid_names_and_types(code: str) -> None:
    t = _parsed(code)
    kinds: Counter[str] = Counter()
    for i in t.by_level["grid:social"] + t.by_level["grid:unit"]:
        p = t.props[i]
        community = Community(p["parent_code"], t.props[t.index[p["parent_code"]]]["name"], "")
        seq = int(p["code"][-3:])
        if p["layer"] == "social":
            assert p["name"] == f"{community.short_name}第{seq}网格"
        else:
            assert p["name"] == f"{community.short_name}单元网格{seq:03d}"
        if p["grid_type"] == "special":
            assert p["layer"] == "social"
            assert p["special_kind"] in territory.SPECIAL_KINDS
            kinds[p["special_kind"]] += 1
        else:
            assert "special_kind" not in p
            assert p["grid_type"] == ("rural" if community.rural else "community")
    assert sum(kinds.values()) >= 5
    rural = sum(1 for i in t.by_level["grid:social"] if t.props[i]["grid_type"] == "rural")
    assert (rural > 0) == (code == "420502")


def test_short_names() -> None:
    cases = {
        "府右街南社区居委会": "府右街南社区",
        "土街头社区居民委员会": "土街头社区",
        "黄河路社区": "黄河路社区",
        "万年村委会": "万年村",
        "沙河村村民委员会": "沙河村",
    }
    for name, short in cases.items():
        assert Community("1", name, "1").short_name == short
    assert Community("1", "万年村委会", "1").rural
    assert not Community("1", "黄河路社区", "1").rural


# --------------------------------------------------------------------------------------------
# Sequence numbers


@pytest.mark.parametrize("code", ["110102", "420502"])
def test_grid_sequences_contiguous_and_ordered(code: str) -> None:
    t = _parsed(code)
    spec = DISTRICTS[code]
    plane = territory.LocalPlane.around(t.geoms[t.by_level["district"][0]])
    for layer in ("social", "unit"):
        for community_code, members in t.children(f"grid:{layer}").items():
            seqs = sorted(int(t.props[i]["code"][-3:]) for i in members)
            assert seqs == list(range(1, len(members) + 1)), community_code
            members = sorted(members, key=lambda i: t.props[i]["code"])
            reps = np.array([t.geoms[i].representative_point().coords[0] for i in members])
            x = (reps[:, 0] - plane.lng0) * plane.mx
            y = (reps[:, 1] - plane.lat0) * plane.my
            if layer == "unit":
                rural = Community(community_code, t.props[t.index[community_code]]["name"], "")
                height = spec.unit_spacing_m * (spec.rural_cell_factor if rural.rural else 1)
            else:
                area = sum(plane.area_m2(t.geoms[i]) for i in members)
                height = math.sqrt(area / len(members))
            rows = np.floor((y.max() - y) / height + 0.5)
            for a in range(len(members) - 1):
                # North rows first; west to east inside a row.
                assert (rows[a], x[a]) <= (rows[a + 1], x[a + 1]), (community_code, layer, a)


def test_sequence_order_small_example() -> None:
    plane = territory.LocalPlane(0.0, 0.0, 100_000.0, 100_000.0)
    boxes = [
        shapely.box(x / 1000, y / 1000, (x + 1) / 1000, (y + 1) / 1000)
        for x, y in [(1, 0), (0, 0), (1, 1), (0, 1)]
    ]
    # row 0 is the northern one (y=1): (0,1) then (1,1); then (0,0), (1,0)
    assert territory.sequence_order(boxes, plane, 100.0) == [3, 2, 1, 0]


# --------------------------------------------------------------------------------------------
# Attributes


@pytest.mark.parametrize("code", ["110102", "420502"])
def test_population_sums(code: str) -> None:
    t = _parsed(code)
    for i in t.by_level["grid:unit"]:
        assert "population" not in t.props[i]
    for child_level, parent_level in (
        ("grid:social", "community"),
        ("community", "street"),
        ("street", "district"),
    ):
        kids = t.children(child_level)
        for i in t.by_level[parent_level]:
            p = t.props[i]
            members = kids[p["code"]]
            assert members, p["code"]
            assert p["population"] == sum(t.props[k]["population"] for k in members)
            assert p["households"] == sum(t.props[k]["households"] for k in members)
    for i in t.by_level["grid:social"]:
        p = t.props[i]
        assert isinstance(p["population"], int)
        assert 0 <= p["households"] <= p["population"]
        if p["grid_type"] != "special":
            assert p["households"] > 0
    district = t.props[t.by_level["district"][0]]
    assert district["population"] == DISTRICTS[code].population
    size = district["population"] / district["households"]
    assert 2.0 < size < 3.2


@given(
    st.lists(st.floats(0.01, 100.0), min_size=1, max_size=40),
    st.integers(0, 3),
    st.integers(0, 5_000),
)
def test_allocate_properties(weights: list[float], minimum: int, extra: int) -> None:
    total = minimum * len(weights) + extra
    got = allocate(total, weights, minimum)
    assert got.sum() == total
    assert (got >= minimum).all()
    exact = extra * np.asarray(weights) / sum(weights)
    assert (np.abs(got - minimum - exact) < 1.0 + 1e-9).all()


# --------------------------------------------------------------------------------------------
# Geometry


@pytest.mark.parametrize("code", ["110102", "420502"])
def test_geometries_valid_and_rounded(code: str) -> None:
    t = _parsed(code)
    for i, g in enumerate(t.geoms):
        level = t.props[i]["level"]
        assert g.is_valid, t.props[i]["code"]
        assert not g.is_empty
        assert g.area > 0
        if level != "district":
            assert isinstance(g, Polygon), t.props[i]["code"]
            assert t.features[i]["geometry"]["type"] == "Polygon"
        coords = shapely.get_coordinates(g)
        assert np.array_equal(np.round(coords, 7), coords)
        if isinstance(g, Polygon):
            assert g.exterior.is_ccw  # RFC 7946 right-hand rule


def _assert_no_overlap(t: Parsed, members: list[int], label: str) -> None:
    geoms = t.metric[members]
    tree = STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    overlap = shapely.area(shapely.intersection(geoms[a[keep]], geoms[b[keep]]))
    worst = float(overlap.max()) if overlap.size else 0.0
    assert worst < 1.0, f"{label}: overlap of {worst:.3f} m²"


def _assert_covers(t: Parsed, parent: int, members: list[int], label: str) -> None:
    union = shapely.union_all(t.metric[members])
    whole = t.metric[parent]
    diff = shapely.area(shapely.symmetric_difference(union, whole))
    assert diff < 1e-4 * whole.area, f"{label}: gap/overlap of {diff:.2f} m²"
    # Containment with the importer's 1 m tolerance.
    assert shapely.within(t.metric[members], whole.buffer(1.0)).all(), label


@pytest.mark.slow
@pytest.mark.parametrize("code", ["110102", "420502"])
def test_partition_is_exact(code: str) -> None:
    t = _parsed(code)
    district = t.by_level["district"][0]
    _assert_no_overlap(t, t.by_level["street"], "streets")
    _assert_no_overlap(t, t.by_level["community"], "communities")
    _assert_no_overlap(t, t.by_level["grid:social"], "social grids")
    _assert_no_overlap(t, t.by_level["grid:unit"], "unit grids")

    _assert_covers(t, district, t.by_level["street"], "streets")
    for level in ("community", "grid:social", "grid:unit"):
        for parent_code, members in t.children(level).items():
            _assert_covers(t, t.index[parent_code], members, f"{level} of {parent_code}")
    for level in ("community", "grid:social", "grid:unit"):
        _assert_covers(t, district, t.by_level[level], f"all {level}")


def test_point_lookup_finds_one_grid_per_layer() -> None:
    t = _parsed("110102")
    district = t.geoms[t.by_level["district"][0]]
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = district.bounds
    pts = rng.uniform((minx, miny), (maxx, maxy), size=(400, 2))
    pts = pts[shapely.contains_xy(district, pts[:, 0], pts[:, 1])]
    points = shapely.points(pts)
    for layer in ("social", "unit"):
        members = t.by_level[f"grid:{layer}"]
        tree = STRtree([t.geoms[i] for i in members])
        hits = tree.query(points, predicate="intersects")[0]
        assert np.array_equal(np.bincount(hits, minlength=len(points)), np.ones(len(points)))


# --------------------------------------------------------------------------------------------
# Determinism and speed


def test_deterministic_for_a_seed() -> None:
    first = _digest(_build("110102"))
    again = _digest(build_territory("110102", DATA_DIR))
    assert first == again
    assert _digest(build_territory("420502", DATA_DIR, seed=7)) == _digest(
        build_territory("420502", DATA_DIR, seed=7)
    )
    assert _digest(build_territory("420502", DATA_DIR, seed=7)) != _digest(_build("420502"))


def test_generation_time() -> None:
    _build("110102")
    _build("420502")
    for code, (_, elapsed) in sorted(_BUILT.items()):
        print(f"{code}: {elapsed:.2f} s")  # noqa: T201 — timing report
    assert _BUILT["110102"][1] < 20.0
