"""The ledger page (/registry/ledgers/): templates, upload with a progress bar, rejects, export.

Thin views over ``registry.ledgers``: the import starts through ``importing.ledger_import_start``
(which checks the permission and the file) and runs as a background task; the page polls the job
with HTMX every second until it ends. Downloads go through the same functions as the API.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from wangge.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from wangge.registry.ledgers import exporting, importing, mapping
from wangge.registry.ledgers.importing import access_import_for_user
from wangge.registry.models import LedgerImport, LedgerTemplate

RECENT_JOBS = 10


def _download(name: str, content: bytes) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=exporting.XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


def _kinds() -> list[tuple[str, str]]:
    return list(LedgerTemplate.Kind.choices)


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
    jobs = LedgerImport.objects.filter(created_by=request.user).order_by("-created_at")
    current = None
    if request.GET.get("job"):
        try:
            current = access_import_for_user(user=request.user, job_id=request.GET["job"])
        except NotFoundError:
            current = None
    return render(
        request,
        "registry/ledgers.html",
        {
            "kinds": _kinds(),
            "kind": kind,
            "errors": errors,
            "jobs": jobs[:RECENT_JOBS],
            "current": current,
            "can_export_people": request.user.has_perm(exporting.EXPORT_PERSONAL_DATA),
            "can_unmask": request.user.has_perm(exporting.UNMASK),
        },
        status=400 if errors else 200,
    )


@login_required
def ledger_job(request: HttpRequest, pk: int) -> HttpResponse:
    """One job's progress (the HTMX fragment the page polls)."""
    try:
        job = access_import_for_user(user=request.user, job_id=pk)
    except NotFoundError:
        raise Http404 from None
    return render(request, "registry/ledgers_job.html", {"job": job})


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
        return render(
            request,
            "registry/ledgers.html",
            {
                "kinds": _kinds(),
                "kind": kind,
                "errors": [exc.message],
                "jobs": LedgerImport.objects.filter(created_by=request.user)[:RECENT_JOBS],
                "can_export_people": request.user.has_perm(exporting.EXPORT_PERSONAL_DATA),
                "can_unmask": request.user.has_perm(exporting.UNMASK),
            },
            status=403 if isinstance(exc, PermissionDeniedError) else 400,
        )
    return _download(workbook.name, workbook.content)
