"""Builders for one-stop desk tests; other test modules may import them.

``procedure(...)`` makes a procedure with one version in force; ``received_dossier(...)``
receives a dossier through the real service (so codes, due dates, transitions and events
are exactly what production writes); ``advance(...)`` walks it along the main path.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from cancuoc.core.workdays import VN_TZ
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers import services
from cancuoc.dossiers.models import (
    Channel,
    CompetentLevel,
    Dossier,
    OnlineLevel,
    Procedure,
    ProcedureVersion,
)

_seq = itertools.count(1)

#: The main path from ``received`` to ``returned`` and the role that does each step.
MAIN_PATH: tuple[str, ...] = (
    lc.TRANSFER,
    lc.APPRAISE,
    lc.APPROVE,
    lc.SIGN,
    lc.RESULT_READY_ACTION,
    lc.RETURN,
)


#: The main-path action that moves a dossier on from each open status.
NEXT_ON_MAIN_PATH: dict[str, str] = {
    lc.RECEIVED: lc.TRANSFER,
    lc.TRANSFERRED: lc.APPRAISE,
    lc.IN_APPRAISAL: lc.APPROVE,
    lc.APPROVED: lc.SIGN,
    lc.REFUSED: lc.SIGN,
    lc.SIGNED: lc.RESULT_READY_ACTION,
    lc.RESULT_READY: lc.RETURN,
}


def local(
    year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0
) -> dt.datetime:
    """An aware datetime in Vietnam time."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)


def procedure(
    *,
    code: str | None = None,
    name: str = "Thủ tục thử nghiệm",
    days: int = 5,
    fee: int = 0,
    on_the_spot: bool = False,
    valid_from: dt.date = dt.date(2020, 1, 1),
    valid_to: dt.date | None = None,
    area: str = "",
    field: str = "Hộ tịch",
    competent_level: str = CompetentLevel.COMMUNE,
) -> Procedure:
    """A procedure with one version (``days`` working days, ``fee`` đồng) in force."""
    code = code or f"9.{next(_seq):06d}"
    proc, _ = Procedure.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "search_name": name.lower(),
            "field": field,
            "competent_level": competent_level,
            "online_level": OnlineLevel.PARTIAL,
            "on_the_spot": on_the_spot,
            "required_documents": ["Tờ khai"],
        },
    )
    ProcedureVersion.objects.create(
        procedure=proc,
        valid_from=valid_from,
        valid_to=valid_to,
        area=area,
        processing_days=days,
        fee=fee,
    )
    return proc


def received_dossier(
    *,
    actor: Any,
    proc: Procedure | None = None,
    at: dt.datetime | None = None,
    applicant_name: str = "Nguyễn Văn An",
    channel: str = Channel.COUNTER,
    **kwargs: Any,
) -> Dossier:
    """A dossier received by ``actor`` through ``services.dossier_receive``."""
    proc = proc or procedure()
    return services.dossier_receive(
        actor=actor,
        procedure_code=proc.code,
        applicant_name=applicant_name,
        channel=channel,
        at=at,
        **kwargs,
    )


def advance(
    dossier: Dossier,
    *,
    clerk: Any,
    appraiser: Any,
    approver: Any,
    until: str = lc.RETURNED,
    at: dt.datetime | None = None,
) -> Dossier:
    """Walk ``dossier`` along the main path from its status to ``until`` (all at ``at``)."""
    who = {
        lc.TRANSFER: clerk,
        lc.APPRAISE: appraiser,
        lc.APPROVE: approver,
        lc.SIGN: approver,
        lc.RESULT_READY_ACTION: clerk,
        lc.RETURN: clerk,
    }
    while dossier.status != until:
        action = NEXT_ON_MAIN_PATH[dossier.status]
        dossier = services.dossier_act(
            actor=who[action], dossier_id=dossier.pk, action=action, at=at
        )
    return dossier


class Desk:
    """The officers of one commune's desk: a clerk, an appraiser and an approver."""

    def __init__(self, unit: Any, prefix: str) -> None:
        from cancuoc.accounts.roles import Role
        from tests import factories

        self.unit = unit
        self.clerk = factories.user(unit=unit, role=Role.ONE_STOP_CLERK, username=f"{prefix}_clerk")
        self.appraiser = factories.user(
            unit=unit, role=Role.APPRAISER, username=f"{prefix}_appraiser"
        )
        self.approver = factories.user(unit=unit, role=Role.APPROVER, username=f"{prefix}_approver")

    def who(self, action: str) -> Any:
        """The officer of this desk whose role does ``action``."""
        from cancuoc.accounts.roles import Capability

        needed = lc.ACTION_CAPABILITY[action]
        if needed == Capability.APPRAISE_DOSSIER:
            return self.appraiser
        if needed == Capability.APPROVE_DOSSIER:
            return self.approver
        return self.clerk

    def advance(self, dossier: Dossier, *, until: str = lc.RETURNED, at: Any = None) -> Dossier:
        return advance(
            dossier,
            clerk=self.clerk,
            appraiser=self.appraiser,
            approver=self.approver,
            until=until,
            at=at,
        )
