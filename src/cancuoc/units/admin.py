from django.contrib import admin

from cancuoc.core.admin import ScopedAdmin, admin_site
from cancuoc.units.models import Unit, UnitSuccession


@admin.register(Unit, site=admin_site)
class UnitAdmin(ScopedAdmin):
    list_display = ["code", "name", "unit_type", "edition", "valid_from", "valid_to"]
    list_filter = ["edition", "level", "unit_type"]
    search_fields = ["code", "name", "search_name"]
    readonly_fields = ["path", "search_name"]


@admin.register(UnitSuccession, site=admin_site)
class UnitSuccessionAdmin(ScopedAdmin):
    list_display = ["predecessor", "successor", "effective"]
    list_select_related = ["predecessor", "successor"]
    scope_lookup = "successor__path"
