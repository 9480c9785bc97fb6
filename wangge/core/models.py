from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in: an official, a grid worker, a department handler.

    The user's data scope (数据范围) is the set of his ``ScopeGrant`` rows (``scope_grants``): region
    codes he sees with everything under them. Read it through ``wangge.core.scope``.
    """

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

    def get_full_name(self) -> str:
        """The name as it is written: family name first and no space for a Chinese name (张丽华)."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if any("\u4e00" <= char <= "\u9fff" for char in first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()


class ScopeGrant(models.Model):
    """One region code of a user's data scope (数据范围): the user sees that region and everything
    under it. Region codes nest (a grid code starts with its community's code, which starts with
    its street's, then the district's), so "inside my scope" is a prefix test, and a scope of
    several grants (一员多格: a specialist's grids; a department's districts) is an OR of them.
    A user without grants sees nothing, except superusers, who see everything."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="scope_grants",
    )
    prefix = models.CharField(
        _("region code"),
        max_length=15,
        validators=[RegexValidator(r"^[0-9]{6,15}$", _("A region code has 6 to 15 digits."))],
        help_text=_("Region code of the area this user may see, e.g. 110102 or 110102001004."),
    )

    class Meta:
        verbose_name = _("data scope grant")
        verbose_name_plural = _("data scope")
        ordering = ["prefix"]
        constraints = [
            models.UniqueConstraint(fields=["user", "prefix"], name="core_scopegrant_user_prefix"),
            models.CheckConstraint(
                name="core_scopegrant_prefix_digits",
                condition=models.Q(prefix__regex=r"^[0-9]{6,15}$"),
            ),
        ]
        # "Who works in this grid / under this community?" (grid_workers, dispatch candidates).
        indexes = [models.Index(fields=["prefix"], name="core_scopegrant_prefix_idx")]

    def __str__(self) -> str:
        return self.prefix


GENESIS_HASH = "0" * 64


class AuditLog(models.Model):
    """Append-only record of what someone did to what. Written by services, never by views.

    Rows form a hash chain (``row_hash`` = SHA-256 of ``prev_hash`` and the row's content, see
    wangge/core/audit.py); the database refuses UPDATE and DELETE (triggers, migration 0007).
    """

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
    # Set by audit_log_write before hashing (auto_now_add would overwrite it after).
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    prev_hash = models.CharField(_("previous hash"), max_length=64, default=GENESIS_HASH)
    row_hash = models.CharField(_("row hash"), max_length=64, default="")

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


class AuditChainHead(models.Model):
    """The one row naming the last audit row and its hash. Writers lock it, so the chain has one
    order; the verifier compares it with the last row, so a cut-off tail is noticed."""

    last_id = models.BigIntegerField(_("last row"), null=True, blank=True)
    last_hash = models.CharField(_("last hash"), max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")
        constraints = [
            models.CheckConstraint(name="core_auditchainhead_one_row", condition=models.Q(id=1))
        ]

    def __str__(self) -> str:
        return f"audit chain head at {self.last_id}"


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


# The working calendar (工作日历) ---------------------------------------------------------------
# Read by wangge.core.workcalendar, which merges these rows over the chinese_calendar package.


class CalendarDay(models.Model):
    """One official exception to the Monday–Friday week, entered by hand.

    A row overrides what the ``chinese_calendar`` package says about its date, so it serves both to
    enter a year the package does not cover yet and to correct or add a local day.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Day off (休)")
        WORKDAY = "workday", _("Adjusted working day (班)")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(
        _("name"), max_length=50, blank=True, help_text=_("The holiday it belongs to, e.g. 国庆节.")
    )
    note = models.CharField(
        _("source"),
        max_length=200,
        blank=True,
        help_text=_("Where it was published, e.g. 国务院办公厅关于2027年部分节假日安排的通知."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                name="core_calendarday_kind_valid",
                condition=models.Q(kind__in=["holiday", "workday"]),
            )
        ]

    def __str__(self) -> str:
        mark = "休" if self.kind == self.Kind.HOLIDAY else "班"
        return f"{self.date:%Y-%m-%d} {mark} {self.name}".rstrip()


class CalendarYear(models.Model):
    """A year whose official holiday schedule (节假日安排) has been entered completely by hand.

    Years the ``chinese_calendar`` package covers need no row. A year with neither falls back to
    Monday–Friday, and administrators see a warning until its row says ``complete``.
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    complete = models.BooleanField(
        _("official schedule complete"),
        default=False,
        help_text=_(
            "Tick once every 休 and 班 day of the State Council's notice has been entered."
        ),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]
        constraints = [
            models.CheckConstraint(
                name="core_calendaryear_year_range", condition=models.Q(year__range=(1990, 2200))
            )
        ]

    def __str__(self) -> str:
        return str(self.year)


class OfficePeriod(models.Model):
    """One period of office hours (办公时段) on every working day, e.g. 09:00–12:00.

    Working hours (工作时) run only inside these periods; one working day (工作日) is their total
    length. Seeded with 09:00–12:00 and 13:30–18:00.
    """

    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("office hours period")
        verbose_name_plural = _("office hours")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                name="core_officeperiod_ends_after_start", condition=models.Q(end__gt=F("start"))
            ),
            models.UniqueConstraint(fields=["start"], name="core_officeperiod_start_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is None or self.end is None:
            return
        if self.end <= self.start:
            raise ValidationError({"end": _("The period must end after it starts.")})
        overlapping = OfficePeriod.objects.filter(start__lt=self.end, end__gt=self.start).exclude(
            pk=self.pk
        )
        if overlapping.exists():
            raise ValidationError(
                _("This period overlaps %(other)s.") % {"other": overlapping.first()}
            )
