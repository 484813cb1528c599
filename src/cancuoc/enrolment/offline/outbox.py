"""Station side: which local enrolments the server does not hold yet.

The station's own ``PushBatch`` table is its sent log (on the server the same table holds
receipts of batches received). A row's ``result`` is either ``{"state": "pending",
"body": <the exact batch text>}`` while a batch is built but not acked, or ``{"state":
"acked", "acked": [application ids]}`` once the server answered. Unsent = completed local
applications of the station that no acked batch lists. The whole push state lives in the
station database, so copying that one file (with the biometric folder) moves a station.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from cancuoc.enrolment.models import (
    Application,
    ApplicationStatus,
    BiometricBlob,
    PushBatch,
    Station,
)
from cancuoc.enrolment.offline.signing import body_digest

#: Local statuses whose applications go to the server (a cancelled intake never does).
SENDABLE = (ApplicationStatus.COMPLETED, ApplicationStatus.CONFLICT)

RECORD_FORMAT = 1


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def application_record(application: Application) -> dict[str, Any]:
    """One completed local application as the push record ``application_ingest`` takes.

    Captures reference blobs by digest (uploaded first); the operator and the supervisor
    who signed an exception travel as usernames, the citizen and session as the server's
    keys (the slice kept them).
    """
    steps = sorted(application.steps.all(), key=lambda s: s.started_at)
    captures = sorted(
        application.captures.all(), key=lambda c: (c.captured_at, c.kind, c.position, c.attempt)
    )
    return {
        "format": RECORD_FORMAT,
        "id": str(application.pk),
        "citizen_id": application.citizen_id,
        "id_number": application.citizen.id_number,
        "session_id": application.session_id,
        "operator": application.operator.get_username(),
        "kind": application.kind,
        "law": application.law,
        "guardian_name": application.guardian_name,
        "guardian_id_number": application.guardian_id_number,
        "confirmed_data": application.confirmed_data,
        "started_at": _iso(application.started_at),
        "completed_at": _iso(application.completed_at),
        "note": application.note,
        "steps": [
            {
                "step": s.step,
                "started_at": _iso(s.started_at),
                "ended_at": _iso(s.ended_at),
                "server_ms": s.server_ms,
                "retries": s.retries,
                "exceptions": s.exceptions,
            }
            for s in steps
        ],
        "captures": [
            {
                "kind": c.kind,
                "position": c.position,
                "attempt": c.attempt,
                "quality": c.quality,
                "accepted": c.accepted,
                "digest": c.blob_id,
                "exception": c.exception,
                "exception_signed_by": (
                    c.exception_signed_by.get_username() if c.exception_signed_by else None
                ),
                "device": c.device,
                "captured_at": _iso(c.captured_at),
            }
            for c in captures
        ],
    }


def acked_ids(station: Station) -> set[str]:
    ids: set[str] = set()
    for result in PushBatch.objects.filter(station=station).values_list("result", flat=True):
        if result.get("state") == "acked":
            ids.update(result.get("acked", ()))
    return ids


def unsent_ids(station: Station) -> list[uuid.UUID]:
    """Completed local applications no acked batch lists, oldest first.

    Filtered in Python: the acked set only grows, and an ``exclude(pk__in=...)`` with
    every id ever sent would run into SQLite's limit on query parameters.
    """
    acked = acked_ids(station)
    candidates = (
        Application.objects.filter(station=station, status__in=SENDABLE)
        .order_by("completed_at", "pk")
        .values_list("pk", flat=True)
    )
    return [pk for pk in candidates if str(pk) not in acked]


class StationOutbox:
    """The ``push.Outbox`` of a station laptop, over its own database."""

    def __init__(self, station: Station) -> None:
        self.station = station

    def unsent(self, *, limit: int) -> list[dict[str, Any]]:
        ids = unsent_ids(self.station)[:limit]
        applications = (
            Application.objects.filter(pk__in=ids)
            .select_related("citizen", "operator")
            .prefetch_related("steps", "captures__exception_signed_by")
        )
        by_id = {a.pk: a for a in applications}
        return [application_record(by_id[pk]) for pk in ids]

    def blob(self, digest: str) -> tuple[bytes, str]:
        from cancuoc.enrolment import biostore

        row = BiometricBlob.objects.get(pk=digest)
        # The station's own console reads it to send it; the read is audited like any other.
        image = biostore.blob_read(actor=None, digest=digest, purpose="station push")
        return image, row.content_type

    @transaction.atomic
    def acked(self, ids: Iterable[str], *, at: dt.datetime) -> None:
        pending = self._pending_row()
        ids = sorted(set(ids))
        if pending is not None:
            pending.result = {"state": "acked", "acked": ids, "at": at.isoformat()}
            pending.save(update_fields=["result"])
        elif ids:
            PushBatch.objects.create(
                id=uuid.uuid4(),
                station=self.station,
                digest="",
                result={"state": "acked", "acked": ids, "at": at.isoformat()},
            )
        Station.objects.filter(pk=self.station.pk).update(last_push_at=at)

    def _pending_row(self) -> PushBatch | None:
        for row in PushBatch.objects.filter(station=self.station).order_by("received_at"):
            if row.result.get("state") == "pending":
                return row
        return None

    def pending(self) -> tuple[str, bytes] | None:
        row = self._pending_row()
        if row is None:
            return None
        return str(row.pk), row.result["body"].encode("utf-8")

    def pending_set(self, batch_id: str, body: bytes) -> None:
        PushBatch.objects.create(
            id=uuid.UUID(batch_id),
            station=self.station,
            digest=body_digest(body),
            result={"state": "pending", "body": body.decode("utf-8")},
        )

    def pending_clear(self) -> None:
        # ``acked`` already turned the pending row into the acked one; a row still pending
        # here was answered without acks (all rejected): drop it so the next run rebuilds.
        row = self._pending_row()
        if row is not None:
            row.delete()

    def unsent_count(self) -> int:
        return len(unsent_ids(self.station))
