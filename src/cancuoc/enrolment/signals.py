"""Signals other apps listen to. Campaigns mark the citizen's invitation attended."""

from django.dispatch import Signal

#: Sent inside the completing transaction: kwargs ``application``, ``citizen``, ``at``.
enrolment_completed = Signal()
