"""Data quality of the registry (篇9): what a grid worker left undone, computed from the records.

Each rule is a named flag with a queryset of the rows it flags, so a figure can always be traced to
its records; the report counts them per grid and per grid worker. The assessment reads the same
flags. Thresholds are a ``QualityRules`` value (defaults from 篇9) so a district's rules can be
passed in rather than edited here.

Rules, judged on ``today`` (local date) and, for the "late" ones, over a period of days:

- ``unregistered``: a floating resident's move-in recorded but not registered, moved in more than
  2 days ago (``unregistered_long``: more than 30 days).
- ``late_registration``: a floating resident's registration completed in the period more than
  2 days after the moving-in date.
- ``not_deregistered``: a residency whose person moved out more than 3 days ago and which is not
  deregistered (``not_deregistered_long``: more than 30 days). Any residency type.
- ``late_deregistration``: deregistered in the period more than 3 days after the moving-out date.
- ``duplicate``: an active person with the same name and birth date as another active person,
  where at most one of the two has an ID number (two different ID numbers are two people).
- ``missing_photo``: a current resident without a photo who is 2 or older, or whose age is unknown.
- ``no_permit``: a floating current resident without a valid residence permit (the permit rate is
  the share that has one).
- ``rental_incomplete``: a tenant living in a rented house where the lease contract, the
  responsibility letter, the filing form, the tenant's ID copy or photo is missing.

"Current resident": an active person with a residency neither moved out nor deregistered, counted
in his home grid (``Person.region_code``). Residency flags count in the residency's grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from wangge.core.models import User
from wangge.core.scope import filter_to_scope
from wangge.regions.models import Grid
from wangge.regions.selectors import WorkerArea, grid_workers_within
from wangge.registry.models import House, Person, Residency


@dataclass(frozen=True)
class QualityRules:
    registration_days: int = 2
    long_unregistered_days: int = 30
    deregistration_days: int = 3
    long_not_deregistered_days: int = 30
    photo_from_age: int = 2


RULES = QualityRules()


class Flag(StrEnum):
    UNREGISTERED = "unregistered"
    UNREGISTERED_LONG = "unregistered_long"
    LATE_REGISTRATION = "late_registration"
    NOT_DEREGISTERED = "not_deregistered"
    NOT_DEREGISTERED_LONG = "not_deregistered_long"
    LATE_DEREGISTRATION = "late_deregistration"
    DUPLICATE = "duplicate"
    MISSING_PHOTO = "missing_photo"
    NO_PERMIT = "no_permit"
    RENTAL_INCOMPLETE = "rental_incomplete"


PERSON_FLAGS = frozenset({Flag.DUPLICATE, Flag.MISSING_PHOTO, Flag.NO_PERMIT})


@dataclass(frozen=True)
class Period:
    today: date
    since: date
    until: date

    @classmethod
    def of(cls, today: date | None, since: date | None, until: date | None) -> Period:
        today = today or timezone.localdate()
        return cls(today=today, since=since or today.replace(day=1), until=until or today)

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as aware datetimes: local midnight of ``since`` up to the day after ``until``."""
        start = timezone.make_aware(datetime.combine(self.since, time.min))
        end = timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))
        return start, end


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


_CURRENT = Q(moved_out_on__isnull=True, deregistered_at__isnull=True)


def _current_residency_exists(**extra: Any) -> Exists:
    return Exists(Residency.objects.filter(_CURRENT, person=OuterRef("pk"), **extra))


def _residents() -> QuerySet[Person]:
    return Person.objects.filter(status=Person.Status.ACTIVE).filter(_current_residency_exists())


def _valid_permit(today: date) -> Exists:
    return _current_residency_exists(
        permit_status=Residency.PermitStatus.ISSUED, permit_expires_on__gte=today
    )


def _floating_residencies() -> QuerySet[Residency]:
    return Residency.objects.filter(
        person__residency_type=Person.ResidencyType.FLOATING,
        person__status=Person.Status.ACTIVE,
    )


def _all_flagged(
    flag: Flag, period: Period, rules: QualityRules
) -> QuerySet[Residency] | QuerySet[Person]:
    today = period.today
    if flag in (Flag.UNREGISTERED, Flag.UNREGISTERED_LONG):
        days = (
            rules.registration_days if flag == Flag.UNREGISTERED else rules.long_unregistered_days
        )
        return _floating_residencies().filter(
            registered_at__isnull=True,
            deregistered_at__isnull=True,
            moved_in_on__lt=today - timedelta(days=days),
        )
    if flag == Flag.LATE_REGISTRATION:
        start, end = period.bounds()
        return _floating_residencies().filter(
            registered_at__gte=start,
            registered_at__lt=end,
            registration_lag_days__gt=rules.registration_days,
        )
    if flag in (Flag.NOT_DEREGISTERED, Flag.NOT_DEREGISTERED_LONG):
        days = (
            rules.deregistration_days
            if flag == Flag.NOT_DEREGISTERED
            else rules.long_not_deregistered_days
        )
        return Residency.objects.filter(
            deregistered_at__isnull=True, moved_out_on__lt=today - timedelta(days=days)
        )
    if flag == Flag.LATE_DEREGISTRATION:
        start, end = period.bounds()
        return Residency.objects.filter(
            deregistered_at__gte=start,
            deregistered_at__lt=end,
            deregistration_lag_days__gt=rules.deregistration_days,
        )
    if flag == Flag.DUPLICATE:
        same = Person.objects.filter(
            status=Person.Status.ACTIVE, name=OuterRef("name"), birth_date=OuterRef("birth_date")
        ).exclude(pk=OuterRef("pk"))
        return Person.objects.filter(status=Person.Status.ACTIVE, birth_date__isnull=False).filter(
            Q(Exists(same.filter(id_number_hash=""))) | (Q(id_number_hash="") & Q(Exists(same)))
        )
    if flag == Flag.MISSING_PHOTO:
        born_before = _years_before(today, rules.photo_from_age)
        return (
            _residents()
            .filter(photo="")
            .filter(Q(birth_date__isnull=True) | Q(birth_date__lte=born_before))
        )
    if flag == Flag.NO_PERMIT:
        return (
            _residents()
            .filter(residency_type=Person.ResidencyType.FLOATING)
            .exclude(_valid_permit(today))
        )
    if flag == Flag.RENTAL_INCOMPLETE:
        complete = Q(
            house__has_lease_contract=True,
            house__has_responsibility_letter=True,
            house__has_rental_filing=True,
            has_id_copy=True,
        ) & ~Q(person__photo="")
        return Residency.objects.filter(
            _CURRENT,
            relation=Residency.Relation.TENANT,
            house__rented=True,
            person__status=Person.Status.ACTIVE,
        ).exclude(complete)
    raise ValueError(f"unknown data-quality flag {flag!r}")


def flagged(
    *,
    user: User,
    flag: Flag | str,
    today: date | None = None,
    since: date | None = None,
    until: date | None = None,
    region: str | None = None,
    rules: QualityRules = RULES,
) -> QuerySet[Residency] | QuerySet[Person]:
    """The rows one rule flags inside the user's scope (residencies, or people for person rules)."""
    rows = filter_to_scope(
        _all_flagged(Flag(flag), Period.of(today, since, until), rules), user, "region_code"
    )
    if region:
        rows = rows.filter(region_code__startswith=region)
    return rows.order_by("region_code", "pk")


# The report -------------------------------------------------------------------------------------

COUNTED_FLAGS = tuple(Flag)


@dataclass
class QualityRow:
    code: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    username: str = ""

    @property
    def permit_rate(self) -> float | None:
        floating = self.counts.get("floating_residents", 0)
        return None if not floating else round(self.counts.get("permits_valid", 0) / floating, 4)

    def add(self, other: QualityRow) -> None:
        for key, value in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "username": self.username,
            **self.counts,
            "permit_rate": self.permit_rate,
        }


@dataclass
class QualityReport:
    as_of: date
    since: date
    until: date
    by: str
    rows: list[QualityRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "since": self.since,
            "until": self.until,
            "by": self.by,
            "rows": [row.as_dict() for row in self.rows],
        }


def _count_by_grid(rows: QuerySet[Any]) -> dict[str, int]:
    return dict(rows.order_by().values_list("region_code").annotate(n=Count("pk", distinct=True)))


def _grid_counts(
    user: User, period: Period, rules: QualityRules, region: str | None
) -> dict[str, dict[str, int]]:
    def scoped(rows: QuerySet[Any]) -> QuerySet[Any]:
        rows = filter_to_scope(rows, user, "region_code")
        return rows.filter(region_code__startswith=region) if region else rows

    today = period.today
    figures: dict[str, dict[str, int]] = {}
    measures: dict[str, QuerySet[Any]] = {
        "current_residents": _residents(),
        "floating_residents": _residents().filter(residency_type=Person.ResidencyType.FLOATING),
        "permits_valid": _residents()
        .filter(residency_type=Person.ResidencyType.FLOATING)
        .filter(_valid_permit(today)),
        "rented_houses": House.objects.filter(rented=True),
        "rented_houses_incomplete": House.objects.filter(rented=True).filter(
            ~Q(has_lease_contract=True, has_responsibility_letter=True, has_rental_filing=True)
            | Q(
                Exists(
                    _all_flagged(Flag.RENTAL_INCOMPLETE, period, rules).filter(house=OuterRef("pk"))
                )
            )
        ),
    }
    for flag in COUNTED_FLAGS:
        measures[flag.value] = _all_flagged(flag, period, rules)
    for name, rows in measures.items():
        for code, count in _count_by_grid(scoped(rows)).items():
            figures.setdefault(code, {})[name] = count
    return figures


MEASURES = (
    "current_residents",
    "floating_residents",
    "permits_valid",
    "rented_houses",
    "rented_houses_incomplete",
    *(flag.value for flag in COUNTED_FLAGS),
)


def quality_report(
    *,
    user: User,
    by: str = "grid",
    today: date | None = None,
    since: date | None = None,
    until: date | None = None,
    region: str | None = None,
    rules: QualityRules = RULES,
) -> QualityReport:
    """Counts of every rule per grid (``by="grid"``) or per grid worker (``by="worker"``: the sum
    over the grids his scope covers), inside the user's scope."""
    period = Period.of(today, since, until)
    figures = _grid_counts(user, period, rules, region)
    grids = filter_to_scope(Grid.objects.filter(layer_id="social"), user)
    if region:
        grids = grids.filter(code__startswith=region)
    names = dict(grids.values_list("code", "name"))
    rows = {
        code: QualityRow(code=code, name=names.get(code, ""), counts=dict.fromkeys(MEASURES, 0))
        for code in set(names) | set(figures)
    }
    for code, counts in figures.items():
        rows[code].counts.update(counts)
    grid_rows = [rows[code] for code in sorted(rows)]
    if by == "grid":
        return QualityReport(period.today, period.since, period.until, by, grid_rows)
    if by != "worker":
        raise ValueError(f"unknown grouping {by!r}")
    rows_by_worker = worker_rows(grid_rows, grid_workers(user, region))
    return QualityReport(period.today, period.since, period.until, by, rows_by_worker)


def worker_rows(grid_rows: list[QualityRow], workers: list[WorkerArea]) -> list[QualityRow]:
    """Per grid worker: the sum of the grid rows his scope covers (one pass over computed rows)."""
    rows = []
    for area in workers:
        worker = area.worker
        row = QualityRow(
            code=area.code,
            name=worker.get_full_name() or worker.username,
            username=worker.username,
            counts=dict.fromkeys(MEASURES, 0),
        )
        for grid_row in grid_rows:
            if area.covers(grid_row.code):
                row.add(grid_row)
        rows.append(row)
    return rows


def grid_workers(user: User, region: str | None) -> list[WorkerArea]:
    """Active grid workers whose scope lies inside the user's, with their grids there."""
    return grid_workers_within(user=user, region=region)
