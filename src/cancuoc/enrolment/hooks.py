"""The enrolment's reaction to dossier steps, registered with the dossier engine.

A card application is a dossier: when the desk approves, refuses, withdraws, marks the
result ready or returns it, the application and its card follow inside the same
transaction (``cancuoc.dossiers.hooks`` runs hooks there), so the two never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def dossier_step(*, dossier: Any, action: str, actor: Any, at: dt.datetime) -> None:
    # Imported late: the services import models, which apps.ready() must not force early.
    from cancuoc.enrolment.services.cards import on_dossier_step

    on_dossier_step(dossier=dossier, action=action, actor=actor, at=at)


def install() -> None:
    """Register the hook (idempotent; called from ``EnrolmentConfig.ready``)."""
    from cancuoc.dossiers import hooks

    hooks.register(dossier_step)
