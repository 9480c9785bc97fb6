"""The header's page links: every role sees the pages it may open, and only those."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from wangge.core.roles import user_access
from wangge.web.navigation import NAV_ITEMS

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<ul class="nav-links" id="nav-links">(.*?)</ul>', re.S)
HREF = re.compile(r'<a href="([^"]+)"')

PERSONAS = (
    "commander",
    "operator",
    "street_dispatcher",
    "community_officer",
    "grid_worker_a",
    "department_handler",
    "admin",
)


def nav_hrefs(response) -> list[str]:
    match = NAV.search(response.content.decode())
    return HREF.findall(match.group(1)) if match else []


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_role_sees_the_links_its_permissions_open_and_each_link_opens(cast, client, persona):
    user = getattr(cast, persona)
    permissions = user_access(user).permissions
    client.force_login(user)

    shown = nav_hrefs(client.get(reverse("web:notifications")))

    present = list(NAV_ITEMS)
    allowed = [reverse(item.url_name) for item in present if item.allowed(permissions)]
    hidden = [reverse(item.url_name) for item in present if not item.allowed(permissions)]
    assert shown == allowed
    assert reverse("web:map") in shown
    for url in shown:
        assert client.get(url).status_code == 200, url
    # A hidden link is a page the view refuses (the ledger page itself only needs a login).
    for url in hidden:
        if url != reverse("web:ledgers"):
            assert client.get(url).status_code == 403, url


def test_a_grid_worker_finds_his_tasks_and_the_case_map_in_the_links(cast, client):
    client.force_login(cast.grid_worker_a)
    shown = nav_hrefs(client.get(reverse("web:mobile-tasks")))
    assert reverse("web:mobile-tasks") in shown
    assert reverse("web:console-map") in shown


def test_a_user_without_a_role_gets_only_the_catalogue_and_the_inbox(cast, client):
    client.force_login(cast.nobody)
    response = client.get(reverse("web:notifications"))
    assert response.status_code == 200
    assert nav_hrefs(response) == [reverse("web:services")]
    assert f'class="inbox-link" href="{reverse("web:notifications")}"' in response.content.decode()


def test_the_current_page_is_marked_in_the_links(cast, client):
    client.force_login(cast.commander)
    text = client.get(reverse("web:console")).content.decode()
    assert f'<a href="{reverse("web:console")}" aria-current="page">' in text
    assert text.count('aria-current="page"') == 1


def test_signed_out_pages_have_no_page_links(client):
    text = client.get(reverse("login")).content.decode()
    assert "nav-links" not in text
    assert "inbox-link" not in text
