from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from wangge.core import pii
from wangge.core.errors import InvalidInputError, PermissionDeniedError
from wangge.core.models import AuditLog
from wangge.core.pii import PiiError

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


OLD_KEY = f"old:{key(1)}"
NEW_KEY = f"new:{key(2)}"


@pytest.fixture(autouse=True)
def _fresh_keys() -> Iterator[None]:
    pii.reset_key_cache()
    yield
    pii.reset_key_cache()


def unmask_rows() -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(action="pii.unmask")


def flip_last_character(token: str) -> str:
    head, body = token.rsplit(".", 1)
    return f"{head}.{body[:-2]}{'B' if body[-2] == 'A' else 'A'}{body[-1]}"


# Encryption ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "purpose"),
    [(ID_NUMBER, "resident_id"), (PHONE, "phone"), ("张三 +86 (010) 1234-5678", "other")],
)
def test_a_value_comes_back_from_its_token(value, purpose):
    token = pii.encrypt(value, purpose=purpose)

    assert pii.decrypt(token, purpose=purpose) == value
    assert token.startswith("v1.t2.")  # the newest test key
    assert value not in token


def test_each_encryption_uses_a_fresh_nonce():
    tokens = {pii.encrypt(ID_NUMBER, purpose="resident_id") for _ in range(50)}

    assert len(tokens) == 50
    nonces = {base64.urlsafe_b64decode(t.split(".")[2] + "==")[:12] for t in tokens}
    assert len(nonces) == 50


def test_an_altered_token_is_refused():
    token = pii.encrypt(ID_NUMBER, purpose="resident_id")

    with pytest.raises(PiiError, match="failed authentication"):
        pii.decrypt(flip_last_character(token), purpose="resident_id")
    with pytest.raises(PiiError, match="failed authentication"):
        pii.decrypt(token.replace("v1.t2.", "v1.t1."), purpose="resident_id")  # other known key
    with pytest.raises(PiiError, match="too short"):
        pii.decrypt(token[:30], purpose="resident_id")
    for garbage in ["", "v2.t2.AAAA", "v1.t2", "v1.t2.AA+A/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]:
        with pytest.raises(PiiError, match="not a personal-data token"):
            pii.decrypt(garbage, purpose="resident_id")


def test_a_token_opens_only_for_its_purpose():
    token = pii.encrypt(PHONE, purpose="phone")

    with pytest.raises(PiiError, match="not sealed for purpose 'resident_id'"):
        pii.decrypt(token, purpose="resident_id")


def test_a_purpose_must_be_a_plain_word():
    with pytest.raises(ValueError, match="purpose"):
        pii.encrypt(PHONE, purpose="Phone number")


def test_empty_values_are_refused_by_the_primitives():
    with pytest.raises(ValueError, match="empty"):
        pii.encrypt("", purpose="phone")
    with pytest.raises(ValueError, match="empty"):
        pii.lookup_hash("", purpose="phone")


def test_a_token_under_a_removed_key_names_the_key(settings):
    settings.WANGGE_PII_KEYS = [OLD_KEY]
    token = pii.encrypt(ID_NUMBER, purpose="resident_id")
    settings.WANGGE_PII_KEYS = [NEW_KEY]

    with pytest.raises(PiiError, match="key 'old', which is not in WANGGE_PII_KEYS"):
        pii.decrypt(token, purpose="resident_id")


# Rotation --------------------------------------------------------------------------------------


def test_rotation_keeps_old_tokens_readable_and_moves_them_to_the_new_key(settings):
    settings.WANGGE_PII_KEYS = [OLD_KEY]
    old_token = pii.encrypt(ID_NUMBER, purpose="resident_id")
    assert not pii.needs_reencryption(old_token)

    settings.WANGGE_PII_KEYS = [NEW_KEY, OLD_KEY]

    assert pii.decrypt(old_token, purpose="resident_id") == ID_NUMBER
    assert pii.needs_reencryption(old_token)
    new_token = pii.reencrypt(old_token, purpose="resident_id")
    assert pii.token_key_id(new_token) == "new" == pii.newest_key_id()
    assert not pii.needs_reencryption(new_token)
    assert pii.decrypt(new_token, purpose="resident_id") == ID_NUMBER
    assert pii.reencrypt(new_token, purpose="resident_id") == new_token  # idempotent

    settings.WANGGE_PII_KEYS = [NEW_KEY]  # the old key retired once every row moved
    assert pii.decrypt(new_token, purpose="resident_id") == ID_NUMBER


def test_reencrypting_checks_the_token_even_when_it_is_current():
    token = pii.encrypt(ID_NUMBER, purpose="resident_id")

    with pytest.raises(PiiError):
        pii.reencrypt(flip_last_character(token), purpose="resident_id")


# Lookup hashes ---------------------------------------------------------------------------------


def test_the_lookup_hash_is_stable_keyed_and_separated_by_purpose(settings):
    first = pii.lookup_hash(ID_NUMBER, purpose="resident_id")

    assert first == pii.lookup_hash(ID_NUMBER, purpose="resident_id")
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != pii.lookup_hash(ID_NUMBER, purpose="phone")
    assert first != pii.lookup_hash(ID_NUMBER.lower(), purpose="resident_id")  # caller normalizes

    settings.WANGGE_PII_KEYS = [NEW_KEY]  # rotating encryption keys leaves hashes alone
    assert pii.lookup_hash(ID_NUMBER, purpose="resident_id") == first
    settings.WANGGE_PII_HASH_KEY = key(9)
    assert pii.lookup_hash(ID_NUMBER, purpose="resident_id") != first


def test_rehash_recomputes_a_hash_under_a_new_hash_key(settings):
    sealed = pii.seal_resident_id(ID_NUMBER.lower())
    settings.WANGGE_PII_HASH_KEY = key(9)

    rehashed = pii.rehash(sealed.token, purpose="resident_id")

    assert rehashed != sealed.hash
    assert rehashed == pii.lookup_hash(ID_NUMBER, purpose="resident_id")


# Masks and normalizing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("E12345678", "E1*****78"),
        ("1234567", "*******"),
        ("", ""),
    ],
)
def test_resident_id_mask(value, masked):
    assert pii.mask_resident_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 13812345678", "+86 138****5678"),
        ("010-12345678", "010-****5678"),
        ("01012345678", "010****5678"),
        ("0755-1234567", "0755-***4567"),
        ("075512345678", "0755****5678"),
        ("12345678", "****5678"),
        ("12345", "*2345"),
        ("110", "***"),
    ],
)
def test_phone_mask(value, masked):
    assert pii.mask_phone(value) == masked


def test_generic_mask():
    assert pii.mask("abcdefgh", 2, 3) == "ab***fgh"
    assert pii.mask("abcdefgh", 0, 0) == "********"
    assert pii.mask("abcd", 2, 2) == "****"  # nothing left to hide: hide it all
    assert pii.mask("abcdefgh", 1, 1, char="×") == "a××××××h"
    with pytest.raises(ValueError, match="negative"):
        pii.mask("abc", -1, 0)


def test_normalizing():
    assert pii.normalize_resident_id(" １１０１０５１９４９１２３１００２x ") == ID_NUMBER
    assert pii.normalize_phone("+86 138-1234-5678") == PHONE
    assert pii.normalize_phone("0086 13812345678") == PHONE
    assert pii.normalize_phone("(010) 1234-5678") == "01012345678"
    assert pii.normalize_phone("+86 10 12345678") == "01012345678"
    assert pii.normalize_phone("１３８ １２３４ ５６７８") == PHONE


# Sealing ---------------------------------------------------------------------------------------


def test_seal_gives_the_three_columns():
    sealed = pii.seal(ID_NUMBER, purpose="resident_id", mask=pii.mask_resident_id)

    assert pii.decrypt(sealed.token, purpose="resident_id") == ID_NUMBER
    assert sealed.hash == pii.lookup_hash(ID_NUMBER, purpose="resident_id")
    assert sealed.masked == "110105********002X"

    typed, clean = pii.seal_phone("138 1234 5678"), pii.seal_phone(PHONE)  # normalized first
    assert (typed.hash, typed.masked) == (clean.hash, "138****5678")
    assert typed.token != clean.token


def test_sealing_nothing_gives_blank_columns():
    assert pii.seal("", purpose="phone", mask=pii.mask_phone) == pii.EMPTY_SEAL
    assert pii.seal_phone("  ") == ("", "", "")


def test_seal_refuses_a_mask_that_hides_nothing():
    with pytest.raises(ValueError, match="unmasked"):
        pii.seal(PHONE, purpose="phone", mask=lambda value: value)


# Unmasking -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unmasking_returns_the_value_and_writes_an_audit_row(cast):
    sealed = pii.seal_resident_id(ID_NUMBER)

    value = pii.unseal_for_user(
        sealed.token,
        purpose="resident_id",
        actor=cast.commander,
        reason="  核实低保申请人身份  ",
        subject_type="registry.person",
        subject_id=42,
    )

    assert value == ID_NUMBER
    row = unmask_rows().get()
    assert row.actor == cast.commander
    assert (row.target_type, row.target_id) == ("registry.person", "42")
    assert row.details == {"purpose": "resident_id", "reason": "核实低保申请人身份"}


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", "abc", None, "x" * 501])
def test_unmasking_needs_a_stated_reason(cast, reason):
    sealed = pii.seal_phone(PHONE)

    with pytest.raises(InvalidInputError) as caught:
        pii.unseal_for_user(
            sealed.token,
            purpose="phone",
            actor=cast.commander,
            reason=reason,
            subject_type="registry.person",
            subject_id=1,
        )

    assert "reason" in caught.value.errors
    assert not unmask_rows().exists()


@pytest.mark.django_db
def test_unmasking_checks_the_permission_it_is_given(cast):
    sealed = pii.seal_phone(PHONE)
    kwargs = {
        "purpose": "phone",
        "reason": "回访核实",
        "subject_type": "registry.person",
        "subject_id": 1,
        "permission": "regions.import_territory",
    }

    with pytest.raises(PermissionDeniedError):
        pii.unseal_for_user(sealed.token, actor=cast.grid_worker_a, **kwargs)
    assert not unmask_rows().exists()

    assert pii.unseal_for_user(sealed.token, actor=cast.admin, **kwargs) == PHONE
    assert unmask_rows().get().actor == cast.admin


@pytest.mark.django_db
def test_unmasking_an_altered_token_writes_no_audit_row(cast):
    token = flip_last_character(pii.seal_phone(PHONE).token)

    with pytest.raises(PiiError):
        pii.unseal_for_user(
            token,
            purpose="phone",
            actor=cast.commander,
            reason="回访核实",
            subject_type="registry.person",
            subject_id=1,
        )
    assert not unmask_rows().exists()


@pytest.mark.django_db
def test_plaintext_never_reaches_the_audit_log_or_the_logs(cast, caplog, settings):
    caplog.set_level(logging.DEBUG)
    sealed = pii.seal_resident_id(ID_NUMBER)
    phone = pii.seal_phone(PHONE)
    settings.WANGGE_PII_KEYS = [NEW_KEY, *settings.WANGGE_PII_KEYS]
    pii.reencrypt(sealed.token, purpose="resident_id")
    errors = []
    for attempt in [
        lambda: pii.decrypt(sealed.token, purpose="phone"),
        lambda: pii.decrypt(flip_last_character(sealed.token), purpose="resident_id"),
    ]:
        with pytest.raises(PiiError) as caught:
            attempt()
        errors.append(str(caught.value))

    pii.unseal_for_user(
        sealed.token,
        purpose="resident_id",
        actor=cast.commander,
        # Someone pastes the number into the reason: it must not land in the audit log either.
        reason=f"核对 {ID_NUMBER.lower()} 是否重复登记",
        subject_type="registry.person",
        subject_id=7,
    )
    pii.unseal_for_user(
        phone.token,
        purpose="phone",
        actor=cast.commander,
        reason="回访核实",
        subject_type="registry.person",
        subject_id=7,
    )

    details = " ".join(str(row.details) for row in unmask_rows())
    assert unmask_rows().count() == 2
    assert "pii.unmask" in caplog.text  # the log says that it happened…
    for secret in (ID_NUMBER, ID_NUMBER.lower(), PHONE, "19491231", "12345678"):
        assert secret not in details  # …but neither the log nor the audit trail says what
        assert secret not in caplog.text
        assert all(secret not in error for error in errors)


# Configuration ---------------------------------------------------------------------------------


def test_debug_mode_derives_fixed_development_keys_and_warns_once(settings, caplog, monkeypatch):
    monkeypatch.setattr(pii, "_development_warning_logged", False)
    settings.DEBUG = True
    settings.WANGGE_PII_KEYS = []
    settings.WANGGE_PII_HASH_KEY = ""
    caplog.set_level(logging.WARNING, logger="wangge.core.pii")

    token = pii.encrypt(PHONE, purpose="phone")
    digest = pii.lookup_hash(PHONE, purpose="phone")
    pii.reset_key_cache()  # as a new process would

    assert pii.token_key_id(token) == "dev"
    assert pii.decrypt(token, purpose="phone") == PHONE
    assert pii.lookup_hash(PHONE, purpose="phone") == digest
    warnings = [r for r in caplog.records if r.name == "wangge.core.pii"]
    assert len(warnings) == 1
    assert "development keys" in warnings[0].getMessage()


def test_production_refuses_to_run_without_keys(settings):
    settings.DEBUG = False
    settings.WANGGE_PII_KEYS = []

    with pytest.raises(ImproperlyConfigured, match="WANGGE_PII_KEYS must be set"):
        pii.encrypt(PHONE, purpose="phone")


@pytest.mark.parametrize(
    ("keys", "hash_key", "message"),
    [
        (["nokeyid"], key(9), "'key-id:base64-key'"),
        (["a.b:" + key(1)], key(9), "'key-id:base64-key'"),
        ([f"a:{key(1)}", f"a:{key(2)}"], key(9), "appears twice"),
        (["a:" + base64.b64encode(b"short").decode()], key(9), "must be 32 bytes"),
        (["a:not base64!"], key(9), "not valid base64"),
        ([f"a:{key(1)}"], "c2hvcnQ=", "WANGGE_PII_HASH_KEY: a key decodes to 5 bytes"),
        ([f"a:{key(1)}"], key(1), "must differ"),
    ],
)
def test_a_bad_key_setting_is_named_without_showing_the_key(settings, keys, hash_key, message):
    settings.WANGGE_PII_KEYS = keys
    settings.WANGGE_PII_HASH_KEY = hash_key

    with pytest.raises(ImproperlyConfigured, match=message) as caught:
        pii.check_keys()
    assert key(1) not in str(caught.value)
    [error] = pii.pii_keys_check()  # what `manage.py check` reports
    assert error.id == "wangge.pii.E001" and message in error.msg


def test_the_system_check_passes_with_good_keys():
    assert pii.pii_keys_check() == []
