"""Errors of lib.idnumbers are worded in the user's language at the edge (core.idmessages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from wangge.core.idmessages import MESSAGES, id_error_text
from wangge.lib import idnumbers
from wangge.lib.idnumbers import parse_credit_code, parse_mobile, parse_resident_id

SOURCES = [Path(idnumbers.__file__), Path(__file__).parents[2] / "registry" / "identity.py"]


def test_every_error_code_raised_has_a_message():
    raised = set()
    for source in SOURCES:
        raised |= set(re.findall(r'IdNumberError\(\s*"(\w+)"', source.read_text()))
    assert raised and raised <= MESSAGES.keys(), raised - MESSAGES.keys()


@pytest.mark.parametrize(
    ("call", "chinese"),
    [
        (
            lambda: parse_resident_id("000000199001010026"),
            "前6位000000不是行政区划代码（00不是省级代码）",
        ),
        (lambda: parse_resident_id("110105194912310021"), "校验码应为X，而不是1"),
        (lambda: parse_resident_id("1101051949"), "应为18位（旧版为15位），而不是10位"),
        (lambda: parse_mobile("12812345678"), "手机号码第二位应为3至9，而不是2"),
        (lambda: parse_credit_code("91110102MA01ABCD"), "统一社会信用代码应为18位，而不是16位"),
    ],
)
def test_errors_read_in_chinese_and_in_english(call, chinese):
    with pytest.raises(idnumbers.IdNumberError) as caught:
        call()
    with translation.override("zh-hans"):
        assert id_error_text(caught.value) == chinese
    with translation.override("en"):
        text = id_error_text(caught.value)
        assert text.isascii() and "%(" not in text


def test_other_errors_pass_through():
    assert id_error_text(ValueError("plain")) == "plain"
