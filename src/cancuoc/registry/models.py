"""The population registry: citizens, households, identity documents, and the work
around them (imports, data-quality findings, corrections).

Large tables carry `province_code` (the 2025 two-digit code of the province the
record belongs to) so that a distributed PostgreSQL can shard by province, and
`unit_path` (the path of the unit the record is scoped to) so that unit scoping is
one indexed prefix match without a join.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cancuoc.units.models import Unit


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class BirthPrecision(models.TextChoices):
    """Old records often know only the year, or the month and year, of a birth."""

    DAY = "day", _("Full date")
    MONTH = "month", _("Month and year")
    YEAR = "year", _("Year only")


class LifeStatus(models.TextChoices):
    ALIVE = "alive", _("Alive")
    DECEASED = "deceased", _("Deceased")


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    SIBLING = "sibling", _("Sibling")
    OTHER = "other", _("Other")


class Household(models.Model):
    province_code = models.CharField(max_length=2, db_index=True)
    number = models.CharField(_("household number"), max_length=32, unique=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64, db_index=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    head = models.ForeignKey(
        "Citizen", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    scope_path_lookup = "unit_path"

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.number


class Citizen(models.Model):
    province_code = models.CharField(max_length=2)
    id_number = models.CharField(_("personal ID number"), max_length=12, unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    # Lower case, no diacritics, đ→d (core.text.fold): what "nguyen thi hang" matches.
    search_name = models.CharField(max_length=200)
    birth_date = models.DateField(
        _("birth date"), null=True, blank=True, help_text=_("The first day of the known period.")
    )
    birth_precision = models.CharField(
        max_length=5, choices=BirthPrecision.choices, default=BirthPrecision.DAY
    )
    birth_year = models.SmallIntegerField(_("birth year"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=50, blank=True)
    religion = models.CharField(_("religion"), max_length=50, blank=True)
    nationality = models.CharField(_("nationality"), max_length=50, default="Việt Nam")
    birth_registration_place = models.CharField(
        _("place of birth registration"), max_length=255, blank=True
    )
    place_of_origin = models.CharField(_("place of origin"), max_length=255, blank=True)
    permanent_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("permanent residence")
    )
    permanent_address = models.CharField(_("permanent address"), max_length=255, blank=True)
    current_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("current residence"),
    )
    current_address = models.CharField(_("current address"), max_length=255, blank=True)
    # The path of the unit the citizen lives in now (current, else permanent residence):
    # that unit invites them, so that unit sees them.
    unit_path = models.CharField(max_length=64)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    relationship = models.CharField(
        _("relationship to the head"), max_length=12, choices=Relationship.choices, blank=True
    )
    phone = models.CharField(_("phone"), max_length=15, blank=True)
    life_status = models.CharField(
        _("life status"), max_length=8, choices=LifeStatus.choices, default=LifeStatus.ALIVE
    )
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    # Vulnerability flags decide who gets a home visit.
    frail_elderly = models.BooleanField(_("elderly, frail"), default=False)
    disability = models.BooleanField(_("disability"), default=False)
    serious_illness = models.BooleanField(_("serious illness"), default=False)
    living_alone = models.BooleanField(_("living alone"), default=False)
    war_merit = models.BooleanField(_("war-merit family"), default=False)
    school = models.CharField(_("school"), max_length=200, blank=True)
    grade = models.CharField(_("grade"), max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_path_lookup = "unit_path"

    class Meta:
        verbose_name = _("citizen")
        verbose_name_plural = _("citizens")
        indexes = [
            models.Index(
                fields=["unit_path", "search_name"],
                name="citizen_path_name",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["search_name"],
                name="citizen_search_name",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["province_code", "birth_year"], name="citizen_prov_year"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.id_number})"


class FormerNumber(models.Model):
    """A cancelled earlier personal ID number (e.g. a wrong prefix corrected)."""

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="former_numbers")
    number = models.CharField(max_length=12, db_index=True)
    cancelled_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.number


class DocumentKind(models.TextChoices):
    CMND9 = "cmnd9", _("9-digit ID card (CMND)")
    CMND12 = "cmnd12", _("12-digit ID card (CMND)")
    CCCD_BARCODE = "cccd_barcode", _("Citizen ID card with barcode")
    CCCD_CHIP = "cccd_chip", _("Citizen ID card with chip")
    CANCUOC = "cancuoc", _("Identity card (căn cước)")


class DocumentStatus(models.TextChoices):
    # Enrolled: the intake is done and the card is being made; the citizen is not invited again.
    ENROLLED = "enrolled", _("Enrolled, awaiting production")
    IN_PRODUCTION = "in_production", _("In production")
    VALID = "valid", _("Valid")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    LOST = "lost", _("Reported lost")


class IdentityDocument(models.Model):
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="documents")
    province_code = models.CharField(max_length=2)
    kind = models.CharField(_("kind"), max_length=12, choices=DocumentKind.choices)
    number = models.CharField(_("number"), max_length=12, db_index=True)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    issue_place = models.CharField(_("issued by"), max_length=255, blank=True)
    # Null: valid for life (issued after the holder turned 58 under the 2-year rule).
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=14, choices=DocumentStatus.choices, default=DocumentStatus.VALID
    )

    class Meta:
        verbose_name = _("identity document")
        verbose_name_plural = _("identity documents")
        indexes = [models.Index(fields=["citizen", "status"], name="document_citizen_status")]
        # No unique key on (citizen, kind, number): a chip CCCD or căn cước carries the
        # personal ID number, so a renewed card repeats the number of the one it replaces.

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    file_format = models.CharField(max_length=4, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.IntegerField(default=0)
    processed_rows = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    scope_path_lookup = "unit_path"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.IntegerField()
    field = models.CharField(max_length=50, blank=True)
    value = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=40)
    message_vi = models.CharField(max_length=255)
    message_en = models.CharField(max_length=255)

    class Meta:
        ordering = ["row_number", "id"]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.code}"


class QualityRun(models.Model):
    """One recomputation of the data-quality rules for a unit subtree."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    scope_path_lookup = "unit_path"

    def __str__(self) -> str:
        return f"quality {self.unit_path} {self.created_at:%Y-%m-%d %H:%M}"


class QualityFinding(models.Model):
    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="findings")
    province_code = models.CharField(max_length=2)
    unit_path = models.CharField(max_length=64)
    rule = models.CharField(max_length=40)
    citizen = models.ForeignKey(
        Citizen, null=True, on_delete=models.CASCADE, related_name="quality_findings"
    )
    household = models.ForeignKey(Household, null=True, on_delete=models.CASCADE, related_name="+")
    detail = models.CharField(max_length=255, blank=True)

    scope_path_lookup = "unit_path"

    class Meta:
        indexes = [models.Index(fields=["run", "rule"], name="finding_run_rule")]

    def __str__(self) -> str:
        return f"{self.rule} {self.citizen_id or self.household_id}"


class Correction(models.Model):
    """A proposed change to a citizen's record, applied only when another officer approves."""

    class Kind(models.TextChoices):
        CHANGE = "change", _("Change")
        CORRECT = "correct", _("Correction")
        SUPPLEMENT = "supplement", _("Supplement")
        DEATH = "death", _("Death registration")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="corrections")
    province_code = models.CharField(max_length=2)
    unit_path = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # {"field": {"before": ..., "after": ...}}; values as strings (dates ISO).
    changes = models.JSONField(default=dict)
    reason = models.TextField(_("reason"))
    evidence = models.TextField(_("evidence"), blank=True)
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    scope_path_lookup = "unit_path"

    class Meta:
        ordering = ["-proposed_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.citizen_id} ({self.status})"
