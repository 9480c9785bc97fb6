"""Photos of a case: only JPEG, PNG or WebP, size-limited; EXIF GPS is read, then every piece of
metadata is stripped by re-encoding before the file is stored (a phone photo carries the
reporter's position, device and time). The cleaning itself is ``lib.images`` (through
``core.images``, which words its refusals)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.cases.events import case_event_append
from wangge.cases.models import Case, CasePhoto
from wangge.cases.workflow import PHOTO_EVENT, photo_refusal
from wangge.core.errors import InvalidInputError, PermissionDeniedError
from wangge.core.images import clean_upload
from wangge.core.models import User
from wangge.core.roles import user_roles
from wangge.lib.images import CleanImage


@dataclass(frozen=True)
class PreparedPhoto:
    """A checked, metadata-free photo, ready to be stored with a case (in the caller's transaction)."""

    kind: str
    image: CleanImage
    sha256: str


def prepare_photo(*, kind: str, stream: IO[bytes]) -> PreparedPhoto:
    """Check and clean an upload before any transaction starts (decoding is the slow part)."""
    if kind not in CasePhoto.Kind.values:
        raise InvalidInputError(_("Unknown photo kind."), {"kind": [_("before or after")]})
    clean = clean_upload(stream)
    return PreparedPhoto(kind, clean, hashlib.sha256(clean.content).hexdigest())


def store_photos(
    case: Case, photos: Sequence[PreparedPhoto], actor: User | None
) -> list[CasePhoto]:
    """Write the files and their rows. Call inside a transaction; if it rolls back, pass what this
    returned to ``discard_files`` (files are not transactional)."""
    stored: list[CasePhoto] = []
    try:
        for prepared in photos:
            clean = prepared.image
            photo = CasePhoto(
                case=case,
                kind=prepared.kind,
                content_type=clean.content_type,
                width=clean.width,
                height=clean.height,
                sha256=prepared.sha256,
                exif_lng=clean.gps[0] if clean.gps else None,
                exif_lat=clean.gps[1] if clean.gps else None,
                uploaded_by=actor if actor is not None and actor.pk else None,
            )
            name = f"{case.number}-{prepared.sha256[:12]}.{clean.extension}"
            photo.image.save(name, ContentFile(clean.content), save=False)
            stored.append(photo)
            photo.save()
    except BaseException:
        discard_files(stored)
        raise
    return stored


def discard_files(photos: Sequence[CasePhoto]) -> None:
    for photo in photos:
        if photo.image.name:
            photo.image.storage.delete(photo.image.name)


def case_photo_add(*, case: Case, kind: str, stream: IO[bytes], actor: User) -> CasePhoto:
    """Add one photo to a case (before = as reported, after = as handled), as an action of its own:
    allowed by ``workflow.photo_refusal``, recorded as an ``add_photo`` event and an audit row.

    Photos that go with an action (the handler's after photos) are stored by ``case_act`` instead.
    """
    _check_may_add(actor, case, kind)  # before the slow decoding: a refusal costs nothing
    prepared = prepare_photo(kind=kind, stream=stream)
    stored: list[CasePhoto] = []
    try:
        with transaction.atomic():
            current = Case.objects.select_for_update().get(pk=case.pk)
            _check_may_add(actor, current, kind)
            stored = store_photos(current, [prepared], actor)
            (photo,) = stored
            case_event_append(
                current,
                PHOTO_EVENT,
                actor=actor,
                payload={"kind": kind, "photos": [photo.pk]},
                audit_details={"kind": kind, "photo": photo.pk, "sha256": photo.sha256},
                now=timezone.now(),
            )
    except BaseException:
        discard_files(stored)
        raise
    return photo


def _check_may_add(actor: User, case: Case, kind: str) -> None:
    if kind not in CasePhoto.Kind.values:
        raise InvalidInputError(_("Unknown photo kind."), {"kind": [_("before or after")]})
    why = photo_refusal(actor, case, kind, user_roles(actor))
    if why is not None:
        raise PermissionDeniedError(why.message(case, photo_kind=kind))
