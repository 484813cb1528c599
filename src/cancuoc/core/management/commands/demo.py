import importlib

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from cancuoc.core.demo import DEMO_PASSWORD, DEMO_STEPS, DemoContext


def _load_demo_modules() -> None:
    """Import each app's demo.py so its steps register, in INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        if config.name.startswith("cancuoc."):
            try:
                importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise


class Command(BaseCommand):
    help = "Load the demo: units, accounts for every role, and each module's realistic data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--province", default="42", help="2025 province code (default 42, Hà Tĩnh)"
        )
        parser.add_argument(
            "--second-province", default="96", help="second province (default 96, Cà Mau)"
        )
        parser.add_argument(
            "--people",
            type=int,
            default=100_000,
            help="citizens in the demo province's registry (default 100000)",
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing if accounts exist")

    def handle(self, *args, **options) -> None:
        from cancuoc.accounts.models import User

        translation.activate("vi")
        if options["if_empty"] and User.objects.exists():
            self.stderr.write("demo: the database already has accounts; nothing loaded")
            self._print_logins(
                [
                    (u.username, u.get_role_display(), u.unit.name)
                    for u in User.objects.select_related("unit").order_by("pk")
                ]
            )
            return
        _load_demo_modules()
        ctx = DemoContext(
            province_code=options["province"],
            second_province_code=options["second_province"],
            people=options["people"],
            out=lambda line: self.stderr.write(f"demo: {line}"),
        )
        for name, step in DEMO_STEPS:
            self.stderr.write(f"demo: {name}…")
            step(ctx)
        self._print_logins(ctx.logins)

    def _print_logins(self, logins: list[tuple[str, str, str]]) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})\n")
        width = max((len(name) for name, _, _ in logins), default=10)
        for username, role, unit in logins:
            self.stdout.write(f"  {username:<{width}}  {role:<28}  {unit}")
        self.stdout.write("")
