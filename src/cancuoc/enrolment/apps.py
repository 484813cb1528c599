from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrolmentConfig(AppConfig):
    name = "cancuoc.enrolment"
    verbose_name = _("ID-card enrolment")

    def ready(self) -> None:
        # Card applications follow their dossier's steps (approve → card, return → delivered).
        from cancuoc.enrolment import hooks

        hooks.install()
