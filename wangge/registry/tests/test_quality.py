"""The data-quality rules flag exactly the planted late (de)registrations, and nothing else."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from wangge.registry import lifecycle
from wangge.registry.models import Person
from wangge.registry.quality import Flag, flagged, quality_report
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for

TODAY = date(2026, 3, 31)


def at(moment: str):
    return time_machine.travel(f"{moment}+08:00", tick=False)


def floating(moved_in: date, registered_at: str | None, grid: str = f.GRID_A, **extra):
    """A floating resident's residency, registered at a local time (None: still pending)."""
    with at(registered_at or "2026-03-31 08:00"):
        return f.register(
            f.house(grid_code=grid),
            residency_type="floating",
            moved_in_on=moved_in,
            registered=registered_at is not None,
            **extra,
        ).residency


def left(moved_out: date, deregistered_at: str | None, grid: str = f.GRID_A, **extra):
    """A residency whose person moved out; deregistered at a local time (None: not yet)."""
    with at("2025-01-01 10:00"):
        residency = f.register(
            f.house(grid_code=grid), moved_in_on=date(2025, 1, 1), **extra
        ).residency
    with at(f"{moved_out:%Y-%m-%d} 18:00"):
        lifecycle.residency_move_out(residency=residency, moved_out_on=moved_out, actor=None)
    if deregistered_at:
        with at(deregistered_at):
            lifecycle.residency_deregister(residency=residency, reason="moved_away", actor=None)
    return residency


@pytest.fixture
def planted(territory):
    """Rows on both sides of every threshold, judged on 2026-03-31 over March 2026."""
    rows = {
        # Registrations (floating residents): at most 2 days after moving in is on time.
        "on_time": floating(date(2026, 3, 1), "2026-03-03 16:00"),
        "late_3_days": floating(date(2026, 3, 1), "2026-03-04 09:00"),
        "late_32_days": floating(date(2026, 2, 1), "2026-03-05 09:00"),
        "late_in_february": floating(date(2026, 2, 20), "2026-02-25 09:00"),
        # Half past midnight on 1 March in Beijing is still 28 February in UTC.
        "late_just_in_march": floating(date(2026, 2, 20), "2026-03-01 00:30"),
        "late_just_in_february": floating(date(2026, 2, 20), "2026-02-28 23:30"),
        "late_in_grid_b": floating(date(2026, 3, 1), "2026-03-10 09:00", grid=f.GRID_B),
        # Move-ins reported but not registered.
        "pending_2_days": floating(date(2026, 3, 29), None),
        "pending_3_days": floating(date(2026, 3, 28), None),
        "pending_39_days": floating(date(2026, 2, 20), None),
        # Deregistrations (any residency type): at most 3 days after moving out is on time.
        "out_3_days": left(date(2026, 3, 28), None),
        "out_4_days": left(date(2026, 3, 27), None),
        "out_39_days": left(date(2026, 2, 20), None),
        "out_in_grid_b": left(date(2026, 3, 1), None, grid=f.GRID_B),
        "dereg_on_time": left(date(2026, 3, 1), "2026-03-04 17:00"),
        "dereg_late": left(date(2026, 3, 1), "2026-03-05 09:00"),
        "dereg_late_in_february": left(date(2026, 1, 10), "2026-02-20 09:00"),
    }
    # A registered (户籍) resident's pending move-in is not a floating-population lapse.
    with at("2026-03-31 08:00"):
        rows["pending_registered_resident"] = f.register(
            moved_in_on=date(2026, 1, 1), registered=False
        ).residency
    return rows


EXPECTED = {
    Flag.LATE_REGISTRATION: {"late_3_days", "late_32_days", "late_just_in_march", "late_in_grid_b"},
    Flag.UNREGISTERED: {"pending_3_days", "pending_39_days"},
    Flag.UNREGISTERED_LONG: {"pending_39_days"},
    Flag.NOT_DEREGISTERED: {"out_4_days", "out_39_days", "out_in_grid_b"},
    Flag.NOT_DEREGISTERED_LONG: {"out_39_days"},
    Flag.LATE_DEREGISTRATION: {"dereg_late"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("flag", list(EXPECTED))
def test_each_rule_flags_exactly_the_planted_rows(planted, cast, flag):
    names = {residency.pk: name for name, residency in planted.items()}

    rows = flagged(user=cast.commander, flag=flag, today=TODAY)

    assert {names[row.pk] for row in rows} == EXPECTED[flag]


@pytest.mark.django_db
def test_the_report_counts_them_per_grid_and_per_grid_worker(planted, cast):
    report = quality_report(user=cast.commander, today=TODAY)
    by_grid = {row.code: row.counts for row in report.rows}

    assert (report.since, report.until) == (date(2026, 3, 1), TODAY)
    assert len(by_grid) == 16  # every social grid of the district, planted or not
    grid_a, grid_b = by_grid[f.GRID_A], by_grid[f.GRID_B]
    for flag, names in EXPECTED.items():
        in_b = {name for name in names if name.endswith("grid_b")}
        assert grid_a[flag.value] == len(names - in_b), flag
        assert grid_b[flag.value] == len(in_b), flag
    assert by_grid["110102001002001"]["late_registration"] == 0

    workers = quality_report(user=cast.commander, today=TODAY, by="worker").rows
    assert [(row.username, row.code) for row in workers] == [
        ("worker_a", f.GRID_A),
        ("worker_b", f.GRID_B),
    ]
    assert workers[0].counts == grid_a
    assert workers[1].counts["not_deregistered"] == 1


@pytest.mark.django_db
def test_a_grid_worker_sees_only_his_grid(planted, cast):
    report = quality_report(user=cast.grid_worker_a, today=TODAY)

    assert [row.code for row in report.rows] == [f.GRID_A]
    late = flagged(user=cast.grid_worker_b, flag=Flag.LATE_REGISTRATION, today=TODAY)
    assert [row.pk for row in late] == [planted["late_in_grid_b"].pk]


@pytest.mark.django_db
def test_duplicates_are_same_name_and_birth_date_with_at_most_one_id_number(territory):
    born = date(1980, 1, 1)
    with_id = f.register(name="王五", id_number=f.resident_id(born)).person
    without_id = f.register(name="王五", id_number="", birth_date=born).person
    f.register(name="孙七", id_number=f.resident_id(date(1990, 1, 1)))
    f.register(name="孙七", id_number=f.resident_id(date(1990, 1, 1)))  # two people
    f.register(name="王五", id_number="", birth_date=date(1981, 1, 1))

    rows = flagged(user=_superuser(), flag=Flag.DUPLICATE, today=TODAY)

    assert {p.pk for p in rows} == {with_id.pk, without_id.pk}
    lifecycle.person_merge(survivor=with_id, duplicate=without_id, reason="重复录入", actor=None)
    assert not flagged(user=_superuser(), flag=Flag.DUPLICATE, today=TODAY).exists()


@pytest.mark.django_db
def test_missing_photos_count_current_residents_from_two_years_old(territory):
    with at("2026-03-31 10:00"):
        toddler = f.register(id_number=f.resident_id(date(2024, 4, 1))).person
        two_today = f.register(id_number=f.resident_id(date(2024, 3, 31))).person
        unknown_age = f.register(id_number="").person
        with_photo = f.register().person
        gone = f.register().residency
        lifecycle.residency_move_out(residency=gone, moved_out_on=TODAY, actor=None)
    Person.objects.filter(pk=with_photo.pk).update(photo="registry/people/a.jpg")

    rows = flagged(user=_superuser(), flag=Flag.MISSING_PHOTO, today=TODAY)

    assert {p.pk for p in rows} == {two_today.pk, unknown_age.pk}
    assert toddler.pk not in {p.pk for p in rows}


@pytest.mark.django_db
def test_permit_rate_is_the_share_of_floating_residents_with_a_valid_permit(territory):
    def permit(expires_on):
        residency = floating(date(2025, 1, 1), "2025-01-02 10:00")
        with at("2025-01-03 10:00"):
            lifecycle.residency_issue_permit(
                residency=residency,
                permit_number=f.resident_id(area="420502"),
                issued_on=date(2025, 1, 3),
                expires_on=expires_on,
                actor=None,
            )
        return residency

    valid = permit(date(2027, 1, 2))
    expired = permit(date(2026, 1, 2))
    without = floating(date(2025, 1, 1), "2025-01-02 10:00")
    f.register(residency_type="registered")

    row = next(r for r in quality_report(user=_superuser(), today=TODAY).rows if r.code == f.GRID_A)
    assert (row.counts["floating_residents"], row.counts["permits_valid"]) == (3, 1)
    assert row.permit_rate == pytest.approx(0.3333)
    no_permit = flagged(user=_superuser(), flag=Flag.NO_PERMIT, today=TODAY)
    assert {p.pk for p in no_permit} == {expired.person_id, without.person_id}
    assert valid.person_id not in {p.pk for p in no_permit}


@pytest.mark.django_db
def test_rented_house_completeness_needs_documents_id_copy_and_photo(territory):
    docs = {
        "has_lease_contract": True,
        "has_responsibility_letter": True,
        "has_rental_filing": True,
    }
    complete_house = f.house(rented=True, **docs)
    complete = f.register(complete_house, relation="tenant", has_id_copy=True).person
    Person.objects.filter(pk=complete.pk).update(photo="registry/people/a.jpg")
    f.register(complete_house, relation="owner")  # owners are not tenants
    no_contract = f.house(rented=True, **{**docs, "has_lease_contract": False})
    tenant_1 = f.register(no_contract, relation="tenant", has_id_copy=True).residency
    no_copy = f.register(f.house(rented=True, **docs), relation="tenant").residency
    f.house(rented=True)  # let, no tenant registered, no documents
    f.register(f.house(rented=False), relation="tenant")  # not a rented house on record

    rows = flagged(user=_superuser(), flag=Flag.RENTAL_INCOMPLETE, today=TODAY)

    assert {r.pk for r in rows} == {tenant_1.pk, no_copy.pk}
    counts = next(
        r for r in quality_report(user=_superuser(), today=TODAY).rows if r.code == f.GRID_A
    ).counts
    assert (counts["rented_houses"], counts["rented_houses_incomplete"]) == (4, 3)


@pytest.mark.django_db
def test_the_api_serves_the_report_and_the_flagged_records(planted, cast):
    client = client_for(cast.community_officer)

    report = client.get(reverse("api:data-quality"), {"on": "2026-03-31"})
    items = client.get(
        reverse("api:data-quality-flagged", args=["late_registration"]), {"on": "2026-03-31"}
    )
    bad = client.get(reverse("api:data-quality-flagged", args=["nonsense"]))

    assert report.status_code == 200, report.json()
    codes = [row["code"] for row in report.json()["rows"]]
    assert codes == ["110102001001001", "110102001001002", "110102001001003", "110102001001004"]
    assert report.json()["rows"][0]["late_registration"] == 3
    assert items.status_code == 200
    assert items.json()["count"] == 3
    assert {r["residency"] for r in items.json()["results"]} == {
        planted[name].pk for name in ("late_3_days", "late_32_days", "late_just_in_march")
    }
    assert all("********" in r["id_number_masked"] for r in items.json()["results"])
    assert bad.status_code == 404


@pytest.mark.django_db
def test_an_assessor_sees_figures_but_not_the_people_behind_them(planted, cast):
    from wangge.testing.factories import make_user

    assessor = client_for(make_user("assessor", role="assessor", scope="110102"))

    assert assessor.get(reverse("api:data-quality")).status_code == 200
    assert (
        assessor.get(reverse("api:data-quality-flagged", args=["unregistered"])).status_code == 403
    )


def _superuser():
    from wangge.core.models import User

    return User.objects.get_or_create(username="root", defaults={"is_superuser": True})[0]
