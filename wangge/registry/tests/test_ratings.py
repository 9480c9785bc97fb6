"""Quarterly star rating of rented houses (一户一评、一户一档): criteria and levels are data, the
suggestion is computed from the records, one rating per house and quarter, overrides need a reason."""

from datetime import date

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from wangge.core.errors import ConflictError, InvalidInputError
from wangge.core.models import AuditLog
from wangge.registry import lifecycle, qrcodes, ratings
from wangge.registry.models import HouseRating, Person, RatingCriterion, RatingLevel
from wangge.registry.tests import factories as f
from wangge.testing.factories import client_for

BOTH_SAFE = {"fire_safety": True, "gas_safety": True}


def _frozen():
    return time_machine.travel("2026-05-20 10:00+08:00", tick=False)


def _model_house(actor):
    """A rented house with every document, a registered tenant with ID copy, photo and permit,
    scanned this quarter."""
    house = f.house(
        rented=True,
        has_lease_contract=True,
        has_responsibility_letter=True,
        has_rental_filing=True,
    )
    tenant = f.register(
        house,
        name="钱七",
        relation="tenant",
        residency_type="floating",
        moved_in_on=date(2026, 5, 19),
        has_id_copy=True,
    )
    Person.objects.filter(pk=tenant.person.pk).update(photo="registry/people/2026/05/q.jpg")
    lifecycle.residency_issue_permit(
        residency=tenant.residency,
        permit_number="11010220260001",
        issued_on=date(2026, 5, 19),
        expires_on=date(2027, 5, 18),
        actor=actor,
    )
    qrcodes.house_scan_log(house=house, user=actor)
    return house, tenant


@pytest.mark.django_db
def test_the_criteria_and_levels_are_seeded_data_worth_100_points():
    criteria = list(RatingCriterion.objects.all())
    assert len(criteria) == 11
    assert sum(c.points for c in criteria) == 100
    assert {c.rule for c in criteria} == set(RatingCriterion.Rule.values)
    assert [level.stars for level in RatingLevel.objects.all()] == [5, 4, 3, 2, 1]
    assert ratings.stars_for(100) == 5 and ratings.stars_for(74) == 3 and ratings.stars_for(0) == 1


def test_quarters():
    assert ratings.quarter_of(date(2026, 5, 20)) == (2026, 2)
    assert ratings.quarter_bounds(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    assert ratings.quarter_bounds(2026, 1) == (date(2026, 1, 1), date(2026, 3, 31))


@pytest.mark.django_db
def test_a_house_with_every_record_in_order_is_suggested_five_stars(cast):
    with _frozen():
        house, _tenant = _model_house(cast.grid_worker_a)
        suggestion = ratings.rating_suggestion(house=house, year=2026, quarter=2, manual=BOTH_SAFE)
    assert [r.code for r in suggestion.results if not r.met] == []
    assert (suggestion.points, suggestion.max_points, suggestion.stars) == (100, 100, 5)


@pytest.mark.django_db
def test_each_missing_record_costs_its_criterion(cast):
    with _frozen():
        house, tenant = _model_house(cast.grid_worker_a)
        house.has_lease_contract = False
        house.save(update_fields=["has_lease_contract"])
        lifecycle.residency_update(
            residency=tenant.residency, changes={"has_id_copy": False}, actor=None
        )
        late = f.register(
            house,
            name="孙八",
            relation="tenant",
            residency_type="floating",
            moved_in_on=date(2026, 5, 1),
            has_id_copy=True,
        )  # registered 19 days after moving in, no photo, no permit
        suggestion = ratings.rating_suggestion(
            house=house, year=2026, quarter=2, manual={"fire_safety": True}
        )
    unmet = {r.code: r.met for r in suggestion.results if not r.met}
    assert unmet == {
        "registration": False,
        "lease_contract": False,
        "id_copies": False,
        "photos": False,
        "permits": False,
        "gas_safety": None,
    }
    assert suggestion.points == 100 - 20 - 10 - 10 - 5 - 10 - 5 == 40
    assert suggestion.stars == 2
    assert late.residency.registration_lag_days == 19
    # Last quarter: no scan then.
    with _frozen():
        q1 = ratings.rating_suggestion(house=house, year=2026, quarter=1, manual=BOTH_SAFE)
    assert {r.code for r in q1.results if not r.met} >= {"qr_scan"}


@pytest.mark.django_db
def test_changing_the_criteria_data_changes_the_suggestion(cast):
    with _frozen():
        house, _tenant = _model_house(cast.grid_worker_a)
        RatingCriterion.objects.filter(code="qr_scan").update(points=30)
        RatingCriterion.objects.filter(code="gas_safety").update(active=False)
        RatingLevel.objects.filter(stars=5).update(min_points=125)
        suggestion = ratings.rating_suggestion(
            house=house, year=2026, quarter=2, manual={"fire_safety": True}
        )
    assert "gas_safety" not in [r.code for r in suggestion.results]
    assert (suggestion.points, suggestion.max_points, suggestion.stars) == (115, 115, 4)


@pytest.mark.django_db
def test_one_rating_per_house_and_quarter_with_history_on_the_house(cast):
    with _frozen():
        house, _tenant = _model_house(cast.grid_worker_a)
        worker = client_for(cast.grid_worker_a)
        url = reverse("api:house-ratings", args=[house.pk])

        created = worker.post(url, {"year": 2026, "quarter": 2, "manual": BOTH_SAFE}, format="json")
        assert created.status_code == 201, created.json()
        body = created.json()
        assert (body["points"], body["suggested_stars"], body["stars"]) == (100, 5, 5)
        assert body["rated_by"] == "worker_a"
        assert len(body["results"]) == 11

        again = worker.post(url, {"year": 2026, "quarter": 2, "manual": BOTH_SAFE}, format="json")
        assert again.status_code == 409
        assert again.json()["current"]["rating_id"] == body["id"]

        earlier = worker.post(
            url,
            {"year": 2026, "quarter": 1, "manual": BOTH_SAFE, "stars": 3, "reason": "一季度未走访"},
            format="json",
        )
        assert earlier.status_code == 201, earlier.json()
        history = worker.get(url).json()
        assert [(r["year"], r["quarter"], r["stars"]) for r in history] == [
            (2026, 2, 5),
            (2026, 1, 3),
        ]
        assert history[1]["override_reason"] == "一季度未走访"
        assert AuditLog.objects.filter(action="registry.house_rate").count() == 2

    # The database holds the rule too.
    row = HouseRating.objects.get(pk=body["id"])
    row.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


@pytest.mark.django_db
def test_a_rating_needs_every_manual_criterion_and_a_reason_for_other_stars(cast):
    with _frozen():
        house, _tenant = _model_house(cast.grid_worker_a)
        with pytest.raises(InvalidInputError) as missing:
            ratings.house_rate(house=house, year=2026, quarter=2, manual={}, actor=None)
        assert "manual" in missing.value.errors
        with pytest.raises(InvalidInputError) as unknown:
            ratings.house_rate(
                house=house,
                year=2026,
                quarter=2,
                manual={**BOTH_SAFE, "lease_contract": True},
                actor=None,
            )
        assert "manual" in unknown.value.errors
        with pytest.raises(InvalidInputError) as no_reason:
            ratings.house_rate(
                house=house, year=2026, quarter=2, manual=BOTH_SAFE, stars=2, actor=None
            )
        assert "reason" in no_reason.value.errors
        with pytest.raises(InvalidInputError) as future:
            ratings.house_rate(house=house, year=2026, quarter=3, manual=BOTH_SAFE, actor=None)
        assert "year" in future.value.errors
        assert not HouseRating.objects.exists()

        rating = ratings.house_rate(
            house=house,
            year=2026,
            quarter=2,
            manual=BOTH_SAFE,
            stars=4,
            reason="楼道堆物",
            actor=cast.grid_worker_a,
        )
        assert (rating.suggested_stars, rating.stars, rating.override_reason) == (5, 4, "楼道堆物")
        with pytest.raises(ConflictError):
            ratings.house_rate(house=house, year=2026, quarter=2, manual=BOTH_SAFE, actor=None)

        not_rented = f.house(rented=False)
        with pytest.raises(InvalidInputError) as rented:
            ratings.house_rate(house=not_rented, year=2026, quarter=2, manual=BOTH_SAFE, actor=None)
        assert "house" in rented.value.errors


@pytest.mark.django_db
def test_ratings_are_scoped_like_the_house(cast):
    with _frozen():
        house, _tenant = _model_house(cast.grid_worker_a)
        other = client_for(cast.grid_worker_b)
        url = reverse("api:house-ratings", args=[house.pk])
        assert other.get(url).status_code == 404
        assert other.post(url, {"year": 2026, "quarter": 2}, format="json").status_code == 404
        assert other.get(reverse("api:house-rating-suggestion", args=[house.pk])).status_code == 404
        street = client_for(cast.street_dispatcher)
        assert street.post(url, {"year": 2026, "quarter": 2}, format="json").status_code == 403

        suggestion = client_for(cast.grid_worker_a).get(
            reverse("api:house-rating-suggestion", args=[house.pk])
        )
        assert suggestion.status_code == 200
        assert (suggestion.json()["year"], suggestion.json()["quarter"]) == (2026, 2)
        assert suggestion.json()["points"] == 90  # the two manual criteria not stated yet
        criteria = client_for(cast.grid_worker_a).get(reverse("api:rating-criteria")).json()
        assert len(criteria["criteria"]) == 11 and len(criteria["levels"]) == 5


@pytest.mark.django_db
def test_the_rating_fragment_rates_the_quarter_from_the_house_page(cast, client):
    with _frozen():
        house, _tenant = _model_house(cast.grid_worker_a)
        client.force_login(cast.grid_worker_a)
        url = reverse("web:registry-house-ratings", args=[house.pk])
        fragment = client.get(url)
        assert fragment.status_code == 200
        assert "2026Q2" in fragment.content.decode()

        posted = client.post(
            url,
            {
                "manual_fire_safety": "on",
                "manual_gas_safety": "on",
                "next": reverse("web:qr-house", args=[house.qr_token]),
            },
        )
        assert posted.status_code == 302
        rating = HouseRating.objects.get()
        assert (rating.year, rating.quarter, rating.stars, rating.rated_by) == (
            2026,
            2,
            5,
            cast.grid_worker_a,
        )
        assert rating.rated_at <= timezone.now()
        assert client.post(url, {"manual_fire_safety": "on"}).status_code == 409
        page = client.get(reverse("web:qr-house", args=[house.qr_token]))
        assert "5★" in page.content.decode()
        client.force_login(cast.grid_worker_b)
        assert client.get(url).status_code == 404
