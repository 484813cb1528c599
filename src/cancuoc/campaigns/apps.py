from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "cancuoc.campaigns"
    verbose_name = _("Issuance campaigns")

    def ready(self) -> None:
        # The one signal campaigns listen to: attendance comes from enrolment.
        from cancuoc.campaigns.signals import on_enrolment_completed
        from cancuoc.enrolment.signals import enrolment_completed

        enrolment_completed.connect(
            on_enrolment_completed, dispatch_uid="campaigns.invitation_attended"
        )
