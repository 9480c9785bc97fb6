"""Personal data (PIPL): encryption at rest, lookup hashes, masks and audited unmasking.

Resident ID numbers and phone numbers are stored as three columns per value, written once by
``seal()``:

``<name>_encrypted``  the AES-256-GCM token ``v1.<key-id>.<base64url(nonce | ciphertext+tag)>``
``<name>_hash``       the keyed lookup hash (HMAC-SHA256, hex) for exact search and uniqueness
``<name>_masked``     the display form (``110105********002X``, ``138****5678``)

Pages, APIs, exports and the admin show the masked column, so a list of thousands of people decrypts
nothing. The full value is only read through ``unseal_for_user()``, which wants a stated reason and
writes a ``pii.unmask`` audit row. ``decrypt()`` is the low-level primitive for system jobs (key
rotation); views and services must not call it. See docs/security.md for the reasoning and the key
management procedure.

Nothing in this module logs or puts into an exception message a plaintext value or key material.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext as _

from wangge.core.errors import InvalidInputError, PermissionDeniedError

if TYPE_CHECKING:
    from wangge.core.models import User

logger = logging.getLogger(__name__)

PURPOSE_RESIDENT_ID = "resident_id"
PURPOSE_PHONE = "phone"

UNMASK_ACTION = "pii.unmask"
MIN_REASON_LENGTH = 4
MAX_REASON_LENGTH = 500

TOKEN_VERSION = "v1"  # noqa: S105 — a format tag, not a secret
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
DEVELOPMENT_KEY_ID = "dev"
_DEVELOPMENT_SEED = b"wangge-development-only"

_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_PURPOSE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TOKEN_RE = re.compile(r"v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)")


class PiiError(Exception):
    """A token cannot be opened: altered, sealed for another purpose, or under an unknown key.

    Not a user error: it means corrupted data or missing keys, and operators must look at it.
    """


class SealedPii(NamedTuple):
    """What a writer stores for one personal value: the three columns ``seal()`` fills."""

    token: str
    hash: str
    masked: str


EMPTY_SEAL = SealedPii("", "", "")


# Keys ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Keyring:
    newest_id: str
    newest: AESGCM
    ciphers: dict[str, AESGCM]
    hash_key: bytes


_keyring_cache: _Keyring | None = None
_keyring_lock = threading.Lock()
_development_warning_logged = False


def _development_key(info: bytes) -> bytes:
    """A fixed key derived from a public constant: the demo runs without set-up, nothing is secret."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
        _DEVELOPMENT_SEED
    )


def _decode_key(text: str, setting: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{setting}: a key is not valid base64.") from None
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"{setting}: a key decodes to {len(raw)} bytes; it must be {KEY_BYTES} bytes."
        )
    return raw


def _parse_encryption_keys(entries: Sequence[str]) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for entry in entries:
        key_id, separator, material = entry.strip().partition(":")
        if not separator or not _KEY_ID_RE.fullmatch(key_id):
            raise ImproperlyConfigured(
                "WANGGE_PII_KEYS: each entry must be 'key-id:base64-key' with a key id of 1 to 32 "
                "letters, digits, '-' or '_'."
            )
        if any(key_id == seen for seen, _key in keys):
            raise ImproperlyConfigured(f"WANGGE_PII_KEYS: key id {key_id!r} appears twice.")
        keys.append((key_id, _decode_key(material, "WANGGE_PII_KEYS")))
    return keys


def _build_keyring() -> _Keyring:
    global _development_warning_logged
    entries = [entry for entry in (settings.WANGGE_PII_KEYS or []) if entry.strip()]
    hash_text = (settings.WANGGE_PII_HASH_KEY or "").strip()
    derived: list[str] = []
    if entries:
        keys = _parse_encryption_keys(entries)
    elif settings.DEBUG:
        keys = [(DEVELOPMENT_KEY_ID, _development_key(b"wangge-pii-encryption"))]
        derived.append("WANGGE_PII_KEYS")
    else:
        raise ImproperlyConfigured("WANGGE_PII_KEYS must be set when DEBUG is off.")
    if hash_text:
        hash_key = _decode_key(hash_text, "WANGGE_PII_HASH_KEY")
    elif settings.DEBUG:
        hash_key = _development_key(b"wangge-pii-lookup-hash")
        derived.append("WANGGE_PII_HASH_KEY")
    else:
        raise ImproperlyConfigured("WANGGE_PII_HASH_KEY must be set when DEBUG is off.")
    if any(hash_key == key for _key_id, key in keys):
        raise ImproperlyConfigured(
            "WANGGE_PII_HASH_KEY must differ from every key in WANGGE_PII_KEYS."
        )
    if derived and not _development_warning_logged:
        _development_warning_logged = True
        logger.warning(
            "%s not set: using development keys derived from a public constant. Personal data "
            "stored now is NOT protected; never run like this outside development.",
            " and ".join(derived),
        )
    ciphers = {key_id: AESGCM(key) for key_id, key in keys}
    newest_id = keys[0][0]
    return _Keyring(
        newest_id=newest_id, newest=ciphers[newest_id], ciphers=ciphers, hash_key=hash_key
    )


def _keyring() -> _Keyring:
    ring = _keyring_cache
    if ring is None:
        ring = _load_keyring()
    return ring


def _load_keyring() -> _Keyring:
    global _keyring_cache
    with _keyring_lock:
        if _keyring_cache is None:
            _keyring_cache = _build_keyring()
        return _keyring_cache


def reset_key_cache() -> None:
    """Forget the parsed keys; the next call reads the settings again (tests, after a reload)."""
    global _keyring_cache
    with _keyring_lock:
        _keyring_cache = None


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"WANGGE_PII_KEYS", "WANGGE_PII_HASH_KEY", "DEBUG"}:
        reset_key_cache()


def check_keys() -> None:
    """Parse the configured keys now, so a bad key stops a command at start rather than mid-run."""
    _keyring()


@checks.register(checks.Tags.security)
def pii_keys_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check (``manage.py check``, runserver, migrate): the PII keys parse."""
    try:
        check_keys()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="wangge.pii.E001")]
    return []


def newest_key_id() -> str:
    return _keyring().newest_id


# Encryption ------------------------------------------------------------------------------------

_checked_purposes: set[str] = set()


def _check_purpose(purpose: str) -> None:
    if purpose in _checked_purposes:
        return
    if not isinstance(purpose, str) or not _PURPOSE_RE.fullmatch(purpose):
        raise ValueError("purpose must be lower-case letters, digits and '_', e.g. 'phone'.")
    _checked_purposes.add(purpose)


_associated: dict[tuple[str, str], bytes] = {}
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _associated_data(key_id: str, purpose: str) -> bytes:
    # Binds the token to its purpose (an ID-number token cannot be replayed as a phone number) and
    # to its version and key id.
    data = _associated.get((key_id, purpose))
    if data is None:
        data = _associated[key_id, purpose] = f"{TOKEN_VERSION}.{key_id}.{purpose}".encode()
    return data


def _check_value(value: str) -> None:
    if not isinstance(value, str):
        raise TypeError("personal values must be str.")
    if not value:
        raise ValueError("refusing to process an empty value; store blank columns instead.")


def encrypt(value: str, *, purpose: str) -> str:
    """Encrypt ``value`` under the newest key; ``purpose`` (e.g. "phone") is authenticated with it."""
    _check_value(value)
    _check_purpose(purpose)
    return _encrypt(_keyring(), value.encode(), purpose)


def _encrypt(ring: _Keyring, data: bytes, purpose: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.newest.encrypt(nonce, data, _associated_data(ring.newest_id, purpose))
    # base64url without padding (binascii directly: base64.urlsafe_b64encode is slower)
    body = binascii.b2a_base64(nonce + sealed, newline=False).translate(_URLSAFE).rstrip(b"=")
    return f"{TOKEN_VERSION}.{ring.newest_id}.{body.decode('ascii')}"


def _split_token(token: str) -> tuple[str, bytes]:
    match = _TOKEN_RE.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise PiiError("not a personal-data token (expected 'v1.<key-id>.<data>').")
    key_id, body = match.groups()
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise PiiError("personal-data token has a damaged body.") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES + 1:
        raise PiiError("personal-data token is too short.")
    return key_id, blob


def token_key_id(token: str) -> str:
    """The id of the key a token was sealed under (no key needed)."""
    return _split_token(token)[0]


def decrypt(token: str, *, purpose: str) -> str:
    """Open a token sealed by ``encrypt`` under any configured key.

    Low level and unaudited: only system jobs (rotation, rehashing) call it. Reads for a person go
    through ``unseal_for_user``. Raises ``PiiError`` for an altered token, another purpose, or a key
    id that is no longer configured.
    """
    _check_purpose(purpose)
    key_id, blob = _split_token(token)
    ring = _keyring()
    cipher = ring.ciphers.get(key_id)
    if cipher is None:
        raise PiiError(
            f"personal-data token is under key {key_id!r}, which is not in WANGGE_PII_KEYS "
            "(a retired key was removed before every row was re-encrypted?)."
        )
    try:
        plain = cipher.decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(key_id, purpose)
        )
    except InvalidTag:
        raise PiiError(
            f"personal-data token failed authentication: it was altered, or it was not sealed "
            f"for purpose {purpose!r}."
        ) from None
    return plain.decode()


def needs_reencryption(token: str) -> bool:
    """Whether a token is under an older key than the newest one (first in WANGGE_PII_KEYS)."""
    return token_key_id(token) != _keyring().newest_id


def reencrypt(token: str, *, purpose: str) -> str:
    """The same value sealed under the newest key; a token already under it is verified and kept."""
    plain = decrypt(token, purpose=purpose)
    if not needs_reencryption(token):
        return token
    return encrypt(plain, purpose=purpose)


# Lookup hashes ---------------------------------------------------------------------------------


def lookup_hash(value: str, *, purpose: str) -> str:
    """Keyed hash for exact search: hex HMAC-SHA256(hash key, purpose + NUL + value).

    The caller normalizes ``value`` first (``normalize_resident_id``, ``normalize_phone``), the same
    way when writing and when searching, or equal values will not match. ID and phone numbers are
    few enough to try them all, so the hash is only as safe as WANGGE_PII_HASH_KEY is secret.
    """
    _check_value(value)
    _check_purpose(purpose)
    return _lookup_hash(_keyring(), value.encode(), purpose)


def _lookup_hash(ring: _Keyring, data: bytes, purpose: str) -> str:
    message = purpose.encode() + b"\x00" + data
    return hmac.digest(ring.hash_key, message, "sha256").hex()


def rehash(token: str, *, purpose: str) -> str:
    """The lookup hash of a stored value under the current hash key (after changing that key).

    Correct only because writers seal the normalized value, so what decrypts is what was hashed.
    """
    return lookup_hash(decrypt(token, purpose=purpose), purpose=purpose)


# Normalizing -----------------------------------------------------------------------------------


def normalize_resident_id(value: str) -> str:
    """Canonical form of a resident ID number: half-width, no spaces, upper-case check letter X.

    Does not validate the number (length, region, birth date, check digit); the registry does.
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def normalize_phone(value: str) -> str:
    """Canonical form of a phone number: digits only, without the +86 / 0086 country code.

    ``"+86 138-1234-5678"`` → ``"13812345678"``; ``"(010) 1234-5678"`` → ``"01012345678"``.
    """
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 10:
            rest = digits[len(prefix) :]
            # A mobile number follows as is; a landline follows without its trunk 0.
            return rest if rest.startswith("1") and len(rest) == 11 else "0" + rest
    return digits


# Masks -----------------------------------------------------------------------------------------


def mask(value: str, keep_start: int, keep_end: int, *, char: str = "*") -> str:
    """Keep ``keep_start`` leading and ``keep_end`` trailing characters, hide the rest.

    The length is kept. A value too short to hide anything is hidden entirely.
    """
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep_start and keep_end must not be negative.")
    length = len(value)
    if keep_start + keep_end >= length:
        return char * length
    return value[:keep_start] + char * (length - keep_start - keep_end) + value[length - keep_end :]


def mask_resident_id(value: str) -> str:
    """``11010519491231002X`` → ``110105********002X``: region and last four, birth date hidden.

    15- and 18-character numbers keep 6 + 4; other documents (passports, permits) keep 2 + 2 when
    they have 8 characters or more and are hidden entirely otherwise.
    """
    if len(value) in (15, 18):
        return mask(value, 6, 4)
    if len(value) >= 8:
        return mask(value, 2, 2)
    return mask(value, 0, 0)


_MOBILE_RE = re.compile(r"(?P<prefix>(?:\+|00)?86[- ]?)?(?P<number>1\d{10})")
# 010 and 02x are the three-digit area codes; every other one has four digits.
_LANDLINE_RE = re.compile(
    r"(?P<area>0[12]\d|0[3-9]\d\d)(?P<separator>[- ]?)(?P<local>\d{7,8})(?P<extension>(?:-\d{1,6})?)"
)


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``; ``010-12345678`` → ``010-****5678``.

    Mobile numbers keep the first 3 and last 4 digits; landlines keep the area code and the last 4
    digits of the local number; anything else keeps its last 4 characters.
    """
    value = value.strip()
    if match := _MOBILE_RE.fullmatch(value):
        number = match["number"]
        return (match["prefix"] or "") + mask(number, 3, 4)
    if match := _LANDLINE_RE.fullmatch(value):
        return match["area"] + match["separator"] + mask(match["local"], 0, 4) + match["extension"]
    return mask(value, 0, 4)


# Writing and reading ---------------------------------------------------------------------------


def seal(value: str, *, purpose: str, mask: Callable[[str], str]) -> SealedPii:
    """Token, lookup hash and masked form of an already normalized value; blanks for ``""``.

    For example ``seal(normalize_phone(raw), purpose=PURPOSE_PHONE, mask=mask_phone)``, which is
    what ``seal_phone(raw)`` does. Seal the normalized value: ``rehash`` relies on it.
    """
    if not value:
        return EMPTY_SEAL
    masked = mask(value)
    if masked == value:
        raise ValueError("the mask function returned the value unmasked.")
    # encrypt() and lookup_hash() with their checks and the key look-up done once (imports seal
    # two values per row).
    _check_value(value)
    _check_purpose(purpose)
    ring, data = _keyring(), value.encode()
    return SealedPii(_encrypt(ring, data, purpose), _lookup_hash(ring, data, purpose), masked)


def seal_resident_id(value: str) -> SealedPii:
    """Normalize, then seal a resident ID number."""
    return seal(normalize_resident_id(value), purpose=PURPOSE_RESIDENT_ID, mask=mask_resident_id)


def seal_phone(value: str) -> SealedPii:
    """Normalize, then seal a phone number."""
    return seal(normalize_phone(value), purpose=PURPOSE_PHONE, mask=mask_phone)


def unseal_for_user(
    token: str,
    *,
    purpose: str,
    actor: User,
    reason: str,
    subject_type: str,
    subject_id: str | int,
    permission: str | None = None,
) -> str:
    """The full value for one user, for a stated reason, with a ``pii.unmask`` audit row.

    Call it after the access check on the subject (``access_<thing>_for_user``: the data scope),
    and pass the unmasking ``permission`` (e.g. ``"registry.unmask_person"``) to have it checked
    here; without it the caller must have checked it. The audit row joins the caller's transaction:
    do not call this inside one that may still roll back after the value is shown.
    """
    from wangge.core.audit import audit_log_write  # models are not loaded when this module is

    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        message = _("Give a reason of at least %(count)d characters.") % {
            "count": MIN_REASON_LENGTH
        }
        raise InvalidInputError(message, {"reason": [message]})
    if len(reason) > MAX_REASON_LENGTH:
        message = _("Give a reason of at most %(count)d characters.") % {"count": MAX_REASON_LENGTH}
        raise InvalidInputError(message, {"reason": [message]})
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDeniedError(_("Only a signed-in user may see full personal data."))
    if permission is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(_("You are not allowed to see full personal data."))
    if not token:
        return ""
    plain = decrypt(token, purpose=purpose)
    # People type the number they are looking at into the reason; keep it out of the audit log.
    reason = re.sub(re.escape(plain), "[…]", reason, flags=re.IGNORECASE)
    audit_log_write(
        actor=actor,
        action=UNMASK_ACTION,
        target_type=subject_type,
        target_id=subject_id,
        details={"purpose": purpose, "reason": reason},
    )
    logger.info(
        "%s by user %s on %s:%s (%s)", UNMASK_ACTION, actor.pk, subject_type, subject_id, purpose
    )
    return plain


__all__ = [
    "EMPTY_SEAL",
    "PURPOSE_PHONE",
    "PURPOSE_RESIDENT_ID",
    "UNMASK_ACTION",
    "PiiError",
    "SealedPii",
    "check_keys",
    "decrypt",
    "encrypt",
    "lookup_hash",
    "mask",
    "mask_phone",
    "mask_resident_id",
    "needs_reencryption",
    "newest_key_id",
    "normalize_phone",
    "normalize_resident_id",
    "reencrypt",
    "rehash",
    "reset_key_cache",
    "seal",
    "seal_phone",
    "seal_resident_id",
    "token_key_id",
    "unseal_for_user",
]
