import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import Polygon, box

from wangge.core.models import AuditLog
from wangge.regions.models import Grid, Region
from wangge.regions.services import territory_import
from wangge.testing.factories import collection, feature, sample_territory_features

pytestmark = pytest.mark.django_db

COMMUNITY = "110102001001"  # 116.30–116.35 × 39.90–39.94, already stored by the fixture


def four_bad_grids() -> dict:
    """A file with one overlapping grid, one outside its community, one bad code, one bow-tie."""
    bow_tie = Polygon([(116.301, 39.901), (116.309, 39.909), (116.309, 39.901), (116.301, 39.909)])
    return collection(
        [
            # 0: fine — a new police grid over the community's west half.
            feature(
                f"{COMMUNITY}001",
                "好",
                "grid",
                COMMUNITY,
                box(116.30, 39.90, 116.325, 39.94),
                layer="police",
            ),
            # 1: overlaps grid 0 by 0.005° × 0.04° (≈ 430 m × 4.4 km).
            feature(
                f"{COMMUNITY}002",
                "叠",
                "grid",
                COMMUNITY,
                box(116.32, 39.90, 116.35, 39.94),
                layer="police",
            ),
            # 2: lies in the south community, not in its parent.
            feature(
                f"{COMMUNITY}003",
                "出界",
                "grid",
                COMMUNITY,
                box(116.30, 39.87, 116.31, 39.88),
                layer="police",
            ),
            # 3: code with a letter.
            feature(
                "11010200100100X",
                "坏码",
                "grid",
                COMMUNITY,
                box(116.33, 39.91, 116.34, 39.92),
                layer="safety",
            ),
            # 4: self-intersecting polygon.
            feature(f"{COMMUNITY}005", "自交", "grid", COMMUNITY, bow_tie, layer="safety"),
        ]
    )


def test_a_file_with_four_bad_grids_writes_nothing_and_reports_all_four(territory):
    grids_before = Grid.objects.count()
    audit_before = AuditLog.objects.count()

    report = territory_import(data=four_bad_grids(), actor=None)

    assert not report.ok
    by_index = {p.index: p.reason for p in report.problems}
    assert set(by_index) == {1, 2, 3, 4}
    assert "overlaps police grid 110102001001001 (feature #0)" in by_index[1]
    assert "outside its parent community 110102001001" in by_index[2]
    assert "only the digits" in by_index[3]
    assert "Self-intersection" in by_index[4]
    assert Grid.objects.count() == grids_before
    assert AuditLog.objects.count() == audit_before


def test_the_command_prints_every_problem_and_exits_non_zero(territory, tmp_path, capsys):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(four_bad_grids()), encoding="utf-8")
    with pytest.raises(CommandError, match="4 problem"):
        call_command("import_regions", str(path))
    err = capsys.readouterr().err
    for index in (1, 2, 3, 4):
        assert f"feature #{index}" in err


def test_import_creates_then_updates_and_audits(db):
    report = territory_import(data=collection(sample_territory_features()), actor=None)
    assert report.ok
    assert report.created == {"district": 1, "street": 2, "community": 4, "grid": 20}
    assert Region.objects.get(code="110102001").parent.code == "110102"
    assert Grid.objects.get(code="110102003002004", layer="social").community.code == "110102003002"

    again = territory_import(data=collection(sample_territory_features()), actor=None)
    assert again.created == {"district": 0, "street": 0, "community": 0, "grid": 0}
    assert again.updated["grid"] == 20
    assert AuditLog.objects.filter(action="regions.import").count() == 2


def test_area_is_computed_in_square_metres(territory):
    # A 0.025° × 0.02° grid near 39.9° N is about 2,135 m × 2,221 m.
    area = Grid.objects.get(code="110102001001001", layer="social").area_m2
    assert 4.6e6 < area < 4.8e6


def test_dry_run_checks_but_writes_nothing(db):
    report = territory_import(
        data=collection(sample_territory_features()), actor=None, dry_run=True
    )
    assert report.ok and report.dry_run
    assert Region.objects.count() == 0


def test_slivers_thinner_than_the_tolerance_are_accepted(territory):
    # Poke 0.5 m (≈ 4.5e-6°) out of the community's north edge.
    sliver = box(116.30, 39.90, 116.35, 39.94 + 4.5e-6)
    report = territory_import(
        data=collection(
            [feature(f"{COMMUNITY}001", "边", "grid", COMMUNITY, sliver, layer="police")]
        ),
        actor=None,
    )
    assert report.ok, report.problems
    strict = territory_import(
        data=collection(
            [feature(f"{COMMUNITY}001", "边", "grid", COMMUNITY, sliver, layer="police")]
        ),
        actor=None,
        tolerance_m=0.1,
    )
    assert not strict.ok


def test_an_overlap_with_a_stored_grid_is_reported(territory):
    report = territory_import(
        data=collection(
            [
                feature(
                    f"{COMMUNITY}009",
                    "重叠",
                    "grid",
                    COMMUNITY,
                    box(116.30, 39.93, 116.31, 39.94),
                    layer="social",
                )
            ]
        ),
        actor=None,
    )
    assert [p.index for p in report.problems] == [0]
    assert "overlaps social grid 110102001001001 (existing)" in report.problems[0].reason


def test_replacing_a_grid_is_not_an_overlap_with_its_old_self(territory):
    shrunk = box(116.30, 39.93, 116.32, 39.94)
    report = territory_import(
        data=collection(
            [feature(f"{COMMUNITY}001", "缩小", "grid", COMMUNITY, shrunk, layer="social")]
        ),
        actor=None,
    )
    assert report.ok, report.problems
    assert any("covered by no social grid" in w.reason for w in report.warnings)


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda f: f["properties"].pop("code"), "'code' is missing"),
        (lambda f: f["properties"].update(level="city"), "unknown level 'city'"),
        (lambda f: f["properties"].update(parent_code="110102003001"), "does not start with"),
        (lambda f: f["properties"].update(parent_code="110102001"), "12-digit code"),
        (lambda f: f["properties"].update(layer="moon"), "not a known grid layer"),
        (lambda f: f["properties"].update(population=-3), "'population' must be"),
        (lambda f: f["properties"].update(special_kind="campus"), "only for grids whose"),
        (lambda f: f.update(geometry={"type": "Point", "coordinates": [116.3, 39.9]}), "Polygon"),
        (lambda f: f.update(geometry={"type": "Polygon", "coordinates": [[[500, 1]]]}), "geometry"),
    ],
)
def test_each_bad_property_is_named(territory, mutate, fragment):
    grid = feature(
        f"{COMMUNITY}007",
        "网格",
        "grid",
        COMMUNITY,
        box(116.30, 39.90, 116.31, 39.91),
        layer="police",
    )
    mutate(grid)
    report = territory_import(data=collection([grid]), actor=None)
    assert not report.ok
    assert any(fragment in p.reason for p in report.problems), report.problems


def test_a_feature_whose_parent_is_unknown_is_reported(db):
    report = territory_import(
        data=collection([feature("110102001", "街道", "street", "110102", box(0, 0, 1, 1))]),
        actor=None,
    )
    assert "neither in the file nor stored" in report.problems[0].reason


@pytest.mark.parametrize("data", [[], {"type": "Feature"}, {"type": "FeatureCollection"}])
def test_a_file_that_is_not_a_feature_collection_is_refused(db, data):
    report = territory_import(data=data, actor=None)
    assert not report.ok and report.problems[0].index is None


def test_the_same_code_twice_is_reported(territory):
    grid = feature(
        f"{COMMUNITY}001",
        "网格",
        "grid",
        COMMUNITY,
        box(116.30, 39.90, 116.31, 39.91),
        layer="police",
    )
    report = territory_import(data=collection([grid, grid]), actor=None)
    assert [p.index for p in report.problems] == [1]


def test_export_reads_back_as_the_same_territory(territory, tmp_path):
    path = tmp_path / "out.geojson"
    call_command("export_regions", "--output", str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["features"]) == Region.objects.count() + Grid.objects.count()
    report = territory_import(data=data, actor=None)
    assert report.ok, report.problems
    assert sum(report.created.values()) == 0
