"""The OpenAPI schema is written for API users: no descriptions about the framework's internals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

INTERNALS = re.compile(
    r"\b(Django|DRF|querysets?|serializers?|views?|threads?|cache[sd]?|process(es)?|middleware|"
    r"ORM|docstrings?|deep-cop(y|ies)|__init__|ms)\b",
    re.IGNORECASE,
)


def texts(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"description", "summary"} and isinstance(value, str):
                yield f"{path}/{key}", value
            else:
                yield from texts(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from texts(value, f"{path}[{index}]")


def test_the_regex_finds_framework_words():
    assert INTERNALS.search("DRF deep-copies every declared field")
    assert INTERNALS.search("Uses the cached queryset")
    assert not INTERNALS.search("needs registry.view_building; overdue cases first")


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_description_of_the_schema_talks_about_framework_internals(language):
    with translation.override(language):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    found = [f"{where}: {text[:160]}" for where, text in texts(schema) if INTERNALS.search(text)]
    assert not found, "\n".join(found)
