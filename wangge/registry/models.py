"""The registry of 人、地、事、物、组织: buildings, houses, households, people, where they live,
organizations and city components.

Every row that lives somewhere carries ``region_code``, the 15-digit code of its grid, so the data
scope is one indexed prefix filter (``wangge.core.scope``). Resident ID, phone and residence-permit
numbers are stored as three columns each (``<name>_encrypted``, ``<name>_hash``, ``<name>_masked``,
see ``wangge.core.pii``): nothing on a row holds them readable. Rows change only through the
services in ``registry.services`` and ``registry.lifecycle``, which write audit rows and, for people,
``PersonEvent`` history rows.

Natural keys, for idempotent ledger imports: a building by its standard address, a house by building
+ unit + room, a household by house + household number, a person by the lookup hash of the ID
number, an organization by its unified social credit code, a component by its 17-digit id.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

GRID_CODE_RE = r"^[0-9]{15}$"


class Located(models.Model):
    """A row placed in a grid: its grid, the grid's code for the scope filter, a point."""

    grid = models.ForeignKey(
        "regions.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(
        _("region code"), max_length=15, help_text=_("Code of the grid; the data-scope filter.")
    )
    lng = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


# Care classes and tags (四类管理法) -------------------------------------------------------------


class CareClass(models.Model):
    """A care level of the "four-class" method (四类管理法): how often a household is visited.

    Households are classed by their members' tags; the class with the lowest ``level`` number any
    tag implies wins. A household whose members have no such tag gets the class with the highest
    level number (the default class). Classes and intervals are data, edited in the admin.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.PositiveSmallIntegerField(
        _("level"), unique=True, help_text=_("1 needs the most care; the highest is the default.")
    )
    visit_interval_days = models.PositiveSmallIntegerField(
        _("visit every (days)"), help_text=_("A household of this class is visited this often.")
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("care class (四类管理法)")
        verbose_name_plural = _("care classes (四类管理法)")
        ordering = ["level"]
        constraints = [
            models.CheckConstraint(
                name="registry_careclass_interval_positive",
                condition=Q(visit_interval_days__gt=0),
            ),
            models.CheckConstraint(
                name="registry_careclass_level_positive", condition=Q(level__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.name}"


class Tag(models.Model):
    """A mark on a person the grid worker looks after (独居老人, 残疾人, 低保户 …) and its care class."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    care_class = models.ForeignKey(
        CareClass,
        verbose_name=_("implies care class"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tags",
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("person tag")
        verbose_name_plural = _("person tags")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


# 地: buildings and houses ---------------------------------------------------------------------


class Building(Located):
    """A building (楼栋) or a courtyard of bungalows, in one grid."""

    class BuildingType(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential building (住宅楼)")
        BUNGALOW = "bungalow", _("Bungalow / courtyard (平房/院落)")
        MIXED = "mixed", _("Mixed residential and commercial (商住楼)")
        COMMERCIAL = "commercial", _("Commercial (商业楼)")
        OFFICE = "office", _("Office (办公楼)")
        PUBLIC = "public", _("Public building (公共建筑)")
        INDUSTRIAL = "industrial", _("Industrial (厂房)")
        OTHER = "other", _("Other (其他)")

    name = models.CharField(_("name"), max_length=100, help_text=_("e.g. 3号楼, 大院12号"))
    address = models.CharField(
        _("standard address"),
        max_length=200,
        help_text=_("The full standard address (标准地址); unique, it identifies the building."),
    )
    building_type = models.CharField(
        _("type"), max_length=16, choices=BuildingType.choices, default=BuildingType.RESIDENTIAL
    )
    floors = models.PositiveSmallIntegerField(_("floors above ground"), null=True, blank=True)
    units = models.PositiveSmallIntegerField(_("units (单元)"), null=True, blank=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["region_code", "address"]
        constraints = [
            models.UniqueConstraint(fields=["address"], name="registry_building_address_unique"),
            models.CheckConstraint(
                name="registry_building_region_code_grid",
                condition=Q(region_code__regex=GRID_CODE_RE),
            ),
        ]
        indexes = [
            # Every scoped list: "buildings whose grid code starts with 110102001".
            models.Index(fields=["region_code"], name="reg_building_region_idx"),
        ]

    def __str__(self) -> str:
        return self.address


class House(models.Model):
    """A house or flat (房屋): building + unit + room. Rented houses carry a QR code and the
    documents 篇9 checks (lease contract, responsibility letter, filing form)."""

    class Use(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential (住宅)")
        SHOP = "shop", _("Shop (商铺)")
        OFFICE = "office", _("Office (办公)")
        WAREHOUSE = "warehouse", _("Storage (仓储)")
        MIXED = "mixed", _("Residential and business (商住)")
        OTHER = "other", _("Other (其他)")

    class Ownership(models.TextChoices):
        PRIVATE = "private", _("Private (私产)")
        PUBLIC = "public", _("Public housing (公产/直管公房)")
        WORK_UNIT = "work_unit", _("Work-unit property (单位产)")
        COLLECTIVE = "collective", _("Collective (集体产)")
        OTHER = "other", _("Other (其他)")

    building = models.ForeignKey(
        Building,
        verbose_name=_("building"),
        on_delete=models.PROTECT,
        related_name="houses",
        db_index=False,  # the unique (building, unit, room) index serves lookups by building
    )
    region_code = models.CharField(_("region code"), max_length=15)
    unit = models.CharField(_("unit (单元)"), max_length=16, blank=True)
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    room = models.CharField(_("room"), max_length=32)
    area_m2 = models.DecimalField(
        _("floor area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    use = models.CharField(_("use"), max_length=16, choices=Use.choices, default=Use.RESIDENTIAL)
    ownership = models.CharField(
        _("ownership"), max_length=16, choices=Ownership.choices, default=Ownership.PRIVATE
    )
    rented = models.BooleanField(_("rented out (出租房屋)"), default=False)
    qr_token = models.CharField(
        _("QR token"),
        max_length=32,
        help_text=_("Random token printed in the house's QR code; never reused."),
    )
    has_lease_contract = models.BooleanField(_("lease contract on file (租赁合同)"), default=False)
    has_responsibility_letter = models.BooleanField(
        _("responsibility letter signed (治安责任书)"), default=False
    )
    has_rental_filing = models.BooleanField(_("rental filing form (备案登记表)"), default=False)
    capacity = models.PositiveSmallIntegerField(
        _("capacity (max residents)"),
        null=True,
        blank=True,
        help_text=_("Most people who may live here at once; empty for no limit (群租 control)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        ordering = ["building", "unit", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "unit", "room"], name="registry_house_building_unit_room"
            ),
            models.UniqueConstraint(fields=["qr_token"], name="registry_house_qr_token_unique"),
            models.CheckConstraint(
                name="registry_house_region_code_grid", condition=Q(region_code__regex=GRID_CODE_RE)
            ),
        ]
        indexes = [
            models.Index(fields=["region_code"], name="reg_house_region_idx"),
            # Data quality and rented-house pages: "rented houses of this grid".
            models.Index(
                fields=["region_code"], condition=Q(rented=True), name="reg_house_rented_idx"
            ),
        ]

    def __str__(self) -> str:
        unit = f"{self.unit}单元" if self.unit else ""
        return f"{self.building.address} {unit}{self.room}"

    @property
    def rental_documents_complete(self) -> bool:
        return self.has_lease_contract and self.has_responsibility_letter and self.has_rental_filing


class Household(models.Model):
    """A household (户) in a house. A house may hold several (群租, collective households)."""

    class HouseholdType(models.TextChoices):
        FAMILY = "family", _("Family household (家庭户)")
        COLLECTIVE = "collective", _("Collective household (集体户)")

    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.PROTECT, related_name="households"
    )
    region_code = models.CharField(_("region code"), max_length=15)
    number = models.CharField(
        _("household number (户号)"), max_length=32, blank=True, help_text=_("Unique per house.")
    )
    household_type = models.CharField(
        _("type"), max_length=16, choices=HouseholdType.choices, default=HouseholdType.FAMILY
    )
    head = models.ForeignKey(
        "Person",
        verbose_name=_("head of household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="headed_households",
    )
    care_class = models.ForeignKey(
        CareClass,
        verbose_name=_("care class"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="households",
        help_text=_("Computed from the members' tags."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["house", "number", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["house", "number"],
                condition=~Q(number=""),
                name="registry_household_house_number",
            ),
            models.CheckConstraint(
                name="registry_household_region_code_grid",
                condition=Q(region_code__regex=GRID_CODE_RE),
            ),
        ]
        indexes = [models.Index(fields=["region_code"], name="reg_household_region_idx")]

    def __str__(self) -> str:
        return f"{self.house} {self.number or self.pk}"


# 人: people and where they live ---------------------------------------------------------------


class Person(models.Model):
    """A resident (人口). The ID and phone numbers are sealed (three columns each); birth date and
    sex come from the ID number when there is one. ``region_code`` is the grid of the person's home:
    the current residency moved into last (see ``lifecycle.refresh_home``)."""

    class Sex(models.TextChoices):
        MALE = "male", _("Male (男)")
        FEMALE = "female", _("Female (女)")

    class IdType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("Resident ID card or HK/Macao/Taiwan residence permit")
        PASSPORT = "passport", _("Passport (护照)")
        OTHER = "other", _("Other document (其他证件)")

    class ResidencyType(models.TextChoices):
        REGISTERED = "registered", _("Registered population (户籍人口)")
        RESIDENT = "resident", _("Resident population (常住人口)")
        FLOATING = "floating", _("Floating population (流动人口)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MERGED = "merged", _("Merged into another record")

    name = models.CharField(_("name (姓名)"), max_length=50)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_type = models.CharField(
        _("document type"), max_length=16, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number_encrypted = models.TextField(blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True)
    id_number_masked = models.CharField(_("ID number"), max_length=32, blank=True)
    id_number_suffix = models.CharField(
        _("last four of the ID number"), max_length=4, blank=True, help_text=_("Search key.")
    )
    phone_encrypted = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True)
    phone_masked = models.CharField(_("phone"), max_length=32, blank=True)
    phone_suffix = models.CharField(_("last four of the phone number"), max_length=4, blank=True)
    ethnicity = models.CharField(_("ethnic group (民族)"), max_length=16, blank=True)
    hukou_address = models.CharField(
        _("household registration (户籍地)"), max_length=200, blank=True
    )
    residency_type = models.CharField(
        _("residency type"), max_length=16, choices=ResidencyType.choices
    )
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    workplace = models.CharField(_("workplace / school"), max_length=100, blank=True)
    photo = models.ImageField(_("photo"), upload_to="registry/people/%Y/%m/", blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="people")
    region_code = models.CharField(_("home grid code"), max_length=15)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_records",
        db_index=False,  # a partial index in Meta: almost every row has none
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["region_code", "name", "id"]
        permissions = [
            ("unmask_person", _("Can see full ID and phone numbers (with a reason; audited)")),
            ("view_data_quality", _("Can see the registry data-quality report")),
        ]
        constraints = [
            # One active record per ID number; a merged record keeps its (equal) hash as history.
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=~Q(id_number_hash="") & Q(status="active"),
                name="registry_person_id_hash_unique",
            ),
            models.CheckConstraint(
                name="registry_person_merged_has_target",
                condition=Q(status="active", merged_into__isnull=True)
                | Q(status="merged", merged_into__isnull=False),
            ),
            models.CheckConstraint(
                name="registry_person_id_columns_together",
                condition=Q(id_number_encrypted="", id_number_hash="", id_number_masked="")
                | (~Q(id_number_encrypted="") & ~Q(id_number_hash="") & ~Q(id_number_masked="")),
            ),
            models.CheckConstraint(
                name="registry_person_phone_columns_together",
                condition=Q(phone_encrypted="", phone_hash="", phone_masked="")
                | (~Q(phone_encrypted="") & ~Q(phone_hash="") & ~Q(phone_masked="")),
            ),
            models.CheckConstraint(
                name="registry_person_region_code_grid",
                condition=Q(region_code__regex=GRID_CODE_RE),
            ),
        ]
        indexes = [
            # Scoped lists: "people whose home grid starts with 110102001".
            models.Index(fields=["region_code", "name"], name="reg_person_region_idx"),
            # Exact search by phone goes through the keyed hash. Search by ID number asks for
            # active people only, which registry_person_id_hash_unique serves (a query for more
            # than 100 hashes at once must also say id_number_hash <> '' for the planner to see
            # it: ledgers.writing._active_people).
            models.Index(fields=["phone_hash"], name="reg_person_phone_hash_idx"),
            # Search by the last four characters a resident reads out.
            models.Index(fields=["id_number_suffix"], name="reg_person_id_suffix_idx"),
            models.Index(fields=["phone_suffix"], name="reg_person_phone_suffix_idx"),
            # Duplicate records (data quality): same name and birth date.
            models.Index(fields=["name", "birth_date"], name="reg_person_name_birth_idx"),
            # A merged record's survivor (merged_records, and the PROTECT check on deleting it).
            models.Index(
                fields=["merged_into"],
                condition=Q(merged_into__isnull=False),
                name="reg_person_merged_into_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked}".rstrip()

    def age_on(self, day: date) -> int | None:
        """Completed years on ``day``; None when the birth date is unknown."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Residency(models.Model):
    """A person's tie to a house (居住登记): how, since when, until when, and the registration of it.

    ``registered_at`` is when the registration was entered (blank while a reported move-in awaits
    registration), ``deregistered_at`` when it was closed (注销). The lags in days between the
    event and its registration are stored when they become known, for the data-quality rules of 篇9.
    """

    class Relation(models.TextChoices):
        OWNER = "owner", _("Owner (业主)")
        TENANT = "tenant", _("Tenant (租户)")
        FAMILY = "family", _("Family member (家属)")
        OTHER = "other", _("Other (其他)")

    class PermitStatus(models.TextChoices):
        NONE = "none", _("None (未办理)")
        APPLIED = "applied", _("Applied (已申请)")
        ISSUED = "issued", _("Issued (已发证)")
        CANCELLED = "cancelled", _("Cancelled (已注销)")

    class DeregistrationReason(models.TextChoices):
        MOVED_AWAY = "moved_away", _("Moved away (迁出)")
        DECEASED = "deceased", _("Deceased (死亡)")
        ERROR = "error", _("Registered in error (误登记)")
        MERGED = "merged", _("Duplicate record merged (重复合并)")
        OTHER = "other", _("Other (其他)")

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="residencies",
        db_index=False,  # reg_residency_person_idx (person, deregistered_at) serves it
    )
    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.PROTECT, related_name="residencies"
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residencies",
        db_index=False,  # a partial index in Meta: most residencies have no household
    )
    region_code = models.CharField(_("region code"), max_length=15)
    relation = models.CharField(_("relation to the house"), max_length=16, choices=Relation.choices)
    moved_in_on = models.DateField(_("moved in on"), null=True, blank=True)
    moved_out_on = models.DateField(_("moved out on"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    deregistered_at = models.DateTimeField(_("deregistered at"), null=True, blank=True)
    deregistration_reason = models.CharField(
        _("deregistration reason"), max_length=16, choices=DeregistrationReason.choices, blank=True
    )
    registration_lag_days = models.IntegerField(
        _("days from moving in to registration"), null=True, blank=True
    )
    deregistration_lag_days = models.IntegerField(
        _("days from moving out to deregistration"), null=True, blank=True
    )
    has_id_copy = models.BooleanField(_("copy of ID card on file"), default=False)
    permit_number_encrypted = models.TextField(blank=True)
    permit_number_hash = models.CharField(max_length=64, blank=True)
    permit_number_masked = models.CharField(_("residence permit number"), max_length=32, blank=True)
    permit_status = models.CharField(
        _("residence permit (居住证)"),
        max_length=16,
        choices=PermitStatus.choices,
        default=PermitStatus.NONE,
    )
    permit_issued_on = models.DateField(_("permit issued on"), null=True, blank=True)
    permit_expires_on = models.DateField(_("permit valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("residency")
        verbose_name_plural = _("residencies")
        ordering = ["-moved_in_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "house"],
                condition=Q(deregistered_at__isnull=True),
                name="registry_residency_one_open_per_house",
            ),
            models.CheckConstraint(
                name="registry_residency_out_after_in",
                condition=Q(moved_out_on__isnull=True)
                | Q(moved_in_on__isnull=True)
                | Q(moved_out_on__gte=F("moved_in_on")),
            ),
            models.CheckConstraint(
                name="registry_residency_deregistered_has_reason",
                condition=Q(deregistered_at__isnull=True, deregistration_reason="")
                | (Q(deregistered_at__isnull=False) & ~Q(deregistration_reason="")),
            ),
            models.CheckConstraint(
                name="registry_residency_issued_permit_complete",
                condition=~Q(permit_status="issued")
                | (
                    ~Q(permit_number_hash="")
                    & Q(permit_issued_on__isnull=False, permit_expires_on__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="registry_residency_region_code_grid",
                condition=Q(region_code__regex=GRID_CODE_RE),
            ),
        ]
        indexes = [
            models.Index(fields=["region_code"], name="reg_residency_region_idx"),
            models.Index(fields=["person", "deregistered_at"], name="reg_residency_person_idx"),
            # A household's members (house page, household API, the PROTECT check).
            models.Index(
                fields=["household"],
                condition=Q(household__isnull=False),
                name="reg_residency_household_idx",
            ),
            # Data quality, "living here, not registered yet": pending registrations by date.
            models.Index(
                fields=["moved_in_on"],
                condition=Q(registered_at__isnull=True, deregistered_at__isnull=True),
                name="reg_residency_pending_idx",
            ),
            # Data quality, "moved out, not deregistered yet".
            models.Index(
                fields=["moved_out_on"],
                condition=Q(deregistered_at__isnull=True, moved_out_on__isnull=False),
                name="reg_residency_not_dereg_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.house_id} ({self.relation})"

    @property
    def is_current(self) -> bool:
        """Living there: neither moved out nor deregistered."""
        return self.moved_out_on is None and self.deregistered_at is None

    def permit_valid_on(self, day: date) -> bool:
        return (
            self.permit_status == self.PermitStatus.ISSUED
            and self.permit_expires_on is not None
            and self.permit_expires_on >= day
        )


class PersonEvent(models.Model):
    """Append-only history of a person: every lifecycle event, with who and when.

    ``details`` never holds a full ID or phone number, only masked forms.
    """

    class Action(models.TextChoices):
        REGISTERED = "registered", _("Registered (登记)")
        MOVED_IN = "moved_in", _("Moved in (迁入)")
        REGISTRATION_COMPLETED = "registration_completed", _("Registration completed (补登)")
        MOVED_OUT = "moved_out", _("Moved out (迁出)")
        DEREGISTERED = "deregistered", _("Deregistered (注销)")
        RESIDENCY_TYPE_CHANGED = "residency_type_changed", _("Residency type changed")
        PERMIT_ISSUED = "permit_issued", _("Residence permit issued (居住证办理)")
        PERMIT_RENEWED = "permit_renewed", _("Residence permit renewed (居住证签注)")
        UPDATED = "updated", _("Details changed")
        MERGED = "merged", _("Absorbed a duplicate record")
        MERGED_INTO = "merged_into", _("Merged into another record")

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,  # reg_personevent_person_idx (person, created_at) serves it
    )
    residency = models.ForeignKey(
        Residency,
        verbose_name=_("residency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("person event")
        verbose_name_plural = _("person history")
        ordering = ["-created_at", "-id"]
        indexes = [
            # A person's history page.
            models.Index(fields=["person", "created_at"], name="reg_personevent_person_idx")
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.person_id}"


# 组织 and 物: organizations and city components -----------------------------------------------


class Organization(Located):
    """An organization in a grid (单位: 企业, 个体工商户, 学校 …), by its credit code when it has one."""

    class OrgType(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise (企业)")
        INDIVIDUAL = "individual", _("Individual business (个体工商户)")
        SCHOOL = "school", _("School (学校)")
        GOVERNMENT = "government", _("Government body (机关)")
        INSTITUTION = "institution", _("Public institution (事业单位)")
        SOCIAL = "social", _("Social organization (社会组织)")
        HOSPITAL = "hospital", _("Hospital / clinic (医院)")
        OTHER = "other", _("Other (其他)")

    class OperatingStatus(models.TextChoices):
        OPERATING = "operating", _("Operating (在营)")
        SUSPENDED = "suspended", _("Suspended (停业)")
        CLOSED = "closed", _("Closed (注销/关闭)")

    class FireRisk(models.TextChoices):
        UNRATED = "unrated", _("Not rated")
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    name = models.CharField(_("name"), max_length=200)
    org_type = models.CharField(_("type"), max_length=16, choices=OrgType.choices)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, help_text=_("GB 32100-2015")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    building = models.ForeignKey(
        Building,
        verbose_name=_("building"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organizations",
    )
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=50, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone_encrypted = models.TextField(blank=True)
    contact_phone_hash = models.CharField(max_length=64, blank=True)
    contact_phone_masked = models.CharField(_("contact phone"), max_length=32, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    operating_status = models.CharField(
        _("status"),
        max_length=16,
        choices=OperatingStatus.choices,
        default=OperatingStatus.OPERATING,
    )
    # Safety production (安全生产) attributes.
    safety_key_unit = models.BooleanField(_("key unit for work safety"), default=False)
    fire_key_unit = models.BooleanField(_("key unit for fire safety"), default=False)
    hazardous_chemicals = models.BooleanField(
        _("stores or uses hazardous chemicals"), default=False
    )
    fire_risk = models.CharField(
        _("fire risk"), max_length=8, choices=FireRisk.choices, default=FireRisk.UNRATED
    )
    safety_officer = models.CharField(_("safety officer"), max_length=50, blank=True)
    last_safety_check_on = models.DateField(_("last safety check"), null=True, blank=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["region_code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~Q(credit_code=""),
                name="registry_organization_credit_code_unique",
            ),
            models.CheckConstraint(
                name="registry_organization_region_code_grid",
                condition=Q(region_code__regex=GRID_CODE_RE),
            ),
            models.CheckConstraint(
                name="registry_organization_phone_columns_together",
                condition=Q(
                    contact_phone_encrypted="", contact_phone_hash="", contact_phone_masked=""
                )
                | (
                    ~Q(contact_phone_encrypted="")
                    & ~Q(contact_phone_hash="")
                    & ~Q(contact_phone_masked="")
                ),
            ),
        ]
        indexes = [models.Index(fields=["region_code"], name="reg_org_region_idx")]

    def __str__(self) -> str:
        return self.name


class Component(Located):
    """A city component (城市部件): a manhole cover, a lamp post, a bench … with the standard
    attributes of GB/T 47678.5 (see ``registry.components.STANDARD_ATTRIBUTES``).

    ``grid`` is the unit grid (万米单元网格) it stands in, the standard's SZDYWGBSM. Unit grids are
    numbered apart from the social grids grid workers are scoped to, so ``region_code`` is the
    code of the social grid at the component's point (the unit grid's when it has no point): the
    grid worker there sees it, and community and street prefixes hold either way."""

    class Status(models.TextChoices):
        INTACT = "intact", _("Intact (完好)")
        DAMAGED = "damaged", _("Damaged (破损)")
        LOST = "lost", _("Lost (丢失)")
        ABANDONED = "abandoned", _("Abandoned (废弃)")
        REMOVED = "removed", _("Removed (移除)")

    class DataSource(models.TextChoices):
        SURVEYED = "surveyed", _("Surveyed (实测)")
        TOPOGRAPHIC_MAP = "topographic_map", _("Topographic map (地形图)")
        BASE_GEODATA = "base_geodata", _("Base geographic data (基础地理数据)")
        OTHER = "other", _("Other (其他)")

    component_id = models.CharField(_("component id (GLBJBSM)"), max_length=17)
    class_code = models.CharField(_("class code"), max_length=5)
    name = models.CharField(_("name (GLBJMC)"), max_length=30)
    status = models.CharField(
        _("status (GLBJZT)"), max_length=16, choices=Status.choices, default=Status.INTACT
    )
    competent_unit_code = models.CharField(_("competent department code (ZGBMDM)"), max_length=18)
    competent_unit_name = models.CharField(_("competent department (ZGBMMC)"), max_length=100)
    owner_unit_code = models.CharField(_("owner code (QSDWDM)"), max_length=18, blank=True)
    owner_unit_name = models.CharField(_("owner (QSDWMC)"), max_length=100, blank=True)
    maintainer_unit_code = models.CharField(
        _("maintainer code (YHDWDM)"), max_length=18, blank=True
    )
    maintainer_unit_name = models.CharField(_("maintainer (YHDWMC)"), max_length=100, blank=True)
    surveyed_on = models.DateField(_("initial survey date (CSRQ)"))
    changed_on = models.DateField(_("change date (BGRQ)"), null=True, blank=True)
    data_source = models.CharField(
        _("data source (SJLY)"), max_length=16, choices=DataSource.choices, blank=True
    )
    remark = models.CharField(_("remark (BZ)"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("city component")
        verbose_name_plural = _("city components")
        ordering = ["component_id"]
        constraints = [
            models.UniqueConstraint(fields=["component_id"], name="registry_component_id_unique"),
            models.CheckConstraint(
                name="registry_component_id_17_digits",
                condition=Q(component_id__regex=r"^[0-9]{17}$"),
            ),
            models.CheckConstraint(
                name="registry_component_class_in_id",
                condition=Q(class_code__regex=r"^[0-9]{5}$")
                & Q(class_code=Substr("component_id", 7, 5)),
            ),
            models.CheckConstraint(
                name="registry_component_region_code_grid",
                condition=Q(region_code__regex=GRID_CODE_RE),
            ),
        ]
        indexes = [
            models.Index(fields=["region_code", "class_code"], name="reg_component_region_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.component_id} {self.name}"


# Rented houses: QR scans, tenant self-registration, quarterly star rating (篇9) ------------------


class HouseScan(models.Model):
    """A signed-in user opened a house's QR page (扫码): the "scan rate" of 篇9 counts these.

    ``region_code`` is the house's grid at the time of the scan, so a scan stays counted where it
    happened. The location is what the phone's browser reported, if it did.
    """

    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.PROTECT, related_name="scans"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("region code"), max_length=15)
    scanned_at = models.DateTimeField(_("scanned at"))
    lng = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)

    class Meta:
        verbose_name = _("house scan")
        verbose_name_plural = _("house scans")
        ordering = ["-scanned_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="registry_housescan_point_together",
                condition=Q(lng__isnull=True, lat__isnull=True)
                | Q(lng__isnull=False, lat__isnull=False),
            ),
        ]
        indexes = [
            # Scan rate: "houses of these grids scanned in this period".
            models.Index(fields=["region_code", "scanned_at"], name="reg_housescan_region_idx"),
            models.Index(fields=["house", "scanned_at"], name="reg_housescan_house_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.house_id} {self.scanned_at:%Y-%m-%d %H:%M} {self.user_id}"


class SelfRegistration(models.Model):
    """A tenant's own registration through the house's QR page, waiting for the grid worker.

    Nothing of it is in the registry (Person, Residency) until a grid worker whose scope covers the
    house approves it (the scope follows the house's grid). The numbers are sealed like a Person's;
    once decided, the encrypted copies and hashes are erased (the registry holds them now, or they
    were refused) and only the masks stay for the list.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.PROTECT, related_name="self_registrations"
    )
    name = models.CharField(_("name (姓名)"), max_length=50)
    sex = models.CharField(_("sex"), max_length=8, choices=Person.Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_number_encrypted = models.TextField(blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True)
    id_number_masked = models.CharField(_("ID number"), max_length=32)
    id_number_suffix = models.CharField(_("last four of the ID number"), max_length=4, blank=True)
    phone_encrypted = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True)
    phone_masked = models.CharField(_("phone"), max_length=32)
    phone_suffix = models.CharField(_("last four of the phone number"), max_length=4, blank=True)
    moved_in_on = models.DateField(_("moved in on"))
    wants_permit = models.BooleanField(_("wants a residence permit (居住证)"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reject_reason = models.CharField(_("reason for rejecting"), max_length=500, blank=True)
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    residency = models.ForeignKey(
        Residency,
        verbose_name=_("residency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("tenant self-registration")
        verbose_name_plural = _("tenant self-registrations")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            # Pending: both numbers sealed. Decided: the sealed copies are erased.
            models.CheckConstraint(
                name="registry_selfreg_sealed_while_pending",
                condition=(
                    Q(status="pending")
                    & ~Q(id_number_encrypted="")
                    & ~Q(id_number_hash="")
                    & ~Q(phone_encrypted="")
                    & ~Q(phone_hash="")
                )
                | (
                    ~Q(status="pending")
                    & Q(id_number_encrypted="", id_number_hash="")
                    & Q(phone_encrypted="", phone_hash="")
                ),
            ),
            models.CheckConstraint(
                name="registry_selfreg_decision_complete",
                condition=Q(status="pending", decided_at__isnull=True, residency__isnull=True)
                | Q(status="approved", decided_at__isnull=False, residency__isnull=False)
                | (Q(status="rejected", decided_at__isnull=False) & ~Q(reject_reason="")),
            ),
            # The same tenant submitting twice at one house waits once.
            models.UniqueConstraint(
                fields=["house", "id_number_hash"],
                condition=Q(status="pending"),
                name="registry_selfreg_one_pending_per_house",
            ),
        ]
        indexes = [
            # The grid worker's list of pending registrations (scoped through the house's grid).
            models.Index(
                fields=["house", "submitted_at"],
                condition=Q(status="pending"),
                name="reg_selfreg_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked} @ {self.house_id} ({self.status})"


class RatingCriterion(models.Model):
    """One criterion of the quarterly star rating of rented houses (一户一评) and its points.

    ``rule`` names how it is judged: a rule computed from the records (``ratings.RULES``) or
    ``manual`` (the grid worker states it, e.g. fire and gas safety seen on the visit).
    """

    class Rule(models.TextChoices):
        REGISTRATION_COMPLETE = "registration_complete", _("Every tenant registered")
        LEASE_CONTRACT = "lease_contract", _("Lease contract on file")
        RESPONSIBILITY_LETTER = "responsibility_letter", _("Responsibility letter signed")
        RENTAL_FILING = "rental_filing", _("Rental filing form on file")
        ID_COPIES = "id_copies", _("ID copy of every tenant")
        TENANT_PHOTOS = "tenant_photos", _("Photo of every tenant")
        TENANT_PERMITS = "tenant_permits", _("Every floating tenant holds a valid residence permit")
        SCANNED_IN_QUARTER = "scanned_in_quarter", _("QR code scanned in the quarter")
        DEREGISTERED_ON_TIME = "deregistered_on_time", _("Tenants who left were deregistered")
        MANUAL = "manual", _("Judged by the grid worker")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    rule = models.CharField(_("how it is judged"), max_length=32, choices=Rule.choices)
    points = models.PositiveSmallIntegerField(_("points when met"))
    description = models.CharField(_("description"), max_length=300, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("rating criterion (出租房屋星级评定)")
        verbose_name_plural = _("rating criteria (出租房屋星级评定)")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                name="registry_ratingcriterion_points_positive", condition=Q(points__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.points})"


class RatingLevel(models.Model):
    """A star level and the points it needs: the highest level whose minimum is reached wins."""

    stars = models.PositiveSmallIntegerField(_("stars"), unique=True)
    name = models.CharField(_("name"), max_length=50)
    min_points = models.PositiveSmallIntegerField(_("minimum points"))

    class Meta:
        verbose_name = _("star level")
        verbose_name_plural = _("star levels")
        ordering = ["-stars"]
        constraints = [
            models.CheckConstraint(
                name="registry_ratinglevel_stars_1_to_5", condition=Q(stars__gte=1, stars__lte=5)
            ),
        ]

    def __str__(self) -> str:
        return f"{'★' * self.stars} ≥ {self.min_points}"


class HouseRating(models.Model):
    """The star rating of a rented house for one quarter (一户一评、一户一档): the suggestion
    computed from the records, the stars given and, when they differ, the reason."""

    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.PROTECT, related_name="ratings"
    )
    region_code = models.CharField(_("region code"), max_length=15)
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    points = models.PositiveSmallIntegerField(_("points"))
    max_points = models.PositiveSmallIntegerField(_("points possible"))
    suggested_stars = models.PositiveSmallIntegerField(_("suggested stars"))
    stars = models.PositiveSmallIntegerField(_("stars"))
    override_reason = models.CharField(_("reason for other stars"), max_length=500, blank=True)
    results = models.JSONField(
        _("criteria"), default=list, blank=True, help_text=_("Each criterion: met, points.")
    )
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        verbose_name = _("house rating")
        verbose_name_plural = _("house ratings")
        ordering = ["house", "-year", "-quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["house", "year", "quarter"], name="registry_houserating_one_per_quarter"
            ),
            models.CheckConstraint(
                name="registry_houserating_quarter_1_to_4",
                condition=Q(quarter__gte=1, quarter__lte=4),
            ),
            models.CheckConstraint(
                name="registry_houserating_stars_0_to_5",
                condition=Q(stars__lte=5, suggested_stars__lte=5),
            ),
            models.CheckConstraint(
                name="registry_houserating_override_has_reason",
                condition=Q(stars=F("suggested_stars")) | ~Q(override_reason=""),
            ),
        ]
        indexes = [
            models.Index(fields=["region_code", "year", "quarter"], name="reg_rating_region_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.house_id} {self.year}Q{self.quarter} {'★' * self.stars}"


# Ledgers (台账): import and export templates, import jobs --------------------------------------


class LedgerTemplate(models.Model):
    """The columns of one kind of ledger (人员, 房屋, 单位, 部件), as data: imports find their
    columns by these headers and aliases, exports and downloadable templates write them."""

    class Kind(models.TextChoices):
        PEOPLE = "people", _("People (人员)")
        HOUSES = "houses", _("Houses (房屋)")
        ORGANIZATIONS = "organizations", _("Organizations (单位)")
        COMPONENTS = "components", _("City components (部件)")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, unique=True)
    name = models.CharField(_("name"), max_length=50, help_text=_("Sheet and file name."))
    notes = models.TextField(_("notes"), blank=True, help_text=_("Shown on the notes sheet."))

    class Meta:
        verbose_name = _("ledger template")
        verbose_name_plural = _("ledger templates")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.name


class LedgerColumn(models.Model):
    """One column of a ledger template: the field it fills, its header, other accepted headers."""

    template = models.ForeignKey(
        LedgerTemplate, verbose_name=_("template"), on_delete=models.CASCADE, related_name="columns"
    )
    field = models.CharField(
        _("field"), max_length=32, help_text=_("The importer's name of the field, e.g. id_number.")
    )
    header = models.CharField(_("header"), max_length=50)
    aliases = models.CharField(
        _("other headers"),
        max_length=300,
        blank=True,
        help_text=_("Other headers accepted on import, separated by |."),
    )
    required = models.BooleanField(_("required"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("ledger column")
        verbose_name_plural = _("ledger columns")
        ordering = ["template", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "field"], name="registry_ledgercolumn_field_unique"
            ),
            models.UniqueConstraint(
                fields=["template", "header"], name="registry_ledgercolumn_header_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} {self.header}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from wangge.registry.ledgers.mapping import FIELDS

        if self.template_id and self.field not in FIELDS[self.template.kind]:
            raise ValidationError(
                {
                    "field": _("Not a field of this kind of ledger: %(field)s.")
                    % {"field": self.field}
                }
            )

    def accepted_headers(self) -> list[str]:
        return [self.header, *(a.strip() for a in self.aliases.split("|") if a.strip())]


class LedgerImport(models.Model):
    """One import of a ledger file, run as a background task; its progress and its outcome.

    The uploaded file is deleted when the import ends; the rejects file (the rejected rows as they
    were, plus a reason column) stays for the importer to fix and import again.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=LedgerTemplate.Kind.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    file_name = models.CharField(_("file name"), max_length=200)
    file_format = models.CharField(_("format"), max_length=4)
    source = models.FileField(_("uploaded file"), upload_to="ledgers/in/", blank=True)
    rejects = models.FileField(_("rejects file"), upload_to="ledgers/rejects/", blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created_count = models.PositiveIntegerField(_("added"), default=0)
    unchanged_count = models.PositiveIntegerField(_("already there"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("ledger import")
        verbose_name_plural = _("ledger imports")
        ordering = ["-created_at", "-id"]
        permissions = [
            (
                "export_personal_data",
                _("Can export ledgers with personal data (audited, watermarked)"),
            ),
        ]
        indexes = [
            # "My imports", newest first (the ledger page).
            models.Index(fields=["created_by", "created_at"], name="reg_ledgerimport_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
