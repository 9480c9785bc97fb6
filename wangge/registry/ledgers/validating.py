"""One ledger row → clean values, or the reasons it is rejected. Pure (no database): the grids
the importer may write to are given, so rows can be checked in worker processes.

Personal numbers are checked and sealed here (``lib.idnumbers``, ``core.pii``, the same functions
``registry.identity`` uses): a clean row holds token, lookup hash and mask, never the number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.utils.translation import gettext as _

from wangge.core import pii
from wangge.core.idmessages import id_error_text
from wangge.lib.idnumbers import parse_credit_code, parse_resident_id
from wangge.registry import codes, identity
from wangge.registry.ethnicities import normalize_ethnicity
from wangge.registry.ledgers.mapping import (
    COMPONENTS,
    FIELDS,
    HOUSES,
    ORGANIZATIONS,
    PEOPLE,
    YES_NO,
    Field,
)

_DATE_RE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?")
_COMPACT_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True)
class Context:
    """What checking a row needs to know besides the row."""

    kind: str
    columns: dict[int, str]  # file column index → field
    headers: dict[str, str]  # field → the header the file uses for it
    required: frozenset[str]
    today: date
    grids: dict[str, int]  # code → id of the grids rows may be placed in (social, in scope)
    unit_grids: dict[str, int]  # components: unit grid code → id (scope is checked on writing)


class Checked(NamedTuple):  # a tuple: sent back from the worker processes by the thousand
    line: int
    values: Any  # the clean values (or what ``prepare`` made of them); None when rejected
    reasons: list[str]
    key: Any = None  # the natural key, for duplicates within the file


class _BadValueError(ValueError):
    pass


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _text(spec: Field, raw: str) -> str:
    value = " ".join(raw.split())
    if spec.max_length and len(value) > spec.max_length:
        raise _BadValueError(_("At most %(count)d characters.") % {"count": spec.max_length})
    return value


def parse_date(raw: str) -> date:
    text = _norm(raw)
    match = _DATE_RE.fullmatch(text) or _COMPACT_DATE_RE.fullmatch(text)
    if match is None:
        raise _BadValueError(_("Not a date; write it as 2024-05-01."))
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise _BadValueError(_("Not a date; write it as 2024-05-01.")) from None


def _enum(spec: Field, raw: str) -> str:
    text = _norm(raw)
    value = spec.choices.get(text)
    if value is None and text in spec.choices.values():
        value = text
    if value is None:
        words = "、".join(dict.fromkeys(w for w in spec.choices if len(w) <= 4))
        raise _BadValueError(
            _("Unknown value %(value)s; use one of %(words)s.") % {"value": text, "words": words}
        )
    return value


def _number(spec: Field, raw: str) -> Any:
    text = _norm(raw).replace(",", "")
    try:
        if spec.kind == "int":
            value = int(Decimal(text))
            if value < 0 or Decimal(text) != value:
                raise ValueError
            return value
        if spec.kind == "decimal":
            number = Decimal(text)
            if number < 0 or number >= 1_000_000 or not number.is_finite():
                raise ValueError
            return number.quantize(Decimal("0.01"))
        return float(text)
    except (ValueError, InvalidOperation):
        raise _BadValueError(_("Not a number.")) from None


def _clean_field(spec: Field, raw: str, context: Context, values: dict[str, Any]) -> None:
    key, kind = spec.key, spec.kind
    if kind == "text":
        values[key] = _text(spec, raw)
    elif kind == "enum":
        values[key] = _enum(spec, raw)
    elif kind == "date":
        day = parse_date(raw)
        if day > context.today:
            raise _BadValueError(
                _("The date %(date)s is in the future.") % {"date": day.isoformat()}
            )
        values[key] = day
    elif kind in ("int", "decimal", "float"):
        values[key] = _number(spec, raw)
    elif kind == "bool":
        flag = YES_NO.get(_norm(raw).upper())
        if flag is None:
            raise _BadValueError(_("Write 是 or 否."))
        values[key] = flag
    elif kind == "grid":
        code = _norm(raw)
        if code not in context.grids:
            raise _BadValueError(_("No grid with code %(code)s in your area.") % {"code": code})
        values["grid_id"], values["region_code"] = context.grids[code], code
    elif kind == "unit_grid":
        code = _norm(raw)
        if code not in context.unit_grids:
            raise _BadValueError(_("No unit grid with code %(code)s.") % {"code": code})
        values["grid_id"], values["unit_grid_code"] = context.unit_grids[code], code
    elif kind == "id_number":
        try:
            parsed = parse_resident_id(pii.normalize_resident_id(raw), today=context.today)
        except ValueError as exc:
            raise _BadValueError(
                _("Not a valid ID number: %(reason)s.") % {"reason": id_error_text(exc)}
            ) from None
        sealed = pii.seal(parsed.number, purpose=pii.PURPOSE_RESIDENT_ID, mask=pii.mask_resident_id)
        values.update(
            id_number_encrypted=sealed.token,
            id_number_hash=sealed.hash,
            id_number_masked=sealed.masked,
            id_number_suffix=parsed.number[-4:],
            birth_date=parsed.birth_date,
            _id_sex=parsed.sex,
        )
    elif kind == "phone":
        if "*" in raw:
            return  # a masked number, as exports write it: no number, not a wrong one
        try:
            sealed_phone = identity.seal_phone(raw)
        except ValueError as exc:
            raise _BadValueError(
                _("Not a valid phone number: %(reason)s.") % {"reason": id_error_text(exc)}
            ) from None
        values[f"{key}_encrypted"] = sealed_phone.sealed.token
        values[f"{key}_hash"] = sealed_phone.sealed.hash
        values[f"{key}_masked"] = sealed_phone.sealed.masked
        if key == "phone":
            values["phone_suffix"] = sealed_phone.suffix
    elif kind == "credit_code":
        try:
            values[key] = parse_credit_code(raw).number
        except ValueError as exc:
            raise _BadValueError(
                _("Not a valid unified social credit code: %(reason)s.")
                % {"reason": id_error_text(exc)}
            ) from None
    elif kind == "component_id":
        try:
            parsed_id = codes.parse_component_id(_norm(raw))
        except ValueError as exc:
            raise _BadValueError(
                _("Not a valid component id: %(reason)s.") % {"reason": exc}
            ) from None
        values[key], values["class_code"] = parsed_id.number, parsed_id.class_code
    else:  # pragma: no cover — a field kind added to mapping without a reader here
        raise AssertionError(kind)


def check_row(line: int, cells: list[str], context: Context) -> Checked:
    """Every problem of the row at once: each field is checked, then the rules across fields on
    the fields that were clean, so a clerk fixes a rejected row in one round."""
    fields = FIELDS[context.kind]
    raw = {
        name: cells[index] if index < len(cells) else "" for index, name in context.columns.items()
    }
    values: dict[str, Any] = {}
    reasons: list[str] = []
    failed: set[str] = set()

    def fail(name: str, message: str) -> None:
        failed.add(name)
        reasons.append(f"{context.headers.get(name, name)}: {message}")

    for name, text in raw.items():
        if not text:
            if name in context.required:
                fail(name, _("This field is required."))
            continue
        try:
            _clean_field(fields[name], text, context, values)
        except _BadValueError as exc:
            fail(name, str(exc))

    def fail_across(name: str, message: str, *others: str) -> None:
        # A rule across fields says nothing about a field already wrong on its own.
        if not failed.intersection((name, *others)):
            reasons.append(f"{context.headers.get(name, name)}: {message}")

    key = _CROSS_CHECKS[context.kind](values, context, fail_across)
    if not reasons:
        return Checked(line, values, [], key)
    return Checked(line, None, reasons)


# The rules across fields of each kind: they run on the values that were clean (a field that
# failed is missing from ``values``), report through ``fail(name, message, *other fields)`` and
# return the row's natural key (None when a part of it is missing: the row is rejected anyway).


def _people(values: dict[str, Any], context: Context, fail: Any) -> Any:
    id_sex = values.pop("_id_sex", None)
    if id_sex and values.get("sex") and values["sex"] != id_sex:
        fail("sex", _("The sex differs from the one in the ID number."), "id_number")
    values["sex"] = id_sex or values.get("sex", "")
    if values.get("ethnicity"):
        try:
            values["ethnicity"] = normalize_ethnicity(values["ethnicity"])
        except ValueError:
            message = _("Not an ethnic group of GB/T 3304: %(value)s.")
            fail("ethnicity", message % {"value": values["ethnicity"]})
    if values.get("residency_type") == "floating" and not values.get("moved_in_on"):
        fail("moved_in_on", _("Give the date a floating resident moved in."), "residency_type")
    return values.get("id_number_hash")


def _houses(values: dict[str, Any], context: Context, fail: Any) -> Any:
    return (values.get("building_address"), values.get("unit", ""), values.get("room"))


def _organizations(values: dict[str, Any], context: Context, fail: Any) -> Any:
    return values.get("credit_code")


def _components(values: dict[str, Any], context: Context, fail: Any) -> Any:
    component_id, grid_code = values.get("component_id"), values.get("unit_grid_code")
    if component_id and grid_code and component_id[:6] != grid_code[:6]:
        fail(
            "component_id",
            _("Digits 1-6 must be the district code of its grid, %(code)s.")
            % {"code": grid_code[:6]},
            "grid",
        )
    changed, surveyed = values.get("changed_on"), values.get("surveyed_on")
    if changed and surveyed and changed < surveyed:
        fail("changed_on", _("A change cannot precede the initial survey."), "surveyed_on")
    if ("lng" in values) != ("lat" in values):
        fail("lng", _("Give both longitude and latitude, or neither."), "lat")
    return component_id


_CROSS_CHECKS = {
    PEOPLE: _people,
    HOUSES: _houses,
    ORGANIZATIONS: _organizations,
    COMPONENTS: _components,
}


# Worker processes --------------------------------------------------------------------------------

Prepare = Callable[[dict[str, Any]], Any] | None
_worker: tuple[Context, Prepare] | None = None


def init_worker(context: Context, language: str, prepare: Prepare = None) -> None:
    from django.utils import translation

    global _worker
    _worker = (context, prepare)
    translation.activate(language)


def check_rows(
    chunk: list[tuple[int, list[str]]], context: Context, prepare: Prepare = None
) -> list[Checked]:
    """``check_row`` of each row; ``prepare`` turns the clean values into what the writer takes."""
    results = [check_row(line, cells, context) for line, cells in chunk]
    if prepare is None:
        return results
    return [r if r.values is None else r._replace(values=prepare(r.values)) for r in results]


def check_chunk(chunk: list[tuple[int, list[str]]]) -> list[tuple[Any, ...]]:
    """``check_rows`` in a worker process, as plain tuples: named tuples cost several times more
    to pickle and unpickle (a Python call each way), and the writer wraps them again."""
    assert _worker is not None  # noqa: S101
    return [
        (line, tuple(values) if isinstance(values, tuple) else values, reasons, key)
        for line, values, reasons, key in check_rows(chunk, *_worker)
    ]
