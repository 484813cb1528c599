"""The device adapter interface: one protocol per kind of device.

A station's intake talks to devices only through these protocols, so the simulator
(simulator.py), a vendor SDK driver and a local bridge are interchangeable. The rules
for a driver are in docs/devices.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: The kinds a CaptureResult may carry.
CAPTURE_KINDS = ("slap", "rolled", "face", "iris", "signature", "document", "qr")


class DeviceError(Exception):
    """The device failed (no finger, a jam, a lost connection): the operator may retry.

    The message is shown to the operator; it never holds image bytes.
    """


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


@dataclass(frozen=True)
class CaptureResult:
    kind: str  # "slap" | "rolled" | "face" | "iris" | "signature" | "document" | "qr"
    position: str  # R1..R5 L1..L5 (thumb = 1); slaps "RS" "LS" "TS"; iris "R" "L"; else ""
    image: bytes  # PNG from the simulator; WSQ or JPEG from a real device
    content_type: str  # "image/png", "image/jpeg", "image/x-wsq"
    quality: int | None  # 0–100 as the device SDK reports it; None: quality.py scores it
    device: str  # "simulator:FP-0001": the adapter's name and the device's serial
    metrics: dict[str, Any] = field(default_factory=dict)  # JSON-safe facts for quality rules

    def __repr__(self) -> str:
        # Never print image bytes (tracebacks and logs show reprs).
        return (
            f"CaptureResult(kind={self.kind!r}, position={self.position!r}, "
            f"bytes={len(self.image)}, content_type={self.content_type!r}, "
            f"quality={self.quality!r}, device={self.device!r})"
        )


@runtime_checkable
class FingerprintScanner(Protocol):
    def capture(self, *, position: str, kind: str) -> CaptureResult: ...


@runtime_checkable
class Camera(Protocol):
    def capture_face(self) -> CaptureResult: ...


@runtime_checkable
class IrisScanner(Protocol):
    def capture(self, *, eye: str) -> CaptureResult: ...


@runtime_checkable
class SignaturePad(Protocol):
    def capture(self) -> CaptureResult: ...


@runtime_checkable
class QrScanner(Protocol):
    def scan(self) -> str: ...


@runtime_checkable
class DocumentScanner(Protocol):
    def scan(self) -> CaptureResult: ...


@dataclass(frozen=True)
class DeviceSet:
    """The devices of one station."""

    fingerprint: FingerprintScanner
    camera: Camera
    iris: IrisScanner
    signature: SignaturePad
    qr: QrScanner
    document: DocumentScanner
