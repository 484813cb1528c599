from django.contrib import admin

from cancuoc.accounts.models import ApiToken, User
from cancuoc.core.admin import ScopedAdmin, admin_site


@admin.register(User, site=admin_site)
class UserAdmin(ScopedAdmin):
    """Read-only: accounts change through the Users page, which audits and checks roles."""

    list_display = ["username", "full_name", "role", "unit", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "full_name"]
    list_select_related = ["unit"]
    exclude = ["password", "user_permissions", "groups"]


@admin.register(ApiToken, site=admin_site)
class ApiTokenAdmin(ScopedAdmin):
    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    exclude = ["digest"]
