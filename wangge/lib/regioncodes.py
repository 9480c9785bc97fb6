"""Structure of Chinese administrative and grid codes.

- 区/县 district: 6 digits, GB/T 2260 (2 province + 2 city + 2 county; the county pair is not 00).
- 街道/乡镇 street: district + 3 digits, GB/T 10114: 001–099 街道, 100–199 镇, 200–399 乡
  (incl. 民族乡), 400–599 乡级单位 the statistics office numbers that way (开发区, 农场 …).
- 社区/村 community: street + 3 digits, 001–999.
- 网格 grid: community + 3-digit sequence 001–999 = the 15-digit unit grid code (单元网格标识码),
  numbered west→east, north→south inside the community (DB11/T 2157-2023).
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


CODE_LENGTH: dict[Level, int] = {
    Level.DISTRICT: 6,
    Level.STREET: 9,
    Level.COMMUNITY: 12,
    Level.GRID: 15,
}
PARENT_LEVEL: dict[Level, Level | None] = {
    Level.DISTRICT: None,
    Level.STREET: Level.DISTRICT,
    Level.COMMUNITY: Level.STREET,
    Level.GRID: Level.COMMUNITY,
}

# GB/T 2260 province-level prefixes (including 71 台湾, 81 香港, 82 澳门).
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82".split()
)


def parse_level(text: str) -> Level:
    try:
        return Level(text)
    except ValueError:
        allowed = ", ".join(level.value for level in Level)
        raise ValueError(f"unknown level {text!r}; expected one of {allowed}") from None


def level_of_code(code: str) -> Level | None:
    """The level a code's length implies, or None for a length no level has."""
    for level, length in CODE_LENGTH.items():
        if len(code) == length:
            return level
    return None


def street_kind(code: str) -> str:
    """街道, 镇, 乡 or 乡级单位, from the three street digits (GB/T 10114)."""
    number = int(code[6:9])
    if number < 100:
        return "街道"
    if number < 200:
        return "镇"
    if number < 400:
        return "乡"
    return "乡级单位"


def code_problems(code: str, level: Level) -> list[str]:
    """Every way ``code`` breaks the structure of a ``level`` code; empty when it is well-formed."""
    expected = CODE_LENGTH[level]
    if not code.isascii() or not code.isdigit():
        return [f"code {code!r} must contain only the digits 0-9"]
    if len(code) != expected:
        return [f"a {level} code has {expected} digits, {code!r} has {len(code)}"]
    problems: list[str] = []
    if code[:2] not in PROVINCE_PREFIXES:
        problems.append(f"{code[:2]!r} is not a province code of GB/T 2260")
    if code[4:6] == "00":
        problems.append("the county digits (5-6) of a district code cannot be 00")
    if level is Level.DISTRICT:
        return problems
    street = int(code[6:9])
    if not 1 <= street <= 599:
        problems.append(f"street digits {code[6:9]!r} are outside 001-599 (GB/T 10114)")
    if level is Level.STREET:
        return problems
    if code[9:12] == "000":
        problems.append("community digits (10-12) cannot be 000")
    if level is Level.GRID and code[12:15] == "000":
        problems.append("grid sequence digits (13-15) cannot be 000")
    return problems


def parent_problems(code: str, level: Level, parent_code: str | None) -> list[str]:
    """Problems with how ``code`` hangs under ``parent_code``."""
    parent_level = PARENT_LEVEL[level]
    if parent_level is None:
        return [f"a district has no parent, got {parent_code!r}"] if parent_code else []
    if not parent_code:
        return [f"a {level} needs a parent_code (its {parent_level})"]
    if len(parent_code) != CODE_LENGTH[parent_level]:
        return [
            f"the parent of a {level} is a {parent_level} with a {CODE_LENGTH[parent_level]}"
            f"-digit code, got {parent_code!r}"
        ]
    if not code.startswith(parent_code):
        return [f"code {code} does not start with its parent's code {parent_code}"]
    return []
