from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from wangge.cases import selectors, sla
from wangge.cases.models import AreaGrade, Case, CaseEvent, CasePhoto, Category
from wangge.cases.workflow import STEPS
from wangge.core.configcache import ConfigCache
from wangge.core.rest import OptionalPointIn, PageQuery, SharedConfigSerializer, page_of


class CategoryOut(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, allow_null=True)

    class Meta:
        model = Category
        fields = [
            "id",
            "kind",
            "code",
            "name",
            "domain",
            "parent_code",
            "is_local",
            "accept_conditions",
            "close_conditions",
            "procedure",
            "materials",
            "allows_self_handling",
        ]


class CategoryQuery(serializers.Serializer):
    domain = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=Category.Kind.choices, required=False)
    q = serializers.CharField(required=False, max_length=50)


class ReportableCategoryField(serializers.SlugRelatedField):
    """An active small class by id, read through the per-process taxonomy cache: intake names one
    on every report, and the query it saves is a tenth of the request."""

    def __init__(self, **kwargs: Any) -> None:
        # The manager, not a filtered queryset: DRF rebuilds every field per request, and building
        # a filter costs more than the lookup (to_internal_value asks the cache instead).
        super().__init__(slug_field="id", queryset=Category.objects, **kwargs)

    def to_internal_value(self, data: Any) -> Category:
        if isinstance(data, bool) or not _ID.fullmatch(str(data)):
            self.fail("invalid")
        category = selectors.reportable_category(int(data))
        if category is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return category


_ID = re.compile(r"[0-9]{1,18}")


class CaseIn(SharedConfigSerializer, OptionalPointIn):
    """A report: what (category, description), where (a point in WGS-84, GCJ-02 or BD-09, or only
    an address), how urgent, and who reported it. A grid worker may settle a category that allows
    it on the spot: ``self_handle`` with the ``result``."""

    source = serializers.ChoiceField(choices=Case.Source.choices)
    category = ReportableCategoryField()
    description = serializers.CharField(max_length=4000)
    condition = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    urgency = serializers.ChoiceField(choices=Case.Urgency.choices, default=Case.Urgency.NORMAL)
    area_grade = serializers.ChoiceField(choices=AreaGrade.choices, default=AreaGrade.B)
    reporter_name = serializers.CharField(
        max_length=50, required=False, allow_blank=True, default=""
    )
    reporter_phone = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default=""
    )
    self_handle = serializers.BooleanField(default=False)
    result = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)  # the point, in WGS-84
        if attrs.get("reporter_phone"):
            from wangge.core.idmessages import id_error_text
            from wangge.lib.idnumbers import parse_mobile

            try:
                attrs["reporter_phone"] = parse_mobile(attrs["reporter_phone"])
            except ValueError as exc:
                raise serializers.ValidationError(
                    {"reporter_phone": [id_error_text(exc)]}
                ) from None
        return attrs


class CaseQuery(PageQuery):
    state = serializers.MultipleChoiceField(choices=Case.State.choices, required=False)
    category = serializers.CharField(required=False, max_length=16)
    region = serializers.RegexField(r"^[0-9]{6,15}$", required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    source = serializers.ChoiceField(choices=Case.Source.choices, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class ActionIn(serializers.Serializer):
    # A transfer has its own endpoint (transfer_api) and input.
    action = serializers.ChoiceField(choices=[a.value for a in STEPS])
    version = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text=_("The case version you saw; a stale one gets 409 instead of acting blindly."),
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    department = serializers.CharField(required=False, max_length=32)
    user = serializers.CharField(required=False, max_length=150)
    result = serializers.CharField(required=False, max_length=2000)
    outcome = serializers.ChoiceField(
        choices=[c for c in Case.Outcome.choices if c[0]], required=False
    )
    satisfaction = serializers.ChoiceField(
        choices=[c for c in Case.Satisfaction.choices if c[0]], required=False
    )
    amount = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    unit = serializers.ChoiceField(
        choices=["working_day", "working_hour", "hour", "minute"], required=False
    )
    review_date = serializers.DateField(required=False)
    into = serializers.CharField(required=False, max_length=32)
    note = serializers.CharField(required=False, max_length=500)
    photos = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=9,
        help_text=_(
            "After photos sent with handle (multipart): stored with the action or not at all."
        ),
    )


class EventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = [
            "action",
            "from_state",
            "to_state",
            "actor",
            "actor_name",
            "reason",
            "payload",
            "created_at",
        ]

    def get_actor_name(self, event: CaseEvent) -> str | None:
        if event.actor is None:
            return None
        return event.actor.get_full_name() or event.actor.username


class PhotoOut(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text=_("Where the image is downloaded, with the same authentication.")
    )

    class Meta:
        model = CasePhoto
        fields = ["id", "kind", "url", "content_type", "width", "height", "sha256", "created_at"]

    def get_url(self, photo: CasePhoto) -> str:
        path = reverse("api:case-photo-file", args=[photo.case.number, photo.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class PhotoIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CasePhoto.Kind.choices)
    photo = serializers.FileField()


class CaseOut(serializers.ModelSerializer):
    category = CategoryOut()
    grid_code = serializers.SerializerMethodField()
    owner_department = serializers.CharField(
        source="owner_department.code", default=None, allow_null=True
    )
    owner_user = serializers.CharField(source="owner_user.username", default=None, allow_null=True)
    light = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "number",
            "version",
            "source",
            "category",
            "condition",
            "description",
            "address",
            "lng",
            "lat",
            "grid_code",
            "region_code",
            "area_grade",
            "urgency",
            "state",
            "level",
            "owner_department",
            "owner_user",
            "stage",
            "stage_started_at",
            "stage_deadline",
            "light",
            "is_overdue",
            "is_supervised",
            "is_suspended",
            "suspended_until",
            "extension_requested",
            "outcome",
            "satisfaction",
            "supporters",
            "return_count",
            "rework_count",
            "self_handled",
            "reporter_name",
            "reporter_phone_masked",
            "created_at",
            "accepted_at",
            "closed_at",
        ]
        extra_kwargs = {
            "version": {
                "help_text": _(
                    "Raised by every change of the case. Send it with an action: when someone "
                    "acted meanwhile the answer is 409 instead of a change to a case you have not "
                    "seen."
                )
            }
        }

    def get_grid_code(self, case: Case) -> str | None:
        # A located case's region code is its grid's code: no need to load the grid.
        return case.region_code if case.grid_id else None

    def get_light(self, case: Case) -> str | None:
        light = sla.traffic_light(case, timezone.now())
        return light.value if light else None


DUPLICATES_HELP = (
    "Numbers of open cases of the same category within 50 m and 72 hours that the user may see: "
    "probably the same problem."
)
DUPLICATES_HIDDEN_HELP = "How many more such cases there are that the user may not see."


class CaseDetailOut(CaseOut):
    timeline = EventOut(source="events", many=True)
    photos = PhotoOut(many=True)
    allowed_actions = serializers.ListField(child=serializers.CharField())
    duplicates = serializers.ListField(
        child=serializers.CharField(), source="duplicate_numbers", help_text=DUPLICATES_HELP
    )
    duplicates_hidden = serializers.IntegerField(
        source="duplicates_hidden_count", help_text=DUPLICATES_HIDDEN_HELP
    )

    class Meta(CaseOut.Meta):
        fields = [
            *CaseOut.Meta.fields,
            "timeline",
            "photos",
            "allowed_actions",
            "duplicates",
            "duplicates_hidden",
        ]


class CaseCreatedOut(CaseOut):
    """The answer to a report: the case as stored, what the reporter may do next, and likely
    duplicates; the timeline is one event and is left to the detail endpoint."""

    allowed_actions = serializers.ListField(child=serializers.CharField())
    duplicates = serializers.ListField(
        child=serializers.CharField(), source="duplicate_numbers", help_text=DUPLICATES_HELP
    )
    duplicates_hidden = serializers.IntegerField(
        source="duplicates_hidden_count", help_text=DUPLICATES_HIDDEN_HELP
    )

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "allowed_actions", "duplicates", "duplicates_hidden"]


_DATETIME = serializers.DateTimeField()
_DATE = serializers.DateField()


def _datetime(value: datetime | None) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def case_created_body(
    case: Case, *, allowed_actions: list[str], duplicates: list[str], duplicates_hidden: int = 0
) -> dict[str, Any]:
    """What ``CaseCreatedOut`` gives for a case in hand, built directly.

    A ``ModelSerializer`` builds its forty-odd fields again for every instance, which was a fifth
    of a report's time; intake answers with this instead. ``test_serializers`` checks that both
    agree on every kind of new case.
    """
    return {
        "number": case.number,
        "version": case.version,
        "source": case.source,
        "category": dict(_category_out.get(case.category_id)),
        "condition": case.condition,
        "description": case.description,
        "address": case.address,
        "lng": case.lng,
        "lat": case.lat,
        "grid_code": case.region_code if case.grid_id else None,
        "region_code": case.region_code,
        "area_grade": case.area_grade,
        "urgency": case.urgency,
        "state": case.state,
        "level": case.level,
        "owner_department": case.owner_department.code if case.owner_department_id else None,
        "owner_user": case.owner_user.username if case.owner_user_id else None,
        "stage": case.stage,
        "stage_started_at": _datetime(case.stage_started_at),
        "stage_deadline": _datetime(case.stage_deadline),
        "light": light.value if (light := sla.traffic_light(case, timezone.now())) else None,
        "is_overdue": case.is_overdue,
        "is_supervised": case.is_supervised,
        "is_suspended": case.is_suspended,
        "suspended_until": (
            None if case.suspended_until is None else _DATE.to_representation(case.suspended_until)
        ),
        "extension_requested": case.extension_requested,
        "outcome": case.outcome,
        "satisfaction": case.satisfaction,
        "supporters": case.supporters,
        "return_count": case.return_count,
        "rework_count": case.rework_count,
        "self_handled": case.self_handled,
        "reporter_name": case.reporter_name,
        "reporter_phone_masked": case.reporter_phone_masked,
        "created_at": _datetime(case.created_at),
        "accepted_at": _datetime(case.accepted_at),
        "closed_at": _datetime(case.closed_at),
        "allowed_actions": allowed_actions,
        "duplicates": duplicates,
        "duplicates_hidden": duplicates_hidden,
    }


def _load_category_out(category_id: int) -> dict[str, Any]:
    category = selectors.reportable_category(category_id) or Category.objects.select_related(
        "parent"
    ).get(pk=category_id)
    return dict(CategoryOut(category).data)


_category_out = ConfigCache(
    _load_category_out, models=["cases.Category"], recheck_setting="WANGGE_CONFIG_RECHECK_SECONDS"
)


class DepartmentOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class DispatchPersonOut(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    scope_code = serializers.CharField(source="matched_scope")  # his prefix closest to the case


class DispatchOptionsOut(serializers.Serializer):
    suggested_department = serializers.CharField(allow_null=True)
    departments = DepartmentOut(many=True)
    people = DispatchPersonOut(many=True)


CasePageOut = page_of(CaseOut, "CasePageOut")
