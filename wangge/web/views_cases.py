"""The command console (/console/) and the grid worker's phone pages (/m/).

Thin views over the cases services and selectors, and nothing else: which cases a user sees comes
from ``selectors.case_list``; which actions a user may take from ``workflow.allowed_actions``; every
form POST goes through ``services.case_act`` (the report form posts to the JSON API, which calls
``services.case_create``). The domain errors those raise are shown next to the form that caused
them; a conflict (someone else acted first) re-renders the page with the case as it is now.

What is decided here is presentation only: how the console groups states into queues, in which order
a queue lists its cases, and how an event's details are labelled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import h3
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from wangge.cases.catalogue import ServiceItem, service_item
from wangge.cases.dispatch import eligible_people, suggest_department
from wangge.cases.models import (
    AreaGrade,
    Case,
    CaseEvent,
    CasePhoto,
    Category,
    Stage,
    TimeUnitChoice,
)
from wangge.cases.permissions import access_case_for_user
from wangge.cases.photos import case_photo_add, prepare_photo
from wangge.cases.selectors import (
    actionable_groups,
    actionable_q,
    by_deadline,
    case_list,
    decisions_q,
    duplicate_candidates,
    extension_news_q,
    owner_q,
)
from wangge.cases.services import case_act
from wangge.cases.sla import Light, traffic_light
from wangge.cases.workflow import (
    CENTER,
    DISPATCHERS,
    FIELD,
    LOCAL_OFFICERS,
    OPEN_STATES,
    PHOTO_EVENT,
    Action,
    allowed_actions,
    photo_refusal,
)
from wangge.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from wangge.core.models import Department, User
from wangge.core.rest import BBoxFormField
from wangge.core.roles import user_roles
from wangge.regions.locate import DEFAULT_LAYER
from wangge.regions.models import Grid

S = Case.State
PAGE_SIZE = 50
MAP_LIMIT = 5000  # points on the open-cases map; the rest are left off (overdue ones come first)

# Labels ------------------------------------------------------------------------------------------

# What each action is called in the UI (the console's buttons, the timeline). "report" is the
# event that opens every case; it is not an action anyone takes afterwards.
ACTION_LABELS: dict[str, Any] = {
    "report": gettext_lazy("Report"),
    Action.CONFIRM: gettext_lazy("Confirm"),
    Action.ACCEPT: gettext_lazy("Accept"),
    Action.VOID: gettext_lazy("Void"),
    Action.DISPATCH: gettext_lazy("Dispatch"),
    Action.ACKNOWLEDGE: gettext_lazy("Acknowledge"),
    Action.START: gettext_lazy("Start handling"),
    Action.HANDLE: gettext_lazy("Report handling"),
    Action.RETURN: gettext_lazy("Return"),
    Action.REQUEST_EXTENSION: gettext_lazy("Request extension"),
    Action.APPROVE_EXTENSION: gettext_lazy("Approve extension"),
    Action.DENY_EXTENSION: gettext_lazy("Deny extension"),
    Action.VERIFY: gettext_lazy("Verify"),
    Action.EVALUATE: gettext_lazy("Evaluate"),
    Action.ARCHIVE: gettext_lazy("Archive"),
    Action.SUSPEND: gettext_lazy("Suspend"),
    Action.RESUME: gettext_lazy("Resume"),
    Action.ESCALATE: gettext_lazy("Escalate"),
    Action.SUPERVISE: gettext_lazy("Supervise"),
    Action.MERGE: gettext_lazy("Merge duplicate"),
    PHOTO_EVENT: gettext_lazy("Add a photo"),
    "support": gettext_lazy("Support"),  # 附议 (cases.duplicates): an event, not a workflow action
}
# What the timeline calls each event: the actions, and the events no person takes.
EVENT_LABELS: dict[str, Any] = {
    **ACTION_LABELS,
    "overdue": gettext_lazy("Overdue"),
    "transfer": gettext_lazy("Moved to another grid"),
}

LIGHT_LABELS = {
    Light.GREEN: gettext_lazy("On time"),
    Light.YELLOW: gettext_lazy("Due soon"),
    Light.RED: gettext_lazy("Overdue"),
}

STATE_LABELS = dict(Case.State.choices)
LEVEL_LABELS = dict(Case.Level.choices)
OUTCOME_LABELS = dict(Case.Outcome.choices)
SATISFACTION_LABELS = dict(Case.Satisfaction.choices)
SOURCE_LABELS = dict(Case.Source.choices)
UNIT_LABELS = dict(TimeUnitChoice.choices)
STAGE_LABELS = dict(Stage.choices)
GRADE_LABELS = dict(AreaGrade.choices)

# Console queues ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    label: Any
    states: tuple[str, ...]
    recent_days: int | None = None  # only cases closed within this many days
    where: Callable[[datetime], Q] | None = None  # a further condition besides the states
    # The actions this queue waits for: the console opens on the first queue holding a case on
    # which the user may take one of them.
    actions: tuple[Action, ...] = ()

    def q(self, now: datetime) -> Q:
        condition = Q(state__in=self.states)
        if self.recent_days is not None:
            condition &= Q(closed_at__gte=now - timedelta(days=self.recent_days))
        if self.where is not None:
            condition &= self.where(now)
        return condition


OPEN = tuple(sorted(OPEN_STATES))
HANDLING = (S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS)
OWNER_ACTIONS = (Action.ACKNOWLEDGE, Action.START, Action.HANDLE)

# The district's queues: every stage of the loop inside the user's scope.
QUEUES = (
    Queue("checking", gettext_lazy("To check"), (S.CHECKING,), actions=(Action.CONFIRM,)),
    Queue("reported", gettext_lazy("To accept"), (S.REPORTED,), actions=(Action.ACCEPT,)),
    Queue("accepted", gettext_lazy("To dispatch"), (S.ACCEPTED,), actions=(Action.DISPATCH,)),
    Queue("handling", gettext_lazy("Being handled"), HANDLING, actions=OWNER_ACTIONS),
    Queue("handled", gettext_lazy("To verify"), (S.HANDLED,), actions=(Action.VERIFY,)),
    Queue(
        "closed",
        gettext_lazy("Closed, last 7 days"),
        (S.CLOSED, S.EVALUATED, S.ARCHIVED),
        recent_days=7,
    ),
)
# Extension requests and arbitrations, for those who decide them (the dispatchers).
DECISIONS = Queue(
    "decisions",
    gettext_lazy("Extensions and arbitration"),
    OPEN,
    where=lambda now: decisions_q(),
    actions=(Action.APPROVE_EXTENSION, Action.DISPATCH),
)
DECIDERS = frozenset({"district_commander", "dispatcher"})
# The lists behind the summary's counters (超期, 督办, 挂账); reached from the counters, not tabs.
FLAG_QUEUES = (
    Queue("overdue", gettext_lazy("Overdue"), OPEN, where=lambda now: Q(is_overdue=True)),
    Queue("supervised", gettext_lazy("Supervised"), OPEN, where=lambda now: Q(is_supervised=True)),
    Queue("suspended", gettext_lazy("Suspended"), OPEN, where=lambda now: Q(is_suspended=True)),
)


# A department's queues: the cases dispatched to it (or to the handler in person), by step.
DEPARTMENT_QUEUES = (
    Queue(
        "to-acknowledge",
        gettext_lazy("Dispatched, to acknowledge"),
        (S.DISPATCHED,),
        where=lambda now: Q(rework_count=0),
        actions=OWNER_ACTIONS,
    ),
    Queue(
        "acknowledged",
        gettext_lazy("Acknowledged"),
        (S.ACKNOWLEDGED,),
        where=lambda now: Q(rework_count=0),
        actions=OWNER_ACTIONS,
    ),
    Queue(
        "in-progress",
        gettext_lazy("In progress"),
        (S.IN_PROGRESS,),
        where=lambda now: Q(rework_count=0),
        actions=OWNER_ACTIONS,
    ),
    Queue(
        "rework",
        gettext_lazy("Sent back for rework"),
        HANDLING,
        where=lambda now: Q(rework_count__gt=0),
        actions=OWNER_ACTIONS,
    ),
    Queue(
        "extensions",
        gettext_lazy("Extensions requested or answered"),
        HANDLING,
        where=extension_news_q,
    ),
    Queue(
        "awaiting-verification",
        gettext_lazy("Handled, awaiting verification"),
        (S.HANDLED,),
    ),
)
QUEUE_BY_KEY = {
    queue.key: queue for queue in (*QUEUES, DECISIONS, *FLAG_QUEUES, *DEPARTMENT_QUEUES)
}
# Roles that work the district's queues; a department handler with none of them works the
# department's queues instead.
DISTRICT_WORK_ROLES = CENTER | DISPATCHERS | LOCAL_OFFICERS | FIELD


@dataclass(frozen=True)
class Console:
    """What a user's console shows: the cases it is built from and the queues it offers."""

    department: bool
    tabs: tuple[Queue, ...]

    @property
    def queues(self) -> tuple[Queue, ...]:
        return (*self.tabs, *FLAG_QUEUES)

    def cases(self, user: User, filters: dict[str, str]) -> QuerySet[Case]:
        visible = case_list(user=user, filters=filters)
        return visible.filter(owner_q(user)) if self.department else visible


def console_for(user: User, roles: set[str]) -> Console:
    if "department_handler" in roles and not roles & DISTRICT_WORK_ROLES:
        return Console(department=True, tabs=DEPARTMENT_QUEUES)
    if roles & DECIDERS or user.is_superuser:
        return Console(department=False, tabs=(*QUEUES, DECISIONS))
    return Console(department=False, tabs=QUEUES)


# The phone's task list: a case is listed under the first group whose actions the user may take.
MOBILE_GROUPS = (
    ("confirm", gettext_lazy("Public reports to confirm"), (Action.CONFIRM,)),
    ("handle", gettext_lazy("Dispatched to me"), OWNER_ACTIONS),
    ("verify", gettext_lazy("Handled, to verify"), (Action.VERIFY,)),
)
MOBILE_GROUP_KEYS = [key for key, _label, _actions in MOBILE_GROUPS]
MOBILE_PAGE_SIZE = 20  # cards per group on the task list; "show all" pages through the rest
# Actions the phone's case page offers; the rest are on the console's case page.
MOBILE_ACTIONS = (Action.CONFIRM, Action.ACKNOWLEDGE, Action.START, Action.HANDLE, Action.VERIFY)

# Form fields an action form may post; the service checks which ones each action needs.
ACTION_FIELDS = (
    "reason",
    "department",
    "user",
    "result",
    "outcome",
    "satisfaction",
    "amount",
    "unit",
    "review_date",
    "into",
    "note",
)


def _cases_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else the login page) and allowed to see cases (else 403)."""
    return login_required(permission_required("cases.view_case", raise_exception=True)(view))


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# Rows: one case as a list shows it -------------------------------------------------------------


@dataclass
class Row:
    case: Case
    light: str | None
    light_label: str
    time_left: str
    overdue: bool
    group: str = ""


def duration_text(seconds: float) -> str:
    minutes = max(int(seconds // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min") % {"minutes": minutes}


def time_left_text(case: Case, now: datetime) -> str:
    """Wall-clock time to the stage's deadline, or how long ago it passed."""
    if case.is_suspended and case.suspended_until:
        return _("Suspended until %(date)s") % {"date": date_format(case.suspended_until, "Y-m-d")}
    if case.stage_deadline is None:
        return ""
    seconds = (case.stage_deadline - now).total_seconds()
    if seconds >= 0:
        return _("%(duration)s left") % {"duration": duration_text(seconds)}
    return _("%(duration)s overdue") % {"duration": duration_text(-seconds)}


def make_row(case: Case, now: datetime) -> Row:
    light = traffic_light(case, now)
    return Row(
        case=case,
        light=light.value if light else None,
        light_label=str(LIGHT_LABELS[light]) if light else "",
        time_left=time_left_text(case, now),
        overdue=light is Light.RED,
    )


# Filters ----------------------------------------------------------------------------------------

# A whole case number (110102-2026-000123): a search for it opens the case or says it is not found.
FULL_NUMBER = re.compile(r"^[0-9]{6}-[0-9]{4}-[0-9]{6}$")


class CaseFilterForm(forms.Form):
    number = forms.RegexField(
        r"^[0-9-]{1,32}$",
        required=False,
        label=gettext_lazy("Case number"),
        error_messages={"invalid": gettext_lazy("A case number has digits and hyphens only.")},
    )
    category = forms.CharField(required=False, max_length=100, label=gettext_lazy("Category"))
    region = forms.RegexField(
        r"^[0-9]{6,15}$",
        required=False,
        label=gettext_lazy("Region code"),
        error_messages={"invalid": gettext_lazy("A region code has 6 to 15 digits.")},
    )


FILTER_NAMES = ("number", "category", "region")


def _filters(request: HttpRequest) -> tuple[dict[str, str], CaseFilterForm, str]:
    """The valid filters, the form (with errors for the invalid ones) and a query string for links."""
    form = CaseFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    filters = {
        name: value
        for name in FILTER_NAMES
        if name not in form.errors and (value := (data.get(name) or "").strip())
    }
    return filters, form, urlencode(filters)


def _number_search(
    request: HttpRequest, filters: dict[str, str], form: CaseFilterForm, case_view: str
) -> HttpResponse | None:
    """A whole case number the user may see opens the case; one they may not see (or that does not
    exist) is "not found" next to the field, and the list stays unfiltered. A part of a number
    stays a filter of the list."""
    number = filters.get("number")
    if not number:
        return None
    if case_list(user=request.user).filter(number=number).exists():
        url = reverse(case_view, args=[number])
        if _is_htmx(request):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return redirect(url)
    if FULL_NUMBER.match(number):
        form.add_error("number", _("No case %(number)s in your area.") % {"number": number})
        del filters["number"]
    return None


def _queue_from(console: Console, key: str | None) -> Queue | None:
    """The queue asked for, if this console has it."""
    return next((queue for queue in console.queues if queue.key == key), None)


def _queue_page(
    cases: QuerySet[Case], queue: Queue, page_number: str | None, now: datetime
) -> tuple[Page, list[Row]]:
    listed = cases.filter(queue.q(now)).select_related("owner_user").defer("grid__boundary_wkb")
    if queue.recent_days is not None:
        listed = listed.order_by("-closed_at", "-pk")
    else:
        listed = by_deadline(listed)
    page = Paginator(listed, PAGE_SIZE).get_page(page_number)
    return page, [make_row(case, now) for case in page.object_list]


def _counts(
    cases: QuerySet[Case], console: Console, now: datetime, user: User, roles: set[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Every count the console shows, and per tab how many cases wait for this user's action, in
    one aggregate query."""
    open_q = Q(state__in=OPEN_STATES)
    mine = {
        queue.key: actionable_q(user, queue.actions, roles)
        for queue in console.tabs
        if queue.actions
    }
    counts = cases.aggregate(
        **{queue.key: Count("pk", filter=queue.q(now)) for queue in console.queues},
        **{
            f"mine:{key}": Count("pk", filter=QUEUE_BY_KEY[key].q(now) & q)
            for key, q in mine.items()
        },
        open=Count("pk", filter=open_q),
    )
    return (
        {key: value for key, value in counts.items() if not key.startswith("mine:")},
        {key[5:]: value for key, value in counts.items() if key.startswith("mine:")},
    )


def _category_choices() -> QuerySet:
    return Category.objects.filter(active=True, parent__isnull=False).values_list("code", "name")


@_cases_view
def console(request: HttpRequest) -> HttpResponse:
    """The user's queues with counts, the asked-for (or first waiting) queue's list inline.

    A department handler's console holds the department's cases; everyone else's the queues of
    the loop inside their scope. A whole case number typed in the filter opens the case.
    """
    now = timezone.now()
    filters, form, query = _filters(request)
    if found := _number_search(request, filters, form, "web:console-case"):
        return found
    query = urlencode(filters)
    roles = user_roles(request.user)
    board = console_for(request.user, roles)
    cases = board.cases(request.user, filters)
    counts, waiting = _counts(cases, board, now, request.user, roles)
    queue = _queue_from(board, request.GET.get("queue")) or next(
        (q for q in board.tabs if waiting.get(q.key)), board.tabs[0]
    )
    page, rows = _queue_page(cases, queue, request.GET.get("page"), now)
    tabs = [
        {"queue": q, "count": counts[q.key], "waiting": waiting.get(q.key, 0), "active": q is queue}
        for q in board.tabs
    ]
    return render(
        request,
        "web/cases/console.html",
        {
            "counts": counts,
            "tabs": tabs,
            "flag_queues": [{"queue": q, "count": counts[q.key]} for q in FLAG_QUEUES],
            "department_console": board.department,
            "queue": queue,
            "queue_is_tab": queue in board.tabs,
            "page": page,
            "rows": rows,
            "form": form,
            "query": query,
            "categories": _category_choices(),
        },
    )


@_cases_view
def console_queue(request: HttpRequest, key: str) -> HttpResponse:
    """One queue's list (a tab's content), for HTMX; a plain request gets the whole console."""
    board = console_for(request.user, user_roles(request.user))
    queue = _queue_from(board, key)
    if queue is None:
        raise Http404
    filters, _form, query = _filters(request)
    if not _is_htmx(request):
        params = {"queue": key, **filters}
        if request.GET.get("page"):
            params["page"] = request.GET["page"]
        return redirect(f"{reverse('web:console')}?{urlencode(params)}")
    now = timezone.now()
    page, rows = _queue_page(
        board.cases(request.user, filters), queue, request.GET.get("page"), now
    )
    return render(
        request,
        "web/cases/_queue.html",
        {"queue": queue, "page": page, "rows": rows, "query": query},
    )


# The open-cases map --------------------------------------------------------------------------------


class MapQueryForm(CaseFilterForm):
    bbox = BBoxFormField(required=False)


@_cases_view
def console_map(request: HttpRequest) -> HttpResponse:
    """Open cases on a map; a whole case number typed in its search opens the case, a part of one
    keeps only the cases whose number holds it."""
    filters, form, _query = _filters(request)
    if found := _number_search(request, filters, form, "web:console-case"):
        return found
    points_url = reverse("web:console-map-data")
    if number := filters.get("number"):
        points_url += "?" + urlencode({"number": number})
    return render(
        request,
        "web/cases/map.html",
        {
            "tile_url": settings.WANGGE_TILE_URL,
            "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
            "tile_subdomains": settings.WANGGE_TILE_SUBDOMAINS,
            "case_url": reverse("web:console-case", args=["NUMBER"]),
            "limit": MAP_LIMIT,
            "points_url": points_url,
            "form": form,
        },
    )


@_cases_view
def console_map_data(request: HttpRequest) -> JsonResponse:
    """Open cases in the user's scope (and the bbox, if given) as points: at most MAP_LIMIT."""
    form = MapQueryForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {"detail": _("Invalid query."), "errors": form.errors.get_json_data()}, status=400
        )
    filters = {name: form.cleaned_data[name] for name in FILTER_NAMES if form.cleaned_data[name]}
    cases = case_list(user=request.user, filters={**filters, "state": sorted(OPEN_STATES)}).filter(
        lng__isnull=False, lat__isnull=False
    )
    if bbox := form.cleaned_data["bbox"]:
        min_lng, min_lat, max_lng, max_lat = bbox
        cases = cases.filter(lng__gte=min_lng, lng__lte=max_lng, lat__gte=min_lat, lat__lte=max_lat)
    cases = (
        cases.select_related(None)
        .select_related("category")
        .only(
            "number",
            "lng",
            "lat",
            "state",
            "stage_started_at",
            "stage_deadline",
            "stage_unit",
            "is_overdue",
            "category__name",
        )
    )
    found = list(cases[: MAP_LIMIT + 1])
    now = timezone.now()
    points = []
    for case in found[:MAP_LIMIT]:
        light = traffic_light(case, now)
        points.append(
            {
                "number": case.number,
                "lng": case.lng,
                "lat": case.lat,
                "category": case.category.name,
                "state": str(STATE_LABELS.get(case.state, case.state)),
                "light": light.value if light else None,
            }
        )
    return JsonResponse(
        {"count": len(points), "truncated": len(found) > MAP_LIMIT, "points": points}
    )


# The case page (console and phone) ----------------------------------------------------------------


@dataclass
class ActionError:
    action: str
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class EventRow:
    event: CaseEvent
    label: str
    actor: str
    from_label: str
    to_label: str
    highlights: list[tuple[str, str]]


@dataclass
class Candidate:
    case: Case
    distance_m: int | None
    photos: list[CasePhoto]


@dataclass(frozen=True)
class HandlingReport:
    """What the handler said when reporting the work done, shown beside the verify form."""

    result: str
    actor: str
    at: datetime


def _access(user: User, number: str) -> Case:
    try:
        return access_case_for_user(user=user, number=number)
    except NotFoundError:
        raise Http404 from None


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _action_data(post: Any, action: str) -> dict[str, str]:
    data = {name: value for name in ACTION_FIELDS if (value := str(post.get(name, "")).strip())}
    if action == Action.DISPATCH:
        # The dialog offers both targets; only the chosen one is sent.
        data.pop("user" if post.get("target", "department") == "department" else "department", None)
    if action == Action.MERGE and "into" not in data:
        # A candidate picked in the dialog, or else a number typed in.
        if manual := str(post.get("into_manual", "")).strip():
            data["into"] = manual
    return data


def _take_action(request: HttpRequest, case: Case, action: str) -> Case:
    uploads = request.FILES.getlist("photo") if action == Action.HANDLE else []
    return case_act(
        number=case.number,
        action=action,
        actor=request.user,
        data=_action_data(request.POST, action),
        expected_version=_int_or_none(request.POST.get("version")),
        photos=[prepare_photo(kind=CasePhoto.Kind.AFTER, stream=upload) for upload in uploads],
    )


def _add_photo(request: HttpRequest, case: Case) -> None:
    photo = request.FILES.get("photo")
    if photo is None:
        raise InvalidInputError(_("Choose a photo."), {"photo": [_("This field is required.")]})
    kind = request.POST.get("kind", CasePhoto.Kind.AFTER)
    case_photo_add(case=case, kind=kind, stream=photo, actor=request.user)


def _case_page(request: HttpRequest, number: str, *, mobile: bool) -> HttpResponse:
    case = _access(request.user, number)
    status = 200
    action_error = None
    conflict = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "add_photo":
                _add_photo(request, case)
                done = _("Photo added.")
            else:
                _take_action(request, case, action)
                done = _("Done: %(action)s.") % {"action": ACTION_LABELS.get(action, action)}
        except ConflictError as exc:
            conflict = exc.message
            status = 409
        except NotFoundError:
            raise Http404 from None
        except PermissionDeniedError as exc:
            action_error = ActionError(action, exc.message)
            status = 403
        except InvalidInputError as exc:
            action_error = ActionError(action, exc.message, exc.errors)
            status = 400
        else:
            messages.success(request, done)
            if not case_list(user=request.user).filter(pk=case.pk).exists():
                # The action took the case out of this user's sight (a returned dispatch, say).
                return redirect("web:mobile-tasks" if mobile else "web:console")
            return redirect(request.path)
        case = _access(request.user, number)
    context = _case_context(request, case, mobile=mobile)
    context.update(
        {
            "action_error": action_error,
            "conflict": conflict,
            "posted": request.POST if action_error else {},
        }
    )
    template = "web/mobile/case.html" if mobile else "web/cases/case.html"
    return render(request, template, context, status=status)


def _case_context(request: HttpRequest, case: Case, *, mobile: bool) -> dict[str, Any]:
    user = request.user
    case = (
        Case.objects.select_related(
            "category__parent",
            "grid",
            "owner_department",
            "owner_user",
            "reporter",
            "handled_by",
            "merged_into",
        )
        .defer("grid__boundary_wkb")
        .prefetch_related(
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor")), "photos"
        )
        .get(pk=case.pk)
    )
    now = timezone.now()
    actions = allowed_actions(user, case, user_roles(user))
    shown = [a for a in actions if a in MOBILE_ACTIONS] if mobile else actions
    photos = list(case.photos.all())
    roles = user_roles(user)
    context: dict[str, Any] = {
        "photo_kinds": [
            kind for kind in CasePhoto.Kind.values if photo_refusal(user, case, kind, roles) is None
        ],
        "case": case,
        "row": make_row(case, now),
        "actions": [a.value for a in shown],
        "more_actions": mobile and len(shown) < len(actions),
        "action_items": [{"name": a.value, "label": ACTION_LABELS[a]} for a in shown],
        "before_photos": [p for p in photos if p.kind == CasePhoto.Kind.BEFORE],
        "after_photos": [p for p in photos if p.kind == CasePhoto.Kind.AFTER],
        "timeline": _timeline(case.events.all()),
        "outcomes": [(v, label) for v, label in Case.Outcome.choices if v],
        "satisfactions": [(v, label) for v, label in Case.Satisfaction.choices if v],
        "units": TimeUnitChoice.choices,
        "tomorrow": timezone.localdate(now) + timedelta(days=1),
        "tile_url": settings.WANGGE_TILE_URL,
        "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
        "tile_subdomains": settings.WANGGE_TILE_SUBDOMAINS,
        "service": _service_box(case.category),
    }
    if Action.DISPATCH in shown:
        context["suggested"] = suggest_department(case)
        context["departments"] = list(Department.objects.filter(active=True))
        context["people"] = list(eligible_people(case)[:200])
    if Action.MERGE in shown:
        context["candidates"] = _candidates(user, case)
    if Action.VERIFY in shown:
        context["handling"] = _handling_report(case.events.all())
    return context


def _handling_report(events: Iterable[CaseEvent]) -> HandlingReport | None:
    """The latest handling result: of a handle action, or of a report handled on the spot."""
    handled = [
        event
        for event in events
        if event.action in (Action.HANDLE, "report") and event.payload.get("result")
    ]
    if not handled:
        return None
    last = max(handled, key=lambda event: (event.created_at, event.pk))
    actor = (last.actor.get_full_name() or last.actor.username) if last.actor else _("System")
    return HandlingReport(result=str(last.payload["result"]), actor=actor, at=last.created_at)


def _candidates(user: User, case: Case) -> list[Candidate]:
    """Probable duplicates the user may see, nearest first, for the merge dialog."""
    if case.lng is None or case.lat is None:
        return []
    found = duplicate_candidates(
        category_id=case.category_id,
        lng=case.lng,
        lat=case.lat,
        at=case.created_at,
        exclude=case.pk,
    )
    # duplicate_candidates does not look at scope: keep only the cases this user may see.
    visible = (
        case_list(user=user)
        .filter(pk__in=[c.pk for c in found])
        .defer("grid__boundary_wkb")
        .prefetch_related("photos")
    )
    candidates = []
    for other in visible:
        distance = (
            round(h3.great_circle_distance((case.lat, case.lng), (other.lat, other.lng), unit="m"))
            if other.lat is not None and other.lng is not None
            else None
        )
        photos = [p for p in other.photos.all() if p.kind == CasePhoto.Kind.BEFORE]
        candidates.append(Candidate(other, distance, photos))
    return sorted(candidates, key=lambda c: (c.distance_m is None, c.distance_m or 0))


def _timeline(events: Iterable[CaseEvent]) -> list[EventRow]:
    events = list(events)
    names = _names_in(event.payload for event in events)
    rows = []
    for event in events:
        rows.append(
            EventRow(
                event=event,
                label=str(EVENT_LABELS.get(event.action, gettext_lazy("Other change"))),
                actor=_person_name(event.actor) if event.actor else _("System"),
                from_label=str(STATE_LABELS.get(event.from_state, "")),
                to_label=str(STATE_LABELS.get(event.to_state, "")),
                highlights=payload_highlights(event.payload, names),
            )
        )
    return rows


def _person_name(user: User) -> str:
    return user.get_full_name() or user.username


@dataclass
class PayloadNames:
    """What the codes in events' details stand for: departments, people, grids."""

    departments: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    grids: dict[str, str] = field(default_factory=dict)


def _names_in(payloads: Iterable[dict[str, Any]]) -> PayloadNames:
    """One query per kind of code for a whole timeline."""
    wanted: dict[str, set[str]] = {"departments": set(), "people": set(), "grids": set()}
    keys = {
        "department": "departments",
        "suggested": "departments",
        "user": "people",
        "grid": "grids",
        "from_grid": "grids",
        "to_grid": "grids",
    }
    for payload in payloads:
        for key, kind in keys.items():
            if isinstance(code := payload.get(key), str) and code:
                wanted[kind].add(code)
    names = PayloadNames()
    if wanted["departments"]:
        names.departments = dict(
            Department.objects.filter(code__in=wanted["departments"]).values_list("code", "name")
        )
    if wanted["people"]:
        names.people = {
            user.username: _person_name(user)
            for user in User.objects.filter(username__in=wanted["people"])
        }
    if wanted["grids"]:
        names.grids = dict(
            Grid.objects.filter(code__in=wanted["grids"], layer__code=DEFAULT_LAYER).values_list(
                "code", "name"
            )
        )
    return names


def _when(value: Any) -> str:
    """A date or an aware time from an event's details, as the page shows dates and times."""
    text = str(value)
    if len(text) == 10 and (day := parse_date(text)):
        return date_format(day, "Y-m-d")
    moment = parse_datetime(text)
    if moment is None or timezone.is_naive(moment):
        return ""
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def duration_words(amount: Any, unit: str) -> str:
    """'2 working days' as a reader says it; a unit the system does not know is left out."""
    try:
        number = Decimal(str(amount)).normalize()
    except (InvalidOperation, ValueError):
        return ""
    label = UNIT_LABELS.get(unit)
    return _("%(amount)s %(unit)s") % {"amount": f"{number:f}", "unit": label} if label else ""


def limit_texts(item: ServiceItem) -> list[str]:
    """A service item's handling limit: '2 working days', or one line per area grade when the
    grades differ."""
    texts = []
    for limit in item.limits:
        duration = duration_words(limit.amount, limit.unit)
        if limit.area_grade:
            duration = _("%(grade)s: %(duration)s") % {
                "grade": GRADE_LABELS.get(limit.area_grade, limit.area_grade),
                "duration": duration,
            }
        texts.append(duration)
    return texts


def _service_box(category: Category) -> ServiceItem | None:
    """What to tell the resident at once (一次性告知) on a service case's page."""
    item = service_item(category)
    if item is not None:
        item.limit_texts = limit_texts(item)  # type: ignore[attr-defined]
    return item


def payload_highlights(payload: dict[str, Any], names: PayloadNames) -> list[tuple[str, str]]:
    """An event's details as (label, value) pairs a person can read, in words: names instead of
    codes, labels instead of choice values. A key this page does not know is left out (the admin
    and the API show the raw details)."""
    out: list[tuple[str, str]] = []

    def grid(code: Any) -> str:
        return names.grids.get(code, str(code))

    for key, value in payload.items():
        if value is None or value == "" or value is False or value == []:
            continue
        if key == "department":
            out.append((_("Department"), names.departments.get(value, value)))
        elif key == "suggested":
            if value != payload.get("department"):
                out.append((_("Matrix suggestion"), names.departments.get(value, value)))
        elif key == "user":
            out.append((_("Person"), names.people.get(value, str(value))))
        elif key == "result":
            if value == "pass":
                out.append((_("Result"), _("Passed")))
            elif value == "fail":
                out.append((_("Result"), _("Failed, sent back for rework")))
            else:
                out.append((_("Result"), str(value)))
        elif key == "outcome":
            out.append((_("Outcome"), str(OUTCOME_LABELS.get(value, ""))))
        elif key == "satisfaction":
            out.append((_("Satisfaction"), str(SATISFACTION_LABELS.get(value, ""))))
        elif key == "amount":
            out.append((_("Extension"), duration_words(value, payload.get("unit", ""))))
        elif key == "new_deadline":
            out.append((_("New deadline"), _when(value)))
        elif key == "review_date":
            out.append((_("Review date"), _when(value)))
        elif key == "from_level":
            to_level = payload.get("to_level", "")
            levels = f"{LEVEL_LABELS.get(value, '')} → {LEVEL_LABELS.get(to_level, '')}"
            out.append((_("Level"), levels))
        elif key == "into":
            out.append((_("Merged into"), str(value)))
        elif key == "duplicate":
            out.append((_("Duplicate report"), str(value)))
        elif key == "returns":
            out.append((_("Returns so far"), str(value)))
        elif key == "arbitration":
            out.append((_("Arbitration"), _("Sent to the district")))
        elif key == "automatic":
            out.append((_("Dispatch"), _("Automatic, by the responsibility matrix")))
        elif key == "reopened":
            out.append((_("Reopened"), _("Yes")))
        elif key == "source":
            out.append((_("Source"), str(SOURCE_LABELS.get(value, ""))))
        elif key == "grid":
            out.append((_("Grid"), grid(value)))
        elif key == "note":
            out.append((_("Note"), str(value)))
        elif key == "photos" and isinstance(value, list):
            count = len(value)
            out.append(
                (
                    _("Photos"),
                    ngettext("%(count)s photo", "%(count)s photos", count) % {"count": count},
                )
            )
        elif key == "stage":
            out.append((_("Stage"), str(STAGE_LABELS.get(value, ""))))
        elif key == "deadline":
            out.append((_("Deadline"), _when(value)))
        elif key == "escalated_to":
            out.append((_("Escalated to"), str(LEVEL_LABELS.get(value, ""))))
        elif key == "from_grid":
            out.append((_("Grid"), f"{grid(value)} → {grid(payload.get('to_grid', ''))}"))
        elif key == "owner_cleared":
            out.append((_("Owner"), _("Cleared: the case goes back to dispatch")))
    return [(label, text) for label, text in out if text]


@_cases_view
def case_page(request: HttpRequest, number: str) -> HttpResponse:
    """A case: map, photos, details, timeline, and the actions the user may take (as forms)."""
    return _case_page(request, number, mobile=False)


@_cases_view
def case_photo(request: HttpRequest, number: str, photo_id: int) -> FileResponse:
    """One photo of a case the user may see (photos are not public files)."""
    case = _access(request.user, number)
    photo = CasePhoto.objects.filter(case=case, pk=photo_id).first()
    if photo is None:
        raise Http404
    response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response


# Phone pages ------------------------------------------------------------------------------------


@dataclass
class TaskGroup:
    key: str
    label: Any
    count: int
    page: Page
    rows: list[Row]


def task_groups(user: User, *, number: str = "") -> list[tuple[str, Any, QuerySet[Case]]]:
    """The phone's task groups, labelled: each case under the first group whose actions the user
    may take on it, nearest deadline first."""
    labels = {key: label for key, label, _actions in MOBILE_GROUPS}
    groups = [(key, actions) for key, _label, actions in MOBILE_GROUPS]
    return [
        (key, labels[key], cases)
        for key, cases in actionable_groups(user=user, groups=groups, number=number)
    ]


@_cases_view
def mobile_tasks(request: HttpRequest) -> HttpResponse:
    """What waits for me: reports to confirm, cases dispatched to me or my department, work to
    verify. Every one of them, a page of each group at a time; a case number opens the case."""
    filters, form, query = _filters(request)
    if found := _number_search(request, filters, form, "web:mobile-case"):
        return found
    now = timezone.now()
    only = request.GET.get("group", "")
    if only and only not in MOBILE_GROUP_KEYS:
        raise Http404
    groups = []
    for key, label, cases in task_groups(request.user, number=filters.get("number", "")):
        if only and key != only:
            continue
        page = Paginator(cases, MOBILE_PAGE_SIZE).get_page(
            request.GET.get("page") if only else None
        )
        rows = [make_row(case, now) for case in page.object_list]
        groups.append(TaskGroup(key, label, page.paginator.count, page, rows))
    return render(
        request,
        "web/mobile/tasks.html",
        {
            "groups": groups,
            "total": sum(group.count for group in groups),
            "only": only,
            "form": form,
            "number": filters.get("number", ""),
            "query": urlencode({"number": filters["number"]}) if "number" in filters else "",
        },
    )


@login_required
@permission_required("cases.add_case", raise_exception=True)
def mobile_report(request: HttpRequest) -> HttpResponse:
    """The report form; mobile.js posts it to the JSON API and then uploads the photos."""
    return render(
        request,
        "web/mobile/report.html",
        {"api_root": "/api/v1/", "time_zone": settings.TIME_ZONE},
    )


@_cases_view
def mobile_case(request: HttpRequest, number: str) -> HttpResponse:
    """A case on the phone: confirm it, handle it (result and after photo) or verify it."""
    return _case_page(request, number, mobile=True)
