"""Tenant self-registration through a rented house's QR page: pending until a grid worker whose
scope covers the house approves it; nothing enters the registry before."""

from datetime import date

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from wangge.core import pii
from wangge.core.models import AuditLog
from wangge.registry import selfregistration
from wangge.registry.models import Person, PersonEvent, Residency, SelfRegistration
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _empty_rate_limit_cache():
    cache.clear()
    yield
    cache.clear()


def _frozen():
    return time_machine.travel("2026-05-20 10:00+08:00", tick=False)


def _form(number: str, **extra):
    return {
        "name": "李四",
        "id_number": number,
        "phone": PHONE,
        "moved_in_on": "2026-05-18",
        "wants_permit": "on",
        **extra,
    }


def _submit(client, house, number, **extra):
    return client.post(reverse("web:qr-house", args=[house.qr_token]), _form(number, **extra))


def _approve(api, row, **body):
    return api.post(
        reverse("api:self-registration-approve", args=[row.pk]), body or {}, format="json"
    )


@pytest.mark.django_db
def test_a_tenants_self_registration_through_the_qr_page_enters_the_registry_only_after_approval(
    cast,
):
    with _frozen():
        house = f.house(rented=True)
        number = f.resident_id(date(1990, 3, 4), sequence=11)  # odd: a man
        visitor = Client()

        page = visitor.get(reverse("web:qr-house", args=[house.qr_token]))
        assert page.status_code == 200
        assert b"csrfmiddlewaretoken" in page.content
        assert house.building.address in page.content.decode()

        sent = _submit(visitor, house, number)
        assert sent.status_code == 302
        assert sent["Location"].endswith("?sent=1")
        assert visitor.get(sent["Location"]).status_code == 200

        row = SelfRegistration.objects.get()
        assert row.status == SelfRegistration.Status.PENDING
        assert row.id_number_masked == pii.mask_resident_id(number)
        assert row.phone_masked == "139****5678"
        assert (row.birth_date, row.sex, row.wants_permit) == (date(1990, 3, 4), "male", True)
        assert number not in row.id_number_encrypted and PHONE not in row.phone_encrypted
        # Nothing in the registry yet.
        assert not Person.objects.exists() and not Residency.objects.exists()

        worker = client_for(cast.grid_worker_a)
        listed = worker.get(reverse("api:self-registrations"))
        assert listed.json()["count"] == 1
        assert listed.json()["results"][0]["id_number_masked"] == row.id_number_masked
        assert number not in listed.content.decode() and PHONE not in listed.content.decode()

        approved = _approve(worker, row, has_id_copy=True)
        assert approved.status_code == 200, approved.json()
        body = approved.json()
        assert body["created"] is True
        assert body["registration"]["status"] == "approved"
        assert number not in approved.content.decode()

    person = Person.objects.get(pk=body["person"])
    assert person.name == "李四"
    assert person.residency_type == Person.ResidencyType.FLOATING
    assert person.id_number_hash == pii.lookup_hash(number, purpose=pii.PURPOSE_RESIDENT_ID)
    assert person.phone_masked == "139****5678"
    residency = Residency.objects.get(pk=body["residency"])
    assert residency.house == house
    assert residency.relation == Residency.Relation.TENANT
    assert residency.moved_in_on == date(2026, 5, 18)
    assert residency.registered_by == cast.grid_worker_a
    assert residency.registration_lag_days == 2
    assert residency.has_id_copy is True
    assert PersonEvent.objects.filter(person=person, action="registered").count() == 1

    row.refresh_from_db()
    assert (row.person, row.residency, row.decided_by) == (person, residency, cast.grid_worker_a)
    # The sealed copies are erased once decided; the masks stay for the list.
    assert (row.id_number_encrypted, row.id_number_hash, row.phone_encrypted) == ("", "", "")
    assert row.id_number_masked == pii.mask_resident_id(number)
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {
        "registry.self_registration_submit",
        "registry.self_registration_approve",
        "registry.person_register",
    } <= actions

    # A second approval is refused and changes nothing.
    again = _approve(worker, row)
    assert again.status_code == 409
    assert Person.objects.count() == 1 and Residency.objects.count() == 1


@pytest.mark.django_db
def test_approval_by_a_worker_outside_the_houses_scope_is_404_and_registers_nobody(cast):
    house = f.house(rented=True)
    _submit(Client(), house, f.resident_id())
    row = SelfRegistration.objects.get()
    other = client_for(cast.grid_worker_b)

    assert other.get(reverse("api:self-registrations")).json()["count"] == 0
    approve = _approve(other, row)
    missing = other.post(
        reverse("api:self-registration-approve", args=[row.pk + 1000]), {}, format="json"
    )
    assert approve.status_code == missing.status_code == 404
    assert approve.json()["detail"] == f"No self-registration with id {row.pk}."
    reject = other.post(
        reverse("api:self-registration-reject", args=[row.pk]),
        {"reason": "查无此人"},
        format="json",
    )
    assert reject.status_code == 404
    assert other.get(reverse("api:self-registration", args=[row.pk])).status_code == 404
    row.refresh_from_db()
    assert row.status == SelfRegistration.Status.PENDING
    assert not Person.objects.exists() and not Residency.objects.exists()


@pytest.mark.django_db
def test_rejection_with_a_reason_leaves_nothing_in_the_registry(cast):
    house = f.house(rented=True)
    _submit(Client(), house, f.resident_id())
    row = SelfRegistration.objects.get()
    worker = client_for(cast.community_officer)
    url = reverse("api:self-registration-reject", args=[row.pk])

    short = worker.post(url, {"reason": "否"}, format="json")
    assert short.status_code == 400
    assert "reason" in short.json()["errors"]

    rejected = worker.post(url, {"reason": "核实非本户租户"}, format="json")
    assert rejected.status_code == 200, rejected.json()
    assert rejected.json()["status"] == "rejected"
    row.refresh_from_db()
    assert row.reject_reason == "核实非本户租户"
    assert (row.id_number_encrypted, row.id_number_hash, row.phone_hash) == ("", "", "")
    assert not Person.objects.exists() and not Residency.objects.exists()
    assert _approve(worker, row).status_code == 409
    assert worker.post(url, {"reason": "再次拒绝"}, format="json").status_code == 409
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_an_approval_the_registry_refuses_leaves_the_registration_pending(cast):
    """A known ID number under another name: person_register refuses, and the whole approval
    rolls back (the grid worker then rejects it)."""
    number = f.resident_id()
    f.register(name="王五", id_number=number)
    house = f.house(rented=True)
    _submit(Client(), house, number)
    row = SelfRegistration.objects.get()

    refused = _approve(client_for(cast.grid_worker_a), row)
    assert refused.status_code == 400
    assert "name" in refused.json()["errors"]
    row.refresh_from_db()
    assert row.status == SelfRegistration.Status.PENDING and row.id_number_encrypted
    assert Residency.objects.filter(house=house).count() == 0


@pytest.mark.django_db
def test_a_bad_form_names_the_fields_and_stores_nothing(cast):
    house = f.house(rented=True)
    bad_number = f.resident_id()[:-1] + ("0" if f.resident_id()[-1] != "0" else "1")
    response = _submit(Client(), house, bad_number, phone="12345", moved_in_on="2999-01-01")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"id_number", "phone", "moved_in_on"}
    assert bad_number not in response.content.decode()
    assert not SelfRegistration.objects.exists()


@pytest.mark.django_db
def test_the_same_tenant_waits_once_per_house(cast):
    house = f.house(rented=True)
    number = f.resident_id()
    assert _submit(Client(), house, number).status_code == 302
    twice = _submit(Client(), house, number)
    assert twice.status_code == 409
    assert SelfRegistration.objects.count() == 1


@pytest.mark.django_db
def test_only_rented_houses_take_self_registrations(cast):
    house = f.house(rented=False)
    url = reverse("web:qr-house", args=[house.qr_token])
    assert Client().get(url).status_code == 404
    assert _submit(Client(), house, f.resident_id()).status_code == 404
    assert not SelfRegistration.objects.exists()


@pytest.mark.django_db
def test_self_registration_is_rate_limited_per_address(cast, settings):
    settings.WANGGE_SELF_REGISTRATION_LIMIT = 2
    house = f.house(rented=True)
    visitor = Client(REMOTE_ADDR="203.0.113.7")
    assert _submit(visitor, house, f.resident_id()).status_code == 302
    assert _submit(visitor, house, "bad").status_code == 400  # failed attempts count too
    blocked = _submit(visitor, house, f.resident_id())
    assert blocked.status_code == 429
    assert SelfRegistration.objects.count() == 1
    # Another address is not affected.
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert _submit(elsewhere, house, f.resident_id()).status_code == 302
    assert SelfRegistration.objects.count() == 2
    # No address is kept in clear in the cache key.
    assert "203.0.113.7" not in selfregistration.self_registration_limit_key("203.0.113.7")


@pytest.mark.django_db
def test_ten_posts_from_one_client_behind_nginx_do_not_close_the_page_for_another(cast, settings):
    settings.WANGGE_TRUSTED_PROXIES = ["127.0.0.1"]
    settings.WANGGE_SELF_REGISTRATION_LIMIT = 5
    house = f.house(rented=True)
    a = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    answers = [_submit(a, house, "bad").status_code for _ in range(10)]
    assert answers == [400] * 5 + [429] * 5

    b = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert _submit(b, house, f.resident_id()).status_code == 302
    # A client that writes another address into the header itself is still counted as itself.
    forged = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.7")
    assert _submit(forged, house, f.resident_id()).status_code == 429


def test_the_limit_is_counted_in_the_shared_cache(settings):
    """Every process asks the same Django cache (Redis when WANGGE_REDIS_URL is set)."""
    settings.WANGGE_SELF_REGISTRATION_LIMIT = 1
    assert selfregistration.self_registration_attempt_allowed(client="192.0.2.1")
    key = selfregistration.self_registration_limit_key("192.0.2.1")
    assert cache.get(key) == 1
    assert not selfregistration.self_registration_attempt_allowed(client="192.0.2.1")


@pytest.mark.django_db
def test_the_form_needs_its_csrf_token(cast):
    house = f.house(rented=True)
    strict = Client(enforce_csrf_checks=True)
    assert _submit(strict, house, f.resident_id()).status_code == 403
    page = strict.get(reverse("web:qr-house", args=[house.qr_token]))
    token = page.context["csrf_token"]
    url = reverse("web:qr-house", args=[house.qr_token])
    ok = strict.post(url, {**_form(f.resident_id()), "csrfmiddlewaretoken": str(token)})
    assert ok.status_code == 302
    assert SelfRegistration.objects.count() == 1


@pytest.mark.django_db
def test_pending_rows_hold_no_number_in_clear(cast):
    house = f.house(rented=True)
    number = f.resident_id(date(1985, 7, 9))
    _submit(Client(), house, number)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SelfRegistration._meta.db_table}")  # noqa: S608
        dump = repr(cursor.fetchall())
    assert number not in dump and number[-8:] not in dump
    assert PHONE not in dump and PHONE[3:7] not in dump
    assert "TenantDetails(name='李四', …)" == repr(
        selfregistration.TenantDetails(name="李四", id_number=number, phone=PHONE, moved_in_on=None)
    )


@pytest.mark.django_db
def test_the_grid_workers_pending_page_approves_and_rejects(cast, client):
    house = f.house(rented=True)
    _submit(Client(), house, f.resident_id())
    _submit(Client(), house, f.resident_id())
    first, second = SelfRegistration.objects.order_by("pk")
    client.force_login(cast.grid_worker_a)
    url = reverse("web:mobile-self-registrations")

    page = client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count('class="m-card qr-pending"') == 2
    assert "no-store" in page["Cache-Control"]

    client.post(url, {"id": first.pk, "action": "approve", "residency_type": "floating"})
    client.post(url, {"id": second.pk, "action": "reject", "reason": "已搬离本户"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("approved", "rejected")
    assert Residency.objects.filter(house=house, relation="tenant").count() == 1

    client.force_login(cast.grid_worker_b)
    assert client.post(url, {"id": first.pk, "action": "approve"}).status_code == 404
    client.force_login(cast.street_dispatcher)
    assert client.get(url).status_code == 403
