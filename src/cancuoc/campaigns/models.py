"""Campaign state.

Daily results are never counted from these tables: they come from the rollups that the
enrolment service (event "enrolment.completed", measure "enrolled") and manual entries
(measure "enrolled_manual") keep per unit and day; see campaigns/reports.py.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cancuoc.registry.models import Citizen
from cancuoc.units.models import Unit


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class TargetKind(models.TextChoices):
    NUMBER = "number", _("A number")
    COHORT = "cohort", _("The size of the cohort")


class Campaign(models.Model):
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="campaigns")
    unit_path = models.CharField(max_length=64, db_index=True)
    province_code = models.CharField(max_length=2, blank=True)
    start_date = models.DateField(_("start date"))
    deadline = models.DateField(_("deadline"))
    target_kind = models.CharField(
        _("target"), max_length=6, choices=TargetKind.choices, default=TargetKind.NUMBER
    )
    target = models.PositiveIntegerField(_("target"))
    law = models.CharField(_("law"), max_length=4, default="2023")  # "2014" or "2023"
    # The campaign's own calendar: the articles' campaigns worked weekends and holidays.
    open_weekends = models.BooleanField(_("open on weekends"), default=True)
    open_holidays = models.BooleanField(_("open on public holidays"), default=False)
    service_minutes = models.DecimalField(
        _("minutes per citizen"), max_digits=4, decimal_places=1, default=6
    )
    show_up_rate = models.PositiveSmallIntegerField(_("show-up rate (%)"), default=85)
    # Emulation (thi đua) score weights, e.g. {"quota": 60, "on_time": 25, "satisfaction": 15}.
    ranking_weights = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=6, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-start_date", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gte=F("start_date")), name="campaign_deadline_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CampaignDay(models.Model):
    """An exception to the campaign's calendar: a day opened or closed by decision."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="day_overrides")
    day = models.DateField()
    is_open = models.BooleanField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="campaign_day_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {'open' if self.is_open else 'closed'}"


class Allocation(models.Model):
    """A child unit's share of the campaign target; the shares sum to the target."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="allocations")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64)
    target = models.PositiveIntegerField(_("target"))
    due_population = models.PositiveIntegerField(_("due population"), default=0)
    edited = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "unit"], name="allocation_once")]

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.target}"


class QuotaOverride(models.Model):
    """A daily quota set by hand; other days take remaining target ÷ remaining days."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="quotas")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    quota = models.PositiveIntegerField(_("quota"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit", "day"], name="quota_once")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day}: {self.quota}"


class ManualCount(models.Model):
    """Results entered by hand for a unit not yet on the system, marked as manual."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="manual_counts")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64)
    day = models.DateField()
    received = models.PositiveIntegerField(_("received"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit", "day"], name="manual_count_once")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day}: {self.received}"


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="teams")
    unit_path = models.CharField(max_length=64, db_index=True)
    mobile = models.BooleanField(_("mobile"), default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="teams", verbose_name=_("members")
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EquipmentState(models.TextChoices):
    READY = "ready", _("Ready")
    IN_USE = "in_use", _("In use")
    REPAIR = "repair", _("Under repair")
    RETIRED = "retired", _("Retired")


class EquipmentSet(models.Model):
    """One enrolment kit: laptop, fingerprint scanner, camera, iris scanner, signature pad."""

    serial = models.CharField(_("serial"), max_length=40, unique=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="equipment_sets")
    unit_path = models.CharField(max_length=64, db_index=True)
    state = models.CharField(
        _("state"), max_length=8, choices=EquipmentState.choices, default=EquipmentState.READY
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="equipment_sets"
    )
    station = models.OneToOneField(
        "enrolment.Station",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="equipment_set",
    )

    class Meta:
        ordering = ["serial"]

    def __str__(self) -> str:
        return self.serial


class ShiftPattern(models.Model):
    """e.g. 3 shifts × 6 staff, or 4 shifts from 06:00; which weekdays; holidays on/off."""

    name = models.CharField(_("name"), max_length=120)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="shift_patterns")
    unit_path = models.CharField(max_length=64, db_index=True)
    # [{"start": "06:00", "end": "11:00", "staff": 6}, ...]
    shifts = models.JSONField(default=list)
    weekdays = models.JSONField(default=list)  # ISO weekdays 1–7 on which it runs
    on_holidays = models.BooleanField(_("works on public holidays"), default=False)

    def __str__(self) -> str:
        return self.name


class SiteKind(models.TextChoices):
    COMMUNE_OFFICE = "commune_office", _("Commune office")
    SCHOOL = "school", _("School")
    ENTERPRISE = "enterprise", _("Enterprise")
    AGENCY = "agency", _("Agency")
    VILLAGE_HALL = "village_hall", _("Village hall")
    HOME = "home", _("Home visit")


class SessionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    # Not plain "Open"/"Closed": those already mean something else on the desk's pages.
    OPEN = "open", _("Session open")
    CLOSED = "closed", _("Session ended")
    CANCELLED = "cancelled", _("Cancelled")


class Session(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sessions")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64, db_index=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="sessions")
    site_kind = models.CharField(_("site"), max_length=16, choices=SiteKind.choices)
    site_name = models.CharField(_("place"), max_length=200)
    mobile = models.BooleanField(_("mobile"), default=False)
    day = models.DateField(_("day"))
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("to"))
    # [{"start": "07:00", "end": "11:00", "staff": 6}]; empty: one shift start→end.
    shifts = models.JSONField(default=list, blank=True)
    sets = models.PositiveSmallIntegerField(_("equipment sets"), default=1)
    equipment = models.ManyToManyField(EquipmentSet, blank=True, related_name="sessions")
    service_minutes = models.DecimalField(max_digits=4, decimal_places=1, default=6)
    capacity = models.PositiveIntegerField(_("capacity"), default=0)
    status = models.CharField(
        _("status"), max_length=9, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "start_time"]
        indexes = [models.Index(fields=["team", "day"], name="session_team_day")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="session_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} {self.site_name}"


class Slot(models.Model):
    """A time window of a session. ``booked`` is a counter that never passes ``capacity``:
    booking is one conditional UPDATE, so concurrent bookers cannot overbook."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="slots")
    start = models.TimeField()
    end = models.TimeField()
    capacity = models.PositiveIntegerField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["session", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="slot_not_overbooked"
            ),
            models.UniqueConstraint(fields=["session", "start"], name="slot_start_once"),
        ]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M} ({self.booked}/{self.capacity})"


class InvitationStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    REMINDED = "reminded", _("Reminded")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("Did not come")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    CANCELLED = "cancelled", _("Cancelled")


#: Statuses in which an invitation holds a slot and blocks a second invitation.
LIVE_INVITATION_STATUSES = (
    InvitationStatus.INVITED,
    InvitationStatus.REMINDED,
    InvitationStatus.RESCHEDULED,
    InvitationStatus.ATTENDED,
)


class Invitation(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitations")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="invitations")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="invitations")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="invitations")
    unit_path = models.CharField(max_length=64, db_index=True)
    # Printed on the notice and typed into the portal with the last 6 digits of the ID.
    code = models.CharField(_("invitation code"), max_length=12, unique=True)
    status = models.CharField(
        _("status"),
        max_length=11,
        choices=InvitationStatus.choices,
        default=InvitationStatus.INVITED,
    )
    priority = models.CharField(_("priority group"), max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    application = models.ForeignKey(
        "enrolment.Application",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "citizen"],
                condition=Q(status__in=[str(s) for s in LIVE_INVITATION_STATUSES]),
                name="invitation_one_live_per_citizen",
            )
        ]
        indexes = [models.Index(fields=["session", "status"], name="invitation_session_status")]

    def __str__(self) -> str:
        return self.code


class NoticeJob(models.Model):
    """A background batch of printed invitation notices (PDF), with progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="notice_jobs")
    unit_path = models.CharField(max_length=64, db_index=True)
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL)
    per_page = models.PositiveSmallIntegerField(default=1)
    invitation_ids = models.JSONField(default=list)
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    stored_path = models.CharField(max_length=500, blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.done}/{self.total}"


class OutboundMessage(models.Model):
    """An SMS/Zalo message handed to a gateway; the default gateway only logs it."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="messages")
    unit_path = models.CharField(max_length=64, db_index=True)
    channel = models.CharField(max_length=8)  # "sms" | "zalo"
    phone = models.CharField(max_length=15)
    text = models.TextField()
    gateway = models.CharField(max_length=40)
    sent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.channel} {self.phone}"
