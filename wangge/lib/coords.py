"""Conversion between the coordinate systems used by Chinese web maps.

Everything is stored as WGS-84 longitude/latitude. Clients often send something else:

* GCJ-02 ("Mars coordinates") is the legally mandated obfuscation of WGS-84 used by AMap
  (Gaode), Tencent Maps and the WeChat location APIs. It adds a non-linear offset of a few
  hundred metres, computed on the Krasovsky 1940 ellipsoid, but only inside a rough bounding
  box around China; outside that box GCJ-02 equals WGS-84.
* BD-09 is Baidu's additional, deliberately different distortion applied on top of GCJ-02.

The forward formulas (WGS-84 -> GCJ-02 -> BD-09) are the widely published ones, e.g. in
wandergis/coordtransform and googollee/eviltransform. They have no closed-form inverse, so the
inverses here start from the usual one-step approximation and refine it by fixed-point
iteration until the forward formula reproduces the input to within ``_INVERSE_TOLERANCE``
degrees (the one-step approximations alone are off by up to ~5e-5 degrees, i.e. several metres).

Longitude always comes first, as in GeoJSON and in the AMap/Baidu APIs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "Crs",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "from_wgs84_array",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "parse_crs",
    "to_wgs84",
    "to_wgs84_array",
    "validate_lng_lat",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
_Num: TypeAlias = Any  # float or FloatArray: the formula kernels below serve both

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

# The "out of China" box shared by all published GCJ-02 implementations.
_CHINA_MIN_LNG = 72.004
_CHINA_MAX_LNG = 137.8347
_CHINA_MIN_LAT = 0.8293
_CHINA_MAX_LAT = 55.8271

_INVERSE_TOLERANCE = 1e-11  # degrees, about a micrometre; well below the 1e-9 requirement
# The iterations contract by a factor of ~0.02 or better, so 3-4 rounds normally suffice.
_INVERSE_MAX_ITERATIONS = 20


class Crs(StrEnum):
    """Coordinate reference systems accepted at the edge of the system."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def parse_crs(text: str | None) -> Crs:
    """Parse a CRS name case-insensitively; a missing or empty value means WGS-84."""
    if text is None:
        return Crs.WGS84
    normalized = text.strip().lower()
    if not normalized:
        return Crs.WGS84
    try:
        return Crs(normalized)
    except ValueError:
        accepted = ", ".join(crs.value for crs in Crs)
        raise ValueError(
            f"unknown coordinate system {text!r}; accepted values: {accepted}"
        ) from None


def validate_lng_lat(lng: float, lat: float) -> None:
    """Raise ValueError unless lng is finite in [-180, 180] and lat finite in [-90, 90]."""
    problems = []
    if not (math.isfinite(lng) and -180.0 <= lng <= 180.0):
        problems.append(f"longitude {lng!r} is out of range (must be finite, within [-180, 180])")
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        problems.append(f"latitude {lat!r} is out of range (must be finite, within [-90, 90])")
    if problems:
        raise ValueError("; ".join(problems))


# --- formula kernels ----------------------------------------------------------------------
# Written once against a tiny math backend so that the scalar functions (plain ``math``,
# fast for single points) and the numpy bulk functions cannot drift apart.


@dataclass(frozen=True, slots=True)
class _Backend:
    sin: Callable[[Any], Any]
    cos: Callable[[Any], Any]
    sqrt: Callable[[Any], Any]
    atan2: Callable[[Any, Any], Any]
    hypot: Callable[[Any, Any], Any]
    max_abs: Callable[[Any], float]


_SCALAR = _Backend(math.sin, math.cos, math.sqrt, math.atan2, math.hypot, abs)
_VECTOR = _Backend(
    np.sin,
    np.cos,
    np.sqrt,
    np.arctan2,
    np.hypot,
    lambda values: float(np.max(np.abs(values), initial=0.0)),
)


def _in_china(lng: _Num, lat: _Num) -> Any:
    # NaN compares False, so non-finite input counts as "out of China" and passes through.
    return (
        (lng >= _CHINA_MIN_LNG)
        & (lng <= _CHINA_MAX_LNG)
        & (lat >= _CHINA_MIN_LAT)
        & (lat <= _CHINA_MAX_LAT)
    )


def _gcj02_offset(lng: _Num, lat: _Num, ops: _Backend) -> tuple[_Num, _Num]:
    """Offset (dlng, dlat) in degrees that GCJ-02 adds to a WGS-84 point, ignoring the box."""
    pi = math.pi
    x = lng - 105.0
    y = lat - 35.0
    shared = (20.0 * ops.sin(6.0 * x * pi) + 20.0 * ops.sin(2.0 * x * pi)) * 2.0 / 3.0

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * ops.sqrt(abs(x))
    dlat += shared
    dlat += (20.0 * ops.sin(y * pi) + 40.0 * ops.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * ops.sin(y / 12.0 * pi) + 320.0 * ops.sin(y * pi / 30.0)) * 2.0 / 3.0

    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * ops.sqrt(abs(x))
    dlng += shared
    dlng += (20.0 * ops.sin(x * pi) + 40.0 * ops.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlng += (150.0 * ops.sin(x / 12.0 * pi) + 300.0 * ops.sin(x / 30.0 * pi)) * 2.0 / 3.0

    # Metres to degrees on the Krasovsky ellipsoid at this latitude.
    rad_lat = lat / 180.0 * pi
    sin_lat = ops.sin(rad_lat)
    magic = 1.0 - _EE * sin_lat * sin_lat
    sqrt_magic = ops.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlng = (dlng * 180.0) / (_A / sqrt_magic * ops.cos(rad_lat) * pi)
    return dlng, dlat


def _gcj02_invert(lng: _Num, lat: _Num, ops: _Backend) -> tuple[_Num, _Num]:
    """WGS-84 point whose GCJ-02 offset lands on (lng, lat), ignoring the box."""
    dlng, dlat = _gcj02_offset(lng, lat, ops)
    wgs_lng, wgs_lat = lng - dlng, lat - dlat  # the common one-step approximation
    for _ in range(_INVERSE_MAX_ITERATIONS):
        dlng, dlat = _gcj02_offset(wgs_lng, wgs_lat, ops)
        err_lng = wgs_lng + dlng - lng
        err_lat = wgs_lat + dlat - lat
        wgs_lng, wgs_lat = wgs_lng - err_lng, wgs_lat - err_lat
        if max(ops.max_abs(err_lng), ops.max_abs(err_lat)) < _INVERSE_TOLERANCE:
            break
    return wgs_lng, wgs_lat


def _bd09_forward(lng: _Num, lat: _Num, ops: _Backend) -> tuple[_Num, _Num]:
    z = ops.hypot(lng, lat) + 0.00002 * ops.sin(lat * _X_PI)
    theta = ops.atan2(lat, lng) + 0.000003 * ops.cos(lng * _X_PI)
    return z * ops.cos(theta) + 0.0065, z * ops.sin(theta) + 0.006


def _bd09_invert(lng: _Num, lat: _Num, ops: _Backend) -> tuple[_Num, _Num]:
    # The published closed-form inverse is only good to ~2e-6 degrees; refine it.
    x = lng - 0.0065
    y = lat - 0.006
    z = ops.hypot(x, y) - 0.00002 * ops.sin(y * _X_PI)
    theta = ops.atan2(y, x) - 0.000003 * ops.cos(x * _X_PI)
    gcj_lng, gcj_lat = z * ops.cos(theta), z * ops.sin(theta)
    for _ in range(_INVERSE_MAX_ITERATIONS):
        bd_lng, bd_lat = _bd09_forward(gcj_lng, gcj_lat, ops)
        err_lng = bd_lng - lng
        err_lat = bd_lat - lat
        gcj_lng, gcj_lat = gcj_lng - err_lng, gcj_lat - err_lat
        if max(ops.max_abs(err_lng), ops.max_abs(err_lat)) < _INVERSE_TOLERANCE:
            break
    return gcj_lng, gcj_lat


# --- scalar API ---------------------------------------------------------------------------


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """Convert WGS-84 to GCJ-02; points outside China are returned unchanged."""
    if not _in_china(lng, lat):
        return float(lng), float(lat)
    dlng, dlat = _gcj02_offset(lng, lat, _SCALAR)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Convert GCJ-02 to WGS-84 (iterative, accurate inverse of ``wgs84_to_gcj02``)."""
    if not _in_china(lng, lat):
        return float(lng), float(lat)
    return _gcj02_invert(float(lng), float(lat), _SCALAR)


def gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    """Convert GCJ-02 to BD-09.

    Like wandergis/coordtransform, the Baidu step is applied everywhere, not only in China.
    """
    return _bd09_forward(float(lng), float(lat), _SCALAR)


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """Convert BD-09 to GCJ-02 (iterative, accurate inverse of ``gcj02_to_bd09``)."""
    return _bd09_invert(float(lng), float(lat), _SCALAR)


def wgs84_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    """Convert WGS-84 to BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lng, lat))


def bd09_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Convert BD-09 to WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


def to_wgs84(lng: float, lat: float, crs: Crs | str) -> tuple[float, float]:
    """Convert a point given in ``crs`` to WGS-84. A string ``crs`` goes through parse_crs."""
    match parse_crs(crs):
        case Crs.GCJ02:
            return gcj02_to_wgs84(lng, lat)
        case Crs.BD09:
            return bd09_to_wgs84(lng, lat)
        case _:
            return float(lng), float(lat)


def from_wgs84(lng: float, lat: float, crs: Crs | str) -> tuple[float, float]:
    """Convert a WGS-84 point to ``crs``. A string ``crs`` goes through parse_crs."""
    match parse_crs(crs):
        case Crs.GCJ02:
            return wgs84_to_gcj02(lng, lat)
        case Crs.BD09:
            return wgs84_to_bd09(lng, lat)
        case _:
            return float(lng), float(lat)


# --- vectorized API -----------------------------------------------------------------------


def _as_float_arrays(lngs: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lng_arr, lat_arr = np.broadcast_arrays(
        np.asarray(lngs, dtype=np.float64), np.asarray(lats, dtype=np.float64)
    )
    # Copies: broadcast views are read-only and the callers' arrays must stay untouched.
    return lng_arr.copy(), lat_arr.copy()


def _wgs84_to_gcj02_array(lngs: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
    out_lng, out_lat = lngs.copy(), lats.copy()
    mask = _in_china(lngs, lats)
    dlng, dlat = _gcj02_offset(lngs[mask], lats[mask], _VECTOR)
    out_lng[mask] += dlng
    out_lat[mask] += dlat
    return out_lng, out_lat


def _gcj02_to_wgs84_array(lngs: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
    out_lng, out_lat = lngs.copy(), lats.copy()
    mask = _in_china(lngs, lats)
    out_lng[mask], out_lat[mask] = _gcj02_invert(lngs[mask], lats[mask], _VECTOR)
    return out_lng, out_lat


def to_wgs84_array(
    lngs: npt.ArrayLike, lats: npt.ArrayLike, crs: Crs | str
) -> tuple[FloatArray, FloatArray]:
    """Vectorized ``to_wgs84``: returns new float64 arrays of the broadcast input shape."""
    lng_arr, lat_arr = _as_float_arrays(lngs, lats)
    match parse_crs(crs):
        case Crs.GCJ02:
            return _gcj02_to_wgs84_array(lng_arr, lat_arr)
        case Crs.BD09:
            return _gcj02_to_wgs84_array(*_bd09_invert(lng_arr, lat_arr, _VECTOR))
        case _:
            return lng_arr, lat_arr


def from_wgs84_array(
    lngs: npt.ArrayLike, lats: npt.ArrayLike, crs: Crs | str
) -> tuple[FloatArray, FloatArray]:
    """Vectorized ``from_wgs84``: returns new float64 arrays of the broadcast input shape."""
    lng_arr, lat_arr = _as_float_arrays(lngs, lats)
    match parse_crs(crs):
        case Crs.GCJ02:
            return _wgs84_to_gcj02_array(lng_arr, lat_arr)
        case Crs.BD09:
            return _bd09_forward(*_wgs84_to_gcj02_array(lng_arr, lat_arr), _VECTOR)
        case _:
            return lng_arr, lat_arr
