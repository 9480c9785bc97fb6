"""The synthetic demo population (``small``, on the test district): counts, valid numbers, the
floating share, everything inside its grid, sealed columns never in clear, idempotent."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest
import shapely
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from wangge.core import pii
from wangge.demo.population import LOADED_MODELS, SIZES, generate_population
from wangge.lib.idnumbers import parse_credit_code, parse_resident_id
from wangge.regions.models import Grid
from wangge.registry import codes
from wangge.registry.ethnicities import normalize_ethnicity
from wangge.registry.models import (
    Building,
    Component,
    House,
    Household,
    Organization,
    Person,
    PersonEvent,
    Residency,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


@pytest.fixture
def population(territory):
    started = time.monotonic()
    report = generate_population("110102", size="small", today=TODAY, workers=1)
    report.elapsed = time.monotonic() - started
    return report


def test_the_small_population_has_a_few_hundred_people_in_households_and_houses(population):
    assert population.people == SIZES["small"].people == Person.objects.count()
    assert population.elapsed < 30  # about 1 s on an idle machine; a regression shows here
    assert Household.objects.count() == population.households > 100
    assert House.objects.count() >= Household.objects.count()  # some are empty
    assert Building.objects.count() == population.buildings > 0
    assert Organization.objects.count() == population.organizations > 0
    assert Component.objects.count() == population.components > 0
    # Everyone lives somewhere, in a household of that house.
    current = Residency.objects.filter(moved_out_on__isnull=True, deregistered_at__isnull=True)
    assert current.values("person").distinct().count() == population.people
    assert not current.filter(household__isnull=True).exists()
    assert not current.exclude(household__house=F("house")).exists()
    # Every household has its head among its members and a care class.
    for household in Household.objects.select_related("head"):
        assert household.head_id is not None and household.care_class_id is not None
        assert current.filter(household=household, person=household.head_id).exists()


def test_id_numbers_are_valid_and_agree_with_birth_date_and_sex(population):
    numbers = set()
    for person in Person.objects.all():
        number = pii.decrypt(person.id_number_encrypted, purpose=pii.PURPOSE_RESIDENT_ID)
        parsed = parse_resident_id(number, today=TODAY)
        assert parsed.warnings == ()  # a real county code, a plausible date
        assert parsed.birth_date == person.birth_date and parsed.sex == person.sex
        assert person.id_number_suffix == number[-4:]
        assert person.id_number_masked == pii.mask_resident_id(number)
        assert person.id_number_hash == pii.lookup_hash(number, purpose=pii.PURPOSE_RESIDENT_ID)
        assert normalize_ethnicity(person.ethnicity) == person.ethnicity
        numbers.add(number)
    assert len(numbers) == population.people
    for organization in Organization.objects.exclude(credit_code=""):
        parse_credit_code(organization.credit_code)  # raises on a bad check character


def test_about_fifteen_percent_are_floating_and_they_rent(population):
    kinds = Counter(Person.objects.values_list("residency_type", flat=True))
    assert abs(kinds["floating"] / population.people - 0.15) < 0.01
    assert kinds["registered"] > kinds["resident"] > 0
    floating_homes = Residency.objects.filter(
        person__residency_type="floating", deregistered_at__isnull=True
    )
    assert not floating_homes.filter(house__rented=False).exists()
    assert set(floating_homes.values_list("relation", flat=True)) <= {"tenant", "family"}
    relations = Counter(Residency.objects.values_list("relation", flat=True))
    assert relations["owner"] > 0 and relations["tenant"] > 0


def test_everything_is_inside_its_grid(population):
    grids = {g.code: g for g in Grid.objects.filter(layer_id="social")}
    for building in Building.objects.all():
        grid = grids[building.region_code]
        assert grid.pk == building.grid_id
        assert grid.boundary.covers(shapely.Point(building.lng, building.lat))
    for organization in Organization.objects.all():
        assert grids[organization.region_code].boundary.covers(
            shapely.Point(organization.lng, organization.lat)
        )
    for house in House.objects.select_related("building"):
        assert house.region_code == house.building.region_code
    for person in Person.objects.all():
        assert person.region_code in grids
    for component in Component.objects.select_related("grid"):
        point = shapely.Point(component.lng, component.lat)
        assert component.grid.layer_id == "unit" and component.grid.boundary.covers(point)
        assert grids[component.region_code].boundary.covers(point)
        assert codes.parse_component_id(component.component_id).class_code == component.class_code


def test_history_and_tags_are_there(population):
    registered = PersonEvent.objects.filter(action="registered")
    assert registered.values("person").distinct().count() == population.people
    moved = PersonEvent.objects.filter(action="moved_in").values_list("person", flat=True)
    assert set(moved) <= set(
        Residency.objects.filter(deregistered_at__isnull=False).values_list("person", flat=True)
    )
    assert Person.objects.filter(tags__isnull=False).exists()
    lonely = Person.objects.filter(tags__code="lonely_elderly")
    for person in lonely:
        assert person.age_on(TODAY) >= 60


def test_sealed_columns_never_hold_the_numbers_in_clear(population):
    people = list(Person.objects.all())
    numbers = [
        pii.decrypt(p.id_number_encrypted, purpose=pii.PURPOSE_RESIDENT_ID) for p in people
    ] + [pii.decrypt(p.phone_encrypted, purpose=pii.PURPOSE_PHONE) for p in people if p.phone_hash]
    tables = [
        Person._meta.db_table,
        Residency._meta.db_table,
        PersonEvent._meta.db_table,
        Organization._meta.db_table,
        Household._meta.db_table,
    ]
    dump = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump.extend(str(value) for row in cursor.fetchall() for value in row)
    text = "\n".join(dump)
    assert numbers and not [number for number in numbers if number in text]


def test_a_second_run_adds_nothing(population):
    before = (Person.objects.count(), Building.objects.count(), Component.objects.count())
    again = generate_population("110102", size="small", today=TODAY, workers=1)
    assert again.streets == 0 and again.skipped_streets == 2
    assert (Person.objects.count(), Building.objects.count(), Component.objects.count()) == before


def test_demo_data_takes_the_population_flag(territory, capsys):
    call_command("demo_data", "--district", "110102", "--no-cases", "--population", "small")
    assert "Population: 300 people" in capsys.readouterr().out
    call_command("demo_data", "--district", "110102", "--no-cases", "--population", "small")
    assert "populated already" in capsys.readouterr().out
    assert Person.objects.count() == 300


def _schema_of_loaded_tables() -> set[tuple[str, str]]:
    tables = [model._meta.db_table for model in LOADED_MODELS]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) "
            "UNION SELECT indrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[])",
            [tables, tables],
        )
        return set(cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk load is PostgreSQL's")
def test_the_bulk_load_puts_back_every_index_constraint_and_foreign_key(territory):
    before = _schema_of_loaded_tables()
    assert len(before) > 60  # indexes, checks, unique constraints, foreign keys
    report = generate_population("110102", size="small", today=TODAY, workers=1, bulk=True)
    assert _schema_of_loaded_tables() == before
    assert report.people == Person.objects.count() == 300
    current = Residency.objects.filter(moved_out_on__isnull=True, deregistered_at__isnull=True)
    assert current.values("person").distinct().count() == 300
    assert not current.exclude(household__house=F("house")).exists()
    # Not empty any more: a second bulk run writes nothing, the next size keeps the indexes.
    assert generate_population("110102", size="small", today=TODAY, bulk=True).streets == 0
