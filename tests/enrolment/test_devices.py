"""Device adapters: the simulator's images, quality and failures; choosing an adapter."""

from __future__ import annotations

import hashlib
import io
from types import SimpleNamespace

import pytest
from django.utils import translation
from PIL import Image

from cancuoc.enrolment.devices import (
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
    adapter_names,
    devices_for,
)
from cancuoc.enrolment.devices.simulator import (
    DEFAULT_KB,
    SimulatedCamera,
    SimulatorProfile,
    simulator_devices,
    simulator_reset,
)
from cancuoc.enrolment.quality import QualityPolicy, face_score

FINGERS = ("R1", "R2", "R3", "R4", "R5", "L1", "L2", "L3", "L4", "L5")


@pytest.fixture(autouse=True)
def english():
    """These tests match the English messages; the site's default language is Vietnamese."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_simulator():
    simulator_reset()
    yield
    simulator_reset()


def station(code="ST-T1", **profile):
    return SimpleNamespace(code=code, device_profile=profile)


def one_of_each(devices: DeviceSet) -> list[CaptureResult]:
    return [
        devices.fingerprint.capture(position="R1", kind="rolled"),
        devices.fingerprint.capture(position="LS", kind="slap"),
        devices.camera.capture_face(),
        devices.iris.capture(eye="L"),
        devices.signature.capture(),
        devices.document.scan(),
    ]


def fingerprint(result: CaptureResult) -> tuple:
    return (result.kind, result.quality, hashlib.sha256(result.image).hexdigest())


# --- images --------------------------------------------------------------------------------


def test_every_capture_is_a_valid_png_of_a_realistic_size():
    for result in one_of_each(devices_for(station(seed=1))):
        assert result.content_type == "image/png"
        with Image.open(io.BytesIO(result.image)) as image:
            assert image.format == "PNG"
            image.verify()
        target = DEFAULT_KB[result.kind] * 1024
        assert 0.7 * target <= len(result.image) <= 1.3 * target, (result.kind, len(result.image))


def test_image_kb_sets_the_size_per_kind_or_for_all():
    big = devices_for(station(seed=1, image_kb={"rolled": 60})).fingerprint
    assert (
        0.7 * 60 * 1024 <= len(big.capture(position="R1", kind="rolled").image) <= 1.3 * 60 * 1024
    )
    small = devices_for(station(seed=1, image_kb=5)).iris
    assert 0.6 * 5 * 1024 <= len(small.capture(eye="R").image) <= 1.4 * 5 * 1024


def test_no_two_captures_share_bytes():
    scanner = devices_for(station(seed=2)).fingerprint
    digests = {
        hashlib.sha256(scanner.capture(position=FINGERS[i % 10], kind="rolled").image).digest()
        for i in range(200)
    }
    assert len(digests) == 200


def test_the_same_seed_gives_the_same_captures_and_another_seed_does_not():
    first = [fingerprint(r) for r in one_of_each(devices_for(station(seed=42)))]
    simulator_reset()
    again = [fingerprint(r) for r in one_of_each(devices_for(station(seed=42)))]
    simulator_reset()
    other = [fingerprint(r) for r in one_of_each(devices_for(station(seed=43)))]
    assert first == again
    assert first != other


def test_a_stations_stream_continues_across_device_sets():
    # The server builds a DeviceSet per request: the captures must still differ.
    one = devices_for(station(seed=5)).fingerprint.capture(position="R1", kind="rolled")
    two = devices_for(station(seed=5)).fingerprint.capture(position="R1", kind="rolled")
    assert one.image != two.image


def test_the_device_names_the_adapter_and_serial():
    devices = devices_for(station(code="ST-9", seed=1))
    assert devices.fingerprint.capture(position="R1", kind="rolled").device == "simulator:FP-ST-9"
    assert devices.camera.capture_face().device == "simulator:CAM-ST-9"
    serial = devices_for(station(seed=1, serial="0042")).iris.capture(eye="R")
    assert serial.device == "simulator:IR-0042"


def test_a_capture_result_never_prints_its_bytes():
    result = devices_for(station(seed=1)).signature.capture()
    text = repr(result)
    assert f"bytes={len(result.image)}" in text
    assert "\\x" not in text and "PNG" not in text


# --- quality and failures --------------------------------------------------------------------


def test_finger_quality_follows_the_mean():
    scanner = devices_for(station(seed=3, finger_quality_mean=75)).fingerprint
    scores = [scanner.capture(position="R2", kind="rolled").quality for _ in range(200)]
    assert 70 <= sum(scores) / len(scores) <= 80
    assert all(0 <= s <= 100 for s in scores)
    low = devices_for(station(code="ST-LOW", seed=3, finger_quality_mean=20)).fingerprint
    low_scores = [low.capture(position="R2", kind="rolled").quality for _ in range(100)]
    assert sum(s < 40 for s in low_scores) >= 80


def test_a_worn_finger_fails_the_first_attempts_then_passes_for_each_citizen():
    scanner = devices_for(station(seed=4, worn_fingers=["R2"], worn_retries=2)).fingerprint
    for _citizen in range(3):
        scores = [scanner.capture(position="R2", kind="rolled").quality for _ in range(3)]
        assert scores[0] < 40 and scores[1] < 40
        assert scores[2] >= 40
    assert scanner.capture(position="R3", kind="rolled").quality is not None


def test_a_worn_slap_passes_after_the_retries_even_when_the_finger_never_does():
    scanner = devices_for(
        station(seed=4, worn_fingers=["R3"], worn_retries=1, worn_forever=True)
    ).fingerprint
    rolled = [scanner.capture(position="R3", kind="rolled").quality for _ in range(6)]
    assert all(score < 40 for score in rolled)
    slaps = [scanner.capture(position="RS", kind="slap").quality for _ in range(2)]
    assert slaps[0] < 40 and slaps[1] >= 40


def test_a_missing_finger_is_not_detected_and_its_slap_shows_the_others():
    scanner = devices_for(station(seed=6, missing_fingers=["L5"])).fingerprint
    with pytest.raises(DeviceError, match="No finger detected"):
        scanner.capture(position="L5", kind="rolled")
    slap = scanner.capture(position="LS", kind="slap")
    assert slap.metrics == {"fingers": ["L4", "L3", "L2"]}


def test_failure_and_timeout_rates():
    failing = devices_for(station(code="ST-F", seed=7, failure_rate=1.0))
    with pytest.raises(DeviceError) as error:
        failing.fingerprint.capture(position="R1", kind="rolled")
    assert not isinstance(error.value, DeviceTimeout)
    with pytest.raises(DeviceError):
        failing.camera.capture_face()
    slow = devices_for(station(code="ST-T", seed=7, timeout_rate=1.0))
    with pytest.raises(DeviceTimeout):
        slow.iris.capture(eye="R")
    some = devices_for(station(code="ST-S", seed=7, failure_rate=0.3)).signature
    outcomes = []
    for _ in range(200):
        try:
            some.capture()
            outcomes.append(True)
        except DeviceError:
            outcomes.append(False)
    assert 40 <= outcomes.count(False) <= 80


def test_faces_of_a_good_station_pass_and_of_a_poor_one_fail_for_a_reason():
    policy = QualityPolicy()
    camera = devices_for(station(seed=8, face_quality_mean=96)).camera
    good = [
        face_score(image=r.image, metrics=r.metrics)
        for r in (camera.capture_face() for _ in range(30))
    ]
    assert sum(a.passes(policy) for a in good) >= 25
    poor_camera = devices_for(station(code="ST-P", seed=8, face_quality_mean=50)).camera
    poor = [
        face_score(image=r.image, metrics=r.metrics)
        for r in (poor_camera.capture_face() for _ in range(20))
    ]
    assert not any(a.passes(policy) for a in poor)
    assert all(a.reasons for a in poor)
    assert sum(not all(a.checks.values()) for a in poor) >= 15


def test_a_face_capture_leaves_the_score_to_the_quality_rules():
    result = devices_for(station(seed=1)).camera.capture_face()
    assert result.quality is None
    assert set(result.metrics) == {"sharpness", "yaw", "eyes_open"}


def test_the_qr_scanner_reads_the_configured_codes_in_turn():
    qr = devices_for(station(seed=1, qr_codes=["CC|001099012345", "CC|001099012346"])).qr
    assert [qr.scan(), qr.scan(), qr.scan()] == [
        "CC|001099012345",
        "CC|001099012346",
        "CC|001099012345",
    ]
    with pytest.raises(DeviceTimeout):
        devices_for(station(code="ST-Q", seed=1)).qr.scan()


def test_bad_arguments_are_programming_errors():
    devices = devices_for(station(seed=1))
    with pytest.raises(ValueError):
        devices.fingerprint.capture(position="R6", kind="rolled")
    with pytest.raises(ValueError):
        devices.fingerprint.capture(position="R1", kind="face")
    with pytest.raises(ValueError):
        devices.iris.capture(eye="X")


def test_a_profile_with_nonsense_values_is_clamped():
    profile = SimulatorProfile.from_profile(
        {"failure_rate": 7, "finger_quality_mean": "abc", "worn_fingers": ["R2", "Z9"], "seed": "x"}
    )
    assert profile.failure_rate == 1.0
    assert profile.finger_quality_mean == 75
    assert profile.worn_fingers == ("R2",)
    assert profile.seed is None


# --- choosing the adapter --------------------------------------------------------------------


def test_the_simulator_is_the_default_and_implements_every_protocol():
    devices = devices_for(station())
    assert isinstance(devices.camera, SimulatedCamera)
    assert isinstance(devices.fingerprint, FingerprintScanner)
    assert isinstance(devices.camera, Camera)
    assert isinstance(devices.iris, IrisScanner)
    assert isinstance(devices.signature, SignaturePad)
    assert isinstance(devices.qr, QrScanner)
    assert isinstance(devices.document, DocumentScanner)
    assert devices_for(SimpleNamespace(code="X", device_profile=None)).camera is not None


def test_a_bridge_station_refuses_server_side_captures():
    devices = devices_for(station(adapter="bridge"))
    with pytest.raises(DeviceError, match="connected to its own computer"):
        devices.fingerprint.capture(position="R1", kind="rolled")
    with pytest.raises(DeviceError):
        devices.camera.capture_face()
    with pytest.raises(DeviceError):
        devices.qr.scan()


def test_an_unknown_adapter_or_kind_is_a_device_error():
    with pytest.raises(DeviceError, match="acme"):
        devices_for(station(adapter="acme"))
    with pytest.raises(DeviceError, match="toaster"):
        devices_for(station(devices={"toaster": "simulator"}))


class _FakeScanner:
    def capture(self, *, position: str, kind: str) -> CaptureResult:
        return CaptureResult(
            kind=kind,
            position=position,
            image=b"\xff\xa0fake-wsq\xff\xa1",
            content_type="image/x-wsq",
            quality=77,
            device="acme:123",
            metrics={},
        )


def acme_devices(*, station_code, profile):
    base = simulator_devices(station_code=station_code, profile=profile)
    return DeviceSet(
        fingerprint=_FakeScanner(),
        camera=base.camera,
        iris=base.iris,
        signature=base.signature,
        qr=base.qr,
        document=base.document,
    )


def test_a_deployment_registers_its_driver_and_a_profile_mixes_adapters(settings):
    settings.ENROLMENT_DEVICE_ADAPTERS = {"acme": "tests.enrolment.test_devices.acme_devices"}
    assert adapter_names() == ["acme", "bridge", "simulator"]
    whole = devices_for(station(adapter="acme"))
    assert whole.fingerprint.capture(position="R1", kind="rolled").device == "acme:123"
    mixed = devices_for(station(adapter="bridge", devices={"fingerprint": "acme"}))
    assert mixed.fingerprint.capture(position="R1", kind="rolled").quality == 77
    with pytest.raises(DeviceError):
        mixed.camera.capture_face()


def test_a_profile_cannot_name_a_python_path():
    with pytest.raises(DeviceError):
        devices_for(station(adapter="os.system"))
