"""Dossiers built straight with the ORM, so portal and form tests do not depend on the
desk services' details. Shared with tests/dossiers/test_forms*.py."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from cancuoc.core.workdays import VN_TZ
from cancuoc.dossiers.models import Dossier, DossierTransition, Procedure, ProcedureVersion
from cancuoc.units.models import Unit

_seq = itertools.count(1)

APPLICANT = "Nguyễn Thị Hằng"
PHONE = "0912345678"
ID_NUMBER = "042190001234"


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def procedure(code: str = "1.001612", name: str = "Đăng ký khai sinh", days: int = 3) -> Procedure:
    proc, _ = Procedure.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "search_name": name.lower(),
            "field": "Hộ tịch",
            "competent_level": "commune",
            "required_documents": ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"],
        },
    )
    ProcedureVersion.objects.get_or_create(
        procedure=proc, valid_from=dt.date(2018, 1, 1), area="", defaults={"processing_days": days}
    )
    return proc


def dossier(
    *,
    unit: Unit,
    officer: Any,
    received: dt.datetime | None = None,
    due: dt.date = dt.date(2025, 8, 6),
    status: str = "received",
    steps: list[tuple[str, str, dt.datetime, dict[str, Any]]] = (),  # type: ignore[assignment]
    **fields: Any,
) -> Dossier:
    """A dossier received at `received`; `steps` are (action, to_status, at, data) after it."""
    proc = procedure()
    received = received or at(2025, 8, 1)
    values: dict[str, Any] = {
        "code": f"H42.18-250801-{next(_seq):04d}",
        "province_code": unit.province_code or "",
        "unit": unit,
        "unit_path": unit.path,
        "receiving_unit": unit,
        "procedure": proc,
        "procedure_version": proc.versions.first(),
        "channel": "counter",
        "status": status,
        "applicant_name": APPLICANT,
        "applicant_id_number": ID_NUMBER,
        "applicant_phone": PHONE,
        "applicant_address": "Thôn Đông, xã Thạch Hà",
        "received_at": received,
        "received_by": officer,
        "due_date": due,
    }
    values.update(fields)
    made = Dossier.objects.create(**values)
    first = "reject_intake" if status == "rejected" else "receive"
    first_status = "rejected" if status == "rejected" else "received"
    _step(made, officer, first, "", first_status, received, {})
    previous = first_status
    for action, to_status, when, data in steps:
        _step(made, officer, action, previous, to_status, when, data)
        previous = to_status
    return made


def _step(
    d: Dossier,
    officer: Any,
    action: str,
    from_status: str,
    to_status: str,
    when: dt.datetime,
    data: dict[str, Any],
) -> None:
    DossierTransition.objects.create(
        dossier=d,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=officer,
        actor_label=officer.get_username(),
        actor_unit=officer.unit,
        at=when,
        data=data,
    )


def returned(*, unit: Unit, officer: Any, timeliness: str = "early", **fields: Any) -> Dossier:
    """A dossier that went the whole way and was handed over on 5 August 2025."""
    steps = [
        ("transfer", "transferred", at(2025, 8, 1, 10), {}),
        ("appraise", "in_appraisal", at(2025, 8, 4, 9), {}),
        ("approve", "approved", at(2025, 8, 4, 14), {}),
        ("sign", "signed", at(2025, 8, 5, 8), {}),
        ("result_ready", "result_ready", at(2025, 8, 5, 9), {}),
        ("return", "returned", at(2025, 8, 5, 10), {"timeliness": timeliness}),
    ]
    return dossier(
        unit=unit,
        officer=officer,
        status="returned",
        steps=steps,
        returned_at=at(2025, 8, 5, 10),
        timeliness=timeliness,
        **fields,
    )
