"""Who a read-only console command runs as.

Report commands (`cancuoc report`, `cancuoc cohort`) run on the server, whose operator
already holds the whole database: without `--user` they see the nation, as a stand-in
national administrator. `--user NAME` runs them in that account's scope instead.
Commands that write (`cancuoc quality`) always name an account, so the audit log does.
"""

from __future__ import annotations

from typing import Any

from django.core.management import CommandError

from cancuoc.accounts.roles import Role


class ConsoleOperator:
    """A stand-in user with national scope; never saved, never the actor of a write."""

    is_authenticated = True
    is_active = True
    role = Role.SYSTEM_ADMIN
    pk = None

    def __init__(self, unit: Any) -> None:
        self.unit = unit
        self.unit_id = unit.pk

    def get_username(self) -> str:
        return "console"


def console_user(username: str) -> Any:
    """The active account named `username`, or the national operator when it is empty."""
    from cancuoc.accounts.models import User
    from cancuoc.units.models import Unit

    if not username:
        nation = Unit.objects.filter(path="/").first()
        if nation is None:
            raise CommandError("no units: run `cancuoc import-units` first")
        return ConsoleOperator(nation)
    user = User.objects.select_related("unit").filter(username=username).first()
    if user is None or not user.is_active:
        raise CommandError(f"no active account {username!r}")
    return user
