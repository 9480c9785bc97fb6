"""Parsing and checking of Chinese identification numbers: ID cards, credit codes, mobile numbers.

- 公民身份号码 (resident ID number), GB 11643-1999: 6-digit area code (GB/T 2260) + 8-digit birth
  date YYYYMMDD + 3-digit sequence (odd for men, even for women) + an ISO 7064 MOD 11-2 check
  character (0-9 or X). The first-generation 15-digit form (6 + YYMMDD + 3, no check character) is
  upgraded to 18 characters by putting "19" before the year and computing the check character.
  港澳台居民居住证 use the same layout with the area codes 810000, 820000 and 830000.
- 统一社会信用代码 (unified social credit code), GB 32100-2015: registration authority (1 char),
  organization type (1), area code of the registering office (6 digits), organization code (9, per
  GB 11714, whose last character is its own MOD 11 check) and a MOD 31 check character, all from
  the alphabet 0-9 and A-Z without I, O, S, V, Z.
- Mainland mobile numbers: 11 digits 1[3-9]xxxxxxxxx, optionally written with +86 and separators.

Format, date, check-character and area-code faults are rejected with an ``IdNumberError`` (a
``ValueError``): a stable ``code`` naming the rule and ``params`` for its message, so the faces
show it in the user's language (``core.idmessages``); ``str()`` is an English sentence for logs
and tests. The messages never repeat the whole number, since they may end up in logs.

Area codes: there is no national table of county codes here, and codes are retired and re-used as
counties merge (the standard's own example 440524 no longer exists), so a resident ID number is
rejected only when its first six digits cannot be an area code at all: a province prefix outside
GB/T 2260 and the permits' 81/82/83 (``000000``, ``99…``), or a county pair under a city pair of
00 (``110012``: no code has that shape). An area code that names a city or province rather than a
county is a warning on the result.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from wangge.lib.regioncodes import PROVINCE_PREFIXES

# Residence permits for residents of Hong Kong (81), Macao (82) and Taiwan (83); 83 is not a
# GB/T 2260 province (Taiwan is 71), but the permits use 830000 as their area code.
PERMIT_PREFIXES = frozenset({"81", "82", "83"})
KNOWN_ID_PREFIXES = PROVINCE_PREFIXES | PERMIT_PREFIXES
# Numbers for Taiwan, Hong Kong and Macao carry a province-level area code (710000, 810000 …).
PROVINCE_LEVEL_ONLY = PERMIT_PREFIXES | {"71"}

# Identity numbers exist since 1984 and nobody has been shown to live past 122, so no holder can be
# born before about 1862; 1850 leaves a margin and admits the standard's own example (1880).
EARLIEST_BIRTH_DATE = date(1850, 1, 1)

# China has kept UTC+8 all year since 1991; a birth date "in the future" is judged by that clock.
CHINA_TIME = timezone(timedelta(hours=8), "CST")

Sex = Literal["male", "female"]


class IdNumberError(ValueError):
    """A number that fails a check. ``code`` names the rule (stable: the faces map it to a
    translated message), ``params`` fill that message; ``str()`` is the English sentence."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


_DIGITS = frozenset("0123456789")
_SEPARATORS = re.compile(r"[\s-]")
# MOD 11-2: position i (0-based, of 17) weighs 2**(17 - i) mod 11, i.e. 7, 9, 10, 5, 8 … 4, 2.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))


@dataclass(frozen=True, slots=True, repr=False)
class ResidentId:
    """A checked 公民身份号码; ``number`` is always the 18-character form with an upper-case X."""

    number: str
    birth_date: date
    sex: Sex
    area_code: str
    warnings: tuple[str, ...] = ()

    @property
    def masked(self) -> str:
        """The number with its eight birth-date digits hidden: 110102********123X."""
        return f"{self.number[:6]}{'*' * 8}{self.number[-4:]}"

    def __repr__(self) -> str:
        # Keep the full number out of logs and tracebacks.
        return (
            f"ResidentId(masked={self.masked!r}, sex={self.sex!r}, area_code={self.area_code!r}, "
            f"warnings={self.warnings!r})"
        )


def resident_id_check_digit(body: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of a 17-digit body."""
    if len(body) != 17 or not _DIGITS.issuperset(body):
        raise IdNumberError(
            "id_body",
            f"the body of an ID number is 17 digits, got {len(body)} characters",
            count=len(body),
        )
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Check and normalize a resident ID number (18 characters, or 15 for the first generation).

    ``today`` is the latest birth date allowed; it defaults to the current date in China.
    """
    number = text.strip().upper()
    warnings: list[str] = []
    if len(number) == 15:
        if not _DIGITS.issuperset(number):
            raise IdNumberError("id_old_digits", "the old 15-character form must be all digits 0-9")
        born = check_birth_date("19" + number[6:12], today=today)
        body = f"{number[:6]}19{number[6:]}"
        number = body + resident_id_check_digit(body)
        warnings.append("upgraded from the old 15-digit form")
    elif len(number) == 18:
        if not _DIGITS.issuperset(number[:17]):
            raise IdNumberError("id_digits", "the first 17 characters must be digits 0-9")
        if number[17] not in _DIGITS and number[17] != "X":
            raise IdNumberError(
                "id_check_character",
                f"the check character must be a digit or X, not {number[17]!r}",
                character=number[17],
            )
        # The date first: when it is wrong, it says where the typo is; the check digit cannot.
        born = check_birth_date(number[6:14], today=today)
        expected = resident_id_check_digit(number[:17])
        if number[17] != expected:
            raise IdNumberError(
                "id_check_digit",
                f"check digit should be {expected}, not {number[17]}",
                expected=expected,
                found=number[17],
            )
    else:
        raise IdNumberError(
            "id_length",
            f"must have 18 characters (or 15 for the old form), got {len(number)}",
            count=len(number),
        )
    area_code = number[:6]
    check_area_code(area_code)
    warnings.extend(_area_warnings(area_code))
    return ResidentId(
        number=number,
        birth_date=born,
        sex="male" if int(number[16]) % 2 else "female",
        area_code=area_code,
        warnings=tuple(warnings),
    )


def check_birth_date(yyyymmdd: str, *, today: date | None = None) -> date:
    """The date of an 8-digit YYYYMMDD birth date code, if it is a day from 1850 up to ``today``."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise IdNumberError(
            "birth_not_a_date", f"birth date {yyyymmdd} is not a date", value=yyyymmdd
        ) from None
    latest = today if today is not None else datetime.now(CHINA_TIME).date()
    if born > latest:
        raise IdNumberError(
            "birth_in_future",
            f"birth date {born.isoformat()} is in the future",
            date=born.isoformat(),
        )
    if born < EARLIEST_BIRTH_DATE:
        raise IdNumberError(
            "birth_too_early",
            f"birth date {born.isoformat()} is before {EARLIEST_BIRTH_DATE.isoformat()}",
            date=born.isoformat(),
            earliest=EARLIEST_BIRTH_DATE.isoformat(),
        )
    return born


def check_area_code(area_code: str) -> None:
    """Reject six digits that cannot be a GB/T 2260 area code (or a permit's 81/82/83 0000)."""
    prefix = area_code[:2]
    if prefix not in KNOWN_ID_PREFIXES:
        raise IdNumberError(
            "id_area_province",
            f"area code {area_code}: {prefix} is not a province code of GB/T 2260",
            area=area_code,
            province=prefix,
        )
    if area_code[2:4] == "00" and area_code[4:] != "00":
        raise IdNumberError(
            "id_area_shape",
            f"area code {area_code} is not a code of GB/T 2260 (county digits under city 00)",
            area=area_code,
        )


def _area_warnings(area_code: str) -> list[str]:
    prefix = area_code[:2]
    if prefix not in PROVINCE_LEVEL_ONLY and area_code[4:] == "00":
        return [f"area code {area_code} names a city or province, not a county"]
    return []


# ---------------------------------------------------------------------------------------------
# 统一社会信用代码, GB 32100-2015

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUES = {char: value for value, char in enumerate(CREDIT_ALPHABET)}
# 3**i mod 31, left to right.
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# GB 11714 counts A=10 … Z=35 over the whole Latin alphabet, unlike the GB 32100 values above.
_ORG_VALUES = {char: value for value, char in enumerate(string.digits + string.ascii_uppercase)}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authorities (登记管理部门) and their organization types (机构类别): GB 32100-2015
# defines 1, 5, 9 and Y; the others were allotted later by the code's administrators. A character
# missing here is a warning, not an error, as further authorities may be allotted.
REGISTRATION_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直管群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常住新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻代表机构", "9": "其他"},
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {"1": "其他"}),
}


@dataclass(frozen=True, slots=True)
class CreditCode:
    """A checked 统一社会信用代码 (upper-case, without separators)."""

    number: str
    registration_authority: str
    org_type: str
    area_code: str
    warnings: tuple[str, ...] = ()

    @property
    def organization_code(self) -> str:
        """Characters 9-17, the GB 11714 organization code (主体标识码)."""
        return self.number[8:17]

    @property
    def registration_authority_name(self) -> str | None:
        entry = REGISTRATION_AUTHORITIES.get(self.registration_authority)
        return entry[0] if entry else None

    @property
    def org_type_name(self) -> str | None:
        entry = REGISTRATION_AUTHORITIES.get(self.registration_authority)
        return entry[1].get(self.org_type) if entry else None


def credit_code_check_character(body: str) -> str:
    """The GB 32100 check character (MOD 31) of the first 17 characters."""
    if len(body) != 17 or not set(body) <= _CREDIT_VALUES.keys():
        raise IdNumberError(
            "credit_body", "the body of a credit code is 17 characters of the credit code alphabet"
        )
    values = (_CREDIT_VALUES[char] for char in body)
    total = sum(value * weight for value, weight in zip(values, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[-total % 31]


def organization_code_check_character(body: str) -> str:
    """The GB 11714 check character (MOD 11) of the 8-character organization code body."""
    if len(body) != 8 or not set(body) <= _ORG_VALUES.keys():
        raise IdNumberError(
            "organization_body", "the body of an organization code is 8 characters 0-9 or A-Z"
        )
    values = (_ORG_VALUES[char] for char in body)
    total = sum(value * weight for value, weight in zip(values, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def parse_credit_code(text: str) -> CreditCode:
    """Check and normalize a unified social credit code; spaces and hyphens are ignored."""
    number = _SEPARATORS.sub("", text).upper()
    if len(number) != 18:
        raise IdNumberError(
            "credit_length",
            f"a credit code must have 18 characters, got {len(number)}",
            count=len(number),
        )
    for position, char in enumerate(number, start=1):
        if char not in _CREDIT_VALUES:
            raise IdNumberError(
                "credit_character",
                f"character {char!r} at position {position} is not allowed "
                "(0-9 and A-Z without I, O, S, V, Z)",
                character=char,
                position=position,
            )
    area_code = number[2:8]
    if not _DIGITS.issuperset(area_code):
        raise IdNumberError(
            "credit_area",
            f"characters 3-8 are an area code and must be digits, got {area_code}",
            area=area_code,
        )
    expected = credit_code_check_character(number[:17])
    if number[17] != expected:
        raise IdNumberError(
            "credit_check",
            f"check character should be {expected}, not {number[17]}",
            expected=expected,
            found=number[17],
        )
    # Only reached when the MOD 31 check agrees, which a single typo never achieves.
    org_expected = organization_code_check_character(number[8:16])
    if number[16] != org_expected:
        raise IdNumberError(
            "credit_organization_check",
            f"organization code check character (position 17) should be {org_expected}, "
            f"not {number[16]}",
            expected=org_expected,
            found=number[16],
        )
    authority, org_type = number[0], number[1]
    warnings: list[str] = []
    entry = REGISTRATION_AUTHORITIES.get(authority)
    if entry is None:
        warnings.append(f"registration authority {authority} is not a known one")
    elif org_type not in entry[1]:
        warnings.append(f"organization type {org_type} is not known under authority {authority}")
    # 100000 is the code of the whole country, used by national registration offices.
    if area_code != "100000" and area_code[:2] not in PROVINCE_PREFIXES:
        warnings.append(f"area code {area_code}: {area_code[:2]} is not a province code")
    return CreditCode(
        number=number,
        registration_authority=authority,
        org_type=org_type,
        area_code=area_code,
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------------------------
# Mobile numbers


def parse_mobile(text: str) -> str:
    """The 11-digit number of a mainland mobile number written with an optional +86/0086/86."""
    number = _SEPARATORS.sub("", text)
    if number.startswith("+"):
        if not number.startswith("+86"):
            raise IdNumberError("mobile_country", "only the country code +86 is accepted")
        number = number[3:]
    elif number.startswith("0086"):
        number = number[4:]
    elif number.startswith("86") and len(number) == 13:
        number = number[2:]
    if not _DIGITS.issuperset(number):
        raise IdNumberError(
            "mobile_characters",
            "a mobile number may contain only digits, spaces, hyphens and a +86 prefix",
        )
    if len(number) != 11:
        raise IdNumberError(
            "mobile_length",
            f"a mobile number must have 11 digits, got {len(number)}",
            count=len(number),
        )
    if number[0] != "1":
        raise IdNumberError(
            "mobile_first_digit", f"a mobile number starts with 1, not {number[0]}", digit=number[0]
        )
    if number[1] not in "3456789":
        raise IdNumberError(
            "mobile_second_digit",
            f"the second digit of a mobile number is 3-9, not {number[1]}",
            digit=number[1],
        )
    return number


def mask_mobile(text: str) -> str:
    """The mobile number with the middle four digits hidden: 138****5678."""
    number = parse_mobile(text)
    return f"{number[:3]}****{number[7:]}"
