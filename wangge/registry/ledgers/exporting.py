"""Templates and exports: a ledger's columns → xlsx.

A template is the header row (required columns in bold red) and a notes sheet. An export is any
filtered list (the selectors, so always inside the user's data scope) in the same columns, so an
export can be edited and imported again. Exports of people need ``registry.export_personal_data``;
their numbers are masked unless the user may also unmask (``registry.unmask_person``) and gives a
reason. Every export is watermarked with the user and the time (page header and footer, document
properties, the notes sheet) and writes a ``registry.ledger_export`` audit row.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core import pii
from wangge.core.audit import audit_log_write
from wangge.core.errors import InvalidInputError, PermissionDeniedError
from wangge.core.models import User
from wangge.lib.spreadsheet import safe_cell, safe_row
from wangge.registry import permissions, selectors
from wangge.registry.ledgers import mapping
from wangge.registry.models import Component, House, Organization, Person

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FIELD_CHOICES = {
    key: spec.choices for fields in mapping.FIELDS.values() for key, spec in fields.items()
}


@dataclass(frozen=True)
class Workbook:
    name: str
    content: bytes
    rows: int = 0


def _cell(key: str, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    choices = _FIELD_CHOICES.get(key)
    if choices and isinstance(value, str):
        return mapping.label_of(choices, value)
    return value


def _styled_header(sheet: Any, layout: mapping.Layout) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cells = []
    for column in layout.columns:
        cell = WriteOnlyCell(sheet, value=safe_cell(column.header))
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cells.append(cell)
    sheet.append(cells)


def _notes(workbook: Any, layout: mapping.Layout, lines: list[str]) -> None:
    sheet = workbook.create_sheet(_("Notes"))
    sheet.append(safe_row([layout.name]))
    for line in [layout.notes, *lines]:
        if line:
            sheet.append(safe_row([line]))
    sheet.append([])
    sheet.append(safe_row([_("Column"), _("Required"), _("Accepted values"), _("Note")]))
    fields = mapping.FIELDS[layout.kind]
    for column in layout.columns:
        words = "、".join(dict.fromkeys(fields[column.field].choices))
        sheet.append(safe_row([column.header, "是" if column.required else "", words, column.note]))


def _save(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ledger_template(*, kind: str) -> Workbook:
    from openpyxl import Workbook as XlsxWorkbook

    layout = mapping.layout(kind)
    workbook = XlsxWorkbook(write_only=True)
    sheet = workbook.create_sheet(layout.name)
    _styled_header(sheet, layout)
    _notes(workbook, layout, [_("Fill one row per record under the header; keep the headers.")])
    return Workbook(f"{layout.name}.xlsx", _save(workbook))


# Rows of each kind ---------------------------------------------------------------------------


def _home_residency(person: Person) -> Any:
    """The residency an export shows: the current one in his home grid moved into last."""
    open_ = [r for r in person.open_residencies if r.deregistered_at is None]
    open_.sort(key=lambda r: (r.region_code == person.region_code, r.moved_out_on is None,
                              r.moved_in_on or date.min, r.pk), reverse=True)  # fmt: skip
    return open_[0] if open_ else None


def _people_rows(people: Iterable[Person], reveal: bool) -> Iterator[dict[str, Any]]:
    for person in people:
        residency = _home_residency(person)
        house = residency.house if residency else None
        id_number, phone = person.id_number_masked, person.phone_masked
        if reveal:
            # One audit row covers the whole export (``ledger_export``), not one per person.
            if person.id_number_encrypted:
                id_number = pii.decrypt(person.id_number_encrypted, purpose=pii.PURPOSE_RESIDENT_ID)
            if person.phone_encrypted:
                phone = pii.decrypt(person.phone_encrypted, purpose=pii.PURPOSE_PHONE)
        yield {
            "name": person.name,
            "sex": person.sex,
            "id_number": id_number,
            "phone": phone,
            "ethnicity": person.ethnicity,
            "hukou_address": person.hukou_address,
            "residency_type": person.residency_type,
            "grid": house.region_code if house else "",
            "building_address": house.building.address if house else "",
            "building_name": house.building.name if house else "",
            "unit": house.unit if house else "",
            "room": house.room if house else "",
            "relation": residency.relation if residency else "",
            "moved_in_on": residency.moved_in_on if residency else None,
            "occupation": person.occupation,
            "workplace": person.workplace,
        }


def _house_rows(houses: Iterable[House]) -> Iterator[dict[str, Any]]:
    for house in houses:
        yield {
            "grid": house.region_code,
            "building_address": house.building.address,
            "building_name": house.building.name,
            **{k: getattr(house, k) for k in ("unit", "room", *HOUSE_DETAILS)},
        }


HOUSE_DETAILS = (
    "floor", "area_m2", "use", "ownership", "rented",
    "has_lease_contract", "has_responsibility_letter", "has_rental_filing",
)  # fmt: skip


def _organization_rows(organizations: Iterable[Organization]) -> Iterator[dict[str, Any]]:
    for org in organizations:
        row = {f: getattr(org, f) for f in mapping.FIELDS[mapping.ORGANIZATIONS] if hasattr(org, f)}
        row["grid"] = org.region_code if org.grid.layer_id == "social" else org.grid.code
        row["contact_phone"] = org.contact_phone_masked
        yield row


def _component_rows(components: Iterable[Component]) -> Iterator[dict[str, Any]]:
    for component in components:
        fields = mapping.FIELDS[mapping.COMPONENTS]
        row = {f: getattr(component, f) for f in fields if hasattr(component, f)}
        row["grid"] = component.grid.code
        yield row


def _people(user: User, filters: dict[str, Any]) -> Iterable[Person]:
    from django.db.models import Prefetch

    from wangge.registry.models import Residency

    return (
        selectors.person_list(user=user, **filters)
        .prefetch_related(
            Prefetch(
                "residencies",
                queryset=Residency.objects.filter(deregistered_at__isnull=True).select_related(
                    "house__building"
                ),
                to_attr="open_residencies",
            )
        )
        .iterator(chunk_size=2000)
    )


ROWS: dict[str, Callable[[User, dict[str, Any], bool], Iterator[dict[str, Any]]]] = {
    mapping.PEOPLE: lambda user, filters, reveal: _people_rows(_people(user, filters), reveal),
    mapping.HOUSES: lambda user, filters, _reveal: _house_rows(
        selectors.house_list(user=user, **filters).iterator(chunk_size=2000)
    ),
    mapping.ORGANIZATIONS: lambda user, filters, _reveal: _organization_rows(
        selectors.organization_list(user=user, **filters)
        .select_related("grid")
        .iterator(chunk_size=2000)
    ),
    mapping.COMPONENTS: lambda user, filters, _reveal: _component_rows(
        selectors.component_list(user=user, **filters).iterator(chunk_size=2000)
    ),
}


def ledger_export(*, kind: str, user: User, filters: dict[str, Any], reason: str = "") -> Workbook:
    """A filtered list in the ledger's columns. People need the export permission; a ``reason``
    asks for full numbers, which needs the unmask permission too."""
    from openpyxl import Workbook as XlsxWorkbook

    if not permissions.can_view_ledger(user, kind):
        raise PermissionDeniedError(_("You are not allowed to see this list."))
    personal = kind == mapping.PEOPLE
    if personal and not permissions.can_export_personal_data(user):
        raise PermissionDeniedError(_("You are not allowed to export personal data."))
    reason = (reason or "").strip()
    reveal = personal and bool(reason)
    if reveal:
        if not permissions.can_unmask_person(user):
            raise PermissionDeniedError(_("You are not allowed to see full personal data."))
        if len(reason) < pii.MIN_REASON_LENGTH:
            message = _("Give a reason of at least %(count)d characters.") % {
                "count": pii.MIN_REASON_LENGTH
            }
            raise InvalidInputError(message, {"reason": [message]})
    layout = mapping.layout(kind)
    now = timezone.localtime()
    mark = f"导出人: {user.get_username()} {now:%Y-%m-%d %H:%M}"
    workbook = XlsxWorkbook(write_only=True)
    workbook.properties.creator = user.get_username()
    workbook.properties.title = layout.name
    workbook.properties.description = mark
    workbook.properties.keywords = mark
    sheet = workbook.create_sheet(layout.name)
    sheet.oddHeader.center.text = mark
    sheet.oddFooter.center.text = mark + " &P/&N"
    _styled_header(sheet, layout)
    count = 0
    for row in ROWS[kind](user, dict(filters), reveal):
        sheet.append([safe_cell(_cell(c.field, row.get(c.field))) for c in layout.columns])
        count += 1
    shown = {k: v for k, v in filters.items() if v not in (None, "")}
    _notes(
        workbook,
        layout,
        [
            mark,
            _("Rows: %(count)d. Filters: %(filters)s.") % {"count": count, "filters": shown or "—"},
            _("Full numbers (reason: %(reason)s).") % {"reason": reason}
            if reveal
            else _("Numbers are masked."),
        ],
    )
    content = _save(workbook)
    audit_log_write(
        actor=user,
        action="registry.ledger_export",
        target_type=f"registry.{kind}",
        details={
            "kind": kind,
            "rows": count,
            "filters": {k: str(v) for k, v in shown.items()},
            "unmasked": reveal,
            "reason": reason if reveal else "",
        },
    )
    return Workbook(f"{layout.name}-{now:%Y%m%d%H%M}.xlsx", content, count)
