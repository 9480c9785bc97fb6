"""Rules that need no database: component codes, ethnic groups, care classes, model methods."""

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from wangge.registry import codes, identity
from wangge.registry.care import care_class_for_tags, next_visit_due
from wangge.registry.components import STANDARD_ATTRIBUTES
from wangge.registry.ethnicities import ETHNIC_GROUPS, normalize_ethnicity
from wangge.registry.models import CareClass, Person, Residency, Tag

STANDARDS = Path(__file__).resolve().parents[4] / "shared" / "standards"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0100", "has 5 digits, got 4"),
        ("00001", "big class (digits 1-2) must not be 00"),
        ("01000", "small class (digits 3-5) must not be 000"),
        ("01a01", "only the digits"),
    ],
)
def test_a_bad_class_code_names_its_fault(text, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        codes.parse_class_code(text)


def test_a_local_big_class_is_a_warning():
    assert codes.parse_class_code("01001").warnings == ()
    assert codes.parse_class_code("07001").warnings


def test_a_component_id_is_six_admin_two_big_three_small_six_serial():
    parsed = codes.parse_component_id("11010201001000123")

    assert (parsed.admin_code, parsed.class_code, parsed.serial) == ("110102", "01001", "000123")
    assert codes.component_id("110102", "02015", 7) == "11010202015000007"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1101020100100012", "has 17 digits, got 16"),
        ("99010201001000123", "not a province"),
        ("11010201000000123", "digits 7-11: the small class"),
        ("11010201001000000", "serial number"),
    ],
)
def test_a_bad_component_id_names_its_fault(text, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        codes.parse_component_id(text)


def test_ethnic_groups_are_the_56_of_gbt_3304_plus_two():
    assert len(ETHNIC_GROUPS) == 58
    assert normalize_ethnicity("01") == "汉族"
    assert normalize_ethnicity("维吾尔") == "维吾尔族"
    assert normalize_ethnicity(" 回族 ") == "回族"
    assert normalize_ethnicity("") == ""
    with pytest.raises(ValueError):
        normalize_ethnicity("火星族")


def _classes():
    return [
        CareClass(code="key", level=1, visit_interval_days=7),
        CareClass(code="attention", level=2, visit_interval_days=15),
        CareClass(code="routine", level=4, visit_interval_days=90),
    ]


def test_the_most_demanding_tag_decides_the_care_class():
    key, attention, routine = _classes()
    tags = [Tag(code="disabled", care_class=attention), Tag(code="lonely", care_class=key)]

    assert care_class_for_tags(tags, _classes()).code == "key"
    assert care_class_for_tags([], _classes()).code == "routine"
    inactive = Tag(code="old", care_class=key, active=False)
    assert care_class_for_tags([inactive], _classes()).code == "routine"
    assert next_visit_due(date(2026, 3, 1), attention, date(2026, 3, 5)) == date(2026, 3, 16)
    assert next_visit_due(None, attention, date(2026, 3, 5)) == date(2026, 3, 5)
    assert routine.level == 4


def test_age_is_counted_in_completed_years():
    person = Person(birth_date=date(2000, 2, 29))

    assert person.age_on(date(2026, 2, 28)) == 25
    assert person.age_on(date(2026, 3, 1)) == 26
    assert Person().age_on(date(2026, 1, 1)) is None


def test_a_permit_is_valid_through_its_last_day():
    residency = Residency(permit_status="issued", permit_expires_on=date(2026, 3, 31))

    assert residency.permit_valid_on(date(2026, 3, 31))
    assert not residency.permit_valid_on(date(2026, 4, 1))
    assert not Residency(permit_status="applied").permit_valid_on(date(2026, 1, 1))


def test_phone_numbers_are_mobiles_or_landlines_with_area_code():
    assert identity.normalize_phone_number("+86 138-1234-5678") == "13812345678"
    assert identity.normalize_phone_number("010-8888 1234") == "01088881234"
    with pytest.raises(ValueError, match="11 digits"):
        identity.normalize_phone_number("12345")


def test_person_details_do_not_show_the_numbers_in_tracebacks():
    from wangge.registry.lifecycle import PersonDetails

    text = repr(
        PersonDetails(name="张三", residency_type="registered", id_number="11010519491231002X")
    )

    assert "1101" not in text


@pytest.mark.skipif(not STANDARDS.exists(), reason="needs ../shared/standards")
def test_the_standard_attributes_match_the_transcribed_table():
    with (STANDARDS / "attributes_gbt47678_5.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "管理部件"]

    assert [(a.abbr, a.requirement) for a in STANDARD_ATTRIBUTES] == [
        (r["abbr"], r["requirement_MCO"]) for r in rows
    ]
