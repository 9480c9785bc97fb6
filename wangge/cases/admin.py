"""Back office for the case configuration (taxonomy, time limits, responsibility matrix) and a
read-only view of cases, their history and the notification outbox.

Cases change state only through ``wangge.cases.services``: the admin shows them and never edits
them. The taxonomy rows transcribed from GB/T 47678.5 keep their code and provenance read-only, so
every row stays traceable to the table it came from (docs/standards.md).

This module is imported when Django starts (admin autodiscovery): it imports models and the
workflow's action names only, and the task queue lazily.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from wangge.cases.models import (
    Case,
    CaseEvent,
    Category,
    CategoryAlias,
    Notification,
    ResponsibilityRule,
    TimeLimit,
)
from wangge.cases.workflow import Action
from wangge.core.audit import audit_log_write

# Fields of a GB/T row that the standard fixes; a local row may change all of them.
STANDARD_FIELDS = ("kind", "code", "standard", "source", "confidence", "is_local")


class CategoryAliasInline(admin.TabularInline):
    model = CategoryAlias
    fields = ("code", "standard", "source", "confidence")
    extra = 0


class TimeLimitInline(admin.TabularInline):
    model = TimeLimit
    fields = ("stage", "area_grade", "condition", "amount", "unit")
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("kind", "code", "name", "domain", "parent", "is_local", "active", "confidence")
    list_display_links = ("code", "name")
    list_filter = ("domain", "kind", "is_local", "active", "allows_self_handling", "auto_dispatch")
    search_fields = ("code", "name", "aliases__code")
    list_select_related = ("parent",)
    list_per_page = 100
    inlines = (CategoryAliasInline, TimeLimitInline)
    fieldsets = (
        (None, {"fields": ("kind", "code", "name", "domain", "parent", "active", "sort_order")}),
        (_("Provenance"), {"fields": ("standard", "source", "confidence", "is_local")}),
        (
            _("Handling"),
            {
                "fields": (
                    "accept_conditions",
                    "close_conditions",
                    "allows_self_handling",
                    "auto_dispatch",
                )
            },
        ),
        (_("Told to the resident at once (一次性告知)"), {"fields": ("procedure", "materials")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Category | None = None) -> Any:
        if obj is not None and not obj.is_local:
            return STANDARD_FIELDS
        return ()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # What an administrator adds is a local extension unless they say otherwise.
        return {"is_local": True, **super().get_changeform_initial_data(request)}

    def has_delete_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        # A national class is deactivated, not deleted; a local one may go while no case uses it.
        if obj is not None and not obj.is_local:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "parent":
            # Two levels only: a parent is a big class.
            kwargs["queryset"] = Category.objects.filter(parent__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CategoryAlias)
class CategoryAliasAdmin(admin.ModelAdmin):
    list_display = ("code", "category", "standard", "confidence")
    list_filter = ("standard", "category__kind")
    search_fields = ("code", "category__code", "category__name")
    list_select_related = ("category",)
    autocomplete_fields = ("category",)


@admin.register(TimeLimit)
class TimeLimitAdmin(admin.ModelAdmin):
    list_display = ("stage", "category", "condition", "area_grade", "amount", "unit")
    list_editable = ("amount", "unit")
    list_filter = ("stage", "area_grade", "unit", ("category", admin.EmptyFieldListFilter))
    search_fields = ("category__code", "category__name", "condition")
    list_select_related = ("category",)
    autocomplete_fields = ("category",)
    ordering = ("category__code", "condition", "area_grade", "stage")


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(admin.ModelAdmin):
    list_display = ("region_code", "category", "department", "priority", "note")
    list_filter = ("department",)
    search_fields = ("region_code", "category__code", "category__name", "department__name")
    list_select_related = ("category", "department")
    autocomplete_fields = ("category",)


class ReadOnlyAdminMixin:
    """Shows rows that only services write (cases, their history)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseEvent
    fields = ("created_at", "action", "from_state", "to_state", "actor", "reason")
    extra = 0


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "category",
        "state",
        "level",
        "source",
        "urgency",
        "is_overdue",
        "region_code",
        "created_at",
    )
    list_filter = (
        ("created_at", admin.DateFieldListFilter),
        "state",
        "source",
        "is_overdue",
        "level",
        "urgency",
        "is_supervised",
    )
    search_fields = ("number",)
    # No date_hierarchy: its year links scan every case (~1.5 s for the demo's 100,000 on SQLite).
    list_select_related = ("category",)
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice reads the whole table
    # The phone's ciphertext and lookup hash are of no use to a reader; the masked number is shown.
    exclude = ("reporter_phone_token", "reporter_phone_hash")
    inlines = (CaseEventInline,)


class EventActionFilter(admin.SimpleListFilter):
    """The actions of the workflow, listed from code: the default filter would read
    ``SELECT DISTINCT action`` over every event (a full scan of the largest table)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = ["report", *(action.value for action in Action), "overdue"]
        return [(value, value) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


class EventStateFilter(admin.SimpleListFilter):
    """The state an event led to, from ``Case.State`` (no ``SELECT DISTINCT`` over the events)."""

    title = _("to")
    parameter_name = "to_state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Case.State.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(to_state=self.value()) if self.value() else queryset


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The history of every case, newest first.

    Built to open at once on a year of a district (the demo's ~864,000 events): no
    ``date_hierarchy`` (its year links are a ``SELECT DISTINCT`` of a time-zone-converted date over
    every row, ~10 s on SQLite), filters whose choices come from code and a date filter that needs
    no query, ordering on the ``created_at`` index, and no second count of the whole table.
    """

    list_display = ("created_at", "case", "action", "from_state", "to_state", "actor")
    list_filter = (("created_at", admin.DateFieldListFilter), EventActionFilter, EventStateFilter)
    search_fields = ("case__number",)
    list_select_related = ("case", "actor")
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice reads the whole table

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Events of the cases whose number contains the term, found in the case table first (a
        join would test the number of every event in time order)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        cases = Case.objects.filter(number__contains=term).values("pk")
        return queryset.filter(case_id__in=cases), False


def _wake_sender() -> None:
    from wangge.cases.tasks import send_notifications_soon

    send_notifications_soon()


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, where administrators see the sends that failed and can try them again."""

    list_display = (
        "created_at",
        "recipient",
        "channel",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "channel")
    search_fields = ("subject", "recipient__username", "case__number")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    actions = ("retry_now",)
    RETRYABLE = (Notification.Status.FAILED, Notification.Status.GAVE_UP)

    def get_readonly_fields(self, request: HttpRequest, obj: Notification | None = None) -> Any:
        return [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Retry now (failed sends only)"), permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        """Make failed and given-up sends due again; the sender tries each once more.

        The attempt count is kept, so a send that had given up and fails again gives up again.
        The update is conditional on the status, so a row the sender has meanwhile sent stays sent.
        """
        with transaction.atomic():
            ids = list(queryset.filter(status__in=self.RETRYABLE).values_list("pk", flat=True))
            retried = Notification.objects.filter(pk__in=ids, status__in=self.RETRYABLE).update(
                status=Notification.Status.PENDING, next_attempt_at=timezone.now()
            )
            for pk in ids:
                audit_log_write(
                    actor=request.user,
                    action="notification.retry",
                    target_type="notification",
                    target_id=pk,
                )
            if retried:
                transaction.on_commit(_wake_sender)
        self.message_user(
            request,
            ngettext(
                "%(count)d notification will be sent again.",
                "%(count)d notifications will be sent again.",
                retried,
            )
            % {"count": retried},
            messages.SUCCESS,
        )
        skipped = queryset.count() - retried
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d selected notification was not failed and was left alone.",
                    "%(count)d selected notifications were not failed and were left alone.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
