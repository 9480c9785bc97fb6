"""Input and output shapes of the registry API. Inputs check types and lengths only; the rules
(ID numbers, natural keys, lifecycle) are checked by the services. Outputs show personal numbers
masked and never name an ``_encrypted`` or ``_hash`` column."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wangge.core.rest import OptionalPointIn, PageQuery, page_of
from wangge.regions.locate import locate_point
from wangge.registry.models import (
    Building,
    CareClass,
    Component,
    House,
    Household,
    Organization,
    Person,
    PersonEvent,
    Residency,
    Tag,
)
from wangge.registry.quality import Flag

GRID_CODE = r"^[0-9]{15}$"
REGION_PREFIX = r"^[0-9]{6,15}$"


# Shared ----------------------------------------------------------------------------------------


# Ids beyond a 64-bit column are refused as input errors, not sent to the database.
MAX_ID = 2**63 - 1


class LocatedIn(OptionalPointIn):
    """A grid by code (and layer), or a point the grid is found from."""

    grid = serializers.RegexField(GRID_CODE, required=False, help_text=_("15-digit grid code."))
    layer = serializers.SlugField(required=False, help_text=_("Grid layer of ``grid``."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        crs = attrs.pop("crs")
        if attrs.get("lng") is not None:
            # The point is stored in WGS-84 whether or not a grid is given: the door converts it
            # (no layer: no lookup here; the service finds the grid from the stored point).
            point = locate_point(attrs["lng"], attrs["lat"], crs=crs, layers=())
            attrs["lng"], attrs["lat"] = point.lng, point.lat
        return attrs


# Buildings and houses --------------------------------------------------------------------------


class BuildingQuery(PageQuery):
    region = serializers.RegexField(REGION_PREFIX, required=False)
    q = serializers.CharField(required=False, max_length=50)


class BuildingIn(LocatedIn):
    name = serializers.CharField(max_length=100)
    address = serializers.CharField(max_length=200)
    building_type = serializers.ChoiceField(
        choices=Building.BuildingType.choices, default=Building.BuildingType.RESIDENTIAL
    )
    floors = serializers.IntegerField(min_value=0, max_value=300, required=False, allow_null=True)
    units = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)


class BuildingOut(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="region_code")
    grid_layer = serializers.CharField(source="grid.layer_id")

    class Meta:
        model = Building
        fields = [
            "id",
            "name",
            "address",
            "building_type",
            "floors",
            "units",
            "grid_code",
            "grid_layer",
            "lng",
            "lat",
            "created_at",
            "updated_at",
        ]


class HouseQuery(PageQuery):
    building = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    rented = serializers.BooleanField(required=False, allow_null=True, default=None)
    region = serializers.RegexField(REGION_PREFIX, required=False)


class HouseIn(serializers.Serializer):
    building = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("Building id (on create only).")
    )
    unit = serializers.CharField(max_length=16, required=False, allow_blank=True)
    floor = serializers.IntegerField(min_value=-10, max_value=300, required=False, allow_null=True)
    room = serializers.CharField(max_length=32)
    area_m2 = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    use = serializers.ChoiceField(choices=House.Use.choices, required=False)
    ownership = serializers.ChoiceField(choices=House.Ownership.choices, required=False)
    rented = serializers.BooleanField(required=False)
    has_lease_contract = serializers.BooleanField(required=False)
    has_responsibility_letter = serializers.BooleanField(required=False)
    has_rental_filing = serializers.BooleanField(required=False)


class HouseOut(serializers.ModelSerializer):
    building_address = serializers.CharField(source="building.address")
    grid_code = serializers.CharField(source="region_code")

    class Meta:
        model = House
        fields = [
            "id",
            "building",
            "building_address",
            "unit",
            "floor",
            "room",
            "area_m2",
            "use",
            "ownership",
            "rented",
            "qr_token",
            "has_lease_contract",
            "has_responsibility_letter",
            "has_rental_filing",
            "grid_code",
            "created_at",
            "updated_at",
        ]


class HouseholdQuery(PageQuery):
    house = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    region = serializers.RegexField(REGION_PREFIX, required=False)


class HouseholdIn(serializers.Serializer):
    house = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("House id (on create only).")
    )
    number = serializers.CharField(max_length=32, required=False, allow_blank=True)
    household_type = serializers.ChoiceField(
        choices=Household.HouseholdType.choices, required=False
    )
    head = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text=_("Person id of the head.")
    )


class HouseholdOut(serializers.ModelSerializer):
    house_label = serializers.CharField(source="house.__str__")
    head_name = serializers.CharField(source="head.name", default=None, allow_null=True)
    care_class = serializers.CharField(source="care_class.code", default=None, allow_null=True)
    care_class_name = serializers.CharField(source="care_class.name", default=None, allow_null=True)
    visit_interval_days = serializers.IntegerField(
        source="care_class.visit_interval_days", default=None, allow_null=True
    )
    grid_code = serializers.CharField(source="region_code")

    class Meta:
        model = Household
        fields = [
            "id",
            "house",
            "house_label",
            "number",
            "household_type",
            "head",
            "head_name",
            "care_class",
            "care_class_name",
            "visit_interval_days",
            "grid_code",
        ]


# People ----------------------------------------------------------------------------------------


class PersonQuery(PageQuery):
    name = serializers.CharField(required=False, max_length=50)
    id_suffix = serializers.RegexField(
        r"^[0-9]{3}[0-9Xx]$", required=False, help_text=_("Last four characters of the ID.")
    )
    phone_suffix = serializers.RegexField(
        r"^[0-9]{4}$", required=False, help_text=_("Last four digits of the phone number.")
    )
    residency_type = serializers.ChoiceField(choices=Person.ResidencyType.choices, required=False)
    tag = serializers.SlugField(required=False)
    house = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    region = serializers.RegexField(REGION_PREFIX, required=False)
    living = serializers.BooleanField(required=False, allow_null=True, default=None)


class PersonSearchIn(PageQuery):
    """Exact search by a full number, sent in the body so it never lands in an access log."""

    id_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("id_number") or attrs.get("phone")):
            raise serializers.ValidationError(
                {"id_number": [_("Give an ID number or a phone number.")]}
            )
        return attrs


class TagCodesField(serializers.SlugRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=Tag.objects.filter(active=True), **kwargs)


class PersonFieldsIn(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    id_type = serializers.ChoiceField(choices=Person.IdType.choices, required=False)
    id_number = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text=_("Full number; stored encrypted and shown masked from then on."),
    )
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    sex = serializers.ChoiceField(choices=Person.Sex.choices, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    ethnicity = serializers.CharField(max_length=16, required=False, allow_blank=True)
    hukou_address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    occupation = serializers.CharField(max_length=50, required=False, allow_blank=True)
    workplace = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tags = TagCodesField(many=True, required=False)


class PersonUpdateIn(PersonFieldsIn):
    pass


class MoveInIn(serializers.Serializer):
    house = serializers.IntegerField(min_value=1)
    relation = serializers.ChoiceField(choices=Residency.Relation.choices)
    household = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True
    )
    moved_in_on = serializers.DateField(required=False, allow_null=True)
    registered = serializers.BooleanField(
        default=True,
        help_text=_("False records a reported move-in that still awaits registration."),
    )
    has_id_copy = serializers.BooleanField(default=False)


class PersonRegisterIn(PersonFieldsIn, MoveInIn):
    residency_type = serializers.ChoiceField(choices=Person.ResidencyType.choices)


class PersonOut(serializers.ModelSerializer):
    age = serializers.SerializerMethodField()
    has_photo = serializers.SerializerMethodField()
    tags = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    record_status = serializers.ChoiceField(source="status", choices=Person.Status.choices)
    home_grid_code = serializers.CharField(source="region_code")

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "sex",
            "birth_date",
            "age",
            "id_type",
            "id_number_masked",
            "phone_masked",
            "ethnicity",
            "hukou_address",
            "residency_type",
            "occupation",
            "workplace",
            "has_photo",
            "tags",
            "home_grid_code",
            "record_status",
            "merged_into",
            "created_at",
            "updated_at",
        ]

    def get_age(self, person: Person) -> int | None:
        return person.age_on(self.context["today"]) if "today" in self.context else None

    def get_has_photo(self, person: Person) -> bool:
        return bool(person.photo)


class ResidencyOut(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name")
    person_id_number_masked = serializers.CharField(source="person.id_number_masked")
    house_label = serializers.CharField(source="house.__str__")
    grid_code = serializers.CharField(source="region_code")
    permit_valid = serializers.SerializerMethodField()

    class Meta:
        model = Residency
        fields = [
            "id",
            "person",
            "person_name",
            "person_id_number_masked",
            "house",
            "house_label",
            "household",
            "relation",
            "moved_in_on",
            "moved_out_on",
            "registered_at",
            "deregistered_at",
            "deregistration_reason",
            "registration_lag_days",
            "deregistration_lag_days",
            "has_id_copy",
            "permit_status",
            "permit_number_masked",
            "permit_issued_on",
            "permit_expires_on",
            "permit_valid",
            "grid_code",
        ]

    def get_permit_valid(self, residency: Residency) -> bool:
        today = self.context.get("today")
        return today is not None and residency.permit_valid_on(today)


class HouseDetailOut(HouseOut):
    residencies = ResidencyOut(
        source="residencies_open", many=True, help_text=_("Residencies not deregistered.")
    )
    households = HouseholdOut(source="households_all", many=True)

    class Meta(HouseOut.Meta):
        fields = [*HouseOut.Meta.fields, "residencies", "households"]


class HouseholdDetailOut(HouseholdOut):
    members = ResidencyOut(
        source="members_open", many=True, help_text=_("Residencies not deregistered.")
    )

    class Meta(HouseholdOut.Meta):
        fields = [*HouseholdOut.Meta.fields, "members"]


class PersonEventOut(serializers.ModelSerializer):
    action = serializers.CharField(help_text=_("registered, moved_in, moved_out, deregistered …"))
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)

    class Meta:
        model = PersonEvent
        fields = ["id", "action", "residency", "actor", "reason", "details", "created_at"]


class PersonDetailOut(PersonOut):
    residencies = ResidencyOut(source="residency_rows", many=True)
    history = PersonEventOut(source="history_rows", many=True)

    class Meta(PersonOut.Meta):
        fields = [*PersonOut.Meta.fields, "residencies", "history"]


class UnmaskIn(serializers.Serializer):
    field = serializers.ChoiceField(
        choices=[("id_number", _("ID number")), ("phone", _("Phone number"))], default="id_number"
    )
    reason = serializers.CharField(
        max_length=500, help_text=_("Why the full number is needed (at least 4 characters).")
    )


class UnmaskOut(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class ResidencyTypeIn(serializers.Serializer):
    residency_type = serializers.ChoiceField(choices=Person.ResidencyType.choices)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class MergeIn(serializers.Serializer):
    duplicate = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("Id of the duplicate record.")
    )
    reason = serializers.CharField(max_length=500)


class RegistrationOut(serializers.Serializer):
    created = serializers.BooleanField(help_text=_("False: the ID number was already registered."))
    person = PersonOut()
    residency = ResidencyOut()


class ResidencyUpdateIn(serializers.Serializer):
    relation = serializers.ChoiceField(choices=Residency.Relation.choices, required=False)
    household = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True
    )
    has_id_copy = serializers.BooleanField(required=False)


class MoveOutIn(serializers.Serializer):
    moved_out_on = serializers.DateField()


_DEREGISTRATION_CHOICES = [
    choice
    for choice in Residency.DeregistrationReason.choices
    if choice[0] != Residency.DeregistrationReason.MERGED
]


class DeregisterIn(serializers.Serializer):
    deregistration_reason = serializers.ChoiceField(choices=_DEREGISTRATION_CHOICES)
    moved_out_on = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PermitIn(serializers.Serializer):
    permit_number = serializers.CharField(max_length=40)
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()


class PermitRenewIn(serializers.Serializer):
    expires_on = serializers.DateField()


# Organizations and components -------------------------------------------------------------------


class OrganizationQuery(PageQuery):
    org_type = serializers.ChoiceField(choices=Organization.OrgType.choices, required=False)
    q = serializers.CharField(required=False, max_length=50)
    region = serializers.RegexField(REGION_PREFIX, required=False)
    safety_key_unit = serializers.BooleanField(required=False, allow_null=True, default=None)


class OrganizationIn(LocatedIn):
    building = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True
    )
    name = serializers.CharField(max_length=200)
    org_type = serializers.ChoiceField(choices=Organization.OrgType.choices)
    credit_code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=50, required=False, allow_blank=True)
    legal_representative = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    employees = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    operating_status = serializers.ChoiceField(
        choices=Organization.OperatingStatus.choices, required=False
    )
    safety_key_unit = serializers.BooleanField(required=False)
    fire_key_unit = serializers.BooleanField(required=False)
    hazardous_chemicals = serializers.BooleanField(required=False)
    fire_risk = serializers.ChoiceField(choices=Organization.FireRisk.choices, required=False)
    safety_officer = serializers.CharField(max_length=50, required=False, allow_blank=True)
    last_safety_check_on = serializers.DateField(required=False, allow_null=True)


class OrganizationOut(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="region_code")

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "org_type",
            "credit_code",
            "address",
            "building",
            "industry",
            "legal_representative",
            "contact_name",
            "contact_phone_masked",
            "employees",
            "operating_status",
            "safety_key_unit",
            "fire_key_unit",
            "hazardous_chemicals",
            "fire_risk",
            "safety_officer",
            "last_safety_check_on",
            "grid_code",
            "lng",
            "lat",
            "created_at",
            "updated_at",
        ]


class ComponentQuery(PageQuery):
    class_code = serializers.RegexField(
        r"^[0-9]{2,5}$", required=False, help_text=_("Class code or its first digits.")
    )
    status = serializers.ChoiceField(choices=Component.Status.choices, required=False)
    region = serializers.RegexField(REGION_PREFIX, required=False)


class ComponentIn(LocatedIn):
    component_id = serializers.CharField(
        max_length=17, help_text=_("17 digits: 6 district + 2 + 3 class + 6 serial (GLBJBSM).")
    )
    name = serializers.CharField(max_length=30)
    status = serializers.ChoiceField(choices=Component.Status.choices, required=False)
    competent_unit_code = serializers.CharField(max_length=30)
    competent_unit_name = serializers.CharField(max_length=100)
    owner_unit_code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    owner_unit_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    maintainer_unit_code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    maintainer_unit_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    surveyed_on = serializers.DateField()
    changed_on = serializers.DateField(required=False, allow_null=True)
    data_source = serializers.ChoiceField(
        choices=Component.DataSource.choices, required=False, allow_blank=True
    )
    remark = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class ComponentOut(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="region_code")
    grid_layer = serializers.CharField(source="grid.layer_id")

    class Meta:
        model = Component
        fields = [
            "id",
            "component_id",
            "class_code",
            "name",
            "status",
            "competent_unit_code",
            "competent_unit_name",
            "owner_unit_code",
            "owner_unit_name",
            "maintainer_unit_code",
            "maintainer_unit_name",
            "surveyed_on",
            "changed_on",
            "data_source",
            "remark",
            "grid_code",
            "grid_layer",
            "lng",
            "lat",
            "created_at",
            "updated_at",
        ]


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": "string"}, "example": {"GLBJBSM": "…"}}
)
class AttributesField(serializers.DictField):
    pass


class ComponentDetailOut(ComponentOut):
    standard_attributes = AttributesField(
        help_text=_("The 18 attributes of GB/T 47678.5 by their abbreviations.")
    )

    class Meta(ComponentOut.Meta):
        fields = [*ComponentOut.Meta.fields, "standard_attributes"]


# Configuration and data quality ----------------------------------------------------------------


class CareClassOut(serializers.ModelSerializer):
    class Meta:
        model = CareClass
        fields = ["code", "name", "level", "visit_interval_days", "description"]


class TagOut(serializers.ModelSerializer):
    care_class = serializers.CharField(source="care_class.code", default=None, allow_null=True)

    class Meta:
        model = Tag
        fields = ["code", "name", "care_class", "description"]


class QualityQuery(serializers.Serializer):
    by = serializers.ChoiceField(
        choices=[("grid", _("Grid")), ("worker", _("Grid worker"))], default="grid"
    )
    on = serializers.DateField(required=False, help_text=_("Judge as of this day (default today)."))
    since = serializers.DateField(
        required=False, help_text=_("Start of the period for late (de)registrations.")
    )
    until = serializers.DateField(required=False)
    region = serializers.RegexField(REGION_PREFIX, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"since": [_("The period starts after it ends.")]})
        return attrs


class QualityFlagQuery(QualityQuery, PageQuery):
    pass


class QualityRowOut(serializers.Serializer):
    code = serializers.CharField(help_text=_("Grid code, or the worker's scope code."))
    name = serializers.CharField()
    username = serializers.CharField(help_text=_("The grid worker (by=worker), else empty."))
    current_residents = serializers.IntegerField()
    floating_residents = serializers.IntegerField()
    permits_valid = serializers.IntegerField()
    permit_rate = serializers.FloatField(allow_null=True)
    rented_houses = serializers.IntegerField()
    rented_houses_incomplete = serializers.IntegerField()
    unregistered = serializers.IntegerField()
    unregistered_long = serializers.IntegerField()
    late_registration = serializers.IntegerField()
    not_deregistered = serializers.IntegerField()
    not_deregistered_long = serializers.IntegerField()
    late_deregistration = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    missing_photo = serializers.IntegerField()
    no_permit = serializers.IntegerField()
    rental_incomplete = serializers.IntegerField()


class QualityOut(serializers.Serializer):
    as_of = serializers.DateField()
    since = serializers.DateField()
    until = serializers.DateField()
    by = serializers.CharField()
    rows = QualityRowOut(many=True)


class FlaggedOut(serializers.Serializer):
    """One flagged record: a residency (with its person) or, for person rules, a person."""

    person = serializers.IntegerField()
    person_name = serializers.CharField()
    id_number_masked = serializers.CharField()
    residency = serializers.IntegerField(allow_null=True)
    house = serializers.IntegerField(allow_null=True)
    house_label = serializers.CharField(allow_null=True)
    moved_in_on = serializers.DateField(allow_null=True)
    moved_out_on = serializers.DateField(allow_null=True)
    registered_at = serializers.DateTimeField(allow_null=True)
    grid_code = serializers.CharField()


FLAG_CHOICES = [flag.value for flag in Flag]


BuildingPageOut = page_of(BuildingOut, "BuildingPageOut")
HousePageOut = page_of(HouseOut, "HousePageOut")
HouseholdPageOut = page_of(HouseholdOut, "HouseholdPageOut")
PersonPageOut = page_of(PersonOut, "PersonPageOut")
OrganizationPageOut = page_of(OrganizationOut, "OrganizationPageOut")
ComponentPageOut = page_of(ComponentOut, "ComponentPageOut")
FlaggedPageOut = page_of(FlaggedOut, "FlaggedPageOut")
