"""The "four-class" method (四类管理法): a household's care class follows from its members' tags.

Rule: among the active tags of the people living in the household now (residency neither moved out
nor deregistered), take the care class with the lowest level number; with no such tag the household
gets the default class, the one with the highest level number. The classes, their visit intervals
and which tag implies which class are rows (``CareClass``, ``Tag``), edited in the admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from wangge.registry.models import CareClass, Household, Person, Tag


def care_class_for_tags(tags: Iterable[Tag], classes: Iterable[CareClass]) -> CareClass | None:
    """The class a set of tags implies (no database access: pass tags with their classes)."""
    implied = [tag.care_class for tag in tags if tag.active and tag.care_class is not None]
    if implied:
        return min(implied, key=lambda care_class: care_class.level)
    return max(classes, key=lambda care_class: care_class.level, default=None)


def household_members(household: Household) -> list[Person]:
    return list(
        Person.objects.filter(
            status=Person.Status.ACTIVE,
            residencies__household=household,
            residencies__moved_out_on__isnull=True,
            residencies__deregistered_at__isnull=True,
        ).distinct()
    )


def refresh_care_classes(household_ids: Iterable[int | None]) -> None:
    """Recompute and store the care class of these households (call inside the writing service)."""
    ids = {pk for pk in household_ids if pk is not None}
    if not ids:
        return
    classes = list(CareClass.objects.all())
    for household in Household.objects.filter(pk__in=ids):
        tags = Tag.objects.filter(
            people__status=Person.Status.ACTIVE,
            people__residencies__household=household,
            people__residencies__moved_out_on__isnull=True,
            people__residencies__deregistered_at__isnull=True,
        ).select_related("care_class")
        care_class = care_class_for_tags(tags, classes)
        care_class_id = care_class.pk if care_class else None
        if household.care_class_id != care_class_id:
            Household.objects.filter(pk=household.pk).update(care_class_id=care_class_id)


def next_visit_due(last_visit: date | None, care_class: CareClass | None, today: date) -> date:
    """When a household is due for its next visit (入户走访): today if never visited."""
    if last_visit is None or care_class is None:
        return today
    return last_visit + timedelta(days=care_class.visit_interval_days)
