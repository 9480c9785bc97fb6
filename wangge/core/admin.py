from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from wangge.core.audit import audit_log_write
from wangge.core.models import (
    AuditLog,
    CalendarDay,
    CalendarYear,
    OfficePeriod,
    ScopeGrant,
    User,
)
from wangge.core.workcalendar import calendar_warnings, package_years


class ScopeGrantInline(admin.TabularInline):
    """The user's data scope: one row per region code (a grid, several grids, a community …)."""

    model = ScopeGrant
    extra = 1
    fields = ("prefix",)
    verbose_name = _("region code")
    verbose_name_plural = _("Data scope")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "scope", "is_active", "is_staff")
    list_filter = ("groups", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "scope_grants__prefix")
    inlines = (ScopeGrantInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("scope_grants")

    @admin.display(description=_("data scope"))
    def scope(self, obj: User) -> str:
        return ", ".join(sorted(grant.prefix for grant in obj.scope_grants.all()))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save the grants and write one audit row when the data scope changed."""
        user = form.instance
        before = set(user.scope_grants.values_list("prefix", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(user.scope_grants.values_list("prefix", flat=True))
        if before != after:
            audit_log_write(
                actor=request.user,
                action="core.scope_change",
                target_type="core.user",
                target_id=user.pk,
                details={
                    "username": user.username,
                    "added": sorted(after - before),
                    "removed": sorted(before - after),
                },
            )


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("target_id", "actor__username")
    date_hierarchy = "created_at"

    # The audit log is append-only, even for administrators.
    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False


# The working calendar (工作日历) -----------------------------------------------------------------


class _CalendarWarningsMixin:
    """Lists the calendar's warnings (years without official data) above the change list."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            years = package_years()
            messages.info(
                request,
                _(
                    "The chinese_calendar package provides the official holidays of %(first)s–%(last)s;"
                    " calendar days entered here override it date by date."
                )
                % {"first": min(years), "last": max(years)},
            )
            for warning in calendar_warnings():
                messages.warning(request, warning.message)
        return super().changelist_view(request, extra_context)


@admin.register(CalendarDay)
class CalendarDayAdmin(_CalendarWarningsMixin, admin.ModelAdmin):
    list_display = ("date", "weekday", "kind", "name", "note", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "note")
    date_hierarchy = "date"
    ordering = ("date",)

    @admin.display(description=_("weekday"), ordering="date")
    def weekday(self, obj: CalendarDay) -> str:
        return date_format(obj.date, "l")


@admin.register(CalendarYear)
class CalendarYearAdmin(_CalendarWarningsMixin, admin.ModelAdmin):
    list_display = ("year", "complete", "entered_days", "note", "updated_at")
    list_filter = ("complete",)

    def get_queryset(self, request):
        entered = (
            CalendarDay.objects.filter(date__year=OuterRef("year"))
            .order_by()
            .values("date__year")
            .annotate(n=Count("id"))
            .values("n")
        )
        return super().get_queryset(request).annotate(entered=Coalesce(Subquery(entered), 0))

    @admin.display(description=_("calendar days entered"), ordering="entered")
    def entered_days(self, obj: CalendarYear) -> int:
        return obj.entered


@admin.register(OfficePeriod)
class OfficePeriodAdmin(_CalendarWarningsMixin, admin.ModelAdmin):
    list_display = ("__str__", "start", "end")
    ordering = ("start",)
