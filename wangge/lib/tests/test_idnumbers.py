"""Tests for wangge.lib.idnumbers (framework-free: plain pytest + hypothesis, no Django).

Sources of the vectors:
- GB 11643-1999 appendix: the worked examples 11010519491231002X and 440524188001010014.
- data/idcard_vectors.csv, a copy of /work/shared/demo/idcard_vectors.csv: rows from the standard,
  from python-stdnum's tests/test_cn_ric.doctest (LGPL-2.1) and from jxlwqq/id-validator.py's
  test_validator.py (MIT), with the verdicts of both libraries. Its README's rule: reject format,
  date and check-digit failures, only warn on an unknown area code, accept 81/82/83. Issue 10
  tightened it: six digits that cannot be an area code at all (a province prefix outside GB/T
  2260, such as 99 or 00) are rejected; unknown or retired counties are still accepted.
- Credit codes: python-stdnum tests/test_cn_uscc.doctest (numbers "found online", all valid) and
  stdnum/cn/uscc.py, which gives the GB 32100 weights 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25,
  13, 8, 24, 10, 30, 28 (3**i mod 31) and the value table 0-9, A=10 … Y=30 without I, O, S, V, Z.
"""

import csv
import dataclasses
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wangge.lib.idnumbers import (
    CHINA_TIME,
    CREDIT_ALPHABET,
    KNOWN_ID_PREFIXES,
    REGISTRATION_AUTHORITIES,
    CreditCode,
    IdNumberError,
    ResidentId,
    mask_mobile,
    parse_credit_code,
    parse_mobile,
    parse_resident_id,
)

VECTORS = Path(__file__).parent / "data" / "idcard_vectors.csv"
TODAY = date(2025, 6, 1)
DIGITS = "0123456789"


def id_check(body: str) -> str:
    """MOD 11-2 written the way python-stdnum's cn/ric.py does it, independent of the module:
    int(body, 13) is the sum of digit * 13**k, and 13 = 2 (mod 11)."""
    value = (1 - 2 * int(body, 13)) % 11
    return "X" if value == 10 else str(value)


def with_check(body: str) -> str:
    return body + id_check(body)


# --- resident ID numbers: the shared vectors -----------------------------------------------


def _rows() -> list[dict[str, str]]:
    with VECTORS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _expected_valid(row: dict[str, str]) -> bool:
    if row["id_number"][:2] not in KNOWN_ID_PREFIXES:
        return False
    if row["len"] == "18":
        return row["iso7064_mod11_2_checksum_ok"] == "True" and row["birthdate_ok"] == "True"
    if row["len"] == "15":
        # The CSV leaves the checksum/date columns empty for the old form, which has no check
        # digit; id-validator is the library that reads it, and judges only its date there.
        return row["id_validator_1_0_20_is_valid"] == "True"
    return False


def test_vector_file_is_complete():
    rows = _rows()
    assert len(rows) == 27
    assert {row["len"] for row in rows} == {"18", "15", "14"}


@pytest.mark.parametrize("row", _rows(), ids=lambda row: row["id_number"])
def test_shared_vectors(row):
    text = row["id_number"]
    assert len(text) == int(row["len"])
    if row["len"] == "18":
        # The file's own checksum column agrees with an independent MOD 11-2.
        checksum_ok = id_check(text[:17]) == text[17].upper()
        assert checksum_ok == (row["iso7064_mod11_2_checksum_ok"] == "True")
    if not _expected_valid(row):
        with pytest.raises(ValueError) as caught:
            parse_resident_id(text, today=TODAY)
        message = str(caught.value)
        if row["birthdate_ok"] == "False" or row["len"] == "15":
            assert "is not a date" in message
        elif text[:2] not in KNOWN_ID_PREFIXES:
            assert caught.value.code == "id_area_province"  # type: ignore[attr-defined]
        elif row["iso7064_mod11_2_checksum_ok"] == "False":
            assert message.startswith("check digit should be")
        else:
            assert "must have 18 characters" in message
        assert text not in message  # errors may be logged: never the whole number
        return
    parsed = parse_resident_id(text, today=TODAY)
    assert len(parsed.number) == 18
    assert parsed.number == parsed.number.upper()
    if row["len"] == "18":
        assert parsed.number == text.upper()
    assert parsed.area_code == text[:6]
    assert parsed.sex == ("male" if int(parsed.number[16]) % 2 else "female")
    assert parsed.birth_date.strftime("%Y%m%d") == parsed.number[6:14]
    # Unknown or retired counties (where stdnum and id-validator disagree) are accepted; only the
    # 15-digit upgrade leaves a warning.
    expected_warnings = 0
    if row["len"] == "15":
        expected_warnings += 1
    assert len(parsed.warnings) == expected_warnings, parsed.warnings


# --- resident ID numbers: the standard and the details -------------------------------------


def test_gb_11643_worked_examples():
    beijing = parse_resident_id("11010519491231002X", today=TODAY)
    assert beijing.number == "11010519491231002X"
    assert beijing.birth_date == date(1949, 12, 31)
    assert beijing.sex == "female"
    assert beijing.area_code == "110105"
    assert beijing.warnings == ()
    assert beijing.masked == "110105********002X"

    shantou = parse_resident_id("440524188001010014", today=TODAY)
    assert shantou.birth_date == date(1880, 1, 1)
    assert shantou.sex == "male"
    # 440524 has been abolished; there is no county table, and no warning for a known province.
    assert shantou.warnings == ()


def test_lower_case_x_and_whitespace_are_normalized():
    parsed = parse_resident_id(" \t11010519491231002x\n", today=TODAY)
    assert parsed.number == "11010519491231002X"


def test_result_is_frozen_and_its_repr_hides_the_number():
    parsed = parse_resident_id("11010519491231002X", today=TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.number = "x"  # type: ignore[misc]
    assert "11010519491231002X" not in repr(parsed)
    assert "110105********002X" in repr(parsed)
    assert isinstance(parsed, ResidentId)


def test_fifteen_digit_form_is_upgraded():
    # id-validator's first-generation example: insert "19", compute the check digit.
    parsed = parse_resident_id("610104620927690", today=TODAY)
    assert parsed.number == with_check("61010419620927690")
    assert parsed.number == "610104196209276908"
    assert parsed.birth_date == date(1962, 9, 27)
    assert parsed.sex == "female"
    assert parsed.warnings == ("upgraded from the old 15-digit form",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must have 18 characters (or 15 for the old form), got 0"),
        ("11010519491231002", "must have 18 characters (or 15 for the old form), got 17"),
        ("11010519491231002X1", "must have 18 characters (or 15 for the old form), got 19"),
        ("110105 19491231 002X", "must have 18 characters (or 15 for the old form), got 20"),
        ("11010519491231002Y", "the check character must be a digit or X, not 'Y'"),
        ("1101051949123100XX", "the first 17 characters must be digits"),
        (
            "１１０１０５１９４９１２３１００２Ｘ",
            "the first 17 characters must be digits",
        ),  # full-width
        ("11010549123100X", "the old 15-character form must be all digits"),
        ("110105194913310021", "birth date 19491331 is not a date"),
        ("110105194912310021", "check digit should be X, not 1"),
        ("110105000000000000", "birth date 00000000 is not a date"),
    ],
)
def test_malformed_numbers_are_explained(text, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_resident_id(text, today=TODAY)


def test_check_digit_message_names_the_expected_digit():
    body = "11010219910101007"
    good = with_check(body)
    wrong = "1" if good[-1] != "1" else "2"
    with pytest.raises(ValueError, match=f"^check digit should be {good[-1]}, not {wrong}$"):
        parse_resident_id(body + wrong, today=TODAY)


def test_birth_date_bounds():
    assert parse_resident_id(with_check("11010218500101001"), today=TODAY).birth_date == date(
        1850, 1, 1
    )
    with pytest.raises(ValueError, match="birth date 1849-12-31 is before 1850-01-01"):
        parse_resident_id(with_check("11010218491231001"), today=TODAY)
    born_today = with_check(f"110102{TODAY:%Y%m%d}001")
    assert parse_resident_id(born_today, today=TODAY).birth_date == TODAY
    with pytest.raises(ValueError, match="birth date 2025-06-02 is in the future"):
        parse_resident_id(with_check("11010220250602001"), today=TODAY)


def test_future_is_judged_by_the_clock_in_china_by_default():
    in_two_days = datetime.now(CHINA_TIME).date() + timedelta(days=2)
    with pytest.raises(ValueError, match="in the future"):
        parse_resident_id(with_check(f"110102{in_two_days:%Y%m%d}001"))
    assert parse_resident_id("11010519491231002X").birth_date == date(1949, 12, 31)


@pytest.mark.parametrize(
    ("area", "warning"),
    [
        ("810000", None),  # 香港居民居住证
        ("820000", None),  # 澳门居民居住证
        ("830000", None),  # 台湾居民居住证
        ("710000", None),  # 台湾, a GB/T 2260 province
        ("420502", None),  # 西陵区
        ("440524", None),  # abolished, but the standard's own example
        ("110100", "names a city or province, not a county"),
        ("420000", "names a city or province, not a county"),
    ],
)
def test_county_city_and_permit_area_codes_are_accepted(area, warning):
    parsed = parse_resident_id(with_check(f"{area}19900101002"), today=TODAY)
    assert parsed.area_code == area
    if warning is None:
        assert parsed.warnings == ()
    else:
        assert len(parsed.warnings) == 1
        assert warning in parsed.warnings[0]


@pytest.mark.parametrize(
    ("area", "code"),
    [
        ("000000", "id_area_province"),
        ("990426", "id_area_province"),
        ("010102", "id_area_province"),
        ("840000", "id_area_province"),
        ("110012", "id_area_shape"),
    ],
)
def test_six_digits_that_are_no_area_code_are_rejected(area, code):
    number = with_check(f"{area}19900101002")
    with pytest.raises(IdNumberError) as caught:
        parse_resident_id(number, today=TODAY)
    assert caught.value.code == code
    assert caught.value.params["area"] == area
    assert number not in str(caught.value)
    with pytest.raises(IdNumberError):  # the old 15-digit form too
        parse_resident_id(f"{area}900101002", today=TODAY)


def test_every_error_has_a_code_and_the_params_of_its_message():
    cases = [
        ("11010519491231002", "id_length", {"count": 17}),
        ("1101051949123100AX", "id_digits", {}),
        ("11010519491231002Y", "id_check_character", {"character": "Y"}),
        ("110105194912310021", "id_check_digit", {"expected": "X", "found": "1"}),
        (with_check("11010519491331002"), "birth_not_a_date", {"value": "19491331"}),
    ]
    for text, code, params in cases:
        with pytest.raises(IdNumberError) as caught:
            parse_resident_id(text, today=TODAY)
        assert (caught.value.code, caught.value.params) == (code, params)
    with pytest.raises(IdNumberError) as caught:
        parse_mobile("12812345678")
    assert (caught.value.code, caught.value.params) == ("mobile_second_digit", {"digit": "2"})
    with pytest.raises(IdNumberError) as caught:
        parse_credit_code("91110102MA01ABCD")
    assert (caught.value.code, caught.value.params) == ("credit_length", {"count": 16})


# --- resident ID numbers: properties -------------------------------------------------------

# Six digits that can be an area code: a known province, and no county pair under city 00.
areas = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(KNOWN_ID_PREFIXES)),
    st.text(alphabet=DIGITS, min_size=4, max_size=4),
).filter(lambda area: not (area[2:4] == "00" and area[4:] != "00"))
birth_dates = st.dates(min_value=date(1850, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(area=areas, born=birth_dates, sequence=sequences)
def test_any_valid_number_parses_and_round_trips(area, born, sequence):
    number = with_check(f"{area}{born:%Y%m%d}{sequence:03d}")
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == born
    assert parsed.area_code == area
    assert parsed.sex == ("male" if sequence % 2 else "female")
    assert parsed.masked == number[:6] + "********" + number[14:]
    assert parse_resident_id(f" {number.lower()} ", today=TODAY) == parsed
    assert parse_resident_id(parsed.number, today=TODAY) == parsed


@given(
    area=areas,
    born=birth_dates,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from(DIGITS + "X"),
)
def test_any_single_character_change_is_rejected(area, born, sequence, position, replacement):
    # MOD 11-2 weights are powers of 2 mod 11, never 0, and a digit changes by less than 11, so
    # every single substitution moves the sum off its residue.
    number = with_check(f"{area}{born:%Y%m%d}{sequence:03d}")
    assume(number[position] != replacement)
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(ValueError):
        parse_resident_id(changed, today=TODAY)


@given(
    area=areas,
    born=birth_dates,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=16),
)
def test_any_adjacent_transposition_is_rejected(area, born, sequence, position):
    number = with_check(f"{area}{born:%Y%m%d}{sequence:03d}")
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    with pytest.raises(ValueError):
        parse_resident_id(swapped, today=TODAY)


@given(
    area=areas,
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    sequence=sequences,
)
def test_any_old_number_is_upgraded(area, born, sequence):
    old = f"{area}{born:%y%m%d}{sequence:03d}"
    parsed = parse_resident_id(old, today=TODAY)
    assert parsed.number == with_check(f"{area}{born:%Y%m%d}{sequence:03d}")
    assert parsed.birth_date == born
    assert "upgraded from the old 15-digit form" in parsed.warnings


# --- credit codes ------------------------------------------------------------------------

# A selection from python-stdnum tests/test_cn_uscc.doctest ("found online and should all be valid"),
# covering authorities 1 and 9, types 1 and 2, MA-prefixed and L-prefixed organization codes and
# X at positions 17 and 18. All 155 numbers of that list pass both checks here.
STDNUM_CREDIT_CODES = [
    "121200004013590816",
    "91110000600037341L",
    "91110000710926094P",
    "91120224064012553U",
    "911522010783710635",
    "91152201078371135X",
    "9115220107837757XE",
    "9115220107837941X1",
    "91310115MA1K3BTP2B",
    "9131012056010553X5",
    "91340600MA2PBM9HXD",
    "91340603MA2UJXXCXF",
    "9144030071526726XG",
    "91620105L015101280",
    "91620105MA73NBBLXE",
    "92340602MA2PEL8AXA",
    "92340621MA2PBKRXXG",
    "92340621MA2UK3PJXE",
]


def credit_check(body: str) -> str:
    """GB 32100 check, written out as in python-stdnum's cn/uscc.py."""
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(CREDIT_ALPHABET.index(char) * w for char, w in zip(body, weights, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def org_check(body: str) -> str:
    """GB 11714: C9 = 11 - (sum of Ci * Wi mod 11), 10 -> X, 11 -> 0; A=10 … Z=35."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = [int(char) if char.isdigit() else ord(char) - 55 for char in body]
    c9 = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


@pytest.mark.parametrize("number", STDNUM_CREDIT_CODES)
def test_real_credit_codes_are_valid(number):
    parsed = parse_credit_code(number)
    assert parsed.number == number
    assert parsed.registration_authority == number[0]
    assert parsed.org_type == number[1]
    assert parsed.area_code == number[2:8]
    assert parsed.organization_code == number[8:17]
    assert parsed.warnings == ()
    # The independent checks agree with the vectors.
    assert credit_check(number[:17]) == number[17]
    assert org_check(number[8:16]) == number[16]


def test_credit_code_parts_and_names():
    parsed = parse_credit_code("91110000600037341L")
    assert isinstance(parsed, CreditCode)
    assert parsed.registration_authority_name == "工商"
    assert parsed.org_type_name == "企业"
    assert parse_credit_code("92340602MA2PEL8AXA").org_type_name == "个体工商户"
    public_institution = parse_credit_code("121200004013590816")
    assert public_institution.registration_authority_name == "机构编制"
    assert public_institution.org_type_name == "事业单位"


def test_credit_code_is_normalized():
    # Separators as in stdnum's doctest, lower case as typed by people.
    assert parse_credit_code(" 91 110000 600037341l ").number == "91110000600037341L"
    assert parse_credit_code("91-110000-600037341L").number == "91110000600037341L"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12345", "a credit code must have 18 characters, got 5"),
        ("9111000060003IOZSV", "character 'I' at position 14 is not allowed"),
        ("91110000600037341O", "character 'O' at position 18 is not allowed"),
        ("911100006000373415", "check character should be L, not 5"),
        ("91110000600037341N", "check character should be L, not N"),
        ("A1110000600037341L", "check character should be"),
        ("911A0000600037341L", "characters 3-8 are an area code and must be digits"),
    ],
)
def test_malformed_credit_codes_are_explained(text, message):
    with pytest.raises(ValueError, match="^" + message):
        parse_credit_code(text)


def test_organization_code_check_is_enforced():
    # Replace the organization code's own check (position 17) and repair the final character, so
    # that only GB 11714 can notice.
    good = "91110000600037341L"
    body = good[:16] + "2"
    forged = body + credit_check(body)
    with pytest.raises(ValueError, match="organization code check character .* should be 1, not 2"):
        parse_credit_code(forged)


def test_unknown_authority_type_and_province_only_warn():
    def make(head: str, area: str) -> str:
        org = "MA2PBM9H"
        body = head + area + org + org_check(org)
        return body + credit_check(body)

    assert "authority B" in parse_credit_code(make("B1", "110000")).warnings[0]
    assert "organization type 9 is not known" in parse_credit_code(make("99", "110000")).warnings[0]
    assert "99 is not a province" in parse_credit_code(make("91", "990000")).warnings[0]
    assert parse_credit_code(make("11", "100000")).warnings == ()  # national registration


organization_bodies = st.text(alphabet=CREDIT_ALPHABET, min_size=8, max_size=8)
authority_and_type = st.sampled_from(
    [(a, t) for a, (_, types) in REGISTRATION_AUTHORITIES.items() for t in types]
)


@given(head=authority_and_type, area=areas, org=organization_bodies)
def test_any_generated_credit_code_round_trips(head, area, org):
    body = head[0] + head[1] + area + org + org_check(org)
    number = body + credit_check(body)
    parsed = parse_credit_code(number.lower())
    assert parsed.number == number
    assert parsed.area_code == area
    assert parsed.organization_code == org + org_check(org)


@given(
    number=st.sampled_from(STDNUM_CREDIT_CODES),
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from(CREDIT_ALPHABET),
)
def test_any_single_character_change_of_a_credit_code_is_rejected(number, position, replacement):
    # 31 is prime and no weight is 0 mod 31, so one substituted character always breaks the check.
    assume(number[position] != replacement)
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(ValueError):
        parse_credit_code(changed)


# --- mobile numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        " 13812345678 ",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "008613812345678",
        "0086 138 1234 5678",
        "8613812345678",
        "86 138 1234 5678",
    ],
)
def test_mobile_numbers_are_normalized(text):
    assert parse_mobile(text) == "13812345678"
    assert mask_mobile(text) == "138****5678"


@pytest.mark.parametrize("second", "3456789")
def test_every_allotted_second_digit_is_accepted(second):
    assert parse_mobile(f"1{second}012345678") == f"1{second}012345678"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must have 11 digits, got 0"),
        ("1381234567", "must have 11 digits, got 10"),
        ("138123456789", "must have 11 digits, got 12"),
        ("23812345678", "starts with 1, not 2"),
        ("12812345678", "second digit of a mobile number is 3-9, not 2"),
        ("10812345678", "second digit of a mobile number is 3-9, not 0"),
        ("+85261234567", "only the country code +86"),
        ("+1 415 555 0100", "only the country code +86"),
        ("138.1234.5678", "only digits, spaces, hyphens"),
        ("(+86)13812345678", "only digits, spaces, hyphens"),
        ("１３８１２３４５６７８", "only digits, spaces, hyphens"),  # full-width
        ("010-12345678", "starts with 1, not 0"),  # a Beijing landline
    ],
)
def test_bad_mobile_numbers_are_explained(text, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+").replace("(", r"\(")):
        parse_mobile(text)


def test_mask_mobile_refuses_what_it_cannot_parse():
    with pytest.raises(ValueError):
        mask_mobile("12345")


@given(rest=st.text(alphabet=DIGITS, min_size=9, max_size=9), second=st.sampled_from("3456789"))
def test_any_mobile_number_round_trips(rest, second):
    number = f"1{second}{rest}"
    assert parse_mobile(f"+86 {number[:3]}-{number[3:7]}-{number[7:]}") == number
    assert mask_mobile(number) == f"{number[:3]}****{number[7:]}"
