"""API of offline stations: pull a registry slice, upload blobs, push signed batches.

Only a station's own bearer token may pull or push for it (``offline.server``); the
token's SHA-256 digest also keys the HMAC that signs each push body.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import PermissionDenied
from cancuoc.enrolment.api._body import openapi_body, raw_body
from cancuoc.enrolment.offline import pull, server
from cancuoc.enrolment.offline.signing import SIGNATURE_HEADER, token_key

router = Router()

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _bearer_digest(request: HttpRequest) -> str | None:
    """The stored digest of the bearer token the caller authenticated with, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return token_key(raw.strip())


def _station(request: HttpRequest, code: str) -> Any:
    return server.station_for_token(code=code, token_digest=_bearer_digest(request))


class PullFilter(Schema):
    session: int | None = Field(None, description="A session of this station to take along")
    ids: str = Field("", description="Comma-separated 12-digit ID numbers (default: who is due)")


class BatchResultOut(Schema):
    id: str
    status: str = Field(description="created, duplicate, conflict or rejected")
    detail: str = ""


class ReceiptOut(Schema):
    batch_id: str
    replayed: bool
    results: list[BatchResultOut]
    counts: dict[str, int]


class PushIn(Schema):
    """Documented shape; the view verifies the signature over the raw bytes first."""

    batch_id: str
    station: str
    created_at: str
    records: list[dict[str, Any]]


class MissingIn(Schema):
    digests: list[str] = Field(max_length=2000)


class MissingOut(Schema):
    missing: list[str]


class BlobOut(Schema):
    digest: str
    size: int
    content_type: str


class StationMeOut(Schema):
    id: int
    code: str
    name: str


@router.get(
    "/stations/me",
    response=StationMeOut,
    summary="The station whose token the caller presents (a laptop's first question)",
)
def station_me(request: HttpRequest) -> Any:
    station = server.station_of_token(token_digest=_bearer_digest(request))
    return station


@router.get(
    "/stations/{code}/pull",
    summary="The registry slice a station takes offline (station token only); audited",
)
def station_pull(request: HttpRequest, code: str, filters: Query[PullFilter]) -> dict[str, Any]:
    station = _station(request, code)
    numbers = [n.strip() for n in filters.ids.split(",") if n.strip()]
    return pull.slice_build(
        actor=request.user, station=station, session_id=filters.session, id_numbers=numbers or None
    )


@router.post(
    "/stations/{code}/push",
    response=ReceiptOut,
    summary="Push a signed batch of offline enrolments (header X-Cancuoc-Signature)",
    openapi_extra=openapi_body(PushIn),
)
def station_push(request: HttpRequest, code: str) -> dict[str, Any]:
    station = _station(request, code)
    try:
        outcome = server.batch_apply(
            station=station,
            actor=request.user,
            body=raw_body(request),
            signature=request.headers.get(SIGNATURE_HEADER, ""),
        )
    except server.BatchIdReused as exc:
        raise HttpError(409, exc.message) from None
    return {**outcome.result, "replayed": outcome.replayed}


def _province_code(request: HttpRequest) -> str:
    """The caller's province: a blob is kept (and purged) under the uploader's province."""
    unit = getattr(request.user, "unit", None)
    return (unit.province_code if unit is not None else "") or ""


def _require_enrol(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.ENROL):
        raise PermissionDenied()


@router.post(
    "/blobs/missing",
    response=MissingOut,
    summary="Which of these image digests the server does not hold yet",
)
def blobs_missing(request: HttpRequest, payload: MissingIn) -> dict[str, Any]:
    _require_enrol(request)
    wanted = [d for d in payload.digests if _DIGEST.match(d)]
    return {"missing": server.blobs_missing(digests=wanted)}


@router.put(
    "/blobs/{digest}",
    response={201: BlobOut, 200: BlobOut},
    summary="Upload one image by its SHA-256 (idempotent); body: the image bytes",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def blob_put(request: HttpRequest, digest: str):  # type: ignore[no-untyped-def]
    from cancuoc.enrolment import biostore

    _require_enrol(request)
    if not _DIGEST.match(digest):
        raise HttpError(400, _("The digest must be 64 lowercase hexadecimal characters."))
    existed = server.blob_held(digest=digest)
    blob = biostore.blob_put(
        image=raw_body(request),
        content_type=request.content_type or "application/octet-stream",
        province_code=_province_code(request),
        expected_digest=digest,
    )
    if not existed:
        # A stored biometric image is a write like any other: who sent it, never its bytes.
        audit_record(
            actor=request.user,
            action="biometric.upload",
            object_type="enrolment.biometricblob",
            object_id=blob.digest,
            object_repr=blob.digest[:12],
            unit=getattr(request.user, "unit", None),
            detail={"content_type": blob.content_type, "size": blob.size},
        )
    return Status(200 if existed else 201, blob)
