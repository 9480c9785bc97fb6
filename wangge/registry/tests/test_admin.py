"""The back office shows registry rows read-only, masked and inside the user's scope."""

import pytest
from django.test import Client
from django.urls import reverse

from wangge.registry.tests import factories as f
from wangge.testing.factories import make_user

ID_NUMBER = "11010519491231002X"


@pytest.mark.django_db
def test_the_person_pages_are_masked_scoped_and_read_only(territory):
    mine = f.register(name="甲", id_number=ID_NUMBER, phone="13812345678").person
    other = f.register(f.house(grid_code=f.GRID_B), name="乙").person
    officer = make_user("staff", role="community_officer", scope="110102001001", is_staff=True)
    client = Client()
    client.force_login(officer)

    listing = client.get(reverse("admin:registry_person_changelist"))
    page = client.get(reverse("admin:registry_person_change", args=[mine.pk]))
    hidden = client.get(reverse("admin:registry_person_change", args=[other.pk]))

    assert listing.status_code == 200
    text = listing.content.decode() + page.content.decode()
    assert "110105********002X" in text and "138****5678" in text
    assert ID_NUMBER not in text and mine.id_number_encrypted not in text
    assert mine.id_number_hash not in text
    assert "乙" not in listing.content.decode()
    assert hidden.status_code == 302  # the admin's answer for an object it cannot find
    assert b'name="_save"' not in page.content


@pytest.mark.django_db
def test_care_classes_and_tags_are_edited_by_the_system_administrator(territory):
    admin_user = make_user("sysadmin", role="system_admin", scope="110102", is_staff=True)
    client = Client()
    client.force_login(admin_user)

    assert client.get(reverse("admin:registry_tag_changelist")).status_code == 200
    assert client.get(reverse("admin:registry_careclass_add")).status_code == 200
