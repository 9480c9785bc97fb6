import pytest

from wangge.lib.regioncodes import (
    Level,
    code_problems,
    level_of_code,
    parent_problems,
    street_kind,
)


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("110102", Level.DISTRICT),
        ("420502", Level.DISTRICT),
        ("110102001", Level.STREET),
        ("110102120", Level.STREET),
        ("110102001004", Level.COMMUNITY),
        ("110102001004001", Level.GRID),
        ("810101", Level.DISTRICT),
    ],
)
def test_well_formed_codes_have_no_problems(code, level):
    assert code_problems(code, level) == []


@pytest.mark.parametrize(
    ("code", "level", "fragment"),
    [
        ("11010", Level.DISTRICT, "6 digits"),
        ("1101020", Level.DISTRICT, "6 digits"),
        ("11010A", Level.DISTRICT, "only the digits"),
        ("１１０１０２", Level.DISTRICT, "only the digits"),  # full-width digits
        ("990102", Level.DISTRICT, "province"),
        ("110100", Level.DISTRICT, "cannot be 00"),
        ("110102000", Level.STREET, "outside 001-599"),
        ("110102600", Level.STREET, "outside 001-599"),
        ("110102001000", Level.COMMUNITY, "cannot be 000"),
        ("110102001004000", Level.GRID, "cannot be 000"),
        ("11010200100400", Level.GRID, "15 digits"),
    ],
)
def test_malformed_codes_are_explained(code, level, fragment):
    problems = code_problems(code, level)
    assert problems and any(fragment in p for p in problems), problems


def test_parents_must_be_prefixes_of_the_right_length():
    assert parent_problems("110102001", Level.STREET, "110102") == []
    assert parent_problems("110102", Level.DISTRICT, None) == []
    assert "no parent" in parent_problems("110102", Level.DISTRICT, "11")[0]
    assert "needs a parent" in parent_problems("110102001", Level.STREET, None)[0]
    assert "does not start" in parent_problems("110102001", Level.STREET, "110105")[0]
    assert "6-digit" in parent_problems("110102001", Level.STREET, "110102001")[0]
    assert "does not start" in parent_problems("110102001004001", Level.GRID, "110102001005")[0]


def test_street_kinds_follow_gb_t_10114():
    assert street_kind("110102001") == "街道"
    assert street_kind("110102099") == "街道"
    assert street_kind("110102100") == "镇"
    assert street_kind("110102200") == "乡"
    assert street_kind("110102399") == "乡"
    assert street_kind("110102400") == "乡级单位"


def test_level_follows_from_length():
    assert level_of_code("110102") is Level.DISTRICT
    assert level_of_code("110102001004001") is Level.GRID
    assert level_of_code("1101") is None
