"""Biometric quality rules: finger verdicts, the face assessment, who must give what.

Pure: no Django. The practice is MOSIP's (domain.md §3): finger quality threshold 40,
face threshold 90, 3 retries per finger, then an exception signed by a supervisor. The
numbers are a station's settings (``Station.finger_threshold`` ...); ``QualityPolicy``
carries them into these rules.

The face reasons are English msgids: a page shows them through ``gettext`` (their
Vietnamese is in locale/vi/fragments/enrolment-devices.po).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFilter, ImageStat

from cancuoc.registry.cohort_rules import REGIMES, Regime

#: Rolled prints in capture order: right thumb → left little finger (thumb = 1).
FINGERS = ("R1", "R2", "R3", "R4", "R5", "L1", "L2", "L3", "L4", "L5")
#: Flat slaps, 4-4-2: left four, right four, the two thumbs.
SLAPS = ("LS", "RS", "TS")
#: The fingers each slap shows.
SLAP_FINGERS: dict[str, tuple[str, ...]] = {
    "LS": ("L2", "L3", "L4", "L5"),
    "RS": ("R2", "R3", "R4", "R5"),
    "TS": ("R1", "L1"),
}
EYES = ("R", "L")
LAWS = ("2014", "2023")

Verdict = Literal["accept", "retry", "exception_allowed"]

#: Why an eye gives no iris image (signed off by a supervisor, as a finger exception is).
#: "unreadable" is allowed only after the eye's retries are used up, like a worn finger.
EYE_EXCEPTIONS = ("missing", "blind", "injured", "unreadable")
#: The finger exception reasons (models.FingerException), here for the pure rules.
FINGER_EXCEPTIONS = ("missing", "amputated", "bandaged", "worn")
#: The reason that needs the retries used up first, per kind of capture.
AFTER_RETRIES = {"rolled": "worn", "iris": "unreadable"}


@dataclass(frozen=True)
class QualityPolicy:
    finger_threshold: int = 40
    #: Retries after the first attempt: 3 means up to 4 attempts, then an exception. The
    #: same count holds for slaps and irises (MOSIP uses one retry setting for all).
    finger_retries: int = 3
    face_threshold: int = 90
    #: MOSIP's registration client default ``mosip.registration.iris_threshold=60`` (its
    #: device quality scale 1–100, like the finger and face ones). An iris score is never
    #: held to the finger threshold: the scales differ by modality.
    iris_threshold: int = 60

    def threshold(self, kind: str) -> int:
        """The quality threshold of a capture kind ("slap", "rolled", "iris", "face")."""
        if kind == "iris":
            return self.iris_threshold
        if kind == "face":
            return self.face_threshold
        return self.finger_threshold


def finger_attempts_allowed(policy: QualityPolicy) -> int:
    """How many captures of one finger are allowed before only an exception is left."""
    return 1 + max(0, policy.finger_retries)


def finger_verdict(
    *, score: int, attempt: int, policy: QualityPolicy, kind: str = "rolled"
) -> Verdict:
    """What to do after attempt number ``attempt`` (1-based) scored ``score``.

    A score at or above the threshold is accepted on any attempt. Below it the operator
    retries until the retries are used up (the first capture plus ``finger_retries``);
    the last failing attempt — or any later one — leaves only an exception. ``kind``
    picks the threshold: the same rule serves slaps, rolled prints and irises.
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    if score >= policy.threshold(kind):
        return "accept"
    if attempt < finger_attempts_allowed(policy):
        return "retry"
    return "exception_allowed"


# --- face ---------------------------------------------------------------------------------

#: The four checks, in the order a page lists them.
FACE_CHECKS = ("face_present", "face_size", "lighting", "background")

# Reasons (English msgids; translated where shown).
REASON_NO_FACE = "No face was found in the photo."
REASON_SIZE = "The face is too small or too large: move the camera or the citizen."
REASON_DARK = "The face is too dark: add light."
REASON_BRIGHT = "The face is overexposed: reduce the light."
REASON_UNEVEN = "The face is unevenly lit."
REASON_BACKGROUND = "The background is not plain and light."
REASON_BLUR = "The photo is blurred."
REASON_POSE = "The citizen is not facing the camera."
REASON_EYES = "The eyes are closed."
REASON_UNREADABLE = "The photo cannot be read."

# Bounds (fractions of the image; grey levels 0–255), after ICAO 9303's portrait rules
# loosened for a station camera: the top of the head in the upper part of the frame, the
# head about half the frame wide, the subject reaching the bottom (shoulders).
_HEAD_TOP = (0.02, 0.30)
_HEAD_WIDTH = (0.35, 0.80)
_SUBJECT_BOTTOM = 0.60
_FACE_MIN_AREA = 0.05
_FACE_DIFF = 28  # grey levels a pixel must differ from the background to count as subject
_LIGHT = (70, 215)
_UNEVEN = 45  # mean difference between the face's left and right halves
_BACKGROUND_STD = 14
_BACKGROUND_MIN = 140
_WORK_SIZE = (60, 80)  # the image is reduced to this before measuring: fast, and noise-proof


@dataclass(frozen=True)
class FaceAssessment:
    score: int
    checks: dict[str, bool]
    reasons: list[str] = field(default_factory=list)

    def passes(self, policy: QualityPolicy) -> bool:
        return self.score >= policy.face_threshold


def _border_stats(grey: Image.Image) -> tuple[float, float]:
    """Mean and standard deviation of the background: a frame one-eighth of the image
    wide along the top, and down the sides to 60 % of the height (below that the
    shoulders and clothes reach the edges in every portrait)."""
    width, height = grey.size
    band_x, band_y = max(1, width // 8), max(1, height // 8)
    side_bottom = max(band_y + 1, height * 6 // 10)
    mask = Image.new("L", grey.size, 0)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((0, 0, width - 1, band_y - 1), fill=255)
    draw.rectangle((0, band_y, band_x - 1, side_bottom - 1), fill=255)
    draw.rectangle((width - band_x, band_y, width - 1, side_bottom - 1), fill=255)
    stat = ImageStat.Stat(grey, mask)
    return stat.mean[0], stat.stddev[0]


def _metric(metrics: dict[str, Any], name: str, default: float) -> float:
    value = metrics.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def face_score(*, image: bytes, metrics: dict[str, Any] | None = None) -> FaceAssessment:
    """Score a face photo 0–100 from the image itself and the device's metrics.

    The image gives the four checks: a subject that stands out from the background
    (face present), the size of its box, the brightness and evenness of the face, and a
    plain light background (the border's spread and mean). The device's metrics, when
    it reports them, add ``sharpness`` (0–100), ``yaw`` (degrees off frontal),
    ``eyes_open`` and ``face_detected`` (a device-side detector's answer overrides ours
    when it says no face).
    """
    metrics = metrics or {}
    try:
        with Image.open(io.BytesIO(image)) as opened:
            grey = opened.convert("L").resize(_WORK_SIZE, Image.Resampling.BOX)
    except Exception:  # any undecodable input is simply not a face photo
        checks = dict.fromkeys(FACE_CHECKS, False)
        return FaceAssessment(score=0, checks=checks, reasons=[REASON_UNREADABLE])

    width, height = grey.size
    bg_mean, bg_std = _border_stats(grey)
    # Subject mask: pixels far from the background's grey level.
    mask = grey.point(lambda p: 255 if abs(p - bg_mean) > _FACE_DIFF else 0)
    # Two passes of a 3×3 minimum drop specks (noise, a stray dust pixel) before the box.
    mask = mask.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MaxFilter(3))
    box = mask.getbbox()
    reasons: list[str] = []
    checks = dict.fromkeys(FACE_CHECKS, False)

    present = False
    if box is not None:
        left, top, right, bottom = box
        area = (right - left) * (bottom - top) / (width * height)
        centre_x = (left + right) / 2 / width
        present = area >= _FACE_MIN_AREA and 0.2 <= centre_x <= 0.8
    if metrics.get("face_detected") is False:
        present = False
    checks["face_present"] = present
    if not present:
        reasons.append(REASON_NO_FACE)
        checks["background"] = bg_std <= _BACKGROUND_STD and bg_mean >= _BACKGROUND_MIN
        if not checks["background"]:
            reasons.append(REASON_BACKGROUND)
        return FaceAssessment(score=5, checks=checks, reasons=reasons)

    assert box is not None
    left, top, right, bottom = box
    # The head: the subject's widest extent in the rows from its top down 40 % of the
    # image (below that the shoulders widen it).
    head_rows = mask.crop((0, top, width, min(height, top + height * 4 // 10)))
    head_box = head_rows.getbbox() or (left, 0, right, 1)
    head_left, head_right = head_box[0], head_box[2]
    head_width = (head_right - head_left) / width
    checks["face_size"] = (
        _HEAD_TOP[0] <= top / height <= _HEAD_TOP[1]
        and _HEAD_WIDTH[0] <= head_width <= _HEAD_WIDTH[1]
        and bottom / height >= _SUBJECT_BOTTOM
    )
    if not checks["face_size"]:
        reasons.append(REASON_SIZE)

    # The face proper: the middle half of the head, from 12 % to 35 % of the image below
    # its top (forehead to mouth; hair and clothes stay out).
    quarter = max(1, (head_right - head_left) // 4)
    face_box = (
        head_left + quarter,
        min(height - 1, top + height * 12 // 100),
        max(head_left + quarter + 2, head_right - quarter),
        min(height, top + height * 35 // 100),
    )
    face = grey.crop(face_box)
    brightness = ImageStat.Stat(face).mean[0]
    mid = max(1, face.size[0] // 2)
    left_mean = ImageStat.Stat(face.crop((0, 0, mid, face.size[1]))).mean[0]
    right_mean = ImageStat.Stat(face.crop((mid, 0, face.size[0], face.size[1]))).mean[0]
    lighting = _LIGHT[0] <= brightness <= _LIGHT[1]
    if brightness < _LIGHT[0]:
        reasons.append(REASON_DARK)
    elif brightness > _LIGHT[1]:
        reasons.append(REASON_BRIGHT)
    if abs(left_mean - right_mean) > _UNEVEN:
        lighting = False
        reasons.append(REASON_UNEVEN)
    checks["lighting"] = lighting

    checks["background"] = bg_std <= _BACKGROUND_STD and bg_mean >= _BACKGROUND_MIN
    if not checks["background"]:
        reasons.append(REASON_BACKGROUND)

    score = 100
    for name, penalty in (("face_size", 30), ("lighting", 30), ("background", 25)):
        if not checks[name]:
            score -= penalty
    sharpness = max(0.0, min(100.0, _metric(metrics, "sharpness", 100.0)))
    if sharpness < 90:
        reasons.append(REASON_BLUR)
    yaw = abs(_metric(metrics, "yaw", 0.0))
    pose_penalty = max(0.0, yaw - 5.0) * 2
    if pose_penalty:
        reasons.append(REASON_POSE)
    eyes_penalty = 0 if metrics.get("eyes_open", True) is not False else 30
    if eyes_penalty:
        reasons.append(REASON_EYES)
    # The image checks cap the score; the device's measures lower it further.
    score = min(score, round(sharpness - pose_penalty - eyes_penalty))
    return FaceAssessment(score=max(0, min(100, score)), checks=checks, reasons=reasons)


# --- who gives what -----------------------------------------------------------------------


@dataclass(frozen=True)
class Required:
    fingerprints: bool
    face: bool
    iris: bool
    guardian: bool


#: The regime (registry/cohort_rules.REGIMES) of each law an application is made under.
LAW_REGIMES = {"2014": "cccd_2014", "2023": "identity_2023"}


def law_regime(law: str) -> Regime:
    """The legal data (ages, renewal milestones) of ``law``; ValueError when unknown."""
    code = LAW_REGIMES.get(law)
    regime = next((r for r in REGIMES if r.code == code), None)
    if regime is None:
        raise ValueError(f"unknown law {law!r}")
    return regime


def biometrics_required(*, age_years: int, law: str) -> Required:
    """What the intake collects from a citizen of ``age_years`` under ``law``.

    The ages come from the law's regime (registry/cohort_rules.REGIMES, data with an
    effective date), not from constants here. Law on Identity 2023 art. 23 (domain.md §3):
    under ``no_biometrics_below`` (6) no biometrics at all and a guardian applies; below
    ``must_from_age`` (14) biometrics and a guardian present; from it the citizen alone.
    Iris is collected only under the 2023 law. The 2014 law issued no card under 14 and
    exempted no age from biometrics (its regime has no ``no_biometrics_below``); the rule
    still answers (a guardian) so a caller's own age check decides.
    """
    regime = law_regime(law)
    if age_years < 0:
        raise ValueError("age cannot be negative")
    guardian = age_years < regime.must_from_age
    if regime.no_biometrics_below is not None and age_years < regime.no_biometrics_below:
        return Required(fingerprints=False, face=False, iris=False, guardian=True)
    return Required(fingerprints=True, face=True, iris=law == "2023", guardian=guardian)
