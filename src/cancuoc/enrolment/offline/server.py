"""Server side of a push: check the station's signature, answer replays, ingest records.

A batch is applied in one transaction that first writes its ``PushBatch`` receipt row
(the primary key is the station's batch id), so two deliveries of one batch can never
both apply it: the second finds the receipt (or waits on the first's insert and then
finds it) and gets the stored answer. Each record is ingested in its own savepoint by
``services.application_ingest``: a record the server cannot take is reported as
rejected and stays on the station; the others land. Conflicts are stored, never dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.enrolment.models import BiometricBlob, PushBatch, Station
from cancuoc.enrolment.offline.signing import body_digest, signature_valid

#: Records one batch may carry; a station sends 50 at a time.
MAX_RECORDS = 500


class BadBatch(DomainError):
    """Malformed or badly signed: refused whole, nothing applied (400)."""


class BatchIdReused(DomainError):
    """A batch id already received with another body (409)."""


@dataclass(frozen=True)
class BatchOutcome:
    result: dict[str, Any]
    replayed: bool


def station_of_token(*, token_digest: str | None) -> Station:
    """The active station whose live token has this digest (404 otherwise)."""
    station = (
        Station.objects.filter(
            token__digest=token_digest or "-", token__revoked_at__isnull=True, is_active=True
        ).first()
        if token_digest
        else None
    )
    if station is None:
        raise OutOfScope(_("No station uses this token."))
    return station


def station_for_token(*, code: str, token_digest: str | None) -> Station:
    """The station ``code`` if the caller's bearer token is that station's live token.

    A station's token is the only credential that may push or pull for it: any other
    caller (another station's token, a person's session) is refused before anything is
    read.
    """
    station = Station.objects.select_related("token", "unit").filter(code=code).first()
    if station is None or not station.is_active:
        raise OutOfScope
    token = station.token
    if token is None or token_digest is None or token.digest != token_digest:
        raise PermissionDenied(_("Only this station's own token may do this."))
    if token.revoked_at is not None:
        raise PermissionDenied(_("This station's token has been revoked."))
    return station


def _parse(*, station: Station, body: bytes) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    try:
        payload = json.loads(body)
        batch_id = uuid.UUID(str(payload["batch_id"]))
        records = payload["records"]
        named = payload["station"]
    except (ValueError, KeyError, TypeError):
        raise BadBatch(
            _("The batch is not valid JSON with batch_id, station and records.")
        ) from None
    if named != station.code:
        raise BadBatch(_("The batch was made for another station."))
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise BadBatch(
            _("A batch carries a list of at most %(max)d records.") % {"max": MAX_RECORDS}
        )
    if not all(isinstance(r, dict) for r in records):
        raise BadBatch(_("Every record must be an object."))
    return batch_id, records


def _replay(*, existing: PushBatch, station: Station, digest: str) -> BatchOutcome:
    if existing.station_id != station.pk or existing.digest != digest:
        raise BatchIdReused(
            _("Batch %(id)s was already received with different content; it is refused.")
            % {"id": existing.pk}
        )
    return BatchOutcome(result=existing.result, replayed=True)


def _ingest_one(*, station: Station, record: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    from cancuoc.enrolment import services

    record_id = str(record.get("id", ""))
    try:
        with transaction.atomic():
            outcome = services.application_ingest(station=station, record=record, at=at)
    except DomainError as exc:
        return {"id": record_id, "status": "rejected", "detail": exc.message}
    except (KeyError, ValueError, TypeError) as exc:
        # A malformed record: refuse it alone, with a reason the station can show.
        return {
            "id": record_id,
            "status": "rejected",
            "detail": _("Malformed record (%(error)s).") % {"error": type(exc).__name__},
        }
    return {"id": str(outcome.application_id), "status": outcome.status}


def batch_apply(
    *,
    station: Station,
    actor: Any,
    body: bytes,
    signature: str,
    at: dt.datetime | None = None,
) -> BatchOutcome:
    """Apply one signed batch for ``station`` (already matched to the caller's token)."""
    at = at or timezone.now()
    if station.token is None or not signature_valid(
        body=body, key=station.token.digest, signature=signature
    ):
        raise BadBatch(_("The batch signature does not match its content; nothing was applied."))
    batch_id, records = _parse(station=station, body=body)
    digest = body_digest(body)
    with transaction.atomic():
        existing = PushBatch.objects.select_for_update().filter(pk=batch_id).first()
        if existing is not None:
            return _replay(existing=existing, station=station, digest=digest)
        try:
            with transaction.atomic():
                batch = PushBatch.objects.create(id=batch_id, station=station, digest=digest)
        except IntegrityError:
            # The same batch arrived twice at once; the other delivery has committed it.
            existing = PushBatch.objects.select_for_update().get(pk=batch_id)
            return _replay(existing=existing, station=station, digest=digest)
        results = [_ingest_one(station=station, record=r, at=at) for r in records]
        counts: dict[str, int] = {}
        for item in results:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
        batch.result = {"batch_id": str(batch_id), "results": results, "counts": counts}
        batch.save(update_fields=["result"])
        Station.objects.filter(pk=station.pk).update(last_push_at=at)
        audit_record(
            actor=actor,
            action="enrolment.push",
            obj=batch,
            unit=station.unit,
            detail={"station": station.code, "counts": counts},
        )
    return BatchOutcome(result=batch.result, replayed=False)


def blobs_missing(*, digests: list[str]) -> list[str]:
    """The digests (in the order given, once each) of images the server does not hold.

    Images are content-addressed and carry no personal data by themselves, so the answer
    is the same for every caller allowed to enrol.
    """
    wanted = list(dict.fromkeys(digests))
    held = set(
        BiometricBlob.objects.filter(pk__in=wanted, purged_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    return [d for d in wanted if d not in held]


def blob_held(*, digest: str) -> bool:
    return BiometricBlob.objects.filter(pk=digest, purged_at__isnull=True).exists()
