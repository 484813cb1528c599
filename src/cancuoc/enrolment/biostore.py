"""The biometric store: encrypted, content-addressed images written once.

Each image is addressed by the SHA-256 of its plain bytes (``BiometricBlob.digest``), so
the same capture uploaded twice (a double submit, an offline push replayed) is stored
once. The file ``<BIOMETRIC_ROOT>/ab/cd/<digest>`` holds::

    b"CCB1" | 12-byte nonce | AES-256-GCM ciphertext and tag

with a fresh random nonce per write, and the magic plus the digest as associated data,
so a file copied under another digest does not decrypt. The key comes from the
environment (``CANCUOC_BIOMETRIC_KEY``: 32 bytes, URL-safe base64), never from the
database. Image bytes and the key never reach a log, an exception message or an audit
detail; every read is audited ("biometric.read") with its purpose.

Settings (read with defaults, so none is required): ``BIOMETRIC_ROOT`` (default
``DATA_DIR / "biometrics"``), ``BIOMETRIC_MAX_BYTES`` (2 MB), ``BIOMETRIC_KEY`` (else
the environment variable), ``BIOMETRIC_FSYNC`` (True: a stored image survives a power
cut before the capture row referencing it commits).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import io
import logging
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image

from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.core.scoping import unit_in_scope
from cancuoc.enrolment.models import (
    OPEN_STATUSES,
    ApplicationStatus,
    BiometricBlob,
    Capture,
)
from cancuoc.env import env_bool

logger = logging.getLogger(__name__)

MAGIC = b"CCB1"
NONCE_BYTES = 12
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
#: Larger pictures are refused even when their file is small (a decompression bomb).
MAX_PIXELS = 40_000_000
KEY_ENV = "CANCUOC_BIOMETRIC_KEY"

PNG = "image/png"
JPEG = "image/jpeg"
WSQ = "image/x-wsq"
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/wsq": WSQ}
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BiometricRejected(DomainError):
    """An upload was refused (empty, too large, not a valid image, corrupted); nothing
    was stored."""

    default_message = gettext_lazy("The biometric image was refused.")


class BiometricNotFound(DomainError):
    default_message = gettext_lazy("The biometric image was not found.")


class BiometricUnreadable(DomainError):
    """The stored file does not decrypt (wrong key, damaged file)."""

    default_message = gettext_lazy(
        "The stored biometric image cannot be decrypted: wrong key or damaged file."
    )


# --- settings and the key -----------------------------------------------------------------


def store_root() -> Path:
    root = getattr(settings, "BIOMETRIC_ROOT", None)
    return Path(root) if root else Path(settings.DATA_DIR) / "biometrics"


def max_bytes() -> int:
    return int(getattr(settings, "BIOMETRIC_MAX_BYTES", DEFAULT_MAX_BYTES))


def blob_path(digest: str) -> Path:
    return store_root() / digest[:2] / digest[2:4] / digest


def _developer_machine() -> bool:
    # The switch settings.py itself uses for the SECRET_KEY fallback: the DEBUG
    # environment variable. pytest-django turns settings.DEBUG off but keeps the
    # environment, so the test suite runs without a configured key as a developer does.
    return bool(settings.DEBUG) or env_bool("DEBUG", False)


@functools.lru_cache(maxsize=4)
def _cipher(raw_key: str, secret_key: str, developer: bool) -> AESGCM:
    if raw_key:
        try:
            key = base64.urlsafe_b64decode(raw_key.strip() + "=" * (-len(raw_key.strip()) % 4))
        except (ValueError, TypeError):
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"{KEY_ENV} must be 32 bytes in URL-safe base64 (e.g. the output of "
                'python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32))'
                '.decode())")'
            )
        return AESGCM(key)
    if not developer:
        raise ImproperlyConfigured(
            f"{KEY_ENV} is required when DEBUG is off: biometric images are encrypted with it"
        )
    logger.warning(
        "%s is not set: biometric images are encrypted with a development key derived "
        "from SECRET_KEY. Never run a real station like this.",
        KEY_ENV,
    )
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"cancuoc-biometric-dev-key", info=b"aes-gcm"
    ).derive(secret_key.encode())
    return AESGCM(derived)


def _aead() -> AESGCM:
    """The cipher for the configured key; ImproperlyConfigured at first use if none.

    Cached per (key, SECRET_KEY, developer) so the development warning is logged once.
    """
    raw = getattr(settings, "BIOMETRIC_KEY", "") or os.environ.get(KEY_ENV, "")
    return _cipher(raw, str(settings.SECRET_KEY), _developer_machine())


def _encrypt(digest: str, plain: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + _aead().encrypt(nonce, plain, MAGIC + digest.encode())


def _decrypt(digest: str, data: bytes) -> bytes:
    if len(data) < len(MAGIC) + NONCE_BYTES + 16 or not data.startswith(MAGIC):
        raise BiometricUnreadable()
    nonce = data[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        plain = _aead().decrypt(nonce, data[len(MAGIC) + NONCE_BYTES :], MAGIC + digest.encode())
    except InvalidTag:
        raise BiometricUnreadable() from None
    if hashlib.sha256(plain).hexdigest() != digest:
        raise BiometricUnreadable()
    return plain


# --- validation ---------------------------------------------------------------------------


def _sniff(image: bytes) -> str | None:
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if image.startswith(b"\xff\xd8\xff"):
        return JPEG
    if image.startswith(b"\xff\xa0"):  # WSQ: start-of-image marker FFA0
        return WSQ
    return None


def _corrupted() -> BiometricRejected:
    return BiometricRejected(
        _("The image is corrupted or not in a supported format (PNG, JPEG or WSQ).")
    )


def _check_size(image: bytes) -> None:
    if not image:
        raise BiometricRejected(_("The image is empty."))
    limit = max_bytes()
    if len(image) > limit:
        raise BiometricRejected(
            _("The image is too large: %(size)s bytes, the limit is %(limit)s bytes.")
            % {"size": len(image), "limit": limit}
        )


def image_validate(*, image: bytes, content_type: str) -> str:
    """Check an upload; return its normalised content type or raise BiometricRejected."""
    _check_size(image)
    found = _sniff(image)
    if found is None:
        raise _corrupted()
    declared = content_type.split(";")[0].strip().lower()
    declared = _ALIASES.get(declared, declared)
    if declared != found:
        raise BiometricRejected(
            _("The image is not of the declared type %(declared)s.")
            % {"declared": content_type[:40] or "?"}
        )
    if found == WSQ:
        # Pillow cannot decode WSQ: check the markers that frame the file.
        if not image.rstrip(b"\x00").endswith(b"\xff\xa1"):
            raise _corrupted()
        return found
    try:
        with Image.open(io.BytesIO(image)) as opened:
            width, height = opened.size
            opened.verify()  # chunk CRCs and structure, without decoding the pixels
    except Exception:  # Pillow raises many types for broken files
        raise _corrupted() from None
    if width * height > MAX_PIXELS:
        raise BiometricRejected(_("The image has too many pixels."))
    return found


# --- writing ------------------------------------------------------------------------------


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            if getattr(settings, "BIOMETRIC_FSYNC", True):
                out.flush()
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def blob_put(
    *,
    image: bytes,
    content_type: str,
    province_code: str,
    expected_digest: str | None = None,
) -> BiometricBlob:
    """Store ``image`` encrypted; return its row. The same bytes again return the same
    row without writing anything (idempotent). Refused uploads store nothing.

    The file is written before the row, so a committed row always has its file; a row
    that rolls back (the capture failed) leaves a file a later upload of the same bytes
    reuses.
    """
    _check_size(image)  # before hashing: an oversized upload costs nothing more
    digest = hashlib.sha256(image).hexdigest()
    if expected_digest is not None and expected_digest.strip().lower() != digest:
        raise BiometricRejected(
            _("The image is corrupted: it does not match the digest sent with it.")
        )
    path = blob_path(digest)
    existing = BiometricBlob.objects.filter(pk=digest).first()
    if existing is not None and existing.purged_at is None and path.exists():
        return existing
    normalised = image_validate(image=image, content_type=content_type)
    if not path.exists():
        _write_once(path, _encrypt(digest, image))
    with transaction.atomic():
        blob, created = BiometricBlob.objects.get_or_create(
            digest=digest,
            defaults={
                "province_code": province_code[:2],
                "content_type": normalised,
                "size": len(image),
            },
        )
        if not created and blob.purged_at is not None:
            # The same bytes captured again after a purge: stored anew.
            BiometricBlob.objects.filter(pk=digest).update(purged_at=None)
            blob.purged_at = None
    return blob


#: Threads that flush a batch's files together: fsync releases the GIL, and concurrent
#: fsyncs on one file system share the journal's commits (17 files: ~5 ms instead of
#: ~30-60 ms one after the other on the target machine).
_FSYNC_THREADS = 8
_fsync_pool: tuple[int, ThreadPoolExecutor] | None = None


def _fsync_all(fds: list[int]) -> None:
    global _fsync_pool
    if len(fds) < 2:
        for fd in fds:
            os.fsync(fd)
        return
    # One pool per process: a forked worker (gunicorn, the benchmark) has no threads.
    if _fsync_pool is None or _fsync_pool[0] != os.getpid():
        _fsync_pool = (os.getpid(), ThreadPoolExecutor(_FSYNC_THREADS, "biostore-fsync"))
    list(_fsync_pool[1].map(os.fsync, fds))


def _write_many(files: list[tuple[Path, bytes]]) -> None:
    """Write each ``(path, data)`` atomically, like ``_write_once``, flushing them together.

    All temporary files are written first, then flushed to disk at once, then renamed:
    a file appears under its digest only once its bytes are durable.
    """
    fsync = getattr(settings, "BIOMETRIC_FSYNC", True)
    pending: list[tuple[int, str, Path]] = []
    handles: list[int] = []  # still open
    try:
        for path, data in files:
            try:
                handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            except FileNotFoundError:  # the digest's folder is new (rarely, once full)
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            handles.append(handle)
            pending.append((handle, temporary, path))
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        if fsync:
            _fsync_all(handles)
        while handles:
            os.close(handles.pop())
        for _handle, temporary, path in pending:
            os.replace(temporary, path)
    except BaseException:
        while handles:
            with contextlib.suppress(OSError):
                os.close(handles.pop())
        for _handle, temporary, _path in pending:
            Path(temporary).unlink(missing_ok=True)
        raise


def blobs_put_many(*, images: list[tuple[bytes, str]], province_code: str) -> list[BiometricBlob]:
    """Store many ``(image, content_type)`` at once; their rows, in the same order.

    The same guarantees as ``blob_put`` for each image (encrypted, content-addressed,
    idempotent, the file durable before its row), with the work batched: every image is
    checked before anything is written, so one corrupted or oversized image stores
    nothing of the batch; the files are flushed together; the rows come in one INSERT.
    """
    digests = []
    for image, _content_type in images:
        _check_size(image)
        digests.append(hashlib.sha256(image).hexdigest())
    unique = list(dict.fromkeys(digests))
    existing = {b.digest: b for b in BiometricBlob.objects.filter(pk__in=unique)}
    to_store: dict[str, tuple[bytes, str]] = {}
    for digest, (image, content_type) in zip(digests, images, strict=True):
        if digest in to_store:
            continue
        blob = existing.get(digest)
        if blob is not None and blob.purged_at is None and blob_path(digest).exists():
            continue
        to_store[digest] = (image, image_validate(image=image, content_type=content_type))
    _write_many(
        [
            (blob_path(digest), _encrypt(digest, image))
            for digest, (image, _type) in to_store.items()
            if not blob_path(digest).exists()
        ]
    )
    new_rows = [
        BiometricBlob(
            digest=digest,
            province_code=province_code[:2],
            content_type=normalised,
            size=len(image),
        )
        for digest, (image, normalised) in to_store.items()
        if digest not in existing
    ]
    if new_rows:
        # ON CONFLICT DO NOTHING: a row a concurrent upload of the same bytes committed
        # is simply there (no savepoint needed, no error to recover from).
        BiometricBlob.objects.bulk_create(new_rows, ignore_conflicts=True)
    purged = [d for d in to_store if d in existing and existing[d].purged_at is not None]
    if purged:
        # The same bytes captured again after a purge: stored anew.
        BiometricBlob.objects.filter(pk__in=purged).update(purged_at=None)
        for digest in purged:
            existing[digest].purged_at = None
    made = {row.digest: row for row in new_rows}
    return [existing.get(d) or made[d] for d in digests]


# --- reading ------------------------------------------------------------------------------


def _blob_unit(blob: BiometricBlob) -> tuple[Any, str]:
    """The unit that owns a blob (its application's) and the application id, if any."""
    capture = (
        Capture.objects.filter(blob_id=blob.digest)
        .select_related("application__unit")
        .order_by("captured_at")
        .first()
    )
    if capture is not None:
        return capture.application.unit, str(capture.application_id)
    from cancuoc.units.models import Level, Unit

    province = (
        Unit.objects.filter(level=Level.PROVINCE, code=blob.province_code)
        .order_by("-edition")
        .first()
    )
    return province, ""


def blob_read(*, actor: Any, digest: str, purpose: str) -> bytes:
    """The plain bytes of one image, for ``purpose`` (shown in the audit log).

    The actor must have the owning application's unit in scope (for an image no capture
    references yet: its province). ``actor=None`` is the system itself (a production
    export, a task); the read is audited all the same. The audit row is written before
    decrypting, so a failed read is on record too.
    """
    digest = (digest or "").strip().lower()
    if not _DIGEST.match(digest):
        raise BiometricNotFound()
    if not purpose.strip():
        raise DomainError(_("Say why the biometric image is read."))
    blob = BiometricBlob.objects.filter(pk=digest).first()
    if blob is None:
        raise BiometricNotFound()
    unit, application_id = _blob_unit(blob)
    if actor is not None and not unit_in_scope(actor, unit):
        raise OutOfScope()
    audit_record(
        actor=actor,
        action="biometric.read",
        object_type="enrolment.biometricblob",
        object_id=digest,
        object_repr=digest[:12],
        unit=unit,
        detail={
            "purpose": purpose.strip()[:200],
            "application": application_id,
            "content_type": blob.content_type,
            "size": blob.size,
        },
    )
    if blob.purged_at is not None:
        raise BiometricNotFound(_("The biometric image was deleted under the retention policy."))
    try:
        data = blob_path(digest).read_bytes()
    except FileNotFoundError:
        logger.error("biometric store: the file of blob %s is missing", digest[:12])
        raise BiometricNotFound(_("The biometric image file is missing from the store.")) from None
    return _decrypt(digest, data)


# --- retention ----------------------------------------------------------------------------

#: Applications whose images must stay: the card is not made yet, or a supervisor has
#: still to decide (nothing of an enrolment is dropped before that).
_KEEP_STATUSES = [str(s) for s in OPEN_STATUSES] + [str(ApplicationStatus.CONFLICT)]


def blobs_purgeable(*, before: dt.date) -> Any:
    """Blobs stored before ``before`` (local day), past any ``retain_until``, not yet
    purged, and not used by an application still open or in conflict."""
    start = dt.datetime.combine(before, dt.time.min, tzinfo=timezone.get_current_timezone())
    in_use = Capture.objects.filter(blob_id=OuterRef("pk"), application__status__in=_KEEP_STATUSES)
    return (
        BiometricBlob.objects.filter(purged_at__isnull=True, stored_at__lt=start)
        .filter(Q(retain_until__isnull=True) | Q(retain_until__lt=before))
        .exclude(Exists(in_use))
    )


def blobs_purge(*, before: dt.date, actor: Any = None, dry_run: bool = False) -> int:
    """Delete the files of the purgeable blobs and mark their rows; return how many.

    The file goes first, then the row is marked: a crash in between leaves a row whose
    file is gone, which the next run marks. The other order could leave a file the
    store believes deleted. Rows stay (captures reference them) with ``purged_at``.
    """
    digests = list(blobs_purgeable(before=before).values_list("digest", flat=True))
    if dry_run:
        return len(digests)
    now = timezone.now()
    purged = 0
    for offset in range(0, len(digests), 500):
        chunk = digests[offset : offset + 500]
        for digest in chunk:
            blob_path(digest).unlink(missing_ok=True)
        with transaction.atomic():
            purged += BiometricBlob.objects.filter(digest__in=chunk, purged_at__isnull=True).update(
                purged_at=now
            )
    audit_record(
        actor=actor,
        action="biometric.purge",
        object_type="enrolment.biometricblob",
        detail={"before": before.isoformat(), "count": purged},
    )
    return purged
