"""The station's push loop: blobs first, then signed batches of records; resumable.

Every step is safe to repeat, so a push killed at any point is finished by running it
again:

1. A batch is built from the outbox's unsent records and *saved as pending* (id and exact
   bytes) before anything is sent. A re-run resends that same pending batch, byte for
   byte, so the server recognises it by id and digest and answers its stored receipt.
2. The blobs the batch's records reference are uploaded first, only those the server
   says it lacks (``POST /blobs/missing``); ``PUT /blobs/{digest}`` is idempotent, so a
   blob half-sent before a cut is simply sent again. An image the server refuses as
   damaged does not stop the push: the server then rejects its record alone.
3. The batch goes up signed (``signing.body_sign``). The receipt lists every record:
   created, duplicate (already there) and conflict (kept for a supervisor) are acked and
   leave the outbox; a rejected record stays unsent and the push stops with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cancuoc.enrolment.offline.signing import SIGNATURE_HEADER, body_sign, token_key
from cancuoc.enrolment.offline.transport import Transport

#: Receipt statuses that settle a record for good: the station may forget it.
ACKED_STATUSES = frozenset({"created", "duplicate", "conflict"})

#: Records per batch: small enough that a cut loses little work, large enough to be quick.
BATCH_SIZE = 50


class PushError(Exception):
    """The server refused something; the message says what. Re-running is still safe."""


class Outbox(Protocol):
    """The station's side of a push; kept in the local database in the field."""

    def unsent(self, *, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` serialized records not yet acked, oldest first."""
        ...

    def blob(self, digest: str) -> tuple[bytes, str]:
        """The plain bytes and content type of a blob a record references."""
        ...

    def acked(self, ids: Iterable[str], *, at: dt.datetime) -> None:
        """The server holds these applications now: never send them again."""
        ...

    def pending(self) -> tuple[str, bytes] | None:
        """The batch built but not yet acked: (batch id, exact body)."""
        ...

    def pending_set(self, batch_id: str, body: bytes) -> None: ...

    def pending_clear(self) -> None: ...


@dataclass
class PushReport:
    batches: int = 0
    blobs_uploaded: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.counts.get(s, 0) for s in ACKED_STATUSES)


def batch_body(
    *, batch_id: str, station_code: str, records: list[dict[str, Any]], now: dt.datetime
) -> bytes:
    """The canonical bytes of a batch (sorted keys, no spaces): what gets signed."""
    payload = {
        "batch_id": batch_id,
        "station": station_code,
        "created_at": now.isoformat(),
        "records": records,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_digests(records: Iterable[dict[str, Any]]) -> list[str]:
    """Every blob digest the records reference, in first-seen order."""
    seen: dict[str, None] = {}
    for record in records:
        for capture in record.get("captures", ()):
            digest = capture.get("digest")
            if digest:
                seen.setdefault(digest, None)
    return list(seen)


def _blobs_upload(*, transport: Transport, outbox: Outbox, digests: list[str]) -> int:
    if not digests:
        return 0
    answer = transport.request(
        "POST",
        "/blobs/missing",
        body=json.dumps({"digests": digests}).encode(),
        headers={"Content-Type": "application/json"},
    )
    if answer.status != 200:
        raise PushError(f"blob check refused ({answer.status}): {answer.detail()}")
    uploaded = 0
    for digest in answer.json()["missing"]:
        image, content_type = outbox.blob(digest)
        put = transport.request(
            "PUT", f"/blobs/{digest}", body=image, headers={"Content-Type": content_type}
        )
        if put.status == 400:
            # This image itself is refused (damaged on the laptop's disk): its record will
            # be rejected by the server and stay unsent, but it must not hold up the others.
            continue
        if put.status not in (200, 201):
            raise PushError(f"blob {digest[:12]} refused ({put.status}): {put.detail()}")
        uploaded += 1
    return uploaded


def _batch_send(
    *, transport: Transport, station_code: str, key: str, body: bytes
) -> dict[str, Any]:
    answer = transport.request(
        "POST",
        f"/stations/{station_code}/push",
        body=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: body_sign(body=body, key=key),
        },
    )
    if answer.status != 200:
        raise PushError(f"batch refused ({answer.status}): {answer.detail()}")
    receipt: dict[str, Any] = answer.json()
    return receipt


def push_run(
    *,
    outbox: Outbox,
    transport: Transport,
    station_code: str,
    token: str,
    batch_size: int = BATCH_SIZE,
    now: dt.datetime | None = None,
) -> PushReport:
    """Send everything unsent. Raises ``TransportError`` or ``PushError`` on a failure;
    calling it again afterwards resumes exactly where it stopped."""
    key = token_key(token)
    report = PushReport()
    while True:
        at = now or dt.datetime.now(dt.UTC)
        pending = outbox.pending()
        if pending is None:
            records = outbox.unsent(limit=batch_size)
            if not records:
                return report
            batch_id = str(uuid.uuid4())
            body = batch_body(batch_id=batch_id, station_code=station_code, records=records, now=at)
            outbox.pending_set(batch_id, body)
        else:
            batch_id, body = pending
            records = json.loads(body)["records"]
        report.blobs_uploaded += _blobs_upload(
            transport=transport, outbox=outbox, digests=record_digests(records)
        )
        receipt = _batch_send(transport=transport, station_code=station_code, key=key, body=body)
        results = receipt.get("results", [])
        outbox.acked([r["id"] for r in results if r["status"] in ACKED_STATUSES], at=at)
        outbox.pending_clear()
        report.batches += 1
        for result in results:
            report.counts[result["status"]] = report.counts.get(result["status"], 0) + 1
        rejected = [r for r in results if r["status"] not in ACKED_STATUSES]
        if rejected:
            # Sending the same records again would be refused the same way: stop and say why.
            report.rejected.extend(rejected)
            return report
