"""Citizen-facing records: service ratings, complaints and throttling counters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cancuoc.units.models import Unit


class Score(models.TextChoices):
    VERY_SATISFIED = "very_satisfied", _("Very satisfied")
    SATISFIED = "satisfied", _("Satisfied")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")


class Rating(models.Model):
    """The citizen's rating of one returned dossier; one per dossier, never edited."""

    dossier = models.OneToOneField(
        "dossiers.Dossier", on_delete=models.CASCADE, related_name="rating"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64)
    score = models.CharField(_("rating"), max_length=14, choices=Score.choices)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("rated at"), auto_now_add=True)

    scope_path_lookup = "unit_path"

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        indexes = [
            models.Index(
                fields=["unit_path"], name="rating_path", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.score}"


class ComplaintKind(models.TextChoices):
    PROCESS = "process", _("About the process")
    OFFICER = "officer", _("About an officer")
    FEEDBACK = "feedback", _("Feedback or suggestion")


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("Being handled")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class ComplaintTerm(models.Model):
    """How many working days a unit has to answer a complaint, from a date (law as data)."""

    valid_from = models.DateField(_("valid from"), unique=True)
    working_days = models.PositiveSmallIntegerField(_("working days to answer"))
    source = models.CharField(_("source"), max_length=255, blank=True)

    class Meta:
        ordering = ["valid_from"]
        verbose_name = _("complaint term")
        verbose_name_plural = _("complaint terms")

    def __str__(self) -> str:
        return f"{self.valid_from}: {self.working_days} d"


class Complaint(models.Model):
    code = models.CharField(_("code"), max_length=24, unique=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64)
    dossier = models.ForeignKey(
        "dossiers.Dossier",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=ComplaintKind.choices)
    officer_named = models.CharField(_("officer concerned"), max_length=200, blank=True)
    text = models.TextField(_("content"))
    contact_name = models.CharField(_("name"), max_length=200)
    contact_phone = models.CharField(_("phone"), max_length=15, blank=True)
    status = models.CharField(
        _("status"),
        max_length=11,
        choices=ComplaintStatus.choices,
        default=ComplaintStatus.RECEIVED,
    )
    received_at = models.DateTimeField(_("received at"))
    due_date = models.DateField(_("answer due"))
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path_lookup = "unit_path"

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            models.Index(
                fields=["unit_path", "status"],
                name="complaint_path_status",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return self.code


class ThrottleCounter(models.Model):
    """How many hits one throttle key (a code, an address) has taken in its current window.

    One row per key, locked with SELECT ... FOR UPDATE while a request checks and counts
    its hit, so parallel requests are counted one after the other (see portal.throttle).
    A row whose window has passed counts as zero; stale rows are pruned as they are seen.
    """

    key = models.CharField(max_length=120, unique=True)
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.hits} until {self.expires_at:%H:%M}"
