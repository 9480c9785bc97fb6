"""The ledger import job: checked and queued at upload, run as a background task.

``ledger_import_start`` checks what can be checked at once (permission, size, format, the header
row and its required columns, at least one row) so a bad file is a 400, stores the file and queues
``registry.tasks.run_ledger_import`` — or, for a file of at most ``INLINE_ROWS`` rows, runs it at
once: a clerk's corrected rejects file is done when the page answers, with no wait for the task
consumer to poll its queue. ``ledger_import_run`` reads the rows in chunks, checks them
(in worker processes when asked), rejects duplicates within the file, writes each chunk in one
transaction with the job's progress, and writes the rejected rows, as they were plus a reason
column, to the rejects file. An audit row records the upload and one the outcome.
"""

from __future__ import annotations

import csv
import itertools
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wangge.core.audit import audit_log_write
from wangge.core.errors import InvalidInputError, PermissionDeniedError
from wangge.core.models import User
from wangge.core.scope import filter_to_scope
from wangge.lib.spreadsheet import safe_row
from wangge.regions.models import Grid
from wangge.registry import permissions
from wangge.registry.ledgers import mapping, reading, validating, writing
from wangge.registry.models import LedgerImport
from wangge.registry.services import SOCIAL_LAYER, UNIT_LAYER

logger = logging.getLogger(__name__)

REASON_HEADER = "错误原因"
REASON_SEPARATOR = "；"  # between the problems of one row in the reason column
CHUNK_ROWS = 2000
# Files up to this many rows are imported in the request (about a second for people); larger ones
# in the background, where the page shows their progress.
INLINE_ROWS = 500


def _check_kind(kind: str) -> None:
    if kind not in mapping.KINDS:
        message = _("Unknown kind of ledger %(kind)s.") % {"kind": kind}
        raise InvalidInputError(message, {"kind": [message]})


@dataclass(frozen=True)
class Header:
    line: int  # 1-based line of the header row
    cells: list[str]
    columns: dict[int, str]


def find_header(
    rows: Iterator[list[str]], layout: mapping.Layout
) -> tuple[Header, Iterator[list[str]]]:
    """The header row: among the first rows, the one naming the most template columns; and the
    rows under it."""
    first = list(itertools.islice(rows, reading.HEADER_SEARCH_ROWS))
    best: Header | None = None
    for line, cells in enumerate(first, start=1):
        columns, _missing = layout.match(cells)
        if best is None or len(columns) > len(best.columns):
            best = Header(line, cells, columns)
    if best is None or not any(best.cells):
        raise reading.file_error(_("The file is empty."))
    _found, missing = layout.match(best.cells)
    if missing:
        message = _("Required columns missing: %(headers)s.") % {"headers": "、".join(missing)}
        raise reading.file_error(message)
    return best, itertools.chain(first[best.line :], rows)


def _check_file(stream: IO[bytes], file_format: str, layout: mapping.Layout) -> None:
    with reading.open_rows(stream, file_format) as rows:
        _header, data = find_header(rows, layout)
        has_row = any(any(cells) for cells in data)
    stream.seek(0)
    if not has_row:
        raise reading.file_error(_("The file has no rows under its header."))


def ledger_import_start(*, kind: str, upload: UploadedFile, actor: User) -> LedgerImport:
    """Check an uploaded ledger, store it and queue its import; the job to poll."""
    from wangge.registry.tasks import run_ledger_import

    _check_kind(kind)
    if not permissions.can_import_ledger(actor, kind):
        raise PermissionDeniedError(_("You are not allowed to import this kind of ledger."))
    limit = reading.max_bytes()
    if upload.size is not None and upload.size > limit:
        raise reading.file_error(
            _("The file is too large (%(size)d MB); the limit is %(limit)d MB.")
            % {"size": upload.size // 2**20 + 1, "limit": limit // 2**20}
        )
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    file_format = reading.sniff_format(upload.name or "", head)
    _check_file(upload, file_format, mapping.layout(kind))
    estimate = (
        reading.xlsx_row_estimate(upload)
        if file_format == "xlsx"
        else reading.csv_row_estimate(upload)
    )
    name = os.path.basename(upload.name or f"ledger.{file_format}")[:200]
    job = LedgerImport(
        kind=kind,
        file_name=name,
        file_format=file_format,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        rows_total=max(0, estimate - 1) if estimate else None,
        created_by=actor,
    )
    job.source.save(f"{timezone.now():%Y%m%d%H%M%S}.{file_format}", upload, save=False)
    with transaction.atomic():
        job.save()
        audit_log_write(
            actor=actor,
            action="registry.ledger_import_start",
            target_type="registry.ledgerimport",
            target_id=job.pk,
            details={"kind": kind, "file": name, "bytes": upload.size, "format": file_format},
        )
    if job.rows_total is not None and job.rows_total <= INLINE_ROWS:
        ledger_import_run(job.pk)
    else:
        run_ledger_import(job.pk)
    job.refresh_from_db()
    return job


@dataclass(frozen=True)
class RejectedRow:
    label: str  # the row's first cell (a name, a number, an address), as the file has it
    problems: list[str]


def _label(text: str) -> str:
    """A rejected row's first cell for the page; a long run of digits (an ID or phone number
    put first) is not shown."""
    return "" if sum(c.isdigit() for c in text) >= 6 else text[:50]


def rejects_preview(job: LedgerImport, limit: int = 10) -> list[RejectedRow]:
    """The first rows of a job's rejects file with every problem of each, for the page."""
    if not job.rejects:
        return []
    preview: list[RejectedRow] = []
    try:
        with job.rejects.open("rb") as stream, reading.open_rows(stream, job.file_format) as rows:
            next(rows, None)  # the header
            for cells in itertools.islice(rows, limit):
                if cells:
                    problems = [p for p in cells[-1].split(REASON_SEPARATOR) if p]
                    preview.append(
                        RejectedRow(_label(cells[0] if len(cells) > 1 else ""), problems)
                    )
    except (OSError, InvalidInputError):
        return []  # purged or unreadable: the page still offers what it can
    return preview


# Running ---------------------------------------------------------------------------------------


class RejectsFile:
    """The rejected rows as they were, plus a reason column, in the format of the upload."""

    def __init__(self, file_format: str, headers: list[str]) -> None:
        self.format = file_format
        self.count = 0
        self.width = len(headers)
        handle, self.path = tempfile.mkstemp(suffix=f".{file_format}")
        os.close(handle)
        if file_format == "xlsx":
            from openpyxl import Workbook

            self.workbook = Workbook(write_only=True)
            self.sheet = self.workbook.create_sheet(_("Rejected rows"))
            self.sheet.append(safe_row([*headers, REASON_HEADER]))
        else:
            self.stream = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            self.writer = csv.writer(self.stream)
            self.writer.writerow(safe_row([*headers, REASON_HEADER]))

    def add(self, cells: list[str], reason: str) -> None:
        # The rows as uploaded: text a spreadsheet would run as a formula is escaped.
        row = safe_row([*cells[: self.width], *[""] * (self.width - len(cells)), reason])
        if self.format == "xlsx":
            self.sheet.append(row)
        else:
            self.writer.writerow(row)
        self.count += 1

    def close(self) -> None:
        if self.format == "xlsx":
            self.workbook.save(self.path)
        else:
            self.stream.close()


def _grids(actor: User) -> tuple[dict[str, int], dict[str, int]]:
    social = filter_to_scope(Grid.objects.filter(layer_id=SOCIAL_LAYER), actor, "code")
    unit = Grid.objects.filter(layer_id=UNIT_LAYER)
    return (
        dict(social.values_list("code", "id")),
        dict(unit.values_list("code", "id")),
    )


def _chunks(rows: Iterator[list[str]], first_line: int) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for line, cells in enumerate(rows, start=first_line):
        if not any(cells):
            continue
        chunk.append((line, cells))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _tune_batch_transaction() -> None:
    """Settings for the batch's own transaction (``SET LOCAL``); see docs/registry.md.

    ``synchronous_commit`` off: the commit does not wait for the disk; a crash loses at most the
    last batches (with their progress), which importing the file again adds.
    ``enable_seqscan`` off: a batch looks rows up by natural key, always through an index; but a
    table this import is filling may have no statistics yet (autovacuum analyzes it later, or not
    at all), and the planner then takes 2,000 keys for most of the table and scans all of it, once
    per batch — the import slows down as the table grows.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('synchronous_commit', 'off', true), "
            "set_config('enable_seqscan', 'off', true)"
        )


def _write(
    kind: str, batch: writing.Batch, counts: dict[str, int], rows: int, rejected: int
) -> writing.Outcome:
    """Write a batch and the job's progress after it (``counts`` before it, ``rows`` in the
    chunk, ``rejected`` by checking) in one transaction; ``counts`` is updated when it commits."""
    # A concurrent registration of the same number between lookup and insert fails the batch
    # (unique constraint); the second attempt finds it and counts it as already there.
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    _tune_batch_transaction()
                outcome = writing.WRITERS[kind](batch)
                after = {
                    "created": counts["created"] + outcome.created,
                    "unchanged": counts["unchanged"] + outcome.unchanged,
                    "rejected": counts["rejected"] + rejected + len(outcome.rejected),
                    "done": counts["done"] + rows,
                }
                LedgerImport.objects.filter(pk=batch.job_id).update(
                    rows_done=after["done"],
                    created_count=after["created"],
                    unchanged_count=after["unchanged"],
                    rejected_count=after["rejected"],
                )
            counts.update(after)
            return outcome
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def ledger_import_run(job_id: int, *, workers: int | None = None) -> LedgerImport:
    """Run a queued import (the background task); returns the job as it ended."""
    now = timezone.now()
    claimed = LedgerImport.objects.filter(pk=job_id, status=LedgerImport.Status.QUEUED).update(
        status=LedgerImport.Status.RUNNING, started_at=now
    )
    job = LedgerImport.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            totals = _run(job, workers or int(getattr(settings, "WANGGE_LEDGER_WORKERS", 1)))
        except Exception as exc:
            logger.exception("ledger import %s failed", job_id)
            message = (
                str(exc.message)
                if isinstance(exc, InvalidInputError)
                else _(
                    "The import stopped on an internal error (%(error)s); the rows written so far "
                    "stay, and importing the file again adds only the rest."
                )
                % {"error": type(exc).__name__}
            )
            LedgerImport.objects.filter(pk=job_id).update(
                status=LedgerImport.Status.FAILED, error=message[:500], finished_at=timezone.now()
            )
            totals = {"error": type(exc).__name__}
        finally:
            if job.source:
                job.source.delete(save=False)
                LedgerImport.objects.filter(pk=job_id).update(source="")
    job.refresh_from_db()
    audit_log_write(
        actor=job.created_by,
        action="registry.ledger_import",
        target_type="registry.ledgerimport",
        target_id=job.pk,
        details={
            "kind": job.kind,
            "file": job.file_name,
            "status": job.status,
            "rows": job.rows_done,
            "added": job.created_count,
            "unchanged": job.unchanged_count,
            "rejected": job.rejected_count,
            **totals,
        },
    )
    return job


def _run(job: LedgerImport, workers: int) -> dict[str, Any]:
    layout = mapping.layout(job.kind)
    actor = job.created_by
    grids, unit_grids = _grids(actor)
    counts = {"created": 0, "unchanged": 0, "rejected": 0, "done": 0}
    extra = {"buildings_created": 0, "houses_created": 0}
    with job.source.open("rb") as stream, reading.open_rows(stream, job.file_format) as rows:
        header, data = find_header(rows, layout)
        context = validating.Context(
            kind=job.kind,
            columns=header.columns,
            headers={name: header.cells[i] for i, name in header.columns.items()},
            required=frozenset(c.field for c in layout.columns if c.required),
            today=timezone.localdate(),
            grids=grids,
            unit_grids=unit_grids,
        )
        key_field = mapping.KEY_FIELD[job.kind]
        rejects = RejectsFile(job.file_format, header.cells)
        seen: dict[Any, int] = {}
        chunks = _chunks(data, header.line + 1)
        prepare = writing.preparer(job.kind)
        pool = None
        if workers > 1:
            pool = multiprocessing.get_context("fork").Pool(
                workers,
                initializer=validating.init_worker,
                initargs=(context, translation.get_language(), prepare),
            )
            checked_chunks = _paired(chunks, pool)
        else:
            checked_chunks = (
                (chunk, validating.check_rows(chunk, context, prepare)) for chunk in chunks
            )
        try:
            for chunk, results in checked_chunks:
                cells_of = dict(chunk)
                good: list[writing.Row] = []
                reasons: dict[int, str] = {}
                for line, values, problems, key in results:
                    if values is None:
                        reasons[line] = REASON_SEPARATOR.join(problems)
                        continue
                    first = seen.setdefault(key, line)
                    if first != line:
                        reasons[line] = (
                            context.headers.get(key_field, key_field)
                            + ": "
                            + (_("The same as row %(line)d of this file.") % {"line": first})
                        )
                        continue
                    good.append((line, values))
                batch = writing.Batch(good, actor, job.pk, context.headers, timezone.now())
                outcome = _write(job.kind, batch, counts, len(chunk), len(reasons))
                reasons.update(outcome.rejected)
                for line in sorted(reasons):
                    rejects.add(cells_of[line], reasons[line])
                extra["buildings_created"] += outcome.buildings_created
                extra["houses_created"] += outcome.houses_created
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
            rejects.close()
    if rejects.count:
        with open(rejects.path, "rb") as handle:
            stem = os.path.splitext(job.file_name)[0]
            job.rejects.save(f"{stem}-{_('rejected')}.{job.file_format}", File(handle), save=False)
        LedgerImport.objects.filter(pk=job.pk).update(rejects=job.rejects.name)
    os.unlink(rejects.path)
    LedgerImport.objects.filter(pk=job.pk).update(
        status=LedgerImport.Status.DONE, rows_total=counts["done"], finished_at=timezone.now()
    )
    return extra


def _paired(
    chunks: Iterator[list[tuple[int, list[str]]]], pool: Any
) -> Iterator[tuple[list[tuple[int, list[str]]], list[tuple[Any, ...]]]]:
    """Chunks with their results, checked by the pool a few chunks ahead of the writer."""
    from collections import deque

    pending: deque[tuple[list[tuple[int, list[str]]], Any]] = deque()
    for chunk in chunks:
        pending.append((chunk, pool.apply_async(validating.check_chunk, (chunk,))))
        if len(pending) > 2 * pool._processes:
            done, result = pending.popleft()
            yield done, result.get()
    while pending:
        done, result = pending.popleft()
        yield done, result.get()
