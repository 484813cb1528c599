from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "cancuoc.dossiers"
    verbose_name = _("One-stop desk")
