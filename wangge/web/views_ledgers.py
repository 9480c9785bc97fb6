"""The ledger page (/registry/ledgers/): templates, upload with a progress bar, rejects, export.

Thin views over ``registry.ledgers``: the import starts through ``importing.ledger_import_start``
(which checks the permission and the file; a small file is imported before the page answers, a
larger one runs as a background task). The page polls one fragment — the job's progress box and
the table of recent imports together, so they always show the same states and counts — every
second while an import shown is unfinished. A role sees the upload and export forms only for the
kinds it may import or export (the same checks the services make). Downloads go through the same
functions as the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from wangge.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from wangge.core.models import User
from wangge.registry import permissions
from wangge.registry.ledgers import exporting, importing, mapping
from wangge.registry.models import LedgerImport, LedgerTemplate
from wangge.registry.permissions import access_import_for_user

RECENT_JOBS = 10
# A queued job waiting longer than this is explained as possibly stuck (no task consumer).
QUEUE_WAIT_WARNING_SECONDS = 30


def _download(name: str, content: bytes) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=exporting.XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


def _kinds() -> list[tuple[str, str]]:
    return list(LedgerTemplate.Kind.choices)


def _status(user: User, current: LedgerImport | None) -> dict[str, Any]:
    """The progress box and the recent imports, from one read so both say the same."""
    jobs = list(LedgerImport.objects.filter(created_by=user).order_by("-created_at")[:RECENT_JOBS])
    if current is not None:
        jobs = [current if job.pk == current.pk else job for job in jobs]
    now = timezone.now()
    for job in [*jobs, *([current] if current is not None else [])]:
        job.queued_seconds = int((now - job.created_at).total_seconds())  # type: ignore[union-attr]
    return {
        "current": current,
        "rejected_rows": importing.rejects_preview(current) if current and current.finished else [],
        "jobs": jobs,
        "polling": any(not job.finished for job in jobs)
        or (current is not None and not current.finished),
        "inline_rows": importing.INLINE_ROWS,
        "queue_warning": QUEUE_WAIT_WARNING_SECONDS,
    }


def _page(
    request: HttpRequest, kind: str, errors: list[str], current: LedgerImport | None, status: int
) -> HttpResponse:
    user = request.user
    kinds = _kinds()
    import_kinds = [(c, label) for c, label in kinds if permissions.can_import_ledger(user, c)]
    if import_kinds and kind not in dict(import_kinds):
        kind = import_kinds[0][0]
    return render(
        request,
        "registry/ledgers.html",
        {
            "kinds": kinds,
            "kind": kind,
            "import_kinds": import_kinds,
            "export_kinds": [(c, lb) for c, lb in kinds if permissions.can_export_ledger(user, c)],
            "errors": errors,
            "can_unmask": permissions.can_unmask_person(user),
            **_status(user, current),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def ledgers(request: HttpRequest) -> HttpResponse:
    """Upload form, the user's recent imports, template and export links."""
    errors: list[str] = []
    kind = request.POST.get("kind") or request.GET.get("kind") or mapping.PEOPLE
    if kind not in mapping.KINDS:
        kind = mapping.PEOPLE
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors.append(_("Choose a file to upload."))
        else:
            try:
                job = importing.ledger_import_start(kind=kind, upload=upload, actor=request.user)
            except (InvalidInputError, PermissionDeniedError) as exc:
                errors.append(exc.message)
            else:
                return redirect(f"{reverse('web:ledgers')}?job={job.pk}")
    current = None
    if request.GET.get("job"):
        try:
            current = access_import_for_user(user=request.user, job_id=request.GET["job"])
        except NotFoundError:
            current = None
    return _page(request, kind, errors, current, 400 if errors else 200)


@login_required
def ledger_job(request: HttpRequest, pk: int) -> HttpResponse:
    """One job's progress with the recent imports (the HTMX fragment the page polls)."""
    try:
        job = access_import_for_user(user=request.user, job_id=pk)
    except NotFoundError:
        raise Http404 from None
    return render(request, "registry/ledgers_status.html", _status(request.user, job))


@login_required
def ledger_status(request: HttpRequest) -> HttpResponse:
    """The recent imports alone (polled while one of them runs and no job is open)."""
    return render(request, "registry/ledgers_status.html", _status(request.user, None))


@login_required
def ledger_rejects(request: HttpRequest, pk: int) -> FileResponse:
    try:
        job = access_import_for_user(user=request.user, job_id=pk)
    except NotFoundError:
        raise Http404 from None
    if not job.rejects:
        raise Http404
    response = FileResponse(
        job.rejects.open("rb"), as_attachment=True, filename=job.rejects.name.rsplit("/", 1)[-1]
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def ledger_template(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in mapping.KINDS:
        raise Http404
    workbook = exporting.ledger_template(kind=kind)
    return _download(workbook.name, workbook.content)


@login_required
@require_POST
def ledger_export(request: HttpRequest, kind: str) -> HttpResponse:
    """Export the list in the user's scope, narrowed to a region code prefix when given."""
    if kind not in mapping.KINDS:
        raise Http404
    region = request.POST.get("region", "").strip()
    filters = {"region": region} if region.isdigit() else {}
    try:
        workbook = exporting.ledger_export(
            kind=kind, user=request.user, filters=filters, reason=request.POST.get("reason", "")
        )
    except (InvalidInputError, PermissionDeniedError) as exc:
        status = 403 if isinstance(exc, PermissionDeniedError) else 400
        return _page(request, kind, [exc.message], None, status)
    return _download(workbook.name, workbook.content)
