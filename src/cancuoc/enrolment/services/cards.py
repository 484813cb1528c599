"""Cards: made when the dossier is approved, then ready, delivered; the production file.

The dossier engine drives a card application after intake: its steps call
``on_dossier_step`` (registered by ``enrolment.hooks``) inside their own transaction,
so the desk and the enrolment never disagree. The supervisor conveniences here
(``application_approve``, ``card_mark_ready``, ``card_hand_over``) act through the
dossier services for the same reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.events import event_append
from cancuoc.core.scoping import path_in_scope, prefix_q, unit_in_scope
from cancuoc.core.spreadsheets import csv_row
from cancuoc.enrolment import lifecycle
from cancuoc.enrolment.card import card_expiry_date, card_qr_payload
from cancuoc.enrolment.models import (
    Application,
    ApplicationStatus,
    Capture,
    CaptureKind,
    Card,
    CardStatus,
    ProductionBatch,
)
from cancuoc.enrolment.mrz import MrzError, card_mrz
from cancuoc.enrolment.services._common import (
    EVENT_SUBJECT,
    EnrolmentError,
    IllegalAction,
    as_uuid,
    audit,
    local_day,
    moment,
    require,
)
from cancuoc.enrolment.services.intake import CARD_DOCUMENT_KIND
from cancuoc.registry.models import DocumentKind, DocumentStatus, IdentityDocument
from cancuoc.units.models import Unit

#: Who issues the card, as printed (Law on Identity 2023: the Ministry of Public
#: Security; the 2014 CCCD: the police department for administrative management of
#: social order).
ISSUED_BY = {
    "2023": "Bộ Công an",
    "2014": "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
}
#: The documents a delivered card replaces (they expire the day it is handed over).
REPLACED_KINDS = (
    DocumentKind.CMND9,
    DocumentKind.CMND12,
    DocumentKind.CCCD_BARCODE,
    DocumentKind.CCCD_CHIP,
    DocumentKind.CANCUOC,
)
EXPORT_FIELDS = (
    "number",
    "full_name",
    "mrz_name",
    "birth_date",
    "sex",
    "nationality",
    "place_of_origin",
    "residence",
    "issue_date",
    "expiry_date",
    "mrz_line1",
    "mrz_line2",
    "mrz_line3",
    "qr_payload",
    "face_digest",
)


# --- Card data ------------------------------------------------------------------------


def _printed(application: Application) -> dict[str, Any]:
    """What the card prints: the data the citizen confirmed, else the registry's."""
    citizen = application.citizen
    data = application.confirmed_data or {}
    birth = data.get("birth_date") or (citizen.birth_date.isoformat() if citizen.birth_date else "")
    return {
        "id_number": data.get("id_number") or citizen.id_number,
        "full_name": data.get("full_name") or citizen.full_name,
        "birth_date": dt.date.fromisoformat(birth) if birth else None,
        "sex": data.get("sex") or citizen.sex,
        "nationality": data.get("nationality") or citizen.nationality,
        "place_of_origin": data.get("place_of_origin") or citizen.place_of_origin,
        "residence": data.get("permanent_address") or citizen.permanent_address,
        "old_cmnd": data.get("old_cmnd", ""),
    }


def _document(application: Application) -> IdentityDocument | None:
    """The registry row made at completion for this application (status enrolled)."""
    card = getattr(application, "card", None) if application.pk else None
    if card is not None and card.document_id:
        return card.document
    return (
        IdentityDocument.objects.filter(
            citizen_id=application.citizen_id,
            kind=CARD_DOCUMENT_KIND[application.law],
            status__in=(DocumentStatus.ENROLLED, DocumentStatus.IN_PRODUCTION),
        )
        .order_by("-id")
        .first()
    )


def card_create(application: Application, *, actor: Any, at: dt.datetime) -> Card:
    """The card of an approved application: number, dates, MRZ and QR payload."""
    existing = Card.objects.filter(application=application).first()
    if existing is not None:
        return existing
    printed = _printed(application)
    birth = printed["birth_date"]
    if birth is None:
        raise EnrolmentError(_("The citizen's birth date is unknown; correct the registry first."))
    if printed["sex"] not in ("M", "F"):
        raise EnrolmentError(_("The citizen's sex is not recorded; correct the registry first."))
    issue = local_day(at)
    expiry = card_expiry_date(birth_date=birth, issue_date=issue)
    try:
        mrz = card_mrz(
            id_number=printed["id_number"],
            full_name=printed["full_name"],
            birth_date=birth,
            sex=printed["sex"],
            expiry=expiry,
        )
    except MrzError as exc:
        raise EnrolmentError(
            _("The card's MRZ cannot be made: %(error)s.") % {"error": str(exc)}
        ) from exc
    qr = card_qr_payload(
        id_number=printed["id_number"],
        old_cmnd=printed["old_cmnd"],
        # A "|" would shift the payload's fields; the registry should never hold one.
        full_name=printed["full_name"].replace("|", "/"),
        birth_date=birth,
        sex=printed["sex"],
        residence=printed["residence"].replace("|", "/"),
        issue_date=issue,
    )
    document = _document(application)
    citizen = application.citizen
    if document is None:
        document = IdentityDocument(
            citizen=citizen,
            province_code=citizen.province_code,
            kind=CARD_DOCUMENT_KIND[application.law],
            number=printed["id_number"],
        )
    document.issue_date = issue
    document.issue_place = ISSUED_BY[application.law]
    document.expiry_date = expiry
    document.status = DocumentStatus.IN_PRODUCTION
    document.save()
    card = Card.objects.create(
        application=application,
        citizen=citizen,
        province_code=application.province_code,
        unit=application.unit,
        unit_path=application.unit_path,
        number=printed["id_number"],
        issue_date=issue,
        expiry_date=expiry,
        mrz=str(mrz),
        qr_payload=qr,
        status=CardStatus.IN_PRODUCTION,
        document=document,
        status_changed_at=at,
    )
    audit_record(
        actor=actor,
        action="card.create",
        obj=card,
        unit=application.unit,
        detail={
            "application": str(application.pk),
            "issue_date": issue.isoformat(),
            "expiry_date": expiry.isoformat() if expiry else None,
        },
    )
    event_append(
        kind="enrolment.card_ordered",
        unit=application.unit,
        day=issue,
        subject=EVENT_SUBJECT,
        measures={"cards_ordered": 1},
        obj=card,
        actor=actor,
    )
    return card


def _card_step(card: Card, action: str, *, actor: Any, at: dt.datetime) -> None:
    try:
        card.status = lifecycle.card_next(card.status, action)
    except lifecycle.IllegalTransition:
        raise IllegalAction(
            _("The card is “%(status)s”; this is not possible.")
            % {"status": card.get_status_display()}
        ) from None
    card.status_changed_at = at
    card.save(update_fields=["status", "status_changed_at"])
    audit_record(
        actor=actor, action=f"card.{action}", obj=card, unit=card.unit, detail={"to": card.status}
    )


def cancel_card_and_document(
    application: Application, *, at: dt.datetime, actor: Any = None
) -> None:
    """An application that ends without a card cancels its card and registry row."""
    card = Card.objects.filter(application=application).first()
    if card is not None and card.status in (CardStatus.IN_PRODUCTION, CardStatus.READY):
        _card_step(card, lifecycle.CARD_CANCEL, actor=actor, at=at)
    document = _document(application)
    if document is not None and document.status in (
        DocumentStatus.ENROLLED,
        DocumentStatus.IN_PRODUCTION,
    ):
        document.status = DocumentStatus.CANCELLED
        document.save(update_fields=["status"])


# --- The dossier hook -----------------------------------------------------------------


def on_dossier_step(*, dossier: Any, action: str, actor: Any, at: dt.datetime) -> None:
    """Follow a card dossier's step (runs inside the step's transaction)."""
    if action not in ("approve", "refuse", "withdraw", "result_ready", "return"):
        return
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("citizen", "station", "unit")
        .filter(dossier_id=dossier.pk)
        .first()
    )
    if application is None:
        return
    if action == "approve":
        if application.status == ApplicationStatus.COMPLETED:
            application.status = lifecycle.application_next(application.status, lifecycle.APPROVE)
            application.save(update_fields=["status"])
            audit(actor, "approve", application, dossier=dossier.code)
        card_create(application, actor=actor, at=at)
    elif action in ("refuse", "withdraw"):
        target = lifecycle.REFUSE if action == "refuse" else lifecycle.CANCEL
        if (application.status, target) in lifecycle.APPLICATION_TRANSITIONS:
            application.status = lifecycle.application_next(application.status, target)
            application.save(update_fields=["status"])
            audit(actor, action, application, dossier=dossier.code)
        cancel_card_and_document(application, at=at, actor=actor)
    elif action == "result_ready":
        card = Card.objects.filter(application=application).first()
        if card is not None and card.status == CardStatus.IN_PRODUCTION:
            _card_step(card, lifecycle.MARK_READY, actor=actor, at=at)
    elif action == "return":
        _deliver(application, actor=actor, at=at)


def _deliver(application: Application, *, actor: Any, at: dt.datetime) -> None:
    card = Card.objects.filter(application=application).select_related("document").first()
    if card is None:  # a refusal handed back: nothing to deliver
        return
    if card.status == CardStatus.IN_PRODUCTION:
        _card_step(card, lifecycle.MARK_READY, actor=actor, at=at)
    if card.status == CardStatus.READY:
        _card_step(card, lifecycle.HAND_OVER, actor=actor, at=at)
    if application.status == ApplicationStatus.APPROVED:
        application.status = lifecycle.application_next(application.status, lifecycle.DELIVER)
        application.save(update_fields=["status"])
        audit(actor, "deliver", application, card=card.number)
    document = card.document
    day = local_day(at)
    replaced = IdentityDocument.objects.filter(
        citizen_id=application.citizen_id, kind__in=REPLACED_KINDS, status=DocumentStatus.VALID
    )
    if document is not None:
        replaced = replaced.exclude(pk=document.pk)
    # The old cards stop being valid the day the new one is handed over; a CMND keeps
    # its printed expiry if that came earlier.
    for old in replaced:
        old.status = DocumentStatus.EXPIRED
        if old.expiry_date is None or old.expiry_date > day:
            old.expiry_date = day
        old.save(update_fields=["status", "expiry_date"])
    if document is not None and document.status != DocumentStatus.VALID:
        document.status = DocumentStatus.VALID
        document.save(update_fields=["status"])
    event_append(
        kind="enrolment.card_delivered",
        unit=application.unit,
        day=day,
        subject=EVENT_SUBJECT,
        measures={"cards_delivered": 1},
        obj=card,
        actor=actor,
    )


# --- Supervisor conveniences ----------------------------------------------------------


def _applications(actor: Any, ids: Any) -> list[Application]:
    wanted = [as_uuid(pk) for pk in ids]
    found = {
        a.pk: a
        for a in Application.objects.select_related("station", "dossier", "citizen").filter(
            pk__in=wanted
        )
        if path_in_scope(actor, a.unit_path)
    }
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise OutOfScope(_("Application not found."))
    return [found[pk] for pk in wanted]


@transaction.atomic
def application_approve(
    *, actor: Any, application_ids: Any, at: dt.datetime | None = None
) -> list[Card]:
    """Approve and sign the dossiers of completed applications: their cards are made.

    All or nothing. The actor needs the dossier approval capability (the commune police
    leader); the hook makes each card.
    """
    from cancuoc.dossiers import lifecycle as dlc
    from cancuoc.dossiers import services as desk

    at = moment(at)
    require(actor, Capability.APPROVE_DOSSIER)
    cards = []
    for application in _applications(actor, application_ids):
        dossier = application.dossier
        if application.status != ApplicationStatus.COMPLETED or dossier is None:
            raise IllegalAction(
                _("Only completed applications can be approved (%(name)s is “%(status)s”).")
                % {
                    "name": application.citizen.full_name,
                    "status": application.get_status_display(),
                }
            )
        if dossier.status == dlc.IN_APPRAISAL:
            dossier = desk.dossier_approve(actor=actor, dossier_id=dossier.pk, at=at)
        if dossier.status == dlc.APPROVED:
            desk.dossier_sign(actor=actor, dossier_id=dossier.pk, at=at)
        cards.append(Card.objects.get(application=application))
    return cards


def _cards(actor: Any, ids: Any) -> list[Card]:
    wanted = [int(pk) for pk in ids]
    found = {
        c.pk: c
        for c in Card.objects.select_related("application").filter(pk__in=wanted)
        if path_in_scope(actor, c.unit_path)
    }
    if len(found) != len(set(wanted)):
        raise OutOfScope(_("Card not found."))
    return [found[pk] for pk in dict.fromkeys(wanted)]


def _dossier_id(card: Card) -> int:
    dossier_id = card.application.dossier_id
    if dossier_id is None:  # a card is only ever made from a dossier's approval
        raise IllegalAction(_("Card %(number)s has no dossier.") % {"number": card.number})
    return dossier_id


@transaction.atomic
def card_mark_ready(*, actor: Any, card_ids: Any, at: dt.datetime | None = None) -> list[Card]:
    """The printed cards arrived: their dossiers' results are ready (the hook follows)."""
    from cancuoc.dossiers import services as desk

    at = moment(at)
    done = []
    for card in _cards(actor, card_ids):
        if card.status == CardStatus.READY:
            done.append(card)
            continue
        if card.status != CardStatus.IN_PRODUCTION:
            raise IllegalAction(
                _("Card %(number)s is “%(status)s”.")
                % {"number": card.number, "status": card.get_status_display()}
            )
        desk.dossier_result_ready(actor=actor, dossier_id=_dossier_id(card), at=at)
        card.refresh_from_db()
        done.append(card)
    return done


@transaction.atomic
def card_hand_over(*, actor: Any, card_id: int, at: dt.datetime | None = None) -> Card:
    """The citizen collected the card: the dossier's result is returned (the hook follows)."""
    from cancuoc.dossiers import services as desk

    at = moment(at)
    (card,) = _cards(actor, [card_id])
    if card.status == CardStatus.DELIVERED:
        return card
    if card.status != CardStatus.READY:
        raise IllegalAction(
            _("Card %(number)s is “%(status)s”; it must be ready first.")
            % {"number": card.number, "status": card.get_status_display()}
        )
    desk.dossier_return(actor=actor, dossier_id=_dossier_id(card), at=at)
    card.refresh_from_db()
    return card


# --- Production file ------------------------------------------------------------------


def _export_row(card: Card, face_digest: str) -> dict[str, Any]:
    printed = _printed(card.application)
    lines = card.mrz.split("\n")
    return {
        "number": card.number,
        "full_name": printed["full_name"],
        "mrz_name": lines[2].rstrip("<") if len(lines) > 2 else "",
        "birth_date": printed["birth_date"].isoformat() if printed["birth_date"] else "",
        "sex": printed["sex"],
        "nationality": printed["nationality"],
        "place_of_origin": printed["place_of_origin"],
        "residence": printed["residence"],
        "issue_date": card.issue_date.isoformat(),
        "expiry_date": card.expiry_date.isoformat() if card.expiry_date else "",
        "mrz_line1": lines[0] if lines else "",
        "mrz_line2": lines[1] if len(lines) > 1 else "",
        "mrz_line3": lines[2] if len(lines) > 2 else "",
        "qr_payload": card.qr_payload,
        "face_digest": face_digest,
    }


@transaction.atomic
def production_export(
    *, actor: Any, unit_id: int, file_format: str = "csv"
) -> tuple[ProductionBatch, bytes]:
    """The file for the printing centre: every card in production in the unit's subtree
    not yet sent in a batch. The batch is recorded and the cards linked to it, so the
    next export holds only newer cards."""
    require(actor, Capability.SUPERVISE_ENROLMENT)
    if file_format not in ("csv", "json"):
        raise EnrolmentError(_("Choose CSV or JSON."))
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None or not unit_in_scope(actor, unit):
        raise OutOfScope()
    cards = list(
        Card.objects.select_for_update(of=("self",))
        .select_related("application__citizen")
        .filter(prefix_q("unit_path", unit.path))
        .filter(status=CardStatus.IN_PRODUCTION, batch__isnull=True)
        .order_by("created_at", "pk")
    )
    if not cards:
        raise EnrolmentError(_("No card awaits production in this unit."))
    faces = dict(
        Capture.objects.filter(
            application_id__in=[c.application_id for c in cards],
            kind=CaptureKind.FACE,
            accepted=True,
        )
        .order_by("application_id", "attempt")
        .values_list("application_id", "blob_id")
    )  # the last accepted attempt wins (later rows overwrite earlier ones)
    rows = [_export_row(card, faces.get(card.application_id) or "") for card in cards]
    batch = ProductionBatch.objects.create(
        unit=unit, unit_path=unit.path, created_by=actor, file_format=file_format, count=len(rows)
    )
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_FIELDS)
        for row in rows:
            writer.writerow(csv_row(row[field] for field in EXPORT_FIELDS))
        # A byte-order mark so that Excel opens the Vietnamese text as UTF-8.
        content = ("\ufeff" + out.getvalue()).encode("utf-8")
    else:
        document = {
            "batch": str(batch.pk),
            "unit": unit.code,
            "created_at": batch.created_at.isoformat(),
            "count": len(rows),
            "cards": rows,
        }
        content = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    batch.digest = hashlib.sha256(content).hexdigest()
    batch.save(update_fields=["digest"])
    Card.objects.filter(pk__in=[c.pk for c in cards]).update(batch=batch)
    audit_record(
        actor=actor,
        action="card.production_export",
        obj=batch,
        unit=unit,
        detail={"count": len(rows), "format": file_format, "digest": batch.digest},
    )
    return batch, content
