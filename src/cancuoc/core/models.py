"""The audit log and the event stream with its daily rollups.

Both tables are append-only. Migrations add database triggers that refuse
UPDATE and DELETE, so not even a bug or an admin can rewrite history.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    # Kept as text too, so the entry still reads right if the account is renamed.
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    unit = models.ForeignKey(
        "units.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("unit"),
    )
    # The unit's path at the time, so scoping needs no join; empty = national.
    unit_path = models.CharField(max_length=64, blank=True, default="/")
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    scope_path_lookup = "unit_path"

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(
                fields=["unit_path"], name="audit_path", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class Event(models.Model):
    """A state change that reports count: dossier received, enrolment completed..."""

    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=64, db_index=True)
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    # What the counts are about, e.g. "procedure:1.000494" or "campaign:ha-tinh-2021".
    subject = models.CharField(max_length=100)
    # The increments this event contributes to the daily rollups: {"received": 1}.
    measures = models.JSONField(default=dict)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["unit", "day"], name="event_unit_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.subject}"


class DailyRollup(models.Model):
    """Sum of event measures per (unit, day, subject, measure). Reports read only these."""

    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64)
    day = models.DateField()
    subject = models.CharField(max_length=100)
    measure = models.CharField(max_length=40)
    value = models.BigIntegerField(default=0)

    scope_path_lookup = "unit_path"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "day", "subject", "measure"], name="rollup_key_unique"
            ),
        ]
        indexes = [
            # Reports ask for one subject under a unit path over a range of days:
            # equality, then a prefix range, then a range, all inside one index.
            models.Index(
                fields=["subject", "unit_path", "day"],
                name="rollup_subject_path_day",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", "date_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id} {self.subject} {self.measure}={self.value}"
