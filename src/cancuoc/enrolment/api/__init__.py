"""Enrolment API, one router per feature; mounted at /api/v1/enrolment."""

from ninja import Router

from cancuoc.enrolment.api import applications, stations, sync

router = Router(tags=["enrolment"])
for feature in (stations, applications, sync):
    router.add_router("", feature.router)
