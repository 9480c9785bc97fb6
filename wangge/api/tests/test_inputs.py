"""Serializers sharing their declared fields' configuration still validate each instance alone."""

from __future__ import annotations

import threading

from rest_framework import serializers

from wangge.api.inputs import SharedConfigSerializer


class Report(SharedConfigSerializer):
    kind = serializers.ChoiceField(choices=["a", "b"])
    text = serializers.CharField(max_length=5)
    count = serializers.IntegerField(min_value=0, default=1)


def test_each_instance_binds_its_own_fields():
    first, second = Report(data={}), Report(data={})
    assert first.fields["kind"] is not second.fields["kind"]
    assert first.fields["kind"].parent is first
    assert second.fields["kind"].parent is second
    assert getattr(Report._declared_fields["kind"], "parent", None) is None


def test_errors_and_values_do_not_leak_between_instances():
    bad = Report(data={"kind": "c", "text": "toolong"})
    good = Report(data={"kind": "a", "text": "ok"})
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"kind", "text"}
    assert good.validated_data == {"kind": "a", "text": "ok", "count": 1}
    again = Report(data={"kind": "b", "text": "fine", "count": 3})
    assert again.is_valid() and again.validated_data["count"] == 3


def test_threads_validating_at_once_each_get_their_own_answer():
    wrong: list[int] = []

    def validate(i: int) -> None:
        for _ in range(200):
            data = {"kind": "a", "text": "ok"} if i % 2 else {"kind": "x", "text": "far too long"}
            if Report(data=data).is_valid() != bool(i % 2):
                wrong.append(i)

    threads = [threading.Thread(target=validate, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
