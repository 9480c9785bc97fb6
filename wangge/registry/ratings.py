"""Quarterly star rating of rented houses (篇9: 一户一评、一户一档).

The criteria and the star levels are data (``RatingCriterion``, ``RatingLevel``, seeded by migration
0004 from 篇9's wording, edited in the admin). Each criterion names a rule: one computed here from
the records (documents on the house, the tenants' registrations, ID copies, photos, permits, the
QR scans of the quarter, deregistrations) or ``manual`` (fire and gas safety, stated by the grid
worker on the visit). The points of the criteria met give the suggested stars; the grid worker may
give other stars with a reason. One rating per house per quarter; the ratings are the house's file.

A rented house without tenants meets the tenant criteria (there is nobody left undone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import audit_log_write
from wangge.core.errors import ConflictError
from wangge.core.models import User
from wangge.registry.lifecycle import Errors, invalid
from wangge.registry.models import (
    House,
    HouseRating,
    HouseScan,
    Person,
    RatingCriterion,
    RatingLevel,
    Residency,
)
from wangge.registry.quality import RULES as QUALITY_RULES

Rule = RatingCriterion.Rule
MIN_REASON_LENGTH = 4


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a quarter."""
    first = date(year, 3 * (quarter - 1) + 1, 1)
    following = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    return first, following - timedelta(days=1)


@dataclass(frozen=True)
class Facts:
    """What the rules look at, gathered once per house and quarter."""

    house: House
    day: date  # the day judged: the quarter's last day, or today while it runs
    start: datetime
    end: datetime
    tenants: list[Residency]


def _tenants(house: House) -> list[Residency]:
    return list(
        Residency.objects.filter(
            house=house,
            relation=Residency.Relation.TENANT,
            moved_out_on__isnull=True,
            deregistered_at__isnull=True,
            person__status=Person.Status.ACTIVE,
        ).select_related("person")
    )


def _registered(facts: Facts) -> bool:
    days = QUALITY_RULES.registration_days
    return all(
        r.registered_at is not None
        and (r.registration_lag_days is None or r.registration_lag_days <= days)
        for r in facts.tenants
    )


def _permits(facts: Facts) -> bool:
    return all(
        r.permit_valid_on(facts.day)
        for r in facts.tenants
        if r.person.residency_type == Person.ResidencyType.FLOATING
    )


def _scanned(facts: Facts) -> bool:
    return HouseScan.objects.filter(
        house=facts.house, scanned_at__gte=facts.start, scanned_at__lt=facts.end
    ).exists()


def _deregistered_on_time(facts: Facts) -> bool:
    days = QUALITY_RULES.deregistration_days
    tenancies = Residency.objects.filter(house=facts.house, relation=Residency.Relation.TENANT)
    overdue = tenancies.filter(
        deregistered_at__isnull=True, moved_out_on__lt=facts.day - timedelta(days=days)
    )
    late = tenancies.filter(
        deregistered_at__gte=facts.start,
        deregistered_at__lt=facts.end,
        deregistration_lag_days__gt=days,
    )
    return not overdue.exists() and not late.exists()


RULES: dict[str, Callable[[Facts], bool]] = {
    Rule.REGISTRATION_COMPLETE: _registered,
    Rule.LEASE_CONTRACT: lambda facts: facts.house.has_lease_contract,
    Rule.RESPONSIBILITY_LETTER: lambda facts: facts.house.has_responsibility_letter,
    Rule.RENTAL_FILING: lambda facts: facts.house.has_rental_filing,
    Rule.ID_COPIES: lambda facts: all(r.has_id_copy for r in facts.tenants),
    Rule.TENANT_PHOTOS: lambda facts: all(bool(r.person.photo) for r in facts.tenants),
    Rule.TENANT_PERMITS: _permits,
    Rule.SCANNED_IN_QUARTER: _scanned,
    Rule.DEREGISTERED_ON_TIME: _deregistered_on_time,
}


@dataclass(frozen=True)
class CriterionResult:
    code: str
    name: str
    rule: str
    points: int
    met: bool | None  # None: a manual criterion not stated yet

    @property
    def earned(self) -> int:
        return self.points if self.met else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "rule": self.rule,
            "points": self.points,
            "met": self.met,
            "earned": self.earned,
        }


@dataclass(frozen=True)
class Suggestion:
    year: int
    quarter: int
    results: list[CriterionResult]
    points: int
    max_points: int
    stars: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "quarter": self.quarter,
            "points": self.points,
            "max_points": self.max_points,
            "suggested_stars": self.stars,
            "results": [result.as_dict() for result in self.results],
        }


def stars_for(points: int, levels: list[RatingLevel] | None = None) -> int:
    """The highest star level whose minimum the points reach; 0 when none is reached."""
    levels = levels if levels is not None else list(RatingLevel.objects.order_by("-stars"))
    for level in sorted(levels, key=lambda level: -level.stars):
        if points >= level.min_points:
            return level.stars
    return 0


def _check_quarter(year: int, quarter: int, today: date, errors: Errors) -> None:
    if quarter not in (1, 2, 3, 4):
        errors["quarter"] = [_("A quarter is 1, 2, 3 or 4.")]
    elif not 2000 <= year <= today.year or quarter_bounds(year, quarter)[0] > today:
        errors["year"] = [_("The quarter has not begun.")]


def rating_suggestion(
    *,
    house: House,
    year: int,
    quarter: int,
    manual: Mapping[str, bool] | None = None,
    today: date | None = None,
) -> Suggestion:
    """The criteria judged from the records for one house and quarter, and the stars they give."""
    today = today or timezone.localdate()
    errors: Errors = {}
    _check_quarter(year, quarter, today, errors)
    if errors:
        raise invalid(errors)
    first, last = quarter_bounds(year, quarter)
    facts = Facts(
        house=house,
        day=min(last, today),
        start=timezone.make_aware(datetime.combine(first, time.min)),
        end=timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min)),
        tenants=_tenants(house),
    )
    manual = manual or {}
    results = []
    for criterion in RatingCriterion.objects.filter(active=True).order_by("sort_order", "code"):
        if criterion.rule == Rule.MANUAL:
            met = manual.get(criterion.code)
        else:
            met = RULES[criterion.rule](facts)
        results.append(
            CriterionResult(
                code=criterion.code,
                name=criterion.name,
                rule=criterion.rule,
                points=criterion.points,
                met=None if met is None else bool(met),
            )
        )
    points = sum(result.earned for result in results)
    return Suggestion(
        year=year,
        quarter=quarter,
        results=results,
        points=points,
        max_points=sum(result.points for result in results),
        stars=stars_for(points),
    )


@transaction.atomic
def house_rate(
    *,
    house: House,
    year: int,
    quarter: int,
    manual: Mapping[str, bool] | None = None,
    stars: int | None = None,
    reason: str = "",
    actor: User | None,
) -> HouseRating:
    """Rate a rented house for a quarter: the suggestion from the records, or other stars with a
    reason. Every manual criterion must be stated. A second rating of the quarter is a 409."""
    errors: Errors = {}
    if not house.rented:
        errors["house"] = [_("Only rented houses are rated.")]
    if errors:
        raise invalid(errors)
    suggestion = rating_suggestion(house=house, year=year, quarter=quarter, manual=manual)
    unstated = [r.code for r in suggestion.results if r.met is None]
    if unstated:
        errors["manual"] = [
            _("State whether these are met: %(codes)s.") % {"codes": ", ".join(unstated)}
        ]
    known = {r.code for r in suggestion.results if r.rule == Rule.MANUAL}
    unknown = sorted(set(manual or {}) - known)
    if unknown:
        errors["manual"] = [
            _("Not a criterion judged by hand: %(codes)s.") % {"codes": ", ".join(unknown)}
        ]
    given = suggestion.stars if stars is None else stars
    reason = " ".join((reason or "").split())
    if not 0 <= given <= 5:
        errors["stars"] = [_("Stars are 0 to 5.")]
    elif given != suggestion.stars and len(reason) < MIN_REASON_LENGTH:
        errors["reason"] = [
            _(
                "Give a reason of at least %(count)d characters for stars other than the %(n)d "
                "suggested."
            )
            % {"count": MIN_REASON_LENGTH, "n": suggestion.stars}
        ]
    if errors:
        raise invalid(errors)
    existing = HouseRating.objects.filter(house=house, year=year, quarter=quarter).first()
    if existing is not None:
        raise ConflictError(
            _("This house is already rated for %(year)dQ%(quarter)d.")
            % {"year": year, "quarter": quarter},
            {"rating_id": existing.pk},
        )
    try:
        with transaction.atomic():
            rating = HouseRating.objects.create(
                house=house,
                region_code=house.region_code,
                year=year,
                quarter=quarter,
                points=suggestion.points,
                max_points=suggestion.max_points,
                suggested_stars=suggestion.stars,
                stars=given,
                override_reason=reason[:500] if given != suggestion.stars else "",
                results=[result.as_dict() for result in suggestion.results],
                rated_by=actor if actor is not None and actor.pk else None,
                rated_at=timezone.now(),
            )
    except IntegrityError:
        raise ConflictError(
            _("This house is already rated for %(year)dQ%(quarter)d.")
            % {"year": year, "quarter": quarter}
        ) from None
    audit_log_write(
        actor=actor,
        action="registry.house_rate",
        target_type="registry.house",
        target_id=house.pk,
        details={
            "rating": rating.pk,
            "quarter": f"{year}Q{quarter}",
            "points": rating.points,
            "suggested_stars": rating.suggested_stars,
            "stars": rating.stars,
        },
    )
    return rating


def house_ratings(*, house: House) -> QuerySet[HouseRating]:
    """The house's file (一户一档): its ratings, newest quarter first."""
    return house.ratings.select_related("rated_by").order_by("-year", "-quarter")


def rating_criteria() -> QuerySet[RatingCriterion]:
    return RatingCriterion.objects.filter(active=True).order_by("sort_order", "code")


def rating_levels() -> QuerySet[RatingLevel]:
    return RatingLevel.objects.order_by("-stars")
