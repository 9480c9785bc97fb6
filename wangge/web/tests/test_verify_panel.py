"""The verify form shows what the handler reported: his note, who and when, and the after photos."""

import io

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from wangge.cases.models import CasePhoto
from wangge.cases.photos import prepare_photo
from wangge.cases.services import case_act
from wangge.cases.tests.factories import IN_GRID_A, act, category, department, handler, report

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def png() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (40, 30), (40, 140, 60)).save(stream, "PNG")
    stream.seek(0)
    return stream


def handled_case(cast):
    clerk = handler("clerk", department("shizheng", rule_for=category()))
    case = act(report(cast.grid_worker_b, at=IN_GRID_A), "accept", cast.operator)
    act(case, "dispatch", cast.commander, department="shizheng")
    act(case, "acknowledge", clerk)
    act(case, "handle", clerk, result="第一次：已临时围挡")
    act(case, "verify", cast.operator, result="fail", reason="未更换")  # back to the clerk
    act(case, "acknowledge", clerk)
    return case_act(
        number=case.number,
        action="handle",
        actor=clerk,
        data={"result": "已更换井盖"},
        photos=[prepare_photo(kind="after", stream=png())],
    )


def test_the_phone_verify_form_shows_the_latest_handling_note_and_the_after_photo(cast):
    case = handled_case(cast)
    photo = CasePhoto.objects.get(case=case, kind="after")

    html = signed_in(cast.grid_worker_a).get(reverse("web:mobile-case", args=[case.number]))
    text = html.content.decode()
    panel = text[text.index('data-action="verify"') :]
    panel = panel[: panel.index("</details>")]
    assert "处置人反馈" in panel
    assert "已更换井盖" in panel and "第一次" not in panel  # the latest handling, not the first
    assert "clerk" in panel
    assert reverse("web:case-photo", args=[case.number, photo.pk]) in panel


def test_the_console_verify_form_shows_the_same_and_says_when_there_is_no_photo(cast):
    case = handled_case(cast)
    CasePhoto.objects.filter(case=case).delete()

    text = signed_in(cast.operator).get(reverse("web:console-case", args=[case.number]))
    panel = text.content.decode()
    panel = panel[panel.index('data-action="verify"') :]
    assert "已更换井盖" in panel[: panel.index("</details>")]
    assert "无处置后照片。" in panel[: panel.index("</details>")]


def test_a_case_handled_on_the_spot_shows_the_reporters_result(cast):
    case = report(
        cast.grid_worker_b,
        at=IN_GRID_A,
        cat=category("T0009", self_handling=True),
        self_handle=True,
        self_handle_result="当场扶正",
    )

    text = signed_in(cast.grid_worker_a).get(reverse("web:mobile-case", args=[case.number]))
    panel = text.content.decode()
    panel = panel[panel.index('data-action="verify"') :]
    assert "当场扶正" in panel[: panel.index("</details>")]
