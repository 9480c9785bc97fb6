"""The one bulk writer: model rows → SQL without the ORM's per-value work, storing what it would.

Every hand-written bulk path (case intake's one-statement insert, the ledger import, the demo's
cases and population) builds on these primitives; what a row means stays in its app.

- The column plan of a model (``db_converter``, ``insert_parts``, ``Table``, ``copy_layout``): its
  columns in order and, per column, the conversion ``save()`` would apply to a value of the right
  Python type, so a hand-written statement stores exactly what the ORM would.
- ``COPY`` text: ``encode_rows`` (whole rows, psycopg's own formatter, in C: the fast one) and
  ``copy_text`` (one value, for rows assembled from pieces encoded in other processes; the same
  bytes as psycopg's, tested in ``core/tests/test_bulk.py``).
- Writing: ``reserve_ids`` (from the table's sequence on PostgreSQL), ``copy_into`` (psycopg 3
  ``cursor.copy``), ``write_rows`` (``COPY`` on PostgreSQL, multi-row ``INSERT`` statements
  elsewhere; ``insert_statement`` builds them) and ``insert_rows`` (rows as dicts, defaults filled).
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg.copy
from django.db import connection, models
from django.db.models import Max, Model

Converter = Callable[[Any], Any]


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


# The column plan ---------------------------------------------------------------------------------


def db_converter(field: models.Field) -> Converter | None:
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


def copy_converter(field: models.Field) -> Converter | None:
    """``db_converter`` for ``COPY`` text: a JSON value becomes its text (all the text format
    carries of a ``jsonb``); the calls that return dates and datetimes as they are, as
    PostgreSQL's backend does, are skipped."""
    if isinstance(field, models.JSONField):
        return functools.partial(json.dumps, cls=field.encoder, ensure_ascii=False)
    convert = db_converter(field)
    if isinstance(field, models.DateField):  # and DateTimeField
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        value = moment if isinstance(field, models.DateTimeField) else moment.date()
        if convert is not None and convert(value) is value:
            return None
    return convert


@functools.cache
def _insert_plan(
    model: type[Model], vendor: str
) -> list[tuple[str, str, Converter | None, models.Field | None]]:
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


def _convert(rows: Iterable[list[Any]], converters: Sequence[tuple[int, Converter]]) -> None:
    """Apply converters in place (None stays None)."""
    if not converters:
        return
    for row in rows:
        for index, convert in converters:
            if row[index] is not None:
                row[index] = convert(row[index])


class Table:
    """Rows of one model as lists of values in the order of its concrete fields (the primary key
    included, reserved beforehand): converts only the values that need it (dates, times, JSON)
    with the field's own conversion, and hands the rest to the driver as they are."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.names = [f.attname for f in self.fields]
        quote = connection.ops.quote_name
        self.table = quote(model._meta.db_table)
        self.columns = [quote(f.column) for f in self.fields]
        self.copy_sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
        self.converters = [
            (index, converter)
            for index, field in enumerate(self.fields)
            if (converter := db_converter(field)) is not None
        ]
        self.copy_converters = [
            (index, converter)
            for index, field in enumerate(self.fields)
            if (converter := copy_converter(field)) is not None
        ]

    def reserve_ids(self, n: int) -> list[int]:
        return reserve_ids(self.model, n)

    def encode(
        self, rows: list[list[Any]], converters: Sequence[tuple[int, Converter]] | None = None
    ) -> bytes:
        """PostgreSQL: the rows as ``COPY`` text (``converters``: ``copy_converters`` by
        default); the rows are converted in place."""
        _convert(rows, self.copy_converters if converters is None else converters)
        return encode_rows(rows)

    def insert(self, rows: list[list[Any]]) -> None:
        """Write the rows: ``COPY`` on PostgreSQL, multi-row ``INSERT`` elsewhere."""
        if _postgresql():
            copy_into(self.copy_sql, self.encode(rows))
        else:
            _convert(rows, self.converters)
            write_rows(self.table, self.columns, rows)


# COPY text ---------------------------------------------------------------------------------------

_COPY_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}
)


def copy_text(value: Any) -> str:
    """One value in the text format of ``COPY``, as psycopg writes it."""
    if value.__class__ is str:
        # Tabs and line breaks are not printable; most values need no escaping at all.
        if value.isprintable() and "\\" not in value:
            return value
        return value.translate(_COPY_ESCAPES)
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).translate(_COPY_ESCAPES)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, UUID):
        return value.hex
    return str(value)  # int, Decimal, float, date, datetime, time


def encode_rows(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows of values as ``COPY`` text, by psycopg's own formatter (C; values as the driver
    adapts them). Needs the default connection open; sends nothing to the server."""
    buffer = io.BytesIO()
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with psycopg.copy.Copy(cursor, writer=psycopg.copy.FileWriter(buffer)) as copy:
            for row in rows:
                copy.write_row(row)
    return buffer.getvalue()


@dataclass(frozen=True)
class CopyLayout:
    """The columns of one ``COPY`` into a table: id, the given columns in order, the other
    columns at their defaults (one constant text), then the batch's timestamps (auto_now)."""

    table: str
    given: tuple[tuple[str, Any, Callable[[], Any] | None], ...]  # attname, default, maker
    constant: str  # "\t" + the defaulted columns' text, or ""
    stamps: int  # how many timestamp columns end the line
    sql: str

    def tail(self, row: dict[str, Any]) -> str:
        """A row's text after its id and before its timestamps (missing keys: defaults)."""
        parts = []
        for attname, default, make in self.given:
            value = row.get(attname, _MISSING)
            if value is _MISSING:
                value = make() if make is not None else default
            parts.append(copy_text(value))
        return "\t".join(parts) + self.constant

    def stamp_text(self, now: datetime) -> str:
        return ("\t" + copy_text(now)) * self.stamps


_MISSING = object()


def _stamped(field: models.Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


@functools.cache
def copy_layout(model: type[Model], given: tuple[str, ...]) -> CopyLayout:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    by_name = {f.attname: f for f in fields}
    columns = [by_name[name] for name in given]
    stamped = [f for f in fields if _stamped(f) and f.attname not in given]
    rest = [f for f in fields if f.attname not in given and f not in stamped]
    # A callable default other than an empty container (a token, a uuid) is drawn per row.
    per_row = [
        f for f in rest if f.has_default() and callable(f.default) and f.default not in (dict, list)
    ]
    constant = [f for f in rest if f not in per_row]
    items = [
        (f.attname, f.get_default(), f.default if f in per_row else None)
        for f in [*columns, *per_row]
    ]
    quote = connection.ops.quote_name
    names = ["id", *(f.column for f in [*columns, *per_row, *constant, *stamped])]
    return CopyLayout(
        table=model._meta.db_table,
        given=tuple(items),
        constant="".join("\t" + copy_text(f.get_default()) for f in constant),
        stamps=len(stamped),
        sql=f"COPY {quote(model._meta.db_table)} ({', '.join(map(quote, names))}) FROM STDIN",
    )


# Writing -----------------------------------------------------------------------------------------


def reserve_ids(model: type[Model], n: int) -> list[int]:
    """``n`` new primary keys of ``model``; call inside the transaction that inserts them.
    PostgreSQL: from the table's sequence (no lock on the table)."""
    if n <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if _postgresql():
            # The sequence looked up once (OFFSET 0 keeps the subquery from being inlined), not
            # per row: that look-up costs several times more than nextval itself.
            cursor.execute(
                "SELECT nextval(q.seq) FROM generate_series(1, %s), "
                "(SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq OFFSET 0) q",
                [n, table],
            )
            return [r[0] for r in cursor.fetchall()]
    # SQLite: the write transaction holds the database lock (transaction_mode IMMEDIATE).
    last = model._base_manager.aggregate(last=Max("pk"))["last"] or 0
    return list(range(last + 1, last + 1 + n))


def copy_into(sql: str, data: str | bytes | Iterable[str]) -> None:
    """PostgreSQL: one ``COPY … FROM STDIN`` of text already encoded (pieces are joined)."""
    if not isinstance(data, str | bytes):
        data = "".join(data)
    if not data:
        return
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(data)


def insert_statement(table: str, columns: Sequence[str], rows: int) -> str:
    """``INSERT INTO table (columns) VALUES (%s, …), …`` for ``rows`` rows (quoted names)."""
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # Identifiers from the model's options, quoted by the backend; values are parameters.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"  # noqa: S608


def write_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows of database-ready values into ``table`` (quoted names): ``COPY`` on PostgreSQL,
    multi-row ``INSERT`` statements as long as the backend's parameter limit allows elsewhere."""
    if not rows:
        return
    if _postgresql():
        copy_into(f"COPY {table} ({', '.join(columns)}) FROM STDIN", encode_rows(rows))
        return
    limit = connection.features.max_query_params or 999
    size = max(1, limit // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(
                insert_statement(table, columns, len(chunk)),
                [value for row in chunk for value in row],
            )


def insert_rows(model: type[Model], rows: Sequence[dict[str, Any]], now: datetime) -> list[int]:
    """Insert rows (attname → value; the rest get the field defaults, ``auto_now`` fields
    ``now``) and return their ids, in order. PostgreSQL: ids from the sequence, then one
    ``COPY``; elsewhere ``bulk_create``."""
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if not _postgresql():
        objects = []
        for row in rows:
            values = {f.attname: f.get_default() for f in fields}
            values.update({f.attname: now for f in fields if _stamped(f)})
            values.update(row)
            objects.append(model(**values))
        model._default_manager.bulk_create(objects)
        return [o.pk for o in objects]
    keys: set[str] = set().union(*rows)
    layout = copy_layout(model, tuple(f.attname for f in fields if f.attname in keys))
    stamps = layout.stamp_text(now)
    ids = reserve_ids(model, len(rows))
    copy_into(
        layout.sql,
        (f"{pk}\t{layout.tail(row)}{stamps}\n" for pk, row in zip(ids, rows, strict=True)),
    )
    return ids
