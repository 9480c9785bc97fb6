"""A year of realistic cases for a demo district, written in bulk.

:func:`generate_cases` makes ``count`` cases reported over the 365 days that end at ``now`` and gives
each the full history the services would have written (``wangge.cases.services``): the same states,
the same fields set by each action, the same event rows (action, from and to state, actor, reason,
payload), the deadlines of ``wangge.cases.sla`` from the ``TimeLimit`` rows and the working
calendar, and the ``overdue`` events of the deadline poller (``wangge.cases.deadlines``). It does
not call ``case_create`` / ``case_act`` per case — a year of a district is a million rows — but
builds the rows in memory and writes them in bulk, 5,000 cases and their events per transaction
(see ``core.bulk.Table``). No notifications are generated: they are the outbox of the moment, not
history. ``test_generated_rows_are_the_rows_the_services_write`` replays generated cases through
the services and compares every column and event.

How the year is drawn (all from numpy and ``random`` generators seeded with ``seed`` and the
district, so the same seed and ``now`` give the same cases):

- Volume is a joint draw of (day, stream, source). A *stream* is a family of categories with its own
  season: 市容环境 and 街面秩序 peak in summer, construction stops in winter, 道路积雪 comes with a
  handful of snow days, 供暖不热 with the heating season (15 November to 15 March in the north), 内涝积水
  and fallen trees with summer storms, 露天烧烤 and noise on summer evenings. Sources have their own
  week: patrols (巡查) drop at weekends and during official holidays (Spring Festival, National Day),
  walk-ins almost vanish, the hotline less so, the citizen app grows through the year.
- Hours follow each source's day (patrols 8–18, the hotline around the clock with two peaks, the
  app in the evening); points are drawn inside the social grids' stored polygons, grids weighted by
  population (and a little by area), so every case has its grid, region code and H3 cell.
- People: a patrol report and the on-site checks of a case are the work of its grid's own worker
  (``gw-<grid code>``, ``gridworker_<district>`` in the first grid; ``wangge.demo.people``), so a
  worker's list holds the cases of their grid only.
- Lifecycles: most cases are accepted, dispatched along the responsibility matrix
  (``wangge.demo.departments``), handled and verified on time, evaluated (public reports, mostly
  满意) and archived. Some miss a stage deadline (``overdue`` events, escalation of stalled
  acceptance or dispatch), about 5 % are returned once or twice by a department that was wrongly
  chosen, about 3 % fail verification and are reworked, a few ask for an extension, are suspended
  (挂账) with a review date, supervised (督办), voided, or merged into an earlier report nearby; grid
  workers fix what their category allows on the spot (自行处置). The cases of the last weeks are
  still open, in every state, with their current stage deadline.

Numbers are ``<district>-<year>-<NNNNNN>`` in order of report per year, after whatever the
``CaseNumberSequence`` already gave; the sequence rows are moved to the end first, so real cases
reported afterwards continue the numbering even if the generation is interrupted.
"""

from __future__ import annotations

import bisect
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wangge.cases.models import (
    Case,
    CaseEvent,
    CaseNumberSequence,
    Category,
    ResponsibilityRule,
    Stage,
    TimeLimit,
)
from wangge.cases.services import PUBLIC_SOURCES
from wangge.cases.workflow import LEVEL_ABOVE
from wangge.core import pii
from wangge.core.bulk import Table
from wangge.core.models import Department, User
from wangge.core.scope import code_in_scope
from wangge.core.workcalendar import current_calendar
from wangge.demo.departments import department_code
from wangge.demo.people import grid_workers_by_grid
from wangge.lib.calendar import TimeUnit, WorkCalendar
from wangge.regions import locate
from wangge.regions.models import Grid, Region

logger = logging.getLogger(__name__)

DEFAULT_COUNT = 100_000
BATCH_SIZE = 5_000
DAYS = 365

S = Case.State
SRC = Case.Source
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_SECOND = 1_000_000
US_MINUTE = 60 * US_SECOND
US_HOUR = 60 * US_MINUTE
US_DAY = 24 * US_HOUR

# Sources in the order of the joint draw.
SOURCES: tuple[str, ...] = tuple(
    source.value
    for source in (
        SRC.PATROL,
        SRC.HOTLINE,
        SRC.CITIZEN_APP,
        SRC.OPEN311,
        SRC.SENSOR,
        SRC.MESSAGE,
        SRC.WALK_IN,
        SRC.SUPERIOR,
    )
)
# Share of each source by kind of stream (summing to 1 in the order of SOURCES).
SOURCE_MIXES: dict[str, tuple[float, ...]] = {
    "city": (0.66, 0.12, 0.12, 0.02, 0.01, 0.03, 0.01, 0.03),
    "public": (0.30, 0.42, 0.22, 0.02, 0.00, 0.04, 0.00, 0.00),
    "component": (0.70, 0.09, 0.09, 0.02, 0.06, 0.01, 0.00, 0.03),
    "hotline": (0.08, 0.60, 0.18, 0.04, 0.00, 0.05, 0.05, 0.00),
    "service": (0.14, 0.26, 0.15, 0.00, 0.00, 0.07, 0.38, 0.00),
    "affairs": (0.44, 0.28, 0.10, 0.00, 0.00, 0.02, 0.11, 0.05),
    "emergency": (0.36, 0.36, 0.12, 0.00, 0.09, 0.01, 0.00, 0.06),
}
# How busy each source is on a weekend and on an official holiday (休), a working day being 1.
WEEKEND = (0.55, 0.92, 1.12, 1.0, 1.0, 0.9, 0.12, 0.08)
HOLIDAY = (0.38, 0.72, 0.92, 0.9, 1.0, 0.7, 0.04, 0.04)
# Hour-of-day profiles (local time), 24 relative weights.
HOURS: dict[str, tuple[float, ...]] = {
    "patrol": (0, 0, 0, 0, 0, 0, 0.2, 1.5, 4, 6, 6, 5, 2, 2.5, 5, 6, 5, 3, 1, 0.3, 0.1, 0, 0, 0),
    "hotline": (
        *(0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1, 2.5, 4.5, 5.5, 5, 4.5),
        *(3.5, 3.5, 4, 4, 3.8, 3.5, 3.5, 3.8, 3.5, 2.5, 1.5, 0.8),
    ),
    "app": (
        *(0.5, 0.3, 0.2, 0.1, 0.1, 0.3, 0.8, 2, 3, 3, 3, 3),
        *(3.5, 3, 3, 3, 3.2, 3.5, 4.5, 5, 5, 4, 2.5, 1.2),
    ),
    "flat": (1,) * 24,
    "office": (0, 0, 0, 0, 0, 0, 0, 0, 0.5, 5, 5, 4, 1, 1, 4, 5, 5, 3, 0.3, 0, 0, 0, 0, 0),
    "evening": (
        *(2, 1.5, 0.8, 0.3, 0.1, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3, 0.5),
        *(0.6, 0.6, 0.6, 0.8, 1, 2, 3.5, 5, 6, 6, 5, 3.5),
    ),
}
SOURCE_HOURS = ("patrol", "hotline", "app", "app", "flat", "hotline", "office", "office")

# Monthly multipliers, January first.
FLAT = (1.0,) * 12
SUMMER = (0.78, 0.74, 0.92, 1.04, 1.15, 1.24, 1.3, 1.28, 1.14, 1.04, 0.9, 0.8)
SUMMER_MILD = (0.88, 0.85, 0.95, 1.02, 1.08, 1.12, 1.15, 1.13, 1.06, 1.0, 0.92, 0.88)
STRONG_SUMMER = (0.1, 0.1, 0.3, 0.7, 1.3, 2.2, 2.8, 2.6, 1.5, 0.6, 0.2, 0.1)
AUTUMN = (0.2, 0.2, 0.4, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 2.2, 2.8, 1.2)
BUILDING = (0.45, 0.45, 0.9, 1.2, 1.3, 1.25, 1.15, 1.15, 1.2, 1.2, 1.0, 0.6)
GREENERY = (0.55, 0.55, 0.9, 1.25, 1.35, 1.4, 1.4, 1.3, 1.1, 0.95, 0.75, 0.55)
WINTER = (1.3, 1.2, 1.0, 0.9, 0.85, 0.85, 0.8, 0.8, 0.9, 1.0, 1.2, 1.35)
SNOWY = (2.5, 1.8, 0.3, 0, 0, 0, 0, 0, 0, 0, 0.3, 1.6)
RAINY = (0.05, 0.05, 0.1, 0.3, 0.6, 1.5, 3.0, 3.0, 1.2, 0.3, 0.1, 0.05)
AFTER_NEW_YEAR = (1.0, 1.25, 1.35, 1.1, 1.0, 0.95, 0.95, 0.95, 1.1, 1.0, 0.95, 0.9)


@dataclass(frozen=True)
class Stream:
    """A family of categories reported with one season and one mix of sources."""

    key: str
    weight: float  # share of the year's volume, relative
    bigs: tuple[tuple[str, str], ...] = ()  # every small class of these big classes
    items: tuple[tuple[str, str], ...] = ()  # or exactly these small classes
    season: tuple[float, ...] = FLAT
    sources: str = "city"
    weather: str = ""  # "snow" or "storm": spikes on those days
    heating: bool = False  # only in the heating season (north)
    hours: str = ""  # an hour profile for every source, e.g. "evening"


def _bigs(kind: str, *codes: str) -> tuple[tuple[str, str], ...]:
    return tuple((kind, code) for code in codes)


STREAMS: tuple[Stream, ...] = (
    Stream("市容环境", 29, _bigs("matter", "06"), season=SUMMER),
    Stream("街面秩序", 18, _bigs("matter", "09"), season=SUMMER_MILD),
    Stream("宣传广告", 7, _bigs("matter", "07")),
    Stream("施工管理", 4.5, _bigs("matter", "08"), season=BUILDING),
    Stream(
        "夏夜扰民",
        2.2,
        items=_bigs("matter", "06029", "06028", "06027"),
        season=STRONG_SUMMER,
        sources="public",
        hours="evening",
    ),
    Stream("焚烧落叶", 0.3, items=_bigs("matter", "06020"), season=AUTUMN),
    Stream("病虫害", 0.4, items=_bigs("matter", "06021"), season=STRONG_SUMMER),
    Stream("积雪结冰", 1.0, items=_bigs("matter", "10001"), season=SNOWY, weather="snow"),
    Stream("架空线缆", 0.3, items=_bigs("matter", "10002")),
    Stream("市政公用设施", 6, _bigs("component", "01"), season=SUMMER_MILD, sources="component"),
    Stream("交通设施", 4, _bigs("component", "02"), sources="component"),
    Stream("市容环卫设施", 3, _bigs("component", "03"), sources="component"),
    Stream("园林绿化设施", 2.5, _bigs("component", "04"), season=GREENERY, sources="component"),
    Stream("其他部件", 0.3, _bigs("component", "05"), sources="component"),
    Stream(
        "暴雨险情",
        0.9,
        items=(
            ("affair", "EM03001"),
            ("affair", "EM03004"),
            ("component", "04002"),
            ("component", "01004"),
            ("component", "01003"),
        ),
        season=RAINY,
        sources="emergency",
        weather="storm",
    ),
    Stream("供暖", 2.2, items=(("affair", "SS07003"),), sources="hotline", heating=True),
    Stream("民生诉求", 4, _bigs("affair", "SS07"), sources="hotline"),
    Stream(
        "社会服务",
        2.5,
        _bigs("service", "SS01", "SS02", "SS03", "SS04", "SS05", "SS06"),
        sources="service",
    ),
    Stream("行政服务", 3, _bigs("service", "AS01", "AS02", "AS03", "AS04"), sources="service"),
    Stream("矛盾纠纷", 3, _bigs("affair", "SM01"), season=AFTER_NEW_YEAR, sources="affairs"),
    Stream("治安隐患", 1.5, _bigs("affair", "SM02"), sources="affairs"),
    Stream("信访", 0.5, _bigs("affair", "SM03"), sources="affairs"),
    Stream("人口房屋", 3, _bigs("affair", "SM04"), season=AFTER_NEW_YEAR, sources="affairs"),
    Stream("市场监管", 1.5, _bigs("affair", "SM05"), sources="affairs"),
    Stream("环境保护", 0.7, _bigs("affair", "SM06"), sources="affairs"),
    Stream("安全生产", 1.0, _bigs("affair", "EM01"), sources="emergency"),
    Stream("消防安全", 2.0, _bigs("affair", "EM02"), season=WINTER, sources="emergency"),
    Stream("灾害隐患", 0.3, _bigs("affair", "EM03"), season=RAINY, sources="emergency"),
    Stream("突发事件", 0.5, _bigs("affair", "EM04"), sources="emergency"),
    Stream("公共卫生", 0.5, _bigs("affair", "EM05"), season=SUMMER, sources="emergency"),
)

# Items reported far more often than their neighbours (relative weight inside their stream).
HOT_ITEMS: dict[tuple[str, str], float] = {
    **{("matter", c): w for c, w in (("06010", 9), ("06036", 9), ("06012", 6), ("06042", 5))},
    **{("matter", c): w for c, w in (("06013", 4), ("06041", 4), ("06001", 3), ("06035", 3))},
    **{("matter", c): w for c, w in (("06034", 2), ("06040", 2), ("06030", 2), ("06019", 2))},
    **{("matter", c): w for c, w in (("07001", 10), ("07002", 3), ("07003", 2))},
    **{("matter", c): w for c, w in (("09006", 7), ("09009", 8), ("09010", 7), ("09011", 6))},
    **{("matter", c): w for c, w in (("09005", 6), ("09001", 3), ("09004", 2))},
    **{("matter", c): w for c, w in (("08004", 4), ("08001", 4), ("08006", 3), ("08002", 3))},
    **{("component", c): w for c, w in (("01003", 5), ("01001", 4), ("01002", 4), ("01037", 8))},
    **{("component", c): w for c, w in (("01004", 3), ("01005", 2), ("01046", 2), ("01054", 2))},
    **{("component", c): w for c, w in (("02010", 5), ("02017", 3), ("02027", 3), ("02004", 3))},
    **{("component", c): w for c, w in (("03005", 8), ("03001", 4), ("03006", 3), ("03007", 3))},
    **{("component", c): w for c, w in (("04002", 6), ("04013", 3), ("04011", 3), ("04007", 2))},
    **{("affair", c): w for c, w in (("SS07005", 5), ("SS07001", 3), ("SS07002", 2))},
    **{("affair", c): w for c, w in (("SM01001", 5), ("SM01003", 4), ("SM04001", 4))},
    **{("affair", c): w for c, w in (("SM04002", 4), ("EM02001", 5), ("EM02002", 6))},
    **{("service", c): w for c, w in (("AS04001", 5), ("AS04002", 3), ("AS01001", 3))},
}
# Items reported only in their own stream's season (not with the rest of their big class).
SEASONAL_ONLY = frozenset({("affair", "SS07003"), ("matter", "10001")})
# Categories whose handling usually takes longer than the default limit allows.
SLOW_BIGS = frozenset({("matter", "08"), ("affair", "SM01"), ("affair", "SM03")})
SLOW_ITEMS = frozenset({("matter", "06001"), ("matter", "08016"), ("matter", "06039")})
# Categories a district suspends (挂账) now and then: demolition, land disputes, compensation.
SUSPENDABLE = frozenset(
    {
        ("matter", "06001"),
        ("matter", "08016"),
        ("matter", "06039"),
        ("affair", "SM01005"),
        ("affair", "SM01006"),
        ("affair", "SM03002"),
    }
)
# A dispatcher's likely mistakes: the department a case wrongly goes to first, before a return.
CONFUSED_WITH: dict[str, tuple[str, ...]] = {
    "huanwei": ("chengguan", "shizheng"),
    "chengguan": ("huanwei", "shichang", "zhujian"),
    "shizheng": ("shuiwu", "gongdian", "jiaotong", "huanwei"),
    "shuiwu": ("shizheng",),
    "gongdian": ("shizheng", "tongxin"),
    "tongxin": ("gongdian", "shizheng"),
    "ranqi": ("reli", "shizheng"),
    "reli": ("ranqi", "zhujian"),
    "yuanlin": ("shizheng", "huanwei"),
    "jiaotong": ("gongan", "shizheng"),
    "gongan": ("jiaotong", "chengguan"),
    "zhujian": ("chengguan", "shizheng"),
    "shichang": ("chengguan",),
    "minzheng": ("renshe", "canlian"),
    "renshe": ("minzheng",),
}

# Climate of each demo district: the north heats and snows, Yichang floods.
NORTH = {"snow_days": 5, "storm_days": 7, "heating": True}
SOUTH = {"snow_days": 1, "storm_days": 10, "heating": False}
CLIMATES = {"110102": NORTH, "420502": SOUTH}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢"
    "宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
SIDES = ("东侧", "西侧", "南侧", "北侧", "附近", "门前", "路口", "对面", "院内", "楼下")
DETAILS = (
    "请尽快处置",
    "请相关部门处理",
    "周边居民反映强烈",
    "已拍照取证",
    "持续多日",
    "希望尽快解决",
)
RESULTS = (
    "已现场处置完毕",
    "已清理完毕，恢复原状",
    "已维修完成，恢复正常使用",
    "已责令当事人整改到位",
    "已协调产权单位处理完毕",
    "已依法查处并整改完毕",
)
SERVICE_RESULTS = ("已受理并告知办理流程", "已协助申请人提交材料", "已办结，结果已告知申请人")
SELF_RESULTS = ("网格员现场劝导，当事人已整改", "已现场清理完毕", "已现场处置，恢复原状")
VOID_REASONS = (
    "经核实不属实",
    "重复上报",
    "不属于受理范围",
    "信息不全，无法核实",
    "现场已无此问题",
)
RETURN_REASONS = ("经核实不属于本部门职责，请重新派遣", "该设施产权不属本单位", "派遣部门有误")
EXTENSION_REASONS = (
    "需协调产权单位，申请延期",
    "需采购配件，申请延期",
    "涉及多部门协调，申请延期",
    "天气原因无法施工，申请延期",
)
REWORK_REASONS = ("现场核查未处置到位，请返工", "问题仍然存在，请重新处置")
NOT_FIXED_REASON = "涉及历史遗留问题，暂不具备处置条件，已向反映人说明"
NOT_RESPONSIBLE_REASON = "经核实属私人产权范围，已告知反映人自行处理"
UNSATISFIED_REASONS = ("反映人对处置结果不满意：问题反复出现", "反映人不满意：处置不彻底")
SUSPEND_REASONS = ("涉及拆除，需履行法定程序，挂账", "需纳入年度改造计划，挂账")

# Lifecycle rates (of the cases they can apply to).
P_VOID = {"public": 0.02, "other": 0.005}
P_SELF_HANDLE = 0.7  # of patrol reports in a category that allows it
P_SELF_FAIL = 0.02
P_RETURN = 0.05
P_RETURN_TWICE = 0.2
P_REWORK = 0.03
P_EXTENSION = 0.025
P_EXTENSION_DENIED = 0.2
P_SUSPEND = {"suspendable": 0.08, "other": 0.0008}
P_LATE_CENTER = 0.02
P_LATE_HANDLE = {"slow": 0.2, "other": 0.08}
P_LATE_VERIFY = 0.03
P_SUPERVISE_LATE = 0.3
P_DUPLICATE = 0.004
P_SKIP_START = 0.25
P_OUTCOME = ((Case.Outcome.FIXED.value, 0.955), (Case.Outcome.NOT_FIXED.value, 0.025))
P_SATISFACTION = (
    (Case.Satisfaction.SATISFIED.value, 0.845),
    (Case.Satisfaction.BASICALLY.value, 0.12),
)


# The working clock --------------------------------------------------------------------------------


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class WorkClock:
    """``WorkCalendar.add_working_time`` on integer microseconds, for a fixed span of days.

    The same rules as :class:`wangge.lib.calendar.WorkCalendar` (it reads that calendar's holidays,
    adjusted working days, office hours and time zone), without building datetimes, so a year of
    cases with a dozen deadlines each costs seconds, not minutes. Time zones without daylight
    saving only (Asia/Shanghai). The tests compare it with the calendar.
    """

    def __init__(self, calendar: WorkCalendar, first: date, last: date) -> None:
        self.first = first
        self.midnights: list[int] = []
        self.working: list[bool] = []
        self.rank_before: list[int] = []
        self.working_days: list[int] = []
        self.periods = [(_time_us(start), _time_us(end)) for start, end in calendar.office_hours]
        self.day_us = sum(end - start for start, end in self.periods)
        day = first
        while day <= last:
            self.midnights.append(_us(datetime.combine(day, clock_time(0), tzinfo=calendar.tz)))
            working = (day in calendar.workdays) or (
                day not in calendar.holidays and day.weekday() < 5
            )
            self.rank_before.append(len(self.working_days))
            if working:
                self.working_days.append(len(self.working))
            self.working.append(working)
            day += timedelta(days=1)
        self.holidays = calendar.holidays

    def day_index(self, t: int) -> int:
        return bisect.bisect_right(self.midnights, t) - 1

    def local_seconds(self, t: int) -> int:
        """Seconds since local midnight."""
        return (t - self.midnights[self.day_index(t)]) // US_SECOND

    def local_date(self, t: int) -> date:
        return self.first + timedelta(days=self.day_index(t))

    def position(self, t: int) -> int:
        i = self.day_index(t)
        position = self.rank_before[i] * self.day_us
        if self.working[i]:
            clock = t - self.midnights[i]
            for start, end in self.periods:
                position += min(max(clock - start, 0), end - start)
        return position

    def moment(self, position: int) -> int:
        """The earliest moment at which the working clock shows ``position``."""
        rank, offset = divmod(position, self.day_us)
        if offset == 0:
            rank, offset = rank - 1, self.day_us
        midnight = self.midnights[self.working_days[rank]]
        elapsed = 0
        for start, end in self.periods:
            if offset <= elapsed + end - start:
                return midnight + start + offset - elapsed
            elapsed += end - start
        raise AssertionError(offset)  # pragma: no cover — offset is at most one office day

    def add(self, t: int, step: int, working: bool) -> int:
        if step == 0:
            return t
        if not working:
            return t + step
        return self.moment(self.position(t) + step)

    def unit_us(self, unit: str) -> int:
        return {
            TimeUnit.WORKING_DAY: self.day_us,
            TimeUnit.WORKING_HOUR: US_HOUR,
            TimeUnit.HOUR: US_HOUR,
            TimeUnit.MINUTE: US_MINUTE,
        }[TimeUnit(unit)]


def poll_after(deadline: int) -> int:
    """When the deadline poller flags a case due at ``deadline``: its first run at or after it.

    ``poll_deadlines`` runs every minute (crontab ``minute="*"``); here a run happens a second into
    each minute and flags what fell due up to that moment.
    """
    return -(-(deadline - US_SECOND) // US_MINUTE) * US_MINUTE + US_SECOND


def _time_us(value: clock_time) -> int:
    return (value.hour * 3600 + value.minute * 60 + value.second) * US_SECOND + value.microsecond


# What the generator reads from the database ------------------------------------------------------


@dataclass
class _Limit:
    step: int  # microseconds of the unit's clock
    working: bool
    unit: str


@dataclass
class _Context:
    district: Region
    clock: WorkClock
    now: int
    start: int
    categories: list[Category]
    category_index: dict[tuple[str, str], int]
    grids: list[dict[str, Any]]
    limits: dict[tuple[int, str, str], _Limit | None]
    time_limits: list[TimeLimit]
    rules: dict[int | None, list[ResponsibilityRule]]
    suggestions: dict[tuple[int, str], int | None]
    parent_of: dict[int, int | None]
    departments: dict[int, Department]
    department_by_code: dict[str, int]
    handler_of: dict[int, int]
    users: dict[str, User]
    workers: dict[str, int]  # social grid code → its demo grid worker (wangge.demo.people)
    returns_before_arbitration: int

    def limit(self, category_id: int, grade: str, stage: str) -> _Limit | None:
        key = (category_id, grade, stage)
        if key not in self.limits:
            # wangge.cases.sla.time_limit_for: the category's own over the default, exact condition
            # (always "" here) over any.
            candidates = [
                row
                for row in self.time_limits
                if row.category_id in {category_id, None}
                and row.condition == ""
                and row.area_grade == grade
                and row.stage == stage
            ]
            best = min(candidates, key=lambda row: row.category_id is None, default=None)
            self.limits[key] = (
                None
                if best is None
                else _Limit(
                    step=round(Fraction(best.amount) * self.clock.unit_us(best.unit)),
                    working=TimeUnit(best.unit).is_working,
                    unit=best.unit,
                )
            )
        return self.limits[key]

    def suggest(self, category_id: int, region_code: str) -> int | None:
        """``wangge.cases.dispatch.suggest_department`` over the rules read once."""
        key = (category_id, region_code)
        if key not in self.suggestions:
            prefixes = {region_code[:length] for length in (6, 9, 12, 15)}
            parent_id = self.parent_of.get(category_id)
            candidates = self.rules.get(category_id, []) + self.rules.get(None, [])
            if parent_id is not None:
                candidates += self.rules.get(parent_id, [])
            rules = [rule for rule in candidates if rule.region_code in prefixes]
            rules.sort(key=lambda r: (r.region_code, r.priority))  # the model's ordering

            def specificity(rule: ResponsibilityRule) -> int:
                if rule.category_id == category_id:
                    return 0
                return 1 if rule.category_id is not None else 2

            best = min(
                rules,
                key=lambda r: (-len(r.region_code), specificity(r), r.priority),
                default=None,
            )
            self.suggestions[key] = best.department_id if best else None
        return self.suggestions[key]


def _load(district_code: str, now: datetime) -> _Context:
    district = Region.objects.get(code=district_code, level=Region.Level.DISTRICT)
    calendar = current_calendar()
    now_us = _us(now)
    start_us = now_us - DAYS * US_DAY
    first = timezone.localtime(_dt(start_us)).date() - timedelta(days=2)
    last = timezone.localtime(now).date() + timedelta(days=400)
    clock = WorkClock(calendar, first, last)
    categories = list(
        Category.objects.filter(active=True, parent__isnull=False)
        .select_related("parent")
        .order_by("kind", "code")
    )
    grids = list(
        Grid.objects.filter(layer_id="social", code__startswith=district_code)
        .order_by("code")
        .values(
            "id",
            "code",
            "name",
            "population",
            "area_m2",
            "boundary_wkb",
            "community__name",
            "community__parent__name",
        )
    )
    if not grids:
        raise ValueError(f"district {district_code} has no social grids")
    rules: dict[int | None, list[ResponsibilityRule]] = {}
    for rule in ResponsibilityRule.objects.filter(
        region_code__startswith=district_code, department__active=True
    ).order_by("region_code", "priority", "id"):
        rules.setdefault(rule.category_id, []).append(rule)
    departments = {
        d.pk: d
        for d in Department.objects.filter(
            active=True, pk__in={r.department_id for rs in rules.values() for r in rs}
        )
    }
    if not departments:
        raise ValueError(
            f"district {district_code} has no responsibility matrix: "
            "run wangge.demo.departments.departments_ensure first"
        )
    handler_of: dict[int, int] = {}
    for user in User.objects.filter(
        department_id__in=departments, is_active=True, groups__name="department_handler"
    ).order_by("username"):
        handler_of.setdefault(user.department_id, user.pk)
    usernames = ("commander", "operator", "dispatcher", "community", "gridworker")
    users = {name: User.objects.get(username=f"{name}_{district_code}") for name in usernames}
    workers = grid_workers_by_grid(district_code)
    if unmanned := [g["code"] for g in grids if g["code"] not in workers]:
        raise ValueError(
            f"{len(unmanned)} social grids of {district_code} have no demo grid worker "
            f"(first {unmanned[0]}): run wangge.demo.people.demo_users_ensure first"
        )
    return _Context(
        district=district,
        clock=clock,
        now=now_us,
        start=start_us,
        categories=categories,
        category_index={(c.kind, c.code): i for i, c in enumerate(categories)},
        grids=grids,
        limits={},
        time_limits=list(TimeLimit.objects.all().order_by("id")),
        rules=rules,
        suggestions={},
        parent_of={c.pk: c.parent_id for c in categories},
        departments=departments,
        department_by_code={d.code: d.pk for d in departments.values()},
        handler_of=handler_of,
        users=users,
        workers=workers,
        returns_before_arbitration=settings.WANGGE_RETURNS_BEFORE_ARBITRATION,
    )


# The plan: when, what, where, from whom ----------------------------------------------------------


@dataclass
class _Plan:
    t: np.ndarray  # report time, µs
    category: np.ndarray  # index into ctx.categories
    source: np.ndarray  # index into SOURCES
    grid: np.ndarray  # index into ctx.grids
    lng: np.ndarray
    lat: np.ndarray
    grade: list[str]
    duplicate_of: np.ndarray  # index of the master, or -1


def _monthly(values: tuple[float, ...], days: list[date]) -> np.ndarray:
    """Daily multipliers interpolated linearly between mid-month values (cyclic)."""
    anchors = np.array([15.5 + 30.44 * m for m in range(-1, 13)])
    levels = np.array([values[11], *values, values[0]])
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    return np.interp(doy, anchors, levels)


def _plan(ctx: _Context, count: int, seed: int) -> _Plan:
    def rng(purpose: int) -> np.random.Generator:
        # One generator per purpose, so that what does not depend on ``now`` (the grids' hot
        # spots, the items' popularity) stays the same whatever ``now`` is.
        return np.random.default_rng([seed, int(ctx.district.code), purpose])

    clock = ctx.clock
    climate = CLIMATES.get(ctx.district.code, NORTH)
    first_day = clock.local_date(ctx.start)
    days = [first_day + timedelta(days=i) for i in range(DAYS + 1)]
    n_days = len(days)
    day_kind = np.zeros(n_days, dtype=int)  # 0 working, 1 weekend, 2 holiday
    for i, day in enumerate(days):
        if day in clock.holidays:
            day_kind[i] = 2
        elif not clock.working[(day - clock.first).days]:
            day_kind[i] = 1
    weather = rng(1)
    snow = _weather_days(weather, days, (12, 1, 2), climate["snow_days"])
    storm = _weather_days(weather, days, (6, 7, 8), climate["storm_days"])
    heating = np.array(
        [(d.month, d.day) >= (11, 15) or (d.month, d.day) <= (3, 15) for d in days], dtype=float
    )
    heating_start = np.array([d.month == 11 and 15 <= d.day <= 30 for d in days], dtype=float)
    # Weights of (day, stream, source).
    streams = [s for s in STREAMS if _stream_items(ctx, s)]
    weights = np.zeros((n_days, len(streams), len(SOURCES)))
    progress = np.linspace(0.0, 1.0, n_days)
    daytype = np.ones((n_days, len(SOURCES)))
    daytype[day_kind == 1] = WEEKEND
    daytype[day_kind == 2] = HOLIDAY
    daytype[:, SOURCES.index(SRC.CITIZEN_APP)] *= 0.8 + 0.4 * progress
    for j, stream in enumerate(streams):
        level = stream.weight * _monthly(stream.season, days)
        if stream.weather == "snow":
            level = level * 0.15 + stream.weight * 12 * _spikes(snow) * (level > 0)
        elif stream.weather == "storm":
            level = level * 0.4 + stream.weight * 9 * _spikes(storm)
        if stream.heating:
            if not climate["heating"]:
                level = level * 0.05
            else:
                level = level * (0.03 + heating * (1 + 2.5 * heating_start + _spikes(snow)))
        mix = np.array(SOURCE_MIXES[stream.sources])
        weights[:, j, :] = level[:, None] * mix[None, :] * daytype
    flat = weights.ravel() / weights.sum()
    # Partial first and last days: draw, then draw again whatever fell outside the window.
    t = np.zeros(count, dtype=np.int64)
    cell = np.zeros(count, dtype=np.int64)
    todo = np.arange(count)
    midnights = np.array([clock.midnights[(d - clock.first).days] for d in days], dtype=np.int64)
    profiles = list(HOURS)
    profile_of = np.array(
        [
            [profiles.index(stream.hours or SOURCE_HOURS[k]) for k in range(len(SOURCES))]
            for stream in streams
        ]
    )
    when = rng(2)
    while len(todo):
        drawn = when.choice(len(flat), size=len(todo), p=flat)
        day_i, stream_j, source_k = np.unravel_index(drawn, weights.shape)
        seconds = np.zeros(len(todo), dtype=np.int64)
        profile = profile_of[stream_j, source_k]
        for index, name in enumerate(profiles):
            mask = profile == index
            if mask.any():
                p = np.array(HOURS[name], dtype=float)
                hours = when.choice(24, size=int(mask.sum()), p=p / p.sum())
                seconds[mask] = hours * 3600 + when.integers(0, 3600, size=int(mask.sum()))
        moment = midnights[day_i] + seconds * US_SECOND
        t[todo] = moment
        cell[todo] = drawn
        todo = todo[(moment < ctx.start) | (moment >= ctx.now)]
    day_i, stream_j, source_k = np.unravel_index(cell, weights.shape)
    category = np.zeros(count, dtype=np.int64)
    popularity, which = rng(3), rng(4)
    for j, stream in enumerate(streams):
        items = _stream_items(ctx, stream)
        p = np.array([HOT_ITEMS.get(key, 1.0) for key in items])
        p = p * popularity.lognormal(0.0, 0.5, len(items))
        mask = stream_j == j
        if mask.any():
            chosen = which.choice(len(items), size=int(mask.sum()), p=p / p.sum())
            category[mask] = [ctx.category_index[items[c]] for c in chosen]
    grid, lng, lat, grades = _locations(ctx, rng(5), rng(6), count)
    order = np.argsort(t, kind="stable")
    plan = _Plan(
        t=t[order],
        category=category[order],
        source=source_k[order],
        grid=grid[order],
        lng=lng[order],
        lat=lat[order],
        grade=[grades[g] for g in grid[order]],
        duplicate_of=np.full(count, -1, dtype=np.int64),
    )
    _plan_duplicates(plan, rng(7))
    return plan


def _stream_items(ctx: _Context, stream: Stream) -> list[tuple[str, str]]:
    if stream.items:
        return [key for key in stream.items if key in ctx.category_index]
    bigs = set(stream.bigs)
    return [
        (c.kind, c.code)
        for c in ctx.categories
        if c.parent is not None
        and (c.parent.kind, c.parent.code) in bigs
        and (c.kind, c.code) not in SEASONAL_ONLY
    ]


def _weather_days(
    rng: np.random.Generator, days: list[date], months: tuple[int, ...], n: int
) -> np.ndarray:
    candidates = [i for i, d in enumerate(days) if d.month in months]
    chosen = np.zeros(len(days))
    if candidates and n:
        picked = rng.choice(candidates, size=min(n, len(candidates)), replace=False)
        chosen[picked] = 1.0
    return chosen


def _spikes(days: np.ndarray) -> np.ndarray:
    """The day of the event and the two after it (clearing up, complaints)."""
    spikes = days.copy()
    spikes[1:] += 0.45 * days[:-1]
    spikes[2:] += 0.15 * days[:-2]
    return spikes


def _locations(
    ctx: _Context, hot: np.random.Generator, rng: np.random.Generator, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    population = np.array([g["population"] for g in ctx.grids], dtype=float)
    area = np.array([g["area_m2"] for g in ctx.grids], dtype=float)
    weight = area / area.sum()
    if population.sum() > 0:
        weight = 0.75 * population / population.sum() + 0.25 * weight
    weight = weight * hot.lognormal(0.0, 0.35, len(ctx.grids))  # hot spots
    grades = list(hot.choice(["A", "B", "C"], size=len(ctx.grids), p=[0.2, 0.6, 0.2]))
    grid = rng.choice(len(ctx.grids), size=count, p=weight / weight.sum())
    lng = np.zeros(count)
    lat = np.zeros(count)
    order = np.argsort(grid, kind="stable")
    bounds = np.searchsorted(grid[order], np.arange(len(ctx.grids) + 1))
    for g, row in enumerate(ctx.grids):
        members = order[bounds[g] : bounds[g + 1]]
        if not len(members):
            continue
        polygon = shapely.from_wkb(bytes(row["boundary_wkb"]))
        shapely.prepare(polygon)
        x0, y0, x1, y1 = polygon.bounds
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        got = 0
        while got < len(members):
            need = len(members) - got
            x = rng.uniform(x0, x1, size=need * 2 + 8)
            y = rng.uniform(y0, y1, size=need * 2 + 8)
            inside = shapely.contains_xy(polygon, x, y)
            take = min(int(inside.sum()), need)
            xs.append(x[inside][:take])
            ys.append(y[inside][:take])
            got += take
        lng[members] = np.round(np.concatenate(xs), 7)
        lat[members] = np.round(np.concatenate(ys), 7)
    return grid, lng, lat, [str(g) for g in grades]


def _plan_duplicates(plan: _Plan, rng: np.random.Generator) -> None:
    """Make a few reports repeat an earlier one nearby (same category, same grid, within 48 h)."""
    n = len(plan.t)
    public = np.isin(plan.source, [SOURCES.index(s) for s in PUBLIC_SOURCES])
    candidates = np.flatnonzero(public & (rng.random(n) < P_DUPLICATE * 2.5))
    taken = np.zeros(n, dtype=bool)
    window = np.searchsorted(plan.t, plan.t - 48 * US_HOUR)  # first case of the 48 h before
    for i in candidates:
        if taken[i] or window[i] >= i:
            continue
        j = int(rng.integers(window[i], i))
        if taken[j]:
            continue
        plan.duplicate_of[i] = j
        plan.category[i] = plan.category[j]
        plan.grid[i] = plan.grid[j]
        plan.grade[i] = plan.grade[j]
        plan.lng[i] = round(plan.lng[j] + rng.normal(0, 0.0001), 7)
        plan.lat[i] = round(plan.lat[j] + rng.normal(0, 0.0001), 7)
        taken[i] = taken[j] = True


# One case's life ---------------------------------------------------------------------------------


@dataclass
class _Intent:
    """An action someone takes at a time; the replay turns it into the event the service writes."""

    t: int
    action: str
    actor: int | None
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Master:
    number: str
    archived_at: int | None
    voided: bool
    merged: bool


class _Life:
    """Draws the intents of one case: who does what when, from report to archive."""

    def __init__(self, ctx: _Context, rnd: random.Random) -> None:
        self.ctx = ctx
        self.rnd = rnd
        self.clock = ctx.clock
        users = ctx.users
        self.commander = users["commander"].pk
        self.operator = users["operator"].pk
        self.dispatcher = users["dispatcher"].pk
        self.community = users["community"]
        self.workers = ctx.workers

    # Times ---------------------------------------------------------------------------------------

    def daytime(self, t: int, opens: int = 7, closes: int = 22) -> int:
        """``t``, or the next morning shortly after ``opens`` when ``t`` falls in the night."""
        seconds = self.clock.local_seconds(t)
        if opens * 3600 <= seconds < closes * 3600:
            return t
        jitter = self.rnd.randint(5 * 60, 75 * 60) * US_SECOND
        if seconds >= closes * 3600:
            return t + (24 * 3600 - seconds + opens * 3600) * US_SECOND + jitter
        return t + (opens * 3600 - seconds) * US_SECOND + jitter

    def center(self, t: int, median_minutes: float) -> int:
        """A command-centre action: minutes later (log-normal), in the centre's day (07–22)."""
        minutes = self.rnd.lognormvariate(math.log(median_minutes), 0.6)
        return self.daytime(t + max(int(minutes * 60), 20) * US_SECOND)

    def working(self, t: int, limit: _Limit | None, fraction: float) -> int:
        """``fraction`` of a stage's limit after ``t``, on the limit's own clock."""
        if limit is None:
            return t + int(fraction * 8 * US_HOUR) + US_MINUTE
        step = max(int(limit.step * fraction), US_MINUTE)
        return self.clock.add(t, step, limit.working)

    def deadline(self, t: int, limit: _Limit | None) -> int | None:
        return None if limit is None else self.clock.add(t, limit.step, limit.working)

    def between(self, start: int, end: int, fraction: float, working: bool) -> int:
        """The moment ``fraction`` of the way from ``start`` to ``end`` (past it above 1)."""
        if not working:
            return start + int((end - start) * fraction)
        first = self.clock.position(start)
        return self.clock.moment(first + max(int((self.clock.position(end) - first) * fraction), 1))

    def late_fraction(self) -> float:
        return 1.0 + min(self.rnd.expovariate(1 / 0.6), 6.0) + 0.02

    # The loop ------------------------------------------------------------------------------------

    def draw(
        self, plan: _Plan, i: int, masters: dict[int, _Master]
    ) -> tuple[list[_Intent], dict[str, Any]]:
        ctx, rnd = self.ctx, self.rnd
        category = ctx.categories[int(plan.category[i])]
        big = category.parent
        source = SOURCES[int(plan.source[i])]
        grid = ctx.grids[int(plan.grid[i])]
        region_code = grid["code"]
        grade = plan.grade[i]
        t0 = int(plan.t[i])
        public = source in PUBLIC_SOURCES
        field_actor = self.field_actor(region_code)
        reporter = self.reporter(source, region_code)
        self_handle = (
            source == SRC.PATROL
            and category.allows_self_handling
            and reporter is not None
            and rnd.random() < P_SELF_HANDLE
        )
        key = (category.kind, category.code)
        slow = key in SLOW_ITEMS or (big.kind, big.code) in SLOW_BIGS
        facts: dict[str, Any] = {
            "category": category,
            "source": source,
            "grid": grid,
            "grade": grade,
            "reporter": reporter,
            "self_handled": self_handle,
            "slow": slow,
            "public": public,
        }
        intents: list[_Intent] = []
        data = {"result": rnd.choice(SELF_RESULTS)} if self_handle else {}
        intents.append(_Intent(t0, "report", reporter, data=data))
        state = S.HANDLED if self_handle else (S.CHECKING if public else S.REPORTED)
        t = t0
        master = int(plan.duplicate_of[i])
        if master >= 0:
            merge_at = self.center(t, 40)
            found = masters.get(master)
            if (
                found is not None
                and not found.voided
                and not found.merged
                and (found.archived_at is None or found.archived_at > merge_at)
            ):
                facts["merged_into"] = master
                intents.append(
                    _Intent(merge_at, "merge", self.operator, data={"into": found.number})
                )
                self.archive(intents, merge_at)
                return intents, facts
        if not self_handle and rnd.random() < P_VOID["public" if public else "other"]:
            if state == S.CHECKING and rnd.random() < 0.3:
                t = self.center(t, 45)
                intents.append(_Intent(t, "confirm", field_actor, data={"note": ""}))
            t = self.center(t, 30)
            intents.append(_Intent(t, "void", self.operator, reason=rnd.choice(VOID_REASONS)))
            facts["voided"] = True
            # Not archived: the check constraint cases_case_closed_has_outcome refuses an archived
            # case without an outcome, and voiding clears the outcome (services._void).
            return intents, facts
        accept_limit = ctx.limit(category.pk, grade, Stage.ACCEPT)
        if self_handle:
            t = self.verify(intents, t0, facts, field_actor)
            if intents[-1].data.get("result") == "fail":
                t = self.dispatch_cycle(intents, t, facts)
        else:
            if state == S.CHECKING:
                t = self.center(t, 20)
                intents.append(_Intent(t, "confirm", field_actor, data={"note": "现场核实属实"}))
            if rnd.random() < P_LATE_CENTER:
                t = max(self.working(t0, accept_limit, self.late_fraction()), t + US_MINUTE)
            else:
                t = self.center(t, 8)
            intents.append(_Intent(t, "accept", self.operator))
            t = self.dispatch_cycle(intents, t, facts)
        if public:
            t = self.evaluate(intents, t, facts)
        self.archive(intents, t)
        return intents, facts

    def field_actor(self, region_code: str) -> int:
        """Who checks on site: the grid's own worker (a grid without one: community, centre)."""
        if region_code in self.workers:
            return self.workers[region_code]
        if code_in_scope(self.community, region_code):
            return self.community.pk
        return self.operator

    def reporter(self, source: str, region_code: str) -> int | None:
        if source == SRC.PATROL:
            return self.workers[region_code]  # the grid's own worker patrols it
        if source in {SRC.HOTLINE, SRC.MESSAGE}:
            return self.operator
        if source == SRC.WALK_IN:
            if code_in_scope(self.community, region_code):
                return self.community.pk
            return self.operator
        if source == SRC.SUPERIOR:
            return self.commander
        return None  # the citizen app, Open311 and sensors report through an integration

    def dispatch_cycle(self, intents: list[_Intent], t: int, facts: dict[str, Any]) -> int:
        """From accepted: dispatch (after wrong tries and returns), handle, verify until closed."""
        ctx, rnd = self.ctx, self.rnd
        category = facts["category"]
        grade = facts["grade"]
        region_code = facts["grid"]["code"]
        suggested = ctx.suggest(category.pk, region_code)
        right = suggested if suggested in ctx.handler_of else self.fallback_department()
        facts["department"] = right
        dispatch_limit = ctx.limit(category.pk, grade, Stage.DISPATCH)
        handle_limit = ctx.limit(category.pk, grade, Stage.HANDLE)
        if rnd.random() < P_RETURN and not facts.get("returned"):
            facts["returned"] = True
            tries = 2 if rnd.random() < P_RETURN_TWICE else 1
            wrong_codes = list(CONFUSED_WITH.get(self.code_of(right), ("shizheng", "chengguan")))
            rnd.shuffle(wrong_codes)
            for attempt in range(tries):
                wrong = self.department_id(wrong_codes[attempt % len(wrong_codes)])
                if wrong is None or wrong == right:
                    break
                t = self.dispatch(intents, t, wrong, suggested, dispatch_limit)
                handler = ctx.handler_of[wrong]
                if rnd.random() < 0.4:
                    t = self.working(t, handle_limit, rnd.uniform(0.02, 0.15))
                    intents.append(_Intent(t, "acknowledge", handler))
                t = self.working(t, handle_limit, rnd.uniform(0.05, 0.4))
                reason = rnd.choice(RETURN_REASONS)
                intents.append(_Intent(t, "return", handler, reason=reason))
        t = self.dispatch(intents, t, right, suggested, dispatch_limit)
        while True:
            t = self.handle_cycle(intents, t, right, facts, handle_limit)
            t = self.verify(intents, t, facts, self.field_actor(region_code))
            if intents[-1].data.get("result") == "pass":
                return t

    def dispatch(
        self,
        intents: list[_Intent],
        t: int,
        department: int,
        suggested: int | None,
        limit: _Limit | None,
    ) -> int:
        if self.rnd.random() < P_LATE_CENTER:
            t = self.working(t, limit, self.late_fraction())
        else:
            t = self.center(t, 10)
        data = {"department": department, "suggested": suggested}
        intents.append(_Intent(t, "dispatch", self.dispatcher, data=data))
        return t

    def handle_cycle(
        self,
        intents: list[_Intent],
        t: int,
        department: int,
        facts: dict[str, Any],
        limit: _Limit | None,
    ) -> int:
        """From dispatched: acknowledge, start, perhaps suspend or extend, handle."""
        rnd = self.rnd
        handler = self.ctx.handler_of[department]
        entered = t
        deadline = self.deadline(entered, limit)
        t = self.working(t, limit, rnd.uniform(0.01, 0.12))
        intents.append(_Intent(t, "acknowledge", handler))
        if rnd.random() >= P_SKIP_START:
            t = self.working(t, limit, rnd.uniform(0.01, 0.1))
            intents.append(_Intent(t, "start", handler))
        category = facts["category"]
        suspendable = (category.kind, category.code) in SUSPENDABLE
        p_suspend = P_SUSPEND["suspendable" if suspendable else "other"]
        if intents[-1].action == "start" and rnd.random() < p_suspend:
            t = self.working(t, limit, rnd.uniform(0.05, 0.3))
            review = self.clock.local_date(t) + timedelta(days=rnd.randint(14, 90))
            intents.append(
                _Intent(
                    t,
                    "suspend",
                    self.commander,
                    reason=rnd.choice(SUSPEND_REASONS),
                    data={"review_date": review},
                )
            )
            midnight = self.clock.midnights[(review - self.clock.first).days]
            t = max(midnight + rnd.randint(9 * 3600, 11 * 3600) * US_SECOND, t + US_MINUTE)
            intents.append(_Intent(t, "resume", self.commander))
            entered, deadline = t, self.deadline(t, limit)
        late = rnd.random() < P_LATE_HANDLE["slow" if facts["slow"] else "other"]
        if rnd.random() < P_EXTENSION and intents[-1].action in {"start", "acknowledge"}:
            t = self.working(t, limit, rnd.uniform(0.2, 0.5))
            amount = rnd.choice((1, 2, 3))
            data = {"amount": Decimal(amount), "unit": TimeUnit.WORKING_DAY.value}
            intents.append(
                _Intent(
                    t, "request_extension", handler, reason=rnd.choice(EXTENSION_REASONS), data=data
                )
            )
            t = self.center(t, 90)
            if rnd.random() < P_EXTENSION_DENIED:
                intents.append(
                    _Intent(
                        t, "deny_extension", self.dispatcher, reason="延期理由不充分，请按时处置"
                    )
                )
                late = late or rnd.random() < 0.3
            else:
                intents.append(_Intent(t, "approve_extension", self.dispatcher))
                if deadline is not None:
                    deadline = self.clock.add(deadline, amount * self.clock.day_us, working=True)
        if deadline is None or limit is None:
            done = self.working(t, limit, rnd.uniform(0.1, 0.9))
        else:
            fraction = self.late_fraction() if late else 0.15 + 0.8 * rnd.betavariate(2.0, 2.5)
            done = max(self.between(entered, deadline, fraction, limit.working), t + US_MINUTE)
            if late and rnd.random() < P_SUPERVISE_LATE:
                at = deadline + rnd.randint(3600, 6 * 3600) * US_SECOND
                if t < at < done - US_MINUTE:
                    intents.append(
                        _Intent(at, "supervise", self.commander, reason="超期未办结，督办")
                    )
        results = SERVICE_RESULTS if category.kind == "service" else RESULTS
        intents.append(_Intent(done, "handle", handler, data={"result": rnd.choice(results)}))
        return done

    def verify(self, intents: list[_Intent], t: int, facts: dict[str, Any], verifier: int) -> int:
        rnd = self.rnd
        self_handled = facts["self_handled"] and "department" not in facts
        if self_handled and verifier == facts["reporter"]:
            verifier = self.operator  # who handled may not verify (workflow "own_work")
        limit = self.ctx.limit(facts["category"].pk, facts["grade"], Stage.VERIFY)
        if rnd.random() < P_LATE_VERIFY:
            t = self.working(t, limit, self.late_fraction())
        else:
            t = self.working(t, limit, rnd.uniform(0.05, 0.9))
        fail_rate = P_SELF_FAIL if self_handled else P_REWORK
        if rnd.random() < fail_rate and not facts.get("reworked"):
            facts["reworked"] = True
            reason = rnd.choice(REWORK_REASONS)
            intents.append(_Intent(t, "verify", verifier, reason=reason, data={"result": "fail"}))
            return t
        draw = rnd.random()
        outcome = Case.Outcome.NOT_RESPONSIBLE.value
        for value, share in P_OUTCOME:
            if draw < share:
                outcome = value
                break
            draw -= share
        reason = {
            Case.Outcome.NOT_FIXED: NOT_FIXED_REASON,
            Case.Outcome.NOT_RESPONSIBLE: NOT_RESPONSIBLE_REASON,
        }.get(outcome, "")
        intents.append(
            _Intent(
                t, "verify", verifier, reason=reason, data={"result": "pass", "outcome": outcome}
            )
        )
        return t

    def evaluate(self, intents: list[_Intent], t: int, facts: dict[str, Any]) -> int:
        rnd = self.rnd
        t = self.daytime(t + rnd.randint(3600, 48 * 3600) * US_SECOND, opens=9, closes=20)
        draw = rnd.random()
        satisfaction = Case.Satisfaction.UNSATISFIED.value
        for value, share in P_SATISFACTION:
            if draw < share:
                satisfaction = value
                break
            draw -= share
        if satisfaction == Case.Satisfaction.UNSATISFIED and not facts.get("reopened"):
            facts["reopened"] = True
            reason = rnd.choice(UNSATISFIED_REASONS)
            intents.append(
                _Intent(
                    t, "evaluate", self.operator, reason=reason, data={"satisfaction": satisfaction}
                )
            )
            t = self.dispatch_cycle(intents, t, facts)
            return self.evaluate(intents, t, facts)
        if satisfaction == Case.Satisfaction.UNSATISFIED:
            satisfaction = Case.Satisfaction.BASICALLY.value
        intents.append(_Intent(t, "evaluate", self.operator, data={"satisfaction": satisfaction}))
        return t

    def archive(self, intents: list[_Intent], t: int) -> None:
        t = self.daytime(t + self.rnd.randint(4 * 3600, 72 * 3600) * US_SECOND, opens=8, closes=20)
        intents.append(_Intent(t, "archive", self.operator))

    def code_of(self, department_id: int) -> str:
        return self.ctx.departments[department_id].code.rsplit("-", 1)[0]

    def department_id(self, code: str) -> int | None:
        found = self.ctx.department_by_code.get(department_code(code, self.ctx.district.code))
        return found if found in self.ctx.handler_of else None

    def fallback_department(self) -> int:
        return self.department_id("shizheng") or min(self.ctx.handler_of)


# The replay: intents → rows, as the services write them -----------------------------------------


class _Replay:
    """Applies intents to a case the way ``services.case_act`` does, and adds the poller's events."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.clock = ctx.clock

    def run(
        self, row: dict[str, Any], intents: list[_Intent], facts: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Fill ``row`` (the case's columns) and return its events, cut at ``now``."""
        self.row = row
        self.facts = facts
        self.events: list[tuple[Any, ...]] = []
        category = facts["category"]
        self.category_id = category.pk
        self.auto_dispatch = category.auto_dispatch
        now = self.ctx.now
        for intent in intents:
            if intent.t > now:
                break
            self.overdue_before(intent.t)
            getattr(self, f"on_{intent.action}")(intent)
        self.overdue_before(now + 1)
        return self.events

    # Helpers mirroring services._enter_stage / _leave_stages / events.case_event_append

    def event(
        self,
        t: int,
        action: str,
        to_state: str,
        actor: int | None,
        reason: str = "",
        payload: dict[str, Any] | None = None,
    ) -> None:
        row = self.row
        to_state = str(to_state)  # plain strings, as read back from the database
        self.events.append(
            (t, action, row["state"] if self.events else "", to_state, actor, reason, payload or {})
        )
        row["state"] = to_state
        row["version"] = len(self.events) - 1
        row["updated_at"] = t

    def enter(self, stage: str, t: int) -> None:
        row = self.row
        limit = self.ctx.limit(self.category_id, row["area_grade"], stage)
        row["stage"] = str(stage)
        row["stage_started_at"] = t
        row["stage_deadline"] = (
            None if limit is None else self.clock.add(t, limit.step, limit.working)
        )
        row["stage_unit"] = "" if limit is None else limit.unit
        row["is_overdue"] = False

    def leave(self) -> None:
        self.row.update(stage="", stage_deadline=None, stage_unit="", is_overdue=False)

    def overdue_before(self, t: int) -> None:
        """The poller's ``overdue`` event when it ran after the stage deadline and before ``t``."""
        row = self.row
        deadline = row.get("stage_deadline")
        if deadline is None or row["is_overdue"] or row["is_suspended"] or row["state"] not in OPEN:
            return
        at = poll_after(deadline)
        if at >= t:
            return
        escalate = row["stage"] in {Stage.ACCEPT, Stage.DISPATCH} and row["level"] in {
            Case.Level.GRID,
            Case.Level.COMMUNITY,
        }
        level = LEVEL_ABOVE[Case.Level(row["level"])].value if escalate else None
        payload = {
            "stage": row["stage"],
            "deadline": _dt(deadline).isoformat(),
            "escalated_to": level,
        }
        self.event(at, "overdue", row["state"], None, "", payload)
        row["is_overdue"] = True
        if level:
            row["level"] = level

    # One method per action (services.HANDLERS)

    def on_report(self, intent: _Intent) -> None:
        row, facts = self.row, self.facts
        if facts["self_handled"]:
            state, stage = S.HANDLED, Stage.VERIFY
            row["handled_by_id"] = intent.actor
        elif facts["public"]:
            state, stage = S.CHECKING, Stage.ACCEPT
        else:
            state, stage = S.REPORTED, Stage.ACCEPT
        row["state"] = str(state)
        self.enter(stage, intent.t)
        payload: dict[str, Any] = {"source": facts["source"], "grid": facts["grid"]["code"]}
        if facts["self_handled"]:
            payload["result"] = intent.data["result"]
        self.event(intent.t, "report", state, intent.actor, "", payload)

    def on_confirm(self, intent: _Intent) -> None:
        self.event(intent.t, "confirm", S.REPORTED, intent.actor, "", {"note": intent.data["note"]})

    def on_accept(self, intent: _Intent) -> None:
        self.enter(Stage.DISPATCH, intent.t)
        self.row["accepted_at"] = intent.t
        self.event(intent.t, "accept", S.ACCEPTED, intent.actor)
        if self.auto_dispatch:
            department = self.ctx.suggest(self.category_id, self.row["region_code"])
            if department is not None:
                self.enter(Stage.HANDLE, intent.t)
                self.row.update(owner_department_id=department, owner_user_id=None)
                code = self.ctx.departments[department].code
                payload = {"department": code, "automatic": True}
                self.event(intent.t, "dispatch", S.DISPATCHED, None, "", payload)

    def on_void(self, intent: _Intent) -> None:
        self.leave()
        self.row["outcome"] = ""
        self.event(intent.t, "void", S.VOIDED, intent.actor, intent.reason)

    def on_dispatch(self, intent: _Intent) -> None:
        if self.row["state"] != S.ACCEPTED:
            return  # already dispatched automatically on acceptance
        department = intent.data["department"]
        suggested = intent.data["suggested"]
        self.enter(Stage.HANDLE, intent.t)
        self.row.update(owner_department_id=department, owner_user_id=None)
        payload = {
            "department": self.ctx.departments[department].code,
            "user": None,
            "suggested": self.ctx.departments[suggested].code if suggested else None,
        }
        self.event(intent.t, "dispatch", S.DISPATCHED, intent.actor, "", payload)

    def on_acknowledge(self, intent: _Intent) -> None:
        self.event(intent.t, "acknowledge", S.ACKNOWLEDGED, intent.actor)

    def on_start(self, intent: _Intent) -> None:
        self.event(intent.t, "start", S.IN_PROGRESS, intent.actor)

    def on_handle(self, intent: _Intent) -> None:
        self.enter(Stage.VERIFY, intent.t)
        self.row.update(handled_by_id=intent.actor, extension_requested=False)
        payload = {"result": intent.data["result"][:2000]}
        self.event(intent.t, "handle", S.HANDLED, intent.actor, "", payload)

    def on_return(self, intent: _Intent) -> None:
        row = self.row
        returns = row["return_count"] + 1
        self.enter(Stage.DISPATCH, intent.t)
        row.update(
            owner_department_id=None,
            owner_user_id=None,
            return_count=returns,
            extension_requested=False,
        )
        payload: dict[str, Any] = {"returns": returns}
        if returns >= self.ctx.returns_before_arbitration and row["level"] != Case.Level.DISTRICT:
            row["level"] = Case.Level.DISTRICT.value
            payload["arbitration"] = True
        self.event(intent.t, "return", S.ACCEPTED, intent.actor, intent.reason, payload)

    def on_request_extension(self, intent: _Intent) -> None:
        self.row["extension_requested"] = True
        payload = {"amount": str(intent.data["amount"]), "unit": intent.data["unit"]}
        self.event(
            intent.t, "request_extension", self.row["state"], intent.actor, intent.reason, payload
        )
        self.extension = intent.data

    def on_approve_extension(self, intent: _Intent) -> None:
        row = self.row
        request = getattr(self, "extension", None) or {"amount": Decimal(1), "unit": "working_day"}
        base = row["stage_deadline"] if row["stage_deadline"] is not None else intent.t
        unit = TimeUnit(request["unit"])
        step = round(Fraction(Decimal(request["amount"])) * self.clock.unit_us(unit))
        deadline = self.clock.add(base, step, unit.is_working)
        row.update(stage_deadline=deadline, is_overdue=deadline <= intent.t)
        row["extension_requested"] = False
        payload = {"new_deadline": _dt(deadline).isoformat()}
        self.event(intent.t, "approve_extension", row["state"], intent.actor, "", payload)

    def on_deny_extension(self, intent: _Intent) -> None:
        self.row["extension_requested"] = False
        self.event(intent.t, "deny_extension", self.row["state"], intent.actor, intent.reason)

    def on_verify(self, intent: _Intent) -> None:
        row = self.row
        if intent.data["result"] == "pass":
            outcome = intent.data["outcome"]
            self.leave()
            row.update(outcome=outcome, closed_at=intent.t)
            payload = {"result": "pass", "outcome": outcome}
            self.event(intent.t, "verify", S.CLOSED, intent.actor, intent.reason, payload)
            return
        row["rework_count"] += 1
        if row["self_handled"] and row["owner_department_id"] is None:
            self.enter(Stage.DISPATCH, intent.t)
            to_state = S.ACCEPTED
        else:
            self.enter(Stage.HANDLE, intent.t)
            to_state = S.DISPATCHED
        payload = {"result": "fail"}
        self.event(intent.t, "verify", to_state, intent.actor, intent.reason, payload)

    def on_evaluate(self, intent: _Intent) -> None:
        row = self.row
        satisfaction = intent.data["satisfaction"]
        if satisfaction == Case.Satisfaction.UNSATISFIED:
            self.enter(Stage.DISPATCH, intent.t)
            row.update(
                satisfaction=satisfaction,
                outcome="",
                closed_at=None,
                owner_department_id=None,
                owner_user_id=None,
            )
            payload = {"satisfaction": satisfaction, "reopened": True}
            self.event(intent.t, "evaluate", S.ACCEPTED, intent.actor, intent.reason, payload)
            return
        row["satisfaction"] = satisfaction
        payload = {"satisfaction": satisfaction}
        self.event(intent.t, "evaluate", S.EVALUATED, intent.actor, intent.reason, payload)

    def on_archive(self, intent: _Intent) -> None:
        self.event(intent.t, "archive", S.ARCHIVED, intent.actor)

    def on_suspend(self, intent: _Intent) -> None:
        review: date = intent.data["review_date"]
        self.row.update(is_suspended=True, suspended_until=review)
        payload = {"review_date": review.isoformat()}
        self.event(intent.t, "suspend", self.row["state"], intent.actor, intent.reason, payload)

    def on_resume(self, intent: _Intent) -> None:
        row = self.row
        row.update(is_suspended=False, suspended_until=None)
        if row["stage"]:
            self.enter(row["stage"], intent.t)
        self.event(intent.t, "resume", row["state"], intent.actor)

    def on_supervise(self, intent: _Intent) -> None:
        self.row["is_supervised"] = True
        self.event(intent.t, "supervise", self.row["state"], intent.actor, intent.reason)

    def on_merge(self, intent: _Intent) -> None:
        self.leave()
        self.row.update(outcome=Case.Outcome.DUPLICATE.value, closed_at=intent.t)
        self.row["merged"] = True
        payload = {"into": intent.data["into"]}
        self.event(intent.t, "merge", S.CLOSED, intent.actor, intent.reason, payload)


OPEN = frozenset(
    {S.CHECKING, S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.HANDLED}
)


# Writing -----------------------------------------------------------------------------------------


@dataclass
class GenerationReport:
    cases: int = 0
    events: int = 0
    open_cases: int = 0
    seconds: float = 0.0
    by_state: dict[str, int] = field(default_factory=dict)


def generate_cases(
    district_code: str,
    *,
    count: int = DEFAULT_COUNT,
    seed: int = 2026,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str], None] | None = None,
    report: GenerationReport | None = None,
) -> int:
    """Write ``count`` cases of the year ending at ``now`` with their histories; returns the count.

    Needs the district's territory, the demo users (``wangge.demo.people``) and departments
    (``wangge.demo.departments``). Deterministic for a seed and ``now`` (the encrypted phone tokens
    aside: encryption draws a fresh nonce).
    """
    started = time.monotonic()
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    ctx = _load(district_code, now)
    plan = _plan(ctx, count, seed)
    numbers, sequence_update = _numbers(ctx, plan)
    say = progress or (lambda message: None)
    say(f"planned {count} cases in {time.monotonic() - started:.1f} s")
    rnd = random.Random(f"{seed}-{district_code}")  # noqa: S311 — demo data, not secrets
    life = _Life(ctx, rnd)
    replay = _Replay(ctx)
    report = report if report is not None else GenerationReport()
    masters: dict[int, _Master] = {}
    duplicates: list[tuple[int, int]] = []  # (case index, master index)
    pks = np.zeros(count, dtype=np.int64)
    wanted_masters = set(plan.duplicate_of[plan.duplicate_of >= 0].tolist())
    for first in range(0, count, batch_size):
        rows, histories = [], []
        for i in range(first, min(first + batch_size, count)):
            intents, facts = life.draw(plan, i, masters)
            row = _case_row(ctx, plan, i, numbers[i], facts, rnd)
            events = replay.run(row, intents, facts)
            if i in wanted_masters:
                archived = next((x.t for x in intents if x.action == "archive"), None)
                masters[i] = _Master(
                    numbers[i], archived, "voided" in facts, "merged_into" in facts
                )
            if row.pop("merged", False):
                duplicates.append((i, int(plan.duplicate_of[i])))
            rows.append(row)
            histories.append(events)
        _write(rows, histories, pks, first, report, sequence_update if first == 0 else None)
        say(f"{first + len(rows)} cases, {report.events} events")
    _link_duplicates(duplicates, pks)
    report.cases = count
    report.seconds = time.monotonic() - started
    return count


def _numbers(ctx: _Context, plan: _Plan) -> tuple[list[str], Callable[[], None]]:
    """Numbers in order of report per local year, after what the sequence gave, and the update
    that moves the sequence past them (written with the first batch: from then on a real case
    reported meanwhile, or after an interrupted run, cannot take a generated number)."""
    district = ctx.district.code
    years = [timezone.localtime(_dt(int(t))).year for t in plan.t]
    counts: dict[int, int] = {}
    for year in years:
        counts[year] = counts.get(year, 0) + 1
    offsets = {
        year: CaseNumberSequence.objects.filter(district_code=district, year=year)
        .values_list("last", flat=True)
        .first()
        or 0
        for year in counts
    }
    numbers = []
    last = dict(offsets)
    for year in years:
        last[year] += 1
        numbers.append(f"{district}-{year}-{last[year]:06d}")

    def move_sequence() -> None:
        for year, n in sorted(counts.items()):
            sequence, _created = CaseNumberSequence.objects.select_for_update().get_or_create(
                district_code=district, year=year
            )
            if sequence.last != offsets[year]:
                raise RuntimeError(
                    f"case numbers of {district}-{year} were given while planning; run again"
                )
            CaseNumberSequence.objects.filter(pk=sequence.pk).update(last=offsets[year] + n)

    return numbers, move_sequence


def _case_row(
    ctx: _Context, plan: _Plan, i: int, number: str, facts: dict[str, Any], rnd: random.Random
) -> dict[str, Any]:
    category: Category = facts["category"]
    grid = facts["grid"]
    source = facts["source"]
    lng, lat = float(plan.lng[i]), float(plan.lat[i])
    community = grid["name"].split("第", 1)[0]
    address = (
        f"{grid['community__parent__name']}{community}{rnd.randint(1, 40)}号楼{rnd.choice(SIDES)}"
    )
    reporter_name = ""
    phone = ""
    if facts["public"]:
        reporter_name = rnd.choice(SURNAMES) + rnd.choice(("先生", "女士"))
        phone = f"1{rnd.choice('3589')}{rnd.randint(0, 999_999_999):09d}"
    urgency = Case.Urgency.NORMAL.value
    big = category.parent.code if category.parent else category.code
    if big == "EM04" and rnd.random() < 0.4:
        urgency = Case.Urgency.EMERGENCY.value
    elif (big.startswith("EM") and rnd.random() < 0.15) or rnd.random() < 0.02:
        urgency = Case.Urgency.URGENT.value
    row: dict[str, Any] = {
        "number": number,
        "source": source,
        "category_id": category.pk,
        "condition": "",
        "description": _description(source, category.name, address, rnd),
        "address": address,
        "lng": lng,
        "lat": lat,
        "h3_cell": locate.h3_cell(lng, lat),
        "grid_id": grid["id"],
        "region_code": grid["code"],
        "area_grade": facts["grade"],
        "reporter_id": facts["reporter"],
        "reporter_name": reporter_name,
        "reporter_phone_token": "",
        "reporter_phone_hash": "",
        "reporter_phone_masked": "",
        "urgency": urgency,
        "state": "",
        "level": Case.Level.GRID.value,
        "owner_department_id": None,
        "owner_user_id": None,
        "handled_by_id": None,
        "stage": "",
        "stage_started_at": None,
        "stage_deadline": None,
        "stage_unit": "",
        "is_overdue": False,
        "is_supervised": False,
        "is_suspended": False,
        "suspended_until": None,
        "extension_requested": False,
        "outcome": "",
        "satisfaction": "",
        "supporters": 0,
        "return_count": 0,
        "rework_count": 0,
        "self_handled": facts["self_handled"],
        "created_at": int(plan.t[i]),
        "accepted_at": None,
        "closed_at": None,
        "updated_at": int(plan.t[i]),
        "version": 0,
    }
    if phone:
        sealed = pii.seal(phone, purpose=pii.PURPOSE_PHONE, mask=pii.mask_phone)
        row["reporter_phone_token"] = sealed.token
        row["reporter_phone_hash"] = sealed.hash
        row["reporter_phone_masked"] = sealed.masked
    return row


def _description(source: str, item: str, address: str, rnd: random.Random) -> str:
    detail = rnd.choice(DETAILS)
    if item.endswith(("申请", "申领", "办理", "登记", "认定", "代办", "缴费", "补换")):
        where = {SRC.HOTLINE: "市民来电", SRC.WALK_IN: "居民到社区服务站", SRC.PATROL: "网格员走访"}
        return f"{where.get(source, '居民')}咨询{item}事宜，住{address}，请协助办理"
    if source == SRC.PATROL:
        return f"巡查发现{address}{item}，{detail}"
    if source == SRC.HOTLINE:
        return f"市民来电反映：{address}{item}，{detail}"
    if source == SRC.CITIZEN_APP:
        return f"随手拍：{address}有{item}问题，{detail}"
    if source == SRC.OPEN311:
        return f"Open311上报：{item}，{address}"
    if source == SRC.SENSOR:
        return f"传感器告警：{item}，设备编号S{rnd.randint(10000, 99999)}"
    if source == SRC.MESSAGE:
        return f"短信反映：{address}{item}，{detail}"
    if source == SRC.WALK_IN:
        return f"居民到社区服务站反映：{item}，{address}"
    return f"上级交办：{address}{item}，请属地核实处置"


_DATETIMES = ("stage_started_at", "stage_deadline", "created_at", "accepted_at", "closed_at")


def _write(
    rows: list[dict[str, Any]],
    histories: list[list[tuple[Any, ...]]],
    pks: np.ndarray,
    first: int,
    report: GenerationReport,
    before: Callable[[], None] | None = None,
) -> None:
    cases_out = Table(Case)
    events_out = Table(CaseEvent)
    for row in rows:
        for name in _DATETIMES:
            if row[name] is not None:
                row[name] = _dt(row[name])
        row["updated_at"] = _dt(row["updated_at"])
        report.by_state[row["state"]] = report.by_state.get(row["state"], 0) + 1
        report.open_cases += row["state"] in OPEN
    n_events = sum(len(history) for history in histories)
    with transaction.atomic():
        if before is not None:
            before()
        case_ids = cases_out.reserve_ids(len(rows))
        event_ids = iter(events_out.reserve_ids(n_events))
        case_rows, event_rows = [], []
        for offset, (row, history, case_id) in enumerate(
            zip(rows, histories, case_ids, strict=True)
        ):
            pks[first + offset] = case_id
            row["id"] = case_id
            row["merged_into_id"] = None
            case_rows.append([row[name] for name in cases_out.names])
            for t, action, from_state, to_state, actor, reason, payload in history:
                event_rows.append(
                    [
                        next(event_ids),
                        case_id,
                        action,
                        from_state,
                        to_state,
                        actor,
                        reason,
                        payload,
                        _dt(t),
                    ]
                )
        cases_out.insert(case_rows)
        events_out.insert(event_rows)
    report.events += n_events


def _link_duplicates(duplicates: list[tuple[int, int]], pks: np.ndarray) -> None:
    """Point merged duplicates at their master and count them as its supporters."""
    if not duplicates:
        return
    supporters: dict[int, int] = {}
    merged = []
    for i, master in duplicates:
        merged.append(Case(pk=int(pks[i]), merged_into_id=int(pks[master])))
        supporters[int(pks[master])] = supporters.get(int(pks[master]), 0) + 1
    with transaction.atomic():
        Case.objects.bulk_update(merged, ["merged_into"], batch_size=500)
        masters = [Case(pk=pk, supporters=n) for pk, n in sorted(supporters.items())]
        Case.objects.bulk_update(masters, ["supporters"], batch_size=500)
