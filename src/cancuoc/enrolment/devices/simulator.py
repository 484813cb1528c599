"""The device simulator: synthetic captures with configurable quality and failures.

The demo, the tests and the benchmarks run without hardware through this adapter. It
is configured by the station's ``device_profile`` (see ``SimulatorProfile``), e.g.::

    {"adapter": "simulator", "seed": 7, "worn_fingers": ["R2"], "missing_fingers": ["L5"],
     "failure_rate": 0.02, "face_quality_mean": 93}

Images are real PNGs drawn with Pillow: ridge patterns for fingers, a face-like figure
on a plain background, an iris, a signature stroke. Drawing and compressing a PNG of a
realistic size takes 15–40 ms, too slow for a benchmark that makes thousands, so each
(kind, variant) has a small pool of drawn images; every capture takes one from the pool
and adds a PNG text chunk naming the capture, so no two captures share bytes (or a
digest) while the whole thing stays well under a millisecond.

Determinism: a station's captures follow one random stream seeded by ``seed`` (the
pool images are a function of their key alone), so the same seed gives the same
sequence of captures in a fresh process. The stream and the worn-finger attempt counts
live in this process: with several server processes each keeps its own.
"""

from __future__ import annotations

import io
import math
import os
import random
import struct
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from cancuoc.enrolment.devices.base import (
    CaptureResult,
    DeviceError,
    DeviceSet,
    DeviceTimeout,
)

ADAPTER = "simulator"

#: Realistic sizes of one capture, in kilobytes (WSQ fingers at 500 ppi, a 3×4 photo).
DEFAULT_KB = {
    "rolled": 15,
    "slap": 40,
    "face": 60,
    "iris": 15,
    "signature": 5,
    "document": 40,
}
_POOL_SIZE = 8
_FINGER_CODES = {f"{hand}{n}" for hand in "RL" for n in range(1, 6)}
_SLAP_FINGERS = {
    "LS": ("L5", "L4", "L3", "L2"),
    "RS": ("R2", "R3", "R4", "R5"),
    "TS": ("L1", "R1"),
}


def _as_float(value: Any, default: float, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


@dataclass(frozen=True)
class SimulatorProfile:
    seed: int | None = None
    finger_quality_mean: int = 75
    worn_fingers: tuple[str, ...] = ()
    worn_retries: int = 2
    worn_forever: bool = False
    missing_fingers: tuple[str, ...] = ()
    failure_rate: float = 0.0
    timeout_rate: float = 0.0
    face_quality_mean: int = 95
    iris_quality_mean: int = 80
    image_kb: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_KB))
    qr_codes: tuple[str, ...] = ()
    serial: str = ""

    @classmethod
    def from_profile(cls, profile: dict[str, Any] | None, *, serial: str = "") -> SimulatorProfile:
        """Read a station's ``device_profile``; unknown keys are ignored, bad values clamped."""
        profile = profile or {}
        sizes = dict(DEFAULT_KB)
        image_kb = profile.get("image_kb")
        if isinstance(image_kb, dict):
            for kind, kb in image_kb.items():
                if kind in sizes:
                    sizes[kind] = int(_as_float(kb, sizes[kind], 1, 2000))
        elif image_kb is not None:
            # One number sets every kind: a quick way to test larger uploads.
            sizes = dict.fromkeys(sizes, int(_as_float(image_kb, 15, 1, 2000)))
        seed = profile.get("seed")
        return cls(
            seed=int(seed)
            if isinstance(seed, int | float | str) and str(seed).lstrip("-").isdigit()
            else None,
            finger_quality_mean=int(_as_float(profile.get("finger_quality_mean"), 75, 0, 100)),
            worn_fingers=tuple(f for f in profile.get("worn_fingers", ()) if f in _FINGER_CODES),
            worn_retries=int(_as_float(profile.get("worn_retries"), 2, 0, 100)),
            worn_forever=bool(profile.get("worn_forever", False)),
            missing_fingers=tuple(
                f for f in profile.get("missing_fingers", ()) if f in _FINGER_CODES
            ),
            failure_rate=_as_float(profile.get("failure_rate"), 0.0, 0.0, 1.0),
            timeout_rate=_as_float(profile.get("timeout_rate"), 0.0, 0.0, 1.0),
            face_quality_mean=int(_as_float(profile.get("face_quality_mean"), 95, 0, 100)),
            iris_quality_mean=int(_as_float(profile.get("iris_quality_mean"), 80, 0, 100)),
            image_kb=sizes,
            qr_codes=tuple(str(code) for code in profile.get("qr_codes", ())),
            serial=str(profile.get("serial") or serial or "0001"),
        )


# --- process state ------------------------------------------------------------------------


class _State:
    """One station's random stream, capture counter and worn-finger attempt counts."""

    def __init__(self, seed: int | None) -> None:
        self.rng = random.Random(seed if seed is not None else os.urandom(16))  # noqa: S311 - simulation
        self.counter = 0
        self.worn_attempts: dict[str, int] = {}
        self.qr_index = 0
        self.lock = threading.Lock()


_STATES: dict[tuple[Any, ...], _State] = {}
_STATES_LOCK = threading.Lock()


def _state_for(profile: SimulatorProfile) -> _State:
    key = (profile.serial, profile.seed, profile.worn_fingers, profile.worn_retries)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = _STATES[key] = _State(profile.seed)
        return state


def simulator_reset(serial: str | None = None) -> None:
    """Forget the streams and counters (of one serial, or all): a fresh start, as in a
    new process. Tests and the demo call it to replay a seed."""
    with _STATES_LOCK:
        for key in list(_STATES):
            if serial is None or key[0] == serial:
                del _STATES[key]


# --- drawing ------------------------------------------------------------------------------


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _noise(rng: random.Random, size: tuple[int, int], amplitude: float) -> Image.Image:
    """Seeded noise centred on 128 (Pillow's effect_noise cannot be seeded)."""
    raw = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return raw.point([int(128 + (v - 128) * amplitude / 128) for v in range(256)])


def _ridges(rng: random.Random, size: tuple[int, int], period: float, levels: int) -> Image.Image:
    """A fingerprint-like ridge field: bands of a radial and a tilted linear gradient."""
    radial = Image.radial_gradient("L")
    linear = Image.linear_gradient("L").rotate(rng.uniform(0, 360))
    field_ = Image.blend(radial, linear, rng.uniform(0.25, 0.55))
    dx, dy = rng.randint(0, 60), rng.randint(0, 60)
    field_ = field_.crop((dx, dy, dx + 196, dy + 196)).resize(size, Image.Resampling.BILINEAR)
    phase = rng.uniform(0, 2 * math.pi)
    turns = size[0] / 196 / period
    step = 256 // levels
    lut = [
        (int(128 + 110 * math.sin(v * 2 * math.pi * turns + phase)) // step) * step
        for v in range(256)
    ]
    return field_.point(lut)


def _finger_pad(rng: random.Random, size: tuple[int, int], poor: bool) -> Image.Image:
    ridges = _ridges(rng, size, period=rng.uniform(7.5, 10), levels=4)
    textured = ImageChops.add(ridges, _noise(rng, size, 40 if poor else 18), 1.0, -128)
    if poor:
        # A worn or dry finger: broken, low-contrast ridges.
        textured = textured.filter(ImageFilter.GaussianBlur(2)).point(lambda v: 90 + v // 3)
    mask = Image.new("L", size, 0)
    width, height = size
    ImageDraw.Draw(mask).ellipse((width * 0.1, height * 0.04, width * 0.9, height * 1.3), fill=255)
    return Image.composite(textured, Image.new("L", size, 255), mask)


def _draw_rolled(rng: random.Random, scale: float, variant: str) -> Image.Image:
    size = (int(256 * scale), int(320 * scale))
    return _finger_pad(rng, size, poor=variant == "poor")


def _draw_slap(rng: random.Random, scale: float, variant: str) -> Image.Image:
    # variant: "<slap>:<present fingers>:<poor|good>"
    _slap, present, quality = variant.split(":")
    width, height = int(640 * scale), int(420 * scale)
    canvas = Image.new("L", (width, height), 255)
    slots = 2 if _slap == "TS" else 4
    pad_w, pad_h = int(width / slots * 0.8), int(height * 0.85)
    for index, finger in enumerate(_SLAP_FINGERS[_slap]):
        if finger not in present.split(","):
            continue  # a missing finger leaves its place empty
        pad = _finger_pad(rng, (pad_w, pad_h), poor=quality == "poor")
        x = int(width / slots * (index + 0.1))
        y = int(height * 0.05 + (abs(index - (slots - 1) / 2) * height * 0.04))
        canvas.paste(pad, (x, y))
    return canvas


def _draw_face(rng: random.Random, scale: float, variant: str) -> Image.Image:
    width, height = int(300 * scale), int(400 * scale)
    light = 236 if variant != "busy" else 200
    image = Image.new("RGB", (width, height), (light, light, min(255, light + 6)))
    draw = ImageDraw.Draw(image)
    if variant == "busy":
        # A patterned background (a wall poster, a window).
        for _spot in range(60):
            x, y = rng.randint(0, width), rng.randint(0, height)
            r = rng.randint(8, 40)
            tone = rng.randint(40, 200)
            draw.rectangle((x, y, x + r, y + r), fill=(tone, tone // 2, 255 - tone))
    if variant != "absent":
        small = variant == "small"
        face_w = width * (0.22 if small else rng.uniform(0.48, 0.56))
        face_h = face_w * 1.3
        cx = width / 2 + rng.uniform(-6, 6) * scale
        top = height * (0.38 if small else 0.17)
        dim = 4 if variant == "dark" else 1
        skin = (
            rng.randint(195, 215) // dim,
            rng.randint(150, 170) // dim,
            rng.randint(120, 140) // dim,
        )
        # Shoulders, then hair, then the face, eyes and mouth.
        shoulder_top = top + face_h * 0.95
        draw.ellipse(
            (cx - face_w * 1.1, shoulder_top, cx + face_w * 1.1, shoulder_top + face_h * 1.2),
            fill=(40, 60, 110),
        )
        draw.ellipse(
            (cx - face_w * 0.55, top - face_h * 0.08, cx + face_w * 0.55, top + face_h * 0.6),
            fill=(30, 25, 25),
        )
        draw.ellipse((cx - face_w / 2, top, cx + face_w / 2, top + face_h), fill=skin)
        eye_y = top + face_h * 0.45
        for side in (-1, 1):
            ex = cx + side * face_w * 0.2
            draw.ellipse(
                (
                    ex - face_w * 0.07,
                    eye_y - face_h * 0.03,
                    ex + face_w * 0.07,
                    eye_y + face_h * 0.03,
                ),
                fill=(35, 25, 25),
            )
        mouth_y = top + face_h * 0.75
        draw.line(
            (cx - face_w * 0.15, mouth_y, cx + face_w * 0.15, mouth_y),
            fill=(150, 70, 70),
            width=max(2, int(3 * scale)),
        )
    # Sensor noise: a photo is never flat, and a flat one would compress to nothing.
    noise = _noise(rng, (width, height), 22).convert("RGB")
    return ImageChops.add(image, noise, 1.0, -128)


def _draw_iris(rng: random.Random, scale: float, variant: str) -> Image.Image:
    width, height = int(320 * scale), int(240 * scale)
    image = Image.new("L", (width, height), 200)
    draw = ImageDraw.Draw(image)
    cx, cy = width / 2, height / 2
    radius = height * 0.38
    draw.ellipse(
        (cx - radius * 1.9, cy - radius * 1.1, cx + radius * 1.9, cy + radius * 1.1), fill=235
    )
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=110)
    for _fibre in range(90):  # the iris's radial fibres
        angle = rng.uniform(0, 2 * math.pi)
        inner, outer = radius * 0.35, radius * rng.uniform(0.7, 0.98)
        tone = rng.randint(60, 160)
        draw.line(
            (
                cx + inner * math.cos(angle),
                cy + inner * math.sin(angle),
                cx + outer * math.cos(angle),
                cy + outer * math.sin(angle),
            ),
            fill=tone,
            width=2,
        )
    pupil = radius * rng.uniform(0.28, 0.38)
    draw.ellipse((cx - pupil, cy - pupil, cx + pupil, cy + pupil), fill=15)
    textured = ImageChops.add(image, _noise(rng, (width, height), 16), 1.0, -128)
    if variant == "poor":
        textured = textured.filter(ImageFilter.GaussianBlur(3))
    return textured


def _draw_signature(rng: random.Random, scale: float, variant: str) -> Image.Image:
    width, height = int(400 * scale), int(150 * scale)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    x, y = width * 0.08, height * 0.6
    points = [(x, y)]
    while x < width * 0.9:
        x += rng.uniform(4, 14) * scale
        y = max(10.0, min(height - 10.0, y + rng.uniform(-18, 18) * scale))
        points.append((x, y))
    draw.line(points, fill=20, width=max(2, int(3 * scale)), joint="curve")
    # The pad's faint grid noise keeps the file at a realistic size.
    return ImageChops.darker(image, _noise(rng, (width, height), 10).point(lambda v: v + 115))


def _draw_document(rng: random.Random, scale: float, variant: str) -> Image.Image:
    width, height = int(600 * scale), int(400 * scale)
    image = Image.new("L", (width, height), 245)
    draw = ImageDraw.Draw(image)
    for row in range(int(height * 0.1), int(height * 0.9), max(8, int(16 * scale))):
        x = width * 0.08
        while x < width * rng.uniform(0.6, 0.92):
            word = rng.uniform(15, 60) * scale
            draw.rectangle((x, row, x + word, row + 6 * scale), fill=rng.randint(20, 80))
            x += word + 8 * scale
    return ImageChops.add(image, _noise(rng, (width, height), 14), 1.0, -128)


_DRAW = {
    "rolled": _draw_rolled,
    "slap": _draw_slap,
    "face": _draw_face,
    "iris": _draw_iris,
    "signature": _draw_signature,
    "document": _draw_document,
}

_POOL: dict[tuple[str, str, int, int], bytes] = {}
_SCALE: dict[tuple[str, str, int], float] = {}
_POOL_LOCK = threading.Lock()


def _pool_image(kind: str, variant: str, target_kb: int, index: int) -> bytes:
    """The ``index``-th drawn image of (kind, variant), about ``target_kb`` kilobytes.

    The first one calibrates the drawing scale: PNG size grows with the area, so two
    corrections of the scale by sqrt(target / size) land close to the target.
    """
    key = (kind, variant, target_kb, index)
    cached = _POOL.get(key)
    if cached is not None:
        return cached
    seed = zlib.crc32(repr(key).encode())
    scale_key = (kind, variant, target_kb)
    scale = _SCALE.get(scale_key)
    if scale is None:
        scale = 1.0
        for _round in range(2):
            data = _png(_DRAW[kind](random.Random(seed), scale, variant))  # noqa: S311
            scale *= math.sqrt(target_kb * 1024 / len(data))
            scale = max(0.2, min(scale, 8.0))
    data = _png(_DRAW[kind](random.Random(seed), scale, variant))  # noqa: S311
    with _POOL_LOCK:
        _SCALE[scale_key] = scale
        _POOL[key] = data
    return data


def _tagged(data: bytes, text: str) -> bytes:
    """``data`` (a PNG) with a tEXt chunk naming the capture, inserted before IEND."""
    payload = b"Capture\x00" + text.encode("ascii")
    chunk = (
        struct.pack(">I", len(payload))
        + b"tEXt"
        + payload
        + struct.pack(">I", zlib.crc32(b"tEXt" + payload) & 0xFFFFFFFF)
    )
    return data[:-12] + chunk + data[-12:]  # the last 12 bytes are the IEND chunk


def synthetic_png(
    kind: str, *, variant: str = "good", target_kb: int | None = None, tag: str = "", index: int = 0
) -> bytes:
    """A synthetic capture image (for fixtures, the demo and benchmarks)."""
    data = _pool_image(kind, variant, target_kb or DEFAULT_KB[kind], index % _POOL_SIZE)
    return _tagged(data, tag) if tag else data


# --- the devices ----------------------------------------------------------------------------


class _Device:
    prefix = "DEV"

    def __init__(self, profile: SimulatorProfile) -> None:
        self.profile = profile
        self.state = _state_for(profile)
        self.name = f"{ADAPTER}:{self.prefix}-{profile.serial}"

    def _start(self) -> tuple[random.Random, int]:
        """Draw the failure dice and the capture number (under the state's lock)."""
        rng = self.state.rng
        roll = rng.random()
        self.state.counter += 1
        if roll < self.profile.timeout_rate:
            raise DeviceTimeout(_("The device did not answer in time; try again."))
        if roll < self.profile.timeout_rate + self.profile.failure_rate:
            raise DeviceError(_("The device reported an error; try again."))
        return rng, self.state.counter

    def _image(self, kind: str, variant: str, rng: random.Random, number: int) -> bytes:
        index = rng.randrange(_POOL_SIZE)
        token = f"{self.name}/{number}/{rng.getrandbits(64):016x}"
        return synthetic_png(
            kind, variant=variant, target_kb=self.profile.image_kb[kind], tag=token, index=index
        )

    def _quality(self, rng: random.Random, mean: int, spread: float) -> int:
        return max(0, min(100, round(rng.gauss(mean, spread))))


class SimulatedFingerprintScanner(_Device):
    prefix = "FP"

    def capture(self, *, position: str, kind: str) -> CaptureResult:
        if kind not in ("slap", "rolled"):
            raise ValueError(f"a fingerprint scanner captures slaps or rolled prints, not {kind!r}")
        fingers = _SLAP_FINGERS.get(position) if kind == "slap" else (position,)
        if fingers is None or not set(fingers) <= _FINGER_CODES:
            raise ValueError(f"unknown {kind} position {position!r}")
        with self.state.lock:
            rng, number = self._start()
            present = [f for f in fingers if f not in self.profile.missing_fingers]
            if not present:
                raise DeviceError(_("No finger detected on the scanner."))
            quality = self._quality(rng, self.profile.finger_quality_mean, 10)
            worn = [f for f in present if f in self.profile.worn_fingers]
            if worn:
                key = f"{kind}:{position}"
                attempts = self.state.worn_attempts.get(key, 0) + 1
                # A slap still passes after the retries: its other fingers read well; a
                # worn rolled print may never pass ("worn_forever") and needs an exception.
                fails = attempts <= self.profile.worn_retries or (
                    kind == "rolled" and self.profile.worn_forever
                )
                if fails:
                    self.state.worn_attempts[key] = attempts
                    quality = rng.randint(8, 35)
                else:
                    # Passed: the next citizen's worn finger starts over.
                    self.state.worn_attempts.pop(key, None)
                    quality = max(quality, rng.randint(42, 60))
            variant = "poor" if quality < 40 else "good"
            if kind == "slap":
                variant = f"{position}:{','.join(present)}:{variant}"
            image = self._image(kind, variant, rng, number)
        return CaptureResult(
            kind=kind,
            position=position,
            image=image,
            content_type="image/png",
            quality=quality,
            device=self.name,
            metrics={"fingers": present},
        )


class SimulatedCamera(_Device):
    prefix = "CAM"

    def capture_face(self) -> CaptureResult:
        with self.state.lock:
            rng, number = self._start()
            target = self._quality(rng, self.profile.face_quality_mean, 4)
            # A poor shot is poor for a visible reason the quality rules find in the image.
            variant = "good" if target >= 75 else rng.choice(("dark", "small", "busy", "absent"))
            metrics = {
                "sharpness": target,
                "yaw": round(rng.uniform(-4, 4), 1),
                "eyes_open": True,
            }
            image = self._image("face", variant, rng, number)
        return CaptureResult(
            kind="face",
            position="",
            image=image,
            content_type="image/png",
            quality=None,  # scored by quality.face_score from the image and these metrics
            device=self.name,
            metrics=metrics,
        )


class SimulatedIrisScanner(_Device):
    prefix = "IR"

    def capture(self, *, eye: str) -> CaptureResult:
        if eye not in ("R", "L"):
            raise ValueError(f"unknown eye {eye!r}")
        with self.state.lock:
            rng, number = self._start()
            quality = self._quality(rng, self.profile.iris_quality_mean, 8)
            image = self._image("iris", "poor" if quality < 40 else "good", rng, number)
        return CaptureResult(
            kind="iris",
            position=eye,
            image=image,
            content_type="image/png",
            quality=quality,
            device=self.name,
            metrics={},
        )


class SimulatedSignaturePad(_Device):
    prefix = "SIG"

    def capture(self) -> CaptureResult:
        with self.state.lock:
            rng, number = self._start()
            image = self._image("signature", "good", rng, number)
        return CaptureResult(
            kind="signature",
            position="",
            image=image,
            content_type="image/png",
            quality=None,
            device=self.name,
            metrics={},
        )


class SimulatedQrScanner(_Device):
    prefix = "QR"

    def scan(self) -> str:
        with self.state.lock:
            self._start()
            codes = self.profile.qr_codes
            if not codes:
                raise DeviceTimeout(_("No QR code was presented to the scanner."))
            code = codes[self.state.qr_index % len(codes)]
            self.state.qr_index += 1
            return code


class SimulatedDocumentScanner(_Device):
    prefix = "DOC"

    def scan(self) -> CaptureResult:
        with self.state.lock:
            rng, number = self._start()
            image = self._image("document", "good", rng, number)
        return CaptureResult(
            kind="document",
            position="",
            image=image,
            content_type="image/png",
            quality=None,
            device=self.name,
            metrics={},
        )


def simulator_devices(*, station_code: str, profile: dict[str, Any]) -> DeviceSet:
    """The adapter factory: a simulated set of devices for one station."""
    parsed = SimulatorProfile.from_profile(profile, serial=station_code)
    return DeviceSet(
        fingerprint=SimulatedFingerprintScanner(parsed),
        camera=SimulatedCamera(parsed),
        iris=SimulatedIrisScanner(parsed),
        signature=SimulatedSignaturePad(parsed),
        qr=SimulatedQrScanner(parsed),
        document=SimulatedDocumentScanner(parsed),
    )
