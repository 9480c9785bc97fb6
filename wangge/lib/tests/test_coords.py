"""Tests for wangge.lib.coords (framework-free: plain pytest + hypothesis, no Django)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wangge.lib.coords import (
    Crs,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    from_wgs84_array,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_crs,
    to_wgs84,
    to_wgs84_array,
    validate_lng_lat,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

VECTOR_TOL = 1e-6  # degrees, for published reference values
ROUND_TRIP_TOL = 1e-7  # degrees
INVERSE_TOL = 1e-9  # degrees, accuracy promised by the iterative inverses

# Beijing, from the README of wandergis/coordtransform (JS; the same numbers appear in its
# Python port wandergis/coordTransform_py): the input is (116.404, 39.915) for every function.
BEIJING = (116.404, 39.915)
BEIJING_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
BEIJING_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
# Produced by the library's one-step closed-form BD-09 inverse, which is only accurate to ~2e-6
# degrees; coords refines it, so it is compared with a looser tolerance below.
BEIJING_BD09_TO_GCJ02_APPROX = (116.39762729119315, 39.90865673957631)

# (wgs_lng, wgs_lat, gcj_lng, gcj_lat), from googollee/eviltransform python/test.py and
# go/transform_test.go (stored there as lat, lng).
EVILTRANSFORM_WGS_GCJ = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]

china_lng = st.floats(min_value=73.0, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)


def assert_close(actual: tuple[float, float], expected: tuple[float, float], tol: float) -> None:
    assert abs(actual[0] - expected[0]) <= tol, (actual, expected)
    assert abs(actual[1] - expected[1]) <= tol, (actual, expected)


# --- published reference values ----------------------------------------------------------


def test_beijing_wgs84_to_gcj02_matches_wandergis() -> None:
    assert_close(wgs84_to_gcj02(*BEIJING), BEIJING_WGS84_TO_GCJ02, VECTOR_TOL)


def test_beijing_gcj02_to_wgs84_inverts_wandergis_vector() -> None:
    assert_close(gcj02_to_wgs84(*BEIJING_WGS84_TO_GCJ02), BEIJING, INVERSE_TOL)


def test_beijing_gcj02_to_bd09_matches_wandergis() -> None:
    assert_close(gcj02_to_bd09(*BEIJING), BEIJING_GCJ02_TO_BD09, VECTOR_TOL)


def test_beijing_bd09_to_gcj02_inverts_wandergis_vector() -> None:
    assert_close(bd09_to_gcj02(*BEIJING_GCJ02_TO_BD09), BEIJING, INVERSE_TOL)


def test_beijing_bd09_to_gcj02_close_to_wandergis_closed_form() -> None:
    assert_close(bd09_to_gcj02(*BEIJING), BEIJING_BD09_TO_GCJ02_APPROX, 5e-6)


def test_beijing_in_all_three_systems() -> None:
    # WGS-84 -> GCJ-02 and GCJ-02 -> BD-09 both come from wandergis; chain them.
    bd09 = wgs84_to_bd09(*BEIJING)
    assert_close(bd09, gcj02_to_bd09(*BEIJING_WGS84_TO_GCJ02), VECTOR_TOL)
    assert_close(bd09_to_wgs84(*bd09), BEIJING, INVERSE_TOL)
    assert_close(bd09_to_gcj02(*bd09), BEIJING_WGS84_TO_GCJ02, INVERSE_TOL)


@pytest.mark.parametrize(("wgs_lng", "wgs_lat", "gcj_lng", "gcj_lat"), EVILTRANSFORM_WGS_GCJ)
def test_eviltransform_vectors(
    wgs_lng: float, wgs_lat: float, gcj_lng: float, gcj_lat: float
) -> None:
    assert_close(wgs84_to_gcj02(wgs_lng, wgs_lat), (gcj_lng, gcj_lat), VECTOR_TOL)
    assert_close(gcj02_to_wgs84(gcj_lng, gcj_lat), (wgs_lng, wgs_lat), VECTOR_TOL)


# --- properties over China's box ----------------------------------------------------------


@given(china_lng, china_lat)
def test_round_trip_wgs84_gcj02(lng: float, lat: float) -> None:
    assert_close(gcj02_to_wgs84(*wgs84_to_gcj02(lng, lat)), (lng, lat), ROUND_TRIP_TOL)


@given(china_lng, china_lat)
def test_round_trip_wgs84_bd09(lng: float, lat: float) -> None:
    assert_close(bd09_to_wgs84(*wgs84_to_bd09(lng, lat)), (lng, lat), ROUND_TRIP_TOL)


@given(china_lng, china_lat)
def test_round_trip_gcj02_bd09(lng: float, lat: float) -> None:
    assert_close(bd09_to_gcj02(*gcj02_to_bd09(lng, lat)), (lng, lat), ROUND_TRIP_TOL)


@given(china_lng, china_lat)
def test_inverse_is_accurate_not_one_step(lng: float, lat: float) -> None:
    # Forward(inverse(p)) must reproduce p, which the one-step approximation does not.
    assert_close(wgs84_to_gcj02(*gcj02_to_wgs84(lng, lat)), (lng, lat), INVERSE_TOL)
    assert_close(gcj02_to_bd09(*bd09_to_gcj02(lng, lat)), (lng, lat), INVERSE_TOL)


@given(china_lng, china_lat)
def test_gcj02_offset_is_plausible(lng: float, lat: float) -> None:
    gcj_lng, gcj_lat = wgs84_to_gcj02(lng, lat)
    # Bounded per axis: near (131.4, 53) |dlng| reaches ~0.00985, so the Euclidean length
    # slightly exceeds 0.01 there.
    assert abs(gcj_lng - lng) < 0.01
    assert abs(gcj_lat - lat) < 0.01
    assert math.hypot(gcj_lng - lng, gcj_lat - lat) > 0.0


@given(china_lng, china_lat)
def test_bd09_offset_is_plausible(lng: float, lat: float) -> None:
    bd_lng, bd_lat = gcj02_to_bd09(lng, lat)
    assert math.hypot(bd_lng - lng, bd_lat - lat) < 0.02


# --- out of China -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lng", "lat"),
    [
        (2.3522, 48.8566),  # Paris
        (-74.006, 40.7128),  # New York
        (151.2093, -33.8688),  # Sydney
        (72.0, 30.0),  # just west of the box
        (100.0, 55.9),  # just north of the box
        (-180.0, -90.0),
        (180.0, 90.0),
    ],
)
def test_out_of_china_gcj02_equals_wgs84(lng: float, lat: float) -> None:
    assert wgs84_to_gcj02(lng, lat) == (lng, lat)
    assert gcj02_to_wgs84(lng, lat) == (lng, lat)
    assert to_wgs84(lng, lat, Crs.GCJ02) == (lng, lat)
    out_lng, out_lat = to_wgs84_array(np.array([lng]), np.array([lat]), Crs.GCJ02)
    assert (out_lng[0], out_lat[0]) == (lng, lat)


# --- dispatch -----------------------------------------------------------------------------


def test_to_and_from_wgs84_dispatch() -> None:
    assert to_wgs84(*BEIJING, Crs.WGS84) == BEIJING
    assert from_wgs84(*BEIJING, "wgs84") == BEIJING
    assert to_wgs84(*BEIJING, "GCJ02") == gcj02_to_wgs84(*BEIJING)
    assert to_wgs84(*BEIJING, Crs.BD09) == bd09_to_wgs84(*BEIJING)
    assert from_wgs84(*BEIJING, "gcj02") == wgs84_to_gcj02(*BEIJING)
    assert from_wgs84(*BEIJING, Crs.BD09) == wgs84_to_bd09(*BEIJING)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(*BEIJING, "epsg:4326")


def test_scalar_functions_return_floats() -> None:
    for lng, lat in (to_wgs84(116, 40, Crs.WGS84), gcj02_to_wgs84(0, 0), to_wgs84(116, 40, "bd09")):
        assert type(lng) is float
        assert type(lat) is float


# --- vectorized == scalar -----------------------------------------------------------------


@pytest.mark.parametrize("crs", list(Crs))
@given(
    points=st.lists(
        st.tuples(
            st.floats(min_value=-180.0, max_value=180.0),
            st.floats(min_value=-90.0, max_value=90.0),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_vectorized_matches_scalar(crs: Crs, points: list[tuple[float, float]]) -> None:
    lngs = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    for vector_fn, scalar_fn in ((to_wgs84_array, to_wgs84), (from_wgs84_array, from_wgs84)):
        out_lng, out_lat = vector_fn(lngs, lats, crs)
        expected = np.array([scalar_fn(lng, lat, crs) for lng, lat in points])
        np.testing.assert_allclose(out_lng, expected[:, 0], rtol=0, atol=1e-10)
        np.testing.assert_allclose(out_lat, expected[:, 1], rtol=0, atol=1e-10)


def test_vectorized_mixed_inside_and_outside_china_and_nan() -> None:
    lngs = np.array([116.404, 2.3522, 121.4737, np.nan])
    lats = np.array([39.915, 48.8566, 31.2304, 30.0])
    out_lng, out_lat = to_wgs84_array(lngs, lats, "gcj02")
    for i in range(3):
        assert_close((out_lng[i], out_lat[i]), gcj02_to_wgs84(lngs[i], lats[i]), 1e-10)
    assert (out_lng[1], out_lat[1]) == (2.3522, 48.8566)
    assert np.isnan(out_lng[3])
    assert out_lat[3] == 30.0


def test_vectorized_shapes_dtypes_and_inputs_untouched() -> None:
    lngs = np.array([[116.404, 121.4737]], dtype=np.float32)
    lats = [39.915, 31.2304]
    before = lngs.copy()
    out_lng, out_lat = to_wgs84_array(lngs, lats, Crs.BD09)
    assert out_lng.shape == out_lat.shape == (1, 2)
    assert out_lng.dtype == out_lat.dtype == np.float64
    np.testing.assert_array_equal(lngs, before)

    empty_lng, empty_lat = to_wgs84_array(np.array([]), np.array([]), Crs.GCJ02)
    assert empty_lng.shape == empty_lat.shape == (0,)

    scalar_lng, scalar_lat = to_wgs84_array(np.float64(116.404), np.float64(39.915), "gcj02")
    assert_close((float(scalar_lng), float(scalar_lat)), gcj02_to_wgs84(*BEIJING), 1e-10)


def test_vectorized_wgs84_returns_copies() -> None:
    lngs = np.array([116.404])
    lats = np.array([39.915])
    out_lng, _ = to_wgs84_array(lngs, lats, Crs.WGS84)
    out_lng[0] = 0.0
    assert lngs[0] == 116.404


# --- parse_crs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Crs.WGS84),
        ("", Crs.WGS84),
        ("  ", Crs.WGS84),
        ("wgs84", Crs.WGS84),
        ("WGS84", Crs.WGS84),
        ("gcj02", Crs.GCJ02),
        ("GcJ02", Crs.GCJ02),
        (" bd09 ", Crs.BD09),
        ("BD09", Crs.BD09),
        (Crs.BD09, Crs.BD09),
    ],
)
def test_parse_crs(text: str | None, expected: Crs) -> None:
    assert parse_crs(text) is expected


@pytest.mark.parametrize("text", ["gcj-02", "bd09mc", "epsg:4326", "mars"])
def test_parse_crs_rejects_unknown_values_and_lists_accepted_ones(text: str) -> None:
    with pytest.raises(ValueError, match="unknown coordinate system") as excinfo:
        parse_crs(text)
    message = str(excinfo.value)
    assert repr(text) in message
    for value in ("wgs84", "gcj02", "bd09"):
        assert value in message


def test_crs_is_a_str_enum() -> None:
    assert Crs.GCJ02 == "gcj02"
    assert str(Crs.BD09) == "bd09"


# --- validate_lng_lat ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lng", "lat"), [(0.0, 0.0), (-180.0, -90.0), (180.0, 90.0), (116.404, 39.915), (1, 2)]
)
def test_validate_lng_lat_accepts_valid_points(lng: float, lat: float) -> None:
    validate_lng_lat(lng, lat)


@pytest.mark.parametrize(
    ("lng", "lat", "bad", "good"),
    [
        (180.0001, 0.0, "longitude", "latitude"),
        (-181.0, 0.0, "longitude", "latitude"),
        (math.nan, 0.0, "longitude", "latitude"),
        (math.inf, 0.0, "longitude", "latitude"),
        (0.0, 90.5, "latitude", "longitude"),
        (0.0, -91.0, "latitude", "longitude"),
        (0.0, math.nan, "latitude", "longitude"),
        (0.0, -math.inf, "latitude", "longitude"),
        # Swapped arguments, the classic mistake: (lat, lng) instead of (lng, lat).
        (39.915, 116.404, "latitude", "longitude"),
    ],
)
def test_validate_lng_lat_names_the_bad_coordinate(
    lng: float, lat: float, bad: str, good: str
) -> None:
    with pytest.raises(ValueError, match=bad) as excinfo:
        validate_lng_lat(lng, lat)
    assert good not in str(excinfo.value)


def test_validate_lng_lat_reports_both_when_both_are_bad() -> None:
    with pytest.raises(ValueError, match="longitude") as excinfo:
        validate_lng_lat(200.0, -100.0)
    assert "latitude" in str(excinfo.value)
