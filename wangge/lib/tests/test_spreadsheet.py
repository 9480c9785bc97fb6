import pytest

from wangge.lib.spreadsheet import escape_text, safe_cell, safe_row, unescape_cell

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize("text", [FORMULA, "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_that_could_start_a_formula_gets_an_apostrophe(text):
    assert escape_text(text) == "'" + text
    assert unescape_cell(escape_text(text)) == text


@pytest.mark.parametrize("text", ["", "张三", "110102********1234", "2024-05-01", "a=b", "'"])
def test_other_text_is_left_alone(text):
    assert escape_text(text) == text
    assert unescape_cell(text) == text


def test_numbers_dates_and_booleans_stay_what_they_are():
    assert safe_row([-5, 3.5, True, None, "-5"]) == [-5, 3.5, True, None, "'-5"]
    assert safe_cell(-1.25) == -1.25


def test_an_apostrophe_the_user_typed_before_other_text_is_kept():
    assert unescape_cell("'abc") == "'abc"
    assert unescape_cell("'") == "'"
