"""The demo district's professional departments (专业部门), its responsibility matrix (权责清单) and
one handler (专业部门处置人员) per department.

The matrix is written the way a district drafts it: each big class (大类) of the taxonomy goes to one
department, and the small classes (小类) that belong elsewhere are listed as exceptions (a 燃气井盖
is the gas company's, not 市政's). ``wangge.cases.dispatch.suggest_department`` matches a case's own
category, so every small class gets its own rule row for the district; a few streets whose
comprehensive enforcement team (街道综合执法队) takes street order and advertising in its own street
add street-specific overrides, which win because their region code is longer.

Department codes carry the district (``chengguan-110102``) because codes are unique across the
installation and both demo districts may be loaded; handlers are ``chengguan_110102`` and so on.
Everything is idempotent: rows that exist are left as they are (an administrator's edit survives a
second ``demo_data``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from wangge.cases.models import Category, ResponsibilityRule
from wangge.core.models import Department, User
from wangge.core.roles import Role
from wangge.core.scope import scope_grant_set, user_prefixes
from wangge.demo.people import DEMO_PASSWORD, DemoLogin
from wangge.regions.models import Region


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str  # "{d}" is the district's name (西城区), "{s}" its short name (西城)


DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("chengguan", "{d}城管执法局"),
    DepartmentSpec("shizheng", "{d}市政市容委"),
    DepartmentSpec("yuanlin", "{d}园林绿化局"),
    DepartmentSpec("huanwei", "{d}环卫中心"),
    DepartmentSpec("jiaotong", "{d}交通委"),
    DepartmentSpec("shuiwu", "{d}水务局"),
    DepartmentSpec("gongdian", "{s}供电公司"),
    DepartmentSpec("ranqi", "燃气集团{s}分公司"),
    DepartmentSpec("reli", "热力集团{s}分公司"),
    DepartmentSpec("tongxin", "通信管线{s}运维中心"),
    DepartmentSpec("zhujian", "{d}住建委"),
    DepartmentSpec("minzheng", "{d}民政局"),
    DepartmentSpec("renshe", "{d}人力社保局"),
    DepartmentSpec("tuijun", "{d}退役军人事务局"),
    DepartmentSpec("canlian", "{d}残联"),
    DepartmentSpec("yingji", "{d}应急管理局"),
    DepartmentSpec("xiaofang", "{s}消防救援支队"),
    DepartmentSpec("shichang", "{d}市场监管局"),
    DepartmentSpec("shengtai", "{d}生态环境局"),
    DepartmentSpec("gongan", "{s}公安分局"),
    DepartmentSpec("weijian", "{d}卫健委"),
    DepartmentSpec("jiaoyu", "{d}教委"),
    DepartmentSpec("sifa", "{d}司法局"),
    DepartmentSpec("xinfang", "{d}信访办"),
    DepartmentSpec("zhengwu", "{d}政务服务局"),
)
DEPARTMENT_CODES = frozenset(spec.code for spec in DEPARTMENTS)

# Big class → department, by (kind, big class code). GB/T "matters" 01–05 are the problems of the
# components of the same big class and follow the components' row.
BIG_CLASSES: dict[tuple[str, str], str] = {
    ("component", "01"): "shizheng",
    ("component", "02"): "jiaotong",
    ("component", "03"): "huanwei",
    ("component", "04"): "yuanlin",
    ("component", "05"): "zhujian",
    ("matter", "01"): "shizheng",
    ("matter", "02"): "jiaotong",
    ("matter", "03"): "huanwei",
    ("matter", "04"): "yuanlin",
    ("matter", "05"): "zhujian",
    ("matter", "06"): "chengguan",
    ("matter", "07"): "chengguan",
    ("matter", "08"): "zhujian",
    ("matter", "09"): "chengguan",
    ("matter", "10"): "huanwei",
    ("service", "SS01"): "minzheng",
    ("service", "SS02"): "zhujian",
    ("service", "SS03"): "tuijun",
    ("service", "SS04"): "canlian",
    ("service", "SS05"): "minzheng",
    ("service", "SS06"): "weijian",
    ("service", "AS01"): "gongan",
    ("service", "AS02"): "renshe",
    ("service", "AS03"): "renshe",
    ("service", "AS04"): "zhengwu",
    ("affair", "SS07"): "zhujian",
    ("affair", "SM01"): "sifa",
    ("affair", "SM02"): "gongan",
    ("affair", "SM03"): "xinfang",
    ("affair", "SM04"): "gongan",
    ("affair", "SM05"): "shichang",
    ("affair", "SM06"): "shengtai",
    ("affair", "EM01"): "yingji",
    ("affair", "EM02"): "xiaofang",
    ("affair", "EM03"): "yingji",
    ("affair", "EM04"): "yingji",
    ("affair", "EM05"): "weijian",
}

# Small classes that belong to another department than their big class. GB/T component codes apply
# to the component and to the matter of the same code (01005 电力井盖 / 电力井盖异常).
_COMPONENT_EXCEPTIONS: dict[str, str] = {
    **dict.fromkeys(("01001", "01002", "01003", "01004", "01019", "01024", "01025"), "shuiwu"),
    **dict.fromkeys(("01067", "01068", "01069", "01070", "01071", "01072", "01073"), "shuiwu"),
    **dict.fromkeys(("01005", "01017", "01028", "01029", "01030", "01047", "01048"), "gongdian"),
    "01054": "gongdian",
    **dict.fromkeys(("01007", "01008", "01009", "01027", "01031", "01062"), "tongxin"),
    **dict.fromkeys(("01010", "01061"), "reli"),
    **dict.fromkeys(("01011", "01021", "01036", "01049", "01057"), "ranqi"),
    **dict.fromkeys(("01012", "01015", "01050", "01051", "01066"), "gongan"),
    "01013": "xiaofang",
    "01014": "yuanlin",
    "01018": "huanwei",
    **dict.fromkeys(("01020", "01032"), "jiaotong"),
    "01076": "shichang",
    **dict.fromkeys(("02014", "02015", "02016", "02038", "02039"), "gongan"),
    **dict.fromkeys(("02012", "02013", "02036"), "minzheng"),
    "02035": "yingji",
    "02037": "shizheng",
    **dict.fromkeys(("03006", "03007"), "chengguan"),
    "03008": "shizheng",
    **dict.fromkeys(("03009", "03010", "03011", "03012", "03013"), "shengtai"),
    "05003": "yingji",
    "05009": "shizheng",
}
_MATTER_EXCEPTIONS: dict[str, str] = {
    **dict.fromkeys(("06010", "06011", "06012", "06037", "06042"), "huanwei"),
    **dict.fromkeys(("06013", "06044", "06048", "06049", "06050", "06051", "06052"), "shizheng"),
    **dict.fromkeys(("06015", "06023", "06024", "06025", "06026", "06046"), "shuiwu"),
    "06016": "jiaotong",
    **dict.fromkeys(("06017", "06018", "06021", "06022", "06045", "06047"), "yuanlin"),
    "06033": "weijian",
    "06034": "gongan",
    "07008": "shizheng",
    **dict.fromkeys(("08001", "08002", "08003", "08004", "08011", "08012", "08016"), "chengguan"),
    "09003": "minzheng",
    **dict.fromkeys(("09009", "09014", "09018"), "gongan"),
    **dict.fromkeys(("09011", "09016"), "jiaotong"),
    "09012": "xiaofang",
    **dict.fromkeys(("09015", "09020"), "shichang"),
    "10002": "shizheng",
}
_LOCAL_EXCEPTIONS: dict[str, str] = {
    "SS07001": "shuiwu",
    "SS07002": "gongdian",
    "SS07003": "reli",
    "SS07004": "ranqi",
    "SS07005": "zhujian",
    "SS07006": "minzheng",
    "SS07007": "jiaoyu",
    "SM01003": "zhujian",
    "SM01004": "renshe",
    "SM01007": "weijian",
    "SM04005": "sifa",
    "EM01006": "shichang",
    "EM02005": "ranqi",
    "EM03001": "shuiwu",
    "EM03002": "zhujian",
    "EM04001": "xiaofang",
    "EM04002": "ranqi",
    "EM04003": "shichang",
    "EM04004": "zhujian",
    "EM05004": "gongan",
}

# Streets (by their order in the district) whose own enforcement team (街道综合执法队) takes these
# big classes inside the street: street order (09) and advertising (07) after Beijing's 2019 reform
# moved enforcement down to the streets (街乡吹哨、部门报到).
STREET_TEAMS: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = (
    (0, (("matter", "09"), ("matter", "07"))),
    (1, (("matter", "09"),)),
    (2, (("matter", "09"), ("matter", "07"))),
)
STREET_TEAM_TAKES_OVER = frozenset({"chengguan"})  # only what the district's enforcers would do


def department_code(code: str, district_code: str) -> str:
    return f"{code}-{district_code}"


def handler_username(code: str, district_code: str) -> str:
    return f"{code}_{district_code}"


def street_team_code(street_code: str) -> str:
    return f"jiedao{street_code[6:]}"


def matrix_department(category: Category, big: Category | None) -> str | None:
    """The department code (without district) the matrix gives a category, or None."""
    if big is None:
        return BIG_CLASSES.get((category.kind, category.code))
    if category.kind in {"component", "matter"}:
        exceptions = _COMPONENT_EXCEPTIONS if big.code <= "05" else _MATTER_EXCEPTIONS
        if category.code in exceptions:
            return exceptions[category.code]
    elif category.code in _LOCAL_EXCEPTIONS:
        return _LOCAL_EXCEPTIONS[category.code]
    return BIG_CLASSES.get((big.kind, big.code))


@dataclass(frozen=True)
class DepartmentsReport:
    departments: int
    handlers: int
    rules: int
    created_rules: int


def departments_ensure(district_code: str) -> DepartmentsReport:
    """Create the district's departments, handlers and matrix where missing; returns the counts."""
    district = Region.objects.get(code=district_code, level=Region.Level.DISTRICT)
    short = district.name.removesuffix("区").removesuffix("县") or district.name
    streets = list(district.children.order_by("code"))
    with transaction.atomic():
        departments = {
            spec.code: _department(
                department_code(spec.code, district_code),
                spec.name.format(d=district.name, s=short),
                district_code,
            )
            for spec in DEPARTMENTS
        }
        teams: dict[str, tuple[Department, tuple[tuple[str, str], ...]]] = {}
        for index, big_classes in STREET_TEAMS:
            if index < len(streets):
                street = streets[index]
                team = _department(
                    department_code(street_team_code(street.code), district_code),
                    f"{street.name}综合执法队",
                    street.code,
                )
                teams[street.code] = (team, big_classes)
        handlers = _handlers_ensure(district_code, departments, teams)
        total, created = _rules_ensure(district_code, departments, teams)
    return DepartmentsReport(len(departments) + len(teams), handlers, total, created)


def _department(code: str, name: str, scope_code: str) -> Department:
    department, _created = Department.objects.get_or_create(
        code=code, defaults={"name": name, "scope_code": scope_code}
    )
    return department


def _handlers_ensure(
    district_code: str,
    departments: dict[str, Department],
    teams: dict[str, tuple[Department, tuple[tuple[str, str], ...]]],
) -> int:
    group = Group.objects.get(name=Role.DEPARTMENT_HANDLER.value)
    encoded = None  # one PBKDF2 hash for every new handler: hashing is deliberately slow
    members = [(code, dept, district_code) for code, dept in departments.items()]
    members += [(street_team_code(street), team, street) for street, (team, _) in teams.items()]
    for code, department, scope_code in members:
        user, created = User.objects.get_or_create(username=handler_username(code, district_code))
        if created:
            encoded = encoded or make_password(DEMO_PASSWORD)
            user.password = encoded
            user.first_name = department.name
            user.department = department
            user.save()
            scope_grant_set(user=user, prefixes=[scope_code])
            user.groups.set([group])
        Token.objects.get_or_create(user=user)
    # The generic demo handler of people.py works for the city-management enforcers.
    generic = User.objects.filter(username=f"department_{district_code}", department=None)
    generic.update(department=departments["chengguan"])
    return len(members)


def _rules_ensure(
    district_code: str,
    departments: dict[str, Department],
    teams: dict[str, tuple[Department, tuple[tuple[str, str], ...]]],
) -> tuple[int, int]:
    categories = list(Category.objects.select_related("parent").order_by("kind", "code"))
    wanted: list[ResponsibilityRule] = []
    for category in categories:
        code = matrix_department(category, category.parent)
        if code is None:
            continue
        big = category.parent or category
        wanted.append(
            ResponsibilityRule(
                category=category,
                region_code=district_code,
                department=departments[code],
                note=f"demo: {big.code} {big.name}",
            )
        )
        for street_code, (team, big_classes) in teams.items():
            if (big.kind, big.code) in big_classes and code in STREET_TEAM_TAKES_OVER:
                wanted.append(
                    ResponsibilityRule(
                        category=category,
                        region_code=street_code,
                        department=team,
                        note=f"demo: {team.name} takes {big.code} {big.name} in its street",
                    )
                )
    existing = set(
        ResponsibilityRule.objects.filter(region_code__startswith=district_code).values_list(
            "category_id", "region_code"
        )
    )
    missing = [r for r in wanted if (r.category_id, r.region_code) not in existing]
    ResponsibilityRule.objects.bulk_create(missing, batch_size=500)
    return len(wanted), len(missing)


def featured_logins(district_code: str) -> list[DemoLogin]:
    """One handler per department the district's responsibility matrix dispatches to (in the order
    of ``DEPARTMENTS``, then the street teams), so that whoever follows a case can sign in as
    whoever must act."""
    department_ids = (
        ResponsibilityRule.objects.filter(region_code__startswith=district_code)
        .values_list("department_id", flat=True)
        .distinct()
    )
    handlers = (
        User.objects.filter(
            department_id__in=department_ids,
            groups__name=Role.DEPARTMENT_HANDLER.value,
            is_active=True,
        )
        .exclude(username=f"department_{district_code}")
        .select_related("department")
        .order_by("department__code", "username")
    )
    order = {department_code(spec.code, district_code): i for i, spec in enumerate(DEPARTMENTS)}
    logins = []
    seen: set[int] = set()
    for user in sorted(handlers, key=lambda u: order.get(u.department.code, len(order))):
        if user.department_id in seen:
            continue
        seen.add(user.department_id)
        token, _created = Token.objects.get_or_create(user=user)
        logins.append(
            DemoLogin(
                user.username,
                Role.DEPARTMENT_HANDLER.value,
                " ".join(user_prefixes(user)),
                user.department.name,
                token.key,
            )
        )
    return logins
