"""Pieces of hand-written SQL taken from the models, so a statement Django cannot build (one that
chains several INSERTs, a bulk COPY) still stores exactly what the ORM would."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import cache
from typing import Any

from django.db import connection, models
from django.db.models import Model


def db_converter(field: models.Field) -> Callable[[Any], Any] | None:
    """What ``field.get_db_prep_save`` does to a value of the right Python type, or None when it
    leaves it as it is (the ``get_prep_value`` steps in between only coerce other types)."""
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda value: ops.adapt_json_value(value, encoder)
    if isinstance(field, models.DecimalField | models.TimeField | models.BinaryField):
        return lambda value: field.get_db_prep_save(value, connection)
    return None


@cache
def _insert_plan(
    model: type[Model], vendor: str
) -> list[tuple[str, str, Callable[[Any], Any] | None, models.Field | None]]:
    """Per field: attname, quoted column, converter, and the field when its ``pre_save`` sets
    the value (``auto_now``/``auto_now_add``, files)."""
    quote = connection.ops.quote_name
    plan = []
    for field in model._meta.local_concrete_fields:
        if field.primary_key:
            continue
        sets_value = isinstance(field, models.FileField) or getattr(field, "auto_now", False)
        sets_value = sets_value or getattr(field, "auto_now_add", False)
        plan.append(
            (field.attname, quote(field.column), db_converter(field), field if sets_value else None)
        )
    return plan


def insert_parts(instance: Model, *, exclude: Collection[str] = ()) -> tuple[list[str], list[Any]]:
    """The quoted columns of a new instance's row and their values, adapted for the database as
    ``save(force_insert=True)`` adapts them (defaults, ``auto_now_add``, JSON); the primary key and
    the attnames in ``exclude`` are left to the statement."""
    columns: list[str] = []
    values: list[Any] = []
    for attname, column, convert, pre_save in _insert_plan(type(instance), connection.vendor):
        if attname in exclude:
            continue
        value = (
            pre_save.pre_save(instance, add=True)
            if pre_save is not None
            else getattr(instance, attname)
        )
        columns.append(column)
        values.append(convert(value) if convert is not None and value is not None else value)
    return columns, values
