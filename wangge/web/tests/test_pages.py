import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_map_needs_a_login(client):
    response = client.get(reverse("web:map"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_map_page_is_chinese_by_default_and_lists_the_layers(cast, client):
    client.force_login(cast.community_officer)
    response = client.get(reverse("web:map"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "区域树" in text
    assert '"code": "social"' in text and '"code": "unit"' in text
    assert 'data-scope-codes="110102001001"' in text
    assert "vendor/leaflet/leaflet.js" in text


def test_the_map_page_speaks_english_on_request(cast, client):
    client.force_login(cast.commander)
    response = client.get(reverse("web:map"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Region tree" in response.content.decode()


def test_the_home_page_asks_a_stranger_to_sign_in(client):
    # Signed-in users land on their own work: wangge/web/tests/test_queues.py.
    assert client.get("/")["Location"] == reverse("login")
