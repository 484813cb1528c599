"""Administrative units as a dated tree.

Two editions live side by side: the pre-2025 three-level set (province →
district → commune, valid until 2025-06-30) and the 2025 two-level set
(province → commune). Every unit carries a materialised `path` such as
``/2025/42/18073/`` so that "this unit and everything below it" is one
indexed prefix match; every unit-scoped query in the system relies on it.
The national root has the path ``/`` and therefore contains everything.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Edition(models.TextChoices):
    NATION = "", _("Nation")
    Y2021 = "2021", _("Before 1 July 2025 (three levels)")
    Y2025 = "2025", _("From 1 July 2025 (two levels)")


class Level(models.IntegerChoices):
    NATION = 0, _("Nation")
    PROVINCE = 1, _("Province")
    DISTRICT = 2, _("District")
    COMMUNE = 3, _("Commune")


class UnitType(models.TextChoices):
    NATION = "nation", _("Nation")
    PROVINCE = "province", _("Province")  # tỉnh
    CITY = "city", _("Centrally-governed city")  # thành phố trực thuộc trung ương
    URBAN_DISTRICT = "urban_district", _("Urban district")  # quận
    RURAL_DISTRICT = "rural_district", _("Rural district")  # huyện
    TOWN = "town", _("District-level town")  # thị xã
    PROVINCIAL_CITY = "provincial_city", _("Provincial city")  # thành phố thuộc tỉnh
    COMMUNE = "commune", _("Commune")  # xã
    WARD = "ward", _("Ward")  # phường
    TOWNSHIP = "township", _("Township")  # thị trấn
    SPECIAL_ZONE = "special_zone", _("Special zone")  # đặc khu


class Unit(models.Model):
    edition = models.CharField(_("edition"), max_length=4, choices=Edition.choices, blank=True)
    code = models.CharField(_("code"), max_length=8)
    name = models.CharField(_("name"), max_length=120)
    search_name = models.CharField(max_length=120, db_index=True, editable=False)
    unit_type = models.CharField(_("type"), max_length=20, choices=UnitType.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=64, unique=True, editable=False)
    # Two-digit province code of the edition; lets large tables filter by province.
    province_code = models.CharField(max_length=2, blank=True, db_index=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    # The scoping helper matches user prefixes against this lookup.
    scope_path_lookup = "path"

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="unit_edition_code_unique"),
        ]
        indexes = [
            # varchar_pattern_ops makes LIKE 'prefix%' use the index on PostgreSQL
            # whatever the database collation; other databases ignore the opclass.
            models.Index(
                fields=["path"], name="unit_path_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["parent", "name"], name="unit_parent_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class UnitSuccession(models.Model):
    """An old unit was merged into (or renamed as) a newer one on a given date."""

    predecessor = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="successions")
    successor = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="predecessions")
    effective = models.DateField(_("effective"))

    class Meta:
        verbose_name = _("unit succession")
        verbose_name_plural = _("unit successions")
        constraints = [
            models.UniqueConstraint(
                fields=["predecessor", "successor"], name="unit_succession_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.predecessor} → {self.successor}"
