"""Printed invitation notices (PDF, 1, 2 or 4 to an A4 page, with a QR code) and the
SMS/Zalo messages that go with them.

Why not WeasyPrint. The desk's forms go through WeasyPrint, and so did the first notices;
measured on this project's machine, WeasyPrint lays out 1,000 notices in 17–26 s (1 or 4 a
page, one HTML document per batch, no QR code: 12 s), so 10,000 would take 3–4 minutes,
and the target is 60 s. A notice is a dozen short lines at fixed places, which needs no
layout engine. So a notice is written straight into the PDF: the wording comes from the
template ``campaigns/notices/notice.txt`` (one element a line, rendered by Django per
notice), text is set in DejaVu Sans (embedded once, subset to the glyphs used, with a
ToUnicode map so the text can be searched and copied) with widths from the font's own
metrics, and the QR code is drawn as filled rectangles. 1,000 notices take about a second
(see the module's benchmark note in the report of issue 6).

The job runs in the background (`tasks.notices_render_task`, enqueued after commit) and
reports progress in ``NoticeJob.done`` / ``total``.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pydyf
import segno
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability
from cancuoc.campaigns import lifecycle
from cancuoc.campaigns.gateways import CHANNELS, gateway_get
from cancuoc.campaigns.models import Campaign, Invitation, NoticeJob, OutboundMessage, Session
from cancuoc.campaigns.services._common import CampaignError, require
from cancuoc.campaigns.services.invitations import code_display
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import path_in_scope, scope_queryset
from cancuoc.core.spreadsheets import csv_row

__all__ = [
    "PER_PAGE",
    "invitation_messages_send",
    "messages_export",
    "messages_send",
    "notice_job_get",
    "notices_pdf",
    "notices_render",
    "notices_start",
]

PER_PAGE = (1, 2, 4)
#: Notices written between two progress updates.
PROGRESS_EVERY = 500
MAX_NOTICES = 50_000
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_A4 = (595.28, 841.89)
_WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


class NoticeError(CampaignError):
    """Notices cannot be printed as asked."""


# --- What a notice says -----------------------------------------------------------------


def portal_url() -> str:
    """Where a citizen reschedules (setting ``CAMPAIGN_PORTAL_URL``, the public address of
    /portal/invitation/); empty when not configured: the QR code then holds the code."""
    return str(getattr(settings, "CAMPAIGN_PORTAL_URL", "") or "")


def _police(unit_name: str) -> str:
    return f"CÔNG AN {unit_name.upper()}"


def _masked(id_number: str) -> str:
    # The notice travels through other hands: only the last 6 digits, which the citizen
    # types into the portal with the code, and which they know anyway.
    return "•" * max(0, len(id_number) - 6) + id_number[-6:]


def notice_context(invitation: Invitation) -> dict[str, Any]:
    session, citizen, slot = invitation.session, invitation.citizen, invitation.slot
    birth = ""
    if citizen.birth_date is not None:
        precision = getattr(citizen, "birth_precision", "day")
        birth = (
            str(citizen.birth_date.year)
            if precision == "year"
            else citizen.birth_date.strftime("%m/%Y" if precision == "month" else "%d/%m/%Y")
        )
    url = portal_url()
    code = code_display(invitation.code)
    return {
        "police": _police(session.unit.name),
        "name": citizen.full_name.upper(),
        "birth": birth,
        "id_masked": _masked(citizen.id_number),
        "start": f"{slot.start:%H:%M}",
        "end": f"{slot.end:%H:%M}",
        "weekday": _WEEKDAYS[session.day.weekday()],
        "day": f"{session.day:%d/%m/%Y}",
        "site": session.site_name,
        "unit": session.unit.name,
        "code": code,
        # The notice is in Vietnamese whatever the interface language (template doc).
        "portal": url or "Cổng dịch vụ công",
        "qr": f"{url}?code={invitation.code}" if url else invitation.code,
        "phone": citizen.phone,
    }


# --- Fonts ------------------------------------------------------------------------------


class _Font:
    """A TrueType font's metrics and glyph ids, and the glyphs a document has used."""

    def __init__(self, path: Path) -> None:
        from fontTools.ttLib import TTFont

        font = TTFont(str(path), lazy=True)
        self.path = path
        self.name = font["name"].getDebugName(6) or path.stem
        self.upm = font["head"].unitsPerEm
        gids = font.getReverseGlyphMap()
        metrics = font["hmtx"].metrics
        cmap = font.getBestCmap()
        self.gid = {cp: gids[name] for cp, name in cmap.items()}
        self.advance = {cp: metrics[name][0] * 1000 / self.upm for cp, name in cmap.items()}
        self.missing = self.gid.get(ord("?"), 0)
        head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
        scale = 1000 / self.upm
        self.bbox = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self.ascent = round(hhea.ascent * scale)
        self.descent = round(hhea.descent * scale)
        self.cap_height = round(getattr(os2, "sCapHeight", hhea.ascent) * scale)
        # Encodings and widths are memoised per text: names, digits and the template's
        # words repeat from notice to notice.
        self._hex: dict[str, tuple[bytes, frozenset[int]]] = {}
        self._widths: dict[str, float] = {}

    def width(self, text: str, size: float) -> float:
        units = self._widths.get(text)
        if units is None:
            advance = self.advance
            units = sum(advance.get(ord(ch), 500) for ch in text)
            self._widths[text] = units
        return units * size / 1000

    def encode(self, text: str, used: set[int]) -> bytes:
        """The text as glyph ids (hex), adding its characters to ``used`` (the writer's
        set, from which the font is subset)."""
        cached = self._hex.get(text)
        if cached is None:
            gid = self.gid
            encoded = "".join(f"{gid.get(ord(ch), self.missing):04x}" for ch in text).encode()
            cached = (encoded, frozenset(ord(ch) for ch in text))
            self._hex[text] = cached
        used |= cached[1]
        return cached[0]


@lru_cache(maxsize=2)
def _font(bold: bool) -> _Font:
    return _Font(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"))


def _font_objects(pdf: pydyf.PDF, font: _Font, used: set[int], tag: str) -> pydyf.Dictionary:
    """Embed ``font`` subset to the ``used`` characters (glyph ids kept, so the content
    streams' ids stay valid) as a Type 0 font with Identity-H encoding."""
    from fontTools import subset

    # The subsetter reports every step at INFO level: not news for the campaign log.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    codepoints = sorted(cp for cp in used if cp in font.gid) or [ord(" ")]
    options = subset.Options()
    options.retain_gids = True
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    from fontTools.ttLib import TTFont

    ttf = TTFont(str(font.path))
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(ttf)
    data = io.BytesIO()
    ttf.save(data)
    raw = data.getvalue()
    file_stream = pydyf.Stream(
        [zlib.compress(raw)], {"Length1": len(raw), "Filter": "/FlateDecode"}
    )
    pdf.add_object(file_stream)
    base = f"/{tag}+{font.name.replace(' ', '')}"
    descriptor = pydyf.Dictionary(
        {
            "Type": "/FontDescriptor",
            "FontName": base,
            "Flags": 32,
            "FontBBox": pydyf.Array(font.bbox),
            "ItalicAngle": 0,
            "Ascent": font.ascent,
            "Descent": font.descent,
            "CapHeight": font.cap_height,
            "StemV": 80,
            "FontFile2": file_stream.reference,
        }
    )
    pdf.add_object(descriptor)
    widths = pydyf.Array()
    for cp in codepoints:
        widths.extend([font.gid[cp], pydyf.Array([round(font.advance[cp])])])
    cid_font = pydyf.Dictionary(
        {
            "Type": "/Font",
            "Subtype": "/CIDFontType2",
            "BaseFont": base,
            "CIDSystemInfo": pydyf.Dictionary(
                {
                    "Registry": pydyf.String("Adobe"),
                    "Ordering": pydyf.String("Identity"),
                    "Supplement": 0,
                }
            ),
            "FontDescriptor": descriptor.reference,
            "W": widths,
            "CIDToGIDMap": "/Identity",
        }
    )
    pdf.add_object(cid_font)
    lines = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    for start in range(0, len(codepoints), 100):
        chunk = codepoints[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines.extend(f"<{font.gid[cp]:04x}> <{cp:04x}>" for cp in chunk)
        lines.append("endbfchar")
    lines.append("endcmap CMapName currentdict /CMap defineresource pop end end")
    to_unicode = pydyf.Stream(["\n".join(lines).encode()], compress=True)
    pdf.add_object(to_unicode)
    type0 = pydyf.Dictionary(
        {
            "Type": "/Font",
            "Subtype": "/Type0",
            "BaseFont": base,
            "Encoding": "/Identity-H",
            "DescendantFonts": pydyf.Array([cid_font.reference]),
            "ToUnicode": to_unicode.reference,
        }
    )
    pdf.add_object(type0)
    return type0


# --- Layout -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    per_page: int
    width: float  # of one notice
    height: float
    margin: float
    size: float  # body text, points

    def origins(self) -> list[tuple[float, float]]:
        """Bottom-left corners of the notices on a page, in reading order."""
        w, h = self.width, self.height
        if self.per_page == 1:
            return [(0.0, 0.0)]
        if self.per_page == 2:
            return [(0.0, h), (0.0, 0.0)]
        return [(0.0, h), (w, h), (0.0, 0.0), (w, 0.0)]


_LAYOUTS = {
    1: _Layout(1, _A4[0], _A4[1], 56.0, 12.0),
    2: _Layout(2, _A4[0], _A4[1] / 2, 36.0, 10.5),
    4: _Layout(4, _A4[0] / 2, _A4[1] / 2, 20.0, 7.6),
}
_STYLES = {
    # style: (size factor, bold, centred, line height factor)
    "head": (0.9, True, True, 1.3),
    "center": (0.8, False, True, 1.3),
    "title": (1.7, True, True, 1.35),
    "text": (1.0, False, False, 1.4),
    "side": (0.85, False, False, 1.35),
}


def _runs(text: str) -> list[tuple[str, bool]]:
    """ "a **b** c" -> [("a ", False), ("b", True), (" c", False)]."""
    parts = text.split("**")
    return [(part, i % 2 == 1) for i, part in enumerate(parts) if part]


def _wrap(runs: list[tuple[str, bool]], size: float, width: float) -> list[list[tuple[str, bool]]]:
    """Greedy word wrap of styled runs to ``width`` points."""
    words: list[tuple[str, bool]] = []
    for text, bold in runs:
        pieces = text.split(" ")
        for i, piece in enumerate(pieces):
            token = piece + (" " if i < len(pieces) - 1 else "")
            if token:
                words.append((token, bold))
    lines: list[list[tuple[str, bool]]] = [[]]
    used = 0.0
    for token, bold in words:
        font = _font(bold)
        w = font.width(token.rstrip(" "), size)
        if lines[-1] and used + w > width:
            lines.append([])
            used = 0.0
            token = token.lstrip(" ")
        lines[-1].append((token, bold))
        used += font.width(token, size)
    return [line for line in lines if line]


class _Writer:
    """Accumulates pages of notices and writes the PDF (module doc)."""

    def __init__(self, per_page: int) -> None:
        if per_page not in _LAYOUTS:
            raise NoticeError(_("Print 1, 2 or 4 notices to a page."))
        self.layout = _LAYOUTS[per_page]
        self.pages: list[bytes] = []
        self.used = {False: set[int](), True: set[int]()}
        self.template = get_template("campaigns/notices/notice.txt")
        self._page: list[bytes] = []
        self._bodies: dict[Any, bytes] = {}
        self.overflows = 0
        self._wrapped: dict[Any, list[tuple[list[tuple[str, bool]], float]]] = {}

    def add(self, context: dict[str, Any]) -> None:
        layout = self.layout
        x0, y0 = layout.origins()[len(self._page)]
        self._page.append(self._notice(context, x0, y0))
        if len(self._page) == layout.per_page:
            self._flush()

    def _flush(self) -> None:
        if not self._page:
            return
        cuts = b""
        layout = self.layout
        if layout.per_page > 1:
            # Dashed cutting lines between the notices.
            cuts = b"q 0.6 g 0.6 G 0.4 w [4 3] 0 d "
            cuts += f"0 {layout.height:.2f} m {_A4[0]:.2f} {layout.height:.2f} l S ".encode()
            if layout.per_page == 4:
                cuts += f"{layout.width:.2f} 0 m {layout.width:.2f} {_A4[1]:.2f} l S ".encode()
            cuts += b"Q\n"
        self.pages.append(cuts + b"\n".join(self._page))
        self._page = []

    def _text(self, x: float, y: float, size: float, runs: list[tuple[str, bool]]) -> bytes:
        key = (size, tuple(runs))
        body = self._bodies.get(key)
        if body is None:
            parts: list[bytes] = []
            current: bool | None = None
            for text, bold in runs:
                if current != bold:
                    parts.append(f"/F{2 if bold else 1} {size:.2f} Tf".encode())
                    current = bold
                parts.append(b"<" + _font(bold).encode(text, self.used[bold]) + b"> Tj")
            body = b" ".join(parts)
            self._bodies[key] = body
        return f"BT 1 0 0 1 {x:.2f} {y:.2f} Tm ".encode() + body + b" ET"

    def _lines(
        self, runs: list[tuple[str, bool]], size: float, width: float
    ) -> list[tuple[list[tuple[str, bool]], float]]:
        """The wrapped lines of ``runs`` with their widths, memoised: most lines of a
        notice are the template's own words, the same on every notice."""
        key = (tuple(runs), size, width)
        lines = self._wrapped.get(key)
        if lines is None:
            lines = [
                (line, sum(_font(b).width(t, size) for t, b in line))
                for line in _wrap(runs, size, width)
            ]
            self._wrapped[key] = lines
        return lines

    def _notice(self, context: dict[str, Any], x0: float, y0: float) -> bytes:
        layout = self.layout
        m, size = layout.margin, layout.size
        left, width = x0 + m, layout.width - 2 * m
        top = y0 + layout.height - m
        qr_side = min(width * 0.3, 9 * size)
        out: list[bytes] = []
        side: list[tuple[str, str]] = []
        y = top
        for raw in self.template.render(context).splitlines():
            style, sep, text = raw.partition("|")
            style = style.strip()
            if not sep or not style:
                continue
            text = unicodedata.normalize("NFC", text.strip())
            if style == "gap":
                y -= size * 0.6
                continue
            if style == "side":
                side.append((style, text))
                continue
            factor, bold, centred, leading = _STYLES.get(style, _STYLES["text"])
            fs = size * factor
            runs = [(t, bold or b) for t, b in _runs(text)]
            for line, line_width in self._lines(runs, fs, width):
                y -= fs * leading
                x = left + max(0.0, (width - line_width) / 2) if centred else left
                out.append(self._text(x, y, fs, line))
        # The QR code right below the text, at the right; the side lines to its left.
        bottom = y - size - qr_side
        if bottom < y0 + m:
            self.overflows += 1  # the text ran too long for the notice (tests watch this)
            bottom = y0 + m
        out.append(_qr_path(str(context["qr"]), left + width - qr_side, bottom, qr_side))
        fs = size * _STYLES["side"][0]
        ys = bottom + qr_side
        for _style, text in side:
            for line, _width in self._lines(_runs(text), fs, width - qr_side - size):
                ys -= fs * _STYLES["side"][3]
                out.append(self._text(left, ys, fs, line))
        return b"\n".join(out)

    def write(self, target: io.BufferedIOBase | io.BytesIO) -> None:
        self._flush()
        pdf = pydyf.PDF()
        pdf.info["Producer"] = pydyf.String("cancuoc")
        pdf.info["Title"] = pydyf.String("Giấy mời thu nhận hồ sơ căn cước")
        fonts = pydyf.Dictionary(
            {
                "F1": _font_objects(pdf, _font(False), self.used[False], "CCAAAA").reference,
                "F2": _font_objects(pdf, _font(True), self.used[True], "CCAAAB").reference,
            }
        )
        resources = pydyf.Dictionary({"Font": fonts})
        pdf.add_object(resources)
        for content in self.pages or [b""]:
            stream = pydyf.Stream([content], compress=True)
            pdf.add_object(stream)
            pdf.add_page(
                pydyf.Dictionary(
                    {
                        "Type": "/Page",
                        "Parent": pdf.pages.reference,
                        "MediaBox": pydyf.Array([0, 0, _A4[0], _A4[1]]),
                        "Contents": stream.reference,
                        "Resources": resources.reference,
                    }
                )
            )
        pdf.write(target, version=b"1.7", compress=True)


def _qr_path(data: str, x: float, y: float, side: float) -> bytes:
    """The QR code of ``data`` as filled rectangles (one per run of dark modules), with a
    quiet zone of 2 modules inside ``side``. The mask is fixed: evaluating all eight costs
    ten times more and any mask scans."""
    code = segno.make(data, error="m", micro=False, mask=0, boost_error=False)
    matrix = code.matrix
    n = len(matrix)
    module = side / (n + 4)
    ox, oy = x + 2 * module, y + 2 * module
    rects = []
    for row_index, row in enumerate(matrix):
        ry = oy + (n - 1 - row_index) * module
        col = 0
        while col < n:
            if row[col]:
                run = col
                while run < n and row[run]:
                    run += 1
                rects.append(
                    f"{ox + col * module:.2f} {ry:.2f} {(run - col) * module:.2f} {module:.2f} re"
                )
                col = run
            else:
                col += 1
    return ("q 0 g " + " ".join(rects) + " f Q").encode()


def notices_pdf(
    invitations: Sequence[Invitation] | Iterator[Invitation],
    *,
    per_page: int = 1,
    target: Any = None,
    progress: Any = None,
) -> bytes:
    """The PDF of these notices (``target``: write there and return b""). ``progress(n)``
    is called every `PROGRESS_EVERY` notices with the number done."""
    writer = _Writer(per_page)
    for done, invitation in enumerate(invitations, start=1):
        writer.add(notice_context(invitation))
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    if target is not None:
        writer.write(target)
        return b""
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- Jobs -------------------------------------------------------------------------------


def _notice_rows(ids: list[int]) -> Iterator[Invitation]:
    """The invitations in the job's order, read a chunk at a time."""
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        rows = {
            i.pk: i
            for i in Invitation.objects.select_related("citizen", "session__unit", "slot").filter(
                pk__in=chunk
            )
        }
        for pk in chunk:
            if pk in rows:
                yield rows[pk]


def notices_start(
    *,
    actor: Any,
    campaign_id: int,
    session_id: int | None = None,
    invitation_ids: Sequence[int] | None = None,
    per_page: int = 1,
) -> NoticeJob:
    """Queue the notices of a session (the invitations still expected, in slot and name
    order) or of the given invitations; the PDF is made in the background."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    if per_page not in PER_PAGE:
        raise NoticeError(_("Print 1, 2 or 4 notices to a page."))
    with transaction.atomic():
        campaign = Campaign.objects.select_related("unit").filter(pk=campaign_id).first()
        if campaign is None:
            raise OutOfScope()
        rows = scope_queryset(
            Invitation.objects.filter(campaign=campaign), user=actor, lookup="unit_path"
        ).filter(status__in=list(lifecycle.EXPECTED))
        session = None
        unit = campaign.unit
        if session_id is not None:
            session = (
                Session.objects.select_related("unit")
                .filter(pk=session_id, campaign=campaign)
                .first()
            )
            if session is None or not path_in_scope(actor, session.unit_path):
                raise OutOfScope()
            rows = rows.filter(session=session)
            unit = session.unit
        if invitation_ids is not None:
            rows = rows.filter(pk__in=list(invitation_ids))
        ids = list(
            rows.order_by("session__day", "slot__start", "citizen__search_name", "pk").values_list(
                "pk", flat=True
            )
        )
        if not ids:
            raise NoticeError(_("There is no invitation to print."))
        if len(ids) > MAX_NOTICES:
            raise NoticeError(
                _("At most %(n)d notices at a time; print them session by session.")
                % {"n": MAX_NOTICES}
            )
        if not path_in_scope(actor, unit.path):
            unit = actor.unit
        job = NoticeJob.objects.create(
            campaign=campaign,
            unit_path=session.unit_path if session else (unit.path if unit else "/"),
            session=session,
            per_page=per_page,
            invitation_ids=ids,
            total=len(ids),
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="campaigns.notices.start",
            obj=campaign,
            unit=unit,
            detail={
                "job": str(job.pk),
                "notices": len(ids),
                "per_page": per_page,
                "session": session_id,
            },
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: Any) -> None:
    from cancuoc.campaigns.tasks import notices_render_task

    notices_render_task.enqueue(str(job_id))


def notices_folder() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "campaign-notices"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def notices_render(*, job_id: Any) -> NoticeJob:
    """Make the job's PDF (idempotent: a finished job is left as is)."""
    job = NoticeJob.objects.get(pk=job_id)
    if job.status == NoticeJob.Status.DONE:
        return job
    NoticeJob.objects.filter(pk=job.pk).update(status=NoticeJob.Status.RUNNING, done=0)
    target = notices_folder() / f"{job.pk}.pdf"
    partial = target.with_suffix(".part")

    def progress(done: int) -> None:
        NoticeJob.objects.filter(pk=job.pk).update(done=done)

    try:
        with partial.open("wb") as handle:
            notices_pdf(
                _notice_rows(list(job.invitation_ids)),
                per_page=job.per_page,
                target=handle,
                progress=progress,
            )
        partial.replace(target)
    except Exception as exc:
        NoticeJob.objects.filter(pk=job.pk).update(
            status=NoticeJob.Status.FAILED, error_message=str(exc)[:2000],
            finished_at=timezone.now(),
        )  # fmt: skip
        raise
    NoticeJob.objects.filter(pk=job.pk).update(
        status=NoticeJob.Status.DONE,
        done=job.total,
        stored_path=str(target),
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def notice_job_get(*, user: Any, job_id: Any) -> NoticeJob:
    """A notice job in the user's scope (for its progress and its file)."""
    job = (
        scope_queryset(NoticeJob.objects.all(), user=user, lookup="unit_path")
        .filter(pk=job_id)
        .first()
    )
    if job is None:
        raise OutOfScope()
    return job


def notice_jobs_visible(*, user: Any, campaign_id: int) -> QuerySet[NoticeJob]:
    return scope_queryset(
        NoticeJob.objects.filter(campaign_id=campaign_id), user=user, lookup="unit_path"
    ).order_by("-created_at")


# --- Messages ---------------------------------------------------------------------------


def _ascii(text: str) -> str:
    """Vietnamese without diacritics, case kept: an SMS in plain GSM characters is one
    part for 160 characters instead of 70."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def message_text(invitation: Invitation, *, kind: str = "invitation", channel: str = "sms") -> str:
    context = notice_context(invitation)
    context["kind"] = kind
    context["name"] = invitation.citizen.full_name
    context["portal"] = portal_url()
    text = " ".join(get_template("campaigns/notices/message.txt").render(context).split())
    return _ascii(text) if channel == "sms" else text


def invitation_messages_send(
    *, invitations: Sequence[Invitation], kind: str = "invitation", channel: str = "sms"
) -> list[OutboundMessage]:
    """Hand one message per invitation with a phone number to the gateway."""
    gateway = gateway_get()
    sent = []
    for invitation in invitations:
        phone = invitation.citizen.phone
        if phone:
            text = message_text(invitation, kind=kind, channel=channel)
            sent.append(
                gateway.send(invitation=invitation, channel=channel, phone=phone, text=text)
            )
    return sent


def _session_rows(user: Any, session_id: int) -> tuple[Session, QuerySet[Invitation]]:
    session = Session.objects.select_related("unit", "campaign").filter(pk=session_id).first()
    if session is None or not path_in_scope(user, session.unit_path):
        raise OutOfScope()
    rows = (
        Invitation.objects.filter(session=session, status__in=list(lifecycle.EXPECTED))
        .select_related("citizen", "session__unit", "slot")
        .order_by("slot__start", "citizen__search_name", "pk")
    )
    return session, rows


def messages_send(
    *, actor: Any, session_id: int, kind: str = "invitation", channel: str = "sms"
) -> int:
    """Send the session's expected citizens their invitation (or a reminder, which also
    marks them reminded) through the gateway; returns how many messages went out."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    if channel not in CHANNELS or kind not in ("invitation", "reminder"):
        raise NoticeError(_("Unknown kind of message."))
    from cancuoc.campaigns.services.invitations import status_apply

    with transaction.atomic():
        session, rows = _session_rows(actor, session_id)
        invitations = list(rows.select_for_update(of=("self",)))
        sent = invitation_messages_send(invitations=invitations, kind=kind, channel=channel)
        if kind == "reminder":
            for invitation in invitations:
                invitation.session = session
                status_apply(invitation, "reminded", actor=actor)
        audit_record(
            actor=actor,
            action="campaigns.messages.send",
            obj=session,
            unit=session.unit,
            detail={"kind": kind, "channel": channel, "messages": len(sent)},
        )
    return len(sent)


def messages_export(*, user: Any, session_id: int, channel: str = "sms") -> bytes:
    """The session's messages as CSV (phone,text) for a bulk SMS or Zalo service; citizens
    without a phone number are left out. Audited: it lists personal data."""
    require(user, Capability.SCHEDULE_SESSIONS)
    if channel not in CHANNELS:
        raise NoticeError(_("Unknown kind of message."))
    session, rows = _session_rows(user, session_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["phone", "text"])
    count = 0
    for invitation in rows:
        phone = invitation.citizen.phone
        if phone:
            writer.writerow(csv_row([phone, message_text(invitation, channel=channel)]))
            count += 1
    audit_record(
        actor=user,
        action="campaigns.messages.export",
        obj=session,
        unit=session.unit,
        detail={"channel": channel, "rows": count},
    )
    # UTF-8 with a byte-order mark: Excel then opens the Vietnamese text correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")
