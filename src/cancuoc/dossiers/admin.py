"""Read-only admin views of the one-stop desk (changes go through the services).

The catalogue and the working-day adjustments are national, public data, so they are
listed unscoped; dossiers and their history follow the competent unit's scope.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from cancuoc.core.admin import ScopedAdmin, admin_site
from cancuoc.dossiers.models import (
    DeskSettings,
    Dossier,
    DossierTransition,
    Procedure,
    ProcedureVersion,
    WorkdayAdjustment,
)


class PublicAdmin(ScopedAdmin):
    """Read-only, not scoped: national reference data that every officer may read."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return admin.ModelAdmin.get_queryset(self, request)


class ProcedureVersionInline(admin.TabularInline):
    model = ProcedureVersion
    extra = 0
    can_delete = False
    fields = ["valid_from", "valid_to", "area", "processing_days", "fee", "fee_note", "legal_basis"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Procedure, site=admin_site)
class ProcedureAdmin(PublicAdmin):
    list_display = ["code", "name", "field", "competent_level", "online_level", "on_the_spot"]
    list_filter = ["field", "competent_level", "online_level", "on_the_spot", "is_active"]
    search_fields = ["code", "name", "search_name"]
    inlines = [ProcedureVersionInline]


@admin.register(WorkdayAdjustment, site=admin_site)
class WorkdayAdjustmentAdmin(PublicAdmin):
    list_display = ["day", "is_working_day", "note", "source"]
    list_filter = ["is_working_day"]
    date_hierarchy = "day"


@admin.register(DeskSettings, site=admin_site)
class DeskSettingsAdmin(ScopedAdmin):
    list_display = ["unit", "identifier", "code_pattern", "area"]
    list_select_related = ["unit"]
    scope_lookup = "unit__path"


class DossierTransitionInline(admin.TabularInline):
    model = DossierTransition
    extra = 0
    can_delete = False
    fields = ("at", "action", "from_status", "to_status", "actor_label", "actor_unit", "note")
    readonly_fields = (
        "at",
        "action",
        "from_status",
        "to_status",
        "actor_label",
        "actor_unit",
        "note",
    )

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Dossier, site=admin_site)
class DossierAdmin(ScopedAdmin):
    list_display = [
        "code",
        "procedure",
        "applicant_name",
        "status",
        "received_at",
        "due_date",
        "timeliness",
        "unit",
    ]
    list_filter = ["status", "timeliness", "channel", "fee_status"]
    search_fields = ["code", "applicant_name", "applicant_id_number"]
    date_hierarchy = "received_at"
    list_select_related = ["procedure", "unit"]
    inlines = [DossierTransitionInline]
