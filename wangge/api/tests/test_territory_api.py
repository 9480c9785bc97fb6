import json

import pytest
from django.urls import reverse
from shapely.geometry import box

from wangge.regions.models import Grid
from wangge.testing.factories import client_for, collection, feature

pytestmark = pytest.mark.django_db

LOCATE = reverse("api:locate")


def grid_codes(response) -> set[str]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    return {f["properties"]["code"] for f in json.loads(response.content)["features"]}


# Locate ------------------------------------------------------------------------------------------


def test_locate_names_the_grid_and_its_ancestors(cast):
    response = client_for(cast.commander).get(LOCATE, {"lng": 116.31, "lat": 39.93})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["grid"]["code"] == "110102001001001"
    assert body["grid"]["layer"] == "social"
    assert [a["code"] for a in body["ancestors"]] == ["110102", "110102001", "110102001001"]
    assert [a["level"] for a in body["ancestors"]] == ["district", "street", "community"]


def test_locate_converts_gcj02_and_bd09_input(cast):
    from wangge.lib.coords import from_wgs84

    client = client_for(cast.commander)
    for crs in ("gcj02", "bd09"):
        lng, lat = from_wgs84(116.31, 39.93, crs)
        body = client.get(LOCATE, {"lng": lng, "lat": lat, "crs": crs}).json()
        assert body["grid"]["code"] == "110102001001001"
        assert body["lng_wgs84"] == pytest.approx(116.31, abs=1e-7)


def test_locate_outside_the_district_is_404_with_a_message(cast):
    client = client_for(cast.commander)
    response = client.get(LOCATE, {"lng": 121.47, "lat": 31.23}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "The point (121.47, 31.23) lies outside every grid of the layer 社会治理网格."
    )
    client.credentials()  # no Accept-Language: the site's default language, Chinese
    chinese = client.get(LOCATE, {"lng": 121.47, "lat": 31.23})
    assert chinese.json()["detail"] == "点 (121.47, 31.23) 不在图层“社会治理网格”的任何网格内。"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lng": "abc", "lat": 39.9}, "lng"),
        ({"lng": 116.3, "lat": "39,9"}, "lat"),
        ({"lng": 116.3}, "lat"),
        ({"lng": 190, "lat": 39.9}, "lng"),
        ({"lng": "nan", "lat": 39.9}, "lng"),
        ({"lng": 116.3, "lat": 39.9, "crs": "mars"}, "crs"),
        ({"lng": 116.3, "lat": 39.9, "layer": "moon"}, "layer"),
    ],
)
def test_locate_with_a_malformed_parameter_is_400_naming_it(cast, params, field):
    response = client_for(cast.commander).get(LOCATE, params)
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"]
    assert body["detail"].startswith(f"{field}:")


def test_locate_outside_the_users_scope_is_404(cast):
    response = client_for(cast.community_officer).get(
        LOCATE, {"lng": 116.39, "lat": 39.87}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 404
    assert "outside your data scope" in response.json()["detail"]


def test_api_requires_authentication(api, territory):
    assert api.get(LOCATE, {"lng": 116.31, "lat": 39.93}).status_code == 401


def test_token_authentication_works(cast, api):
    token = api.post(reverse("api:token"), {"username": "commander", "password": "pw-commander"})
    assert token.status_code == 200, token.content
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert api.get(LOCATE, {"lng": 116.31, "lat": 39.93}).status_code == 200


# Scope ------------------------------------------------------------------------------------------


def test_community_officer_lists_only_the_grids_of_the_community(cast):
    codes = grid_codes(client_for(cast.community_officer).get(reverse("api:grids")))
    assert codes and all(code.startswith("110102001001") for code in codes)
    assert len(codes) == 4  # four social grids; the unit grid has the same code as social 001


def test_district_commander_lists_all_grids(cast):
    response = client_for(cast.commander).get(reverse("api:grids"))
    features = json.loads(response.content)["features"]
    assert len(features) == Grid.objects.count() == 20


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("commander", 7),
        ("street_dispatcher", 3),
        ("community_officer", 1),
        ("grid_worker_a", 0),
        ("nobody", None),
    ],
)
def test_region_list_is_the_subtree_of_the_scope(cast, persona, expected):
    response = client_for(getattr(cast, persona)).get(reverse("api:regions"))
    if expected is None:
        assert response.status_code == 403
        return
    assert len(response.json()) == expected


def test_a_region_outside_the_scope_is_the_same_404_as_a_missing_one(cast):
    client = client_for(cast.community_officer)
    other = client.get(reverse("api:region", args=["110102003002"]))
    missing = client.get(reverse("api:region", args=["110102009009"]))
    assert other.status_code == missing.status_code == 404
    own = client.get(reverse("api:region", args=["110102001001"]))
    assert own.status_code == 200
    assert [a["code"] for a in own.json()["ancestors"]] == ["110102", "110102001"]


def test_a_grid_outside_the_scope_is_404(cast):
    client = client_for(cast.grid_worker_a)
    assert client.get(reverse("api:grid", args=["social", "110102001001001"])).status_code == 200
    assert client.get(reverse("api:grid", args=["social", "110102001001002"])).status_code == 404


def test_grid_detail_is_a_feature_with_ancestors(cast):
    response = client_for(cast.commander).get(
        reverse("api:grid", args=["social", "110102003002004"])
    )
    body = json.loads(response.content)
    assert body["type"] == "Feature"
    assert body["properties"]["households"] == 400
    assert [a["code"] for a in body["properties"]["ancestors"]][-1] == "110102003002"


def test_grid_list_filters_by_layer_bbox_and_parent(cast):
    client = client_for(cast.commander)
    assert len(grid_codes(client.get(reverse("api:grids"), {"layer": "unit"}))) == 4
    # A small box in the north-west corner touches only grid 001 of community 001001 (both layers).
    nw = grid_codes(client.get(reverse("api:grids"), {"bbox": "116.301,39.931,116.302,39.932"}))
    assert nw == {"110102001001001"}
    parent = grid_codes(
        client.get(reverse("api:grids"), {"parent": "110102003", "layer": "social"})
    )
    assert len(parent) == 8 and all(c.startswith("110102003") for c in parent)
    bad = client.get(reverse("api:grids"), {"bbox": "1,2,3"})
    assert bad.status_code == 400 and "bbox" in bad.json()["errors"]


def test_region_geojson_by_level(cast):
    response = client_for(cast.commander).get(reverse("api:regions-geojson"), {"level": "street"})
    assert grid_codes(response) == {"110102001", "110102003"}


def test_search_by_name_and_code_stays_in_scope(cast):
    client = client_for(cast.street_dispatcher)
    hits = client.get(reverse("api:search"), {"q": "社区001"}).json()["results"]
    assert hits[0] == {
        "kind": "region",
        "code": "110102001001",
        "name": "社区001",
        "level": "community",
        "layer": None,
        "bbox": [116.30, 39.90, 116.35, 39.94],
    }
    assert {h["code"][:12] for h in hits} == {"110102001001"}  # not 110102003001 (out of scope)
    assert {h["kind"] for h in hits} == {"region", "grid"}
    by_code = client.get(reverse("api:search"), {"q": "110102001002"}).json()["results"]
    assert by_code[0]["code"] == "110102001002"
    assert all(h["code"].startswith("110102001") for h in by_code)
    assert client.get(reverse("api:search")).status_code == 400


def test_grid_layers_are_listed(cast):
    codes = [
        layer["code"] for layer in client_for(cast.nobody).get(reverse("api:grid-layers")).json()
    ]
    assert codes[:2] == ["social", "unit"]


# Import through the API ---------------------------------------------------------------------------


def police_grid(code: str = "110102001001001", west: float = 116.30) -> dict:
    return feature(
        code, "警格", "grid", "110102001001", box(west, 39.90, west + 0.01, 39.91), layer="police"
    )


def test_only_administrators_may_import(cast):
    url = reverse("api:territory-import")
    data = collection([police_grid()])
    assert client_for(cast.commander).post(url, data, format="json").status_code == 403
    response = client_for(cast.admin).post(url, data, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["created"]["grid"] == 1


def test_a_bad_import_through_the_api_is_400_with_every_problem(cast):
    url = reverse("api:territory-import")
    data = collection([police_grid(), police_grid("110102001001002", 116.305)])
    response = client_for(cast.admin).post(url, data, format="json")
    assert response.status_code == 400
    assert [p["index"] for p in response.json()["problems"]] == [1]
    assert not Grid.objects.filter(layer="police").exists()


def test_import_accepts_an_uploaded_file(cast, tmp_path):
    path = tmp_path / "t.geojson"
    path.write_text(json.dumps(collection([police_grid()])), encoding="utf-8")
    with path.open("rb") as handle:
        response = client_for(cast.admin).post(
            reverse("api:territory-import") + "?dry_run=true", {"file": handle}, format="multipart"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["dry_run"] is True
    assert not Grid.objects.filter(layer="police").exists()


def test_an_upload_that_is_not_json_is_400(cast, tmp_path):
    path = tmp_path / "t.geojson"
    path.write_bytes(b"\xff\xfe not json")
    with path.open("rb") as handle:
        response = client_for(cast.admin).post(
            reverse("api:territory-import"), {"file": handle}, format="multipart"
        )
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_grid_detail_names_the_grids_workers_not_their_usernames(cast):
    from wangge.testing.factories import make_user

    cast.grid_worker_a.last_name, cast.grid_worker_a.first_name = "王", "小明"
    cast.grid_worker_a.save(update_fields=["last_name", "first_name"])
    make_user("worker_a2", role="grid_worker", scope="110102001001001")  # no name on file
    make_user("leaver", role="grid_worker", scope="110102001001001", is_active=False)
    make_user("officer_here", role="community_officer", scope="110102001001001")

    response = client_for(cast.commander).get(
        reverse("api:grid", args=["social", "110102001001001"])
    )

    workers = json.loads(response.content)["properties"]["workers"]
    assert sorted(workers, key=lambda w: w["name"] or "") == [{"name": None}, {"name": "王小明"}]
    assert "worker_a" not in response.content.decode()


def test_a_unit_grid_has_no_workers_and_no_household_count(cast):
    response = client_for(cast.commander).get(reverse("api:grid", args=["unit", "110102001001001"]))
    properties = json.loads(response.content)["properties"]
    assert properties["workers"] == []  # the social grid of the same code has worker_a
    assert properties["households"] is None
    assert properties["population"] is None
