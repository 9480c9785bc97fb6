"""Pieces of hand-written SQL taken from the models, so a statement Django cannot build (one that
chains several INSERTs) still stores exactly what ``Model.save`` would."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import connection
from django.db.models import Model


def insert_parts(instance: Model, *, exclude: Collection[str] = ()) -> tuple[list[str], list[Any]]:
    """The quoted columns of a new instance's row and their values, adapted for the database as
    ``save(force_insert=True)`` adapts them (defaults, ``auto_now_add``, JSON); the primary key and
    the attnames in ``exclude`` are left to the statement."""
    quote = connection.ops.quote_name
    columns: list[str] = []
    values: list[Any] = []
    for field in instance._meta.local_concrete_fields:
        if field.primary_key or field.attname in exclude:
            continue
        columns.append(quote(field.column))
        values.append(field.get_db_prep_save(field.pre_save(instance, add=True), connection))
    return columns, values
