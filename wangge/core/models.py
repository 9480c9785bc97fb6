from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in: an official, a grid worker, a department handler.

    ``scope_code`` is the region code of the user's data scope (数据范围): the user sees the region
    with that code and everything under it. Region codes nest (a grid code starts with its
    community's code, which starts with its street's, then the district's), so "inside my scope" is
    a prefix test. An empty scope sees nothing, except for superusers, who see everything.
    """

    scope_code = models.CharField(
        _("data scope"),
        max_length=15,
        blank=True,
        db_index=True,
        help_text=_("Region code of the area this user may see, e.g. 110102 or 110102001004."),
    )

    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                name="core_user_scope_code_digits",
                condition=models.Q(scope_code="") | models.Q(scope_code__regex=r"^[0-9]{6,15}$"),
            )
        ]


class AuditLog(models.Model):
    """Append-only record of what someone did to what. Written by services, never by views."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=64)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            # "What happened to this object?" — object history pages.
            models.Index(
                fields=["target_type", "target_id", "created_at"], name="audit_target_idx"
            ),
            # "What did this person do?" — PIPL access reviews.
            models.Index(fields=["actor", "created_at"], name="audit_actor_idx"),
            models.Index(fields=["action", "created_at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"


class Department(models.Model):
    """An organization that handles cases: a professional department (专业部门) such as 城管执法,
    市政, 园林, or a street or community office. Users belong to at most one."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    scope_code = models.CharField(
        _("area"),
        max_length=15,
        blank=True,
        help_text=_("Region code of the area the department serves; empty for the whole system."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
