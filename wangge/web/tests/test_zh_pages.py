"""Every page of the loop, rendered in Chinese, holds no raw enum value, raw key or English sentence.

A world where cases went through every action (and the overdue poller and a transfer) is built once
per test; each page of the list below is rendered in zh-hans as the people who use it, and the text a
reader sees (outside <script>/<style>, attributes and anything marked ``lang="en"``) is scanned for:

- a value of any TextChoices of cases, registry or core, or of the workflow's actions, as a word;
- a raw key (``snake_case``), a Python literal (``[2]``, ``True``, ``None``);
- a run of two or more ASCII words of letters (an English sentence), unless every word is allowed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import models
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from wangge.cases.deadlines import mark_overdue
from wangge.cases.models import Case, CasePhoto, Category
from wangge.cases.photos import prepare_photo
from wangge.cases.services import case_act
from wangge.cases.tests.factories import (
    IN_GRID_A,
    IN_GRID_B,
    act,
    category,
    department,
    handler,
    report,
)
from wangge.cases.transfers import case_transfer
from wangge.cases.workflow import Action
from wangge.registry.tests.factories import (
    GRID_A,
    UNIT_A,
    building,
    component,
    house,
    household,
    organization,
    register,
)

pytestmark = pytest.mark.django_db

# Words a Chinese page may show in Latin letters: names and standards, not sentences.
ALLOWED_WORDS = {"Wangge", "English", "QR", "WGS", "GB", "T", "H3", "Open311", "ID", "CSV", "xlsx"}
SKIPPED_ELEMENTS = {"script", "style"}
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
}  # fmt: skip


def enum_values() -> set[str]:
    """Every TextChoices value of cases, registry and core, and every workflow action, that could
    be mistaken for nothing else (three or more characters, some of them letters)."""
    import wangge.cases.models  # noqa: F401 - loads the classes walked below
    import wangge.core.models  # noqa: F401
    import wangge.core.roles  # noqa: F401
    import wangge.registry.models  # noqa: F401

    # The actions and the keys of the events' details that are not choices.
    found: set[str] = {action.value for action in Action} | {"report", "overdue", "transfer"}
    found |= {"photos", "deadline", "escalated_to", "returns", "arbitration", "automatic"}
    pending = list(models.TextChoices.__subclasses__())
    while pending:
        choices = pending.pop()
        pending.extend(choices.__subclasses__())
        if choices.__module__.split(".")[1] in {"cases", "registry", "core"}:
            found |= {member.value for member in choices}
    return {value for value in found if len(value) >= 3 and re.search(r"[a-z]", value)}


ENUM_VALUES = enum_values()
ENUM_ALTERNATIVES = "|".join(sorted(map(re.escape, ENUM_VALUES), key=len, reverse=True))
ENUM_RE = re.compile(r"(?<![A-Za-z0-9_])(" + ENUM_ALTERNATIVES + r")(?![A-Za-z0-9_])")
RAW_RE = re.compile(
    r"(?<![A-Za-z0-9_])[a-z]+(?:_[a-z0-9]+)+(?![A-Za-z0-9_])"  # a key: from_grid, owner_cleared
    r"|\[\d+(?:, \d+)*\]"  # a list of ids: [2]
    r"|(?<![A-Za-z])(?:True|False|None)(?![A-Za-z])"
)
WORD_RE = re.compile(r"^[A-Za-z]+[.,:;!?]?$")


class VisibleText(HTMLParser):
    """The text nodes a reader sees: no script or style, no attributes, nothing marked English."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []
        self.in_i18n = False

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            return
        attributes = dict(attrs)
        self.in_i18n = tag == "script" and (attributes.get("id") or "").endswith("-i18n")
        hidden = tag in SKIPPED_ELEMENTS or (attributes.get("lang") or "").startswith("en")
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if self.in_i18n:
            # The strings a page's script shows (<script type="application/json" id="…-i18n">),
            # without their {placeholders}.
            self.in_i18n = False
            for text in json.loads(data).values():
                self.texts.append(" ".join(re.sub(r"\{\w+\}", "0", text).split()))
        elif not self._hidden() and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.texts


def english_runs(text: str) -> Iterator[str]:
    run: list[str] = []
    for token in [*text.split(" "), ""]:
        if WORD_RE.match(token):
            run.append(token)
            continue
        if len(run) >= 2 and any(word.rstrip(".,:;!?") not in ALLOWED_WORDS for word in run):
            yield " ".join(run)
        run = []


def findings(html: str) -> list[str]:
    """What a Chinese reader should not see on a page."""
    found = []
    for text in visible_texts(html):
        found += [f"enum value {m!r} in {text!r}" for m in ENUM_RE.findall(text)]
        found += [f"raw key or literal {m.group()!r} in {text!r}" for m in RAW_RE.finditer(text)]
        found += [f"English {run!r} in {text!r}" for run in english_runs(text)]
    return found


# The scanner itself -------------------------------------------------------------------------------


def test_the_scanner_finds_enum_values_keys_literals_and_english_but_not_chinese_or_names():
    html = (
        "<p>已派遣</p><p>结果 not_fixed</p><dl><dt>photos</dt><dd>[2]</dd></dl>"
        "<p>Report handling</p><p>结果：handle</p><p>网格 Wangge · QR 标签 · GB/T 47678</p>"
        '<span lang="en">Wangge is here</span><script>var a = "not seen at all";</script>'
        '<a title="An English title">链接</a>'
        '<script type="application/json" id="x-i18n">{"a": "共 {count} 个", "b": "Not translated"}</script>'
    )
    found = findings(html)
    assert any("'not_fixed'" in f and f.startswith("enum") for f in found)
    assert any("[2]" in f for f in found)
    assert any("'Report handling'" in f for f in found)
    assert any("'handle'" in f for f in found)
    assert any("'Not translated'" in f for f in found)
    assert not any("count" in f for f in found)
    assert not any("Wangge" in f or "not seen" in f or "English title" in f for f in found)


# The world ----------------------------------------------------------------------------------------


def png() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 30)).save(stream, "PNG")
    stream.seek(0)
    stream.name = "after.png"
    return stream


def name(user, family: str, given: str) -> None:
    user.last_name, user.first_name = family, given
    user.save(update_fields=["last_name", "first_name"])


@pytest.fixture
def world(cast, settings):
    """Cases that went through every action, each left in a different state."""
    settings.WANGGE_RETURNS_BEFORE_ARBITRATION = 2
    for user, family, given in [
        (cast.commander, "赵", "指挥"),
        (cast.operator, "钱", "受理"),
        (cast.street_dispatcher, "孙", "派遣"),
        (cast.community_officer, "李", "社区"),
        (cast.grid_worker_a, "周", "网格"),
        (cast.grid_worker_b, "吴", "网格"),
        (cast.department_handler, "郑", "部门"),
        (cast.other_community_officer, "陈", "社区"),
        (cast.admin, "冯", "管理"),
        (cast.nobody, "何", "无"),
    ]:
        name(user, family, given)
    cat = category()
    shizheng = department("shizheng", rule_for=cat)
    shizheng.name = "区市政市容委"
    shizheng.save(update_fields=["name"])
    yuanlin = department("yuanlin")
    yuanlin.name = "区园林绿化局"
    yuanlin.save(update_fields=["name"])
    dept_handler = handler("handler_sz", shizheng)
    name(dept_handler, "王", "处置")
    park_handler = handler("handler_yl", yuanlin)
    name(park_handler, "冯", "园林")
    ops = cast.commander
    cases: dict[str, Case] = {}

    cases["checking"] = report(None, source=Case.Source.CITIZEN_APP, reporter_name="张三")
    confirmed = report(None, source=Case.Source.HOTLINE, reporter_name="李四")
    cases["reported"] = act(confirmed, "confirm", cast.grid_worker_a, note="现场确认属实")
    cases["voided"] = act(report(cast.grid_worker_a), "void", ops, reason="重复上报，已作废")
    cases["accepted"] = act(report(cast.grid_worker_a), "accept", ops)

    escalated = act(report(cast.grid_worker_a), "accept", ops)
    cases["escalated"] = act(escalated, "escalate", cast.street_dispatcher, reason="社区无法处置")

    dispatched = act(
        act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, department="shizheng"
    )
    cases["dispatched"] = act(dispatched, "supervise", cast.commander, reason="群众反映强烈")

    person = act(act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, user="worker_a")
    cases["acknowledged"] = act(person, "acknowledge", cast.grid_worker_a)

    progress = act(
        act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, department="yuanlin"
    )
    progress = act(progress, "return", park_handler, reason="不属于本部门职责")
    progress = act(progress, "dispatch", ops, department="shizheng")
    progress = act(progress, "return", dept_handler, reason="仍不属于本部门")
    progress = act(progress, "dispatch", cast.commander, department="shizheng")
    progress = act(progress, "acknowledge", dept_handler)
    progress = act(progress, "start", dept_handler)
    progress = act(
        progress,
        "request_extension",
        dept_handler,
        amount="2",
        unit="working_day",
        reason="需要采购配件",
    )
    progress = act(progress, "approve_extension", ops)
    progress = act(
        progress, "request_extension", dept_handler, amount="4", unit="hour", reason="天气原因"
    )
    progress = act(progress, "deny_extension", ops, reason="时间已足够")
    progress = act(
        progress,
        "suspend",
        ops,
        review_date=str(timezone.localdate() + timedelta(days=5)),
        reason="待年度预算",
    )
    cases["in_progress"] = act(progress, "resume", ops)

    handled = act(
        act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, department="shizheng"
    )
    handled = act(handled, "acknowledge", dept_handler)
    handled = case_act(
        number=handled.number,
        action="handle",
        actor=dept_handler,
        data={"result": "已更换井盖"},
        photos=[prepare_photo(kind=CasePhoto.Kind.AFTER, stream=png())],
    )
    handled = act(handled, "verify", ops, result="fail", reason="井盖仍有松动")
    handled = act(handled, "acknowledge", dept_handler)
    cases["handled"] = act(handled, "handle", dept_handler, result="已重新固定井盖")

    closed = act(
        act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, department="shizheng"
    )
    closed = act(act(closed, "acknowledge", dept_handler), "handle", dept_handler, result="已修复")
    cases["closed"] = act(
        closed, "verify", ops, result="pass", outcome="not_responsible", reason="属于产权单位"
    )

    evaluated = act(
        act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, department="shizheng"
    )
    evaluated = act(
        act(evaluated, "acknowledge", dept_handler), "handle", dept_handler, result="已修复"
    )
    evaluated = act(
        act(evaluated, "verify", ops, result="pass", outcome="fixed"),
        "evaluate",
        ops,
        satisfaction="basically",
    )
    cases["archived"] = act(evaluated, "archive", ops)

    reopened = act(
        act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, department="shizheng"
    )
    reopened = act(
        act(reopened, "acknowledge", dept_handler), "handle", dept_handler, result="已处理"
    )
    reopened = act(reopened, "verify", ops, result="pass", outcome="fixed")
    cases["reopened"] = act(
        reopened, "evaluate", ops, satisfaction="unsatisfied", reason="问题依旧"
    )

    master = act(report(cast.grid_worker_a), "accept", ops)
    cases["merged"] = act(
        report(cast.grid_worker_a), "merge", ops, into=master.number, reason="同一井盖"
    )

    spot = category("T0002", self_handling=True)
    cases["self_handled"] = report(
        cast.grid_worker_a, self_handle=True, self_handle_result="已当场清理", cat=spot
    )

    service = Category.objects.get(kind=Category.Kind.SERVICE, code="SS01001")
    cases["service"] = act(report(cast.grid_worker_a, cat=service), "accept", ops)

    moved = act(report(cast.grid_worker_a), "accept", ops)
    case_transfer(number=moved.number, to_grid_code="110102003002004", reason="位置报错", actor=ops)
    cases["transferred"] = Case.objects.get(pk=moved.pk)
    cases["other_grid"] = act(report(cast.grid_worker_b, at=IN_GRID_B), "accept", ops)

    late = act(
        act(report(cast.grid_worker_a), "accept", ops), "dispatch", ops, department="shizheng"
    )
    Case.objects.filter(pk=late.pk).update(stage_deadline=timezone.now() - timedelta(hours=3))
    mark_overdue()
    cases["overdue"] = Case.objects.get(pk=late.pk)

    building_a = building(GRID_A, address="北京市西城区府右街南胡同3号院1号楼")
    house_a = house(building_a, room="301", rented=True)
    household_a = household(house_a, number="1")
    resident = register(house_a, name="王秀英", household=household_a).person
    return {
        "cast": cast,
        "dept_handler": dept_handler,
        "cases": {key: Case.objects.get(pk=case.pk) for key, case in cases.items()},
        "building": building_a,
        "house": house_a,
        "household": household_a,
        "person": resident,
        "organization": organization(GRID_A, name="府右街南便利店"),
        "component": component(UNIT_A, at=IN_GRID_A, serial=1, status="damaged"),
    }


def zh_client(user) -> Client:
    """A client asking for Chinese, signed in as ``user`` (None: a visitor)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if user is not None:
        client.force_login(user)
    return client


def scan(pages: list[tuple[str, Any, str]], *, statuses=(200,)) -> list[str]:
    """Render each (page name, user, url) and collect what should not be there."""
    problems = []
    for page, user, url in pages:
        headers = {"HX-Request": "true"} if "fragment" in page else {}
        response = zh_client(user).get(url, headers=headers)
        assert response.status_code in statuses, (page, url, response.status_code)
        assert response.headers["Content-Language"] == "zh-hans", (page, url)
        problems += [
            f"{page} ({url}): {finding}" for finding in findings(response.content.decode())
        ]
    return problems


def case_pages(world) -> list[tuple[str, object, str]]:
    """Console, its queues, the case map, the phone's list and report form, and each case's page
    (console and phone) as each person who works on it."""
    c = world["cast"]
    people = [
        c.commander,
        c.operator,
        c.street_dispatcher,
        c.community_officer,
        world["dept_handler"],
    ]
    pages = [("console", c.commander, reverse("web:console"))]
    pages += [
        (f"console queue {key}", c.commander, reverse("web:console") + f"?queue={key}")
        for key in ("checking", "reported", "accepted", "handling", "handled", "closed")
    ]
    pages += [
        (f"queue fragment {key}", c.operator, reverse("web:console-queue", args=[key]))
        for key in ("handling", "closed")
    ]
    pages += [
        ("case map", c.commander, reverse("web:console-map")),
        ("phone task list (grid worker)", c.grid_worker_a, reverse("web:mobile-tasks")),
        ("phone task list (department)", world["dept_handler"], reverse("web:mobile-tasks")),
        ("phone task list (operator)", c.operator, reverse("web:mobile-tasks")),
        ("phone report", c.grid_worker_a, reverse("web:mobile-report")),
        ("service catalogue", c.grid_worker_a, reverse("web:services")),
        ("service catalogue search", c.operator, reverse("web:services") + "?q=低保"),
        ("service catalogue, nothing found", c.operator, reverse("web:services") + "?q=宇宙"),
    ]
    for key, case in world["cases"].items():
        for user in people:
            pages.append(
                (
                    f"case {key} as {user.username}",
                    user,
                    reverse("web:console-case", args=[case.number]),
                )
            )
        for user in (c.grid_worker_a, world["dept_handler"], c.operator):
            pages.append(
                (
                    f"phone case {key} as {user.username}",
                    user,
                    reverse("web:mobile-case", args=[case.number]),
                )
            )
    return pages


def test_every_page_of_the_loop_speaks_chinese_without_codes(world):
    visible = {"other_grid", "transferred"}
    problems = scan(
        [
            (page, user, url)
            for page, user, url in case_pages(world)
            if not (
                user.username in {"worker_a", "officer_a", "dispatcher"}
                and any(k in page for k in visible)
            )
        ]
    )
    assert not problems, "\n".join(problems)


def test_the_action_errors_speak_chinese(world):
    """An action posted without what it needs answers with field errors in words, not codes."""
    c = world["cast"]
    handled = world["cases"]["handled"]
    closed = world["cases"]["closed"]
    posts = [
        (
            "verify without an outcome",
            c.operator,
            handled,
            {"action": "verify", "result": "pass", "outcome": "solved"},
        ),
        ("verify without a result", c.operator, handled, {"action": "verify"}),
        (
            "evaluate without a satisfaction",
            c.operator,
            closed,
            {"action": "evaluate", "satisfaction": "happy"},
        ),
        (
            "suspend without a date",
            c.operator,
            world["cases"]["accepted"],
            {"action": "suspend", "reason": "等待"},
        ),
        (
            "dispatch to nobody",
            c.commander,
            world["cases"]["accepted"],
            {"action": "dispatch", "target": "department"},
        ),
    ]
    problems = []
    texts: dict[str, str] = {}
    for label, user, case, data in posts:
        response = zh_client(user).post(reverse("web:console-case", args=[case.number]), data)
        assert response.status_code == 400, label
        problems += [f"{label}: {finding}" for finding in findings(response.content.decode())]
        texts[label] = response.content.decode()
    assert not problems, "\n".join(problems)
    # The choices are named as the form names them.
    assert (
        "“已解决”、“未解决，说明理由后结案”、“非本部门职责”、“重复案件”"
        in texts["verify without an outcome"]
    )
    assert "“满意”、“基本满意”、“不满意”" in texts["evaluate without a satisfaction"]


def test_the_registry_pages_speak_chinese_without_codes(world):
    c = world["cast"]
    qr = world["house"].qr_token
    pages = [
        ("registry home", c.community_officer, reverse("web:registry")),
        ("registry search", c.community_officer, reverse("web:registry-search") + "?name=王秀英"),
        ("grid", c.grid_worker_a, reverse("web:registry-grid", args=[GRID_A])),
        (
            "building",
            c.grid_worker_a,
            reverse("web:registry-building", args=[world["building"].pk]),
        ),
        ("house", c.grid_worker_a, reverse("web:registry-house", args=[world["house"].pk])),
        (
            "household",
            c.grid_worker_a,
            reverse("web:registry-household", args=[world["household"].pk]),
        ),
        ("person", c.grid_worker_a, reverse("web:registry-person", args=[world["person"].pk])),
        (
            "organization",
            c.grid_worker_a,
            reverse("web:registry-organization", args=[world["organization"].pk]),
        ),
        ("components map", c.community_officer, reverse("web:registry-components")),
        ("ledgers", c.commander, reverse("web:ledgers")),
        ("QR labels", c.community_officer, reverse("web:registry-qr-labels")),
        ("self-registrations", c.grid_worker_a, reverse("web:mobile-self-registrations")),
        ("territory map", c.grid_worker_a, reverse("web:map")),
        ("house QR page (worker)", c.grid_worker_a, reverse("web:qr-house", args=[qr])),
        ("house QR page (tenant)", None, reverse("web:qr-house", args=[qr])),
        ("sign-in page", None, reverse("login")),
    ]
    problems = scan(pages)
    assert not problems, "\n".join(problems)


def test_the_error_pages_speak_chinese(world):
    c = world["cast"]
    problems = scan(
        [
            (
                "404 of a missing case",
                c.commander,
                reverse("web:console-case", args=["110102-2026-999999"]),
            ),
            ("404 of an unknown page", c.commander, "/no-such-page/"),
            ("403 of the console", c.nobody, reverse("web:console")),
        ],
        statuses=(403, 404),
    )
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("zh-hans"):
        for template in ("400.html", "500.html", "403_csrf.html"):
            html = loader.get_template(template).render({"request": request}, request)
            problems += [f"{template}: {finding}" for finding in findings(html)]
    assert not problems, "\n".join(problems)
