from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Role


class User(AbstractUser):
    """An officer. Belongs to exactly one unit and has exactly one role."""

    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="users", verbose_name=_("unit")
    )

    scope_path_lookup = "unit__path"
    REQUIRED_FIELDS = ["email", "role", "unit"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username


class LoginFailure(models.Model):
    """A failed login, kept for throttling. Old rows are pruned on each check."""

    username = models.CharField(max_length=150, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username}@{self.client_address} {self.at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for an integration. Only a SHA-256 digest is stored.

    The integration acts as `user`, with that user's role and unit scope.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the raw token, shown so people can tell tokens apart.
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    scope_path_lookup = "user__unit__path"

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
