"""Turning typed ID, phone and residence-permit numbers into what the registry stores.

Each function checks and normalizes its input and returns the sealed columns (``pii.SealedPii``)
plus what may be kept readable: the last four characters when the mask shows them anyway, and for a
resident ID the birth date and sex it encodes. A bad value raises ``ValueError`` naming the reason
(never repeating the number). Writes and searches normalize the same way, so equal numbers get
equal lookup hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from wangge.core import pii
from wangge.lib.idnumbers import IdNumberError, parse_mobile, parse_resident_id

PURPOSE_RESIDENCE_PERMIT = "residence_permit"

_DOCUMENT_RE = re.compile(r"[0-9A-Z]{5,32}")


@dataclass(frozen=True, slots=True)
class SealedId:
    sealed: pii.SealedPii
    suffix: str
    birth_date: date | None = None
    sex: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SealedPhone:
    sealed: pii.SealedPii
    suffix: str


NO_ID = SealedId(pii.EMPTY_SEAL, "")
NO_PHONE = SealedPhone(pii.EMPTY_SEAL, "")


def normalize_document(raw: str, *, id_type: str, today: date | None = None) -> str:
    """The canonical text of a document number: an 18-character resident ID (15-digit ones are
    upgraded), or an upper-case passport/other number of 5-32 letters and digits."""
    if id_type == "resident_id":
        return parse_resident_id(pii.normalize_resident_id(raw), today=today).number
    number = pii.normalize_resident_id(raw)
    if not _DOCUMENT_RE.fullmatch(number):
        raise IdNumberError("document_shape", "a document number has 5 to 32 letters and digits")
    return number


def seal_id(raw: str, *, id_type: str, today: date | None = None) -> SealedId:
    """Seal a document number; ``""`` gives blank columns."""
    if not raw or not raw.strip():
        return NO_ID
    if id_type == "resident_id":
        parsed = parse_resident_id(pii.normalize_resident_id(raw), today=today)
        return SealedId(
            sealed=pii.seal_resident_id(parsed.number),
            suffix=parsed.number[-4:],
            birth_date=parsed.birth_date,
            sex=parsed.sex,
            warnings=parsed.warnings,
        )
    number = normalize_document(raw, id_type=id_type)
    # Passports and other documents are masked 2 + 2: keeping a searchable last four would show
    # more than the mask does.
    return SealedId(sealed=pii.seal_resident_id(number), suffix="")


def id_lookup_hash(raw: str) -> str | None:
    """The lookup hash to search for a typed number; tries it as a resident ID first.

    None when the text cannot be a document number at all.
    """
    try:
        number = parse_resident_id(pii.normalize_resident_id(raw)).number
    except ValueError:
        number = pii.normalize_resident_id(raw)
        if not _DOCUMENT_RE.fullmatch(number):
            return None
    return pii.lookup_hash(number, purpose=pii.PURPOSE_RESIDENT_ID)


def normalize_phone_number(raw: str) -> str:
    """A mainland mobile number (11 digits) or a landline with its area code (10-12 digits)."""
    try:
        return parse_mobile(raw)
    except ValueError as mobile_error:
        digits = pii.normalize_phone(raw)
        if digits.startswith("0") and 10 <= len(digits) <= 12:
            return digits
        raise mobile_error from None


def seal_phone(raw: str) -> SealedPhone:
    if not raw or not raw.strip():
        return NO_PHONE
    number = normalize_phone_number(raw)
    return SealedPhone(sealed=pii.seal_phone(number), suffix=number[-4:])


def phone_lookup_hash(raw: str) -> str | None:
    try:
        number = normalize_phone_number(raw)
    except ValueError:
        return None
    return pii.lookup_hash(pii.normalize_phone(number), purpose=pii.PURPOSE_PHONE)


def seal_permit_number(raw: str) -> pii.SealedPii:
    """A residence permit (居住证) number: in many cities it is the holder's ID number, so it is
    sealed like one, under its own purpose."""
    number = pii.normalize_resident_id(raw)
    if not _DOCUMENT_RE.fullmatch(number):
        raise IdNumberError(
            "permit_shape", "a residence permit number has 5 to 32 letters and digits"
        )
    return pii.seal(number, purpose=PURPOSE_RESIDENCE_PERMIT, mask=pii.mask_resident_id)
