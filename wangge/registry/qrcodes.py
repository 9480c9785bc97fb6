"""QR codes of rented houses (篇9): the token, printable codes and label sheets, scans, scan rate.

Every house has a random ``qr_token`` from its creation (``services.house_create``); its code points
to the phone page ``/q/<token>/``. The token is the only key: rotating it (a label was torn off and
copied, say) makes the old code answer like an unknown one. Label sheets are A4 SVG drawn here from
segno's module matrix, so a test can compare each drawn code with the matrix of its URL.

A scan is a signed-in user whose scope covers the house opening its page; the scan rate of a grid
is the share of its rented houses scanned in a period (篇9: "月扫描率要达到95%").
"""

from __future__ import annotations

import io
import math
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import segno
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import audit_log_write
from wangge.core.errors import ConflictError, InvalidInputError, NotFoundError
from wangge.core.models import User
from wangge.core.scope import filter_to_scope, prefixes_q
from wangge.regions.models import Grid
from wangge.regions.selectors import grid_workers_within
from wangge.registry.models import House, HouseScan

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,43}")
QR_ERROR_LEVEL = "m"  # 15 % of the code may be dirty or torn and it still reads
QUIET_ZONE = 4  # modules of white around a code, as ISO/IEC 18004 asks
LOCATE_WINDOW = timedelta(minutes=10)  # a scan's location arrives within this time or never


def new_token() -> str:
    return secrets.token_urlsafe(16)


def qr_path(token: str) -> str:
    return f"/q/{token}/"


def qr_url(house: House, base_url: str) -> str:
    """The absolute URL the house's code holds; ``base_url`` is scheme + host, e.g. from the
    request (``request.build_absolute_uri("/")``)."""
    return base_url.rstrip("/") + qr_path(house.qr_token)


def house_label(house: House) -> str:
    """The address as the models write it (``House.__str__``): building address, unit, room."""
    unit = f"{house.unit}单元" if house.unit else ""
    return f"{house.building.address} {unit}{house.room}"


# Looking a house up by its token -----------------------------------------------------------------


def house_for_token(token: str) -> House:
    """The house a code points to, for anyone (the tenant's form): only its address is shown."""
    if not TOKEN_RE.fullmatch(token or ""):
        raise NotFoundError(_("No house with this code."))
    house = House.objects.select_related("building").filter(qr_token=token).first()
    if house is None:
        raise NotFoundError(_("No house with this code."))
    return house


# Services ----------------------------------------------------------------------------------------


@transaction.atomic
def house_qr_rotate(*, house: House, actor: User | None) -> House:
    """Give the house a new token; the old code stops working at once."""
    old = house.qr_token
    token = new_token()
    updated = House.objects.filter(pk=house.pk, qr_token=old).update(
        qr_token=token, updated_at=timezone.now()
    )
    if updated != 1:
        raise ConflictError(_("The code of this house was changed meanwhile; reload."))
    house.qr_token = token
    # Neither token goes into the audit row: the old one may still be on a door.
    audit_log_write(
        actor=actor,
        action="registry.house_qr_rotate",
        target_type="registry.house",
        target_id=house.pk,
    )
    return house


@transaction.atomic
def house_scan_log(*, house: House, user: User, now: datetime | None = None) -> HouseScan:
    """Record that ``user`` opened the house's page (the caller checked the scope)."""
    return HouseScan.objects.create(
        house=house,
        user=user,
        region_code=house.region_code,
        scanned_at=now or timezone.now(),
    )


@transaction.atomic
def house_scan_locate(
    *, scan_id: Any, user: User, lng: float, lat: float, accuracy_m: float | None
) -> HouseScan:
    """Attach the location the phone reported to the user's own recent scan, once."""
    errors: dict[str, list[str]] = {}
    if not (isinstance(lng, float | int) and -180 <= lng <= 180 and math.isfinite(lng)):
        errors["lng"] = [_("A longitude lies between -180 and 180.")]
    if not (isinstance(lat, float | int) and -90 <= lat <= 90 and math.isfinite(lat)):
        errors["lat"] = [_("A latitude lies between -90 and 90.")]
    if accuracy_m is not None and not (math.isfinite(accuracy_m) and accuracy_m >= 0):
        errors["accuracy"] = [_("The accuracy is a distance in metres.")]
    if errors:
        field_name, messages = next(iter(errors.items()))
        raise InvalidInputError(f"{field_name}: {messages[0]}", errors)
    since = timezone.now() - LOCATE_WINDOW
    try:
        scan_pk = int(scan_id)
    except (TypeError, ValueError):
        raise NotFoundError(_("No scan with id %(id)s.") % {"id": scan_id}) from None
    updated = HouseScan.objects.filter(
        pk=scan_pk, user=user, scanned_at__gte=since, lng__isnull=True
    ).update(lng=float(lng), lat=float(lat), accuracy_m=accuracy_m)
    if updated != 1:
        raise NotFoundError(_("No scan with id %(id)s.") % {"id": scan_id})
    return HouseScan.objects.get(pk=scan_pk)


def house_scans(*, house: House, limit: int = 50) -> list[HouseScan]:
    return list(house.scans.select_related("user").order_by("-scanned_at", "-id")[:limit])


# Codes and label sheets --------------------------------------------------------------------------


def make_code(url: str) -> segno.QRCode:
    return segno.make(url, error=QR_ERROR_LEVEL, micro=False)


def code_file(house: House, base_url: str, kind: str) -> tuple[bytes, str]:
    """One house's code as ``svg``, ``pdf`` or ``png`` (segno writes all three)."""
    content_types = {"svg": "image/svg+xml", "pdf": "application/pdf", "png": "image/png"}
    if kind not in content_types:
        raise InvalidInputError(
            _("kind: choose svg, pdf or png."), {"kind": [_("Choose svg, pdf or png.")]}
        )
    out = io.BytesIO()
    options: dict[str, Any] = {"kind": kind, "border": QUIET_ZONE}
    if kind == "svg":
        options.update(scale=4, unit="mm", title=house_label(house))
    elif kind == "pdf":
        options.update(scale=4)
    else:
        options.update(scale=8)
    make_code(qr_url(house, base_url)).save(out, **options)
    return out.getvalue(), content_types[kind]


A4_MM = (210.0, 297.0)


@dataclass(frozen=True)
class SheetLayout:
    """A4 labels in ``columns`` × ``rows``, inside a margin (millimetres)."""

    columns: int = 3
    rows: int = 7
    margin_mm: float = 8.0

    def __post_init__(self) -> None:
        if not (1 <= self.columns <= 4 and 1 <= self.rows <= 10):
            raise ValueError("a sheet has 1-4 columns and 1-10 rows")

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    @property
    def cell(self) -> tuple[float, float]:
        width, height = A4_MM
        return (
            (width - 2 * self.margin_mm) / self.columns,
            (height - 2 * self.margin_mm) / self.rows,
        )


def _modules_path(matrix: Sequence[Sequence[int]]) -> str:
    """SVG path of the dark modules, one rectangle per horizontal run (1 unit = 1 module)."""
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts)


def _text_width(text: str, font: float) -> float:
    """Rough width in mm: a CJK character is one em, Latin letters and digits about half one."""
    return sum(font if ord(char) >= 0x2E80 else font * 0.55 for char in text)


def _wrap(text: str, width: float, font: float) -> list[str]:
    """Cut an address into lines no wider than ``width`` mm (CJK text has no spaces to cut at)."""
    lines, line = [], ""
    for char in text:
        if line and _text_width(line + char, font) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines or [""]


def _fitted(text: str, x: float, y: float, font: float, width: float, **attrs: str) -> str:
    """A line of text; squeezed into ``width`` when it would run over."""
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in attrs.items())
    if _text_width(text, font) > width:
        extra += f' textLength="{width:.2f}" lengthAdjust="spacingAndGlyphs"'
    return f'<text x="{x:.2f}" y="{y:.2f}" font-size="{font:.2f}"{extra}>{escape(text)}</text>'


def _label_svg(house: House, url: str, x: float, y: float, layout: SheetLayout) -> str:
    width, height = layout.cell
    pad = 2.0
    code = make_code(url)
    modules = len(code.matrix) + 2 * QUIET_ZONE
    size = min(height - 2 * pad, width * 0.55)
    scale = size / modules
    text_x = x + pad + size + 1.0
    text_width = width - size - 2 * pad - 1.0
    font = 3.0 if text_width >= 25 else 2.4
    title = _("Rented house · scan to register")
    texts = [_fitted(title, text_x, y + pad + font, font * 0.8, text_width, fill="#555")]
    for i, line in enumerate(_wrap(house_label(house), text_width, font)[:6]):
        texts.append(_fitted(line, text_x, y + pad + font * (2.4 + i * 1.25), font, text_width))
    quiet = QUIET_ZONE * scale
    return (
        f'<g class="qr-label" data-house="{house.pk}" data-url={quoteattr(url)}>'
        f'<rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.2f}" fill="none" '
        f'stroke="#ccc" stroke-width="0.2" stroke-dasharray="1 1"/>'
        f'<g class="qr" transform="translate({x + pad + quiet:.3f} {y + pad + quiet:.3f}) '
        f'scale({scale:.4f})"><path fill="#000" d="{_modules_path(code.matrix)}"/></g>'
        + "".join(texts)
        + "</g>"
    )


def label_sheet_svg(houses: Sequence[House], *, base_url: str, layout: SheetLayout) -> str:
    """One A4 sheet (SVG, millimetres) with a label per house: the code and the address."""
    if len(houses) > layout.per_sheet:
        raise ValueError("more houses than labels on a sheet")
    width, height = layout.cell
    labels = []
    for index, house in enumerate(houses):
        row, column = divmod(index, layout.columns)
        x = layout.margin_mm + column * width
        y = layout.margin_mm + row * height
        labels.append(_label_svg(house, qr_url(house, base_url), x, y, layout))
    page_w, page_h = A4_MM
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{page_w:g}mm" height="{page_h:g}mm" '
        f'viewBox="0 0 {page_w:g} {page_h:g}" '
        "font-family=\"'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',"
        "'SimSun',sans-serif\">"
        f'<rect width="{page_w:g}" height="{page_h:g}" fill="#fff"/>' + "".join(labels) + "</svg>"
    )


def label_sheets(houses: Sequence[House], *, base_url: str, layout: SheetLayout) -> Iterator[str]:
    for start in range(0, len(houses), layout.per_sheet):
        yield label_sheet_svg(
            houses[start : start + layout.per_sheet], base_url=base_url, layout=layout
        )


def label_houses(
    *,
    user: User,
    building: int | None = None,
    region: str | None = None,
    ids: Sequence[int] | None = None,
    rented_only: bool = True,
) -> QuerySet[House]:
    """Houses to print labels for, in the user's scope: a building, a grid (region prefix) or a
    selection of ids. Ids outside the scope are silently not there, like missing ones."""
    houses = filter_to_scope(House.objects.select_related("building"), user, "region_code")
    if rented_only:
        houses = houses.filter(rented=True)
    if building is not None:
        houses = houses.filter(building_id=building)
    if region:
        houses = houses.filter(region_code__startswith=region)
    if ids is not None:
        houses = houses.filter(pk__in=list(ids))
    return houses.order_by("region_code", "building__address", "unit", "room", "id")


# Scan rate ---------------------------------------------------------------------------------------


@dataclass
class ScanRow:
    code: str
    name: str
    username: str = ""
    rented_houses: int = 0
    scanned_houses: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.scanned_houses / self.rented_houses, 4) if self.rented_houses else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "username": self.username,
            "rented_houses": self.rented_houses,
            "scanned_houses": self.scanned_houses,
            "scan_rate": self.rate,
        }


@dataclass
class ScanRateReport:
    since: date
    until: date
    by: str
    rows: list[ScanRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "by": self.by,
            "rows": [row.as_dict() for row in self.rows],
        }


def _bounds(since: date, until: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(since, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    return start, end


def _by_grid(houses: QuerySet[House]) -> dict[str, int]:
    return dict(houses.order_by().values_list("region_code").annotate(n=Count("pk")))


def scan_rate_report(
    *,
    user: User,
    by: str = "grid",
    since: date | None = None,
    until: date | None = None,
    region: str | None = None,
) -> ScanRateReport:
    """Share of rented houses scanned in the period (default: the month so far), per social grid
    (scanned by anyone) or per grid worker (the rented houses of his scope scanned by him).

    Houses count where they are now; a house rented out during the period counts in full.
    """
    today = timezone.localdate()
    until = until or today
    since = since or until.replace(day=1)
    if since > until:
        raise InvalidInputError(
            _("since: the period starts after it ends."),
            {"since": [_("The period starts after it ends.")]},
        )
    start, end = _bounds(since, until)
    rented = filter_to_scope(House.objects.filter(rented=True), user, "region_code")
    if region:
        rented = rented.filter(region_code__startswith=region)
    report = ScanRateReport(since=since, until=until, by=by)

    if by == "grid":
        scanned_here = HouseScan.objects.filter(
            house=OuterRef("pk"), scanned_at__gte=start, scanned_at__lt=end
        )
        totals = _by_grid(rented)
        scanned = _by_grid(rented.filter(Exists(scanned_here)))
        grids = filter_to_scope(Grid.objects.filter(layer_id="social"), user)
        if region:
            grids = grids.filter(code__startswith=region)
        names = dict(grids.values_list("code", "name"))
        for code in sorted(set(names) | set(totals)):
            report.rows.append(
                ScanRow(
                    code=code,
                    name=names.get(code, ""),
                    rented_houses=totals.get(code, 0),
                    scanned_houses=scanned.get(code, 0),
                )
            )
        return report
    if by != "worker":
        raise ValueError(f"unknown grouping {by!r}")
    for area in grid_workers_within(user=user, region=region):
        worker = area.worker
        his = rented.filter(prefixes_q(frozenset(area.prefixes), "region_code"))
        by_him = HouseScan.objects.filter(
            house=OuterRef("pk"), user=worker, scanned_at__gte=start, scanned_at__lt=end
        )
        report.rows.append(
            ScanRow(
                code=area.code,
                name=worker.get_full_name() or worker.username,
                username=worker.username,
                rented_houses=his.count(),
                scanned_houses=his.filter(Exists(by_him)).count(),
            )
        )
    return report
