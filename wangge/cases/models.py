"""The closed loop (闭环): cases from report to archive, their taxonomy, deadlines and history.

Every change of a case's state is one transaction that compare-and-sets ``Case.state`` and appends a
``CaseEvent``; the events are the case's history and the source of every statistic. Configuration
that officials change — categories, their conditions, time limits, the responsibility matrix — is
data, seeded from the national standards and editable in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Domain(models.TextChoices):
    """The five full-response domains (全响应, 篇11)."""

    SOCIAL_SERVICE = "social_service", _("Social services (社会服务)")
    ADMINISTRATIVE_SERVICE = "administrative_service", _("Administrative services (行政服务)")
    CITY_MANAGEMENT = "city_management", _("City management (城市管理)")
    SOCIAL_MANAGEMENT = "social_management", _("Social management (社会管理)")
    EMERGENCY = "emergency", _("Emergency response (应急处置)")


class Category(models.Model):
    """A class of problem or request: a GB/T 47678.5 component or matter class, or a local item.

    Big classes (大类) have no parent; small classes (小类) hang under one. A GB/T code is unique only
    together with its kind: components and matters both number from 01001.
    """

    class Kind(models.TextChoices):
        COMPONENT = "component", _("Management component (管理部件)")
        MATTER = "matter", _("Management matter (管理事项)")
        SERVICE = "service", _("Service item (服务事项)")
        AFFAIR = "affair", _("Social affair (社会事务)")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    domain = models.CharField(_("domain"), max_length=32, choices=Domain.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("big class"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    standard = models.CharField(_("standard"), max_length=64, blank=True)
    source = models.TextField(_("source"), blank=True)
    confidence = models.CharField(_("confidence"), max_length=200, blank=True)
    is_local = models.BooleanField(
        _("local extension"), default=False, help_text=_("Not in the national standard.")
    )
    active = models.BooleanField(_("active"), default=True)
    accept_conditions = models.TextField(_("acceptance conditions (立案条件)"), blank=True)
    close_conditions = models.TextField(_("closing conditions (结案条件)"), blank=True)
    procedure = models.TextField(
        _("procedure"), blank=True, help_text=_("Steps told to the resident at once (一次性告知).")
    )
    materials = models.TextField(_("required materials"), blank=True)
    allows_self_handling = models.BooleanField(
        _("grid worker may handle on the spot (自行处置)"), default=False
    )
    auto_dispatch = models.BooleanField(_("dispatch automatically"), default=False)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["domain", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="cases_category_kind_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CategoryAlias(models.Model):
    """An older code of a category, e.g. the 4-digit GB/T 30428.2-2013 codes still in real systems."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="aliases")
    code = models.CharField(_("old code"), max_length=16)
    standard = models.CharField(_("standard"), max_length=64, blank=True)
    source = models.TextField(_("source"), blank=True)
    confidence = models.CharField(_("confidence"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("category alias")
        verbose_name_plural = _("category aliases")
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="cases_categoryalias_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} → {self.category.code}"


class TimeUnitChoice(models.TextChoices):
    """Units of ``wangge.lib.calendar.TimeUnit`` (the values must stay equal)."""

    WORKING_DAY = "working_day", _("working days (工作日)")
    WORKING_HOUR = "working_hour", _("working hours (工作时)")
    HOUR = "hour", _("hours (小时)")
    MINUTE = "minute", _("minutes (分钟)")


class Stage(models.TextChoices):
    """The stages that have a time limit (CJ/T 315 workflow)."""

    ACCEPT = "accept", _("Acceptance (立案)")
    DISPATCH = "dispatch", _("Dispatch (派遣)")
    HANDLE = "handle", _("Handling (处置)")
    VERIFY = "verify", _("Verification (核查)")


class AreaGrade(models.TextChoices):
    A = "A", _("Grade A (core streets)")
    B = "B", _("Grade B")
    C = "C", _("Grade C")


class TimeLimit(models.Model):
    """How long a stage may take, by category, 立案条件 variant and area grade.

    A row with no category is the default for every category; an empty condition matches any.
    The most specific row wins: category over default, exact condition over any, exact grade.
    """

    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="time_limits"
    )
    condition = models.CharField(_("condition (立案条件)"), max_length=100, blank=True)
    area_grade = models.CharField(_("area grade"), max_length=1, choices=AreaGrade.choices)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=16, choices=TimeUnitChoice.choices)

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "condition", "area_grade", "stage"],
                condition=models.Q(category__isnull=False),
                name="cases_timelimit_unique",
            ),
            models.UniqueConstraint(
                fields=["condition", "area_grade", "stage"],
                condition=models.Q(category__isnull=True),
                name="cases_timelimit_default_unique",
            ),
            models.CheckConstraint(
                name="cases_timelimit_positive", condition=models.Q(amount__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} {self.area_grade} {self.stage}: {self.amount} {self.unit}"


class ResponsibilityRule(models.Model):
    """One line of the responsibility matrix (权责清单): category × region subtree → department.

    A rule with no category applies to every category; ``region_code`` is a prefix (the district's
    code covers the district). The most specific rule wins: longer region code, then category over
    none, then lower priority number.
    """

    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    region_code = models.CharField(_("region code prefix"), max_length=15)
    department = models.ForeignKey(
        "core.Department", on_delete=models.CASCADE, related_name="responsibility_rules"
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("responsibility rule (权责清单)")
        verbose_name_plural = _("responsibility matrix (权责清单)")
        ordering = ["region_code", "priority"]

    def __str__(self) -> str:
        return f"{self.category or '*'} @ {self.region_code} → {self.department}"


class Case(models.Model):
    """One problem or request and its whole loop (案件/事项)."""

    class Source(models.TextChoices):
        PATROL = "patrol", _("Grid-worker patrol (巡查)")
        CITIZEN_APP = "citizen_app", _("Citizen app (随手拍)")
        OPEN311 = "open311", _("Open311")
        HOTLINE = "hotline", _("Hotline 12345")
        SENSOR = "sensor", _("Sensor")
        MESSAGE = "message", _("Message")
        WALK_IN = "walk_in", _("Walk-in")
        SUPERIOR = "superior", _("Assigned from above (上级交办)")

    class State(models.TextChoices):
        REPORTED = "reported", _("Reported (上报)")
        CHECKING = "checking", _("Being checked (核实)")
        ACCEPTED = "accepted", _("Accepted (立案)")
        VOIDED = "voided", _("Not accepted (不予立案/作废)")
        DISPATCHED = "dispatched", _("Dispatched (派遣)")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged (签收)")
        IN_PROGRESS = "in_progress", _("In progress (处置中)")
        HANDLED = "handled", _("Handled, awaiting verification (反馈)")
        CLOSED = "closed", _("Closed (结案)")
        EVALUATED = "evaluated", _("Evaluated (评价)")
        ARCHIVED = "archived", _("Archived (归档)")

    class Level(models.TextChoices):
        GRID = "grid", _("Grid")
        COMMUNITY = "community", _("Community")
        STREET = "street", _("Street")
        DISTRICT = "district", _("District")

    class Urgency(models.TextChoices):
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")
        EMERGENCY = "emergency", _("Emergency")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        FIXED = "fixed", _("Fixed")
        NOT_FIXED = "not_fixed", _("Not fixed, closed with a reason")
        NOT_RESPONSIBLE = "not_responsible", _("Not our responsibility")
        DUPLICATE = "duplicate", _("Duplicate")

    class Satisfaction(models.TextChoices):
        NONE = "", _("—")
        SATISFIED = "satisfied", _("Satisfied (满意)")
        BASICALLY = "basically", _("Basically satisfied (基本满意)")
        UNSATISFIED = "unsatisfied", _("Unsatisfied (不满意)")

    number = models.CharField(_("number"), max_length=32, unique=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases")
    condition = models.CharField(_("condition (立案条件)"), max_length=100, blank=True)
    description = models.TextField(_("description"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    lng = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    h3_cell = models.CharField(_("H3 cell"), max_length=16, blank=True, db_index=True)
    grid = models.ForeignKey(
        "regions.Grid", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    region_code = models.CharField(
        _("region code"),
        max_length=15,
        db_index=True,
        help_text=_("Code of the grid, or of the district when only an address is known."),
    )
    area_grade = models.CharField(
        _("area grade"), max_length=1, choices=AreaGrade.choices, default=AreaGrade.B
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(_("reporter's name"), max_length=50, blank=True)
    reporter_phone_token = models.TextField(blank=True)
    reporter_phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    reporter_phone_masked = models.CharField(_("reporter's phone"), max_length=20, blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    level = models.CharField(_("handling level"), max_length=16, choices=Level.choices)
    owner_department = models.ForeignKey(
        "core.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_cases",
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
        help_text=_("Who reported the handling result; may not verify it."),
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, blank=True)
    stage_started_at = models.DateTimeField(_("stage started"), null=True, blank=True)
    stage_deadline = models.DateTimeField(_("stage deadline"), null=True, blank=True)
    stage_unit = models.CharField(
        _("unit of the stage's limit"), max_length=16, choices=TimeUnitChoice.choices, blank=True
    )
    is_overdue = models.BooleanField(_("overdue"), default=False)
    is_supervised = models.BooleanField(_("supervised (督办)"), default=False)
    is_suspended = models.BooleanField(_("suspended (挂账)"), default=False)
    suspended_until = models.DateField(_("review date"), null=True, blank=True)
    extension_requested = models.BooleanField(_("extension requested"), default=False)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default="", blank=True
    )
    satisfaction = models.CharField(
        _("satisfaction"), max_length=16, choices=Satisfaction.choices, default="", blank=True
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    supporters = models.PositiveIntegerField(_("supporters (me too)"), default=0)
    return_count = models.PositiveSmallIntegerField(_("returns (回退)"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("reworks (返工)"), default=0)
    self_handled = models.BooleanField(_("handled on the spot (自行处置)"), default=False)
    created_at = models.DateTimeField(_("reported at"), db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(
        _("version"), default=0, help_text=_("Raised by every change; writers compare and set it.")
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at"]
        indexes = [
            # The deadline poller: "open cases whose stage deadline has passed and not yet flagged".
            models.Index(
                fields=["stage_deadline"],
                name="case_open_deadline_idx",
                condition=models.Q(is_overdue=False, stage_deadline__isnull=False),
            ),
            # Queues of the console: "cases in this state inside my region".
            models.Index(fields=["state", "region_code"], name="case_state_region_idx"),
            # Duplicate candidates: "same category, same H3 neighbourhood, recent".
            models.Index(fields=["category", "h3_cell", "created_at"], name="case_dup_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="cases_case_closed_has_outcome",
                condition=~models.Q(state__in=["closed", "evaluated", "archived"])
                | ~models.Q(outcome=""),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CaseEvent(models.Model):
    """One step in a case's history: who did what, when, from which state to which, and why.

    Append-only. It is also the outbox's source: notifications are written in the same transaction.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=32)
    from_state = models.CharField(_("from"), max_length=16, blank=True)
    to_state = models.CharField(_("to"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="caseevent_case_time_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_state}→{self.to_state}"


class CasePhoto(models.Model):
    class Kind(models.TextChoices):
        BEFORE = "before", _("Before (report)")
        AFTER = "after", _("After (handling)")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    image = models.FileField(_("image"), upload_to="cases/%Y/%m/")
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    exif_lng = models.FloatField(null=True, blank=True)
    exif_lat = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case photo")
        verbose_name_plural = _("case photos")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.sha256[:8]}"


class CaseNumberSequence(models.Model):
    """The last sequence number given per district and year (110102-2026-000123)."""

    district_code = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district_code", "year"], name="case_number_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.district_code}-{self.year}: {self.last}"


class IntakeKey(models.Model):
    """An ``Idempotency-Key`` (or a sensor's device id + sequence) already used to create a case."""

    key = models.CharField(max_length=200)
    client = models.CharField(
        max_length=150, help_text=_("Who sent the key: a user id or a device id.")
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text=_(
            "SHA-256 of the report the key came with: the same key with another report is refused."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="cases_intakekey_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client}:{self.key}"


class Notification(models.Model):
    """The outbox: written in the transaction that caused it, sent after commit by the worker."""

    class Channel(models.TextChoices):
        INBOX = "inbox", _("In-app inbox")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        WECOM = "wecom", _("WeCom")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (retrying)")
        GAVE_UP = "gave_up", _("Failed for good")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            # The sender: "pending or failed notifications due now".
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            # The inbox page (cases.inbox.inbox_list): "my notifications, newest first".
            models.Index(
                fields=["recipient", "channel", "-created_at"], name="notification_inbox_idx"
            ),
            # The header's unread badge (cases.inbox.inbox_unread_count), on every page.
            models.Index(
                fields=["recipient"],
                name="notification_unread_idx",
                condition=models.Q(channel="inbox", read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient_id}: {self.subject}"
