"""A small made-up district for tests, built as a territory file and loaded through the importer.

District 110102 is the box 116.30–116.40 E, 39.86–39.94 N. Street 001 is its west half and street 003
its east half; each street has a north community (…001) and a south one (…002); each community is cut
2 × 2 into social grids numbered west→east, north→south (001 NW, 002 NE, 003 SW, 004 SE) and covered
by one unit grid (…001).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from rest_framework.test import APIClient
from shapely.geometry import box, mapping

from wangge.core.models import ScopeGrant, User
from wangge.regions.models import Grid, Region
from wangge.regions.services import territory_import

WEST, SOUTH, EAST, NORTH = 116.30, 39.86, 116.40, 39.94
MID_LNG, MID_LAT = 116.35, 39.90


def feature(
    code: str, name: str, level: str, parent: str | None, geometry: Any, **extra: Any
) -> dict[str, Any]:
    geometry = geometry if isinstance(geometry, dict) else mapping(geometry)
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "level": level, "parent_code": parent, **extra},
        "geometry": geometry,
    }


def collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def community_boxes() -> dict[str, tuple[float, float, float, float]]:
    return {
        "110102001001": (WEST, MID_LAT, MID_LNG, NORTH),
        "110102001002": (WEST, SOUTH, MID_LNG, MID_LAT),
        "110102003001": (MID_LNG, MID_LAT, EAST, NORTH),
        "110102003002": (MID_LNG, SOUTH, EAST, MID_LAT),
    }


def grid_boxes(west: float, south: float, east: float, north: float) -> list[tuple[float, ...]]:
    mid_x, mid_y = (west + east) / 2, (south + north) / 2
    return [
        (west, mid_y, mid_x, north),
        (mid_x, mid_y, east, north),
        (west, south, mid_x, mid_y),
        (mid_x, south, east, mid_y),
    ]


def sample_territory_features() -> list[dict[str, Any]]:
    features = [
        feature("110102", "西城区", "district", None, box(WEST, SOUTH, EAST, NORTH)),
        feature("110102001", "西长安街街道", "street", "110102", box(WEST, SOUTH, MID_LNG, NORTH)),
        feature("110102003", "新街口街道", "street", "110102", box(MID_LNG, SOUTH, EAST, NORTH)),
    ]
    for code, bounds in community_boxes().items():
        features.append(feature(code, f"社区{code[-3:]}", "community", code[:9], box(*bounds)))
    for code, bounds in community_boxes().items():
        for number, cell in enumerate(grid_boxes(*bounds), start=1):
            features.append(
                feature(
                    f"{code}{number:03d}",
                    f"社区{code[-3:]}第{number}网格",
                    "grid",
                    code,
                    box(*cell),
                    layer="social",
                    households=100 * number,
                    population=250 * number,
                )
            )
        features.append(
            feature(f"{code}001", f"单元网格{code[-3:]}", "grid", code, box(*bounds), layer="unit")
        )
    return features


def load_test_territory() -> None:
    report = territory_import(data=collection(sample_territory_features()), actor=None)
    assert report.ok, report.problems


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def grid(code: str, layer: str = "social") -> Grid:
    return Grid.objects.get(code=code, layer_id=layer)


def make_user(
    username: str, *, role: str | None, scope: str | Iterable[str] = "", **extra: Any
) -> User:
    """A user with a role and a data scope: one region-code prefix, or several (一员多格)."""
    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    prefixes = [scope] if isinstance(scope, str) else list(scope)
    for prefix in prefixes:
        if prefix:
            ScopeGrant.objects.create(user=user, prefix=prefix)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def client_for(user: User) -> APIClient:
    """An API client signed in as ``user``, asking for English so tests can read the messages."""
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client
