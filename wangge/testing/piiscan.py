"""Finding full personal numbers in text: resident ID numbers (18 characters with a valid check
character) and mainland mobile numbers (1[3-9] and nine digits), plus any planted values.

Used by the PII scans of the test suite (logs, database columns, API responses). Findings are
returned masked, so a failing assertion does not print the number it found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wangge.lib.idnumbers import resident_id_check_digit

RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{16})([0-9Xx])(?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")


def mask(value: str) -> str:
    return value[:3] + "…" + value[-2:] if len(value) > 6 else "…"


def variants(value: str) -> list[str]:
    """A planted number as it could show up: as is, lower case, an ID without its check digit."""
    found = {value, value.lower()}
    if len(value) == 18:
        found.add(value[:17])
    return sorted(found)


def find_pii(text: str, *, known: Iterable[str] = ()) -> list[str]:
    """Masked full ID and phone numbers in ``text``: valid-looking ones and planted ones."""
    if not text:
        return []
    findings = [
        "id " + mask(m.group(0))
        for m in RESIDENT_ID.finditer(text)
        if resident_id_check_digit(m.group(1)) == m.group(2).upper()
    ]
    findings += ["phone " + mask(m.group(0)) for m in MOBILE.finditer(text)]
    for value in known:
        if any(v in text for v in variants(value)):
            findings.append("planted " + mask(value))
    return sorted(set(findings))
