"""Domain errors. Services raise them; views show `message` to the user as is."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule was broken; nothing was changed. `message` is translated for the user."""

    default_message = _("The action was refused.")

    def __init__(self, message: str | None = None) -> None:
        self.message = message or str(self.default_message)
        super().__init__(self.message)


class PermissionDenied(DomainError):
    default_message = _("You are not allowed to do this.")


class OutOfScope(DomainError):
    """The object lies outside the actor's unit; views turn this into a 404."""

    default_message = _("Not found.")
