"""Printed forms of the one-stop desk (Mẫu 01–06), rendered to PDF with WeasyPrint.

Which template prints which form is data: a `FormVersion` row maps a form number and a
version (the circular that set its layout) to a template file, a paper size and the
dates it is in force. A dossier prints with the version in force on the day it was
received, so a new circular's layout is a new template folder plus rows here (or in
the admin), never a code change.

The forms are legal documents whose wording is fixed by the circular, so their text
lives in the templates in Vietnamese and is not translated with the interface.
Fonts are referenced by family name ("DejaVu Serif", shipped by Debian's
fonts-dejavu-core), which has every Vietnamese glyph; no font file is in the repository.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import segno
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError
from cancuoc.core.spreadsheets import xlsx_row
from cancuoc.dossiers.models import Dossier, DossierStatus, DossierTransition, FormVersion
from cancuoc.units.models import Unit

PRINTABLE_FORMS = ("01", "02", "03", "04", "05")
TRACKING_LOG_FORM = "06"
#: Above this many rows the tracking log is offered as Excel only: a PDF of tens of
#: thousands of rows takes minutes to lay out and nobody prints it.
TRACKING_LOG_PDF_MAX_ROWS = 2000
#: The longest period one tracking log covers (a year, with room for a leap day).
TRACKING_LOG_MAX_DAYS = 366
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class FormDefault:
    form: str
    version: str
    title: str
    template_name: str
    paper: str
    valid_from: dt.date
    valid_to: dt.date | None = None


# Circular 01/2018/TT-VPCP (domain §5 [V]: the six forms, 01–05 on A5, 06 on A4).
# Its effective date (8 January 2019) is [M]; a dossier received earlier falls back to the
# oldest version, see `form_version_for`. Whether Circular 03/2025/TT-VPCP renumbered the
# forms is unknown: when its layout is known, add a template folder and rows for it.
_TT01_2018 = "TT01-2018"
_TT01_FROM = dt.date(2019, 1, 8)
DEFAULT_FORM_VERSIONS: tuple[FormDefault, ...] = tuple(
    FormDefault(
        form, _TT01_2018, title, f"dossiers/forms/tt01-2018/mau{form}.html", paper, _TT01_FROM
    )
    for form, title, paper in (
        ("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", FormVersion.Paper.A5),
        ("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", FormVersion.Paper.A5),
        ("03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ", FormVersion.Paper.A5),
        ("04", "Phiếu xin lỗi và hẹn lại ngày trả kết quả", FormVersion.Paper.A5),
        ("05", "Phiếu kiểm soát quá trình giải quyết hồ sơ", FormVersion.Paper.A5),
        ("06", "Sổ theo dõi hồ sơ", FormVersion.Paper.A4),
    )
)

_TYPE_PREFIXES = ("Thành phố ", "Tỉnh ", "Xã ", "Phường ", "Thị trấn ", "Đặc khu ", "Huyện ")


class FormNotApplicable(DomainError):
    """The form has nothing to print for this dossier (e.g. an apology never made)."""

    default_message = _("This form does not apply to this dossier.")


class PeriodInvalid(DomainError):
    default_message = _("Give a valid period: a start and an end date, at most a year apart.")


class TooManyRows(DomainError):
    default_message = _("Too many dossiers for a PDF; download the Excel file instead.")


# --- Form versions --------------------------------------------------------------------


def form_versions_ensure() -> int:
    """Create the default FormVersion rows that are missing; returns how many were created.

    Idempotent and never overwrites a row an administrator has edited.
    """
    created = 0
    with transaction.atomic():
        for default in DEFAULT_FORM_VERSIONS:
            _, was_created = FormVersion.objects.get_or_create(
                form=default.form,
                version=default.version,
                defaults={
                    "title": default.title,
                    "template_name": default.template_name,
                    "paper": default.paper,
                    "valid_from": default.valid_from,
                    "valid_to": default.valid_to,
                },
            )
            created += int(was_created)
    return created


def form_version_for(*, form: str, on: dt.date) -> FormVersion:
    """The version of `form` in force on `on`; the oldest one for a date before them all.

    Seeds the defaults on first use so a fresh database prints without a setup step.
    """
    versions = FormVersion.objects.filter(form=form)
    if not versions.exists():
        form_versions_ensure()
    in_force = (
        versions.filter(valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("-valid_from")
        .first()
    )
    chosen = in_force or versions.order_by("valid_from").first()
    if chosen is None:
        raise FormNotApplicable()
    return chosen


# --- Which forms a dossier has --------------------------------------------------------


def forms_applicable(*, dossier: Dossier, transitions: Sequence[DossierTransition]) -> list[str]:
    """The forms (of 01–05) that have content for this dossier, for the desk's links."""
    actions = {t.action for t in transitions}
    forms = []
    if dossier.status != DossierStatus.REJECTED_AT_INTAKE:
        forms.append("01")
    if "supplement_request" in actions:
        forms.append("02")
    if dossier.status == DossierStatus.REJECTED_AT_INTAKE or "refuse" in actions:
        forms.append("03")
    if "apologise" in actions or dossier.apology_due_date is not None:
        forms.append("04")
    forms.append("05")
    return forms


# --- Small formatting helpers used by the templates ------------------------------------


def place_name(unit: Unit) -> str:
    """ "Xã Thạch Hà" -> "Thạch Hà", for the "<place>, ngày … tháng … năm …" line."""
    for prefix in _TYPE_PREFIXES:
        if unit.name.startswith(prefix):
            return unit.name[len(prefix) :]
    return unit.name


def vn_date(day: dt.date) -> str:
    """ "ngày 05 tháng 03 năm 2025", as the forms write a date."""
    return f"ngày {day:%d} tháng {day:%m} năm {day:%Y}"


def vn_datetime(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%H} giờ {local:%M} phút, {vn_date(local.date())}"


def qr_svg(url: str) -> SafeString:
    """An inline SVG QR code of `url` (segno writes safe, self-contained markup)."""
    return mark_safe(segno.make(url, error="m").svg_inline(scale=2, border=2))


def _documents(dossier: Dossier, transitions: Sequence[DossierTransition]) -> list[str]:
    """The papers received: as recorded at receipt, else the procedure's required list."""
    recorded: Any = next(
        (t.data.get("documents") for t in transitions if t.action in ("receive", "on_the_spot")),
        None,
    )
    items = recorded if recorded else dossier.procedure.required_documents
    return _as_lines(items)


def _as_lines(items: Any) -> list[str]:
    if not items:
        return []
    if isinstance(items, str):
        return [line.strip() for line in items.splitlines() if line.strip()]
    lines = []
    for item in items:
        if isinstance(item, dict):
            text = item.get("name") or item.get("title") or ""
            copies = item.get("copies") or item.get("quantity")
            lines.append(f"{text} ({copies})" if copies else str(text))
        else:
            lines.append(str(item))
    return [line for line in lines if line]


def _last(transitions: Sequence[DossierTransition], *actions: str) -> DossierTransition | None:
    found = [t for t in transitions if t.action in actions]
    return found[-1] if found else None


def _step_date(step: DossierTransition | None) -> str:
    return vn_date(timezone.localtime(step.at).date()) if step is not None else ""


def _reason(step: DossierTransition | None) -> str:
    if step is None:
        return ""
    return str(step.data.get("reason") or step.note or "")


# --- Forms 01–05 ----------------------------------------------------------------------


def form_context(
    *,
    dossier: Dossier,
    form: str,
    transitions: Sequence[DossierTransition],
    lookup_url: str,
) -> dict[str, Any]:
    """Everything a form template may print; raises FormNotApplicable for an empty form."""
    if form not in forms_applicable(dossier=dossier, transitions=transitions):
        raise FormNotApplicable()
    received = timezone.localtime(dossier.received_at)
    apology = _last(transitions, "apologise")
    supplement = _last(transitions, "supplement_request")
    refusal = _last(transitions, "refuse", "reject_intake")
    return {
        "dossier": dossier,
        "procedure": dossier.procedure,
        "procedure_version": dossier.procedure_version,
        "unit": dossier.receiving_unit,
        "competent_unit": dossier.unit,
        "parent_unit": dossier.receiving_unit.parent,
        "place": place_name(dossier.receiving_unit),
        "transitions": list(transitions),
        "received": received,
        "received_text": vn_datetime(dossier.received_at),
        "due_text": vn_date(dossier.due_date),
        "documents": _documents(dossier, transitions),
        "lookup_url": lookup_url,
        "qr_svg": qr_svg(lookup_url) if lookup_url else "",
        "missing": _as_lines(supplement.data.get("missing") if supplement else None)
        or _as_lines(supplement.note if supplement else ""),
        "supplement": supplement,
        "refusal": refusal,
        "refusal_reason": _reason(refusal),
        "apology": apology,
        "apology_reason": _reason(apology),
        "apology_date_text": vn_date(dossier.apology_due_date) if dossier.apology_due_date else "",
        "supplement_date_text": _step_date(supplement),
        "refusal_date_text": _step_date(refusal),
        "apology_made_text": _step_date(apology),
        "today_text": vn_date(timezone.localdate()),
    }


def form_pdf(
    *,
    dossier: Dossier,
    form: str,
    transitions: Sequence[DossierTransition],
    lookup_url: str = "",
) -> bytes:
    """The PDF of form `form` (01–05) for `dossier`, in the layout in force at receipt."""
    version = form_version_for(form=form, on=timezone.localtime(dossier.received_at).date())
    context = form_context(
        dossier=dossier, form=form, transitions=transitions, lookup_url=lookup_url
    )
    context.update(_step_dates(context["transitions"]))
    context["form_version"] = version
    return html_to_pdf(render_to_string(version.template_name, context))


def form_print(*, actor: Any, dossier: Dossier, form: str, lookup_url: str) -> bytes:
    """Render form `form` of a dossier the caller already fetched through the scoped
    selector, and record the print: the forms carry the applicant's personal data."""
    transitions = list(dossier.transitions.all())
    content = form_pdf(dossier=dossier, form=form, transitions=transitions, lookup_url=lookup_url)
    audit_record(actor=actor, action="dossier.form_print", obj=dossier, detail={"form": form})
    return content


def _step_dates(transitions: Iterable[DossierTransition]) -> dict[str, Any]:
    """Each step with its local time, for the control sheet (Mẫu 05)."""
    steps = [
        {"step": t, "at_text": vn_datetime(t.at), "at": timezone.localtime(t.at)}
        for t in transitions
    ]
    return {"steps": steps}


def html_to_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango at import time, which pages never need.
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()  # type: ignore[no-any-return]


# --- Form 06: the tracking log --------------------------------------------------------


@dataclass(frozen=True)
class LogRow:
    number: int
    code: str
    procedure: str
    copies: int
    applicant: str
    contact: str
    competent_unit: str
    received: dt.datetime
    due: dt.date
    transferred: dt.datetime | None
    result_ready: dt.datetime | None
    returned: dt.datetime | None
    note: str


LOG_HEADERS = (
    "STT",
    "Mã hồ sơ",
    "Tên thủ tục hành chính",
    "Số lượng hồ sơ (bộ)",
    "Tên cá nhân, tổ chức",
    "Địa chỉ, số điện thoại",
    "Cơ quan chủ trì giải quyết",
    "Nhận hồ sơ",
    "Hẹn trả kết quả",
    "Chuyển hồ sơ đến cơ quan giải quyết",
    "Nhận kết quả từ cơ quan giải quyết",
    "Trả kết quả cho cá nhân, tổ chức",
    "Ghi chú",
)


def tracking_log_rows(dossiers: QuerySet[Dossier]) -> Iterable[LogRow]:
    """One row per dossier, in receipt order; the step dates come from one query.

    `dossiers` must already be scoped (the caller got it from the dossier selectors).
    """
    from django.db.models import Min

    annotated = (
        dossiers.select_related("procedure", "unit")
        .annotate(
            transferred_at=Min("transitions__at", filter=Q(transitions__action="transfer")),
            ready_at=Min("transitions__at", filter=Q(transitions__action="result_ready")),
        )
        .order_by("received_at", "pk")
    )
    for number, d in enumerate(annotated.iterator(chunk_size=2000), start=1):
        yield LogRow(
            number=number,
            code=d.code,
            procedure=d.procedure.name,
            copies=1,
            applicant=d.applicant_name,
            contact=", ".join(part for part in (d.applicant_address, d.applicant_phone) if part),
            competent_unit=d.unit.name,
            received=timezone.localtime(d.received_at),
            due=d.due_date,
            transferred=_local(d.transferred_at),  # type: ignore[attr-defined]
            result_ready=_local(d.ready_at),  # type: ignore[attr-defined]
            returned=_local(d.returned_at),
            note=_log_note(d),
        )


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(moment) if moment is not None else None


def _log_note(dossier: Dossier) -> str:
    labels = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Trễ hạn"}
    if dossier.timeliness:
        return labels.get(dossier.timeliness, "")
    if dossier.status == DossierStatus.WITHDRAWN:
        return "Rút hồ sơ"
    if dossier.status == DossierStatus.REJECTED_AT_INTAKE:
        return "Từ chối tiếp nhận"
    return ""


def period_parse(raw_from: str, raw_to: str) -> tuple[dt.date, dt.date]:
    try:
        date_from, date_to = dt.date.fromisoformat(raw_from), dt.date.fromisoformat(raw_to)
    except ValueError:
        raise PeriodInvalid() from None
    if date_to < date_from or (date_to - date_from).days > TRACKING_LOG_MAX_DAYS:
        raise PeriodInvalid()
    return date_from, date_to


def tracking_log_export(
    *, user: Any, date_from: dt.date, date_to: dt.date, fmt: str
) -> tuple[bytes, str]:
    """Mẫu 06 of the dossiers the user may see, received in the period; (content, filename).

    Goes through the scoped dossier selector; the export is audited like any personal-data
    read. Raises TooManyRows for a PDF longer than anyone would print.
    """
    from cancuoc.dossiers import selectors

    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=timezone.get_current_timezone())
    end = dt.datetime.combine(
        date_to + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
    )
    dossiers = selectors.dossier_list(user=user).filter(received_at__gte=start, received_at__lt=end)
    unit = user.unit
    if fmt == "pdf":
        if dossiers.count() > TRACKING_LOG_PDF_MAX_ROWS:
            raise TooManyRows()
        content = tracking_log_pdf(
            unit=unit, rows=list(tracking_log_rows(dossiers)), date_from=date_from, date_to=date_to
        )
    else:
        content = tracking_log_xlsx(
            unit=unit, rows=tracking_log_rows(dossiers), date_from=date_from, date_to=date_to
        )
    audit_record(
        actor=user,
        action="dossier.tracking_log",
        unit=unit,
        detail={"from": date_from.isoformat(), "to": date_to.isoformat(), "format": fmt},
    )
    return content, f"so-theo-doi-{date_from:%Y%m%d}-{date_to:%Y%m%d}.{fmt}"


def tracking_log_pdf(
    *, unit: Unit, rows: Sequence[LogRow], date_from: dt.date, date_to: dt.date
) -> bytes:
    version = form_version_for(form=TRACKING_LOG_FORM, on=date_from)
    html = render_to_string(
        version.template_name,
        {
            "unit": unit,
            "parent_unit": unit.parent,
            "rows": rows,
            "headers": LOG_HEADERS,
            "date_from": date_from,
            "date_to": date_to,
            "form_version": version,
        },
    )
    return html_to_pdf(html)


def tracking_log_xlsx(
    *, unit: Unit, rows: Iterable[LogRow], date_from: dt.date, date_to: dt.date
) -> bytes:
    """Mẫu 06 as a spreadsheet: a write-only workbook, so memory stays flat for any size."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sổ theo dõi hồ sơ")
    title = [
        ["Mẫu số 06"],
        [f"SỔ THEO DÕI HỒ SƠ — {unit.name}"],
        [f"Từ ngày {date_from:%d/%m/%Y} đến ngày {date_to:%d/%m/%Y}"],
        list(LOG_HEADERS),
    ]
    for line in title:
        sheet.append(xlsx_row(sheet, line))
    for row in rows:
        sheet.append(
            xlsx_row(
                sheet,
                [
                    row.number,
                    row.code,
                    row.procedure,
                    row.copies,
                    row.applicant,
                    row.contact,
                    row.competent_unit,
                    _naive(row.received),
                    row.due,
                    _naive(row.transferred),
                    _naive(row.result_ready),
                    _naive(row.returned),
                    row.note,
                ],
            )
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _naive(moment: dt.datetime | None) -> dt.datetime | None:
    """Excel has no time zones: write the Vietnam wall-clock time."""
    return moment.replace(tzinfo=None) if moment is not None else None
