"""Key rotation and rehashing walk every sealed column (docs/security.md)."""

import base64
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from wangge.core import pii
from wangge.core.models import AuditLog
from wangge.registry import identity
from wangge.registry.models import Organization, Person
from wangge.registry.tests import factories as f

ID_NUMBER = "11010519491231002X"
NEW_KEY = "y2027:" + base64.b64encode(b"n" * 32).decode()


def run(name, *args):
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_reencrypt_moves_every_token_to_the_newest_key_and_is_idempotent(territory, settings):
    person = f.register(id_number=ID_NUMBER, phone="13812345678").person
    f.organization(contact_phone="13900001111")
    old_hash = person.id_number_hash
    settings.WANGGE_PII_KEYS = [NEW_KEY, *django_settings.WANGGE_PII_KEYS]

    dry = run("pii_reencrypt", "--dry-run")
    person.refresh_from_db()
    assert person.id_number_encrypted.startswith("v1.t2.")
    assert "registry.Person.id_number_encrypted: would move 1" in dry

    report = run("pii_reencrypt", "--batch-size", "1")
    person.refresh_from_db()
    organization = Organization.objects.get()
    assert person.id_number_encrypted.startswith("v1.y2027.")
    assert person.phone_encrypted.startswith("v1.y2027.")
    assert organization.contact_phone_encrypted.startswith("v1.y2027.")
    assert pii.decrypt(person.id_number_encrypted, purpose="resident_id") == ID_NUMBER
    assert person.id_number_hash == old_hash
    assert "total: 3 tokens, 0 damaged" in report
    assert "nothing left to do" in run("pii_reencrypt")
    assert AuditLog.objects.filter(action="pii.reencrypt").count() == 2


@pytest.mark.django_db
def test_a_damaged_token_is_listed_and_skipped(territory, settings):
    person = f.register(id_number=ID_NUMBER).person
    Person.objects.filter(pk=person.pk).update(
        id_number_encrypted="v1.t2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    settings.WANGGE_PII_KEYS = [NEW_KEY, *django_settings.WANGGE_PII_KEYS]

    assert "total: 0 tokens, 1 damaged" in run("pii_reencrypt")


@pytest.mark.django_db
def test_rehash_makes_search_work_under_a_new_hash_key(territory, settings):
    person = f.register(id_number=ID_NUMBER).person
    settings.WANGGE_PII_HASH_KEY = base64.b64encode(b"h" * 32).decode()
    assert identity.id_lookup_hash(ID_NUMBER) != person.id_number_hash

    report = run("pii_rehash")

    person.refresh_from_db()
    assert person.id_number_hash == identity.id_lookup_hash(ID_NUMBER)
    assert "registry.Person.id_number_encrypted: rehashed 1" in report
    assert "total: 0 hashes" in run("pii_rehash")
