"""Enrolment API, one router per feature; mounted at /api/v1/enrolment."""

from ninja import Router

router = Router(tags=["enrolment"])
