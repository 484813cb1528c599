"""Device adapters: which code captures fingerprints, faces, irises and signatures.

``devices_for(station)`` reads ``station.device_profile``::

    {"adapter": "simulator", ...the adapter's own keys...}
    {"adapter": "bridge"}                       # captures arrive through the API
    {"adapter": "simulator", "devices": {"fingerprint": "acme"}}   # mix per device kind

An adapter is a factory ``(*, station_code, profile) -> DeviceSet``. The built-in ones
are the simulator (the default) and the bridge; a deployment adds its drivers by name in
``settings.ENROLMENT_DEVICE_ADAPTERS = {"acme": "acme_cancuoc.driver:devices"}``. A
profile can only name an adapter, never a Python path: the profile is edited on a page,
and a page must not be able to make the server import arbitrary code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from cancuoc.enrolment.devices.base import (
    Camera,
    CaptureResult,
    DeviceError,
    DeviceSet,
    DeviceTimeout,
    DocumentScanner,
    FingerprintScanner,
    IrisScanner,
    QrScanner,
    SignaturePad,
)

__all__ = [
    "ADAPTERS",
    "DEFAULT_ADAPTER",
    "DEVICE_KINDS",
    "Camera",
    "CaptureResult",
    "DeviceError",
    "DeviceSet",
    "DeviceTimeout",
    "DocumentScanner",
    "FingerprintScanner",
    "IrisScanner",
    "QrScanner",
    "SignaturePad",
    "adapter_names",
    "devices_for",
]

DEFAULT_ADAPTER = "simulator"
#: The built-in adapters, by name.
ADAPTERS: dict[str, str] = {
    "simulator": "cancuoc.enrolment.devices.simulator.simulator_devices",
    "bridge": "cancuoc.enrolment.devices.bridge.bridge_devices",
}
#: The DeviceSet fields a profile's "devices" may give their own adapter.
DEVICE_KINDS = tuple(f.name for f in dataclasses.fields(DeviceSet))

Factory = Callable[..., DeviceSet]


def _registry() -> dict[str, str]:
    return {**ADAPTERS, **getattr(settings, "ENROLMENT_DEVICE_ADAPTERS", {})}


def adapter_names() -> list[str]:
    """The adapters a station's profile may name (for the station form)."""
    return sorted(_registry())


def _factory(name: str) -> Factory:
    path = _registry().get(name)
    if path is None:
        raise DeviceError(
            _("Unknown device adapter %(name)s in the station's device profile.") % {"name": name}
        )
    factory: Factory = import_string(path)
    return factory


def devices_for(station: Any) -> DeviceSet:
    """The devices of ``station``, chosen by its ``device_profile`` (default: simulator)."""
    profile = dict(getattr(station, "device_profile", None) or {})
    code = str(getattr(station, "code", "") or "")
    name = str(profile.get("adapter") or DEFAULT_ADAPTER)
    devices = _factory(name)(station_code=code, profile=profile)
    overrides = profile.get("devices") or {}
    if isinstance(overrides, dict) and overrides:
        replaced: dict[str, Any] = {}
        built: dict[str, DeviceSet] = {name: devices}
        for kind, other in overrides.items():
            if kind not in DEVICE_KINDS:
                raise DeviceError(
                    _("Unknown device kind %(name)s in the station's device profile.")
                    % {"name": kind}
                )
            other = str(other)
            if other not in built:
                built[other] = _factory(other)(station_code=code, profile=profile)
            replaced[kind] = getattr(built[other], kind)
        devices = dataclasses.replace(devices, **replaced)
    return devices
