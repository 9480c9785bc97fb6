import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from wangge.core.scope import scope_prefixes
from wangge.regions.models import Grid, Region


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_district_loads_once_and_answers_the_readme_lookup(capsys):
    call_command("demo_data", "--district", "110102", "--no-cases", "--population", "small")
    assert Region.objects.filter(level="street").count() == 15
    assert Region.objects.filter(level="community").count() == 263
    assert Grid.objects.filter(layer="social").count() == 1623
    assert 2300 < Grid.objects.filter(layer="unit").count() < 2600

    call_command("demo_data", "--district", "110102", "--no-cases", "--population", "small")
    assert "already loaded: reusing it" in capsys.readouterr().out
    assert Grid.objects.filter(layer="social").count() == 1623

    call_command("demo_logins")
    printed = capsys.readouterr().out
    assert "commander_110102" in printed and "gridworker_110102" in printed
    # One handler per department of the matrix (25 and the first three streets' teams) and the
    # grid workers' pattern; --all lists every grid worker.
    for handler in ("chengguan_110102", "ranqi_110102", "reli_110102", "jiedao003_110102"):
        assert handler in printed
    assert "gw-<grid code>, one per social grid (1,623)" in printed
    call_command("demo_logins", "--all")
    listed = capsys.readouterr().out
    assert sum(line.startswith("gw-110102") for line in listed.splitlines()) == 1623

    client = APIClient()
    token = Token.objects.get(user__username="commander_110102")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = client.get("/api/v1/locate/", {"lng": 116.3661, "lat": 39.9125}).json()
    assert body["grid"]["code"].startswith("110102")
    levels = {a["level"]: a["code"] for a in body["ancestors"]}
    assert body["grid"]["code"].startswith(levels["community"])
    assert levels["community"].startswith(levels["street"])
    assert Region.objects.get(code=levels["street"]).name.endswith("街道")

    outside = client.get("/api/v1/locate/", {"lng": 116.2, "lat": 39.9})
    assert outside.status_code == 404

    # The community officer's token lists only that community's grids.
    officer = Token.objects.get(user__username="community_110102")
    client.credentials(HTTP_AUTHORIZATION=f"Token {officer.key}")
    (scope,) = scope_prefixes(officer.user)
    grids = client.get("/api/v1/grids/", {"layer": "social"}).json()["features"]
    assert grids and all(g["properties"]["code"].startswith(scope) for g in grids)
