"""Codes of city components (城市部件), GB/T 47678.5-2026. Framework-free.

- Class code (管理部件分类代码): 5 digits, 2 for the big class (大类: 01 市政公用设施, 02 交通设施,
  03 市容环卫设施, 04 园林绿化设施, 05 其他管理部件) and 3 for the small class (小类), e.g. 01001 供水井盖.
  Component and matter classes are numbered separately, so a class code names a component class only
  together with the kind "component"; the registry stores the code as text and does not refer to the
  case taxonomy (``cases.Category``), which sits above it in the layers.
- Component id (管理部件标识码 GLBJBSM): 17 digits = 6 administrative code (GB/T 2260, the county) +
  the 5-digit class code + a 6-digit serial number within county and class, e.g.
  110102 01 001 000123.

Big classes outside 01–05 are accepted with a warning: cities add local classes, and the older
GB/T 30428.2 used 06 and 07.
"""

from __future__ import annotations

from dataclasses import dataclass

from wangge.lib.regioncodes import PROVINCE_PREFIXES

STANDARD_BIG_CLASSES = {
    "01": "市政公用设施",
    "02": "交通设施",
    "03": "市容环卫设施",
    "04": "园林绿化设施",
    "05": "其他管理部件",
}

CLASS_CODE_LENGTH = 5
COMPONENT_ID_LENGTH = 17


@dataclass(frozen=True, slots=True)
class ComponentClassCode:
    code: str
    big_class: str
    small_class: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ComponentId:
    number: str
    admin_code: str
    class_code: str
    serial: str
    warnings: tuple[str, ...] = ()


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_class_code(text: str) -> ComponentClassCode:
    """Check a 5-digit component class code; ``ValueError`` names what is wrong."""
    code = text.strip()
    if not _digits(code):
        raise ValueError("a component class code contains only the digits 0-9")
    if len(code) != CLASS_CODE_LENGTH:
        raise ValueError(f"a component class code has 5 digits, got {len(code)}")
    big, small = code[:2], code[2:]
    if big == "00":
        raise ValueError("the big class (digits 1-2) must not be 00")
    if small == "000":
        raise ValueError("the small class (digits 3-5) must not be 000")
    warnings = ()
    if big not in STANDARD_BIG_CLASSES:
        warnings = (f"big class {big} is not one of GB/T 47678.5 (01-05): a local class?",)
    return ComponentClassCode(code=code, big_class=big, small_class=small, warnings=warnings)


def parse_component_id(text: str) -> ComponentId:
    """Check a 17-digit component id (6 admin + 2 big + 3 small + 6 serial)."""
    number = text.strip()
    if not _digits(number):
        raise ValueError("a component id contains only the digits 0-9")
    if len(number) != COMPONENT_ID_LENGTH:
        raise ValueError(f"a component id has 17 digits, got {len(number)}")
    admin_code, class_part, serial = number[:6], number[6:11], number[11:]
    if admin_code[:2] not in PROVINCE_PREFIXES:
        raise ValueError(
            f"digits 1-6 are an administrative code; {admin_code[:2]} is not a province of GB/T 2260"
        )
    try:
        class_code = parse_class_code(class_part)
    except ValueError as exc:
        raise ValueError(f"digits 7-11: {exc}") from None
    if serial == "000000":
        raise ValueError("the serial number (digits 12-17) must not be 000000")
    return ComponentId(
        number=number,
        admin_code=admin_code,
        class_code=class_code.code,
        serial=serial,
        warnings=class_code.warnings,
    )


def component_id(admin_code: str, class_code: str, serial: int) -> str:
    """Compose a component id; the serial is numbered per county and class from 1."""
    if not 1 <= serial <= 999_999:
        raise ValueError("the serial number runs from 1 to 999999")
    return parse_component_id(f"{admin_code}{class_code}{serial:06d}").number
