"""What each kind of ledger holds: the fields the importer knows and how their text is read.

The headers are data (``LedgerTemplate`` / ``LedgerColumn``, seeded by migration 0006 and edited in
the admin); the fields and their rules are code. A header matches after dropping spaces, a leading
``*`` (the required mark of the templates) and full-width forms.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from wangge.registry.models import LedgerTemplate

PEOPLE, HOUSES, ORGANIZATIONS, COMPONENTS = "people", "houses", "organizations", "components"
KINDS = (PEOPLE, HOUSES, ORGANIZATIONS, COMPONENTS)
# The field a duplicate within a file is reported on (the natural key, or its last part).
KEY_FIELD = {
    PEOPLE: "id_number",
    HOUSES: "room",
    ORGANIZATIONS: "credit_code",
    COMPONENTS: "component_id",
}

YES_NO = {"是": True, "有": True, "否": False, "无": False, "1": True, "0": False,
          "Y": True, "N": False, "TRUE": True, "FALSE": False}  # fmt: skip


@dataclass(frozen=True)
class Field:
    """A field of a ledger: how its text is read (``kind``) and what it may hold."""

    key: str
    kind: str = "text"  # text, id_number, phone, enum, date, int, decimal, float, bool, grid
    max_length: int = 0
    # Accepted words → stored value; the first word for a value is the one exports write.
    choices: dict[str, str] = field(default_factory=dict)
    # Needed whatever the template says: natural keys and columns the database requires.
    always_required: bool = False


def _f(key: str, kind: str = "text", max_length: int = 0, **extra: object) -> Field:
    return Field(key, kind, max_length, **extra)  # type: ignore[arg-type]


SEX = {"男": "male", "女": "female", "男性": "male", "女性": "female"}
RESIDENCY_TYPE = {
    "户籍": "registered", "常住": "resident", "流动": "floating",
    "户籍人口": "registered", "常住人口": "resident", "流动人口": "floating",
    "外来": "floating",
}  # fmt: skip
RELATION = {
    "业主": "owner", "租户": "tenant", "家属": "family", "其他": "other",
    "户主": "owner", "本人": "owner", "房主": "owner", "产权人": "owner",
    "承租人": "tenant", "租住": "tenant", "租客": "tenant",
    "配偶": "family", "子女": "family", "父母": "family", "家庭成员": "family",
    "借住": "other",
}  # fmt: skip
HOUSE_USE = {"住宅": "residential", "商铺": "shop", "办公": "office", "仓储": "warehouse",
             "商住": "mixed", "其他": "other"}  # fmt: skip
OWNERSHIP = {"私产": "private", "公产": "public", "直管公房": "public", "单位产": "work_unit",
             "集体产": "collective", "其他": "other"}  # fmt: skip
ORG_TYPE = {
    "企业": "enterprise", "个体工商户": "individual", "学校": "school", "机关": "government",
    "事业单位": "institution", "社会组织": "social", "医院": "hospital", "其他": "other",
    "个体": "individual", "个体商户": "individual", "诊所": "hospital",
}  # fmt: skip
OPERATING = {"在营": "operating", "停业": "suspended", "注销": "closed", "关闭": "closed",
             "存续": "operating"}  # fmt: skip
FIRE_RISK = {"未评定": "unrated", "低": "low", "中": "medium", "高": "high"}
COMPONENT_STATUS = {"完好": "intact", "破损": "damaged", "丢失": "lost", "废弃": "abandoned",
                    "移除": "removed"}  # fmt: skip
DATA_SOURCE = {"实测": "surveyed", "地形图": "topographic_map", "基础地理数据": "base_geodata",
               "其他": "other"}  # fmt: skip

_PLACE = (
    _f("grid", "grid", always_required=True),
    _f("building_address", max_length=200, always_required=True),
    _f("building_name", max_length=100),
    _f("unit", max_length=16),
    _f("room", max_length=32, always_required=True),
)

FIELD_LIST: dict[str, tuple[Field, ...]] = {
    PEOPLE: (
        _f("name", max_length=50, always_required=True),
        _f("sex", "enum", choices=SEX),
        _f("id_number", "id_number", always_required=True),
        _f("phone", "phone"),
        _f("ethnicity", max_length=16),
        _f("hukou_address", max_length=200),
        _f("residency_type", "enum", choices=RESIDENCY_TYPE, always_required=True),
        *_PLACE,
        _f("relation", "enum", choices=RELATION, always_required=True),
        _f("moved_in_on", "date"),
        _f("occupation", max_length=50),
        _f("workplace", max_length=100),
    ),
    HOUSES: (
        *_PLACE,
        _f("floor", "int"),
        _f("area_m2", "decimal"),
        _f("use", "enum", choices=HOUSE_USE),
        _f("ownership", "enum", choices=OWNERSHIP),
        _f("rented", "bool"),
        _f("has_lease_contract", "bool"),
        _f("has_responsibility_letter", "bool"),
        _f("has_rental_filing", "bool"),
    ),
    ORGANIZATIONS: (
        _f("name", max_length=200, always_required=True),
        _f("org_type", "enum", choices=ORG_TYPE, always_required=True),
        _f("credit_code", "credit_code", always_required=True),
        _f("grid", "grid", always_required=True),
        _f("address", max_length=200),
        _f("industry", max_length=50),
        _f("legal_representative", max_length=50),
        _f("contact_name", max_length=50),
        _f("contact_phone", "phone"),
        _f("employees", "int"),
        _f("operating_status", "enum", choices=OPERATING),
        _f("safety_key_unit", "bool"),
        _f("fire_key_unit", "bool"),
        _f("hazardous_chemicals", "bool"),
        _f("fire_risk", "enum", choices=FIRE_RISK),
        _f("safety_officer", max_length=50),
        _f("last_safety_check_on", "date"),
    ),
    COMPONENTS: (
        _f("component_id", "component_id", always_required=True),
        _f("name", max_length=30, always_required=True),
        _f("grid", "unit_grid", always_required=True),
        _f("status", "enum", choices=COMPONENT_STATUS),
        _f("competent_unit_code", "credit_code", always_required=True),
        _f("competent_unit_name", max_length=100, always_required=True),
        _f("owner_unit_code", "credit_code"),
        _f("owner_unit_name", max_length=100),
        _f("maintainer_unit_code", "credit_code"),
        _f("maintainer_unit_name", max_length=100),
        _f("surveyed_on", "date", always_required=True),
        _f("changed_on", "date"),
        _f("data_source", "enum", choices=DATA_SOURCE),
        _f("lng", "float"),
        _f("lat", "float"),
        _f("remark", max_length=1000),
    ),
}
FIELDS: dict[str, dict[str, Field]] = {
    kind: {f.key: f for f in fields} for kind, fields in FIELD_LIST.items()
}


def label_of(choices: dict[str, str], value: str) -> str:
    """The word an export writes for a stored value (the first word that maps to it)."""
    for word, stored in choices.items():
        if stored == value:
            return word
    return value


def normalize_header(text: object) -> str:
    header = unicodedata.normalize("NFKC", str(text or ""))
    return "".join(header.split()).lstrip("*")


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    accepted: tuple[str, ...]
    required: bool
    note: str


@dataclass(frozen=True)
class Layout:
    """The template of one kind, read from the database once per import or export."""

    kind: str
    name: str
    notes: str
    columns: tuple[Column, ...]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def match(self, headers: list[str]) -> tuple[dict[int, str], list[str]]:
        """File column index → field, and the headers of the required columns not found."""
        by_header = {normalize_header(a): c.field for c in self.columns for a in c.accepted}
        found: dict[int, str] = {}
        for index, header in enumerate(headers):
            key = by_header.get(normalize_header(header))
            if key is not None and key not in found.values():
                found[index] = key
        missing = [c.header for c in self.columns if c.required and c.field not in found.values()]
        return found, missing


def layout(kind: str) -> Layout:
    from wangge.registry.models import LedgerTemplate

    template: LedgerTemplate | None = (
        LedgerTemplate.objects.filter(kind=kind).prefetch_related("columns").first()
    )
    if template is None:
        raise LookupError(_("There is no ledger template for %(kind)s.") % {"kind": kind})
    fields = FIELDS[kind]
    columns = tuple(
        Column(
            field=c.field,
            header=c.header,
            accepted=tuple(c.accepted_headers()),
            required=c.required or fields[c.field].always_required,
            note=c.note,
        )
        for c in template.columns.all()
        if c.field in fields
    )
    return Layout(kind=kind, name=template.name, notes=template.notes, columns=columns)
