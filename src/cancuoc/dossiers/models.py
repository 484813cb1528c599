"""The one-stop desk: the procedure catalogue, dossiers and their history.

A procedure's processing time and fee change with the law, so they live in
dated `ProcedureVersion` rows; a dossier keeps the version in force when it was
received. The status of a dossier changes only through `dossiers.services`,
which checks the transition table in `dossiers.lifecycle` and writes one
`DossierTransition` row per step: those rows are the processing control sheet.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cancuoc.core.text import fold
from cancuoc.units.models import Unit


class OnlineLevel(models.TextChoices):
    FULL = "full", _("Entirely online (toàn trình)")
    PARTIAL = "partial", _("Partly online (một phần)")
    NONE = "none", _("Not online")


class CompetentLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    COMMUNE = "commune", _("Commune")


class Area(models.TextChoices):
    """Area variants of the processing time (the 2014 ID law had them)."""

    ALL = "", _("All areas")
    CITY = "city", _("Cities and towns")
    OTHER = "other", _("Other areas")
    REMOTE = "remote", _("Mountain, border and island areas")


class Procedure(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=255)
    search_name = models.CharField(max_length=255)
    field = models.CharField(_("field"), max_length=100)
    competent_level = models.CharField(
        _("competent level"), max_length=8, choices=CompetentLevel.choices
    )
    result_type = models.CharField(_("result"), max_length=255, blank=True)
    online_level = models.CharField(
        _("online service"), max_length=7, choices=OnlineLevel.choices, default=OnlineLevel.NONE
    )
    on_the_spot = models.BooleanField(_("can be done on the spot"), default=False)
    required_documents = models.JSONField(_("required documents"), default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ProcedureVersion(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="versions")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    area = models.CharField(_("area"), max_length=6, choices=Area.choices, blank=True, default="")
    processing_days = models.PositiveSmallIntegerField(_("processing time (working days)"))
    fee = models.PositiveIntegerField(_("fee (đồng)"), default=0)
    fee_note = models.CharField(_("fee note"), max_length=255, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=255, blank=True)

    class Meta:
        ordering = ["procedure", "valid_from", "area"]
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "valid_from", "area"], name="procedure_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.procedure.code} from {self.valid_from} ({self.processing_days} d)"


class DeskSettings(models.Model):
    """Per-unit desk settings: the identifier printed in dossier codes and the code pattern."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="desk_settings")
    identifier = models.CharField(_("unit identifier"), max_length=40)
    # Placeholders: {identifier}, {yymmdd}, {yyyymmdd}, {seq} (zero-padded by {seq:04d}).
    code_pattern = models.CharField(
        _("dossier code pattern"), max_length=80, default="{identifier}-{yymmdd}-{seq:04d}"
    )
    area = models.CharField(_("area"), max_length=6, choices=Area.choices, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.identifier}"


class DossierSequence(models.Model):
    """The last sequence number used per unit and day; locked row by row under concurrency."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "day"], name="dossier_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day}: {self.last}"


class WorkdayAdjustment(models.Model):
    """An official swap or extra day off on top of the statutory holidays (editable data)."""

    day = models.DateField(_("day"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=255, blank=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'work' if self.is_working_day else 'off'}"


class Channel(models.TextChoices):
    COUNTER = "counter", _("At the counter")
    MOBILE = "mobile", _("Mobile session")
    HOME_VISIT = "home_visit", _("Home visit")
    SCHOOL = "school", _("At a school")
    POST = "post", _("By post")
    ONLINE_FULL = "online_full", _("Online (entirely)")
    ONLINE_PARTIAL = "online_partial", _("Online (partly)")
    HAMLET = "hamlet", _("Assisted filing at the hamlet office")


class ReturnMethod(models.TextChoices):
    COUNTER = "counter", _("At the counter")
    POST = "post", _("By post to the home")
    ONLINE = "online", _("Online")


class DossierStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    TRANSFERRED = "transferred", _("Transferred")
    IN_APPRAISAL = "in_appraisal", _("In appraisal")
    SUPPLEMENT_REQUESTED = "supplement", _("Awaiting documents")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    SIGNED = "signed", _("Signed and stamped")
    RESULT_READY = "result_ready", _("Result ready")
    RETURNED = "returned", _("Returned")
    REJECTED_AT_INTAKE = "rejected", _("Refused at intake")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Timeliness(models.TextChoices):
    EARLY = "early", _("Early")
    ON_TIME = "on_time", _("On time")
    LATE = "late", _("Late")


class FeeStatus(models.TextChoices):
    NONE = "none", _("No fee")
    DUE = "due", _("Due")
    PAID = "paid", _("Paid")
    EXEMPT = "exempt", _("Exempted")


class DeliveryStatus(models.TextChoices):
    NONE = "", _("—")
    WAITING = "waiting", _("Waiting for the courier")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Not delivered")


class Dossier(models.Model):
    code = models.CharField(_("dossier code"), max_length=60, unique=True)
    province_code = models.CharField(max_length=2)
    # The competent unit that resolves the dossier (Decree 118/2025: may differ from the
    # unit that received it). Scoping and reports follow this unit.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64)
    receiving_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="dossiers")
    procedure_version = models.ForeignKey(
        ProcedureVersion, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=14, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=12, choices=DossierStatus.choices)
    # The applicant: from the registry when known, else entered by hand.
    citizen = models.ForeignKey(
        "registry.Citizen", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applicant_name = models.CharField(_("applicant"), max_length=200)
    # core.text.fold(applicant_name): what a clerk typing "nguyen thi hang" matches.
    applicant_search = models.CharField(max_length=200, blank=True, default="")
    applicant_id_number = models.CharField(_("ID number"), max_length=12, blank=True)
    applicant_phone = models.CharField(_("phone"), max_length=15, blank=True)
    applicant_address = models.CharField(_("address"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The legal due date (receipt + N working days + paused days). An apology sets
    # `apology_due_date` but never moves `due_date`: an apologised dossier is still late.
    due_date = models.DateField(_("due date"))
    apology_due_date = models.DateField(_("new date after apology"), null=True, blank=True)
    paused_days = models.PositiveSmallIntegerField(default=0)
    paused_since = models.DateField(null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    timeliness = models.CharField(
        _("timeliness"), max_length=7, choices=Timeliness.choices, blank=True
    )
    return_method = models.CharField(
        _("return method"), max_length=7, choices=ReturnMethod.choices, default=ReturnMethod.COUNTER
    )
    delivery_address = models.CharField(_("delivery address"), max_length=255, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    delivery_status = models.CharField(
        _("delivery status"), max_length=10, choices=DeliveryStatus.choices, blank=True
    )
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    # Money is integer đồng.
    fee_amount = models.PositiveIntegerField(_("fee (đồng)"), default=0)
    fee_status = models.CharField(
        _("fee status"), max_length=6, choices=FeeStatus.choices, default=FeeStatus.NONE
    )
    fee_exemption_reason = models.CharField(_("exemption reason"), max_length=255, blank=True)
    fee_receipt_number = models.CharField(_("receipt number"), max_length=40, blank=True)
    fee_paid_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    # A form carries a one-time key; a second submission of the same form finds it taken.
    submission_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path_lookup = "unit_path"

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        indexes = [
            models.Index(
                fields=["unit_path", "status"],
                name="dossier_path_status",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
            models.Index(fields=["province_code", "received_at"], name="dossier_prov_received"),
            models.Index(fields=["due_date"], name="dossier_due"),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Kept here rather than in each service so no write path can forget it.
        self.applicant_search = fold(self.applicant_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "applicant_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "applicant_search"}
        super().save(*args, **kwargs)


class DossierTransition(models.Model):
    """One step of a dossier's history: who did what, when, from which status to which."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    actor_unit = models.ForeignKey(Unit, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class FormVersion(models.Model):
    """Which template prints which form (Mẫu 01–06) from which date.

    A new circular's layout is a new template file plus a row here; no code changes.
    """

    class Paper(models.TextChoices):
        A4 = "A4", "A4"
        A5 = "A5", "A5"

    form = models.CharField(_("form"), max_length=4)  # "01" … "06"
    version = models.CharField(_("version"), max_length=40)  # e.g. "TT01-2018"
    title = models.CharField(_("title"), max_length=255)
    template_name = models.CharField(max_length=200)
    paper = models.CharField(max_length=2, choices=Paper.choices, default=Paper.A5)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["form", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["form", "version"], name="form_version_unique")
        ]

    def __str__(self) -> str:
        return f"Mẫu {self.form} ({self.version})"
