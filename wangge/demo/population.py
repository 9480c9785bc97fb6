"""A synthetic population for the demo district: buildings, houses, households, people and where
they live, their history, organizations and city components. Fully synthetic; names, job titles,
company names and places of origin come from Faker's zh_CN tables.

Sizes (``SIZES``): ``full`` fills every social grid with its population (Xicheng: 1.1 million), ``demo``
fills the first street (the one the demo users work in) at full density, ``small`` spreads a few
hundred people over every grid, for tests.

Street by street: plan the rows in memory, seal the ID, phone and permit numbers (AES-GCM + HMAC
per value) and, on PostgreSQL, draw the ids from the sequences and encode every table as ``COPY``
text, all in worker processes (a ``fork`` pool of 2, the largest streets first); the main process
only streams the bytes, one transaction per street. On SQLite the main process inserts the rows
with multi-row ``INSERT`` statements through ``core.bulk.Table``. A street that already has
buildings is left alone, so a second run adds nothing and an interrupted one resumes.

A large population (``full``) into empty registry tables on PostgreSQL is one transaction instead:
the tables' secondary indexes, unique constraints and the foreign keys between them are dropped at
its start and built again at its end (``_bulk_load_begin``), which costs PostgreSQL a fraction of
keeping them up to date row by row. Interrupted, it rolls back whole.

Rules that keep the rows true to the registry's constraints and services:
- ID numbers are valid (GB 11643 check digit, county codes of GB/T 2260, birth date and sex as the
  person's); the sequence digits are split between streets so that streets written by separate runs
  never share a number.
- ``region_code`` is the grid of the building (houses, households, residencies) and the person's
  home; a household's care class is the one its members' tags imply (``registry.care``).
- A component's ``grid`` is its unit grid, its ``region_code`` the social grid at its point, its id
  6 district + 5 class + 6 serial digits (the serial begins with the street's ordinal).
"""

from __future__ import annotations

import math
import multiprocessing
import random
import secrets
import time
from bisect import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone
from faker.providers.address.zh_CN import Provider as AddressData
from faker.providers.company.zh_CN import Provider as CompanyData
from faker.providers.job.zh_CN import Provider as JobData
from faker.providers.person.zh_CN import Provider as PersonData
from faker.providers.ssn.zh_CN import Provider as SsnData

from wangge.cases.models import Category
from wangge.core import bulk, pii
from wangge.lib.idnumbers import (
    CREDIT_ALPHABET,
    credit_code_check_character,
    organization_code_check_character,
    resident_id_check_digit,
)
from wangge.regions.models import Grid, Region
from wangge.registry import identity
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

LOCAL = ZoneInfo("Asia/Shanghai")
POOL_THRESHOLD = 5_000  # fewer people than this are planned in this process

P = Person.ResidencyType
R = Residency.Relation


@dataclass(frozen=True)
class Size:
    name: str
    streets: int | None  # the first N streets, None for all
    people: int | None  # spread this many over the grids, None for each grid's population
    components_per_unit_grid: float  # on average; for sizes with ``people``: in all, spread


SIZES = {
    "small": Size("small", None, 300, 40),
    "demo": Size("demo", 1, None, 20.2),
    "full": Size("full", None, None, 20.2),  # ≈ 50,000 components in Xicheng's 2,477 unit grids
}

FLOATING_SHARE = 0.15
VACANT_SHARE = 0.07
CITY_PREFIX = {"11": "北京市", "12": "天津市", "31": "上海市", "50": "重庆市", "42": "湖北省宜昌市"}

# Household sizes: (size, weight). Floating households are smaller.
LOCAL_SIZES = ((1, 22), (2, 33), (3, 27), (4, 11), (5, 5), (6, 2))
FLOATING_SIZES = ((1, 45), (2, 30), (3, 20), (4, 5))

# 民族 in Beijing (2020 census, rounded); the rest spread over the other groups.
ETHNICITIES = (
    ("汉族", 95.6),
    ("满族", 1.6),
    ("回族", 1.5),
    ("蒙古族", 0.4),
    ("朝鲜族", 0.2),
    ("土家族", 0.15),
    ("壮族", 0.12),
    ("苗族", 0.08),
    ("维吾尔族", 0.06),
    ("藏族", 0.04),
    ("彝族", 0.03),
)

ETHNIC_NAMES = [name for name, _w in ETHNICITIES]
ETHNIC_WEIGHTS = list(accumulate(w for _name, w in ETHNICITIES))

# Where floating and resident people come from: province prefix → weight (others weigh 1).
ORIGIN_WEIGHTS = {
    "13": 24, "41": 14, "37": 10, "34": 7, "14": 6, "23": 6, "21": 5, "22": 4, "15": 4,
    "42": 5, "51": 5, "12": 3, "36": 3, "32": 3, "61": 3, "43": 3, "33": 2, "35": 2,
}  # fmt: skip
PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}  # fmt: skip
MUNICIPALITIES = {"11", "12", "31", "50"}
MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 "
    "173 175 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199"
).split()
FLOATING_JOBS = (
    "快递员", "外卖骑手", "餐饮服务员", "保安", "家政服务员", "个体经营", "建筑工人", "销售",
    "厨师", "美发师", "保洁员", "司机", "程序员", "职员",
)  # fmt: skip
ROAD_SUFFIXES = ("胡同", "大街", "北里", "南里", "西里", "路", "巷", "东街")

# (tag code, share of the people it may apply to) — applied by rules in _tags().
TAG_RATES = {
    "disabled": 0.035,
    "severe_disability": 0.008,
    "subsistence_allowance": 0.012,
    "extreme_poverty": 0.002,
    "entitled_group": 0.006,
    "veteran": 0.03,
    "child_in_distress": 0.003,
    "severe_mental_illness": 0.004,
    "community_correction": 0.0005,
    "released_prisoner": 0.001,
    "drug_rehabilitation": 0.0003,
    "unemployed": 0.02,
}

# Organizations per 1,000 residents and their kinds: (type, weight, credit-code prefix).
ORGS_PER_1000 = 25
ORG_KINDS = (
    (Organization.OrgType.INDIVIDUAL, 45, "92"),
    (Organization.OrgType.ENTERPRISE, 40, "91"),
    (Organization.OrgType.SOCIAL, 4, "52"),
    (Organization.OrgType.INSTITUTION, 3, "12"),
    (Organization.OrgType.SCHOOL, 2, "12"),
    (Organization.OrgType.HOSPITAL, 2, "12"),
    (Organization.OrgType.GOVERNMENT, 2, "11"),
    (Organization.OrgType.OTHER, 2, "91"),
)
SHOPS = (
    "便利店", "家常菜馆", "理发店", "水果店", "干洗店", "五金店", "超市", "早点铺", "药店",
    "眼镜店", "修车铺", "花店", "烟酒店", "面馆", "包子铺", "打印店",
)  # fmt: skip
INDUSTRIES = {
    Organization.OrgType.INDIVIDUAL: ("零售业", "餐饮业", "居民服务业"),
    Organization.OrgType.ENTERPRISE: ("软件和信息技术服务业", "商务服务业", "批发业", "金融业"),
    Organization.OrgType.SCHOOL: ("教育",),
    Organization.OrgType.HOSPITAL: ("卫生",),
}

# Component classes: how common they are, by a word of the class name (default weight 1).
COMPONENT_WEIGHTS = (
    ("井盖", 12), ("箅子", 8), ("路灯", 10), ("行道树", 10), ("果皮箱", 6), ("垃圾", 4),
    ("消防栓", 4), ("标志", 4), ("牌", 3), ("电线杆", 4), ("信号灯", 2), ("护栏", 3),
    ("座椅", 2), ("绿地", 2), ("公交", 2), ("停车", 2), ("树", 3),
)  # fmt: skip
COMPONENT_STATUS = (
    ("intact", 93),
    ("damaged", 4),
    ("lost", 0.5),
    ("abandoned", 1),
    ("removed", 1.5),
)
# The competent department (主管部门) by big class, with a keyword override or two.
COMPONENT_UNITS = {
    "01": "市政市容管理委员会",
    "02": "交通委员会",
    "03": "城市管理委员会环境卫生服务中心",
    "04": "园林绿化局",
    "05": "城市管理综合行政执法局",
    "水": "水务局",
    "燃气": "燃气集团",
    "电": "供电公司",
    "热": "热力集团",
}


@dataclass
class PopulationReport:
    streets: int = 0
    skipped_streets: int = 0
    buildings: int = 0
    houses: int = 0
    households: int = 0
    people: int = 0
    floating: int = 0
    residencies: int = 0
    events: int = 0
    organizations: int = 0
    components: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0  # in the writing process
    plan_cpu_seconds: float = 0.0  # planning, sealing and encoding, summed over the streets
    finish_seconds: float = 0.0  # bulk load: indexes and foreign keys rebuilt, ANALYZE
    phase_cpu: dict[str, float] = field(default_factory=dict)  # plan, seal, encode; all streets


# Sealing -----------------------------------------------------------------------------------------


# The generated numbers are in normal form already (digits, an upper-case X), so they are sealed
# with pii.seal directly, without the registry services' normalizing of typed input.
_SEALS = {
    "resident_id": (pii.PURPOSE_RESIDENT_ID, pii.mask_resident_id),
    "phone": (pii.PURPOSE_PHONE, pii.mask_phone),
    "residence_permit": (identity.PURPOSE_RESIDENCE_PERMIT, pii.mask_resident_id),
}


def _seal_values(kind: str, values: list[str]) -> list[pii.SealedPii]:
    """(token, hash, mask) of each value, as the registry's services would store them."""
    purpose, mask = _SEALS[kind]
    seal = pii.seal
    return [seal(value, purpose=purpose, mask=mask) for value in values]


# Rows ---------------------------------------------------------------------------------------------


class _Table:
    """Rows of one model as lists in ``core.bulk.Table`` column order; foreign keys hold local
    indexes until ``write`` turns them into the reserved ids."""

    def __init__(self, model: type[models.Model], links: dict[str, str] | None = None) -> None:
        self.label = model._meta.label  # a label, not the class: plans travel between processes
        fields = list(model._meta.concrete_fields)  # the order core.bulk.Table uses
        self.index = {f.attname: i for i, f in enumerate(fields)}
        self.defaults = [
            None if f.primary_key or not f.has_default() else f.get_default() for f in fields
        ]
        for i, f in enumerate(fields):
            text = isinstance(f, models.CharField | models.TextField | models.FileField)
            if not f.null and self.defaults[i] is None and text:
                self.defaults[i] = ""
        self.links = links or {}  # column → name of the table whose local indexes it holds
        self.rows: list[list[Any]] = []
        self.ids: list[int] = []
        self.copy_sql = ""
        self.data = b""  # COPY text, once encoded

    def add(self, **values: Any) -> int:
        row = list(self.defaults)
        index = self.index
        for name, value in values.items():
            row[index[name]] = value
        self.rows.append(row)
        return len(self.rows) - 1

    def set(self, local: int, name: str, value: Any) -> None:
        self.rows[local][self.index[name]] = value

    def get(self, local: int, name: str) -> Any:
        return self.rows[local][self.index[name]]

    def reserve_ids(self) -> None:
        if self.rows:
            self.ids = bulk.reserve_ids(apps.get_model(self.label), len(self.rows))

    def write(self, tables: dict[str, _Table]) -> None:
        """Insert the rows through the default connection (SQLite; ids reserved here)."""
        if not self.rows:
            return
        self.reserve_ids()
        self.resolve(tables)
        bulk.Table(apps.get_model(self.label)).insert(self.rows)
        self.rows = []  # written: free the memory

    def resolve(self, tables: dict[str, _Table]) -> None:
        """Put the reserved ids in place of the local indexes."""
        id_column = self.index["id"]
        links = [(self.index[column], tables[name].ids) for column, name in self.links.items()]
        for row, pk in zip(self.rows, self.ids, strict=True):
            row[id_column] = pk
            for column, ids in links:
                if row[column] is not None:
                    row[column] = ids[row[column]]

    def encode(self, tables: dict[str, _Table], stamp: datetime) -> None:
        """PostgreSQL: the rows as ``COPY`` text (ids reserved already), made where they were
        planned so that the writing process only streams bytes. ``stamp`` is the creation time
        most rows share."""
        if not self.rows:
            return
        out = bulk.Table(apps.get_model(self.label))
        self.resolve(tables)
        self.data = out.encode(self.rows, _copy_converters(out, stamp))
        self.copy_sql = out.copy_sql
        self.rows = []

    def copy(self) -> None:
        """PostgreSQL: stream the encoded rows into the table."""
        bulk.copy_into(self.copy_sql, self.data)
        self.data = b""


def _copy_converters(table: bulk.Table, stamp: datetime) -> list[tuple[int, bulk.Converter]]:
    """The table's ``COPY`` conversions, and ``stamp``, shared by millions of rows, formatted
    once (psycopg would spend 1.5 µs on each)."""
    stamp_text = stamp.isoformat()

    def shared_stamp(value: datetime) -> datetime | str:
        return stamp_text if value is stamp else value

    converted = {index for index, _convert in table.copy_converters}
    return [
        *table.copy_converters,
        *(
            (index, shared_stamp)
            for index, field in enumerate(table.fields)
            if isinstance(field, models.DateTimeField) and index not in converted
        ),
    ]


# Context ------------------------------------------------------------------------------------------


@dataclass
class _GridInfo:
    id: int
    code: str
    community: str  # short name, e.g. 府右街南
    population: int
    households: int
    polygon: Any


@dataclass
class _Context:
    district: str
    city: str
    district_name: str
    today: date
    now: datetime
    tags: dict[str, int]  # code → id
    tag_levels: dict[int, tuple[int, int]]  # tag id → (care level, care class id)
    default_class: int | None
    component_classes: list[tuple[str, str]]
    component_weights: list[float]  # cumulative
    units: dict[str, tuple[str, str]]  # competent unit key → (credit code, name)
    origin_codes: list[str]
    origin_weights: list[float]  # cumulative
    local_codes: list[str]
    jobs: list[str]
    last_names: list[str]
    last_weights: list[float]  # cumulative, for random.choices(cum_weights=...)
    id_span: int


def _short_community(name: str) -> str:
    for suffix in ("社区居委会", "社区居民委员会", "居委会", "社区", "村委会", "村"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _credit_code(prefix: str, district: str, org_body: str) -> str:
    """A valid unified social credit code: 2 + 6 administrative + 9 organization code + check."""
    body = f"{prefix}{district}{org_body}{organization_code_check_character(org_body)}"
    return body + credit_code_check_character(body)


def _load(district: str, today: date, streets: int) -> _Context:
    region = Region.objects.get(code=district, level=Region.Level.DISTRICT)
    classes = list(CareClass.objects.all())
    default = max(classes, key=lambda c: c.level).pk if classes else None
    levels = {c.pk: c.level for c in classes}
    tags = {t.code: t.pk for t in Tag.objects.filter(active=True)}
    tag_levels = {
        t.pk: (levels[t.care_class_id], t.care_class_id)
        for t in Tag.objects.filter(active=True, care_class__isnull=False)
    }
    categories = list(
        Category.objects.filter(kind="component", parent__isnull=False, active=True)
        .order_by("code")
        .values_list("code", "name")
    )
    weights = []
    for _code, name in categories:
        weight = 1.0
        for word, w in COMPONENT_WEIGHTS:
            if word in name:
                weight = float(w)
                break
        weights.append(weight)
    units = {}
    for n, (key, name) in enumerate(sorted(COMPONENT_UNITS.items()), start=1):
        units[key] = (_credit_code("11", district, f"MB{n:06d}"), f"{region.name}{name}")
    county = [c for c in SsnData.area_codes if not c.endswith("00") and c[:2] in PROVINCES]
    outside = [c for c in county if c[:2] != district[:2]]
    local = [c for c in county if c[:4] == district[:4]] or [district]
    return _Context(
        district=district,
        city=CITY_PREFIX.get(district[:2], PROVINCES.get(district[:2], "")),
        district_name=region.name,
        today=today,
        now=datetime.combine(today, clock_time(9), LOCAL),
        tags=tags,
        tag_levels=tag_levels,
        default_class=default,
        component_classes=categories,
        component_weights=list(accumulate(weights)),
        units=units,
        origin_codes=outside,
        origin_weights=list(accumulate(float(ORIGIN_WEIGHTS.get(c[:2], 1)) for c in outside)),
        local_codes=local,
        jobs=[j for j in JobData.jobs if j != "其他" and len(j) <= 12],
        last_names=list(PersonData.last_names),
        last_weights=list(accumulate(PersonData.last_names.values())),
        id_span=max(2, (1000 // max(streets, 1)) // 2 * 2),
    )


def _shares(district: str, total: int) -> dict[str, int]:
    """``total`` people spread over the district's social grids in proportion to their
    population (largest remainders), so that even a few hundred reach every street."""
    populations = dict(
        Grid.objects.filter(layer_id="social", code__startswith=district).values_list(
            "code", "population"
        )
    )
    whole = sum(populations.values()) or 1
    exact = {code: total * n / whole for code, n in populations.items()}
    shares = {code: int(x) for code, x in exact.items()}
    left = total - sum(shares.values())
    for code in sorted(exact, key=lambda c: (shares[c] - exact[c], c))[:left]:
        shares[code] += 1
    return shares


@dataclass
class _Shared:
    """What every street's plan reads: loaded once, before the worker processes fork."""

    ctx: _Context
    streets: list[Region]
    grids: dict[int, list[_GridInfo]]  # street ordinal → its social grids
    unit_grids: dict[int, list[tuple[int, str, Any]]]  # street ordinal → (id, code, polygon)
    social_tree: Any  # STRtree over every social grid of the district
    social_codes: list[str]
    per_unit_grid: float
    seed: int
    encode: bool  # PostgreSQL: plans are encoded as COPY text where they are made


_SHARED: _Shared | None = None  # set for the worker processes (fork) and inline runs


def _grids(street: Region, shares: dict[str, int] | None) -> list[_GridInfo]:
    rows = (
        Grid.objects.filter(layer_id="social", code__startswith=street.code)
        .select_related("community")
        .order_by("code")
    )
    grids = []
    for grid in rows:
        people = grid.population if shares is None else shares.get(grid.code, 0)
        grids.append(
            _GridInfo(
                id=grid.pk,
                code=grid.code,
                community=_short_community(grid.community.name),
                population=people,
                households=grid.households,
                polygon=grid.boundary,
            )
        )
    return grids


def _points_in(polygon: Any, n: int, rnd: np.random.Generator) -> list[tuple[float, float]]:
    shapely.prepare(polygon)
    x0, y0, x1, y1 = polygon.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    for _attempt in range(200):
        if got >= n:
            break
        x = rnd.uniform(x0, x1, size=(n - got) * 2 + 8)
        y = rnd.uniform(y0, y1, size=(n - got) * 2 + 8)
        inside = shapely.contains_xy(polygon, x, y)
        take = min(int(inside.sum()), n - got)
        xs.append(x[inside][:take])
        ys.append(y[inside][:take])
        got += take
    if got < n:  # a sliver: fall back to a point surely inside
        point = polygon.representative_point()
        xs.append(np.full(n - got, point.x))
        ys.append(np.full(n - got, point.y))
    lng = np.round(np.concatenate(xs), 7)
    lat = np.round(np.concatenate(ys), 7)
    return list(zip(lng.tolist(), lat.tolist(), strict=True))


# People -------------------------------------------------------------------------------------------


@dataclass
class _Member:
    age: int
    male: bool
    role: str  # head, spouse, child, parent, other


def _members(size: int, floating: bool, rnd: random.Random) -> list[_Member]:
    """Who lives in a household of this size: ages and sexes that make a family."""
    male = rnd.random() < 0.5
    if floating:
        head = rnd.randint(19, 48)
    elif size == 1:
        head = rnd.randint(62, 92) if rnd.random() < 0.45 else rnd.randint(22, 59)
    elif size == 2 and rnd.random() < 0.5:
        head = rnd.randint(60, 88)
    else:
        head = rnd.randint(26, 58)
    members = [_Member(head, male, "head")]
    if size == 1:
        return members
    if size == 2 and rnd.random() < 0.15 and head < 55:
        members.append(_Member(rnd.randint(0, max(head - 20, 0)), rnd.random() < 0.5, "child"))
        return members
    spouse_age = max(18, head + rnd.randint(-4, 3))
    members.append(_Member(spouse_age, not male, "spouse"))
    children = size - 2
    if size >= 5 or (size == 4 and rnd.random() < 0.35):
        parents = 2 if size >= 6 else 1
        for _ in range(parents):
            members.append(
                _Member(min(head + rnd.randint(24, 32), 99), rnd.random() < 0.45, "parent")
            )
        children -= parents
    for _ in range(max(children, 0)):
        age = rnd.randint(0, max(min(head - 20, 30), 0))
        members.append(_Member(age, rnd.random() < 0.51, "child"))
    return members


def _birth_date(age: int, today: date, rnd: random.Random) -> date:
    born = today - timedelta(days=age * 365 + rnd.randint(0, 364))
    return max(born, date(1920, 1, 1))


def _id_number(
    ctx: _Context,
    used: set[str],
    area: str,
    born: date,
    male: bool,
    street: int,
    rnd: random.Random,
) -> tuple[str, date]:
    base = street * ctx.id_span
    half = ctx.id_span // 2
    for attempt in range(200):
        if attempt and attempt % 20 == 0:
            born += timedelta(days=1)  # this day is full: the next one
        sequence = base + rnd.randrange(half) * 2 + (1 if male else 0)
        body = f"{area}{born:%Y%m%d}{sequence:03d}"
        number = body + resident_id_check_digit(body)
        if number not in used:
            used.add(number)
            return number, born
    raise RuntimeError("could not find a free ID number")  # pragma: no cover


def _name(ctx: _Context, male: bool, rnd: random.Random) -> str:
    given_names = PersonData.first_names_male if male else PersonData.first_names_female
    given = rnd.choice(given_names)
    if len(given) == 1 and rnd.random() < 0.55:
        given += rnd.choice(given_names)[0]
    return _pick(ctx.last_names, ctx.last_weights, rnd) + given


def _occupation(ctx: _Context, age: int, male: bool, floating: bool, rnd: random.Random) -> str:
    if age < 3:
        return ""
    if age < 6:
        return "学龄前儿童"
    if age < 22:
        return "学生"
    if age >= (60 if male else 55):
        return "退休"
    if floating:
        return rnd.choice(FLOATING_JOBS)
    if rnd.random() < 0.04:
        return "无业"
    return rnd.choice(ctx.jobs)


def _origin_address(area: str, rnd: random.Random) -> str:
    province = PROVINCES.get(area[:2], "")
    county = rnd.choice(AddressData.districts)
    if area[:2] in MUNICIPALITIES:
        return f"{province}{county}区{rnd.randint(1, 200)}号"
    village = rnd.choice(AddressData.districts)
    kind = "县" if rnd.random() < 0.6 else "区"
    return f"{province}{rnd.choice(AddressData.cities)}市{county}{kind}{village}村"


def _tags(
    ctx: _Context, member: _Member, size: int, floating: bool, rnd: random.Random
) -> list[int]:
    codes = []
    age = member.age
    if age >= 60 and size == 1 and not floating:
        codes.append("lonely_elderly")
    elif age >= 60 and size == 2 and member.role in ("head", "spouse"):
        codes.append("empty_nest_elderly")
    if age >= 80:
        codes.append("very_old")
    draw = rnd.random
    if draw() < TAG_RATES["disabled"]:
        codes.append("severe_disability" if draw() < 0.25 else "disabled")
    if member.role == "head" and not floating and draw() < TAG_RATES["subsistence_allowance"]:
        codes.append("subsistence_allowance")
    if age >= 60 and draw() < TAG_RATES["extreme_poverty"] * 5:
        codes.append("extreme_poverty")
    if age >= 18 and draw() < TAG_RATES["entitled_group"]:
        codes.append("entitled_group")
    if member.male and 25 <= age <= 80 and draw() < TAG_RATES["veteran"]:
        codes.append("veteran")
    if age < 16 and draw() < TAG_RATES["child_in_distress"]:
        codes.append("child_in_distress")
    if age >= 18:
        for code in (
            "severe_mental_illness",
            "community_correction",
            "released_prisoner",
            "drug_rehabilitation",
        ):
            if draw() < TAG_RATES[code]:
                codes.append(code)
        if 25 <= age <= 55 and draw() < TAG_RATES["unemployed"]:
            codes.append("unemployed")
    return [ctx.tags[code] for code in codes if code in ctx.tags]


def _pick(items: list[Any], cumulative: list[float], rnd: random.Random) -> Any:
    """``rnd.choices(items, cum_weights=cumulative)[0]`` without its per-call set-up."""
    return items[bisect(cumulative, rnd.random() * cumulative[-1])]


def _aware(day: date, rnd: random.Random) -> datetime:
    moment = datetime.combine(day, clock_time(8 + rnd.randint(0, 9), rnd.randint(0, 59)), LOCAL)
    return moment.astimezone(UTC)


def _pick_sizes(table: tuple[tuple[int, int], ...], rnd: random.Random) -> int:
    sizes, weights = _SIZE_TABLES[table]
    return _pick(sizes, weights, rnd)


_SIZE_TABLES = {
    table: ([s for s, _w in table], list(accumulate(w for _s, w in table)))
    for table in (LOCAL_SIZES, FLOATING_SIZES)
}


# One street ---------------------------------------------------------------------------------------


@dataclass
class _House:
    local: int
    grid: _GridInfo
    rented: bool
    households: int = 0


class _StreetPlan:
    """Every row of one street, planned in memory."""

    def __init__(self, ctx: _Context, ordinal: int, street_name: str, seed: int) -> None:
        self.ctx = ctx
        self.ordinal = ordinal
        self.street_name = street_name
        self.people_planned = 0
        self.seconds = 0.0
        self.used_ids: set[str] = set()  # ID sequences and credit codes are split by street
        self.used_credit: set[str] = set()
        self.rnd = random.Random(f"{seed}-{ctx.district}-{ordinal}")  # noqa: S311 — demo data
        self.np = np.random.default_rng([seed, int(ctx.district), ordinal])
        self.buildings = _Table(Building)
        self.houses = _Table(House, {"building_id": "buildings"})
        self.people = _Table(Person)
        self.households = _Table(Household, {"house_id": "houses", "head_id": "people"})
        self.residencies = _Table(
            Residency, {"person_id": "people", "house_id": "houses", "household_id": "households"}
        )
        self.events = _Table(PersonEvent, {"person_id": "people", "residency_id": "residencies"})
        self.person_tags = _Table(Person.tags.through, {"person_id": "people"})
        self.organizations = _Table(Organization, {"building_id": "buildings"})
        self.components = _Table(Component)
        # Plain numbers waiting to be sealed: (table, local row, column prefix, kind, value).
        self.to_seal: dict[str, list[tuple[_Table, int, str, str]]] = {
            "resident_id": [],
            "phone": [],
            "residence_permit": [],
        }
        self.address_numbers: dict[str, int] = {}
        self.floating = 0
        self.house_in_details: list[tuple[int, int]] = []  # (event row, house row)
        self.permit_events: list[tuple[int, int, date, date]] = []
        self.counts: dict[str, int] = {}
        self.phase_cpu: dict[str, float] = {}  # CPU seconds of planning, sealing, encoding
        self.cpu_seconds = 0.0

    # Places

    def place_houses(self, grid: _GridInfo, n_houses: int) -> list[int]:
        """Buildings with ``n_houses`` houses in the grid; returns the houses' local indexes."""
        rnd = self.rnd
        remaining = n_houses
        plans = []
        while remaining > 0:
            kind = rnd.choices(("bungalow", "residential", "mixed"), (30, 60, 10))[0]
            if kind == "bungalow":
                size = rnd.randint(5, 18)
            elif kind == "residential":
                size = rnd.randint(24, 120)
            else:
                size = rnd.randint(30, 80)
            size = min(size, remaining)
            plans.append((kind, size))
            remaining -= size
        points = _points_in(grid.polygon, len(plans), self.np)
        houses = []
        road = grid.community + ROAD_SUFFIXES[int(grid.code[-3:]) % len(ROAD_SUFFIXES)]
        stamp = self.ctx.now
        for (kind, size), (lng, lat) in zip(plans, points, strict=True):
            number = self.address_numbers.get(road, 0) + 1
            self.address_numbers[road] = number
            prefix = f"{self.ctx.city}{self.ctx.district_name}{self.street_name}{road}"
            if kind == "bungalow":
                name, address, units, per_floor = f"{number}号院", f"{prefix}{number}号", 1, size
                floors = 1
                building_type = Building.BuildingType.BUNGALOW
            else:
                units = rnd.randint(1, 4) if size > 30 else 1
                per_floor = rnd.randint(2, 4)
                floors = max(2, math.ceil(size / (units * per_floor)))
                name = f"{rnd.randint(1, 12)}号楼"
                address = f"{prefix}{number}号院{name}"
                building_type = (
                    Building.BuildingType.MIXED
                    if kind == "mixed"
                    else Building.BuildingType.RESIDENTIAL
                )
            b = self.buildings.add(
                grid_id=grid.id,
                region_code=grid.code,
                lng=lng,
                lat=lat,
                created_at=stamp,
                updated_at=stamp,
                name=name,
                address=address,
                building_type=building_type,
                floors=floors,
                units=units if building_type != Building.BuildingType.BUNGALOW else None,
            )
            for k in range(size):
                if building_type == Building.BuildingType.BUNGALOW:
                    unit, floor, room = "", 1, f"{k + 1}号"
                    area = round(rnd.uniform(14, 45), 2)
                else:
                    per_unit = math.ceil(size / units)
                    unit_no, position = divmod(k, per_unit)
                    floor, slot = divmod(position, per_floor)
                    unit, room = str(unit_no + 1), f"{floor + 1}{slot + 1:02d}"
                    floor += 1
                    area = round(rnd.uniform(38, 125), 2)
                ownership = rnd.choices(
                    ("private", "public", "work_unit"),
                    (55, 30, 15)
                    if building_type == Building.BuildingType.BUNGALOW
                    else (75, 10, 15),
                )[0]
                houses.append(
                    self.houses.add(
                        building_id=b,
                        region_code=grid.code,
                        unit=unit,
                        floor=floor,
                        room=room,
                        area_m2=area,
                        use=House.Use.RESIDENTIAL,
                        ownership=ownership,
                        qr_token=secrets.token_urlsafe(16),  # secret: never from the seed
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
        return houses

    # People

    def populate_grid(self, grid: _GridInfo) -> None:
        rnd = self.rnd
        n = grid.population
        if n <= 0:
            return
        # The share is kept over the street, not per grid, so that small grids add up to it too.
        self.people_planned += n
        target_floating = min(
            n, max(0, round(self.people_planned * FLOATING_SHARE) - self.floating)
        )
        plan: list[tuple[int, bool]] = []  # (size, floating)
        floating = people = 0
        while floating < target_floating:
            size = min(_pick_sizes(FLOATING_SIZES, rnd), target_floating - floating)
            plan.append((size, True))
            floating += size
        people = floating
        while people < n:
            size = min(_pick_sizes(LOCAL_SIZES, rnd), n - people)
            plan.append((size, False))
            people += size
        rnd.shuffle(plan)
        vacant = len(plan) * VACANT_SHARE
        n_houses = len(plan) + int(vacant) + (rnd.random() < vacant - int(vacant))
        house_ids = self.place_houses(grid, n_houses)
        rnd.shuffle(house_ids)
        free = iter(house_ids)
        shared: _House | None = None  # a flat let to two single floating tenants (合租)
        for size, is_floating in plan:
            resident = not is_floating and rnd.random() < 0.25
            if is_floating and size == 1 and shared is not None and shared.households == 1:
                house = shared
            else:
                rented = is_floating or (resident and rnd.random() < 0.4) or rnd.random() < 0.04
                house = _House(next(free), grid, rented)
                if rented:
                    self.houses.set(house.local, "rented", True)
                    self.houses.set(house.local, "has_lease_contract", rnd.random() < 0.9)
                    self.houses.set(house.local, "has_responsibility_letter", rnd.random() < 0.85)
                    self.houses.set(house.local, "has_rental_filing", rnd.random() < 0.8)
            shared = house if is_floating and size == 1 else shared
            house.households += 1
            kind = P.FLOATING if is_floating else (P.RESIDENT if resident else P.REGISTERED)
            self.household(grid, house, size, kind)
        self.floating += target_floating

    def household(self, grid: _GridInfo, house: _House, size: int, kind: str) -> None:
        ctx, rnd = self.ctx, self.rnd
        floating = kind == P.FLOATING
        stamp = ctx.now
        members = _members(size, floating, rnd)
        hh = self.households.add(
            house_id=house.local,
            region_code=grid.code,
            number=str(house.households),
            household_type=Household.HouseholdType.FAMILY,
            created_at=stamp,
            updated_at=stamp,
        )
        if floating:
            moved_in = ctx.today - timedelta(days=int(rnd.expovariate(1 / 420)))
        else:
            moved_in = ctx.today - timedelta(days=rnd.randint(400, 365 * 30))
        pending = floating and rnd.random() < 0.015
        if pending:
            moved_in = ctx.today - timedelta(days=rnd.randint(0, 12))
        levels: list[tuple[int, int]] = []
        for member in members:
            person = self.person(grid, member, kind, size, moved_in, house, hh, pending, levels)
            if member.role == "head":
                self.households.set(hh, "head_id", person)
        care = min(levels)[1] if levels else ctx.default_class
        self.households.set(hh, "care_class_id", care)

    def person(
        self,
        grid: _GridInfo,
        member: _Member,
        kind: str,
        size: int,
        moved_in: date,
        house: _House,
        household: int,
        pending: bool,
        levels: list[tuple[int, int]],
    ) -> int:
        ctx, rnd = self.ctx, self.rnd
        floating = kind == P.FLOATING
        born = _birth_date(member.age, ctx.today, rnd)
        if kind == P.REGISTERED:
            area = ctx.district if rnd.random() < 0.7 else rnd.choice(ctx.local_codes)
            if member.role == "child" and member.age < 18:
                area = ctx.district
        else:
            area = _pick(ctx.origin_codes, ctx.origin_weights, rnd)
        number, born = _id_number(ctx, self.used_ids, area, born, member.male, self.ordinal, rnd)
        address = self.buildings.get(self.houses.get(house.local, "building_id"), "address")
        room = self.houses.get(house.local, "room")
        unit = self.houses.get(house.local, "unit")
        hukou = f"{address}{unit + '单元' if unit else ''}{room}" if kind == P.REGISTERED else ""
        stamp = ctx.now
        p = self.people.add(
            name=_name(ctx, member.male, rnd),
            sex=Person.Sex.MALE if member.male else Person.Sex.FEMALE,
            birth_date=born,
            id_type=Person.IdType.RESIDENT_ID,
            id_number_suffix=number[-4:],
            ethnicity=_pick(ETHNIC_NAMES, ETHNIC_WEIGHTS, rnd),
            hukou_address=hukou or _origin_address(area, rnd),
            residency_type=kind,
            occupation=_occupation(ctx, member.age, member.male, floating, rnd),
            region_code=grid.code,
            status=Person.Status.ACTIVE,
            created_at=stamp,
            updated_at=stamp,
        )
        self.to_seal["resident_id"].append((self.people, p, "id_number", number))
        if member.age >= 12 and (member.age < 80 or rnd.random() < 0.5):
            phone = rnd.choice(MOBILE_PREFIXES) + f"{rnd.randrange(100_000_000):08d}"
            self.people.set(p, "phone_suffix", phone[-4:])
            self.to_seal["phone"].append((self.people, p, "phone", phone))
        for tag in _tags(ctx, member, size, floating, rnd):
            self.person_tags.add(person_id=p, tag_id=tag)
            if tag in ctx.tag_levels:
                levels.append(ctx.tag_levels[tag])
        # Where the person lives, and for a few the house they lived in before.
        if house.rented:
            relation = R.TENANT if member.age >= 18 else R.FAMILY
        else:
            relation = R.OWNER if member.role in ("head", "spouse") else R.FAMILY
        since = max(moved_in, born)
        moved_before = not floating and member.age >= 25 and rnd.random() < 0.05
        if moved_before:
            moved_before = self.previous_residency(p, relation, since, house.local)
        self.residency(p, house, household, relation, since, kind, pending, number, moved_before)
        return p

    def residency(
        self,
        person: int,
        house: _House,
        household: int,
        relation: str,
        since: date,
        kind: str,
        pending: bool,
        number: str,
        moved_before: bool,
    ) -> None:
        ctx, rnd = self.ctx, self.rnd
        floating = kind == P.FLOATING
        lag = 0 if rnd.random() < 0.7 else rnd.randint(1, 2)
        if floating and rnd.random() < 0.05:
            lag = rnd.randint(3, 30)  # a late registration (篇9)
        registered_on = min(since + timedelta(days=lag), ctx.today)
        registered_at = None if pending else _aware(registered_on, rnd)
        row = self.residencies.add(
            person_id=person,
            house_id=house.local,
            household_id=household,
            region_code=house.grid.code,
            relation=relation,
            moved_in_on=since,
            registered_at=registered_at,
            registration_lag_days=None if pending else (registered_on - since).days,
            has_id_copy=rnd.random() < (0.9 if relation == R.TENANT else 0.6),
            created_at=registered_at or _aware(since, rnd),
            updated_at=registered_at or _aware(since, rnd),
        )
        action = PersonEvent.Action.MOVED_IN if moved_before else PersonEvent.Action.REGISTERED
        self.events.add(
            person_id=person,
            residency_id=row,
            action=action,
            details={
                "house": None,  # filled with the house id when written
                "relation": relation,
                "moved_in_on": since.isoformat(),
                "registered": not pending,
            },
            created_at=registered_at or _aware(since, rnd),
        )
        self.house_in_details.append((len(self.events.rows) - 1, house.local))
        if floating and not pending:
            self.permit(person, row, registered_on, number)

    def permit(self, person: int, residency: int, registered_on: date, number: str) -> None:
        ctx, rnd = self.ctx, self.rnd
        draw = rnd.random()
        if draw < 0.55:
            issued = registered_on + timedelta(days=rnd.randint(15, 30))
            if issued > ctx.today:
                self.residencies.set(residency, "permit_status", Residency.PermitStatus.APPLIED)
                return
            # Renewed every year: the current year's validity.
            years = (ctx.today - issued).days // 365
            issued_now = issued + timedelta(days=365 * years) if rnd.random() < 0.9 else issued
            expires = issued_now + timedelta(days=365)
            self.residencies.set(residency, "permit_status", Residency.PermitStatus.ISSUED)
            self.residencies.set(residency, "permit_issued_on", issued)
            self.residencies.set(residency, "permit_expires_on", expires)
            self.to_seal["residence_permit"].append(
                (self.residencies, residency, "permit_number", number)
            )
            self.permit_events.append((person, residency, issued, expires))
        elif draw < 0.65:
            self.residencies.set(residency, "permit_status", Residency.PermitStatus.APPLIED)

    def previous_residency(self, person: int, relation: str, since: date, current: int) -> bool:
        """A house the person lived in before, moved out of and deregistered (history)."""
        rnd = self.rnd
        before = rnd.randrange(len(self.houses.rows))
        if before == current:
            return False
        moved_out = since - timedelta(days=rnd.randint(0, 20))
        moved_in = moved_out - timedelta(days=rnd.randint(365, 365 * 8))
        moved_in = max(moved_in, self.people.get(person, "birth_date"))
        if moved_out < moved_in:
            return False
        deregistered_on = min(moved_out + timedelta(days=rnd.randint(0, 5)), since)
        registered_at = _aware(moved_in, rnd)
        deregistered_at = _aware(deregistered_on, rnd)
        region = self.houses.get(before, "region_code")
        row = self.residencies.add(
            person_id=person,
            house_id=before,
            region_code=region,
            relation=relation,
            moved_in_on=moved_in,
            moved_out_on=moved_out,
            registered_at=registered_at,
            registration_lag_days=0,
            deregistered_at=deregistered_at,
            deregistration_reason=Residency.DeregistrationReason.MOVED_AWAY,
            deregistration_lag_days=(deregistered_on - moved_out).days,
            created_at=registered_at,
            updated_at=deregistered_at,
        )
        add = self.events.add
        add(
            person_id=person,
            residency_id=row,
            action=PersonEvent.Action.REGISTERED,
            details={"relation": relation, "moved_in_on": moved_in.isoformat(), "registered": True},
            created_at=registered_at,
        )
        self.house_in_details.append((len(self.events.rows) - 1, before))
        add(
            person_id=person,
            residency_id=row,
            action=PersonEvent.Action.MOVED_OUT,
            details={"moved_out_on": moved_out.isoformat()},
            created_at=_aware(moved_out, rnd) if moved_out < deregistered_on else deregistered_at,
        )
        add(
            person_id=person,
            residency_id=row,
            action=PersonEvent.Action.DEREGISTERED,
            details={"reason": "moved_away", "moved_out_on": moved_out.isoformat()},
            created_at=deregistered_at,
        )
        return True

    # Organizations and components

    def organizations_in(self, grid: _GridInfo, people: int) -> None:
        ctx, rnd = self.ctx, self.rnd
        expected = people * ORGS_PER_1000 / 1000
        n = int(expected) + (rnd.random() < expected - int(expected))
        if n <= 0:
            return
        points = _points_in(grid.polygon, n, self.np)
        stamp = ctx.now
        kinds = [k for k, _w, _p in ORG_KINDS]
        weights = [w for _k, w, _p in ORG_KINDS]
        prefixes = {k: p for k, _w, p in ORG_KINDS}
        road = grid.community + ROAD_SUFFIXES[int(grid.code[-3:]) % len(ROAD_SUFFIXES)]
        for lng, lat in points:
            org_type = rnd.choices(kinds, weights)[0]
            name = self.org_name(org_type, grid, rnd)
            code = ""
            for _attempt in range(50):
                body = (
                    "MA"
                    + CREDIT_ALPHABET[self.ordinal % 31]
                    + "".join(rnd.choice(CREDIT_ALPHABET) for _ in range(5))
                )
                code = _credit_code(prefixes[org_type], ctx.district, body)
                if code not in self.used_credit:
                    self.used_credit.add(code)
                    break
            employees = (
                max(1, int(rnd.lognormvariate(1.0, 0.6)))
                if org_type == Organization.OrgType.INDIVIDUAL
                else max(3, int(rnd.lognormvariate(3.0, 1.1)))
            )
            key_unit = org_type != Organization.OrgType.INDIVIDUAL and rnd.random() < 0.04
            o = self.organizations.add(
                grid_id=grid.id,
                region_code=grid.code,
                lng=lng,
                lat=lat,
                created_at=stamp,
                updated_at=stamp,
                name=name,
                org_type=org_type,
                credit_code=code,
                address=f"{ctx.city}{ctx.district_name}{road}{rnd.randint(1, 160)}号",
                industry=rnd.choice(INDUSTRIES.get(org_type, ("其他",))),
                legal_representative=_name(ctx, rnd.random() < 0.6, rnd),
                contact_name=_name(ctx, rnd.random() < 0.5, rnd),
                employees=employees,
                operating_status=rnd.choices(("operating", "suspended", "closed"), (94, 3, 3))[0],
                safety_key_unit=key_unit,
                fire_key_unit=key_unit or rnd.random() < 0.03,
                hazardous_chemicals=rnd.random() < 0.01,
                fire_risk=rnd.choices(("unrated", "low", "medium", "high"), (40, 40, 15, 5))[0],
                safety_officer=_name(ctx, rnd.random() < 0.6, rnd) if key_unit else "",
                last_safety_check_on=ctx.today - timedelta(days=rnd.randint(5, 400))
                if rnd.random() < 0.6
                else None,
            )
            if rnd.random() < 0.7:
                phone = rnd.choice(MOBILE_PREFIXES) + f"{rnd.randrange(100_000_000):08d}"
                self.to_seal["phone"].append((self.organizations, o, "contact_phone", phone))

    def org_name(self, org_type: str, grid: _GridInfo, rnd: random.Random) -> str:
        place = grid.community
        if org_type == Organization.OrgType.INDIVIDUAL:
            return f"{place}{rnd.choice(self.ctx.last_names[:60])}记{rnd.choice(SHOPS)}"
        if org_type == Organization.OrgType.ENTERPRISE:
            return (
                f"北京{rnd.choice(CompanyData.company_prefixes)}"
                f"{rnd.choice(CompanyData.company_suffixes)}"
            )
        if org_type == Organization.OrgType.SCHOOL:
            return f"{self.ctx.district_name}{place}{rnd.choice(('小学', '中学', '幼儿园'))}"
        if org_type == Organization.OrgType.HOSPITAL:
            return f"{place}{rnd.choice(('社区卫生服务站', '中医诊所', '口腔诊所', '门诊部'))}"
        if org_type == Organization.OrgType.GOVERNMENT:
            return f"{self.ctx.district_name}{place}{rnd.choice(('派出所', '税务所', '工商所'))}"
        if org_type == Organization.OrgType.INSTITUTION:
            return f"{place}{rnd.choice(('文化活动中心', '养老服务驿站', '图书室'))}"
        if org_type == Organization.OrgType.SOCIAL:
            return f"{place}{rnd.choice(('志愿者协会', '老年协会', '书画社', '调解委员会'))}"
        return f"{place}{rnd.choice(('物业服务中心', '停车场', '菜市场'))}"

    def components_in(
        self, unit_grids: list[tuple[int, str, Any]], per_grid: float, serials: dict[str, int]
    ) -> None:
        ctx, rnd = self.ctx, self.rnd
        if not ctx.component_classes or per_grid <= 0:
            return
        counts = self.np.poisson(per_grid, size=len(unit_grids))
        statuses = [s for s, _w in COMPONENT_STATUS]
        status_weights = [w for _s, w in COMPONENT_STATUS]
        stamp = ctx.now
        planned = []
        for (grid_id, grid_code, polygon), count in zip(unit_grids, counts.tolist(), strict=True):
            for lng, lat in _points_in(polygon, count, self.np) if count else []:
                planned.append((grid_id, grid_code, lng, lat))
        if not planned:
            return
        shared = _SHARED
        assert shared is not None  # noqa: S101
        points = shapely.points([p[2] for p in planned], [p[3] for p in planned])
        point_idx, grid_idx = shared.social_tree.query(points, predicate="intersects")
        social_of: dict[int, str] = {}
        for point, hit in sorted(zip(point_idx.tolist(), grid_idx.tolist(), strict=True)):
            social_of.setdefault(point, shared.social_codes[hit])  # the smallest code wins
        for n, (grid_id, grid_code, lng, lat) in enumerate(planned):
            social = social_of.get(n, grid_code)
            class_code, class_name = _pick(ctx.component_classes, ctx.component_weights, rnd)
            serials[class_code] = serials.get(class_code, 0) + 1
            serial = self.ordinal * 10_000 + serials[class_code]
            status = rnd.choices(statuses, status_weights)[0]
            surveyed = date(2016, 1, 1) + timedelta(days=rnd.randint(0, 3000))
            unit = ctx.units[_unit_key(class_code, class_name)]
            self.components.add(
                grid_id=grid_id,
                region_code=social,
                lng=lng,
                lat=lat,
                created_at=stamp,
                updated_at=stamp,
                component_id=f"{ctx.district}{class_code}{serial:06d}",
                class_code=class_code,
                name=class_name[:30],
                status=status,
                competent_unit_code=unit[0],
                competent_unit_name=unit[1],
                owner_unit_code=unit[0],
                owner_unit_name=unit[1],
                maintainer_unit_code=unit[0],
                maintainer_unit_name=unit[1],
                surveyed_on=surveyed,
                changed_on=None
                if status == "intact"
                else min(surveyed + timedelta(days=rnd.randint(30, 2000)), ctx.today),
                data_source=rnd.choices(("surveyed", "topographic_map", "base_geodata"), (7, 2, 1))[
                    0
                ],
            )

    # Sealing and writing

    def seal(self) -> None:
        for kind, items in self.to_seal.items():
            sealed = _seal_values(kind, [value for _t, _r, _c, value in items])
            for (table, row, column, _value), (token, digest, masked) in zip(
                items, sealed, strict=True
            ):
                table.set(row, f"{column}_encrypted", token)
                table.set(row, f"{column}_hash", digest)
                table.set(row, f"{column}_masked", masked)
            items.clear()
        # Events name the masked permit number, as residency_issue_permit writes it.
        permit_events, self.permit_events = self.permit_events, []
        for person, residency, issued, expires in permit_events:
            self.events.add(
                person_id=person,
                residency_id=residency,
                action=PersonEvent.Action.PERMIT_ISSUED,
                details={
                    "permit_number": self.residencies.get(residency, "permit_number_masked"),
                    "issued_on": issued.isoformat(),
                    "expires_on": expires.isoformat(),
                },
                created_at=_aware(issued, self.rnd),
            )

    def tables(self) -> dict[str, _Table]:
        """Every table, in the order they are written (a table after those it links to)."""
        return {
            "buildings": self.buildings,
            "houses": self.houses,
            "people": self.people,
            "households": self.households,
            "residencies": self.residencies,
            "events": self.events,
            "person_tags": self.person_tags,
            "organizations": self.organizations,
            "components": self.components,
        }

    def _house_ids_in_details(self) -> None:
        details = self.events.index["details"]
        for event, house in self.house_in_details:
            self.events.rows[event][details]["house"] = self.houses.ids[house]
        self.house_in_details = []

    def write(self) -> None:
        """Insert every row through the default connection (SQLite)."""
        tables = self.tables()
        for name, table in tables.items():
            if name == "events":
                self._house_ids_in_details()
            table.write(tables)

    def encode(self) -> None:
        """PostgreSQL, where the street was planned: draw the ids from the sequences (no lock on
        the tables) and turn every table into ``COPY`` text."""
        tables = self.tables()
        for table in tables.values():
            table.reserve_ids()
        self._house_ids_in_details()
        for table in tables.values():
            table.encode(tables, self.ctx.now)
        for table in tables.values():
            table.ids = []  # not needed by the writer

    def copy(self) -> None:
        """PostgreSQL: stream the encoded tables (in the writer's transaction)."""
        for table in self.tables().values():
            table.copy()


def _unit_key(class_code: str, name: str) -> str:
    for word in ("燃气", "热"):
        if word in name:
            return word
    if "水" in name and class_code.startswith("01"):
        return "水"
    if "电" in name and class_code.startswith("01"):
        return "电"
    return class_code[:2] if class_code[:2] in COMPONENT_UNITS else "05"


# The generator ------------------------------------------------------------------------------------


def generate_population(
    district_code: str,
    *,
    size: str = "demo",
    seed: int = 2026,
    today: date | None = None,
    workers: int = 2,
    bulk: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> PopulationReport:
    """Fill the streets of the district that hold no registry rows yet; returns what was written.

    With ``workers`` > 1 and more than a few thousand people, worker processes plan and seal the
    streets (and on PostgreSQL encode them as ``COPY`` text) while this process writes the ones
    already planned, one transaction per street.

    ``bulk`` (PostgreSQL; by default when the registry tables are all empty and the population is
    large) writes every street in one transaction instead, with the tables' secondary indexes,
    unique constraints and foreign keys between them dropped at its start and recreated at its
    end (see ``_bulk_load_begin``).
    """
    global _SHARED
    if size not in SIZES:
        raise ValueError(f"unknown population size {size!r}; choose one of {', '.join(SIZES)}")
    chosen = SIZES[size]
    started = time.monotonic()
    say = progress or (lambda message: None)
    today = today or timezone.localdate()
    streets = list(
        Region.objects.filter(level=Region.Level.STREET, parent__code=district_code).order_by(
            "code"
        )
    )
    if not streets:
        raise ValueError(f"district {district_code} has no streets: load its territory first")
    ctx = _load(district_code, today, len(streets))
    shares = None
    per_unit_grid = chosen.components_per_unit_grid
    if chosen.people is not None:
        shares = _shares(district_code, chosen.people)
        unit_count = Grid.objects.filter(layer_id="unit", code__startswith=district_code).count()
        per_unit_grid = chosen.components_per_unit_grid / max(unit_count, 1)
    report = PopulationReport()
    todo = []
    for ordinal, street in enumerate(streets):
        if chosen.streets is not None and ordinal >= chosen.streets:
            break
        if _populated(street.code):
            report.skipped_streets += 1
        else:
            todo.append(ordinal)
    if not todo:
        report.seconds = time.monotonic() - started
        return report
    social = list(
        Grid.objects.filter(layer_id="social", code__startswith=district_code).order_by("code")
    )
    postgres = connection.vendor == "postgresql"
    _SHARED = shared = _Shared(
        ctx=ctx,
        streets=streets,
        grids={i: _grids(streets[i], shares) for i in todo},
        unit_grids={
            i: [
                (g.pk, g.code, g.boundary)
                for g in Grid.objects.filter(
                    layer_id="unit", community__parent=streets[i]
                ).order_by("code")
            ]
            for i in todo
        },
        social_tree=shapely.STRtree([g.boundary for g in social]),
        social_codes=[g.code for g in social],
        per_unit_grid=per_unit_grid,
        seed=seed,
        encode=postgres,
    )
    people = sum(g.population for i in todo for g in shared.grids[i])
    if bulk is None:
        bulk = people >= BULK_THRESHOLD and _registry_empty()
    bulk = bulk and postgres
    try:
        if workers > 1 and people >= POOL_THRESHOLD:
            pii.check_keys()  # load the keys before forking, so every worker has them
            if not connection.in_atomic_block:
                connection.close()  # the workers open their own connection (to draw ids)
            # The largest streets first, written as they come: no long street planned alone at
            # the end while the other worker idles.
            largest_first = sorted(todo, key=lambda i: -sum(g.population for g in shared.grids[i]))
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                _write_streets(pool.imap_unordered(_plan_street, largest_first), bulk, report, say)
        else:
            _write_streets(map(_plan_street, todo), bulk, report, say)
    finally:
        _SHARED = None
    report.seconds = time.monotonic() - started
    return report


def _plan_street(ordinal: int) -> _StreetPlan:
    """Plan and seal every row of one street, on PostgreSQL encode it (in a worker, or inline)."""
    shared = _SHARED
    assert shared is not None  # noqa: S101
    started, cpu = time.monotonic(), time.process_time()
    street = shared.streets[ordinal]
    plan = _StreetPlan(shared.ctx, ordinal, street.name, shared.seed)
    for grid in shared.grids[ordinal]:
        plan.populate_grid(grid)
        plan.organizations_in(grid, grid.population)
    plan.components_in(shared.unit_grids[ordinal], shared.per_unit_grid, {})
    planned = time.process_time()
    plan.seal()
    sealed = time.process_time()
    plan.counts = {name: len(table.rows) for name, table in plan.tables().items()}
    if shared.encode:
        plan.encode()
    plan.seconds = time.monotonic() - started
    plan.cpu_seconds = time.process_time() - cpu
    plan.phase_cpu = {"plan": planned - cpu, "seal": sealed - planned}
    if shared.encode:
        plan.phase_cpu["encode"] = time.process_time() - sealed
    plan.ctx = None  # type: ignore[assignment]  # not sent back to the writer
    plan.used_ids = set()
    plan.used_credit = set()
    return plan


def _write_streets(
    plans: Iterable[_StreetPlan], bulk: bool, report: PopulationReport, say: Callable[[str], None]
) -> None:
    if not bulk:
        for plan in plans:
            with transaction.atomic():
                _write_street(plan, report, say)
        return
    with transaction.atomic():
        restore = _bulk_load_begin()
        if restore is None:
            say("the registry tables are not empty: writing with their indexes in place")
        for plan in plans:
            _write_street(plan, report, say)
        started = time.monotonic()
        if restore is not None:
            _bulk_load_end(restore)
        with connection.cursor() as cursor:
            for model in LOADED_MODELS:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        report.finish_seconds = time.monotonic() - started
        say(
            f"indexes, constraints and foreign keys rebuilt, tables analyzed in "
            f"{report.finish_seconds:.1f} s"
        )


def _write_street(plan: _StreetPlan, report: PopulationReport, say: Callable[[str], None]) -> None:
    """Write one planned street in the current transaction."""
    started = time.monotonic()
    counts = plan.counts
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Demo data: a server crash may lose the last commits, it corrupts nothing.
            cursor.execute("SET LOCAL synchronous_commit = off")
        plan.copy()
    else:
        plan.write()
    seconds = time.monotonic() - started
    report.streets += 1
    report.buildings += counts["buildings"]
    report.houses += counts["houses"]
    report.people += counts["people"]
    report.households += counts["households"]
    report.residencies += counts["residencies"]
    report.events += counts["events"]
    report.organizations += counts["organizations"]
    report.components += counts["components"]
    report.floating += plan.floating
    report.write_seconds += seconds
    report.plan_cpu_seconds += plan.cpu_seconds
    for phase, cpu in plan.phase_cpu.items():
        report.phase_cpu[phase] = report.phase_cpu.get(phase, 0.0) + cpu
    say(
        f"{plan.street_name}: {counts['people']:,} people, {counts['households']:,} households, "
        f"{counts['organizations']:,} organizations, {counts['components']:,} components — "
        f"planned, sealed and encoded in {plan.seconds:.1f} s (CPU: "
        + ", ".join(f"{phase} {cpu:.1f} s" for phase, cpu in plan.phase_cpu.items())
        + f"), written in {seconds:.1f} s"
    )


# Bulk load (PostgreSQL, empty tables) -------------------------------------------------------------

LOADED_MODELS = (
    Building,
    House,
    Person,
    Household,
    Residency,
    PersonEvent,
    Person.tags.through,
    Organization,
    Component,
)
BULK_THRESHOLD = 100_000  # people; below it the indexes cost less than their rebuild


def _registry_empty() -> bool:
    return not any(model.objects.exists() for model in LOADED_MODELS)


def _bulk_load_begin() -> list[str] | None:
    """Lock the loaded tables; when they are all empty, drop their secondary indexes, unique
    constraints and the foreign keys between them, and return the statements that recreate them.

    A bulk load into empty tables is several times cheaper when PostgreSQL builds each index once,
    sorted, and checks each foreign key with one join, than row by row. Everything happens in the
    caller's transaction: if the load fails or is interrupted, the drops roll back with it, so the
    schema is never left without them. The tables stay locked (ACCESS EXCLUSIVE) until the
    transaction ends: other sessions wait for the registry meanwhile. Names and definitions are
    read from the catalog, not hard-coded, so they follow the migrations. Foreign keys to other
    tables (grids, users, tags, care classes) stay: dropping them would lock those tables too.
    """
    tables = [model._meta.db_table for model in LOADED_MODELS]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {', '.join(quote(t) for t in tables)} IN ACCESS EXCLUSIVE MODE")
        for table in tables:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})")  # noqa: S608
            if cursor.fetchone()[0]:
                return None
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        oids = "ARRAY[" + ", ".join(["%s::regclass"] * len(tables)) + "]"
        # Foreign keys between the loaded tables.
        cursor.execute(
            f"""SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)
                FROM pg_constraint
                WHERE contype = 'f' AND conrelid = ANY({oids}) AND confrelid = ANY({oids})
                ORDER BY 1, 2""",  # noqa: S608
            tables + tables,
        )
        foreign_keys = cursor.fetchall()
        # Unique constraints, but those a foreign key from another table relies on.
        cursor.execute(
            f"""SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)
                FROM pg_constraint c
                WHERE contype = 'u' AND conrelid = ANY({oids})
                  AND NOT EXISTS (
                      SELECT 1 FROM pg_constraint f
                      WHERE f.contype = 'f' AND f.conindid = c.conindid
                        AND NOT (f.conrelid = ANY({oids}) AND f.confrelid = ANY({oids}))
                  )
                ORDER BY 1, 2""",  # noqa: S608
            tables * 3,
        )
        uniques = cursor.fetchall()
        # Other indexes that back no constraint (primary keys stay).
        cursor.execute(
            f"""SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
                FROM pg_index i
                WHERE indrelid = ANY({oids}) AND NOT indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                ORDER BY 1""",  # noqa: S608
            tables,
        )
        indexes = cursor.fetchall()
        for table, name, _definition in foreign_keys + uniques:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    restore = [definition for _name, definition in indexes]
    restore += [f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}" for t, n, d in uniques + foreign_keys]
    return restore


def _bulk_load_end(restore: list[str]) -> None:
    """Recreate what ``_bulk_load_begin`` dropped: indexes first, foreign keys last."""
    with connection.cursor() as cursor:
        # PostgreSQL builds no index on a table with foreign-key checks still queued: run them
        # now (the keys to other tables), then defer again, Django's mode for its foreign keys.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in restore:
            cursor.execute(statement)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _populated(street_code: str) -> bool:
    """Whether an earlier run wrote this street (each street is written in one transaction)."""
    return any(
        model.objects.filter(region_code__startswith=street_code).exists()
        for model in (Building, Organization, Component)
    )


def population_counts(district_code: str) -> dict[str, int]:
    """What the district holds now (for the command's summary)."""
    prefix = district_code
    return {
        "buildings": Building.objects.filter(region_code__startswith=prefix).count(),
        "people": Person.objects.filter(region_code__startswith=prefix).count(),
        "organizations": Organization.objects.filter(region_code__startswith=prefix).count(),
        "components": Component.objects.filter(region_code__startswith=prefix).count(),
    }


__all__: Iterable[str] = ("SIZES", "PopulationReport", "generate_population", "population_counts")
