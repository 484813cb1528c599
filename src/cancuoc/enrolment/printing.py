"""The intake's printed forms: CC01 (the declaration the citizen checks and signs) and
CC02 (the appointment slip with the return date), rendered with WeasyPrint.

The same approach as the desk's forms (dossiers/printing.py): Vietnamese legal wording
in the templates (not translated with the interface), "DejaVu Serif" for every
Vietnamese glyph, and one audit row per print, since both forms carry personal data.
Form numbers and titles follow domain.md §3 (the 2023 law's intake: the citizen signs
CC01, the officer issues appointment slip CC02); the layout is ours.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.core.audit import audit_record
from cancuoc.dossiers.printing import html_to_pdf, place_name, vn_date, vn_datetime
from cancuoc.enrolment.models import Application, ApplicationKind
from cancuoc.enrolment.selectors import application_get
from cancuoc.enrolment.services._common import EnrolmentError, age_on, local_day
from cancuoc.enrolment.services.intake import confirmed_snapshot

_KIND_WORDS: dict[str, str] = {
    ApplicationKind.FIRST: "Cấp thẻ",
    ApplicationKind.RENEW: "Đổi thẻ",
    ApplicationKind.REISSUE: "Cấp lại thẻ",
}
_SEX_WORDS = {"M": "Nam", "F": "Nữ"}


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _context(application: Application) -> dict[str, Any]:
    data = application.confirmed_data or confirmed_snapshot(application.citizen)
    birth = _day(data.get("birth_date", ""))
    unit = application.unit
    province = unit.parent if unit.parent and unit.parent.level > 0 else None
    started = application.started_at
    return {
        "application": application,
        "citizen": application.citizen,
        "data": data,
        "birth_text": birth.strftime("%d/%m/%Y") if birth else "",
        "sex_text": _SEX_WORDS.get(data.get("sex", ""), ""),
        "kind_text": _KIND_WORDS.get(application.kind, ""),
        "law_text": "Luật Căn cước 2023"
        if application.law == "2023"
        else "Luật Căn cước công dân 2014",
        "card_name": "thẻ căn cước" if application.law == "2023" else "thẻ Căn cước công dân",
        "minor": birth is not None and age_on(birth, local_day(started)) < 14,
        "unit": unit,
        "province": province,
        "place": place_name(unit),
        "station": application.station,
        "operator": application.operator,
        "dossier": application.dossier,
        "started_text": vn_datetime(started),
        "today_text": vn_date(timezone.localdate()),
    }


def _print(
    actor: Any, application: Application, form: str, template: str, context: dict[str, Any]
) -> bytes:
    content = html_to_pdf(render_to_string(template, context))
    audit_record(
        actor=actor,
        action="enrolment.form_print",
        obj=application,
        unit=application.unit,
        detail={"form": form, "citizen": application.citizen_id},
    )
    return content


def form_cc01_pdf(*, actor: Any, application_id: Any) -> bytes:
    """Form CC01: the citizen's data as confirmed at step 1, to check and sign."""
    application = application_get(actor, application_id, audit=False)
    return _print(actor, application, "CC01", "enrolment/forms/cc01.html", _context(application))


def form_cc02_pdf(*, actor: Any, application_id: Any) -> bytes:
    """Form CC02: the appointment slip; the return date is the dossier's due date."""
    application = application_get(actor, application_id, audit=False)
    dossier = application.dossier
    if dossier is None:
        raise EnrolmentError(_("The appointment slip is printed once the intake is completed."))
    context = _context(application)
    context.update(
        due_text=vn_date(dossier.due_date),
        received_text=vn_datetime(dossier.received_at),
        post=dossier.return_method == "post",
    )
    return _print(actor, application, "CC02", "enrolment/forms/cc02.html", context)
