"""Enrolment state: stations and their sessions, card applications with their step timings
and biometric captures, encrypted biometric blobs, cards, production batches and the
offline push receipts.

The one invariant the database itself guards: a citizen holds at most one *open* card
application (``enrolment_one_open_application``), so two stations enrolling the same
citizen at once cannot both win, whatever the code above does.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cancuoc.registry.models import Citizen, IdentityDocument
from cancuoc.units.models import Unit


class StationKind(models.TextChoices):
    FIXED = "fixed", _("Fixed, at an office")
    MOBILE = "mobile", _("Mobile, with a team")


class Station(models.Model):
    """An enrolment station: one laptop or desk with its set of devices."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=StationKind.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="stations")
    unit_path = models.CharField(max_length=64, db_index=True)
    province_code = models.CharField(max_length=2)
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="stations", verbose_name=_("operators")
    )
    # The token a station laptop pulls and pushes with; its digest also keys the HMAC
    # that signs push batches (see enrolment/offline/signing.py).
    token = models.ForeignKey(
        "accounts.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Which adapter serves each device kind, and the simulator's knobs (see devices/).
    device_profile = models.JSONField(_("device profile"), default=dict, blank=True)
    # Quality policy (MOSIP practice, domain.md §3): finger score threshold, retries
    # before an exception is allowed, face score threshold.
    finger_threshold = models.PositiveSmallIntegerField(_("finger quality threshold"), default=40)
    finger_retries = models.PositiveSmallIntegerField(_("retries per finger"), default=3)
    face_threshold = models.PositiveSmallIntegerField(_("face quality threshold"), default=90)
    # MOSIP's registration default for iris quality (mosip.registration.iris_threshold).
    iris_threshold = models.PositiveSmallIntegerField(_("iris quality threshold"), default=60)
    # An offline station warns at the limit and refuses new work beyond it.
    max_days_unsynced = models.PositiveSmallIntegerField(_("days without sync allowed"), default=3)
    max_unsent = models.PositiveIntegerField(_("unsent enrolments allowed"), default=300)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("enrolment station")
        verbose_name_plural = _("enrolment stations")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StationSession(models.Model):
    """A station at work on one day (one shift or a whole day)."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="sessions")
    unit_path = models.CharField(max_length=64, db_index=True)
    day = models.DateField(_("day"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    # Filled once campaigns (issue 6) exist: the campaign session this one serves.
    campaign_session_ref = models.CharField(max_length=64, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("station session")
        verbose_name_plural = _("station sessions")
        ordering = ["-day", "-opened_at"]

    def __str__(self) -> str:
        return f"{self.station.code} {self.day:%d/%m/%Y}"


class ApplicationKind(models.TextChoices):
    FIRST = "first", _("First card or conversion")
    RENEW = "renew", _("Renewal")
    REISSUE = "reissue", _("Re-issue")


class ApplicationStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("Intake in progress")
    COMPLETED = "completed", _("Intake completed")
    APPROVED = "approved", _("Approved, card in production")
    DELIVERED = "delivered", _("Card delivered")
    CANCELLED = "cancelled", _("Cancelled")
    REFUSED = "refused", _("Refused")
    # An offline enrolment pushed for a citizen who meanwhile got an open application
    # elsewhere: kept whole, outside the open set, until a supervisor decides.
    CONFLICT = "conflict", _("Conflict, awaiting a supervisor")


#: The statuses in which an application blocks another one for the same citizen.
OPEN_STATUSES = (
    ApplicationStatus.IN_PROGRESS,
    ApplicationStatus.COMPLETED,
    ApplicationStatus.APPROVED,
)


class Step(models.TextChoices):
    CONFIRM = "confirm", _("Confirm the data")
    FINGERPRINTS = "fingerprints", _("Fingerprints")
    FACE = "face", _("Face and iris")
    REVIEW = "review", _("Review")
    SIGN = "sign", _("Sign")


class Application(models.Model):
    """One card application: the intake at a station and what follows it."""

    # Generated by the client (a station may be offline), so a push is idempotent.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="card_applications")
    province_code = models.CharField(max_length=2)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="applications")
    session = models.ForeignKey(
        StationSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applications",
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=ApplicationKind.choices)
    law = models.CharField(_("law"), max_length=4)  # "2014" or "2023", by the start date
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.IN_PROGRESS,
    )
    step = models.CharField(_("current step"), max_length=12, choices=Step.choices)
    guardian_name = models.CharField(_("guardian"), max_length=200, blank=True)
    guardian_id_number = models.CharField(_("guardian's ID number"), max_length=12, blank=True)
    # The registry data as the citizen confirmed it at step 1 (the card prints this).
    confirmed_data = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    offline = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)
    dossier = models.OneToOneField(
        "dossiers.Dossier",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="card_application",
    )
    conflict_with = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("card application")
        verbose_name_plural = _("card applications")
        constraints = [
            models.UniqueConstraint(
                fields=["citizen"],
                condition=Q(status__in=[str(status) for status in OPEN_STATUSES]),
                name="enrolment_one_open_application",
            )
        ]
        indexes = [
            models.Index(fields=["unit_path", "status"], name="application_scope_status"),
            models.Index(fields=["station", "started_at"], name="application_station_time"),
        ]

    def __str__(self) -> str:
        return f"{self.citizen_id} {self.get_status_display()}"


class StepTiming(models.Model):
    """When a step started and ended, and how much of it the software itself took."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=12, choices=Step.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    server_ms = models.PositiveIntegerField(default=0)
    retries = models.PositiveSmallIntegerField(default=0)
    exceptions = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "step"], name="step_timing_once")
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.step}"


class BiometricBlob(models.Model):
    """One encrypted image, addressed by the SHA-256 of its plain bytes.

    The ciphertext lives in the biometric store (enrolment/biostore.py), never in the
    database and never in a log.
    """

    digest = models.CharField(max_length=64, primary_key=True)
    province_code = models.CharField(max_length=2)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    stored_at = models.DateTimeField(auto_now_add=True)
    retain_until = models.DateField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.digest[:12]


class CaptureKind(models.TextChoices):
    SLAP = "slap", _("Flat slap")
    ROLLED = "rolled", _("Rolled print")
    FACE = "face", _("Face photo")
    IRIS = "iris", _("Iris")
    SIGNATURE = "signature", _("Signature")


class FingerException(models.TextChoices):
    MISSING = "missing", _("Missing")
    AMPUTATED = "amputated", _("Amputated")
    BANDAGED = "bandaged", _("Bandaged")
    WORN = "worn", _("Worn, unreadable")


class EyeException(models.TextChoices):
    MISSING = "missing", _("Missing eye")
    BLIND = "blind", _("Blind eye")
    INJURED = "injured", _("Injured or bandaged eye")
    UNREADABLE = "unreadable", _("Unreadable after the retries")


#: Every reason a capture may be replaced by a signed exception (fingers and eyes).
EXCEPTION_CHOICES = [
    *FingerException.choices,
    *[(value, label) for value, label in EyeException.choices if value not in FingerException],
]


class Capture(models.Model):
    """One attempt at one capture (a finger, a slap, the face, an eye, the signature)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="captures")
    kind = models.CharField(max_length=10, choices=CaptureKind.choices)
    # Finger codes R1–R5, L1–L5 (thumb = 1); slaps RS, LS, TS; iris R, L; "" otherwise.
    position = models.CharField(max_length=4, blank=True)
    attempt = models.PositiveSmallIntegerField()
    quality = models.PositiveSmallIntegerField(null=True, blank=True)
    accepted = models.BooleanField(default=False)
    blob = models.ForeignKey(
        BiometricBlob, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    exception = models.CharField(max_length=10, choices=EXCEPTION_CHOICES, blank=True)
    exception_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    device = models.CharField(max_length=80, blank=True)
    captured_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "position", "attempt"], name="capture_attempt_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.position} #{self.attempt}"


class CardStatus(models.TextChoices):
    IN_PRODUCTION = "in_production", _("In production")
    READY = "ready", _("Ready for collection")
    DELIVERED = "delivered", _("Handed over")
    CANCELLED = "cancelled", _("Cancelled")


class ProductionBatch(models.Model):
    """One export file sent to the printing centre."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_format = models.CharField(max_length=4)
    count = models.PositiveIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} ({self.count})"


class Card(models.Model):
    """The card made for an approved application."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="card")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="cards")
    province_code = models.CharField(max_length=2)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64, db_index=True)
    number = models.CharField(_("card number"), max_length=12)
    issue_date = models.DateField(_("issue date"))
    # Null: valid for life.
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    mrz = models.CharField(max_length=92)
    qr_payload = models.TextField()
    status = models.CharField(
        _("status"), max_length=14, choices=CardStatus.choices, default=CardStatus.IN_PRODUCTION
    )
    document = models.OneToOneField(
        IdentityDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="card"
    )
    batch = models.ForeignKey(
        ProductionBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="cards"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        indexes = [models.Index(fields=["unit_path", "status"], name="card_scope_status")]

    def __str__(self) -> str:
        return self.number


class PushBatch(models.Model):
    """The receipt of one offline push batch: a replay is answered from here."""

    id = models.UUIDField(primary_key=True)  # chosen by the station
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="push_batches")
    digest = models.CharField(max_length=64)  # SHA-256 of the signed body
    received_at = models.DateTimeField(auto_now_add=True)
    result = models.JSONField(default=dict)

    def __str__(self) -> str:
        return str(self.id)
