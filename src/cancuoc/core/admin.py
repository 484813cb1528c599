"""The Django admin, held to the same rules as every page.

Access is by capability (not Django's is_staff/permissions), every queryset
goes through the unit scoping helper, and nothing can be changed here:
every model registers read-only, and changes go through the application
pages, which call the services (and so the audit log).
"""

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.models import AuditEntry
from cancuoc.core.scoping import scope_queryset


class CancuocAdminSite(admin.AdminSite):
    site_header = _("cancuoc administration")
    site_title = _("cancuoc")
    index_title = _("Administration")

    def has_permission(self, request: HttpRequest) -> bool:
        return user_can(request.user, Capability.ADMIN_SITE)


admin_site = CancuocAdminSite(name="admin")


class ScopedAdmin(admin.ModelAdmin):
    """Read-only by default, scoped to the user's unit subtree."""

    # Path lookup for scoping when the model's own scope_path_lookup does not apply.
    scope_lookup: str | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_queryset(
            super().get_queryset(request), user=request.user, lookup=self.scope_lookup
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_can(request.user, Capability.ADMIN_SITE)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return user_can(request.user, Capability.ADMIN_SITE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AuditEntry, site=admin_site)
class AuditEntryAdmin(ScopedAdmin):
    list_display = [
        "at",
        "actor_label",
        "action",
        "object_type",
        "object_repr",
        "unit",
        "client_address",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_repr", "object_id"]
    date_hierarchy = "at"
    list_select_related = ["unit"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return user_can(request.user, Capability.VIEW_AUDIT)
