"""No full ID or phone number in clear in any database column, nor in the answers that carry them.

Generalizes registry/tests/test_privacy.py (one person, the registry's own tables) to the whole
database: the scope matrix's world (people, tenants' self-registrations, organizations' contact
phones, cases' reporters in five places) plus the API doors the numbers come in by, then every text
column of every table is read back and scanned — for the planted numbers and for anything shaped
like a valid resident ID or a mobile number. The logs of the whole run are scanned by conftest.py
(wangge/testing/logcapture.py); the answers of every endpoint by the scope matrix.
"""

from __future__ import annotations

import pytest
from django.db import connection

from wangge.proof.tests.world import build_world, pii_id, pii_phone
from wangge.testing.factories import client_for
from wangge.testing.piiscan import find_pii

NEW_ID = pii_id(300)
NEW_PHONE = pii_phone(300)
REPORTER_PHONE = pii_phone(301)


def scan_database(known: list[str]) -> dict[str, list[str]]:
    """Table → findings, over every value of every row of every table (cast to text)."""
    findings: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            text = "\n".join("\t".join(map(str, row)) for row in cursor.fetchall())
            if found := find_pii(text, known=known):
                findings[table] = found
    return findings


def test_the_scanner_finds_valid_numbers_and_planted_ones():
    text = f"id {NEW_ID} phone {NEW_PHONE} masked 110102********1234 138****5678"

    assert find_pii(text) == [f"id {NEW_ID[:3]}…{NEW_ID[-2:]}", f"phone {NEW_PHONE[:3]}…00"]
    assert find_pii(NEW_ID[:17] + "0" if NEW_ID[-1] != "0" else NEW_ID[:17] + "1") == []
    assert find_pii(f"row {NEW_ID[:17]}", known=[NEW_ID]) == [f"planted {NEW_ID[:3]}…{NEW_ID[-2:]}"]
    assert find_pii("hash 9f13912345678ab") == []


@pytest.mark.django_db
def test_the_column_scan_sees_a_number_stored_in_clear(cast):
    """The scan can fail: a number written in clear into a text column is found."""
    cast.nobody.first_name = NEW_PHONE
    cast.nobody.save(update_fields=["first_name"])

    assert "core_user" in scan_database([])


@pytest.mark.django_db
def test_no_text_column_holds_a_full_id_or_phone_number(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    world = build_world(home_importer=cast.commander)
    home = world["P0"]
    officer = client_for(cast.community_officer)
    worker = client_for(cast.grid_worker_a)

    answers = [
        officer.post(
            "/api/v1/people/",
            {
                "house": home.house.pk,
                "relation": "tenant",
                "name": "钱十",
                "residency_type": "floating",
                "moved_in_on": "2025-01-05",
                "id_number": NEW_ID,
                "phone": NEW_PHONE,
            },
            format="json",
        ),
        officer.patch(
            f"/api/v1/people/{home.person.pk}/", {"phone": pii_phone(302)}, format="json"
        ),
        officer.post("/api/v1/people/search/", {"id_number": home.id_number}, format="json"),
        worker.post(
            "/api/v1/cases/",
            {
                "source": "patrol",
                "category": home.case.category_id,
                "description": "居民来电反映井盖破损",
                "lng": home.spec.point[0],
                "lat": home.spec.point[1],
                "reporter_name": "赵六",
                "reporter_phone": REPORTER_PHONE,
            },
            format="json",
        ),
    ]
    unmasked = officer.post(
        f"/api/v1/people/{home.person.pk}/unmask/",
        {"field": "id_number", "reason": f"核对 {home.id_number} 的身份"},
        format="json",
    )

    assert [a.status_code for a in answers] == [201, 200, 200, 201], [a.content for a in answers]
    assert unmasked.json()["value"] == home.id_number  # the numbers are real: only this door shows
    known = [*world.pii(), NEW_ID, NEW_PHONE, REPORTER_PHONE, pii_phone(302)]
    for answer in answers:
        assert find_pii(answer.content.decode(), known=known) == [], answer.request["PATH_INFO"]
    assert scan_database(known) == {}
