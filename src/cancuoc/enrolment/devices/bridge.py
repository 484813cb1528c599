"""The "bridge" adapter: the station's devices are driven by a program on its laptop.

With a real scanner the vendor's SDK runs next to the hardware (usually a Windows DLL or
a local service), not on the server. A small local bridge captures there and uploads
each capture through the API (``POST /api/v1/enrolment/applications/{id}/captures``);
see docs/devices.md. The server then has no device to ask: every call here refuses
with a message the operator understands, and nothing is stored.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.utils.translation import gettext_lazy as _

from cancuoc.enrolment.devices.base import CaptureResult, DeviceError, DeviceSet

ADAPTER = "bridge"


def _refuse() -> NoReturn:
    raise DeviceError(_("This station's devices are connected to its own computer: capture there."))


class _BridgeDevice:
    def capture(self, **_kwargs: Any) -> CaptureResult:
        _refuse()

    def capture_face(self) -> CaptureResult:
        _refuse()

    def scan(self) -> Any:
        _refuse()


def bridge_devices(*, station_code: str, profile: dict[str, Any]) -> DeviceSet:
    device = _BridgeDevice()
    return DeviceSet(
        fingerprint=device,
        camera=device,
        iris=device,
        signature=device,
        qr=device,
        document=device,
    )
